"""MIPS/QPP submission JSON (quality category) for one performance year and TIN, from the counts the
cms rules judge: the report runs the `cms_measure_stats` derivation and maps its counts to the
QPP single-performance-rate value, so the submission and the data-completeness findings can never
disagree about a measure.

    eligiblePopulation           eligible_n          (eligible cases)
    eligiblePopulationExclusion  submit_excluded_n   (the reported cases of each outcome)
    eligiblePopulationException  submit_exception_n
    performanceMet               submit_met_n
    performanceNotMet            submit_not_met_n

Cases whose performance is not recorded (`met` null) are in none of the four, nor are eligible
cases not reported: CMS computes the reporting rate as the four over the eligible population, so
they count against data completeness there, as the rules count them (30 met cases of which 10 were
reported had gone as 30 met, a 100% reporting rate beside the report's own 33.3% note). A
multi-performance-rate measure (226, strata reporting / performance / combinedPopulations) is left
out: measure_case has no stratum field.
The body is checked by the archived CMS schema with our small patch list and by the semantic
layer of interop-formats.md section 2.

TINs are compared in the 9-digit form QPP requires (`taxpayerIdentificationNumber`, interop-formats.md
s.2): the request may write 847102935 or 84-7102935 (EIN) or 847-10-2935 (SSN), and so may each
`measure_case` record (the contract's `tin` is free text), so a practice's dashed TINs are found and
the submission carries the digits alone.

A performance year before 2017 is refused (MIPS began with PY2017; qpp-measures-data starts there), as
is one not begun: either would otherwise come out as a submission ready to send.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from sqlalchemy.orm import Session

from engine.errors import ErrorDetail, InputError
from engine.records.npi import check_digit as npi_check_digit
from engine.reports.context import derive_context, instants, read, ruleset_params
from engine.reports.schemas import QppReport, ReportNote
from engine.rules.derive import RecordView
from engine.rules.derive.cms._common import (
    TIN_FORMS,
    _status_by_py,
    normalize_measure,
    qpp_local_text,
    qpp_today,
    submission_close,
)
from engine.rules.derive.cms.quality import dc_meets, measure_stats

DATA = Path(__file__).resolve().parent / "data"
SUBMISSION_METHODS = ("registry", "electronicHealthRecord")
CATALOG_PY = 2026
#: MIPS began with performance year 2017 (qpp-measures-data covers PY2017 onward, interop-formats.md s.2).
FIRST_PY = 2017


@cache
def catalog() -> dict[str, dict[str, Any]]:
    """The PY2026 quality measures Vigil knows (excerpt of CMSgov/qpp-measures-data), by measureId."""
    data = json.loads((DATA / "qpp-measures-2026.json").read_text(encoding="utf-8"))
    return {m["measureId"]: m for m in data["measures"]}


@cache
def submission_schema() -> dict[str, Any]:
    """CMS's archived 2017 submissions schema with the patch list we own (interop-formats.md s.2):
    category `pi` added, `programName` moved from the submission to the measurement set, the newer
    entity types added, and the `denomiantor` typo's property named correctly."""
    schema: dict[str, Any] = json.loads((DATA / "qpp-submissions-schema-2017-ARCHIVED.json").read_text("utf-8"))
    schema = copy.deepcopy(schema)
    schema["required"] = [r for r in schema["required"] if r != "programName"]
    schema["properties"].pop("programName", None)
    schema["properties"]["entityType"]["enum"] += ["apm", "virtualGroup", "subgroup"]
    mset = schema["definitions"]["measurementSet"]
    mset["properties"]["category"]["enum"] += ["pi"]
    mset["properties"]["programName"] = {"type": "string"}
    proportion = schema["definitions"]["proportion"]["properties"]["value"]["properties"]
    proportion["denominator"] = proportion.pop("denomiantor")
    return schema


def build_qpp_submission(session: Session, *, org_id: str, year: int, tin: str, npi: str | None = None,
                         known_at: dt.datetime | None = None, submission_method: str = "registry",
                         program_name: str = "mips") -> QppReport:
    """The quality measurement set of `tin` (group; one clinician with `npi`) for performance year
    `year`, from the measure_case records known at `known_at` (default now)."""
    as_of, known = instants(known_at)
    tin = _check_inputs(tin, npi, submission_method)
    notes: list[ReportNote] = []
    params = ruleset_params("cms", as_of, notes)
    orgs = read(session, org_id=org_id, record_type="organization", known_at=known)
    ctx = derive_context({"organization": orgs}, as_of, params)
    today = qpp_today(ctx)
    _check_year(year, today, as_of)
    cases = read(session, org_id=org_id, record_type="measure_case", known_at=known,
                 keep=lambda d: str(d.get("py")) == str(year) and normalize_tin(d.get("tin")) == tin
                 and (npi is None or str(d.get("clinician_npi")) == npi))
    written = sorted({str(v.data["tin"]) for v in cases} - {tin})
    if written:
        notes.append(ReportNote(reason=f"the measure_case records write TIN {tin} as {', '.join(written)}: the "
                                       f"submission carries the 9 digits QPP requires ({tin})"))
        # one reporting entity whatever the form, as QPP sees it (the derivation groups by the text)
        cases = [RecordView(v.type, v.id, v.version, dict(v.data, tin=tin)) for v in cases]
    who = f"TIN {tin}" + (f" / NPI {npi}" if npi else "")
    if not cases:
        raise InputError(f"no measure_case records for performance year {year} and {who}: nothing to submit",
                         [ErrorDetail(reason="import the quality-measure cases first", field="year")],
                         code="report.no_data")
    ctx.params = dict(params, mips_reporting_level="individual" if npi else "group",
                      mips_lookback_years=today.year - year)
    in_progress = year == today.year
    if in_progress:
        notes.append(ReportNote(reason=f"performance year {year} is not over: counts to {today.isoformat()}"))
    notes += _standing_notes(orgs[0] if orgs else None, year, as_of)
    spelled: dict[str, set[str]] = {}
    for v in cases:
        raw = str(v.data.get("measure_id") or "")
        spelled.setdefault(normalize_measure(raw), set()).add(raw)
    for measure, spellings in sorted(spelled.items()):
        other = sorted(w for w in spellings if w != measure)
        if other:
            notes.append(ReportNote(reason=f"measure_case records write Quality ID {measure} as "
                                           f"{', '.join(repr(w) for w in other)}: read as {measure}",
                                    record_id=measure))
    if year != CATALOG_PY:
        notes.append(ReportNote(reason=f"measures checked against the PY{CATALOG_PY} measure catalog "
                                       f"(no PY{year} catalog is shipped)"))
    threshold = params.get("mips_dc_threshold_pct", 75)
    known_measures = catalog()
    measurements: list[dict[str, Any]] = []
    stats_out: list[dict[str, Any]] = []
    minimum = int(params.get("mips_case_minimum", 20))
    for fact in measure_stats(ctx, {"organization": orgs, "measure_case": cases}):
        s = fact.data
        if s["py"] != year or s["tin"] != tin or s["npi"] != npi:
            continue
        measure = str(s["measure"])
        stats_out.append(dict(s))
        meta = known_measures.get(measure)
        if meta is None:
            notes.append(ReportNote(reason=f"measure {measure!r} {_not_quality(measure)}: left out", record_id=measure))
            continue
        if meta["metricType"] != "singlePerformanceRate":
            notes.append(ReportNote(reason=f"measure {measure} is {meta['metricType']} (strata "
                                           f"{', '.join(meta['strata'])}); measure_case has no stratum field: left out",
                                    record_id=measure))
            continue
        if s["eligible_n"] == 0:
            notes.append(ReportNote(reason=f"measure {measure} has no eligible case: left out", record_id=measure))
            continue
        if s["unknown_n"]:
            notes.append(ReportNote(reason=f"measure {measure}: {s['unknown_n']} case(s) with performance not "
                                           "recorded (met null) are in neither met nor not met", record_id=measure))
        # what is sent, not every case: a met case not reported is in neither count CMS receives (perf_den,
        # met + not met over all cases, had let eligiblePopulation 1 with nothing met or not met go "ready")
        if s["submit_met_n"] + s["submit_not_met_n"] == 0:
            notes.append(ReportNote(reason=f"measure {measure}: no case sent is performance met or not met (of its "
                                           f"{s['eligible_n']} eligible, those reported are exclusions or exceptions, "
                                           "and the others are not reported or have met unrecorded), so its "
                                           "performance rate has no denominator and CMS cannot score it: check the "
                                           "cases before submitting it", record_id=measure))
        elif minimum and s["case_n"] < minimum:
            notes.append(ReportNote(reason=f"measure {measure}: {s['case_n']} denominator case(s), fewer than the "
                                           f"{minimum}-case minimum for benchmark scoring (CMS-MIPS-Q-CASE-005): it "
                                           "may be submitted, but is not scored against a benchmark",
                                    record_id=measure))
        if not dc_meets(s["reported_n"], s["eligible_n"], threshold):
            notes.append(ReportNote(reason=f"measure {measure}: data completeness {s['dc_pct']}% is below "
                                           f"{threshold}%", record_id=measure))
        measurements.append({"measureId": measure, "value": {
            "isEndToEndReported": False, "performanceMet": s["submit_met_n"],
            "performanceNotMet": s["submit_not_met_n"], "eligiblePopulationExclusion": s["submit_excluded_n"],
            "eligiblePopulationException": s["submit_exception_n"], "eligiblePopulation": s["eligible_n"]}})
    submission: dict[str, Any] = {"entityType": "individual" if npi else "group", "taxpayerIdentificationNumber": tin}
    if npi:
        submission["nationalProviderIdentifier"] = npi
    submission["performanceYear"] = year
    submission["measurementSets"] = [{
        "category": "quality", "submissionMethod": submission_method, "programName": program_name,
        "performanceStart": f"{year}-01-01", "performanceEnd": f"{year}-12-31", "measurements": measurements}]
    notes.append(ReportNote(reason="quality category only: Promoting Interoperability and Improvement Activities "
                                   "measurement sets are not built from records yet"))
    report = QppReport(performance_year=year, tin=tin, npi=npi, as_of=as_of, known_at=known, submission=submission,
                       measures=stats_out, notes=notes)
    report.problems = [ReportNote(reason=r) for r in check_submission(submission)]
    if not measurements:
        report.problems.append(ReportNote(reason="no measure could be submitted (see the notes)"))
    if in_progress:  # the counts would change: QPP opens the year's window on 2 January after it
        report.problems.append(ReportNote(reason=f"performance year {year} is still in progress: the submission "
                                                 f"window opens 2 January {year + 1}; build it again then"))
    return report


def _standing_notes(org: RecordView | None, year: int, as_of: dt.datetime) -> list[ReportNote]:
    """What the practice should know before sending a submission that is otherwise ready: its
    organization record says it is not a MIPS participant that year, or the year's window has
    closed (a PY2024 submission had read as ready in December 2026, with nothing said of either)."""
    out = []
    if _status_by_py(org).get(year) is False:
        out.append(ReportNote(reason=f"the organization record says the practice is not a MIPS participant in "
                                     f"performance year {year} (mips_participant_by_py): no submission is required"))
    close = submission_close(year)
    if as_of > close:
        out.append(ReportNote(reason=f"the performance year {year} submission window closed {qpp_local_text(close)}: "
                                     "QPP no longer takes this submission; keep it as a record"))
    return out


def _not_quality(measure: str) -> str:
    """Why a measure id is not a quality measure QPP takes here: the other categories' ids are
    recognisable (IA_..., PI_...), and their measurement sets are not built from records."""
    upper = measure.upper()
    if upper.startswith("IA_"):
        return "is an Improvement Activity, not a quality measure (this report builds the quality category only)"
    if upper.startswith("PI_"):
        return ("is a Promoting Interoperability measure, not a quality measure (this report builds the quality "
                "category only)")
    return "is not in the quality measure catalog"


def normalize_tin(value: object) -> str | None:
    """The 9-digit form QPP requires of a TIN written any usual way (84-7102935 -> 847102935), None
    when `value` is not a TIN."""
    if value is None:
        return None
    text = str(value).strip()
    return text.replace("-", "") if TIN_FORMS.fullmatch(text) else None


def _check_year(year: int, today: dt.date, as_of: dt.datetime) -> None:
    """InputError (field `year`) for a performance year MIPS never had or that has not begun: either
    would otherwise be built into a submission that reads as ready to send. Checked before the cases
    are read, so the answer is the year's fault and not "no measure cases"."""
    if year < FIRST_PY:
        raise InputError(f"performance year {year} is before MIPS, which began with PY{FIRST_PY}",
                         [ErrorDetail(reason=f"give {FIRST_PY} or later: MIPS began with performance year "
                                             f"{FIRST_PY}", field="year")], code="report.year")
    if year > today.year:
        raise InputError(f"performance year {year} has not begun as of {as_of.date().isoformat()}",
                         [ErrorDetail(reason="give a performance year that has begun", field="year")],
                         code="report.year")


def _check_inputs(tin: str, npi: str | None, method: str) -> str:
    """The request's TIN in its 9-digit form, or InputError naming every bad value."""
    details = []
    digits = normalize_tin(tin)
    if digits is None:
        details.append(ErrorDetail(reason="a TIN is 9 digits, with or without the dash (847102935 or 84-7102935)",
                                   field="tin"))
    if npi is not None and not re.fullmatch(r"[0-9]{10}", npi):
        details.append(ErrorDetail(reason="an NPI is 10 digits", field="npi"))
    elif npi is not None and npi_check_digit(npi[:9]) != int(npi[9]):
        # mistyped by a digit, it went into a submission the QPP refuses, the report saying only "no data"
        details.append(ErrorDetail(reason=f"{npi} is not an NPI: its last digit would be {npi_check_digit(npi[:9])} "
                                          "(the NPI check digit: Luhn over 80840 and the first nine digits); "
                                          "check it for a typing error", field="npi"))
    if method not in SUBMISSION_METHODS:
        details.append(ErrorDetail(reason=f"one of {', '.join(SUBMISSION_METHODS)}", field="submission_method"))
    if details or digits is None:
        raise InputError("invalid report request: " + "; ".join(d.reason for d in details), details,
                         code="report.input")
    return digits


def check_submission(submission: dict[str, Any]) -> list[str]:
    """Every problem of a submission body: the patched CMS schema, then the semantic layer against
    the measure catalog (measure exists and is quality, method and program allowed, value shape
    matches metricType, strata names, met + not met + exclusions + exceptions <= eligible)."""
    validator = jsonschema.Draft7Validator(submission_schema())
    out = [f"schema: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
           for e in sorted(validator.iter_errors(submission), key=lambda e: list(map(str, e.absolute_path)))]
    known = catalog()
    for mset in submission.get("measurementSets", []):
        if mset.get("category") != "quality":
            continue
        for m in mset.get("measurements", []):
            mid, value = m.get("measureId"), m.get("value")
            meta = known.get(str(mid))
            if meta is None:
                out.append(f"measure {mid}: not in the measure catalog")
                continue
            if mset.get("submissionMethod") not in meta["submissionMethods"]:
                out.append(f"measure {mid}: submission method {mset.get('submissionMethod')} not allowed")
            if mset.get("programName") not in meta["allowedPrograms"]:
                out.append(f"measure {mid}: program {mset.get('programName')} not allowed")
            if not isinstance(value, dict):
                out.append(f"measure {mid}: value is not a performance-rate object")
                continue
            if meta["metricType"] == "multiPerformanceRate":
                names = [s.get("stratum") for s in value.get("strata", [])]
                if names != meta["strata"]:
                    out.append(f"measure {mid}: strata {names} are not {meta['strata']}")
                rates = value.get("strata", [])
            elif "strata" in value:
                out.append(f"measure {mid}: {meta['metricType']} but the value has strata")
                rates = []
            else:
                rates = [value]
            for r in rates:
                parts = [r.get(k, 0) for k in ("performanceMet", "performanceNotMet", "eligiblePopulationExclusion",
                                                "eligiblePopulationException")]
                if any(p < 0 for p in parts) or sum(parts) > r.get("eligiblePopulation", 0):
                    out.append(f"measure {mid}: met + not met + exclusions + exceptions {sum(parts)} exceed the "
                               f"eligible population {r.get('eligiblePopulation')}")
    return out


def render_json(report: QppReport) -> str:
    """The submission body as the QPP Submissions API takes it."""
    return json.dumps(report.submission, indent=2) + "\n"


__all__ = ["build_qpp_submission", "catalog", "check_submission", "normalize_tin", "render_json",
           "submission_schema"]
