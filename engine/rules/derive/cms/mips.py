"""MIPS performance years (`cms_mips_year`) and the first submission per PY, TIN and required
category (`cms_mips_category`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping

from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.cms._common import (
    CATEGORY_LABELS,
    _happened,
    _instant,
    _org,
    _required_categories,
    _src,
    _status_by_py,
    normalize_category,
    pys_in_view,
    qpp_local_text,
    qpp_today,
    submission_close,
    tin_key,
    tin_names,
)

# ---- MIPS: performance years ---------------------------------------------------------------------


@derivation(
    name="cms_mips_year",
    inputs=("organization", "measure_case", "mips_submission"),
    output="cms_mips_year",
    fields={"org_id": "string",
            "py": "number", "status_recorded": "bool", "required": "bool", "in_period": "bool", "open": "bool",
            "final": "bool", "submission_closes": "string"},
    family="org", about=("organization", "org_id"),
    reference=True,
    example="yr: cms_mips_year where required and open",
)
def mips_years(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """One fact per performance year in view: the recorded MIPS participation status
    (organization.mips_participant_by_py), whether the year is in progress (`in_period`), over
    (`final`), and whether its QPP submission window is still open (`open`)."""
    org = _org(inputs)
    if org is None:
        return
    status = _status_by_py(org)
    seen = {int(v.data["py"]) for t in ("measure_case", "mips_submission") for v in inputs.get(t, ())
            if v.data.get("py") is not None}
    today = qpp_today(ctx)
    for py in pys_in_view(ctx, org, seen):
        closes = submission_close(py)
        yield DerivedFact(
            type="cms_mips_year", id=str(py),
            data={"org_id": org.id if org else None,
                  "py": py, "status_recorded": py in status, "required": status.get(py, False),
                  "in_period": py == today.year, "open": ctx.as_of <= closes, "final": today > dt.date(py, 12, 31),
                  "submission_closes": cal.iso_instant(closes)},
            sources=[_src(org)], bundle_key="org:*",
        )


# ---- MIPS: submissions per category --------------------------------------------------------------


@derivation(
    name="cms_mips_category",
    inputs=("organization", "measure_case", "mips_submission"),
    output="cms_mips_category",
    fields={"org_id": "string",
            "py": "number", "tin": "string", "entity": "string", "category": "string", "category_label": "string",
            "py_start": "date", "closes_local": "string", "submitted_at": "instant", "submission_id": "string"},
    family="org", about=("organization", "org_id"),
    example="cat: cms_mips_category (anchor cat.py_start, met_at cat.submitted_at)",
)
def mips_categories(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """For every PY the practice must report (status true), every TIN that reports for it (seen in
    measure cases or submissions) and every required category (`mips_required_categories`): the first
    submission on record, so the rule can judge it against the QPP window (its own obligation: 31
    March at 20:00 Eastern, rolled off a weekend). `closes_local` is that closing instant as the
    practice reads it ("31 March 2026 8:00 p.m. ET"), for messages that give the UTC `due` too."""
    org = _org(inputs)
    if org is None:
        return
    status = _status_by_py(org)
    subs = [v for v in inputs.get("mips_submission", ()) if _happened(v.data.get("submitted_at"), ctx.as_of)]
    tins: dict[int, set[str]] = {}
    reporting = [v for t in ("measure_case", "mips_submission") for v in inputs.get(t, ())]
    names = tin_names(reporting)
    for v in reporting:
        key = tin_key(v.data.get("tin"))
        if v.data.get("py") is not None and key:
            tins.setdefault(int(v.data["py"]), set()).add(names[key])
    for py in pys_in_view(ctx, org, tins):
        if not status.get(py):
            continue
        closes = submission_close(py)
        tin_list: list[str | None] = [*sorted(tins.get(py, set()))] or [None]
        for tin in tin_list:
            for category in _required_categories(ctx):
                mine = [v for v in subs if v.data.get("py") is not None and int(v.data["py"]) == py
                        and normalize_category(v.data.get("category")) == category
                        and (tin is None or tin_key(v.data.get("tin")) in (None, tin_key(tin)))]
                first = min(mine, key=lambda v: (_instant(v.data["submitted_at"]), v.id), default=None)
                yield DerivedFact(
                    type="cms_mips_category", id=f"{py}/{tin or '*'}/{category}",
                    data={"org_id": org.id if org else None,
                          "py": py, "tin": tin, "entity": f"TIN {tin}" if tin else "the practice",
                          "category": category, "category_label": CATEGORY_LABELS.get(category, category),
                          "py_start": dt.date(py, 1, 1).isoformat(), "closes_local": qpp_local_text(closes),
                          "submitted_at": first.data["submitted_at"] if first else None,
                          "submission_id": first.id if first else None},
                    sources=[_src(org)] + ([_src(first)] if first else []), bundle_key="org:*",
                )
