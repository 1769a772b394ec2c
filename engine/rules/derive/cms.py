"""Derivations for the cms rulesets (registered explicitly; see engine.rules.derive).

Catalog section 3: MIPS (Quality Payment Program), Medicare enrollment, exclusion screening. Matching
is bad at what these do, so it happens here, once, with the calendar service for every date:

- `cms_mips_year` (reference): one fact per performance year (PY) in view, with the practice's
  recorded participation status and where the PY stands (in progress, submission window open).
- `cms_mips_category`: one fact per required PY, TIN and category with the first submission.
- `cms_measure_stats`: data completeness, case count and performance counts per PY, reporting
  entity and quality measure (from `measure_case`); no rounding anywhere (749/1000 fails).
- `cms_quality_set`: how many measures of a PY and entity meet data completeness, and whether one of
  them is an outcome or high-priority measure.
- `cms_pi_requirement`, `cms_ia_status`: Promoting Interoperability and Improvement Activities duties
  of a required PY, from `risk_analysis` records and the practice's MIPS plan parameters.
- `cms_enrollment`, `cms_enrollment_change`: the practice's Medicare enrollment register (parameters:
  the record contract has no enrollment record type yet).
- `cms_excl_duty`: exclusion-screening duties per person (pre-hire check, a check in every calendar
  month or every 30 days, review of possible matches, removal of excluded persons); it lives in
  `engine.rules.derive.cms_exclusion` (registered through `FAMILY_MODULES`).

Every function is pure: it reads its inputs, `ctx.as_of` and `ctx.params`, and yields facts in a
deterministic order. Records dated after `as_of` have not happened yet and are ignored here, as the
fact builder ignores them for rules (CONTRACT: two kinds of time).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from engine.errors import ErrorDetail, RulesetValidationError
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation

# ---- Constants of the law and of CMS's published process ----------------------------------------

QPP_TZ = "America/New_York"
"""The QPP submission window closes at 8 p.m. Eastern; PY-level dates are judged in this zone."""
QPP_CALENDAR = "US-FEDERAL"
QPP_CLOSE = dt.time(20, 0)

CATEGORY_LABELS = {
    "quality": "Quality",
    "promoting_interoperability": "Promoting Interoperability",
    "improvement_activities": "Improvement Activities",
    "cost": "Cost",
}
_CATEGORY_ALIASES = {
    "q": "quality", "quality": "quality",
    "pi": "promoting_interoperability", "aci": "promoting_interoperability",
    "promoting_interoperability": "promoting_interoperability",
    "ia": "improvement_activities", "improvement_activities": "improvement_activities",
    "cost": "cost",
}  # fmt: skip

ECQM_TO_QUALITY_ID = {"CMS122": "001", "CMS165": "236", "CMS138": "226", "CMS2": "134", "CMS68": "130"}
"""eCQM identifiers (any version) of the catalog's measures -> MIPS Quality ID."""

ENROLLMENT_SHORT_CHANGES = frozenset({"OWNERSHIP", "ADVERSE_LEGAL_ACTION", "PRACTICE_LOCATION"})
"""42 CFR 424.516(d)(1)(i)-(iii): reported within 30 days; every other change within 90."""
ENROLLMENT_SHORT_DAYS = 30
ENROLLMENT_OTHER_DAYS = 90
REVALIDATION_YEARS = {"855S": 3}
"""42 CFR 424.515: revalidation every 5 years; DMEPOS suppliers (CMS-855S) every 3."""
REVALIDATION_DEFAULT_YEARS = 5

# ---- Small helpers -------------------------------------------------------------------------------


def _instant(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _day(value: Any) -> dt.date | None:
    """A date from a parameter entry (YAML gives dates, JSON gives strings)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        raise ValueError(f"expected a date (YYYY-MM-DD), got the instant {value.isoformat()}")
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return cal.iso_instant(value)
    return value.isoformat()


def _src(view: RecordView) -> tuple[str, str, int]:
    return (view.type, view.id, view.version)


def _happened(value: Any, as_of: dt.datetime) -> dt.datetime | None:
    """The instant if it is not after `as_of`, else None (it has not happened yet)."""
    at = _instant(value)
    return at if at is not None and at <= as_of else None


def _flag(value: Any) -> bool:
    return value is True


def _org(inputs: Mapping[str, Iterable[RecordView]]) -> RecordView | None:
    orgs = sorted(inputs.get("organization", ()), key=lambda v: v.id)
    return orgs[0] if orgs else None


def normalize_measure(raw: Any) -> str:
    """A MIPS Quality ID as three digits ("1", "Q001", "QID 1", "CMS122v14" -> "001")."""
    text = str(raw or "").strip().upper()
    ecqm = re.match(r"^(CMS\d+)(V\d+)?$", text.replace(" ", ""))
    if ecqm and ecqm.group(1) in ECQM_TO_QUALITY_ID:
        return ECQM_TO_QUALITY_ID[ecqm.group(1)]
    qid = re.match(r"^(?:QUALITY|QID|Q)?[\s_#-]*(\d{1,3})$", text)
    if qid:
        return f"{int(qid.group(1)):03d}"
    return text


def normalize_category(raw: Any) -> str:
    """A QPP performance category name ("PI", "Promoting Interoperability" -> promoting_interoperability)."""
    key = re.sub(r"[\s-]+", "_", str(raw or "").strip().lower())
    return _CATEGORY_ALIASES.get(key, key)


def submission_close(py: int) -> dt.datetime:
    """When the QPP window for a PY closes: 31 March of PY+1 at 20:00 Eastern, moved to the next
    working day when 31 March is a weekend (CMS kept PY2023 open to Monday 1 April 2024)."""
    deadline = cal.compute_deadline(dt.date(py, 1, 1), 1, "years", "fixed_date", QPP_TZ,
                                    holiday_calendar=QPP_CALENDAR, roll_forward=True, on="03-31", cutoff=QPP_CLOSE)
    return deadline.overdue_after


def qpp_today(ctx: DeriveContext) -> dt.date:
    """Today in Eastern time: performance years and the QPP window are Eastern-time notions."""
    return cal.local_date(ctx.as_of, QPP_TZ)


def org_today(ctx: DeriveContext, org: RecordView | None) -> dt.date:
    """Today in the zone the engine judges the practice's own date-based deadlines in (C7), so a
    flag computed here changes on the same local midnight as the rule's deadline state."""
    return cal.local_date(ctx.as_of, ctx.tz_of(org) if org is not None else QPP_TZ)


def _status_by_py(org: RecordView | None) -> dict[int, bool]:
    raw = (org.data.get("mips_participant_by_py") if org else None) or {}
    out: dict[int, bool] = {}
    for key, value in raw.items():
        try:
            out[int(key)] = value is True
        except (TypeError, ValueError):
            continue
    return out


def pys_in_view(ctx: DeriveContext, org: RecordView | None, seen: Iterable[int] = ()) -> list[int]:
    """Performance years the rules look at: the current one and the `mips_lookback_years` before it
    (a PY's payment adjustment applies two years later, so PY2024 still matters in 2026), limited to
    years with a recorded status or MIPS data, plus the current year."""
    today = qpp_today(ctx)
    lookback = int(ctx.param("mips_lookback_years", 2))
    first = today.year - lookback
    years = {today.year} | set(_status_by_py(org)) | {int(y) for y in seen}
    return sorted(y for y in years if first <= y <= today.year)


def _required_categories(ctx: DeriveContext) -> list[str]:
    cats = ctx.param("mips_required_categories", list(CATEGORY_LABELS)[:3])
    out: list[str] = []
    for c in cats:
        name = normalize_category(c)
        if name not in out:
            out.append(name)
    return out


def _param_error(name: str, index: int, reason: str) -> RulesetValidationError:
    return RulesetValidationError(
        f"practice parameter cms.{name}[{index}] is invalid: {reason}",
        [ErrorDetail(reason=reason, field=f"cms.{name}[{index}]", file="policies/practice.yaml")],
        code="ruleset.params.invalid",
    )


def _entries(ctx: DeriveContext, name: str, required: tuple[str, ...]) -> list[tuple[int, dict[str, Any]]]:
    """The entries of a register parameter (a list of mappings), each checked for its required keys."""
    out = []
    for i, entry in enumerate(ctx.param(name, []) or []):
        if not isinstance(entry, Mapping):
            raise _param_error(name, i, f"expected a mapping with {', '.join(required)}, got {entry!r}")
        missing = [k for k in required if entry.get(k) in (None, "")]
        if missing:
            raise _param_error(name, i, f"missing {', '.join(missing)}")
        out.append((i, dict(entry)))
    return out


def _entry_day(name: str, index: int, entry: Mapping[str, Any], key: str) -> dt.date | None:
    try:
        return _day(entry.get(key))
    except ValueError as exc:
        raise _param_error(name, index, f"{key}: {exc}") from None


# ---- MIPS: performance years ---------------------------------------------------------------------


@derivation(
    name="cms_mips_year",
    inputs=("organization", "measure_case", "mips_submission"),
    output="cms_mips_year",
    fields={"py": "number", "status_recorded": "bool", "required": "bool", "in_period": "bool", "open": "bool",
            "final": "bool", "submission_closes": "string"},
    family="org",
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
            data={"py": py, "status_recorded": py in status, "required": status.get(py, False),
                  "in_period": py == today.year, "open": ctx.as_of < closes, "final": today > dt.date(py, 12, 31),
                  "submission_closes": cal.iso_instant(closes)},
            sources=[_src(org)], bundle_key="org:*",
        )


# ---- MIPS: submissions per category --------------------------------------------------------------


@derivation(
    name="cms_mips_category",
    inputs=("organization", "measure_case", "mips_submission"),
    output="cms_mips_category",
    fields={"py": "number", "tin": "string", "entity": "string", "category": "string", "category_label": "string",
            "py_start": "date", "submitted_at": "instant", "submission_id": "string"},
    family="org",
    example="cat: cms_mips_category (anchor cat.py_start, met_at cat.submitted_at)",
)
def mips_categories(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """For every PY the practice must report (status true), every TIN that reports for it (seen in
    measure cases or submissions) and every required category (`mips_required_categories`): the first
    submission on record, so the rule can judge it against the QPP window."""
    org = _org(inputs)
    if org is None:
        return
    status = _status_by_py(org)
    subs = [v for v in inputs.get("mips_submission", ()) if _happened(v.data.get("submitted_at"), ctx.as_of)]
    tins: dict[int, set[str]] = {}
    for t in ("measure_case", "mips_submission"):
        for v in inputs.get(t, ()):
            if v.data.get("py") is not None and v.data.get("tin"):
                tins.setdefault(int(v.data["py"]), set()).add(str(v.data["tin"]))
    for py in pys_in_view(ctx, org, tins):
        if not status.get(py):
            continue
        tin_list: list[str | None] = [*sorted(tins.get(py, set()))] or [None]
        for tin in tin_list:
            for category in _required_categories(ctx):
                mine = [v for v in subs if v.data.get("py") is not None and int(v.data["py"]) == py
                        and normalize_category(v.data.get("category")) == category
                        and (tin is None or not v.data.get("tin") or str(v.data["tin"]) == tin)]
                first = min(mine, key=lambda v: (_instant(v.data["submitted_at"]), v.id), default=None)
                yield DerivedFact(
                    type="cms_mips_category", id=f"{py}/{tin or '*'}/{category}",
                    data={"py": py, "tin": tin, "entity": f"TIN {tin}" if tin else "the practice",
                          "category": category, "category_label": CATEGORY_LABELS.get(category, category),
                          "py_start": dt.date(py, 1, 1).isoformat(),
                          "submitted_at": first.data["submitted_at"] if first else None,
                          "submission_id": first.id if first else None},
                    sources=[_src(org)] + ([_src(first)] if first else []), bundle_key="org:*",
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
    sources: list[tuple[str, str, int]] = field(default_factory=list)

    def add(self, v: RecordView) -> None:
        d = v.data
        self.sources.append(_src(v))
        if not _flag(d.get("eligible")):
            return
        self.eligible += 1
        excluded, exception = _flag(d.get("excluded")), _flag(d.get("exception"))
        if _flag(d.get("reported")):
            self.reported += 1
        if excluded:
            self.excluded += 1
            return
        self.cases += 1
        if exception:
            self.exception += 1
            return
        met = d.get("met")
        if met is True:
            self.met += 1
        elif met is False:
            self.not_met += 1
        else:
            self.unknown += 1


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


def _entity(ctx: DeriveContext, v: RecordView) -> tuple[str | None, str | None]:
    tin = str(v.data["tin"]) if v.data.get("tin") else None
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
    for v in sorted(cases, key=lambda v: v.id):
        if v.data.get("py") is None or int(v.data["py"]) not in pys:
            continue
        tin, npi = _entity(ctx, v)
        measure = normalize_measure(v.data.get("measure_id"))
        groups.setdefault((int(v.data["py"]), tin, npi), {}).setdefault(measure, _Counts()).add(v)
    return org, groups


def _outcome_or_hp(ctx: DeriveContext) -> set[str]:
    return {normalize_measure(m) for m in ctx.param("mips_outcome_or_hp_measures", ["001", "236", "130"])}


@derivation(
    name="cms_measure_stats",
    inputs=("organization", "measure_case"),
    output="cms_measure_stats",
    fields={"py": "number", "tin": "string", "npi": "string", "entity": "string", "measure": "string",
            "eligible_n": "number", "reported_n": "number", "excluded_n": "number", "exception_n": "number",
            "case_n": "number", "met_n": "number", "not_met_n": "number", "unknown_n": "number",
            "perf_den": "number", "perf_rate_pct": "number", "dc_pct": "number", "final": "bool",
            "case_check_from": "date", "outcome_or_hp": "bool"},
    family="org",
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
                data={"py": py, "tin": tin, "npi": npi, "entity": _entity_label(tin, npi), "measure": measure,
                      "eligible_n": c.eligible, "reported_n": c.reported, "excluded_n": c.excluded,
                      "exception_n": c.exception, "case_n": c.cases, "met_n": c.met, "not_met_n": c.not_met,
                      "unknown_n": c.unknown, "perf_den": perf_den,
                      "perf_rate_pct": _pct_floor(c.met, perf_den), "dc_pct": _pct_floor(c.reported, c.eligible),
                      "final": today > dt.date(py, 12, 31),
                      "case_check_from": cal.add_months(dt.date(py, 1, 1), months).isoformat(),
                      "outcome_or_hp": measure in hp},
                sources=([_src(org)] if org else []) + c.sources, bundle_key="org:*",
            )


@derivation(
    name="cms_quality_set",
    inputs=("organization", "measure_case"),
    output="cms_quality_set",
    fields={"py": "number", "tin": "string", "npi": "string", "entity": "string", "measures_n": "number",
            "dc_ok_n": "number", "outcome_hp_ok": "bool", "measures": "string", "dc_ok_measures": "string",
            "check_from": "date", "final": "bool"},
    family="org",
    example="qs: cms_quality_set where dc_ok_n < params.mips_quality_measures_required or not outcome_hp_ok",
)
def quality_sets(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Per PY and reporting entity: the quality measures with data, how many meet data completeness
    (`mips_dc_threshold_pct`, exact), and whether one that does is an outcome or high-priority
    measure (`mips_outcome_or_hp_measures`). `check_from` is when the measure set should be fixed
    (`mips_measure_set_months` into the PY)."""
    org, groups = _grouped_cases(ctx, inputs)
    today = qpp_today(ctx)
    threshold = ctx.param("mips_dc_threshold_pct", 75)
    hp = _outcome_or_hp(ctx)
    months = int(ctx.param("mips_measure_set_months", 3))
    for (py, tin, npi), measures in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2] or "")):
        ok = [m for m, c in sorted(measures.items()) if dc_meets(c.reported, c.eligible, threshold)]
        sources = ([_src(org)] if org else []) + [s for _, c in sorted(measures.items()) for s in c.sources]
        yield DerivedFact(
            type="cms_quality_set", id=f"{py}/{tin or '-'}{'/' + npi if npi else ''}",
            data={"py": py, "tin": tin, "npi": npi, "entity": _entity_label(tin, npi), "measures_n": len(measures),
                  "dc_ok_n": len(ok), "outcome_hp_ok": any(m in hp for m in ok),
                  "measures": ", ".join(sorted(measures)), "dc_ok_measures": ", ".join(ok) or "none",
                  "check_from": cal.add_months(dt.date(py, 1, 1), months).isoformat(),
                  "final": today > dt.date(py, 12, 31)},
            sources=sources, bundle_key="org:*",
        )


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
    inputs=("organization", "risk_analysis", "mips_submission"),
    output="cms_pi_requirement",
    fields={"py": "number", "requirement": "string", "label": "string", "due_at": "date", "met_on": "date",
            "past_due": "bool", "detail": "string"},
    family="org",
    example="pi: cms_pi_requirement (anchor pi.due_at, met_at pi.met_on)",
)
def pi_requirements(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Promoting Interoperability duties of each required PY (when the category is required):
    `sra` - a security risk analysis completed or reviewed inside the PY (PI_PPHI_1), due 31 Dec;
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
    analyses = []
    for v in inputs.get("risk_analysis", ()):
        at = _happened(v.data.get("completed_at"), ctx.as_of)
        if at is not None:
            analyses.append((cal.local_date(at, QPP_TZ), v.id, v))
    analyses.sort(key=lambda x: (x[0], x[1]))
    plans: dict[int, tuple[int, dict[str, Any]]] = {}
    for i, entry in _entries(ctx, "mips_pi_periods", ("py",)):
        plans[int(entry["py"])] = (i, entry)

    for py in _required_pys(ctx, org):
        start, end = dt.date(py, 1, 1), dt.date(py, 12, 31)

        def fact(req: str, label: str, due: dt.date, met: dt.date | None, detail: str,
                 sources: list[tuple[str, str, int]], py: int = py) -> DerivedFact:
            return DerivedFact(
                type="cms_pi_requirement", id=f"{py}/{req}",
                data={"py": py, "requirement": req, "label": label, "due_at": due.isoformat(), "met_on": _iso(met),
                      "past_due": today > due, "detail": detail},
                sources=[_src(org)] + sources, bundle_key="org:*",
            )

        inside = [a for a in analyses if start <= a[0] <= end]
        after = [a for a in analyses if a[0] > end]
        if inside:
            ra = inside[0]
            yield fact("sra", "security risk analysis (PI_PPHI_1)", end, ra[0],
                       f"risk analysis {ra[1]} completed {ra[0]}", [_src(ra[2])])
        elif after:
            ra = after[0]
            yield fact("sra", "security risk analysis (PI_PPHI_1)", end, ra[0],
                       f"no risk analysis inside {py}; the next one ({ra[1]}) was completed {ra[0]}, after the year",
                       [_src(ra[2])])
        else:
            last = [a for a in analyses if a[0] < start]
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
    fields={"py": "number", "due_at": "date", "ready_on": "date", "qualifying_n": "number", "required_n": "number",
            "activities": "string", "detail": "string"},
    family="org",
    example="ia: cms_ia_status (anchor ia.due_at, met_at ia.ready_on)",
)
def ia_status(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Improvement Activities of each required PY (when the category is required), from the practice's
    plan `mips_improvement_activities`: an activity qualifies when it starts inside the PY no later
    than the latest feasible start (3 October for 90 days), runs at least `mips_ia_min_days`
    consecutive days inside the PY, and - once it has ended or the PY is over - has evidence.
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
            if a_start is None or not start <= a_start <= latest:
                notes.append(f"{name}: start {a_start or 'not recorded'} is not between {start} and {latest}")
                continue
            if cal.days_inclusive(a_start, stop) < min_days:
                notes.append(f"{name}: {cal.days_inclusive(a_start, stop)} days ({a_start} to {stop}), "
                             f"fewer than {min_days}")
                continue
            finished = today > end or (a_end is not None and today > a_end)
            if finished and not str(e.get("evidence") or "").strip():
                notes.append(f"{name}: ended without evidence on file")
                continue
            qualifying.append((a_start, name))
        qualifying.sort()
        ready = qualifying[required - 1][0] if required > 0 and len(qualifying) >= required else None
        if required <= 0:
            ready = start
        yield DerivedFact(
            type="cms_ia_status", id=str(py),
            data={"py": py, "due_at": latest.isoformat(), "ready_on": _iso(ready), "qualifying_n": len(qualifying),
                  "required_n": required, "activities": ", ".join(n for _, n in qualifying) or "none",
                  "detail": "; ".join(notes) if notes else ("no improvement activities recorded" if not mine else "")},
            sources=[_src(org)], bundle_key="org:*",
        )


# ---- Medicare enrollment (practice register) ---------------------------------------------------


@derivation(
    name="cms_enrollment",
    inputs=("organization",),
    output="cms_enrollment",
    fields={"enrollment_id": "string", "label": "string", "form": "string", "due_at": "date",
            "submitted_on": "date", "high_window": "bool", "due_basis": "string"},
    family="org",
    example="enr: cms_enrollment (anchor enr.due_at, met_at enr.submitted_on)",
)
def enrollments(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """The practice's Medicare enrollments (`cms_enrollments`: id, label, form 855I/855B/855R/855S,
    the CMS-posted `revalidation_due` or else `last_revalidated_on` + 5 years (855S: 3), and the date
    the revalidation application was `submitted_on`). `high_window`: the due date is at most
    `reval_high_days` away and not yet past."""
    org = _org(inputs)
    today = org_today(ctx, org)
    high_days = int(ctx.param("reval_high_days", 30))
    for i, e in _entries(ctx, "cms_enrollments", ("id",)):
        form = str(e.get("form") or "").upper().replace("CMS-", "")
        due = _entry_day("cms_enrollments", i, e, "revalidation_due")
        basis = "CMS-posted revalidation due date"
        if due is None:
            last = _entry_day("cms_enrollments", i, e, "last_revalidated_on")
            if last is None:
                raise _param_error("cms_enrollments", i, "give revalidation_due or last_revalidated_on")
            years = REVALIDATION_YEARS.get(form, REVALIDATION_DEFAULT_YEARS)
            due = cal.add_years(last, years)
            basis = f"last revalidated {last} + {years} years"
        submitted = _entry_day("cms_enrollments", i, e, "submitted_on")
        if submitted is not None and submitted > today:
            submitted = None
        yield DerivedFact(
            type="cms_enrollment", id=str(e["id"]),
            data={"enrollment_id": str(e["id"]), "label": str(e.get("label") or e["id"]), "form": form or None,
                  "due_at": due.isoformat(), "submitted_on": _iso(submitted),
                  "high_window": cal.add_days(due, -high_days) <= today <= due, "due_basis": basis},
            sources=[_src(org)] if org else [], bundle_key="org:*",
        )


@derivation(
    name="cms_enrollment_change",
    inputs=("organization",),
    output="cms_enrollment_change",
    fields={"change_id": "string", "kind": "string", "description": "string", "occurred_on": "date",
            "window_days": "number", "due_at": "date", "reported_on": "date"},
    family="org",
    example="chg: cms_enrollment_change (anchor chg.due_at, met_at chg.reported_on)",
)
def enrollment_changes(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Enrollment changes the practice logged (`cms_enrollment_changes`: id, kind, occurred_on,
    reported_on, description). Due 30 calendar days after the change for OWNERSHIP,
    ADVERSE_LEGAL_ACTION and PRACTICE_LOCATION, 90 days for any other kind (42 CFR 424.516(d); C1)."""
    org = _org(inputs)
    today = org_today(ctx, org)
    for i, e in _entries(ctx, "cms_enrollment_changes", ("id", "kind", "occurred_on")):
        kind = str(e["kind"]).strip().upper().replace(" ", "_")
        occurred = _entry_day("cms_enrollment_changes", i, e, "occurred_on")
        assert occurred is not None
        if occurred > today:
            continue
        days = ENROLLMENT_SHORT_DAYS if kind in ENROLLMENT_SHORT_CHANGES else ENROLLMENT_OTHER_DAYS
        reported = _entry_day("cms_enrollment_changes", i, e, "reported_on")
        if reported is not None and reported > today:
            reported = None
        yield DerivedFact(
            type="cms_enrollment_change", id=str(e["id"]),
            data={"change_id": str(e["id"]), "kind": kind, "description": str(e.get("description") or kind),
                  "occurred_on": occurred.isoformat(), "window_days": days,
                  "due_at": cal.add_days(occurred, days).isoformat(), "reported_on": _iso(reported)},
            sources=[_src(org)] if org else [], bundle_key="org:*",
        )
