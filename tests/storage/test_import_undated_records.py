"""An import accepts an incident with no `discovered_at`, an access request with no `received_at` and
an OSHA case with no `incident_at` (the contract allows the nulls), but says so: every rule whose
deadline counts from that field passes such a record over without a finding, so the person importing
must hear of it, by record and field, on SQLite and PostgreSQL, through the service, the CLI and the
API."""

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


def incident(record_id: str, discovered_at: str | None) -> dict[str, Any]:
    return {"type": "incident", "id": record_id, "establishment_id": "E-1", "discovered_at": discovered_at,
            "phi_involved": True}


def request(record_id: str, received_at: str | None) -> dict[str, Any]:
    return {"type": "access_request", "id": record_id, "establishment_id": "E-1", "kind": "access",
            "received_at": received_at}


def imported(engine: Engine, records: list[dict[str, Any]]) -> ImportReport:
    with db.unit_of_work(engine) as session:
        return service.import_records(session, org_id=ORG, records=records, actor="user:ann", source="test")


def test_an_incident_with_no_discovery_date_imports_and_is_named(engine: Engine) -> None:
    report = imported(engine, [EST, incident("I-7", None), incident("I-8", "2026-01-05T15:00:00Z")])
    assert report.created == 3
    (warning,) = report.undated_records
    assert (warning.record_type, warning.record_id, warning.field) == ("incident", "I-7", "discovered_at")
    assert warning.message.startswith("incident 'I-7' has no discovered_at: its breach determination and "
                                      "notification deadlines (HIPAA-BRN-")
    assert "cannot be computed until it is given" in warning.message
    assert report.undated_records_total == 1


def test_an_access_request_with_no_received_date_is_named_even_when_the_field_is_left_out(engine: Engine) -> None:
    left_out = {k: v for k, v in request("AR-2", None).items() if k != "received_at"}
    report = imported(engine, [EST, request("AR-1", None), left_out, request("AR-3", "2026-01-05T15:00:00Z")])
    assert [(w.record_type, w.record_id, w.field) for w in report.undated_records] == [
        ("access_request", "AR-1", "received_at"), ("access_request", "AR-2", "received_at")]
    assert "HIPAA-PRV-ACC-014" in report.undated_records[0].message


def test_an_osha_case_with_no_incident_or_learned_date_is_named_when_a_clock_would_run(engine: Engine) -> None:
    """Every OSHA case duty skips a case with no incident date. A null `learned_at` reads as "not
    learned of yet", and the clocks that count from it do not run: session 48's deadline pass
    recorded a death without it and no evaluation said a word, so it is named too, with the duties
    it holds back; a case that no such clock concerns (not recordable, no sharps, not severe) is not."""
    case = {"type": "osha_case", "establishment_id": "E-1", "person_id": "P-1", "recordable": True}
    report = imported(engine, [
        EST, {**case, "id": "C-1", "incident_at": None, "learned_at": None},
        {**case, "id": "C-2", "incident_at": "2026-01-05T15:00:00Z", "learned_at": None,
         "died_at": "2026-01-05T17:00:00Z"},
        {**case, "id": "C-3", "incident_at": "2026-01-05T15:00:00Z", "learned_at": None, "recordable": False},
        {**case, "id": "C-4", "incident_at": "2026-01-05T15:00:00Z", "learned_at": "2026-01-05T16:00:00Z"},
    ])
    assert [(w.record_type, w.record_id, w.field) for w in report.undated_records] == [
        ("osha_case", "C-1", "incident_at"), ("osha_case", "C-2", "learned_at")]
    assert "OSHA-REC-LOG-002" in report.undated_records[0].message
    assert "(OSHA-REC-LOG-002, REP-SEVERE-006;" in report.undated_records[1].message


def test_a_caqh_attestation_with_no_date_is_named_but_other_undated_credentials_are_not(engine: Engine) -> None:
    """CRED-CAQH-006's clock starts at the attestation's issued_at (else its verified_at) and passes over
    one with neither, so the holder reads as never attested (no finding at all); other kinds are judged
    by their expiry."""
    cred = {"type": "credential", "person_id": "P-1", "issued_at": None}
    report = imported(engine, [EST, {**cred, "id": "CQ-1", "kind": "CAQH_ATTESTATION"},
                               # seen current on 31 January: the clock runs from that day
                               {**cred, "id": "CQ-3", "kind": "CAQH_ATTESTATION",
                                "verified_at": "2026-01-31T10:00:00-08:00"},
                               {**cred, "id": "CQ-2", "kind": "CAQH_ATTESTATION", "issued_at": "2026-01-31T10:00:00Z"},
                               {**cred, "id": "ML-1", "kind": "MALPRACTICE", "expires_at": "2027-01-31T10:00:00Z"}])
    assert [(w.record_type, w.record_id, w.field) for w in report.undated_records] == [
        ("credential", "CQ-1", "issued_at")]
    assert report.undated_records[0].message.startswith(
        "credential 'CQ-1' has no issued_at: its re-attestation clock (CRED-CAQH-006) cannot be computed")


def test_the_record_is_named_again_when_imported_again_unchanged(engine: Engine) -> None:
    """The deadline is still lost: re-importing the nightly export must not go quiet about it."""
    imported(engine, [EST, incident("I-7", None)])
    again = imported(engine, [incident("I-7", None)])
    assert again.unchanged == 1 and [w.record_id for w in again.undated_records] == ["I-7"]


def test_a_later_dated_version_is_not_named(engine: Engine) -> None:
    """(One import gives a record once: the dated version comes in the next.)"""
    assert imported(engine, [EST, incident("I-7", None)]).undated_records_total == 1
    report = imported(engine, [incident("I-7", "2026-01-05T15:00:00Z")])
    assert report.undated_records == [] and report.undated_records_total == 0


def test_past_the_shown_number_the_rest_are_counted(engine: Engine) -> None:
    records = [EST, *(incident(f"I-{i:03d}", None) for i in range(undated.SHOWN + 5))]
    report = imported(engine, records)
    assert len(report.undated_records) == undated.SHOWN
    assert report.undated_records_total == undated.SHOWN + 5


def test_the_cli_says_so_on_stderr_and_in_json(tmp_path: Path) -> None:
    path = tmp_path / "i.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in (EST, incident("I-7", None))), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    shown = CliRunner().invoke(app, ["import", str(path), "--db", url, "--org", ORG])
    assert shown.exit_code == 0, shown.output
    assert "warning: incident 'I-7' has no discovered_at: its breach determination" in shown.stderr
    as_json = CliRunner().invoke(app, ["import", str(path), "--db", url, "--org", ORG, "--json"])
    assert as_json.exit_code == 0, as_json.output
    (warning,) = json.loads(as_json.stdout)["undated_records"]
    assert (warning["record_id"], warning["field"]) == ("I-7", "discovered_at")


def test_the_cli_lists_twenty_and_counts_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "i.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in (EST, *(incident(f"I-{i:02d}", None) for i in range(23)))),
                    encoding="utf-8")
    shown = CliRunner().invoke(app, ["import", str(path), "--db", f"sqlite:///{tmp_path / 'cli.db'}", "--org", ORG])
    assert shown.exit_code == 0, shown.output
    lines = [line for line in shown.stderr.splitlines() if "discovered_at" in line or "more record" in line]
    assert len(lines) == 21 and lines[19].startswith("warning: incident 'I-19' has no discovered_at")
    assert lines[-1] == ("warning: ... and 3 more records with no date their deadlines count from "
                         "(--json lists up to 23)")


def test_the_api_says_so_in_warnings(engine: Engine) -> None:
    client, bearer = bearer_client(engine, org_id=ORG)
    body = "".join(json.dumps(r) + "\n" for r in (EST, incident("I-7", None), request("AR-1", None)))
    r = client.post("/records/import", headers=bearer, files={"file": ("i.ndjson", body.encode(), "text/plain")})
    assert r.status_code == 200, r.text
    warnings = r.json()["warnings"]
    assert len(warnings) == 2
    assert warnings[0].startswith("access_request 'AR-1' has no received_at: its response deadline")
    assert warnings[1].startswith("incident 'I-7' has no discovered_at")
    assert [w["record_id"] for w in r.json()["undated_records"]] == ["AR-1", "I-7"]
    batch = client.post("/records", headers=bearer, json={"records": [incident("I-9", None)]})
    assert batch.status_code == 200, batch.text
    assert [w["record_id"] for w in batch.json()["undated_records"]] == ["I-9"]


def test_the_api_lists_twenty_and_counts_the_rest(engine: Engine) -> None:
    client, bearer = bearer_client(engine, org_id=ORG)
    body = "".join(json.dumps(r) + "\n" for r in (EST, *(incident(f"I-{i:02d}", None) for i in range(23))))
    r = client.post("/records/import", headers=bearer, files={"file": ("i.ndjson", body.encode(), "text/plain")})
    assert r.status_code == 200, r.text
    warnings = r.json()["warnings"]
    assert len(warnings) == 21 and warnings[19].startswith("incident 'I-19' has no discovered_at")
    assert warnings[-1] == ("... and 3 more records with no date their deadlines count from "
                            "(undated_records lists up to 23)")
