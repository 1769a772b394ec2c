"""The record store is append-only in the database, and `verify` checks every stored version against
its content hash and its import's audit entry (session 35 black-box pass: a version rewritten with
`UPDATE record_version` showed the forged value while `vigil audit verify` said "intact")."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, exc, inspect, text

from engine import clock, db, migrate, pipeline
from engine.audit.schemas import AuditVerifyReport
from engine.records import service
from tests.conftest import make_test_engine

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
ANN = {"type": "person", "id": "P-1", "first_name": "Ann", "last_name": "Lee"}
BOB = {"type": "person", "id": "P-2", "first_name": "Bob", "dob": "1980-01-02"}
SITE = {"type": "establishment", "id": "E-1", "name": "Clinic", "state": "CA"}
VISIT = {"type": "access_event", "id": "AE-1", "at": "2026-03-07T21:00:00-08:00", "action": "view"}


def imported(engine: Engine, *records: dict[str, Any], at: dt.datetime = T0) -> None:
    with clock.frozen(at), db.unit_of_work(engine) as session:
        service.import_records(session, org_id="o", records=list(records), actor="user:ann", source="test")


def verified(engine: Engine) -> AuditVerifyReport:
    with db.unit_of_work(engine) as session:
        return pipeline.verify_audit(session, org_id="o")


def behind_the_guard(engine: Engine, sql: str, **params: object) -> None:
    """Change record versions as an intruder who can switch the triggers off would."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # superuser: triggers off
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS record_version_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS record_version_no_delete"))
        conn.execute(text(sql), params)


@pytest.mark.parametrize("statement", ["UPDATE record_version SET actor = 'x'", "DELETE FROM record_version",
                                       "TRUNCATE record_version"])
def test_the_database_refuses_to_update_or_delete_a_record_version(engine: Engine, statement: str) -> None:
    if engine.dialect.name == "sqlite":  # SQLite has no TRUNCATE: an unqualified DELETE is its form
        statement = statement.replace("TRUNCATE", "DELETE FROM")
    imported(engine, ANN)
    with pytest.raises(exc.DBAPIError, match="record_version is append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM record_version")).scalars().all() == ["user:ann"]


def test_untouched_versions_verify_with_imports_sharing_an_instant(engine: Engine) -> None:
    """Two imports under one frozen instant (the demo's way) and a later update all check out: the
    versions of one instant are split between its imports in the order written."""
    imported(engine, ANN, SITE, VISIT)
    imported(engine, BOB)  # the same instant, another import
    imported(engine, {**ANN, "last_name": "Lee-Smith"}, at=T0 + dt.timedelta(days=1))
    report = verified(engine)
    assert report.ok, report.broken
    assert report.records_checked == 5


def test_a_version_edited_in_place_is_named_by_type_id_and_version(engine: Engine) -> None:
    imported(engine, ANN, BOB)
    forged = json.dumps({**ANN, "last_name": "Forged"})
    behind_the_guard(engine, "UPDATE record_version SET data = :d WHERE record_id = 'P-1'", d=forged)
    report = verified(engine)
    assert not report.ok
    (altered,) = report.broken
    assert (altered.kind, altered.record_type, altered.record_id, altered.version) == ("record", "person", "P-1", 1)
    assert "does not match its content hash" in altered.reason
    with pytest.raises(Exception, match="stored record person P-1 version 1 \\(org o\\)"):
        report.raise_if_broken()


def test_a_version_rewritten_with_its_content_hash_is_caught_by_its_imports_digest(engine: Engine) -> None:
    """Rewriting the data and recomputing its hash passes each version's own check; the digest the
    import's entry recorded of what it wrote does not."""
    imported(engine, ANN, BOB)
    forged = json.dumps({**ANN, "last_name": "Forged"}, sort_keys=True, separators=(",", ":"))
    behind_the_guard(engine, "UPDATE record_version SET data = :d, content_hash = :h WHERE record_id = 'P-1'",
                     d=forged, h=hashlib.sha256(forged.encode()).hexdigest())
    (broken,) = verified(engine).broken
    assert broken.kind == "import" and broken.org_seq == 1
    assert "no longer match the digest its entry recorded" in broken.reason and "by user:ann (test)" in broken.reason


def test_a_deleted_version_is_caught_by_its_imports_count(engine: Engine) -> None:
    imported(engine, ANN, BOB)
    imported(engine, SITE, at=T0 + dt.timedelta(hours=1))
    behind_the_guard(engine, "DELETE FROM record_version WHERE record_id = 'P-2'")
    (broken,) = verified(engine).broken
    assert (broken.kind, broken.org_seq) == ("import", 1)
    assert "wrote 2 record version(s); 1 with its recorded_at are stored: versions were deleted" in broken.reason


def test_a_version_no_import_wrote_is_named(engine: Engine) -> None:
    imported(engine, ANN)
    later = ("recorded_at + interval '3 days'" if engine.dialect.name == "postgresql"
             else "'2026-03-04 09:00:00.000000'")  # the instant as each database holds what the store writes
    behind_the_guard(engine, "INSERT INTO record_version (org_id, record_type, record_id, version, data, content_hash, "
                             "recorded_at, actor, source) SELECT org_id, record_type, 'P-9', 1, data, content_hash, "
                             f"{later}, actor, source FROM record_version")
    (stray,) = verified(engine).broken
    assert (stray.kind, stray.record_id, stray.version) == ("record", "P-9", 1)
    assert "has no records.import entry" in stray.reason


def test_the_import_entry_records_the_digest_of_what_it_wrote(engine: Engine) -> None:
    """An auditor can recompute it: one compact JSON line [type, id, version, content_hash] per
    version, in the order written."""
    imported(engine, ANN, BOB)
    imported(engine, ANN, at=T0 + dt.timedelta(hours=1))  # unchanged: writes nothing
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT record_type, record_id, version, content_hash FROM record_version "
                                 "ORDER BY pk")).all()
        payloads = [json.loads(p) if isinstance(p, str) else p for p in conn.execute(
            text("SELECT payload FROM audit_entries ORDER BY org_seq")).scalars()]
    lines = "".join(json.dumps(list(r), separators=(",", ":"), ensure_ascii=False) + "\n" for r in rows)
    assert payloads[0]["versions_sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    assert payloads[1]["versions_sha256"] == hashlib.sha256(b"").hexdigest()


def _at_0007_without_the_guard(blank: Engine, *, versioned: bool) -> None:
    """The database as a Vigil at revision 0007 left it, with one record version. 0001 now installs
    the triggers itself (the DDL event), so they are dropped, as such a database has none."""
    command.upgrade(migrate.alembic_config(blank), "0007")
    with blank.begin() as conn:
        conn.execute(text("INSERT INTO record_version (org_id, record_type, record_id, version, data, content_hash, "
                          "recorded_at, actor, source) VALUES ('o', 'system', 'S-1', 1, '{}', 'h', "
                          "'2026-11-30 00:00:00', 'a', 's')"))
        if blank.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER record_version_append_only ON record_version"))
        else:
            conn.execute(text("DROP TRIGGER record_version_no_update"))
            conn.execute(text("DROP TRIGGER record_version_no_delete"))
        if not versioned:  # made before Vigil had migrations
            conn.execute(text("DROP TABLE alembic_version"))


@pytest.mark.parametrize("versioned", [True, False], ids=["upgraded", "adopted"])
def test_a_database_from_before_the_guard_gets_it_when_opened(blank: Engine, versioned: bool) -> None:
    """Upgraded through 0008, or adopted at the newest revision its columns match (0008 too: triggers
    leave no mark on them, so it would never have run), it refuses UPDATE and DELETE afterwards."""
    _at_0007_without_the_guard(blank, versioned=versioned)
    migrate.upgrade(blank)
    assert "alembic_version" in inspect(blank).get_table_names()
    for statement in ("UPDATE record_version SET actor = 'x'", "DELETE FROM record_version"):
        with pytest.raises(exc.DBAPIError, match="record_version is append-only"), blank.begin() as conn:
            conn.execute(text(statement))


@pytest.fixture(params=["sqlite", "postgresql"])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from make_test_engine(request.param, tmp_path, migrate=False)
