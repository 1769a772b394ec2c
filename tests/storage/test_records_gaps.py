"""The records the rules pass over stay in view after the import (GET /records/gaps, `vigil records
gaps`, the web's Data gaps page): read again from the store, on SQLite and PostgreSQL, with the same
messages the import warned with (an id naming no record held too), per organization, and gone once a
later version gives the field or the named record is imported."""

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
from tests.clients import bearer_client

ORG = "org-a"
EST = {"type": "establishment", "id": "E-1", "org_id": ORG, "name": "Main", "naics": "621111", "state": "CA",
       "tz": "America/Los_Angeles"}
UNDATED = {"type": "incident", "id": "I-7", "establishment_id": "E-1", "discovered_at": None, "phi_involved": True}
NAMELESS = {"type": "screening", "id": "X-1", "person_id": None, "source": "LEIE",
            "checked_at": "2026-01-05T15:00:00Z", "result": "excluded"}
FINE = {"type": "training_record", "id": "T-1", "person_id": "P-1", "course": "BBP",
        "completed_at": "2026-01-05T15:00:00Z"}
PERSON = {"type": "person", "id": "P-1", "first_name": "Ana", "last_name": "Diaz"}


def imported(engine: Engine, records: list[dict[str, Any]], org_id: str = ORG) -> None:
    with db.unit_of_work(engine) as session:
        service.import_records(session, org_id=org_id, records=records, actor="user:ann", source="test")


def test_the_store_names_what_the_imports_said_until_a_later_version_gives_the_field(engine: Engine) -> None:
    imported(engine, [EST, UNDATED, NAMELESS, FINE])
    imported(engine, [{**NAMELESS, "id": "X-2"}], org_id="org-b")  # another practice's: not listed
    with db.unit_of_work(engine) as session:
        found = service.passed_over(session, org_id=ORG)
    assert found.checked == 3  # the incident, the screening and the training; the establishment is not checked
    assert [(r.record_type, r.record_id, r.field) for r in found.undated_records] == [("incident", "I-7",
                                                                                       "discovered_at")]
    (gap,) = found.incomplete_records
    assert (gap.record_type, gap.record_id, gap.field) == ("screening", "X-1", "person_id")
    assert gap.message.startswith("screening 'X-1' has no person_id: the excluded it found is raised against no one")
    assert (found.undated_records_total, found.incomplete_records_total) == (1, 1)
    (unknown,) = found.unknown_references  # the training names a person not held; the incident's site is held
    assert (unknown.record_type, unknown.record_id, unknown.field, unknown.names_type, unknown.names_id) == (
        "training_record", "T-1", "person_id", "person", "P-1")
    assert found.unknown_references_total == 1

    imported(engine, [{**UNDATED, "discovered_at": "2026-01-06T15:00:00Z"}, {**NAMELESS, "person_id": "P-1"},
                      PERSON])
    with db.unit_of_work(engine) as session:
        fixed = service.passed_over(session, org_id=ORG)
    assert fixed.undated_records == fixed.incomplete_records == fixed.unknown_references == []
    assert fixed.undated_records_total == fixed.incomplete_records_total == fixed.unknown_references_total == 0
    assert fixed.checked == 3


def test_past_the_shown_number_the_rest_are_counted(engine: Engine) -> None:
    imported(engine, [{**NAMELESS, "id": f"X-{i:03d}"} for i in range(undated.SHOWN + 3)])
    with db.unit_of_work(engine) as session:
        found = service.passed_over(session, org_id=ORG)
    assert len(found.incomplete_records) == undated.SHOWN and found.incomplete_records_total == undated.SHOWN + 3


def test_the_api_lists_them(engine: Engine) -> None:
    imported(engine, [EST, UNDATED, NAMELESS])
    client, bearer = bearer_client(engine, org_id=ORG)
    r = client.get("/records/gaps", headers=bearer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [g["record_id"] for g in body["undated_records"]] == ["I-7"]
    assert [g["record_id"] for g in body["incomplete_records"]] == ["X-1"]
    assert body["checked"] == 2


def test_the_cli_lists_them_and_says_when_there_are_none(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    path = tmp_path / "r.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in (EST, PERSON, FINE)), encoding="utf-8")
    assert CliRunner().invoke(app, ["import", str(path), "--db", url, "--org", ORG]).exit_code == 0
    clean = CliRunner().invoke(app, ["records", "gaps", "--db", url, "--org", ORG])
    assert clean.exit_code == 0, clean.output
    assert "1 records checked: 0 ids naming no record held, 0 missing dates deadlines count from, 0 missing or " \
           "unknown fields the rules need (or dates out of order); the rules pass over none" in " ".join(
               clean.stdout.split())

    path.write_text("".join(json.dumps(r) + "\n" for r in (UNDATED, NAMELESS, {**FINE, "id": "T-2",
                                                                                  "person_id": "P-2"})),
                    encoding="utf-8")
    assert CliRunner().invoke(app, ["import", str(path), "--db", url, "--org", ORG]).exit_code == 0
    shown = CliRunner().invoke(app, ["records", "gaps", "--db", url, "--org", ORG])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.stdout.split())
    assert "incident 'I-7' has no discovered_at: its breach determination" in text
    assert "screening 'X-1' has no person_id" in text
    assert "training_record 'T-2' person_id: names person 'P-2', which this organization holds no record of" in text
    assert "4 records checked: 1 ids naming no record held, 1 missing dates deadlines count from, 1 missing or " \
           "unknown fields" in text
    as_json = CliRunner().invoke(app, ["records", "gaps", "--db", url, "--org", ORG, "--json"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert (body["unknown_references_total"], body["undated_records_total"], body["incomplete_records_total"],
            body["checked"]) == (1, 1, 1, 4)


def test_a_type_filter_reads_only_those_types_and_refuses_a_type_no_check_reads(engine: Engine) -> None:
    imported(engine, [EST, UNDATED, NAMELESS, FINE])
    with db.unit_of_work(engine) as session:
        found = service.passed_over(session, org_id=ORG, types=["screening,training_record"])
    assert found.checked == 2 and found.undated_records_total == 0
    assert [g.record_id for g in found.incomplete_records] == ["X-1"]
    assert [u.record_id for u in found.unknown_references] == ["T-1"]
    client, bearer = bearer_client(engine, org_id=ORG)
    r = client.get("/records/gaps", params=[("type", "incident")], headers=bearer)
    assert r.status_code == 200 and r.json()["checked"] == 1 and r.json()["undated_records_total"] == 1
    refused = client.get("/records/gaps", params={"type": "patient,nope"}, headers=bearer)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == "input.record_type"
    assert body["detail"].startswith("no gap check applies to 'nope', 'patient'; the types checked are access_request")
    assert [e["field"] for e in body["errors"]] == ["type", "type"]


def test_the_cli_takes_a_type_and_refuses_an_unchecked_one_with_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    path = tmp_path / "r.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in (EST, UNDATED, NAMELESS)), encoding="utf-8")
    assert CliRunner().invoke(app, ["import", str(path), "--db", url, "--org", ORG]).exit_code == 0
    one = CliRunner().invoke(app, ["records", "gaps", "--db", url, "--org", ORG, "--type", "screening", "--json"])
    assert one.exit_code == 0, one.output
    body = json.loads(one.stdout)
    assert (body["checked"], body["undated_records_total"], body["incomplete_records_total"]) == (1, 0, 1)
    refused = CliRunner().invoke(app, ["records", "gaps", "--db", url, "--org", ORG, "--type", "patient"])
    assert refused.exit_code == 2 and "no gap check applies to 'patient'" in refused.stderr, refused.output


def test_the_gaps_are_worked_out_again_only_after_something_was_written(engine: Engine,
                                                                         monkeypatch: Any) -> None:
    """Large-practice probe (session 42): every load of the Data gaps page read the 250,000 checked
    records again (2.4 s)."""
    walks: list[str] = []
    real = service._passed_over

    def counted(session: Any, *, org_id: str, types: Any) -> Any:
        walks.append(org_id)
        return real(session, org_id=org_id, types=types)

    monkeypatch.setattr(service, "_passed_over", counted)
    imported(engine, [EST, UNDATED])
    for _ in range(3):
        with db.unit_of_work(engine) as session:
            first = service.passed_over(session, org_id=ORG)
    assert walks == [ORG] and first.undated_records_total == 1
    imported(engine, [{**UNDATED, "discovered_at": "2026-01-05T15:00:00Z"}])  # a later version gives the date
    with db.unit_of_work(engine) as session:
        assert service.passed_over(session, org_id=ORG).undated_records_total == 0
    assert walks == [ORG, ORG]
