"""An import accepts an OSHA case with no `establishment_id`, a MIPS submission with no `py` or no
`category`, an OSHA summary with no `establishment_id` or `year` and an exposure control plan with no
`establishment_id` (the contract allows the nulls), but says so: the OSHA 300 log duty passes such a
case over (and the sharps injury log judges it only as encouraged), and the rules count such a
submission, summary or plan for no one, all without a word. The person importing must hear of it,
by record and field, on SQLite and PostgreSQL, through the service, the CLI and the API; the
undated-record warnings (test_import_undated_records.py) stay as they were."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from typer.testing import CliRunner

import engine.cli.records  # noqa: F401  (registers the commands)
from engine import db
from engine.cli.app import app
from engine.records import service, undated
from engine.records.schemas import ImportReport
from tests.clients import bearer_client

ORG = "org-a"
EST = {"type": "establishment", "id": "E-1", "org_id": ORG, "name": "Main", "naics": "621111", "state": "CA",
       "tz": "America/Los_Angeles"}


def case(record_id: str, establishment_id: str | None = None, **flags: Any) -> dict[str, Any]:
    return {"type": "osha_case", "id": record_id, "establishment_id": establishment_id, "person_id": "P-1",
            "incident_at": "2026-01-05T15:00:00Z", "learned_at": "2026-01-05T16:00:00Z", **flags}


def submission(record_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "mips_submission", "id": record_id, "tin": "123456789", "submitted_at": "2026-03-01T15:00:00Z",
            **fields}


def imported(engine: Engine, records: list[dict[str, Any]]) -> ImportReport:
    with db.unit_of_work(engine) as session:
        return service.import_records(session, org_id=ORG, records=records, actor="user:ann", source="test")


def named(report: ImportReport) -> list[tuple[str, str, str]]:
    return [(w.record_type, w.record_id, w.field) for w in report.incomplete_records]


def test_a_recordable_osha_case_with_no_establishment_is_named(engine: Engine) -> None:
    report = imported(engine, [EST, case("C-7", recordable=True), case("C-8", "E-1", recordable=True)])
    assert report.created == 3
    (warning,) = report.incomplete_records
    assert (warning.record_type, warning.record_id, warning.field) == ("osha_case", "C-7", "establishment_id")
    assert warning.message == ("osha_case 'C-7' has no establishment_id: its OSHA 300 log duty (OSHA-REC-LOG-002) "
                               "cannot be judged until it is given; give establishment_id and import the "
                               "osha_case again")
    assert report.incomplete_records_total == 1
    assert report.undated_records == []


def test_a_sharps_case_also_says_its_sharps_log_is_judged_only_as_encouraged(engine: Engine) -> None:
    """A sharps case goes on the 300 log whatever its recordable flag (1904.8); with no establishment
    the sharps injury log rule takes records as not required."""
    report = imported(engine, [EST, case("C-9", sharps=True)])
    (warning,) = report.incomplete_records
    assert "OSHA-REC-LOG-002" in warning.message
    assert "sharps injury log (OSHA-BBP-SIL-011) is judged only as encouraged" in warning.message


def test_a_case_the_300_log_does_not_take_is_not_named(engine: Engine) -> None:
    """Not recordable and not a sharps injury: no rule needs its establishment (the severe-injury,
    exposure and post-report rules judge it without one)."""
    report = imported(engine, [EST, case("C-1", recordable=False), case("C-2")])
    assert report.incomplete_records == [] and report.incomplete_records_total == 0


def test_a_case_with_no_incident_date_nor_establishment_is_named_in_both_lists(engine: Engine) -> None:
    report = imported(engine, [EST, case("C-3", recordable=True, incident_at=None)])
    assert [(w.record_id, w.field) for w in report.undated_records] == [("C-3", "incident_at")]
    assert named(report) == [("osha_case", "C-3", "establishment_id")]


def test_an_osha_case_with_no_person_is_named(engine: Engine) -> None:
    """The exposure follow-up (sharps cases) and the post-report review look the person up."""
    report = imported(engine, [EST, case("C-4", "E-1", person_id=None), case("C-5", "E-1", person_id=None,
                                                                              sharps=True)])
    assert named(report) == [("osha_case", "C-4", "person_id"), ("osha_case", "C-5", "person_id")]
    assert "its post-report review (OSHA-POST-015) cannot be judged until" in report.incomplete_records[0].message
    assert "(OSHA-BBP-PEP-010 and POST-015)" in report.incomplete_records[1].message


def test_a_mips_submission_with_no_year_or_no_category_is_named(engine: Engine) -> None:
    report = imported(engine, [submission("S-1", category="quality"), submission("S-2", py=2025),
                               submission("S-3"), submission("S-4", py=2025, category="quality")])
    assert named(report) == [("mips_submission", "S-1", "py"), ("mips_submission", "S-2", "category"),
                             ("mips_submission", "S-3", "py"), ("mips_submission", "S-3", "category")]
    assert report.incomplete_records[0].message == (
        "mips_submission 'S-1' has no py: CMS-MIPS-SUB-002, PI-006 and IA-007 cannot count it as any performance "
        "year's submission until it is given; give py and import the mips_submission again")
    assert "any performance category's submission" in report.incomplete_records[1].message
    assert report.incomplete_records_total == 4


def test_an_osha_summary_or_exposure_control_plan_with_no_owner_is_named(engine: Engine) -> None:
    summary = {"type": "osha_summary", "establishment_id": "E-1", "year": 2025, "certified_at": "2026-01-20T15:00:00Z"}
    plan = {"type": "exposure_control_plan", "reviewed_at": "2026-01-05T15:00:00Z"}
    report = imported(engine, [EST, {**summary, "id": "SUM-1", "establishment_id": None},
                               {**summary, "id": "SUM-2", "year": None}, {**summary, "id": "SUM-3"},
                               {**plan, "id": "ECP-1", "establishment_id": None}, {**plan, "id": "ECP-2",
                                                                                  "establishment_id": "E-1"}])
    assert named(report) == [("exposure_control_plan", "ECP-1", "establishment_id"),
                             ("osha_summary", "SUM-1", "establishment_id"), ("osha_summary", "SUM-2", "year")]
    assert report.incomplete_records[0].message == (
        "exposure_control_plan 'ECP-1' has no establishment_id: OSHA-BBP-ECP-007 cannot count it as any "
        "establishment's plan until it is given; give establishment_id and import the exposure_control_plan again")
    assert "OSHA-REC-300A-003, ITA-005 and RET-004 cannot count it as any year's summary" in \
        report.incomplete_records[2].message


def test_named_again_unchanged_and_not_once_a_later_version_gives_the_field(engine: Engine) -> None:
    imported(engine, [EST, case("C-7", recordable=True)])
    again = imported(engine, [case("C-7", recordable=True)])
    assert again.unchanged == 1 and named(again) == [("osha_case", "C-7", "establishment_id")]
    fixed = imported(engine, [case("C-7", recordable=True), case("C-7", "E-1", recordable=True)])
    assert fixed.incomplete_records == [] and fixed.incomplete_records_total == 0


def test_past_the_shown_number_the_rest_are_counted(engine: Engine) -> None:
    report = imported(engine, [submission(f"S-{i:03d}", category="quality") for i in range(undated.SHOWN + 5)])
    assert len(report.incomplete_records) == undated.SHOWN
    assert report.incomplete_records_total == undated.SHOWN + 5


def test_the_cli_says_so_on_stderr_and_in_json(tmp_path: Path) -> None:
    path = tmp_path / "c.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in (EST, case("C-7", recordable=True))), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    shown = CliRunner().invoke(app, ["import", str(path), "--db", url, "--org", ORG])
    assert shown.exit_code == 0, shown.output
    assert ("warning: osha_case 'C-7' has no establishment_id: its OSHA 300 log duty (OSHA-REC-LOG-002) cannot be "
            "judged until it is given") in " ".join(shown.stderr.split())
    as_json = CliRunner().invoke(app, ["import", str(path), "--db", url, "--org", ORG, "--json"])
    assert as_json.exit_code == 0, as_json.output
    (warning,) = json.loads(as_json.stdout)["incomplete_records"]
    assert (warning["record_id"], warning["field"]) == ("C-7", "establishment_id")


def test_the_api_says_so_in_warnings_after_the_undated_ones(engine: Engine) -> None:
    client, bearer = bearer_client(engine, org_id=ORG)
    undated_incident = {"type": "incident", "id": "I-7", "establishment_id": "E-1", "discovered_at": None,
                        "phi_involved": True}
    records = (EST, undated_incident, case("C-7", recordable=True), submission("S-1", category="quality"))
    body = "".join(json.dumps(r) + "\n" for r in records)
    r = client.post("/records/import", headers=bearer, files={"file": ("c.ndjson", body.encode(), "text/plain")})
    assert r.status_code == 200, r.text
    warnings = r.json()["warnings"]
    assert len(warnings) == 3
    assert warnings[0].startswith("incident 'I-7' has no discovered_at")
    assert warnings[1].startswith("mips_submission 'S-1' has no py: CMS-MIPS-SUB-002")
    assert warnings[2].startswith("osha_case 'C-7' has no establishment_id: its OSHA 300 log duty")
    assert [w["record_id"] for w in r.json()["incomplete_records"]] == ["S-1", "C-7"]
    batch = client.post("/records", headers=bearer, json={"records": [case("C-9", sharps=True)]})
    assert batch.status_code == 200, batch.text
    assert [w["record_id"] for w in batch.json()["incomplete_records"]] == ["C-9"]


def test_the_api_lists_twenty_and_counts_the_rest(engine: Engine) -> None:
    client, bearer = bearer_client(engine, org_id=ORG)
    body = "".join(json.dumps(submission(f"S-{i:02d}", category="quality")) + "\n" for i in range(23))
    r = client.post("/records/import", headers=bearer, files={"file": ("s.ndjson", body.encode(), "text/plain")})
    assert r.status_code == 200, r.text
    warnings = r.json()["warnings"]
    assert len(warnings) == 21 and warnings[19].startswith("mips_submission 'S-19' has no py")
    assert warnings[-1] == ("... and 3 more records missing a field the rules need "
                            "(incomplete_records lists up to 23)")
