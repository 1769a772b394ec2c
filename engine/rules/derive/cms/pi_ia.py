"""MIPS Promoting Interoperability duties (`cms_pi_requirement`) and Improvement Activities status
(`cms_ia_status`) of each required performance year."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.cms._common import (
    _entries,
    _entry_day,
    _happened,
    _iso,
    _org,
    _required_categories,
    _src,
    _status_by_py,
    normalize_category,
    org_today,
    pys_in_view,
)
from engine.rules.derive.hipaa import RiskAnalyses

# ---- MIPS: Promoting Interoperability and Improvement Activities --------------------------------


def _submitted_categories(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> set[tuple[int, str]]:
    out = set()
    for v in inputs.get("mips_submission", ()):
        if v.data.get("py") is not None and _happened(v.data.get("submitted_at"), ctx.as_of):
            out.add((int(v.data["py"]), normalize_category(v.data.get("category"))))
    return out


def _required_pys(ctx: DeriveContext, org: RecordView | None) -> list[int]:
    status = _status_by_py(org)
    return [py for py in pys_in_view(ctx, org) if status.get(py)]


@derivation(
    name="cms_pi_requirement",
    inputs=("organization", "system", "risk_analysis", "mips_submission"),
    output="cms_pi_requirement",
    fields={"org_id": "string",
            "py": "number", "requirement": "string", "label": "string", "due_at": "date", "met_on": "date",
            "past_due": "bool", "detail": "string"},
    family="org", about=("organization", "org_id"),
    example="pi: cms_pi_requirement (anchor pi.due_at, met_at pi.met_on)",
)
def pi_requirements(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Promoting Interoperability duties of each required PY (when the category is required):
    `sra` - a security risk analysis completed or reviewed inside the PY (PI_PPHI_1), due 31 Dec:
    one that HIPAA-SEC-RA-001 counts (covering every ePHI system in service when completed, its
    day in the practice's zone, C7), so the two rules never disagree about the same analysis;
    `period` - a PI performance period of `mips_pi_min_days` continuous days inside the PY, run on a
    certified EHR with its CEHRT ID recorded, starting by the latest feasible day (5 July for 180);
    `safer` - the SAFER Guides self-assessment (PI_PPHI_2) dated inside the PY, due 31 Dec.
    `period` and `safer` come from the practice's plan (`mips_pi_periods`); for a PY without an entry
    but with a PI submission on record they are not judged (already attested to CMS)."""
    org = _org(inputs)
    if org is None or "promoting_interoperability" not in _required_categories(ctx):
        return
    today = org_today(ctx, org)
    min_days = int(ctx.param("mips_pi_min_days", 180))
    submitted = _submitted_categories(ctx, inputs)
    found = RiskAnalyses(ctx, inputs.get("system", ()), inputs.get("risk_analysis", ()))
    tz = ctx.tz_of(org)
    analyses = [(cal.local_date(at, tz), v.id, v, found.omitted(at, v)) for at, v in found.analyses]
    plans: dict[int, tuple[int, dict[str, Any]]] = {}
    for i, entry in _entries(ctx, "mips_pi_periods", ("py",)):
        plans[int(entry["py"])] = (i, entry)

    for py in _required_pys(ctx, org):
        start, end = dt.date(py, 1, 1), dt.date(py, 12, 31)

        def fact(req: str, label: str, due: dt.date, met: dt.date | None, detail: str,
                 sources: list[tuple[str, str, int]], py: int = py) -> DerivedFact:
            return DerivedFact(
                type="cms_pi_requirement", id=f"{py}/{req}",
                data={"org_id": org.id if org else None,
                      "py": py, "requirement": req, "label": label, "due_at": due.isoformat(), "met_on": _iso(met),
                      "past_due": today > due, "detail": detail},
                sources=[_src(org)] + sources, bundle_key="org:*",
            )

        covering = [a for a in analyses if not a[3]]
        inside = [a for a in covering if start <= a[0] <= end]
        partial = [a for a in analyses if a[3] and start <= a[0] <= end]
        after = [a for a in covering if a[0] > end]
        if inside:
            ra = inside[0]
            yield fact("sra", "security risk analysis (PI_PPHI_1)", end, ra[0],
                       f"risk analysis {ra[1]} completed {ra[0]}", [_src(ra[2])])
        elif partial:
            ra = partial[-1]
            yield fact("sra", "security risk analysis (PI_PPHI_1)", end, None,
                       f"the risk analysis of {py}, {ra[1]} completed {ra[0]}, omits the ePHI system(s) "
                       f"{', '.join(ra[3])}; none completed in {py} covers every ePHI system", [_src(ra[2])])
        elif after:
            ra = after[0]
            yield fact("sra", "security risk analysis (PI_PPHI_1)", end, ra[0],
                       f"no risk analysis inside {py}; the next one ({ra[1]}) was completed {ra[0]}, after the year",
                       [_src(ra[2])])
        else:
            last = [a for a in covering if a[0] < start]
            note = f"latest earlier analysis {last[-1][1]} completed {last[-1][0]}" if last else "none on record"
            yield fact("sra", "security risk analysis (PI_PPHI_1)", end, None,
                       f"no risk analysis completed or reviewed in {py} ({note})", [_src(last[-1][2])] if last else [])

        if py not in plans and (py, "promoting_interoperability") in submitted:
            continue
        index, entry = plans.get(py, (-1, {}))
        latest = cal.latest_start(end, min_days)
        p_start = _entry_day("mips_pi_periods", index, entry, "start")
        p_end = _entry_day("mips_pi_periods", index, entry, "end")
        cehrt = str(entry.get("cehrt_id") or "").strip()
        problems = []
        if p_start is None or p_end is None:
            problems.append("no PI performance period recorded")
        else:
            if p_start.year != py or p_end.year != py:
                problems.append(f"the period {p_start} to {p_end} is not inside calendar year {py}")
            elif cal.days_inclusive(p_start, p_end) < min_days:
                problems.append(f"the period {p_start} to {p_end} is {cal.days_inclusive(p_start, p_end)} days "
                                f"(fewer than {min_days} continuous days)")
        if not cehrt:
            problems.append("no CEHRT certification ID recorded")
        met = p_start if not problems else None
        detail = "; ".join(problems) if problems else f"period {p_start} to {p_end} on CEHRT {cehrt}"
        yield fact("period", f"{min_days}-day PI period on certified EHR technology", latest, met, detail, [])

        safer = _entry_day("mips_pi_periods", index, entry, "safer_assessed_on")
        if safer is not None and safer < start:
            yield fact("safer", "SAFER Guides self-assessment (PI_PPHI_2)", end, None,
                       f"the recorded self-assessment ({safer}) is before {py}", [])
        else:
            detail = f"self-assessment dated {safer}" if safer else "no SAFER Guides self-assessment recorded"
            yield fact("safer", "SAFER Guides self-assessment (PI_PPHI_2)", end, safer, detail, [])


@derivation(
    name="cms_ia_status",
    inputs=("organization", "mips_submission"),
    output="cms_ia_status",
    fields={"org_id": "string",
            "py": "number", "due_at": "date", "ready_on": "date", "qualifying_n": "number", "required_n": "number",
            "activities": "string", "detail": "string"},
    family="org", about=("organization", "org_id"),
    example="ia: cms_ia_status (anchor ia.due_at, met_at ia.ready_on)",
)
def ia_status(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Improvement Activities of each required PY (when the category is required), from the practice's
    plan `mips_improvement_activities`: an activity qualifies when it starts no later than the
    latest feasible start (3 October for 90 days), runs at least `mips_ia_min_days` consecutive days
    inside the PY (one begun in an earlier year counts from 1 January: session 48's catalog pass
    found one running from June 2024 through 2025 refused for 2025), and - once it has ended or the
    PY is over - has evidence.
    `ready_on` is the start of the `mips_ia_required`-th qualifying activity (null: not enough).
    A PY without plan entries but with an IA submission on record is not judged (already attested)."""
    org = _org(inputs)
    if org is None or "improvement_activities" not in _required_categories(ctx):
        return
    today = org_today(ctx, org)
    min_days = int(ctx.param("mips_ia_min_days", 90))
    required = int(ctx.param("mips_ia_required", 2))
    submitted = _submitted_categories(ctx, inputs)
    entries = _entries(ctx, "mips_improvement_activities", ("py", "activity_id"))
    for py in _required_pys(ctx, org):
        start, end = dt.date(py, 1, 1), dt.date(py, 12, 31)
        mine = [(i, e) for i, e in entries if int(e["py"]) == py]
        if not mine and (py, "improvement_activities") in submitted:
            continue
        latest = cal.latest_start(end, min_days)
        qualifying: list[tuple[dt.date, str]] = []
        notes: list[str] = []
        for i, e in mine:
            name = str(e["activity_id"])
            a_start = _entry_day("mips_improvement_activities", i, e, "start")
            a_end = _entry_day("mips_improvement_activities", i, e, "end")
            stop = min(a_end, end) if a_end else end
            if a_start is None or a_start > latest:
                notes.append(f"{name}: start {a_start or 'not recorded'} is not on or before {latest}")
                continue
            begin = max(a_start, start)  # begun in an earlier year, it counts from 1 January
            if cal.days_inclusive(begin, stop) < min_days:
                notes.append(f"{name}: {max(cal.days_inclusive(begin, stop), 0)} days in {py} ({begin} to {stop}), "
                             f"fewer than {min_days}")
                continue
            finished = today > end or (a_end is not None and today > a_end)
            if finished and not str(e.get("evidence") or "").strip():
                notes.append(f"{name}: ended without evidence on file")
                continue
            qualifying.append((begin, name))
        qualifying.sort()
        ready = qualifying[required - 1][0] if required > 0 and len(qualifying) >= required else None
        if required <= 0:
            ready = start
        yield DerivedFact(
            type="cms_ia_status", id=str(py),
            data={"org_id": org.id if org else None,
                  "py": py, "due_at": latest.isoformat(), "ready_on": _iso(ready), "qualifying_n": len(qualifying),
                  "required_n": required, "activities": ", ".join(n for _, n in qualifying) or "none",
                  "detail": "; ".join(notes) if notes else ("no improvement activities recorded" if not mine else "")},
            sources=[_src(org)], bundle_key="org:*",
        )
