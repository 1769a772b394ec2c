"""OSHA ITA Form 300A summary (29 CFR 1904.32, 1904.41) for one calendar year: one row per
establishment whose Part 1904 records were required that year, in ITA's 28-column CSV order.

Which cases count is the rules' own decision, not a second one: the report runs the `osha_log_duty`
derivation (a recordable or sharps case whose incident's local date, in the establishment's zone,
falls in the year; the establishment's records required by `osha_scope`) and counts the case ids it
yields. Applicability and the size code come from `determine_scope` with the osha ruleset's
parameters in force. A death is read from `died_at`; everything the record contract has no field
for (outcome column other than death, injury or illness type, day counts, EIN, address, hours,
average employees, establishment type) comes from the caller's filing details or is left blank,
and every such blank is named in the report's notes. Nothing is guessed.

An establishment that owes the year's Forms 300/301 case data as well (1904.41(a)(2): 100 or more
employees in an Appendix B industry, `Scope.ita_case_data_required`, the ruleset's own answer) gets a
note saying so on its row: Vigil does not build that CSV (the contract has no job title, narratives,
dates of birth or hire), and the 300A file alone had let the officer think the year's filing done.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy.orm import Session

from engine.cells import starts_formula
from engine.errors import ErrorDetail, InputError, PermissionDeniedError
from engine.reports import tableschema
from engine.reports.context import derive_context, instants, read, ruleset_params
from engine.reports.schemas import (
    ITA_300A_COLUMNS,
    CaseFiling,
    Cell,
    EstablishmentFiling,
    Ita300ADetails,
    Ita300AReport,
    ReportNote,
)
from engine.rules import calendar as cal
from engine.rules.derive import RecordView
from engine.rules.derive.osha import RETENTION_YEARS, Scope, determine_scope, osha_log_duty
from engine.rules.derive.osha.scope import state_plan_question
from engine.rules.state_zones import DEFAULT_ZONE, establishment_tz

#: 1904.7(b)(3)(vii): a case's days away and days of transfer or restriction together may be capped
#: at 180 ("more than 180 calendar days away from work and/or days of job transfer or restriction").
MAX_CASE_DAYS = 180
#: Filing values the contract has no field for: (column, why it matters).
_FILING_COLUMNS = ("ein", "street_address", "city", "zip", "industry_description", "establishment_type",
                   "annual_average_employees", "total_hours_worked")
_OUTCOME_COLUMNS = {"death": "total_deaths", "dafw": "total_dafw_cases", "djtr": "total_djtr_cases",
                    "other": "total_other_cases"}
_KIND_COLUMNS = {"injury": "total_injuries", "skin_disorder": "total_skin_disorders",
                 "respiratory": "total_respiratory_conditions", "poisoning": "total_poisonings",
                 "hearing_loss": "total_hearing_loss", "other_illness": "total_other_illnesses"}
#: Characters a vendor reports ITA refusing in text fields (unverified; a note, not a problem).
_ITA_SPECIAL = set("()~@#$%^&*?/\\!")
_TEXT_COLUMNS = ("establishment_name", "company_name", "street_address", "city", "industry_description")


def size_code(employees: int) -> int:
    """ITA's establishment size code: 1 (<20), 21 (20-99), 22 (100-249), 3 (250+)."""
    if employees < 20:
        return 1
    if employees < 100:
        return 21
    if employees < 250:
        return 22
    return 3


def build_ita_300a(session: Session, *, org_id: str, year: int, establishment_id: str | None = None,
                   known_at: dt.datetime | None = None, details: Ita300ADetails | None = None,
                   visible: Collection[str] | None = None) -> Ita300AReport:
    """The ITA 300A summary of `year` for every establishment (or one), from the records known at
    `known_at` (default now). Raises InputError for an unknown establishment, a year the rules do
    not look at (not begun, or past the five-year retention) and a year with nothing to file.

    `visible` (an auditor's granted establishments) narrows what the caller may see: another
    establishment is refused as outside the grant (as a findings filter naming it is), and the
    report covers only those."""
    as_of, known = instants(known_at)
    details = details or Ita300ADetails()
    notes: list[ReportNote] = []
    ests = read(session, org_id=org_id, record_type="establishment", known_at=known)
    if not ests:
        raise InputError(f"no establishment records in organization {org_id!r}: nothing to report",
                         code="report.no_data")
    by_id = {e.id: e for e in ests}
    if visible is not None:
        if establishment_id is not None and establishment_id not in visible:
            raise PermissionDeniedError(f"establishment {establishment_id!r} is outside your grant", [ErrorDetail(
                reason=f"your grant names {', '.join(sorted(visible)) or 'none'}", field="establishment")],
                code="permission_denied.outside_grant")
        by_id = {k: v for k, v in by_id.items() if k in visible}
    if establishment_id is not None and establishment_id not in by_id:
        raise InputError(f"no establishment {establishment_id!r} in organization {org_id!r}",
                         [ErrorDetail(reason=f"known: {', '.join(sorted(by_id)[:20])}", field="establishment")],
                         code="report.unknown_establishment")
    selected = [by_id[establishment_id]] if establishment_id else sorted(by_id.values(), key=lambda e: e.id)
    for unknown in sorted(set(details.establishments) - set(by_id)):
        notes.append(ReportNote(reason="filing details name an establishment with no record; ignored",
                                establishment_id=unknown))
    params = ruleset_params("osha", as_of, notes)
    orgs = read(session, org_id=org_id, record_type="organization", known_at=known)
    ctx = derive_context({"establishment": ests, "organization": orgs}, as_of, params)
    in_progress = [est.id for est in selected if _check_year(est, year, as_of)]
    cases = {c.id: c for c in read(session, org_id=org_id, record_type="osha_case", known_at=known)}
    logged: dict[str, list[str]] = {}
    for fact in osha_log_duty(ctx, {"osha_case": list(cases.values()), "establishment": ests}):
        if fact.data.get("part") == "entry" and fact.data.get("log_year") == year:
            logged.setdefault(str(fact.data["establishment_id"]), []).append(str(fact.data["case_id"]))
    summaries = read(session, org_id=org_id, record_type="osha_summary", known_at=known,
                     keep=lambda d: str(d.get("year")) == str(year))
    company = details.company_name or (str(orgs[0].data["name"]) if orgs and orgs[0].data.get("name") else None)
    rows: list[dict[str, Cell]] = []
    counted: dict[str, list[str]] = {}
    for est in selected:
        scope = determine_scope(est, ests, year, params)
        if scope.records_required is not True:
            why = "not required" if scope.records_required is False else "cannot be determined"
            unsettled = state_plan_question(est, scope, params) if scope.records_required is False else None
            if unsettled:  # as OSHA-REC-SCOPE-001 says it: not settled until the practice confirms it
                why = f"not required under the federal exemption, which is not settled: {unsettled}"
            notes.append(ReportNote(reason=f"Part 1904 records for {year} {why} ({scope.basis}): no 300A row",
                                    establishment_id=est.id))
            continue
        if scope.ita_required is not True:
            state = "is not required" if scope.ita_required is False else "cannot be determined (no headcount)"
            notes.append(ReportNote(reason=f"electronic submission (1904.41) of the {year} 300A {state}; "
                                           "the row is for the establishment's own records", establishment_id=est.id))
        if scope.ita_case_data_required is True:
            notes.append(_case_data_note(scope, year))
        ids = sorted(logged.get(est.id, []))
        counted[est.id] = ids
        filing = details.establishments.get(est.id, EstablishmentFiling())
        resubmission = any(s.data.get("establishment_id") == est.id and _happened(s.data.get("ita_submitted_at"), as_of)
                           for s in summaries)
        row = _row(est, scope, year, filing, company, resubmission, notes)
        row.update(_counts(est.id, [cases[i] for i in ids], details.cases, as_of, notes))
        _check_workload(est.id, row, len(ids), notes)
        rows.append(row)
    for unknown in sorted(set(details.cases) - {i for ids in counted.values() for i in ids}):
        notes.append(ReportNote(reason=f"filing details classify a case that is not on the {year} log of the "
                                       "establishments reported; ignored", record_id=unknown))
    if not rows:
        raise InputError(f"nothing to file for {year}: no establishment in scope had Part 1904 records required",
                         [ErrorDetail(reason=str(n)) for n in notes], code="report.no_data")
    report = Ita300AReport(year=year, as_of=as_of, known_at=known, rows=rows,
                           establishment_ids=[str(r["establishment_id"]) for r in rows], cases_counted=counted,
                           notes=notes)
    for row in rows:
        row.pop("establishment_id")
    report.problems = check(report)
    # a summary of a year still running counts cases to date: fit to look at, not to file (as QPP)
    report.problems += [ReportNote(reason=f"{year} is not over at {as_of.date().isoformat()}: the 300A covers the "
                                          f"whole year; these are counts to date, to file from 1 January {year + 1} "
                                          f"(due 2 March)", establishment_id=est_id)
                        for est_id in in_progress if est_id in report.establishment_ids]
    return report


def _case_data_note(scope: Scope, year: int) -> ReportNote:
    """The case data owed beside the 300A, which this report does not build: said per establishment,
    with the reason it is owed as `osha_scope` found it (the ruleset's answer, not a second NAICS list)."""
    return ReportNote(reason=f"the {year} case data from Forms 300 and 301 is owed too, by 2 March {year + 1} "
                             f"(1904.41(a)(2): NAICS {scope.naics} is in Appendix B to Subpart E and the "
                             f"establishment had {scope.ita_employees} employees, 100 or more): Vigil does not build "
                             "the case-data CSV, as the record contract has no job title, incident narratives, or "
                             "dates of birth or hire; enter or upload it on OSHA's ITA directly",
                      establishment_id=scope.establishment_id)


def _check_workload(est_id: str, row: Mapping[str, Any], cases: int, notes: list[ReportNote]) -> None:
    """An establishment whose log has cases cannot have had no employees or no hours worked: such a
    filing detail is a slip (a blank read as 0), and OSHA's rates would divide by it."""
    if not cases:
        return
    for column, what in (("annual_average_employees", "annual average number of employees"),
                         ("total_hours_worked", "total hours worked")):
        if row.get(column) == 0:
            notes.append(ReportNote(reason=f"{what} is 0 while the log has {cases} case(s): check the filing "
                                           "details", establishment_id=est_id, column=column))


def _check_year(est: RecordView, year: int, as_of: dt.datetime) -> bool:
    """Refuse a year not begun or past retention at `est`; True when it is still in progress there."""
    tz = establishment_tz(est.data) or DEFAULT_ZONE
    this_year = cal.local_date(as_of, tz).year
    if year > this_year:
        raise InputError(f"year {year} has not begun at {est.id} ({tz}) as of {as_of.date().isoformat()}",
                         [ErrorDetail(reason="give a completed year", field="year")], code="report.year")
    if this_year - year > RETENTION_YEARS:
        raise InputError(f"year {year} is past the {RETENTION_YEARS}-year retention (1904.33): the rules no longer "
                         "read its cases", [ErrorDetail(reason=f"give {this_year - RETENTION_YEARS} or later",
                                                        field="year")], code="report.year")
    return year == this_year


def _happened(value: Any, as_of: dt.datetime) -> bool:
    if value in (None, ""):
        return False
    at = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return at.tzinfo is not None and at <= as_of


def _row(est: RecordView, scope: Scope, year: int, filing: EstablishmentFiling, company: str | None,
         resubmission: bool, notes: list[ReportNote]) -> dict[str, Cell]:
    d = est.data
    given = filing.model_dump()
    row: dict[str, Cell] = {c: None for c in ITA_300A_COLUMNS}
    name = str(d["name"]).strip() or None if d.get("name") is not None else None  # "Main Clinic " is Main Clinic
    row.update(establishment_id=est.id, establishment_name=name, company_name=filing.company_name or company,
               state=d.get("state"), naics_code=d.get("naics"), year_filing_for=year)
    for column in _FILING_COLUMNS:
        row[column] = given[column]
        if given[column] is None:
            notes.append(ReportNote(reason=f"no field in the record contract; left blank (give "
                                           f"establishments.{est.id}.{column} in the filing details)",
                                    establishment_id=est.id, column=column))
    for column, field in (("establishment_name", "name"), ("state", "state"), ("naics_code", "naics")):
        if row[column] is None:
            notes.append(ReportNote(reason=f"the establishment record has no {field}; left blank",
                                    establishment_id=est.id, column=column))
    if row["company_name"] is None:
        notes.append(ReportNote(reason="no organization name and none in the filing details; left blank",
                                establishment_id=est.id, column="company_name"))
    if scope.ita_employees is None:
        notes.append(ReportNote(reason=f"no {year} headcount for the {scope.ita_basis} size basis; left blank",
                                establishment_id=est.id, column="size"))
    else:
        row["size"] = size_code(scope.ita_employees)
    if resubmission:
        row["change_reason"] = filing.change_reason
        if filing.change_reason is None:
            notes.append(ReportNote(reason=f"the {year} 300A was already submitted (osha_summary.ita_submitted_at): "
                                           "ITA needs a change reason; give it in the filing details",
                                    establishment_id=est.id, column="change_reason"))
    for column in _TEXT_COLUMNS:
        bad = sorted(set(str(row[column] or "")) & _ITA_SPECIAL)
        if bad:
            notes.append(ReportNote(reason=f"contains {' '.join(bad)}, which ITA is reported to refuse",
                                    establishment_id=est.id, column=column))
    return row


def _counts(est_id: str, cases: list[RecordView], filings: Mapping[str, CaseFiling], as_of: dt.datetime,
            notes: list[ReportNote]) -> dict[str, Cell]:
    """The 300A totals of the establishment's logged cases; a total that any case leaves unknown
    is blank (a partial count would read as the real one)."""
    out: dict[str, Cell] = {"no_injuries_illnesses": 1 if cases else 2}
    outcomes: dict[str, int] = dict.fromkeys(_OUTCOME_COLUMNS, 0)
    kinds: dict[str, int] = dict.fromkeys(_KIND_COLUMNS, 0)
    days = {"dafw": 0, "djtr": 0}
    unknown_outcome: list[str] = []
    unknown_kind: list[str] = []
    unknown_days: dict[str, list[str]] = {"dafw": [], "djtr": []}
    for case in cases:
        filing = filings.get(case.id, CaseFiling())
        died = _happened(case.data.get("died_at"), as_of)
        if died and filing.outcome not in (None, "death"):
            notes.append(ReportNote(reason=f"the record has died_at; the filing detail {filing.outcome!r} is "
                                           "overridden: counted as a death",
                                    establishment_id=est_id, record_id=case.id))
        outcome = "death" if died else filing.outcome
        if outcome is None:
            unknown_outcome.append(case.id)
        else:
            outcomes[outcome] += 1
        kind = filing.kind or ("injury" if case.data.get("sharps") is True else None)
        if kind is None:
            unknown_kind.append(case.id)
        else:
            kinds[kind] += 1
        left = MAX_CASE_DAYS  # days away count first: "entering 180 in the total days away column" will do
        for part in ("dafw", "djtr"):
            value = getattr(filing, f"{part}_days")
            if value is not None:
                counted = min(value, left)
                if counted < value:
                    notes.append(ReportNote(
                        reason=f"{part}_days {value} counted as {counted}: a case's days away and restricted are "
                               f"capped at {MAX_CASE_DAYS} in all (1904.7(b)(3)(vii))",
                        establishment_id=est_id, record_id=case.id))
                days[part] += counted
                left -= counted
            elif outcome == part or outcome is None:
                unknown_days[part].append(case.id)
    out["total_deaths"] = outcomes["death"]
    if unknown_outcome:
        notes.append(ReportNote(reason="the record contract has no outcome field beyond died_at: DAFW, DJTR and "
                                       "other-case totals left blank until these cases are classified "
                                       f"(cases.<id>.outcome): {', '.join(unknown_outcome)}",
                                establishment_id=est_id, column="total_dafw_cases,total_djtr_cases,total_other_cases"))
    else:
        out.update({_OUTCOME_COLUMNS[k]: n for k, n in outcomes.items() if k != "death"})
    if unknown_kind:
        notes.append(ReportNote(reason="the record contract has no injury/illness type: the six type totals left "
                                       f"blank until these cases are classified (cases.<id>.kind): "
                                       f"{', '.join(unknown_kind)}", establishment_id=est_id, column="total_injuries"))
    else:
        out.update({_KIND_COLUMNS[k]: n for k, n in kinds.items()})
    for part in ("dafw", "djtr"):
        if unknown_days[part]:
            notes.append(ReportNote(reason=f"the record contract has no day counts: total_{part}_days left blank "
                                           f"(cases.<id>.{part}_days): {', '.join(unknown_days[part])}",
                                    establishment_id=est_id, column=f"total_{part}_days"))
        else:
            out[f"total_{part}_days"] = days[part]
    return out


def render_csv(report: Ita300AReport) -> str:
    """The report as ITA's 300A CSV: the 28 columns in order, one row per establishment, blanks empty."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ITA_300A_COLUMNS)
    for row in report.rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in ITA_300A_COLUMNS])
    return buf.getvalue()


def _same_names(report: Ita300AReport) -> list[ReportNote]:
    """Rows whose establishment name another row has, ignoring case and spaces: ITA takes a name
    unique per account (interop-formats.md s.3), and two "Main Clinic" rows had been ready to file."""
    first: dict[str, int] = {}
    problems = []
    for number, (est_id, row) in enumerate(zip(report.establishment_ids, report.rows, strict=True), start=2):
        name = row.get("establishment_name")
        if not isinstance(name, str):
            continue
        key = " ".join(name.split()).casefold()
        if key in first:
            problems.append(ReportNote(reason=f"row {number}: establishment name {name!r} is also row {first[key]}'s; "
                                              "ITA needs a name unique per account: rename one in its establishment "
                                              "record (e.g. by its city)", establishment_id=est_id,
                                       column="establishment_name"))
        else:
            first[key] = number
    return problems


def check(report: Ita300AReport) -> list[ReportNote]:
    """The checks the CSV must pass before filing: the Table Schema (types, required, patterns,
    codes) and the cross-field rule deaths + DAFW + DJTR + other == injuries + the five illnesses."""
    problems = [ReportNote(reason=reason) for reason in tableschema.check_csv(render_csv(report), tableschema.load())]
    problems += _same_names(report)
    for number, (est_id, row) in enumerate(zip(report.establishment_ids, report.rows, strict=True), start=2):
        outcomes = [row.get(c) for c in _OUTCOME_COLUMNS.values()]
        kinds = [row.get(c) for c in _KIND_COLUMNS.values()]
        if all(isinstance(v, int) for v in outcomes + kinds):
            left, right = sum(int(v or 0) for v in outcomes), sum(int(v or 0) for v in kinds)
            if left != right:
                problems.append(ReportNote(reason=f"row {number}: deaths + DAFW + DJTR + other = {left}, but injuries "
                                                  f"+ illnesses = {right}", establishment_id=est_id))
        blank = [c for c in (*_OUTCOME_COLUMNS.values(), *_KIND_COLUMNS.values(), "total_dafw_days",
                             "total_djtr_days") if row.get(c) is None]
        if row.get("no_injuries_illnesses") == 1 and blank:
            # ITA needs every total of a summary with cases; blank, the cross-field rule cannot hold
            problems.append(ReportNote(reason=f"row {number}: cases are counted but {', '.join(blank)} left blank "
                                              "until they are classified (see the notes)", establishment_id=est_id,
                                       column=",".join(blank)))
        if row.get("no_injuries_illnesses") == 2 and any(v for v in outcomes if isinstance(v, int)):
            problems.append(ReportNote(reason=f"row {number}: no_injuries_illnesses is 2 but cases are counted",
                                       establishment_id=est_id))
        # The file goes to OSHA as the records say (a prefix would change what is filed), so a text
        # cell a spreadsheet would run as a formula is a problem to fix in the records instead.
        for column, value in row.items():
            if isinstance(value, str) and starts_formula(value):
                problems.append(ReportNote(
                    reason=f"row {number}: {column} starts with {value[:1]!r}, which a spreadsheet opening this file "
                           "would run as a formula; correct it in the records before filing",
                    establishment_id=est_id, column=column))
    return problems

