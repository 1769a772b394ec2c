"""On PostgreSQL a writer waits for the practice's lock only so long, and a server that does not
answer is an outage, not bad input.

Found by a PostgreSQL parity pass (session 42): a command or request waited for ever behind a stuck
session holding the practice's lock (the change landing a minute after the browser gave up), and
`--db` naming a server that was down exited 2 (bad input) where a connection lost mid-command
exits 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

import engine.cli.findings  # noqa: F401  (registers the commands)
from engine import db
from engine.audit import service as audit
from engine.cli.app import app
from tests.conftest import make_test_engine


@pytest.fixture
def pg_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("VIGIL_PG_LOCK_TIMEOUT_MS", "300")
    yield from make_test_engine("postgresql", tmp_path)


def _append(engine: Engine) -> None:
    with db.unit_of_work(engine) as s:
        audit.append(s, org_id="o", actor="t", action="test.write", entity_type="test", entity_id="1", payload={})


def test_a_writer_gives_up_waiting_for_a_held_practice_lock(pg_engine: Engine) -> None:
    holder = pg_engine.connect()
    held = holder.begin()
    db.hold_lock(holder, "vigil.audit:o")
    try:
        with pytest.raises(OperationalError) as waited:
            _append(pg_engine)
        assert getattr(waited.value.orig, "sqlstate", None) == "55P03"  # lock_timeout, not a hang
    finally:
        held.rollback()
        holder.close()
    _append(pg_engine)  # the lock released, the write goes through


def test_a_database_server_that_does_not_answer_is_an_outage() -> None:
    result = CliRunner().invoke(app, ["findings", "list", "--db", "postgresql+psycopg://postgres@127.0.0.1:1/none"])
    assert result.exit_code == 1, result.output
    assert "[database.unreachable]" in result.output and "Is the database server running" in result.output


def test_a_database_that_does_not_exist_on_a_running_server_is_bad_input(pg_engine: Engine) -> None:
    """Session 46's operations pass: the server answered "database does not exist" and the command
    said it could not reach it and to run it again once it answers (exit 1); docs/operations.md
    says a database that does not exist is bad input."""
    url = pg_engine.url.set(database="vigil_no_such_database").render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["findings", "list", "--db", url])
    said = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "[input.database]" in said and 'database "vigil_no_such_database" does not exist' in said
    assert "createdb" in said and "Is the database server running" not in said
