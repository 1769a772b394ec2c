"""Derivations for the osha rulesets (registered explicitly; see engine.rules.derive).

Matching is good at "this record and that record"; it is bad at "the establishment's peak headcount
last year across the whole company", "the latest ECP review", "the offer that came after the
first BBP training" or "learned_at + 8 h if the worker died within 30 days, else + 24 h". Those are
computed here, once, and handed to the rules as small derived facts.

Every derivation is pure: it reads the records it declares, the evaluation instant and the
ruleset's parameters, and does all date math through the calendar service (C1-C7). The evaluation
instant is applied here too (CONTRACT: whatever a record says happened after `as_of` has not
happened yet), because a derivation sees the stored records, not the facts built from them.

Derived facts that carry a deadline the rule cannot express as one `within` window (300A posting,
ECP review dates, BBP anniversaries, the 8 h / 24 h severe-injury clocks) name it `due_at`; the
rule then reads it with `within: {days: 0}` (or `{hours: 0}`) so the obligation machinery still
yields due_soon / overdue / late and the finding's `due`. `due_at` is a schedule field, so a
future value survives the as_of filter.

    osha_scope               reference  applicability per establishment and year (1904.1/.2/.41)
    osha_log_duty            osha_case  300/301 entry and privacy-case handling (1904.29)
    osha_severe_report       osha_case  8 h / 24 h reporting clocks (1904.39)
    osha_sharps_duty         osha_case  sharps injury log entry and fields (1910.1030(h)(5))
    osha_exposure_followup   osha_case  HBV follow-up after an exposure incident (1910.1030(f)(3))
    osha_post_report_action  osha_case  adverse action soon after an injury report (1904.35/.36)
    osha_300a_duty           establishment  300A preparation, certification and posting (1904.32)
    osha_ecp_duty            establishment  exposure control plan duties (1910.1030(c))
    osha_hepb_offer          person     hepatitis B vaccine offer after training (1910.1030(f)(2))
    osha_bbp_training_duty   person     initial, annual and record-content duties (1910.1030(g)(2), (h)(2))
    osha_hazcom_duty         person     HazCom training duties (1910.1200(h))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation

# ---- defaults (the ruleset's params override them; these keep the derivations usable alone) ----

#: 29 CFR 1904 Appendix A to Subpart B (2012 NAICS), the healthcare rows [S].
PARTIALLY_EXEMPT_NAICS = ("6211", "6212", "6213", "6214", "6215", "6244")
#: 29 CFR 1904 Appendix A to Subpart E (ITA 300A, 20-249 employees), healthcare rows [S].
ITA_APPENDIX_A = ("6219", "6221", "6222", "6223", "6231", "6232", "6233", "6239", "6242", "6243")
#: 29 CFR 1904 Appendix B to Subpart E (ITA 300/301 case data, 100+ employees), healthcare rows [S].
ITA_APPENDIX_B = ("6219", "6221", "6222", "6223", "6231", "6232", "6233", "6239", "6243")
#: 1904.1(a)(1): a company with ten or fewer employees at all times during the last calendar year.
SMALL_COMPANY_MAX = 10
#: 1904.33: keep the records five years after the end of the calendar year they cover.
RETENTION_YEARS = 5
#: 1910.1030(h)(2)(ii): training records are kept three years from the training date.
BBP_RECORD_YEARS = 3
#: 2024 HazCom revision (89 FR 44144), in force 19 July 2024; substances deadline as moved by the
#: 15 Jan 2026 rule [S].
HAZCOM_2024_EFFECTIVE = dt.date(2024, 7, 19)
HAZCOM_2024_SUBSTANCES_BY = dt.date(2026, 11, 20)
#: 1904.32(b)(6) posting period: 1 February to 30 April of the year after the year covered.
POSTING_FROM = (2, 1)
POSTING_UNTIL = (4, 30)
DEFAULT_CERTIFIER_TITLES = (
    "owner", "partner", "managing partner", "president", "chief executive officer", "ceo",
    "chief operating officer", "coo", "chief financial officer", "cfo", "corporate officer",
    "site administrator", "practice administrator", "medical director", "highest-ranking official",
)  # fmt: skip
#: State plans known to keep their own partial-exemption list (catalog: Washington).
DEFAULT_OWN_LIST_STATES = ("WA",)


# ---- small helpers ------------------------------------------------------------------------------


def _instant(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        out = value
    else:
        out = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if out.tzinfo is None:
        return None
    return out.astimezone(dt.UTC)


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else cal.iso_instant(value)


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _src(view: RecordView) -> tuple[str, str, int]:
    return (view.type, view.id, view.version)


def _sources(*views: RecordView | None) -> list[tuple[str, str, int]]:
    out: dict[tuple[str, str, int], None] = {}
    for v in views:
        if v is not None:
            out[_src(v)] = None
    return list(out)


def _by_id(views: Iterable[RecordView]) -> list[RecordView]:
    return sorted(views, key=lambda v: v.id)


def _flag(view: RecordView, name: str) -> bool:
    return view.data.get(name) is True


def _prefix_match(code: str | None, prefixes: Sequence[str]) -> bool:
    return bool(code) and any(str(code).startswith(str(p)) for p in prefixes)


@dataclass(frozen=True)
class _Now:
    """The evaluation instant, and "has it happened yet" for instants and local dates."""

    as_of: dt.datetime

    def at(self, value: Any) -> dt.datetime | None:
        """The instant if it has happened by as_of, else None."""
        instant = _instant(value)
        return instant if instant is not None and instant <= self.as_of else None

    def on(self, value: Any, tz: str) -> dt.date | None:
        """The date if that local day has begun by as_of, else None."""
        day = _date(value)
        return day if day is not None and day <= cal.local_date(self.as_of, tz) else None

    def today(self, tz: str) -> dt.date:
        return cal.local_date(self.as_of, tz)


def _tz(ctx: DeriveContext, view: RecordView | None, establishment_id: Any = None) -> str:
    est = ctx.establishments.get(str(establishment_id)) if establishment_id else None
    if est is not None and est.data.get("tz"):
        return str(est.data["tz"])
    if view is not None:
        return ctx.tz_of(view)
    return "America/New_York"


def _active(ep: RecordView, now: _Now) -> bool:
    """An employment episode that has started and not ended as of the run."""
    start = now.at(ep.data.get("start_at"))
    return start is not None and now.at(ep.data.get("end_at")) is None


def _assigned_at(ep: RecordView) -> dt.datetime | None:
    """When exposure work began: `exposure_assignment_at`, or the episode start when not recorded."""
    return _instant(ep.data.get("exposure_assignment_at")) or _instant(ep.data.get("start_at"))


def _group(views: Iterable[RecordView], key: str) -> dict[str, list[RecordView]]:
    out: dict[str, list[RecordView]] = {}
    for v in _by_id(views):
        k = v.data.get(key)
        if k is not None:
            out.setdefault(str(k), []).append(v)
    return out


def _trainings(views: Iterable[RecordView], course: str, now: _Now) -> dict[str, list[tuple[dt.datetime, RecordView]]]:
    """Completed trainings of one course per person, oldest first (completed after as_of: not yet)."""
    out: dict[str, list[tuple[dt.datetime, RecordView]]] = {}
    for v in _by_id(views):
        if v.data.get("course") != course or v.data.get("person_id") is None:
            continue
        done = now.at(v.data.get("completed_at"))
        if done is not None:
            out.setdefault(str(v.data["person_id"]), []).append((done, v))
    for items in out.values():
        items.sort(key=lambda t: (t[0], t[1].id))
    return out


# ---- applicability: establishment x year --------------------------------------------------------


@dataclass
class Scope:
    """Whether Part 1904 records and ITA submissions are required for one establishment and year."""

    establishment_id: str
    year: int
    naics: str | None
    state_plan: bool
    industry_exempt: bool | None
    company_peak_prev_year: int | None
    size_exempt: bool | None
    listed_required: bool
    records_required: bool | None
    ita_basis: str
    ita_employees: int | None
    ita_appendix_a: bool
    ita_appendix_b: bool
    ita_required: bool | None
    ita_case_data_required: bool | None
    basis: str
    missing: list[str]


def _count(est: RecordView, field: str, year: int) -> int | None:
    table = est.data.get(field) or {}
    value = table.get(str(year)) if isinstance(table, Mapping) else None
    return None if value is None else int(value)


def _listed(params: Mapping[str, Any], name: str, est_id: str, year: int | None = None) -> bool:
    entries = {str(x) for x in (params.get(name) or [])}
    return est_id in entries or (year is not None and f"{est_id}:{year}" in entries)


def determine_scope(est: RecordView, establishments: Sequence[RecordView], year: int,
                    params: Mapping[str, Any]) -> Scope:
    """Apply 1904.1 (size, whole company, previous year), 1904.2 (industry, by NAICS prefix), a
    written request or state-plan listing (param), and 1904.41 (ITA appendices and size) for `year`.

    The company's peak is the sum of every establishment's `max_concurrent_employees` for the
    previous year: an upper bound of the true company-wide peak (peaks at different sites need not
    coincide), so a company is treated as small only when the sum is ten or fewer.
    """
    naics = est.data.get("naics")
    exempt_prefixes = params.get("partially_exempt_naics", PARTIALLY_EXEMPT_NAICS)
    industry_exempt = None if not naics else _prefix_match(naics, exempt_prefixes)
    prev = year - 1
    counts = [_count(e, "max_concurrent_employees", prev) for e in establishments]
    known = [c for c in counts if c is not None]
    if counts and len(known) == len(counts):
        peak: int | None = sum(known)
    elif sum(known) > SMALL_COMPANY_MAX:
        peak = sum(known)  # already over the line with the sites that report a count
    else:
        peak = None
    size_exempt = None if peak is None else peak <= SMALL_COMPANY_MAX
    listed = _listed(params, "records_required_establishments", est.id, year)
    missing: list[str] = []
    if not naics:
        missing.append("the establishment's NAICS code")
    if peak is None:
        missing.append(f"the {prev} peak headcount (max_concurrent_employees) of every establishment")
    if listed:
        required: bool | None = True
        basis = "listed by the practice (written OSHA/BLS request or state-plan rule)"
    elif size_exempt is True:
        required = False
        basis = f"partially exempt: company peak {peak} in {prev} is {SMALL_COMPANY_MAX} or fewer (1904.1)"
    elif industry_exempt is True:
        required, basis = False, f"partially exempt industry: NAICS {naics} (1904.2, Appendix A to Subpart B)"
    elif size_exempt is False and industry_exempt is False:
        required, basis = True, f"NAICS {naics} is not partially exempt and the company peak in {prev} was {peak}"
    else:
        required, basis = None, "cannot be determined: missing " + " and ".join(missing)
    if required is not None:
        missing = []  # the answer does not depend on what is missing (an exempt industry, no headcount)
    basis_name = str(params.get("ita_size_basis", "max_concurrent"))
    field = "employees_any_time" if basis_name == "any_time" else "max_concurrent_employees"
    size = _count(est, field, year)
    app_a = _prefix_match(naics, params.get("ita_appendix_a_naics", ITA_APPENDIX_A))
    app_b = _prefix_match(naics, params.get("ita_appendix_b_naics", ITA_APPENDIX_B))
    if required is not True:
        ita: bool | None = None if required is None else False
        ita_cases: bool | None = ita
    elif size is None:
        ita = ita_cases = None
    else:
        ita = size >= 250 or (app_a and size >= 20)
        ita_cases = app_b and size >= 100
    return Scope(
        establishment_id=est.id, year=year, naics=naics, state_plan=_flag(est, "osha_state_plan"),
        industry_exempt=industry_exempt, company_peak_prev_year=peak, size_exempt=size_exempt,
        listed_required=listed, records_required=required, ita_basis=basis_name, ita_employees=size,
        ita_appendix_a=app_a, ita_appendix_b=app_b, ita_required=ita, ita_case_data_required=ita_cases,
        basis=basis, missing=missing,
    )


def _years(now: _Now, tz: str) -> range:
    """The years whose duties can still be live: the current local year and the five before it
    (1904.33 retention)."""
    this_year = now.today(tz).year
    return range(this_year - RETENTION_YEARS, this_year + 1)


class _ScopeCache:
    def __init__(self, ctx: DeriveContext, establishments: Sequence[RecordView]) -> None:
        self.ctx = ctx
        self.ests = {e.id: e for e in establishments}
        self.all = list(self.ests.values())
        self._cache: dict[tuple[str, int], Scope] = {}

    def get(self, est_id: str | None, year: int) -> Scope | None:
        if est_id is None or est_id not in self.ests:
            return None
        key = (est_id, year)
        if key not in self._cache:
            self._cache[key] = determine_scope(self.ests[est_id], self.all, year, self.ctx.params)
        return self._cache[key]


def _establishments(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> list[RecordView]:
    views = list(inputs.get("establishment", ()))
    return _by_id(views) if views else _by_id(ctx.establishments.values())


@derivation(
    name="osha_scope", inputs=("establishment",), output="osha_scope", family="org", reference=True,
    fields={
        "establishment_id": "string", "year": "number", "age": "number", "year_start": "date",
        "naics": "string", "state_plan": "bool", "industry_exempt": "bool", "company_peak_prev_year": "number",
        "size_exempt": "bool", "listed_required": "bool", "records_required": "bool", "ita_basis": "string",
        "ita_employees": "number", "ita_appendix_a": "bool", "ita_appendix_b": "bool", "ita_required": "bool",
        "ita_case_data_required": "bool", "basis": "string", "open_question": "string",
    },
    example="osha_scope where establishment_id == est.id and records_required == true and age == 1",
)
def osha_scope(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """OSHA applicability per establishment and year (current local year and the five before).

    `records_required`: Part 1904 injury and illness records (1904.1 size on the previous year's
    company-wide peak, 1904.2 industry by NAICS prefix, or listed by the practice after a written
    request / state-plan rule); null when it cannot be determined. `ita_required` /
    `ita_case_data_required`: 1904.41 electronic submission of that year's data (size = that year's
    headcount by `ita_size_basis`). `age` is the current local year minus `year`. `open_question`
    names what the practice must settle for the current and previous year (missing inputs, or a
    federal industry exemption relied on in a state plan that keeps its own list,
    `state_plans_with_own_exemption_list`, not yet confirmed in `state_plan_exemption_confirmed`).
    """
    now = _Now(ctx.as_of)
    ests = _establishments(ctx, inputs)
    confirmed = {str(x) for x in (ctx.params.get("state_plan_exemption_confirmed") or [])}
    own_list = {str(x) for x in ctx.params.get("state_plans_with_own_exemption_list", DEFAULT_OWN_LIST_STATES)}
    for est in ests:
        tz = _tz(ctx, est, est.id)
        this_year = now.today(tz).year
        for year in _years(now, tz):
            s = determine_scope(est, ests, year, ctx.params)
            age = this_year - year
            questions: list[str] = []
            if age <= 1:
                if s.records_required is None:
                    questions.append("record " + " and ".join(s.missing))
                if age == 1 and s.records_required is True and s.ita_employees is None:
                    field = "employees_any_time" if s.ita_basis == "any_time" else "max_concurrent_employees"
                    questions.append(f"record the {year} headcount ({field}) for the ITA thresholds")
                if (age == 0 and s.state_plan and str(est.data.get("state")) in own_list
                        and s.industry_exempt is True and s.size_exempt is not True
                        and not s.listed_required and est.id not in confirmed):
                    questions.append(f"confirm that the {est.data.get('state')} state plan exempts NAICS {s.naics} "
                                     "as federal OSHA does (it keeps its own list)")
            data = {
                "establishment_id": est.id, "year": year, "age": age,
                "year_start": _day(dt.date(year, 1, 1)), "naics": s.naics, "state_plan": s.state_plan,
                "industry_exempt": s.industry_exempt, "company_peak_prev_year": s.company_peak_prev_year,
                "size_exempt": s.size_exempt, "listed_required": s.listed_required,
                "records_required": s.records_required, "ita_basis": s.ita_basis, "ita_employees": s.ita_employees,
                "ita_appendix_a": s.ita_appendix_a, "ita_appendix_b": s.ita_appendix_b,
                "ita_required": s.ita_required, "ita_case_data_required": s.ita_case_data_required,
                "basis": s.basis, "open_question": "; ".join(questions) or None,
            }
            yield DerivedFact(type="osha_scope", id=f"{est.id}:{year}", data=data, sources=_sources(est),
                              bundle_key="org:*")


# ---- osha_case family ---------------------------------------------------------------------------


def _case_year(case: RecordView, tz: str) -> int | None:
    incident = _instant(case.data.get("incident_at"))
    return None if incident is None else cal.local_date(incident, tz).year


def _live_cases(ctx: DeriveContext, cases: Iterable[RecordView], now: _Now) -> Iterator[tuple[RecordView, str]]:
    """Cases whose incident has happened by as_of, with their establishment's zone."""
    for case in _by_id(cases):
        if now.at(case.data.get("incident_at")) is None:
            continue
        yield case, _tz(ctx, case, case.data.get("establishment_id"))


@derivation(
    name="osha_log_duty", inputs=("osha_case", "establishment"), output="osha_log_duty", family="osha_case",
    fields={"case_id": "string", "establishment_id": "string", "part": "string", "key": "string",
            "log_year": "number", "records_required": "bool", "done_at": "instant", "missing": "string"},
    example="osha_log_duty where case_id == case.id",
)
def osha_log_duty(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """OSHA 300 log / 301 report duties of one recordable case, where records are required for the
    year of the incident (1904.29(b)(3); the case goes on that year's log even when entered later).

    part `entry`: `done_at` is when both the 300 entry and the 301 report exist (the later of
    `logged_at` and `f301_at`). part `privacy`: a needlestick/sharps case already on the log but
    not marked as a privacy case (1904.29(b)(7)(v)); it only exists while that is so.
    A sharps case is treated as recordable whatever its `recordable` flag says (1904.8).
    """
    now = _Now(ctx.as_of)
    scopes = _ScopeCache(ctx, _establishments(ctx, inputs))
    for case, tz in _live_cases(ctx, inputs.get("osha_case", ()), now):
        if not (_flag(case, "recordable") or _flag(case, "sharps")):
            continue
        year = _case_year(case, tz)
        scope = scopes.get(case.data.get("establishment_id"), year) if year else None
        if scope is None or scope.records_required is not True or year is None:
            continue
        if now.today(tz).year - year > RETENTION_YEARS:
            continue
        est = scopes.ests.get(str(case.data.get("establishment_id")))
        logged, f301 = now.at(case.data.get("logged_at")), now.at(case.data.get("f301_at"))
        parts = (("OSHA 300 log entry", logged), ("OSHA 301 incident report", f301))
        missing = [name for name, v in parts if v is None]
        done = max(logged, f301) if logged and f301 else None
        base = {"case_id": case.id, "establishment_id": case.data.get("establishment_id"), "log_year": year,
                "records_required": True}
        yield DerivedFact("osha_log_duty", f"{case.id}:entry",
                          dict(base, part="entry", key=f"{year}:entry", done_at=_iso(done),
                               missing=", ".join(missing) or None),
                          _sources(case, est), f"osha_case:{case.id}")
        if _flag(case, "sharps") and logged is not None and case.data.get("privacy_case") is not True:
            yield DerivedFact("osha_log_duty", f"{case.id}:privacy",
                              dict(base, part="privacy", key=f"{year}:privacy", done_at=None,
                                   missing="privacy-case marking"),
                              _sources(case, est), f"osha_case:{case.id}")


@derivation(
    name="osha_severe_report", inputs=("osha_case", "establishment"), output="osha_severe_report", family="osha_case",
    fields={"case_id": "string", "establishment_id": "string", "event": "string", "window_hours": "number",
            "clock_start": "instant", "due_at": "instant", "done_at": "instant"},
    example="osha_severe_report where case_id == case.id",
)
def osha_severe_report(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Severe-injury reports owed to OSHA for one case (1904.39; every employer, exempt or not).

    event `fatality`: death within 30 days of the incident; due 8 elapsed hours after the employer
    knew of the death (the later of `learned_at` and `died_at`); only a report made at or after the
    death meets it. event `hospitalization/amputation/eye loss`: an in-patient admission within
    24 h of the incident, an amputation or the loss of an eye; due 24 elapsed hours after the
    employer knew (the earliest qualifying knowledge). All arithmetic is elapsed UTC time (C3).
    A case whose employer has not learned of it yet (`learned_at` after as_of) has no clock.
    """
    now = _Now(ctx.as_of)
    for case, _tz_name in _live_cases(ctx, inputs.get("osha_case", ()), now):
        incident = _instant(case.data["incident_at"])
        learned = now.at(case.data.get("learned_at"))
        if incident is None or learned is None:
            continue
        reported = now.at(case.data.get("reported_to_osha_at"))
        base = {"case_id": case.id, "establishment_id": case.data.get("establishment_id")}
        died = now.at(case.data.get("died_at"))
        if died is not None and 0 <= cal.hours_between(incident, died) <= 30 * 24:
            start = max(learned, died)
            yield DerivedFact("osha_severe_report", f"{case.id}:fatality", dict(
                base, event="fatality", window_hours=8, clock_start=_iso(start),
                due_at=_iso(cal.add_hours(start, 8)),
                done_at=_iso(reported if reported is not None and reported >= died else None),
            ), _sources(case), f"osha_case:{case.id}")
        starts: list[dt.datetime] = []
        events: list[str] = []
        admit = now.at(case.data.get("inpatient_admit_at"))
        if admit is not None and 0 <= cal.hours_between(incident, admit) <= 24:
            starts.append(max(learned, admit))
            events.append("in-patient hospitalization")
        if _flag(case, "amputation"):
            starts.append(learned)
            events.append("amputation")
        if _flag(case, "eye_loss"):
            starts.append(learned)
            events.append("loss of an eye")
        if starts:
            start = min(starts)
            yield DerivedFact("osha_severe_report", f"{case.id}:24h", dict(
                base, event=", ".join(events), window_hours=24, clock_start=_iso(start),
                due_at=_iso(cal.add_hours(start, 24)),
                done_at=_iso(reported if reported is not None and reported >= incident else None),
            ), _sources(case), f"osha_case:{case.id}")


@derivation(
    name="osha_sharps_duty", inputs=("osha_case", "establishment"), output="osha_sharps_duty", family="osha_case",
    fields={"case_id": "string", "establishment_id": "string", "issue": "string", "records_required": "bool",
            "done_at": "instant", "missing": "string"},
    example="osha_sharps_duty where case_id == case.id",
)
def osha_sharps_duty(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Sharps injury log duties of one contaminated-sharps case (1910.1030(h)(5)).

    Where Part 1904 records are required for the incident's year: issue `entry` (`done_at` =
    `sharps_log_at`) and, once entered, issue `fields` while device type, brand or work area is
    missing. Elsewhere the log is only encouraged: issue `entry` exists only while there is no
    entry at all, with `records_required` false (the rule reports it at low severity).
    """
    now = _Now(ctx.as_of)
    scopes = _ScopeCache(ctx, _establishments(ctx, inputs))
    for case, tz in _live_cases(ctx, inputs.get("osha_case", ()), now):
        if not _flag(case, "sharps"):
            continue
        year = _case_year(case, tz)
        if year is None or now.today(tz).year - year > RETENTION_YEARS:
            continue
        scope = scopes.get(case.data.get("establishment_id"), year)
        required = scope is not None and scope.records_required is True
        logged = now.at(case.data.get("sharps_log_at"))
        base = {"case_id": case.id, "establishment_id": case.data.get("establishment_id"),
                "records_required": required}
        if required or logged is None:
            yield DerivedFact("osha_sharps_duty", f"{case.id}:entry",
                              dict(base, issue="entry", done_at=_iso(logged), missing=None),
                              _sources(case), f"osha_case:{case.id}")
        if required and logged is not None:
            missing = [label for name, label in (("device_type", "device type"), ("device_brand", "brand"),
                                                 ("work_area", "department or work area"))
                       if not case.data.get(name)]
            if missing:
                yield DerivedFact("osha_sharps_duty", f"{case.id}:fields",
                                  dict(base, issue="fields", done_at=None, missing=", ".join(missing)),
                                  _sources(case), f"osha_case:{case.id}")


def _hbv_protected(records: Sequence[RecordView], now: _Now) -> bool:
    return any(_flag(h, "antibody_immune") or now.at(h.data.get("series_completed_at")) is not None
               for h in records)


@derivation(
    name="osha_exposure_followup", inputs=("osha_case", "hepb_vaccination"), output="osha_exposure_followup",
    family="osha_case",
    fields={"case_id": "string", "person_id": "string", "establishment_id": "string", "hbv_status": "string",
            "declined_at": "instant", "followup_at": "instant"},
    example="osha_exposure_followup where case_id == case.id",
)
def osha_exposure_followup(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Exposure incidents (contaminated sharps) of employees with no documented hepatitis B
    protection, for whom USPHS post-exposure prophylaxis is medically indicated (1910.1030(f)(3)(iv)).

    Produced when the exposed person has no hepb_vaccination record, or only a declination: no
    completed series, no antibody immunity, not contraindicated, and no offer still open (an offer
    without a declination is a series in progress, which the evaluating provider handles).
    `hbv_status` says which, so the message can say whether the vaccine is offered again:
    `declined` (offered before the incident and declined, or a declination dated before it;
    `declined_at` is the latest such declination), `no_record` (no hepatitis B record at all) or
    `not_offered` (records, but none shows an offer or a declination before the incident).
    `followup_at` is the first hepatitis B offer recorded at or after the incident (the vaccine
    made available after the exposure), or null.
    """
    now = _Now(ctx.as_of)
    hepb = _group(inputs.get("hepb_vaccination", ()), "person_id")
    for case, _tz_name in _live_cases(ctx, inputs.get("osha_case", ()), now):
        person = case.data.get("person_id")
        if not _flag(case, "sharps") or not person:
            continue
        incident = _instant(case.data["incident_at"])
        assert incident is not None
        records = hepb.get(str(person), [])
        if _hbv_protected(records, now) or any(_flag(h, "contraindicated") for h in records):
            continue
        offered_before = [h for h in records if (t := now.at(h.data.get("offered_at"))) is not None and t < incident]
        if any(now.at(h.data.get("declined_at")) is None for h in offered_before):
            continue  # offered earlier and not declined: a series in progress
        earlier = {h.id for h in offered_before}
        declines = sorted(d for h in records if (d := now.at(h.data.get("declined_at"))) is not None
                          and (d < incident or h.id in earlier))
        status = "declined" if declines else "not_offered" if records else "no_record"
        after = sorted(t for h in records if (t := now.at(h.data.get("offered_at"))) is not None and t >= incident)
        yield DerivedFact("osha_exposure_followup", f"{case.id}:hbv", {
            "case_id": case.id, "person_id": str(person), "establishment_id": case.data.get("establishment_id"),
            "hbv_status": status, "declined_at": _iso(declines[-1] if declines else None),
            "followup_at": _iso(after[0] if after else None),
        }, _sources(case, *records), f"osha_case:{case.id}")


@derivation(
    name="osha_post_report_action", inputs=("osha_case", "sanction_record", "employment_episode"),
    output="osha_post_report_action", family="osha_case",
    fields={"case_id": "string", "person_id": "string", "establishment_id": "string", "action": "string",
            "action_id": "string", "action_at": "instant", "report_at": "instant", "days_after": "number"},
    example="osha_post_report_action where case_id == case.id",
)
def osha_post_report_action(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Adverse actions (a sanction decided, or the employment ending) against the person who
    reported an injury or illness, within `retaliation_review_days` calendar days after the report
    (C1 on local dates; the report is `learned_at`, else `incident_at`). An advisory flag for HR to
    confirm the action is unrelated to the report (1904.35(b)(1)(iv), 1904.36, OSH Act 11(c)).
    """
    now = _Now(ctx.as_of)
    window = int(ctx.param("retaliation_review_days", 30))
    sanctions = _group(inputs.get("sanction_record", ()), "person_id")
    episodes = _group(inputs.get("employment_episode", ()), "person_id")
    for case, tz in _live_cases(ctx, inputs.get("osha_case", ()), now):
        person = case.data.get("person_id")
        report = now.at(case.data.get("learned_at")) or now.at(case.data.get("incident_at"))
        if not person or report is None:
            continue
        last_day = cal.add_days(cal.local_date(report, tz), window)
        actions: list[tuple[str, RecordView, dt.datetime]] = []
        for s in sanctions.get(str(person), []):
            at = now.at(s.data.get("decided_at"))
            if at is not None:
                actions.append(("sanction", s, at))
        for ep in episodes.get(str(person), []):
            at = now.at(ep.data.get("end_at"))
            if at is not None:
                actions.append(("employment ended", ep, at))
        for kind, view, at in actions:
            if at < report or cal.local_date(at, tz) > last_day:
                continue
            days = (cal.local_date(at, tz) - cal.local_date(report, tz)).days
            yield DerivedFact("osha_post_report_action", f"{case.id}:{view.type}:{view.id}", {
                "case_id": case.id, "person_id": str(person), "establishment_id": case.data.get("establishment_id"),
                "action": kind, "action_id": view.id, "action_at": _iso(at), "report_at": _iso(report),
                "days_after": days,
            }, _sources(case, view), f"osha_case:{case.id}")


# ---- establishment family -----------------------------------------------------------------------


def certifier_allowed(title: str | None, allowed: Iterable[str]) -> bool:
    """Whether a certifier title names a company executive: it starts (case-insensitively, at a word
    boundary) with one of the allowed titles, so "Site Administrator (highest-ranking official)"
    matches "site administrator" but "Safety Officer" does not match "corporate officer"."""
    text = " ".join(str(title or "").lower().split())
    for option in allowed:
        want = " ".join(str(option).lower().split())
        if want and text.startswith(want) and (len(text) == len(want) or not text[len(want)].isalnum()):
            return True
    return False


@derivation(
    name="osha_300a_duty", inputs=("osha_summary", "establishment"), output="osha_300a_duty",
    family="establishment",
    fields={"establishment_id": "string", "summary_id": "string", "year": "number", "issue": "string",
            "key": "string", "due_at": "date", "done_at": "instant", "posted_from": "date", "detail": "string",
            "ita_required": "bool"},
    example="osha_300a_duty where establishment_id == est.id and key != null",
)
def osha_300a_duty(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Certification and posting duties of the Form 300A of each establishment and year in which
    records were required, from the last completed year back through the five-year retention
    period (1904.32): `certify` (certified by 1 Feb of the next year), `post` (posted from 1 Feb),
    `post_through` (taken down before 30 Apr: due is the first day it was missing) and `certifier`
    (certified by someone whose title is not in `certifier_titles`). Dates are the establishment's
    local dates, with no weekend relief (C6, C7).

    A year with no 300A on file at all has one duty, `certify` with no `summary_id`: the summary
    was not prepared, so it cannot have been certified (or posted) by 1 Feb. Its `key`
    (`<year>:certify`) is the one a summary filed later carries, so the finding continues (late,
    or resolved) rather than being replaced. `ita_required` says whether that year's 300A is also
    owed to OSHA's ITA (1904.41), which OSHA-REC-ITA-005 can only judge on a summary on file.
    """
    now = _Now(ctx.as_of)
    ests = _establishments(ctx, inputs)
    scopes = _ScopeCache(ctx, ests)
    titles = list(ctx.params.get("certifier_titles", DEFAULT_CERTIFIER_TITLES))
    on_file: set[tuple[str, int]] = set()
    for summary in _by_id(inputs.get("osha_summary", ())):
        est_id, year = summary.data.get("establishment_id"), summary.data.get("year")
        if est_id is None or year is None:
            continue
        year = int(year)
        on_file.add((str(est_id), year))
        est = scopes.ests.get(str(est_id))
        tz = _tz(ctx, summary, est_id)
        age = now.today(tz).year - year
        scope = scopes.get(str(est_id), year)
        if not 1 <= age <= RETENTION_YEARS or scope is None or scope.records_required is not True:
            continue
        due = cal.clamped_date(year + 1, *POSTING_FROM)
        until = cal.clamped_date(year + 1, *POSTING_UNTIL)

        def duty(issue: str, due_at: dt.date, done: dt.datetime | None, detail: str | None = None, *,
                 _s: RecordView = summary, _e: RecordView | None = est, _y: int = year,
                 _scope: Scope = scope) -> DerivedFact:
            return DerivedFact("osha_300a_duty", f"{_s.id}:{issue}", {
                "establishment_id": _s.data.get("establishment_id"), "summary_id": _s.id, "year": _y,
                "issue": issue, "key": f"{_y}:{issue}", "due_at": _day(due_at), "done_at": _iso(done),
                "posted_from": _s.data.get("posted_from"), "detail": detail, "ita_required": _scope.ita_required,
            }, _sources(_s, _e), f"establishment:{_s.data.get('establishment_id')}")

        certified = now.at(summary.data.get("certified_at"))
        yield duty("certify", due, certified)
        posted = now.on(summary.data.get("posted_from"), tz)
        yield duty("post", due, cal.start_of_local_day(posted, tz) if posted else None)
        taken_down = _date(summary.data.get("posted_until"))
        if posted is not None and taken_down is not None and taken_down < until:
            yield duty("post_through", cal.add_days(taken_down, 1), None,
                       f"taken down after {taken_down.isoformat()}, before {until.isoformat()}")
        if certified is not None and not certifier_allowed(summary.data.get("certifier_title"), titles):
            yield duty("certifier", due, None, str(summary.data.get("certifier_title") or "no title recorded"))
    for est in ests:
        tz = _tz(ctx, est, est.id)
        this_year = now.today(tz).year
        for year in range(this_year - RETENTION_YEARS, this_year):
            scope = scopes.get(est.id, year)
            if (est.id, year) in on_file or scope is None or scope.records_required is not True:
                continue
            yield DerivedFact("osha_300a_duty", f"{est.id}:{year}:missing", {
                "establishment_id": est.id, "summary_id": None, "year": year, "issue": "certify",
                "key": f"{year}:certify", "due_at": _day(cal.clamped_date(year + 1, *POSTING_FROM)),
                "done_at": None, "posted_from": None, "detail": "no Form 300A on file",
                "ita_required": scope.ita_required,
            }, _sources(est), f"establishment:{est.id}")


def _local(instant: dt.datetime, tz: str) -> dt.date:
    return cal.local_date(instant, tz)


@derivation(
    name="osha_ecp_duty", inputs=("exposure_control_plan", "employment_episode", "establishment"),
    output="osha_ecp_duty", family="establishment",
    fields={"establishment_id": "string", "issue": "string", "key": "string", "due_at": "date",
            "plan_id": "string", "reviewed_at": "instant", "detail": "string", "exposed_count": "number"},
    example="osha_ecp_duty where establishment_id == est.id",
)
def osha_ecp_duty(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Open exposure control plan duties of an establishment that has employees with occupational
    exposure now (1910.1030(c)(1)-(2)); a duty exists only while it is open.

    `no_plan`: no ECP at all (due the day the longest-serving exposed employee was assigned).
    `review`: the next review, `ecp_review_interval` months (C5) after the latest one.
    `content`: the latest review does not document the safer-device review or front-line input.
    `new_position`: an exposed position (role) first filled after a plan existed, with no review
    since; due `ecp_change_days` days (C1) after its first day.
    """
    now = _Now(ctx.as_of)
    interval = int(ctx.param("ecp_review_interval", 12))
    change_days = int(ctx.param("ecp_change_days", 30))
    plans = _group(inputs.get("exposure_control_plan", ()), "establishment_id")
    episodes = _group(inputs.get("employment_episode", ()), "establishment_id")
    for est in _establishments(ctx, inputs):
        tz = _tz(ctx, est, est.id)
        exposed_all = [e for e in episodes.get(est.id, [])
                       if _flag(e, "occupational_exposure") and now.at(e.data.get("start_at")) is not None]
        exposed = [e for e in exposed_all if _active(e, now)]
        if not exposed:
            continue
        reviews = sorted(((t, p) for p in plans.get(est.id, []) if (t := now.at(p.data.get("reviewed_at")))),
                         key=lambda x: (x[0], x[1].id))
        base = {"establishment_id": est.id, "exposed_count": len(exposed)}

        def duty(issue: str, key: str, due_at: dt.date, plan: tuple[dt.datetime, RecordView] | None,
                 detail: str | None, extra: Sequence[RecordView] = (), *, _base: dict[str, Any] = base,
                 _est: RecordView = est) -> DerivedFact:
            return DerivedFact("osha_ecp_duty", f"{_est.id}:{key}", dict(
                _base, issue=issue, key=key, due_at=_day(due_at), plan_id=plan[1].id if plan else None,
                reviewed_at=_iso(plan[0]) if plan else None, detail=detail,
            ), _sources(_est, plan[1] if plan else None, *extra), f"establishment:{_est.id}")

        if not reviews:
            first = min(exposed, key=lambda e: (_assigned_at(e) or ctx.as_of, e.id))
            assigned = _assigned_at(first) or ctx.as_of
            yield duty("no_plan", "no_plan", _local(assigned, tz), None,
                       f"{len(exposed)} employee(s) with occupational exposure", [first])
            continue
        latest = reviews[-1]
        yield duty("review", "review", cal.add_months(_local(latest[0], tz), interval), latest, None)
        gaps = [label for name, label in (("safer_devices_reviewed", "safer-device evaluation"),
                                          ("frontline_input_documented", "front-line employee input"))
                if latest[1].data.get(name) is not True]
        if gaps:
            yield duty("content", "content", _local(latest[0], tz), latest, ", ".join(gaps))
        first_review = reviews[0][0]
        active_roles = {str(e.data.get("role")) for e in exposed if e.data.get("role")}
        for role in sorted(active_roles):
            holders = [e for e in exposed_all if e.data.get("role") == role]
            first = min(holders, key=lambda e: (_instant(e.data.get("start_at")) or ctx.as_of, e.id))
            started = _instant(first.data.get("start_at"))
            if started is None or started < first_review:
                continue  # the position existed when the plan was written
            if any(t >= started for t, _ in reviews):
                continue  # reviewed since the position appeared
            yield duty("new_position", f"new_position:{role}", cal.add_days(_local(started, tz), change_days), latest,
                       f"position {role!r} first filled {_local(started, tz).isoformat()}", [first])


# ---- person family ------------------------------------------------------------------------------


def _exposed_episodes(episodes: Iterable[RecordView], now: _Now) -> Iterator[tuple[RecordView, dt.datetime]]:
    """Active episodes with occupational exposure whose exposure work has begun, with its instant."""
    for ep in _by_id(episodes):
        if not _flag(ep, "occupational_exposure") or not _active(ep, now):
            continue
        assigned = _assigned_at(ep)
        if assigned is not None and assigned <= now.as_of:
            yield ep, assigned


@derivation(
    name="osha_hepb_offer", inputs=("employment_episode", "hepb_vaccination", "training_record"),
    output="osha_hepb_offer", family="person",
    fields={"episode_id": "string", "person_id": "string", "establishment_id": "string", "assigned_at": "instant",
            "done_at": "instant", "first_offer_at": "instant", "bbp_trained_at": "instant",
            "offered_before_training": "bool"},
    example="osha_hepb_offer where episode_id == episode.id",
)
def osha_hepb_offer(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """The hepatitis B vaccine offer owed to an active employee with occupational exposure
    (1910.1030(f)(1)-(2)); none when the person is exempt (completed series, antibody immunity,
    contraindication).

    `done_at` is the first offer (or signed declination, which documents one) made at or after the
    person's first BBP training: the vaccine must be made available after the training.
    `offered_before_training` is true when offers exist but none followed the training.
    `assigned_at` is `exposure_assignment_at` (else the episode start): the C4 clock's anchor.
    """
    now = _Now(ctx.as_of)
    hepb = _group(inputs.get("hepb_vaccination", ()), "person_id")
    bbp = _trainings(inputs.get("training_record", ()), "BBP", now)
    for ep, assigned in _exposed_episodes(inputs.get("employment_episode", ()), now):
        person = str(ep.data.get("person_id"))
        records = hepb.get(person, [])
        if _hbv_protected(records, now) or any(_flag(h, "contraindicated") for h in records):
            continue
        offers = sorted((t, h) for h in records
                        if (t := now.at(h.data.get("offered_at")) or now.at(h.data.get("declined_at"))) is not None)
        trained = bbp.get(person, [])
        first_training = trained[0] if trained else None
        qualifying = [(t, h) for t, h in offers if first_training is not None and t >= first_training[0]]
        yield DerivedFact("osha_hepb_offer", f"{ep.id}:hepb", {
            "episode_id": ep.id, "person_id": person, "establishment_id": ep.data.get("establishment_id"),
            "assigned_at": _iso(assigned), "done_at": _iso(qualifying[0][0] if qualifying else None),
            "first_offer_at": _iso(offers[0][0] if offers else None),
            "bbp_trained_at": _iso(first_training[0] if first_training else None),
            "offered_before_training": bool(offers) and not qualifying,
        }, _sources(ep, *[h for _, h in offers], first_training[1] if first_training else None),
            f"person:{person}")


def _bbp_annual_cycles(
    trained: Sequence[tuple[dt.datetime, RecordView]], tz: str, keep_from: dt.date,
) -> Iterator[tuple[tuple[dt.datetime, RecordView], tuple[dt.datetime, RecordView] | None]]:
    """The annual BBP training cycles of one episode that are still to be reported (OSHA-BBP-TRN-009),
    as (the training that opened the cycle, the training that closed it late, or None).

    Each training opens a cycle due 12 months after its local date (C5) and the next training
    closes it. Yielded: the open cycle (after the latest training; due soon or overdue by the
    engine), and every cycle closed after its due day, whose closing training is the late
    completion (`late: true` reports it). A late cycle is kept while its late training is within
    the three years training records are kept (1910.1030(h)(2)(ii), `keep_from`, the same bound as
    the `record` duty; the ruleset has no lookback parameter for it), so the history does not
    grow without end. Keyed by the opening training, an overdue cycle stays the same finding when
    the training is repeated late.
    """
    for i, opened in enumerate(trained):
        closed = trained[i + 1] if i + 1 < len(trained) else None
        if closed is not None:
            closed_day = _local(closed[0], tz)
            if closed_day <= cal.add_months(_local(opened[0], tz), 12) or closed_day < keep_from:
                continue  # repeated on time, or too long ago to report
        yield opened, closed


@derivation(
    name="osha_bbp_training_duty", inputs=("employment_episode", "training_record"), output="osha_bbp_training_duty",
    family="person",
    fields={"episode_id": "string", "person_id": "string", "establishment_id": "string", "issue": "string",
            "key": "string", "due_at": "date", "done_at": "instant", "training_id": "string", "detail": "string"},
    example="osha_bbp_training_duty where episode_id == episode.id",
)
def osha_bbp_training_duty(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Bloodborne pathogens training duties of an active employee with occupational exposure
    (1910.1030(g)(2), (h)(2)).

    `initial`: trained by the local day exposure work began; `done_at` is the first BBP training
    completed no earlier than 12 months before that day (so a current training from a previous
    assignment counts). `annual`: per cycle, see `_bbp_annual_cycles` (each training opens one, due
    12 months later, C5, 29 Feb -> 28 Feb; key `annual:<training id>`). `record`: a BBP training
    record of the last three years without trainer or content summary (`content_version`).
    """
    now = _Now(ctx.as_of)
    bbp = _trainings(inputs.get("training_record", ()), "BBP", now)
    for ep, assigned in _exposed_episodes(inputs.get("employment_episode", ()), now):
        person = str(ep.data.get("person_id"))
        tz = _tz(ctx, ep, ep.data.get("establishment_id"))
        day = _local(assigned, tz)
        window = cal.add_months(day, -12)
        trained = [(t, v) for t, v in bbp.get(person, []) if _local(t, tz) >= window]
        base = {"episode_id": ep.id, "person_id": person, "establishment_id": ep.data.get("establishment_id")}

        def duty(issue: str, key: str, due_at: dt.date, done: tuple[dt.datetime, RecordView] | None,
                 detail: str | None = None, extra: Sequence[RecordView] = (), *, _base: dict[str, Any] = base,
                 _ep: RecordView = ep, _person: str = person) -> DerivedFact:
            return DerivedFact("osha_bbp_training_duty", f"{_ep.id}:{key}", dict(
                _base, issue=issue, key=key, due_at=_day(due_at), done_at=_iso(done[0]) if done else None,
                training_id=done[1].id if done else None, detail=detail,
            ), _sources(_ep, *extra, done[1] if done else None), f"person:{_person}")

        first = trained[0] if trained else None
        yield duty("initial", "initial", day, first)
        if first is None:
            continue
        keep_from = cal.add_years(now.today(tz), -BBP_RECORD_YEARS)
        for opened, closed in _bbp_annual_cycles(trained, tz, keep_from):
            detail = f"last trained {_local(opened[0], tz).isoformat()} ({opened[1].id})"
            if closed is not None:
                detail = (f"trained {_local(opened[0], tz).isoformat()} ({opened[1].id}), next trained "
                          f"{_local(closed[0], tz).isoformat()} ({closed[1].id})")
            yield duty("annual", f"annual:{opened[1].id}", cal.add_months(_local(opened[0], tz), 12), closed,
                       detail, [opened[1]])
        for t, v in trained:
            if _local(t, tz) < keep_from:
                continue
            gaps = [label for name, label in (("trainer", "trainer"), ("content_version", "content summary"))
                    if not v.data.get(name)]
            if gaps:
                yield duty("record", f"record:{v.id}", _local(t, tz), None,
                           f"{v.id} lacks {', '.join(gaps)}")


@derivation(
    name="osha_hazcom_duty", inputs=("employment_episode", "training_record"), output="osha_hazcom_duty",
    family="person",
    fields={"episode_id": "string", "person_id": "string", "establishment_id": "string", "issue": "string",
            "key": "string", "due_at": "date", "done_at": "instant"},
    example="osha_hazcom_duty where episode_id == episode.id",
)
def osha_hazcom_duty(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Hazard communication training of an active employee who works with hazardous chemicals
    (1910.1200(h)(1)): employees with occupational exposure, plus the roles in `hazcom_roles`.

    `initial`: trained by the local day the work began; `done_at` is the person's first HAZCOM
    training. `revision_2024` (only when `hazcom_rev2024_retrain` is true, i.e. the practice's
    chemicals gained newly classified hazards under the 2024 revision, and only for employees
    already trained once): a HAZCOM training completed on or after 19 July 2024, due 20 Nov 2026
    (substances).
    """
    now = _Now(ctx.as_of)
    roles = {str(r) for r in (ctx.params.get("hazcom_roles") or [])}
    retrain = ctx.params.get("hazcom_rev2024_retrain") is True
    hazcom = _trainings(inputs.get("training_record", ()), "HAZCOM", now)
    for ep in _by_id(inputs.get("employment_episode", ())):
        if not _active(ep, now):
            continue
        if not (_flag(ep, "occupational_exposure") or str(ep.data.get("role")) in roles):
            continue
        assigned = _assigned_at(ep)
        if assigned is None or assigned > now.as_of:
            continue
        person = str(ep.data.get("person_id"))
        tz = _tz(ctx, ep, ep.data.get("establishment_id"))
        trained = hazcom.get(person, [])
        base = {"episode_id": ep.id, "person_id": person, "establishment_id": ep.data.get("establishment_id")}
        first = trained[0] if trained else None
        yield DerivedFact("osha_hazcom_duty", f"{ep.id}:initial", dict(
            base, issue="initial", key="initial", due_at=_day(_local(assigned, tz)),
            done_at=_iso(first[0]) if first else None,
        ), _sources(ep, first[1] if first else None), f"person:{person}")
        if retrain and first is not None:  # untrained employees are the `initial` duty's
            current = next(((t, v) for t, v in trained if _local(t, tz) >= HAZCOM_2024_EFFECTIVE), None)
            yield DerivedFact("osha_hazcom_duty", f"{ep.id}:revision_2024", dict(
                base, issue="revision_2024", key="revision_2024", due_at=_day(HAZCOM_2024_SUBSTANCES_BY),
                done_at=_iso(current[0]) if current else None,
            ), _sources(ep, current[1] if current else None), f"person:{person}")
