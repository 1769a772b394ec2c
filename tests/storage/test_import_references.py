"""An import names the records its records refer to but the organization does not hold (yet): by
record and field, as a warning (the import still succeeds), on SQLite and PostgreSQL, and through
the CLI and the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from typer.testing import CliRunner

import engine.cli.records  # noqa: F401  (registers the commands)
from engine import db
from engine.cli.app import app
from engine.records import references, service
from engine.records.schemas import RECORD_MODELS, ImportReport

PERSON = {"type": "person", "id": "P-1", "first_name": "Ada", "last_name": "Quill"}


def training(record_id: str, person_id: str) -> dict[str, Any]:
    return {"type": "training_record", "id": record_id, "person_id": person_id, "course": "HIPAA_PRIVACY",
            "completed_at": "2026-01-05T15:00:00Z"}


def imported(engine: Engine, records: list[dict[str, Any]], org_id: str = "org-a") -> ImportReport:
    with db.unit_of_work(engine) as session:
        return service.import_records(session, org_id=org_id, records=records, actor="user:ann", source="test")


def test_a_reference_to_an_unknown_person_is_named_and_the_records_still_import(engine: Engine) -> None:
    report = imported(engine, [PERSON, training("T-1", "P-1"), training("T-2", "P-9"), training("T-3", "P-9")])
    assert report.created == 4
    (warning,) = report.unknown_references
    assert (warning.record_type, warning.record_id, warning.field) == ("training_record", "T-2", "person_id")
    assert (warning.names_type, warning.names_id, warning.records) == ("person", "P-9", 2)
    assert warning.reason.startswith("names person 'P-9' (and 1 more record), which this organization holds no")
    assert report.unknown_references_total == 1


def test_a_record_stored_by_an_earlier_import_or_in_another_file_of_this_one_is_known(engine: Engine) -> None:
    assert imported(engine, [PERSON]).unknown_references == []
    assert imported(engine, [training("T-1", "P-1")]).unknown_references == []
    # both sides in one import, the reference first
    assert imported(engine, [training("T-2", "P-2"), {**PERSON, "id": "P-2"}]).unknown_references == []


def test_another_organizations_record_does_not_count(engine: Engine) -> None:
    imported(engine, [PERSON], org_id="org-b")
    (warning,) = imported(engine, [training("T-1", "P-1")]).unknown_references
    assert warning.record_id == "T-1"


def test_each_id_of_a_list_field_is_checked(engine: Engine) -> None:
    system = {"type": "system", "id": "S-1", "name": "EHR", "stores_ephi": True}
    analysis = {"type": "risk_analysis", "id": "RA-1", "completed_at": "2026-01-05T15:00:00Z",
                "scope_system_ids": ["S-1", "S-2"]}
    (warning,) = imported(engine, [system, analysis]).unknown_references
    assert (warning.field, warning.reason.split(",")[0]) == ("scope_system_ids", "names system 'S-2'")


def test_past_the_shown_number_the_rest_are_counted(engine: Engine) -> None:
    records = [training(f"T-{i:03d}", f"P-{i:03d}") for i in range(references.SHOWN + 5)]
    report = imported(engine, records)
    assert len(report.unknown_references) == references.SHOWN
    assert report.unknown_references_total == references.SHOWN + 5


def test_every_field_naming_a_record_is_checked() -> None:
    """A new `*_id` field is either in REFERENCES or named here as naming no record."""
    names_no_record = {("access_event", "user_id"), ("account", "user_id"), ("care_link", "department_id"),
                       ("measure_case", "measure_id")}
    id_fields = {(t, f) for t, model in RECORD_MODELS.items() for f in model.model_fields
                 if f.endswith(("_id", "_ids")) and f != "id"}
    mapped = {(t, f) for t, fields in references.REFERENCES.items() for f in fields}
    assert id_fields - names_no_record == mapped
    assert {target for fields in references.REFERENCES.values() for target in fields.values()} <= set(RECORD_MODELS)


def test_the_cli_says_so_on_stderr_and_in_json(tmp_path: Path) -> None:
    path = tmp_path / "t.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in (PERSON, training("T-2", "P-9"))), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    shown = CliRunner().invoke(app, ["import", str(path), "--db", url])
    assert shown.exit_code == 0, shown.output
    assert ("warning: training_record 'T-2' person_id: names person 'P-9', which this organization holds no "
            "record of; import it, or correct the id") in shown.stderr
    path.write_text(json.dumps(training("T-3", "P-8")) + "\n", encoding="utf-8")
    as_json = CliRunner().invoke(app, ["import", str(path), "--db", url, "--json"])
    assert as_json.exit_code == 0, as_json.output
    (warning,) = json.loads(as_json.stdout)["unknown_references"]
    assert warning["record_id"] == "T-3"


def test_the_cli_lists_twenty_and_counts_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "t.ndjson"
    path.write_text("".join(json.dumps(training(f"T-{i:02d}", f"P-{i:02d}")) + "\n" for i in range(23)),
                    encoding="utf-8")
    shown = CliRunner().invoke(app, ["import", str(path), "--db", f"sqlite:///{tmp_path / 'cli.db'}"])
    assert shown.exit_code == 0, shown.output
    lines = shown.stderr.splitlines()
    assert len(lines) == 21 and lines[19].startswith("warning: training_record 'T-19' person_id: names person")
    assert lines[-1] == "warning: ... and 3 more unknown references (--json lists up to 23)"
