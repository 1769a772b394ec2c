"""The regulator reports on SQLite and PostgreSQL: OSHA ITA 300A CSV and the MIPS/QPP submission.

The 300A is checked against the Table Schema in shared/formats/osha (the packaged copy must equal it)
and the cross-field rule; the QPP body against CMS's archived schema with our patch list and the
semantic layer of interop-formats.md section 2.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
from typing import Any

import jsonschema
import pytest
from sqlalchemy import Engine

from engine import clock
from engine.db import unit_of_work
from engine.errors import InputError, PermissionDeniedError
from engine.records import service as records_service
from engine.reports import ita300a, qpp, tableschema
from engine.reports.schemas import ITA_300A_COLUMNS, Ita300ADetails
from tests import factories as f
from tests.conftest import SHARED

ORG = "clinic-r"
NOW = dt.datetime(2026, 2, 10, 15, tzinfo=dt.UTC)
OSHA = SHARED / "formats" / "osha"
QPP = SHARED / "formats" / "qpp"
TIN = "000456789"


def _est(id: str, naics: str = "622110", peak: int = 45, **kw: Any) -> dict[str, Any]:
    return f.establishment(id, name=f"Clinic {id}", naics=naics, max_concurrent_employees={"2024": peak, "2025": peak},
                           **kw)


def _case(id: str, at: str, est: str = "E1", **kw: Any) -> dict[str, Any]:
    return {"type": "osha_case", "id": id, "establishment_id": est, "incident_at": at, "recordable": True, **kw}


def _mcase(i: int, measure: str, **kw: Any) -> dict[str, Any]:
    base = {"type": "measure_case", "id": f"MC{measure}-{i}", "py": 2025, "measure_id": measure, "tin": TIN,
            "clinician_npi": "9876543213", "patient_id": f"P{i}", "eligible": True, "excluded": False,
            "exception": False, "met": True, "reported": True}
    return base | kw


RECORDS: list[dict[str, Any]] = [
    {"type": "organization", "id": "ORG", "name": "Example Health Partners LLC"},
    _est("E1"),
    _est("E2", peak=150, tz="America/New_York", state="NY"),
    _est("E3", naics="621111"),  # offices of physicians: partially exempt, no 300A
    _case("C1", "2025-03-10T10:15:00-06:00", sharps=True),
    # 23:30 on 31 December in Chicago (E1's zone): on the 2025 log, although 2026 in UTC
    _case("C2", "2026-01-01T05:30:00Z"),
    # 00:30 on 1 January 2025 in New York: on the 2025 log; the evening before in UTC is still 2025
    _case("C3", "2025-01-01T05:30:00Z", est="E2", died_at="2025-01-02T10:00:00Z"),
    _case("C4", "2025-12-31T23:59:00-08:00", est="E2"),  # 1 January 2026 in New York: not on the 2025 log
    _case("C5", "2025-06-02T09:05:00-05:00", recordable=False),  # not recordable, not sharps
    {"type": "osha_summary", "id": "S2", "establishment_id": "E2", "year": 2025,
     "ita_submitted_at": "2026-02-01T12:00:00Z"},
    *[_mcase(i, "236", met=i % 2 == 0, excluded=i == 0) for i in range(10)],
    *[_mcase(i, "134", exception=i < 2, met=None if i == 7 else True, reported=i != 7) for i in range(8)],
    _mcase(1, "226"),
    _mcase(1, "236", tin="111111111") | {"id": "MC-other-tin"},
]

DETAILS = {
    "company_name": "Example Health Partners LLC",
    "establishments": {
        e: {"ein": "123456789", "street_address": "100 Main St", "city": "Springfield", "zip": "62701",
            "industry_description": "General medical and surgical hospitals", "establishment_type": 1,
            "annual_average_employees": 40, "total_hours_worked": 81900} for e in ("E1", "E2")},
    "cases": {"C1": {"outcome": "other"},
              "C2": {"outcome": "dafw", "kind": "respiratory", "dafw_days": 200, "djtr_days": 10},
              "C3": {"kind": "injury"}},
}


@pytest.fixture
def db(engine: Engine) -> Engine:
    with clock.frozen(NOW), unit_of_work(engine) as s:
        records_service.import_records(s, org_id=ORG, records=RECORDS, actor="test", source="test")
    return engine


def _ita(engine: Engine, **kw: Any) -> Any:
    with clock.frozen(NOW), unit_of_work(engine) as s:
        return ita300a.build_ita_300a(s, org_id=ORG, **kw)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_packaged_schemas_are_the_shared_ones() -> None:
    assert json.loads(tableschema.ITA_300A_SCHEMA.read_text()) == json.loads((OSHA / "ita-300A.tableschema.json")
                                                                            .read_text())
    assert json.loads((qpp.DATA / "qpp-submissions-schema-2017-ARCHIVED.json").read_text()) == json.loads(
        (QPP / "qpp-submissions-schema-2017-ARCHIVED.json").read_text())
    assert list(ITA_300A_COLUMNS) == next(csv.reader(io.StringIO((OSHA / "ita-300A-summary-example.csv").read_text())))


def test_the_schema_check_accepts_the_example_and_refuses_a_wrong_size() -> None:
    schema = json.loads((OSHA / "ita-300A.tableschema.json").read_text())
    text = (OSHA / "ita-300A-summary-example.csv").read_text()
    assert tableschema.check_csv(text, schema) == []
    rows = list(csv.reader(io.StringIO(text)))
    rows[1][9] = "2"  # the old size code
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    assert tableschema.check_csv(buf.getvalue(), schema) == ["row 2, field size: 2 is not one of [1, 21, 22, 3]"]


def test_ita_300a_with_filing_details_is_valid_and_counts_by_local_date(db: Engine) -> None:
    report = _ita(db, year=2025, details=Ita300ADetails.model_validate(DETAILS))
    assert report.establishment_ids == ["E1", "E2"]  # E3 is partially exempt
    assert report.cases_counted == {"E1": ["C1", "C2"], "E2": ["C3"]}
    text = ita300a.render_csv(report)
    schema = json.loads((OSHA / "ita-300A.tableschema.json").read_text()) if OSHA.exists() else tableschema.load()
    assert tableschema.check_csv(text, schema) == []
    assert report.problems == [] and report.ready
    e1, e2 = _rows(text)
    assert list(e1) == list(ITA_300A_COLUMNS)
    assert e1["establishment_name"] == "Clinic E1" and e1["naics_code"] == "622110" and e1["state"] == "IL"
    assert (e1["size"], e2["size"]) == ("21", "22")  # 45 -> 20-99, 150 -> 100-249
    assert e1["company_name"] == "Example Health Partners LLC" and e1["year_filing_for"] == "2025"
    assert [e1[c] for c in ("no_injuries_illnesses", "total_deaths", "total_dafw_cases", "total_djtr_cases",
                            "total_other_cases", "total_dafw_days", "total_djtr_days")] == ["1", "0", "1", "0", "1",
                                                                                          "180", "0"]
    assert (e1["total_injuries"], e1["total_respiratory_conditions"]) == ("1", "1")  # C1 sharps -> injury
    assert (e2["total_deaths"], e2["total_injuries"], e2["total_other_cases"]) == ("1", "1", "0")
    # E2's 2025 summary was already submitted: ITA wants a change reason, which nobody gave
    assert e2["change_reason"] == "" and any(n.column == "change_reason" for n in report.notes)
    # 200 days away and 10 restricted: 180 in all, days away first (1904.7(b)(3)(vii) "and/or"; the
    # restricted days had been added on top, each count capped alone)
    assert {n.reason for n in report.notes if n.record_id == "C2"} >= {
        "dafw_days 200 counted as 180: a case's days away and restricted are capped at 180 in all (1904.7(b)(3)(vii))",
        "djtr_days 10 counted as 0: a case's days away and restricted are capped at 180 in all (1904.7(b)(3)(vii))"}
    for row in (e1, e2):  # the cross-field rule
        left = sum(int(row[c]) for c in ("total_deaths", "total_dafw_cases", "total_djtr_cases", "total_other_cases"))
        right = sum(int(row[c]) for c in ("total_injuries", "total_skin_disorders", "total_respiratory_conditions",
                                          "total_poisonings", "total_hearing_loss", "total_other_illnesses"))
        assert left == right


def test_ita_300a_without_details_leaves_gaps_blank_and_names_each(db: Engine) -> None:
    report = _ita(db, year=2025, establishment_id="E1")
    (row,) = _rows(ita300a.render_csv(report))
    for column in ("ein", "street_address", "city", "zip", "establishment_type", "annual_average_employees",
                   "total_hours_worked", "total_dafw_cases", "total_djtr_cases", "total_other_cases",
                   "total_dafw_days", "total_injuries", "total_respiratory_conditions"):
        assert row[column] == "", column
    noted = {c for n in report.notes if n.column for c in n.column.split(",")}
    assert {"ein", "street_address", "city", "zip", "establishment_type", "annual_average_employees",
            "total_hours_worked", "total_dafw_cases", "total_dafw_days", "total_injuries"} <= noted
    assert row["total_deaths"] == "0" and row["no_injuries_illnesses"] == "1"
    assert not report.ready
    assert {p.reason for p in report.problems} >= {"row 2, field street_address: required value missing",
                                                   "row 2, field total_hours_worked: required value missing"}


def test_ita_300a_of_a_year_still_running_is_not_ready(db: Engine) -> None:
    """2026 on 10 February 2026 had come out ready to file, with a note alone (probe 25)."""
    details = Ita300ADetails.model_validate({**DETAILS, "cases": {}})
    report = _ita(db, year=2026, establishment_id="E2", details=details)
    assert not report.ready
    assert any("2026 is not over" in p.reason and "1 January 2027" in p.reason for p in report.problems)


def test_ita_300a_with_cases_not_classified_is_not_ready(db: Engine) -> None:
    """Totals left blank until the cases are classified: ITA needs them, and the cross-field rule
    cannot hold; the report had said ready because the schema leaves those columns optional."""
    details = Ita300ADetails.model_validate({**DETAILS, "cases": {}})
    report = _ita(db, year=2025, establishment_id="E1", details=details)
    assert not report.ready
    (blank,) = [p for p in report.problems if "left blank" in p.reason]
    assert blank.establishment_id == "E1" and "total_dafw_cases" in blank.reason and "total_injuries" in blank.reason


def test_ita_300a_notes_why_a_row_need_not_or_may_not_be_submitted(db: Engine) -> None:
    small = f.establishment("E4", name="Clinic E4", naics="622110", max_concurrent_employees={"2024": 15, "2025": 15})
    unknown = f.establishment("E5", name="Clinic E5", naics="622110", max_concurrent_employees={"2024": 15})
    with clock.frozen(NOW), unit_of_work(db) as s:
        records_service.import_records(s, org_id=ORG, records=[small, unknown], actor="test", source="test")
    said = {e: [n.reason for n in _ita(db, year=2025, establishment_id=e).notes if "1904.41" in n.reason]
            for e in ("E4", "E5")}
    assert said == {
        "E4": ["electronic submission (1904.41) of the 2025 300A is not required; the row is for the establishment's "
               "own records"],
        "E5": ["electronic submission (1904.41) of the 2025 300A cannot be determined (no headcount); the row is for "
               "the establishment's own records"]}


def test_ita_300a_says_an_exemption_a_state_plan_may_not_follow_is_not_settled(db: Engine) -> None:
    """Washington keeps its own list of exempt industries: an office of physicians there is not
    freed of Part 1904 records by the federal exemption until the practice confirms it, as
    OSHA-REC-SCOPE-001 says. A new-practice pass had the 300A report say 'not required' of Seattle
    while the rule said 'not settled'."""
    seattle = f.establishment("E6", tz="America/Los_Angeles", state="WA", name="Clinic E6", naics="621111",
                              osha_state_plan=True, max_concurrent_employees={"2024": 45, "2025": 45})
    with clock.frozen(NOW), unit_of_work(db) as s:
        records_service.import_records(s, org_id=ORG, records=[seattle], actor="test", source="test")
    said = {}
    for est in ("E6", "E3"):  # neither has a row to file: the refusal says why, per establishment
        with pytest.raises(InputError) as refused:
            _ita(db, year=2025, establishment_id=est)
        (said[est],) = [d.reason for d in refused.value.details]
    assert said["E6"].startswith("E6: Part 1904 records for 2025 not required under the federal exemption, which is "
                                 "not settled: confirm that the WA state plan exempts NAICS 621111 as federal OSHA "
                                 "does"), said
    assert said["E3"].startswith("E3: Part 1904 records for 2025 not required ("), said  # Illinois: federal list


def test_ita_300a_says_case_data_is_owed_where_the_ruleset_says_so(db: Engine) -> None:
    """The interop pass (7 December 2026): a hospital of 150 employees (Appendix B, 100+) owes its
    Forms 300/301 case data too, which the report does not build, and the 300A report said nothing of it."""
    report = _ita(db, year=2025, details=Ita300ADetails.model_validate(DETAILS))
    owed = {n.establishment_id: n.reason for n in report.notes if "Forms 300 and 301" in n.reason}
    assert set(owed) == {"E2"}, owed  # E1 has 45 employees; E3 is partially exempt (no row)
    assert owed["E2"] == (
        "the 2025 case data from Forms 300 and 301 is owed too, by 2 March 2026 (1904.41(a)(2): NAICS 622110 is in "
        "Appendix B to Subpart E and the establishment had 150 employees, 100 or more): Vigil does not build the "
        "case-data CSV, as the record contract has no job title, incident narratives, or dates of birth or hire; "
        "enter or upload it on OSHA's ITA directly")
    with clock.frozen(NOW), unit_of_work(db) as s:  # the ruleset's parameters decide, not a second list
        records_service.import_records(s, org_id=ORG, actor="test", source="test",
                                       records=[_est("E2", naics="621493", peak=150, tz="America/New_York",
                                                     state="NY")])
    assert not any("Forms 300 and 301" in n.reason for n in _ita(db, year=2025).notes), "6214 is in no appendix"


def test_ita_300a_cross_field_rule_is_checked() -> None:
    report = ita300a.Ita300AReport(year=2025, as_of=NOW, known_at=None, establishment_ids=["E1"], rows=[{
        c: None for c in ITA_300A_COLUMNS} | {"total_deaths": 1, "total_dafw_cases": 0, "total_djtr_cases": 0,
                                              "total_other_cases": 1, "total_injuries": 1, "total_skin_disorders": 0,
                                              "total_respiratory_conditions": 0, "total_poisonings": 0,
                                              "total_hearing_loss": 0, "total_other_illnesses": 0}])
    assert any("deaths + DAFW + DJTR + other = 2, but injuries + illnesses = 1" in p.reason
               for p in ita300a.check(report))


@pytest.mark.parametrize("employees, code", [(0, 1), (19, 1), (20, 21), (99, 21), (100, 22), (249, 22), (250, 3)])
def test_size_codes(employees: int, code: int) -> None:
    assert ita300a.size_code(employees) == code


def test_ita_300a_refuses_bad_requests(db: Engine) -> None:
    with pytest.raises(InputError) as exc:
        _ita(db, year=2025, establishment_id="NOPE")
    assert exc.value.code == "report.unknown_establishment"
    with pytest.raises(InputError) as exc:
        _ita(db, year=2025, establishment_id="E3")
    assert exc.value.code == "report.no_data" and "partially exempt" in str(exc.value)
    with pytest.raises(InputError) as exc:
        _ita(db, year=2027)
    assert exc.value.code == "report.year"
    with pytest.raises(InputError) as exc:
        _ita(db, year=2019)
    assert exc.value.code == "report.year" and "retention" in exc.value.message
    with pytest.raises(PermissionDeniedError):  # outside the grant, as packets and findings say it
        _ita(db, year=2025, establishment_id="E1", visible=["E2"])
    assert _ita(db, year=2025, visible=["E2"]).establishment_ids == ["E2"]


def test_ita_300a_reads_the_records_as_known_at(db: Engine) -> None:
    later = NOW + dt.timedelta(days=1)
    with clock.frozen(later), unit_of_work(db) as s:
        records_service.import_records(s, org_id=ORG, records=[_case("C9", "2025-05-05T12:00:00Z", sharps=True)],
                                       actor="test", source="test")
    with clock.frozen(later + dt.timedelta(hours=1)), unit_of_work(db) as s:
        assert ita300a.build_ita_300a(s, org_id=ORG, year=2025).cases_counted["E1"] == ["C1", "C2", "C9"]
        then = ita300a.build_ita_300a(s, org_id=ORG, year=2025, known_at=NOW + dt.timedelta(hours=1))
        assert then.cases_counted["E1"] == ["C1", "C2"]


def test_ita_300a_refuses_two_establishments_of_one_name(db: Engine) -> None:
    """Interop probe: two "Main Clinic" rows (and "Size 250" beside "size 250 ") had been ready to
    file; ITA takes a name unique per account, and the trailing space went into the file."""
    with clock.frozen(NOW), unit_of_work(db) as s:
        records_service.import_records(s, org_id=ORG, actor="test", source="test", records=[
            _est("E1") | {"name": "Main Clinic"}, _est("E2", peak=150, tz="America/New_York", state="NY")
            | {"name": " main  clinic "}])
    report = _ita(db, year=2025, details=Ita300ADetails.model_validate(DETAILS))
    assert not report.ready
    (same,) = [p for p in report.problems if p.column == "establishment_name"]
    assert same.establishment_id == "E2" and "is also row 2's" in same.reason and "unique per account" in same.reason
    assert [r["establishment_name"] for r in _rows(ita300a.render_csv(report))] == ["Main Clinic", "main  clinic"]


# ---- QPP ------------------------------------------------------------------------------------------


def _qpp(engine: Engine, **kw: Any) -> Any:
    with clock.frozen(NOW), unit_of_work(engine) as s:
        return qpp.build_qpp_submission(s, org_id=ORG, **kw)


def _archived_schema_patched() -> dict[str, Any]:
    """CMS's archived schema (shared copy when present) with the patch list of interop-formats.md s.2,
    applied here independently of the engine's own."""
    path = QPP / "qpp-submissions-schema-2017-ARCHIVED.json"
    schema = json.loads((path if path.exists() else qpp.DATA / path.name).read_text())
    schema = copy.deepcopy(schema)
    schema["required"].remove("programName")
    schema["definitions"]["measurementSet"]["properties"]["category"]["enum"].append("pi")
    schema["properties"]["entityType"]["enum"] += ["apm", "virtualGroup", "subgroup"]
    return schema


def test_qpp_submission_matches_the_measure_stats_and_validates(db: Engine) -> None:
    report = _qpp(db, year=2025, tin=TIN)
    sub = report.submission
    jsonschema.Draft7Validator(_archived_schema_patched()).validate(sub)
    assert qpp.check_submission(sub) == [] and report.ready
    assert sub["entityType"] == "group" and sub["taxpayerIdentificationNumber"] == TIN
    assert sub["performanceYear"] == 2025 and "nationalProviderIdentifier" not in sub
    (mset,) = sub["measurementSets"]
    assert (mset["category"], mset["programName"], mset["performanceStart"], mset["performanceEnd"]) == (
        "quality", "mips", "2025-01-01", "2025-12-31")
    values = {m["measureId"]: m["value"] for m in mset["measurements"]}
    assert set(values) == {"134", "236"}  # 226 is multi-rate: left out, noted
    assert values["236"] == {"isEndToEndReported": False, "performanceMet": 4, "performanceNotMet": 5,
                             "eligiblePopulationExclusion": 1, "eligiblePopulationException": 0,
                             "eligiblePopulation": 10}
    assert values["134"] == {"isEndToEndReported": False, "performanceMet": 5, "performanceNotMet": 0,
                             "eligiblePopulationExclusion": 0, "eligiblePopulationException": 2,
                             "eligiblePopulation": 8}
    assert any("226" in n.reason and "stratum" in n.reason for n in report.notes)
    assert any("134" in n.reason and "not recorded" in n.reason for n in report.notes)
    stats = {m["measure"]: m for m in report.measures}
    assert stats["236"]["eligible_n"] == 10 and stats["236"]["tin"] == TIN


def test_qpp_individual_submission(db: Engine) -> None:
    sub = _qpp(db, year=2025, tin=TIN, npi="9876543213").submission
    assert sub["entityType"] == "individual" and sub["nationalProviderIdentifier"] == "9876543213"
    jsonschema.Draft7Validator(_archived_schema_patched()).validate(sub)


def test_qpp_semantic_checks_catch_what_the_schema_misses() -> None:
    example = json.loads((QPP / "example-mips-submission-py2026.json").read_text())
    assert qpp.check_submission(example) == []
    bad = copy.deepcopy(example)
    quality = bad["measurementSets"][0]
    quality["measurements"][4]["value"]["strata"][2]["stratum"] = "overall"
    quality["measurements"][0]["value"]["performanceMet"] = 500
    bad["measurementSets"][0] = quality | {"submissionMethod": "claims"}
    problems = qpp.check_submission(bad)
    assert any("130: submission method claims not allowed" in p for p in problems)
    assert any("226: strata" in p and "overall" in p for p in problems)
    assert any("001: met + not met" in p for p in problems)


def test_qpp_refuses_bad_requests(db: Engine) -> None:
    for kw, code in (({"tin": "12-345"}, "report.input"), ({"tin": TIN, "npi": "1"}, "report.input"),
                     ({"tin": TIN, "submission_method": "claims"}, "report.input"),
                     ({"tin": "222222222"}, "report.no_data")):
        with pytest.raises(InputError) as exc:
            _qpp(db, year=2025, **kw)
        assert exc.value.code == code, kw
    # interop pass: one digit mistyped passed as 10 digits, and the report said only that it found no data
    with pytest.raises(InputError) as exc:
        _qpp(db, year=2025, tin=TIN, npi="9876543210")
    assert exc.value.code == "report.input" and [d.field for d in exc.value.details] == ["npi"]
    assert "9876543210 is not an NPI: its last digit would be 3" in exc.value.details[0].reason
    with pytest.raises(InputError) as exc:
        _qpp(db, year=2024, tin=TIN)
    assert "no measure_case records for performance year 2024" in exc.value.message
    for year, said in ((2016, "before MIPS, which began with PY2017"), (2027, "has not begun")):
        with pytest.raises(InputError) as exc:
            _qpp(db, year=year, tin=TIN)
        assert exc.value.code == "report.year" and said in exc.value.message, year
        assert [d.field for d in exc.value.details] == ["year"]


def test_qpp_refuses_a_performance_year_before_mips_even_with_cases(db: Engine) -> None:
    old = [_mcase(i, "236", py=2016) | {"id": f"MC2016-{i}"} for i in range(3)]
    with clock.frozen(NOW), unit_of_work(db) as s:
        records_service.import_records(s, org_id=ORG, records=old, actor="test", source="test")
    with pytest.raises(InputError) as exc:
        _qpp(db, year=2016, tin=TIN)
    assert exc.value.code == "report.year" and "give 2017 or later" in exc.value.details[0].reason
    assert _qpp(db, year=2025, tin=TIN).ready, "a year MIPS has is still built"


def test_qpp_a_year_in_progress_is_not_ready_and_odd_measure_ids_are_explained(db: Engine) -> None:
    """PY2026 on 10 February 2026 built a submission marked ready; IA_/PI_ ids read as unknown quality
    measures; a Quality ID written "1" became 001 without a word."""
    cases = ([_mcase(i, "1", py=2026) | {"id": f"MC26-{i}"} for i in range(3)]
             + [_mcase(9, "IA_BE_4", py=2026) | {"id": "MC26-IA"}, _mcase(8, "PI_PPHI_1", py=2026) | {"id": "MC26-PI"}])
    with clock.frozen(NOW), unit_of_work(db) as s:
        records_service.import_records(s, org_id=ORG, records=cases, actor="test", source="test")
    report = _qpp(db, year=2026, tin=TIN)
    assert not report.ready and any("still in progress" in p.reason and "2 January 2027" in p.reason
                                    for p in report.problems)
    notes = [n.reason for n in report.notes]
    assert any("write Quality ID 001 as '1'" in n for n in notes), notes
    assert any("IA_BE_4" in n and "Improvement Activity" in n for n in notes), notes
    assert any("PI_PPHI_1" in n and "Promoting Interoperability" in n for n in notes), notes


def test_ita_300a_notes_no_employees_or_no_hours_beside_logged_cases(db: Engine) -> None:
    details = copy.deepcopy(DETAILS)
    details["establishments"]["E1"] |= {"annual_average_employees": 0, "total_hours_worked": 0}
    report = _ita(db, year=2025, establishment_id="E1", details=Ita300ADetails.model_validate(details))
    said = {(n.column, n.establishment_id) for n in report.notes if "while the log has" in n.reason}
    assert said == {("annual_average_employees", "E1"), ("total_hours_worked", "E1")}


def test_ita_300a_text_a_spreadsheet_would_run_as_a_formula_is_a_problem_not_rewritten(engine: Engine) -> None:
    """Injection probe: an establishment named =HYPERLINK(...) went into the CSV raw, ready to run when
    opened; a prefix would change what OSHA receives, so the report is not ready until the name is fixed."""
    evil = '=HYPERLINK("http://evil.example","y")'
    with clock.frozen(NOW), unit_of_work(engine) as s:
        records_service.import_records(s, org_id=ORG, records=[_est("E1") | {"name": evil}, *RECORDS[2:6]],
                                       actor="test", source="test")
    report = _ita(engine, year=2025, establishment_id="E1", details=Ita300ADetails.model_validate(DETAILS))
    (row,) = _rows(ita300a.render_csv(report))
    assert row["establishment_name"] == evil  # as the records say
    assert not report.ready
    assert any(p.column == "establishment_name" and "would run as a formula" in p.reason for p in report.problems)


def test_qpp_notes_a_measure_cms_cannot_score_and_one_under_the_case_minimum(db: Engine) -> None:
    """The reports probe: a measure whose every case was excluded went out "ready" with no word that its
    performance rate has no denominator; nor was the 20-case minimum for benchmark scoring said."""
    excluded = [_mcase(i, "001", excluded=True, met=None) for i in range(3)]
    with clock.frozen(NOW), unit_of_work(db) as s:
        records_service.import_records(s, org_id=ORG, records=excluded, actor="test", source="test")
    notes = [n for n in _qpp(db, year=2025, tin=TIN).notes]
    unscored = [n.reason for n in notes if n.record_id == "001"]
    assert any("performance rate has no denominator and CMS cannot score it" in r for r in unscored), unscored
    assert not any("case minimum" in r or "-case minimum" in r for r in unscored)  # one reason is enough
    small = {n.record_id: n.reason for n in notes if "-case minimum for benchmark scoring" in n.reason}
    assert set(small) == {"134", "236"}  # 8 and 9 denominator cases
    assert "9 denominator case(s), fewer than the 20-case minimum" in small["236"]


def test_qpp_notes_a_measure_whose_only_outcomes_were_not_reported(db: Engine) -> None:
    """The interop pass (7 December 2026): one case eligible, met and not reported went out as
    performanceMet 0, performanceNotMet 0, eligiblePopulation 1, with only the 20-case minimum noted:
    the check had counted met and not met over every case, not the reported ones sent."""
    with clock.frozen(NOW), unit_of_work(db) as s:
        records_service.import_records(s, org_id=ORG, actor="test", source="test",
                                       records=[_mcase(0, "001", met=True, reported=False)])
    report = _qpp(db, year=2025, tin=TIN)
    (value,) = [m["value"] for m in report.submission["measurementSets"][0]["measurements"] if m["measureId"] == "001"]
    assert (value["performanceMet"], value["performanceNotMet"], value["eligiblePopulation"]) == (0, 0, 1)
    said = [n.reason for n in report.notes if n.record_id == "001"]
    assert any("no case sent is performance met or not met" in r and "CMS cannot score it" in r for r in said), said
    assert not any("-case minimum" in r for r in said)  # one reason is enough


def test_qpp_sends_the_outcomes_of_reported_cases_only(db: Engine) -> None:
    """Interop probe: 30 met cases of which 10 were reported had gone as performanceMet 30, which CMS
    reads as a 100% reporting rate, beside the report's own note of 33.3% data completeness."""
    with clock.frozen(NOW), unit_of_work(db) as s:
        records_service.import_records(s, org_id=ORG, actor="test", source="test", records=[
            _mcase(i, "001", reported=i < 10, excluded=i == 0, exception=i == 1, met=i % 3 != 0)
            for i in range(30)])
    report = _qpp(db, year=2025, tin=TIN)
    (value,) = [m["value"] for m in report.submission["measurementSets"][0]["measurements"] if m["measureId"] == "001"]
    # of the 10 reported: one exclusion, one exception, and of the 8 others met unless i % 3 == 0 (3, 6, 9)
    assert value == {"isEndToEndReported": False, "performanceMet": 5, "performanceNotMet": 3,
                     "eligiblePopulationExclusion": 1, "eligiblePopulationException": 1, "eligiblePopulation": 30}
    assert qpp.check_submission(report.submission) == []
    assert any("001" in n.reason and "data completeness 33.3%" in n.reason for n in report.notes)


def test_qpp_notes_a_closed_window_and_a_practice_that_is_not_a_participant(db: Engine) -> None:
    """Interop probe: PY2025 read as ready with nothing said, after its window closed on 31 March 2026,
    and for a practice whose organization record says it is not a MIPS participant that year."""
    assert not any("window closed" in n.reason or "not a MIPS participant" in n.reason
                   for n in _qpp(db, year=2025, tin=TIN).notes)
    with clock.frozen(NOW), unit_of_work(db) as s:
        records_service.import_records(s, org_id=ORG, actor="test", source="test", records=[
            {"type": "organization", "id": "ORG", "name": "Example Health Partners LLC",
             "mips_participant_by_py": {"2025": False}}])
    with clock.frozen(dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)), unit_of_work(db) as s:
        notes = [n.reason for n in qpp.build_qpp_submission(s, org_id=ORG, year=2025, tin=TIN).notes]
    assert any("not a MIPS participant in performance year 2025" in n for n in notes), notes
    assert any("window closed 31 March 2026 8:00 p.m. ET" in n for n in notes), notes
