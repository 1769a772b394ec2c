"""The audit entries about given entities are read through an index (revision 0009): a scoped
auditor's run list recounts each run from its `evaluation.run` entry, and on a trail of a million
entries every recount had read the organisation's whole chain (docs/audit.md, Reading by entity)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, event, exc, inspect, text
from sqlalchemy.orm import Session

from engine import migrate, models
from engine.audit import service as audit_service
from engine.audit.schemas import AuditQuery
from engine.db import Base
from tests.conftest import make_test_engine

INDEX = "ix_audit_entries_org_id_entity_id_action"
COLUMNS = ["org_id", "entity_id", "action"]


@pytest.fixture(params=["sqlite", "postgresql"])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from make_test_engine(request.param, tmp_path, migrate=False)


def _entries(engine: Engine) -> None:
    """A few entries of two organisations: runs, and other actions about the same ids."""
    models.load_all()
    for org in ("o", "p"):
        with Session(engine) as session, session.begin():
            for n in range(3):
                audit_service.append(session, org_id=org, actor="system", action="evaluation.run",
                                     entity_type="run", entity_id=f"RUN-{n}", payload={"opened": [f"F-{n}"]})
                audit_service.append(session, org_id=org, actor="system", action="run.note",
                                     entity_type="run", entity_id=f"RUN-{n}", payload={})


def _indexes(engine: Engine) -> dict[str, list[str]]:
    """The table's indexes and their columns (not PostgreSQL's index behind the unique constraint)."""
    return {str(i["name"]): [str(c) for c in i["column_names"]] for i in inspect(engine).get_indexes("audit_entries")
            if not i.get("duplicates_constraint")}


def _refuses_update_and_delete(engine: Engine) -> None:
    for statement in ("UPDATE audit_entries SET actor = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(exc.DBAPIError, match="audit_entries is append-only"), engine.begin() as conn:
            conn.execute(text(statement))


def test_a_database_at_0008_with_entries_gets_the_index_and_keeps_its_entries_and_guard(blank: Engine) -> None:
    command.upgrade(migrate.alembic_config(blank), "0008")
    _entries(blank)
    assert INDEX not in _indexes(blank)
    migrate.upgrade(blank)
    assert _indexes(blank)[INDEX] == COLUMNS
    _refuses_update_and_delete(blank)  # a plain CREATE INDEX: no batch recreated the table without its triggers
    with Session(blank) as session:
        assert audit_service.verify(session, org_id=None).ok
        got = list(audit_service.entries_of_action(session, org_id="o", action="evaluation.run",
                                                   entity_ids={"RUN-2", "RUN-0"}))
    assert [(e.org_id, e.entity_id, e.payload) for e in got] == [
        ("o", "RUN-0", {"opened": ["F-0"]}), ("o", "RUN-2", {"opened": ["F-2"]})]


def test_the_downgrade_drops_the_index_and_leaves_the_guard(blank: Engine) -> None:
    migrate.upgrade(blank)
    _entries(blank)
    command.downgrade(migrate.alembic_config(blank), "0008")
    assert INDEX not in _indexes(blank)
    _refuses_update_and_delete(blank)


def test_a_database_made_before_migrations_with_0008s_schema_gets_the_index_when_adopted(blank: Engine) -> None:
    """Its columns match 0009 too (an index leaves no mark on them), so it is stamped past the
    revision that creates the index without it having run: the adoption creates it."""
    command.upgrade(migrate.alembic_config(blank), "0008")
    _entries(blank)
    with blank.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    migrate.upgrade(blank)
    assert _indexes(blank) == {str(i.name): [c.name for c in i.columns]  # as the models have them
                               for i in Base.metadata.tables["audit_entries"].indexes}


def _plans(engine: Engine, read: Any) -> list[str]:
    """SQLite's plan of every statement `read(session)` runs."""
    ran: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            ran.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with Session(engine) as session:
            read(session)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    with engine.connect() as conn:
        return [" ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
                for statement, parameters in ran]


@pytest.mark.parametrize("read", [
    lambda s: list(audit_service.entries_of_action(s, org_id="o", action="evaluation.run",
                                                   entity_ids={"RUN-0", "RUN-1"})),
    lambda s: audit_service.entries_page(s, org_id="o", where=AuditQuery(entity="run/RUN-1")),
], ids=["recount", "trail-of-one-entity"])
def test_sqlite_reads_the_entries_of_given_entities_through_the_index(tmp_path: Path, read: Any) -> None:
    """Without statistics SQLite's plan does not depend on the rows, so a small table shows the
    plan a million entries get. The recount had walked the whole chain by (org_id, org_seq) to
    skip sorting its rows in chain order."""
    for engine in make_test_engine("sqlite", tmp_path):
        _entries(engine)
        plans = _plans(engine, read)
        assert plans and all(f"USING INDEX {INDEX} (org_id=? AND entity_id=?" in plan for plan in plans), plans
