"""OSHA applicability per establishment and year (`osha_scope`: Part 1904 records, ITA submission),
and the scope cache the per-case and establishment duties share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.osha._common import (
    RETENTION_YEARS,
    _day,
    _establishments,
    _flag,
    _Now,
    _prefix_match,
    _sources,
    _tz,
)

# ---- defaults (the ruleset's params override them; these keep the derivations usable alone) ----

#: 29 CFR 1904 Appendix A to Subpart B (2012 NAICS), the healthcare rows [S].
PARTIALLY_EXEMPT_NAICS = ("6211", "6212", "6213", "6214", "6215", "6244")
#: 29 CFR 1904 Appendix A to Subpart E (ITA 300A, 20-249 employees), healthcare rows [S].
ITA_APPENDIX_A = ("6219", "6221", "6222", "6223", "6231", "6232", "6233", "6239", "6242", "6243")
#: 29 CFR 1904 Appendix B to Subpart E (ITA 300/301 case data, 100+ employees), healthcare rows [S].
ITA_APPENDIX_B = ("6219", "6221", "6222", "6223", "6231", "6232", "6233", "6239", "6243")
#: 1904.1(a)(1): a company with ten or fewer employees at all times during the last calendar year.
SMALL_COMPANY_MAX = 10
#: State plans known to keep their own partial-exemption list (catalog: Washington).
DEFAULT_OWN_LIST_STATES = ("WA",)


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
    #: Ids of the establishments whose headcounts make up the company peak, when the answer rests on
    #: that peak (1904.1 size): the facts cite them as evidence. Empty otherwise.
    peak_from: tuple[str, ...] = ()


def _count(est: RecordView, field: str, year: int) -> int | None:
    table = est.data.get(field) or {}
    value = table.get(str(year)) if isinstance(table, Mapping) else None
    return None if value is None else int(value)


def _listed(params: Mapping[str, Any], name: str, est_id: str, year: int | None = None) -> bool:
    entries = {str(x) for x in (params.get(name) or [])}
    return est_id in entries or (year is not None and f"{est_id}:{year}" in entries)


def _peak_text(peak: int | None, counted: tuple[str, ...], prev: int) -> str:
    """The company's peak as the records support it: one site's peak is the company's; several
    sites' peaks add up to at most the company's (sites that peaked on different days may never have
    had more than ten employees at once, which only the practice knows: it waives the finding for
    the site, citing its payroll)."""
    if len(counted) <= 1:
        return f"the company peak in {prev} was {peak}"
    return (f"the {len(counted)} establishments' peaks in {prev} add up to {peak} (the company-wide peak is at most "
            f"that: if it never had more than {SMALL_COMPANY_MAX} employees at once, waive this for the site "
            "citing payroll records)")


def state_plan_question(est: RecordView, s: Scope, params: Mapping[str, Any]) -> str | None:
    """What the practice must confirm before a federal industry exemption frees `est` of Part 1904
    records: its state plan keeps its own list (`state_plans_with_own_exemption_list`) and the
    practice has not confirmed it follows the federal one (`state_plan_exemption_confirmed`); None
    when nothing is open. OSHA-REC-SCOPE-001 asks it of the current year; the 300A report says it of
    any year it is told the records were not required."""
    confirmed = {str(x) for x in (params.get("state_plan_exemption_confirmed") or [])}
    own_list = {str(x) for x in params.get("state_plans_with_own_exemption_list", DEFAULT_OWN_LIST_STATES)}
    if (s.state_plan and str(est.data.get("state")) in own_list and s.industry_exempt is True
            and s.size_exempt is not True and not s.listed_required and est.id not in confirmed):
        return (f"confirm that the {est.data.get('state')} state plan exempts NAICS {s.naics} as federal OSHA does "
                "(it keeps its own list)")
    return None


def determine_scope(est: RecordView, establishments: Sequence[RecordView], year: int,
                    params: Mapping[str, Any]) -> Scope:
    """Apply 1904.1 (size, whole company, previous year), 1904.2 (industry, by NAICS prefix), a
    written request or state-plan listing (param), and 1904.41 (ITA appendices and size) for `year`.

    The company's peak is the sum of every establishment's `max_concurrent_employees` for the
    previous year: an upper bound of the true company-wide peak (peaks at different sites need not
    coincide), so a company is treated as small only when the sum is ten or fewer. When the answer
    rests on that peak, `peak_from` names the establishments whose counts it adds up.
    """
    naics = est.data.get("naics")
    exempt_prefixes = params.get("partially_exempt_naics", PARTIALLY_EXEMPT_NAICS)
    industry_exempt = None if not naics else _prefix_match(naics, exempt_prefixes)
    prev = year - 1
    counts = [_count(e, "max_concurrent_employees", prev) for e in establishments]
    known = [c for c in counts if c is not None]
    counted = tuple(e.id for e, c in zip(establishments, counts, strict=True) if c is not None)
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
    peak_from: tuple[str, ...] = ()
    if listed:
        required: bool | None = True
        basis = "listed by the practice (written OSHA/BLS request or state-plan rule)"
    elif size_exempt is True:
        required = False
        basis = f"partially exempt: company peak {peak} in {prev} is {SMALL_COMPANY_MAX} or fewer (1904.1)"
        peak_from = counted
    elif industry_exempt is True:
        required, basis = False, f"partially exempt industry: NAICS {naics} (1904.2, Appendix A to Subpart B)"
    elif size_exempt is False and industry_exempt is False:
        required, basis = True, f"NAICS {naics} is not partially exempt and {_peak_text(peak, counted, prev)}"
        peak_from = counted
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
        basis=basis, missing=missing, peak_from=peak_from,
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
    A fact whose answer rests on the company-wide peak cites, besides its establishment, every
    establishment whose headcount that peak adds up (`Scope.peak_from`).
    """
    now = _Now(ctx.as_of)
    ests = _establishments(ctx, inputs)
    by_id = {e.id: e for e in ests}
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
                unsettled = state_plan_question(est, s, ctx.params) if age == 0 else None
                if unsettled:
                    questions.append(unsettled)
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
            yield DerivedFact(type="osha_scope", id=f"{est.id}:{year}", data=data,
                              sources=_sources(est, *(by_id[i] for i in s.peak_from)), bundle_key="org:*")
