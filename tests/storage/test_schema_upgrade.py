"""Opening a database with a newer Vigil upgrades it for good (operations.md, Upgrades): the person
is told, each organization's trail keeps it, and a step that fails leaves the database whole at the
last step that completed, saying where it stopped. The upgrade probe (session 29) found it silent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from engine import db as dbmod
from engine import migrate
from engine.audit import service as audit_service
from engine.cli.main import app
from tests.conftest import PG_URL, make_test_engine

HEAD = "0007"


@pytest.fixture(params=["sqlite", "postgresql"])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from make_test_engine(request.param, tmp_path, migrate=False)


def _url(engine: Engine) -> str:
    """The URL the CLI is given for `engine` (PostgreSQL: the test's schema as its search_path)."""
    if engine.dialect.name == "sqlite":
        return engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        schema = conn.execute(text("SHOW search_path")).scalar_one()
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def _at(engine: Engine, revision: str) -> None:
    """The database as an older Vigil left it: its schema at `revision`, one record of org `o`."""
    command.upgrade(migrate.alembic_config(engine), revision)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO record_version (org_id, record_type, record_id, version, data, content_hash, "
            "recorded_at, actor, source) VALUES ('o', 'system', 'S-1', 1, '{}', 'h', "
            "'2026-11-30 00:00:00', 'a', 's')"))


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _vigil(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_opening_an_older_database_says_it_was_upgraded_and_each_organizations_trail_keeps_it(blank: Engine) -> None:
    _at(blank, "0005")
    first = _vigil("records", "show", "system", "S-1", "--db", _url(blank), "--org", "o", "--json")
    assert first.exit_code == 0, first.output  # type: ignore[attr-defined]
    said = " ".join(first.stderr.split())  # type: ignore[attr-defined]
    assert f"Upgraded this database's schema from '0005' to '{HEAD}'" in said
    assert "an older Vigil can no longer open it" in said
    assert _revision(blank) == HEAD
    with dbmod.unit_of_work(blank) as session:
        entries = audit_service.list_entries(session, org_id="o", limit=10)
        assert [(e.action, e.actor, e.payload["from_revision"], e.payload["to_revision"]) for e in entries] == [
            ("database.upgraded", "system:upgrade", "0005", HEAD)]
        assert audit_service.verify(session, org_id="o").ok
    again = _vigil("records", "show", "system", "S-1", "--db", _url(blank), "--org", "o", "--json")
    assert again.exit_code == 0 and "Upgraded" not in again.stderr  # type: ignore[attr-defined]


def test_a_new_database_is_set_up_without_any_upgrade_said(tmp_path: Path) -> None:
    made = _vigil("users", "add", "dana", "--role", "officer", "--password", "correct horse battery",
                  "--db", f"sqlite:///{tmp_path / 'new.db'}")
    assert made.exit_code == 0, made.output  # type: ignore[attr-defined]
    assert "Upgraded" not in made.stderr  # type: ignore[attr-defined]


def test_a_step_that_fails_leaves_the_database_at_the_last_step_that_completed_and_says_so(blank: Engine) -> None:
    _at(blank, "0004")
    with blank.begin() as conn:  # revision 0006 creates this table: its step fails
        conn.execute(text("CREATE TABLE ruleset_blob (x integer)"))
    failed = _vigil("records", "show", "system", "S-1", "--db", _url(blank), "--org", "o", "--json")
    assert failed.exit_code == 1, failed.output  # type: ignore[attr-defined]
    said = " ".join(failed.stderr.replace("│", " ").split())  # type: ignore[attr-defined]
    assert f"[database.upgrade_failed] the upgrade of this database's schema from '0004' to '{HEAD}' stopped at " \
           "'0005'" in said, said
    assert "run the command again" in said and "Traceback" not in failed.output  # type: ignore[attr-defined]
    assert _revision(blank) == "0005"
    with blank.begin() as conn:
        conn.execute(text("DROP TABLE ruleset_blob"))
    finished = _vigil("records", "show", "system", "S-1", "--db", _url(blank), "--org", "o", "--json")
    assert finished.exit_code == 0, finished.output  # type: ignore[attr-defined]
    assert "from '0005'" in " ".join(finished.stderr.split())  # type: ignore[attr-defined]
    assert _revision(blank) == HEAD
