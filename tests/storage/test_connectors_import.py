"""Connectors through the import path on SQLite and PostgreSQL: FHIR AuditEvent -> access_event,
OIG LEIE -> screening; all or nothing, re-imports are no-ops."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from engine import clock, db
from engine.errors import ImportFormatError, InputError
from engine.records import service
from engine.records.connectors import leie_screen
from engine.records.schemas import ImportReport
from engine.records.tables import record_version
from tests.conftest import SHARED

ORG = "org-a"
FHIR_EXAMPLE: dict[str, Any] = json.loads(
    (SHARED / "formats" / "fhir" / "auditevent-r4-balp-patientread-example.json").read_text(encoding="utf-8"))
LEIE_EXAMPLE = SHARED / "formats" / "leie" / "leie-UPDATED-format-example.csv"
NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)


def rows(engine: Engine, record_type: str | None = None) -> int:
    query = select(func.count()).select_from(record_version)
    if record_type is not None:
        query = query.where(record_version.c.record_type == record_type)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def audit_event(i: int, **changes: Any) -> dict[str, Any]:
    resource = copy.deepcopy(FHIR_EXAMPLE)
    resource["id"] = f"ae-{i:05d}"
    resource["entity"][0]["what"]["reference"] = f"Patient/p{i % 7}"
    resource.update(changes)
    return resource


def import_fhir(engine: Engine, path: Path) -> ImportReport:
    with clock.frozen(NOW), db.unit_of_work(engine) as session:
        return service.import_files(session, org_id=ORG, paths=[path], fmt="fhir", actor="user:ann")


# ---- FHIR AuditEvent ----------------------------------------------------------------------------


def test_a_fhir_bundle_imports_as_access_events_and_again_as_unchanged(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "audit.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                "entry": [{"resource": audit_event(i)} for i in range(3)]}), encoding="utf-8")
    report = import_fhir(engine, path)
    assert (report.created, report.counts["access_event"].created) == (3, 3)
    with db.unit_of_work(engine) as session:
        stored = service.get_record(session, org_id=ORG, record_type="access_event", record_id="ae-00002")
    assert stored.data == {"type": "access_event", "id": "ae-00002", "system_id": "EHR production audit subsystem",
                           "user_id": "u123", "patient_id": "p2", "at": "2026-01-14T22:41:07-05:00",
                           "action": "view", "break_glass": False}
    assert import_fhir(engine, path).unchanged == 3
    assert rows(engine, "access_event") == 3


def test_one_unmappable_resource_in_a_large_ndjson_file_imports_nothing(engine: Engine, tmp_path: Path) -> None:
    resources = [audit_event(i) for i in range(2_500)]  # past two written batches of 1,000
    del resources[2_345]["recorded"]
    path = tmp_path / "AuditEvent.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    with pytest.raises(ImportFormatError) as info:
        import_fhir(engine, path)
    (detail,) = info.value.details
    assert (detail.line, detail.record_type, detail.record_id, detail.field) == (2_346, "AuditEvent", "ae-02345",
                                                                                 "recorded")
    assert info.value.message.endswith("nothing was imported")
    assert rows(engine) == 0


# ---- OIG LEIE -----------------------------------------------------------------------------------

LEIE_HEADER = LEIE_EXAMPLE.read_text(encoding="latin-1").splitlines()[0]
PEOPLE = [
    {"type": "person", "id": "P-1", "first_name": "Jane", "last_name": "Example", "dob": "1975-03-12"},
    {"type": "person", "id": "P-2", "first_name": "John", "last_name": "Sample"},  # no DOB: name only
    {"type": "person", "id": "P-3", "first_name": "Ada", "last_name": "Clean", "dob": "1980-05-05"},
    {"type": "person", "id": "P-4", "first_name": "Jane", "last_name": "Example", "dob": "1975-03-12"},  # no job
    {"type": "person", "id": "P-5", "first_name": "Rein", "last_name": "Stated", "dob": "1970-01-01"},
]
EPISODES = [{"type": "employment_episode", "id": f"E-{p}", "person_id": p, "start_at": "2025-01-06T08:00:00-08:00"}
            for p in ("P-1", "P-2", "P-3", "P-5")]
CHECKED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-8)))


def seed(engine: Engine) -> None:
    with clock.frozen(NOW - dt.timedelta(days=30)), db.unit_of_work(engine) as session:
        service.import_records(session, org_id=ORG, records=PEOPLE + EPISODES, actor="user:ann", source="seed")


def leie_file(tmp_path: Path) -> Path:
    path = tmp_path / "UPDATED.csv"
    reinstated = '"STATED","REIN","","","","","","0000000000","19700101","","","","","1128b4","20200101","20250101",' \
                 '"00000000",""'
    body = LEIE_EXAMPLE.read_text(encoding="latin-1").splitlines()[1:] + [reinstated]
    path.write_bytes(("\n".join([LEIE_HEADER, *body]) + "\n").encode("latin-1"))
    return path


def screen(engine: Engine, path: Path, checked_at: dt.datetime | None = CHECKED) -> ImportReport:
    with clock.frozen(NOW), db.unit_of_work(engine) as session:
        return leie_screen.screen_files(session, org_id=ORG, paths=[path], actor="user:ann", checked_at=checked_at)


def screenings(engine: Engine) -> dict[str, dict[str, Any]]:
    with db.unit_of_work(engine) as session:
        return {r.data["person_id"]: r.data for r in service.iter_records(session, org_id=ORG, types=["screening"])}


def test_the_workforce_is_screened_one_record_per_person(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    path = leie_file(tmp_path)
    report = screen(engine, path)
    assert report.counts["screening"].created == 4
    found = screenings(engine)
    assert {p: s["result"] for p, s in found.items()} == {
        "P-1": "excluded", "P-2": "possible_match", "P-3": "clear", "P-5": "clear"}  # P-4 has no employment
    assert found["P-1"] == {"type": "screening", "id": "LEIE-20260302T170000Z-P-1", "person_id": "P-1",
                            "source": "LEIE", "checked_at": "2026-03-02T09:00:00-08:00", "result": "excluded"}
    again = screen(engine, path)
    assert (again.unchanged, again.created, again.updated) == (4, 0, 0)
    assert rows(engine, "screening") == 4


def test_without_checked_at_the_files_date_is_the_check_instant(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    path = leie_file(tmp_path)
    downloaded = dt.datetime(2026, 3, 3, 7, 30, 15, tzinfo=dt.UTC)
    os.utime(path, (downloaded.timestamp(), downloaded.timestamp()))
    assert screen(engine, path, checked_at=None).created == 4
    assert {s["checked_at"] for s in screenings(engine).values()} == {"2026-03-03T07:30:15Z"}
    assert screen(engine, path, checked_at=None).unchanged == 4, "the same file again is a no-op"
    later = (NOW + dt.timedelta(days=3)).timestamp()
    os.utime(path, (later, later))
    screen(engine, path, checked_at=None)
    assert "LEIE-20260315T120000Z-P-1" in {s["id"] for s in _all_screenings(engine)}, "never after now"


def _all_screenings(engine: Engine) -> list[dict[str, Any]]:
    with db.unit_of_work(engine) as session:
        return [r.data for r in service.iter_records(session, org_id=ORG, types=["screening"])]


def test_a_bad_leie_file_writes_no_screening(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    path = tmp_path / "UPDATED.csv"
    path.write_text(LEIE_HEADER + '\n"EXAMPLE","JANE","","","","","","0000000000","1975-03-12","","","","",'
                                  '"1128b4","20240115","00000000","00000000",""\n"SHORT"\n', encoding="utf-8")
    with pytest.raises(ImportFormatError) as info:
        screen(engine, path)
    assert [(d.line, d.field) for d in info.value.details] == [(2, "DOB"), (3, None)]
    assert rows(engine, "screening") == 0


def test_an_leie_file_with_only_the_header_writes_no_screening(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    path = tmp_path / "UPDATED.csv"
    path.write_text(LEIE_HEADER + "\n", encoding="utf-8")
    with pytest.raises(ImportFormatError) as info:
        screen(engine, path)
    (detail,) = info.value.details
    assert detail.file == str(path) and "holds no exclusion rows" in detail.reason
    assert rows(engine, "screening") == 0
    supplement = tmp_path / "2603EXCL.csv"
    supplement.write_text(LEIE_HEADER + "\n", encoding="utf-8")
    with pytest.raises(ImportFormatError):  # beside a good file, an empty one is still refused
        with clock.frozen(NOW), db.unit_of_work(engine) as session:
            leie_screen.screen_files(session, org_id=ORG, paths=[leie_file(tmp_path), supplement], actor="user:ann",
                                     checked_at=CHECKED)
    assert rows(engine, "screening") == 0


def test_an_leie_file_with_no_workforce_to_screen_is_refused_saying_so(engine: Engine, tmp_path: Path) -> None:
    """An import pass (session 42): into a database with no workforce yet it exited 0 with 'no records in
    UPDATED.csv', of a file of rows."""
    with pytest.raises(InputError) as refused:
        screen(engine, leie_file(tmp_path))
    assert refused.value.code == "input.no_workforce" and "nobody to screen" in refused.value.message
    assert _all_screenings(engine) == []
