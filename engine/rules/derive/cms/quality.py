"""MIPS quality measures: data completeness and performance counts per PY, reporting entity and
measure (`cms_measure_stats`), and the measure set per PY and entity (`cms_quality_set`)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.cms._common import (
    _flag,
    _org,
    _src,
    normalize_measure,
    pys_in_view,
    qpp_today,
    tin_key,
    tin_names,
)

# ---- MIPS: quality measures ----------------------------------------------------------------------


@dataclass
class _Counts:
    eligible: int = 0
    reported: int = 0
    excluded: int = 0
    exception: int = 0
    met: int = 0
    not_met: int = 0
    unknown: int = 0
    cases: int = 0
    #: what a submission sends of the reported cases alone: an eligible case that was not reported is
    #: missing data to CMS (its reportingRate is these four over the eligible population)
    submitted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("excluded", "exception", "met",
                                                                             "not_met"), 0))
    sources: list[tuple[str, str, int]] = field(default_factory=list)

    def add(self, v: RecordView) -> None:
        d = v.data
        self.sources.append(_src(v))
        if not _flag(d.get("eligible")):
            return
        self.eligible += 1
        excluded, exception = _flag(d.get("excluded")), _flag(d.get("exception"))
        reported = _flag(d.get("reported"))
        self.reported += reported
        outcome = self._outcome(excluded, exception, d.get("met"))
        if reported and outcome in self.submitted:
            self.submitted[outcome] += 1

    def _outcome(self, excluded: bool, exception: bool, met: object) -> str:
        """Count an eligible case under its outcome, and say which."""
        if excluded:
            self.excluded += 1
            return "excluded"
        self.cases += 1
        if exception:
            self.exception += 1
            return "exception"
        if met is True:
            self.met += 1
            return "met"
        if met is False:
            self.not_met += 1
            return "not_met"
        self.unknown += 1
        return "unknown"


def dc_meets(reported: int, eligible: int, threshold_pct: float) -> bool:
    """Data completeness reported/eligible >= threshold, exactly (no rounding: 749/1000 < 75%)."""
    if eligible <= 0:
        return False
    return Fraction(reported) * 100 >= Fraction(str(threshold_pct)) * eligible


def _pct_floor(num: int, den: int) -> float | None:
    """A percentage for messages, cut (not rounded) to one decimal, so 74.96% never reads as 75.0%."""
    if den <= 0:
        return None
    return math.floor(Fraction(num * 1000, den)) / 10


def _pct_rounded(num: int, den: int) -> float | None:
    """A performance rate for messages, rounded half up to one decimal (2 of 3 met reads 66.7%):
    unlike data completeness no threshold hangs on it, and a cut rate would read better than it is
    for an inverse measure such as 001, where lower is better."""
    if den <= 0:
        return None
    return math.floor(Fraction(num * 1000, den) + Fraction(1, 2)) / 10


def _entity(ctx: DeriveContext, v: RecordView, names: Mapping[str, str]) -> tuple[str | None, str | None]:
    key = tin_key(v.data.get("tin"))
    tin = names[key] if key is not None else None
    if str(ctx.param("mips_reporting_level", "group")).lower() == "individual":
        npi = str(v.data["clinician_npi"]) if v.data.get("clinician_npi") else None
        return tin, npi
    return tin, None


def _entity_label(tin: str | None, npi: str | None) -> str:
    label = f"TIN {tin}" if tin else "the practice (no TIN)"
    return f"{label} / NPI {npi}" if npi else label


def _grouped_cases(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]
                   ) -> tuple[RecordView | None, dict[tuple[int, str | None, str | None], dict[str, _Counts]]]:
    org = _org(inputs)
    cases = list(inputs.get("measure_case", ()))
    pys = set(pys_in_view(ctx, org, {int(v.data["py"]) for v in cases if v.data.get("py") is not None}))
    groups: dict[tuple[int, str | None, str | None], dict[str, _Counts]] = {}
    names = tin_names(cases)
    for v in sorted(cases, key=lambda v: v.id):
        if v.data.get("py") is None or int(v.data["py"]) not in pys:
            continue
        measure = normalize_measure(v.data.get("measure_id"))
        if not measure:
            continue  # a case of no measure is no measure's: counted, it made a nameless one (Q-COUNT-003)
        tin, npi = _entity(ctx, v, names)
        groups.setdefault((int(v.data["py"]), tin, npi), {}).setdefault(measure, _Counts()).add(v)
    return org, groups


def _outcome_or_hp(ctx: DeriveContext) -> set[str]:
    return {normalize_measure(m) for m in ctx.param("mips_outcome_or_hp_measures", ["001", "236", "130"])}


@derivation(
    name="cms_measure_stats",
    inputs=("organization", "measure_case"),
    output="cms_measure_stats",
    fields={"org_id": "string",
            "py": "number", "tin": "string", "npi": "string", "entity": "string", "measure": "string",
            "eligible_n": "number", "reported_n": "number", "excluded_n": "number", "exception_n": "number",
            "case_n": "number", "met_n": "number", "not_met_n": "number", "unknown_n": "number",
            "submit_excluded_n": "number", "submit_exception_n": "number", "submit_met_n": "number",
            "submit_not_met_n": "number",
            "perf_den": "number", "perf_rate_pct": "number", "dc_pct": "number", "final": "bool",
            "case_check_from": "date", "outcome_or_hp": "bool"},
    family="org", about=("organization", "org_id"),
    example="m: cms_measure_stats where reported_n * 100 < params.mips_dc_threshold_pct * eligible_n",
)
def measure_stats(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Per PY in view, reporting entity (TIN, or TIN/NPI with `mips_reporting_level: individual`) and
    Quality ID: eligible cases, reported cases (data completeness = reported / eligible; exclusions,
    exceptions and 'performance not met' count as reported), denominator cases (eligible minus
    exclusions: the case minimum), and performance met / not met / undetermined counts.
    Performance rate = met / (met + not met); for inverse measures (001) lower is better."""
    org, groups = _grouped_cases(ctx, inputs)
    today = qpp_today(ctx)
    hp = _outcome_or_hp(ctx)
    months = int(ctx.param("mips_case_check_months", 6))
    for (py, tin, npi), measures in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2] or "")):
        for measure, c in sorted(measures.items()):
            perf_den = c.met + c.not_met
            yield DerivedFact(
                type="cms_measure_stats", id=f"{py}/{tin or '-'}{'/' + npi if npi else ''}/{measure}",
                data={"org_id": org.id if org else None,
                      "py": py, "tin": tin, "npi": npi, "entity": _entity_label(tin, npi), "measure": measure,
                      "eligible_n": c.eligible, "reported_n": c.reported, "excluded_n": c.excluded,
                      "exception_n": c.exception, "case_n": c.cases, "met_n": c.met, "not_met_n": c.not_met,
                      "unknown_n": c.unknown, "perf_den": perf_den,
                      **{f"submit_{k}_n": n for k, n in c.submitted.items()},
                      "perf_rate_pct": _pct_rounded(c.met, perf_den), "dc_pct": _pct_floor(c.reported, c.eligible),
                      "final": today > dt.date(py, 12, 31),
                      "case_check_from": cal.add_months(dt.date(py, 1, 1), months).isoformat(),
                      "outcome_or_hp": measure in hp},
                sources=([_src(org)] if org else []) + c.sources, bundle_key="org:*",
            )


@derivation(
    name="cms_quality_set",
    inputs=("organization", "measure_case"),
    output="cms_quality_set",
    fields={"org_id": "string",
            "py": "number", "tin": "string", "npi": "string", "entity": "string", "measures_n": "number",
            "dc_ok_n": "number", "outcome_hp_ok": "bool", "measures": "string", "dc_ok_measures": "string",
            "check_from": "date", "final": "bool"},
    family="org", about=("organization", "org_id"),
    example="qs: cms_quality_set where dc_ok_n < params.mips_quality_measures_required or not outcome_hp_ok",
)
def quality_sets(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Per PY and reporting entity: the quality measures with data, how many meet data completeness
    (`mips_dc_threshold_pct`, exact), and whether one that does is an outcome or high-priority
    measure (`mips_outcome_or_hp_measures`). `check_from` is when the measure set should be fixed
    (`mips_measure_set_months` into the PY).

    A PY in view with no measure case at all gets one empty set for the practice: a practice that
    must report and has recorded no quality data is the furthest from six measures, and had no
    set, so the count rule said nothing. (The rule joins the set to a year that must report.)"""
    org, groups = _grouped_cases(ctx, inputs)
    today = qpp_today(ctx)
    threshold = ctx.param("mips_dc_threshold_pct", 75)
    hp = _outcome_or_hp(ctx)
    months = int(ctx.param("mips_measure_set_months", 3))
    for py in pys_in_view(ctx, org, {py for py, _, _ in groups}):
        if not any(key[0] == py for key in groups):
            yield DerivedFact(
                type="cms_quality_set", id=f"{py}/-",
                data={"org_id": org.id if org else None, "py": py, "tin": None, "npi": None,
                      "entity": "the practice (no quality data recorded)", "measures_n": 0, "dc_ok_n": 0,
                      "outcome_hp_ok": False, "measures": "none", "dc_ok_measures": "none",
                      "check_from": cal.add_months(dt.date(py, 1, 1), months).isoformat(),
                      "final": today > dt.date(py, 12, 31)},
                sources=[_src(org)] if org else [], bundle_key="org:*",
            )
    for (py, tin, npi), measures in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2] or "")):
        ok = [m for m, c in sorted(measures.items()) if dc_meets(c.reported, c.eligible, threshold)]
        sources = ([_src(org)] if org else []) + [s for _, c in sorted(measures.items()) for s in c.sources]
        yield DerivedFact(
            type="cms_quality_set", id=f"{py}/{tin or '-'}{'/' + npi if npi else ''}",
            data={"org_id": org.id if org else None,
                  "py": py, "tin": tin, "npi": npi, "entity": _entity_label(tin, npi), "measures_n": len(measures),
                  "dc_ok_n": len(ok), "outcome_hp_ok": any(m in hp for m in ok),
                  "measures": ", ".join(sorted(measures)), "dc_ok_measures": ", ".join(ok) or "none",
                  "check_from": cal.add_months(dt.date(py, 1, 1), months).isoformat(),
                  "final": today > dt.date(py, 12, 31)},
            sources=sources, bundle_key="org:*",
        )
