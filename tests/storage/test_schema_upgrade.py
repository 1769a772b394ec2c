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

HEAD = "0011"


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
    failed = _vigil("records", "show", "system", "S-1", "--db", _url(blank), "--org", "o")
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


def _unversioned(engine: Engine, revision: str) -> None:
    """The database as a Vigil from before migrations left it: the schema of `revision`, no revision table."""
    _at(engine, revision)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))


def test_a_database_made_before_migrations_is_adopted_at_its_own_revision_and_upgraded(blank: Engine) -> None:
    """Ops probe: one at 0001's schema had been stamped at head after only its missing tables were
    made, without the columns later revisions add (waiver.revoked_by, ...): every later command failed
    on them, and running again changed nothing."""
    _unversioned(blank, "0001")
    first = _vigil("records", "show", "system", "S-1", "--db", _url(blank), "--org", "o", "--json")
    assert first.exit_code == 0, first.output  # type: ignore[attr-defined]
    said = " ".join(first.stderr.split())  # type: ignore[attr-defined]
    assert f"from no revision (made before migrations) to '{HEAD}'" in said, said
    assert _revision(blank) == HEAD
    from sqlalchemy import inspect
    assert {"revoked_by", "revoked_at"} <= {c["name"] for c in inspect(blank).get_columns("waiver")}
    assert "cleared_at" in {c["name"] for c in inspect(blank).get_columns("login_attempt")}
    listed = _vigil("findings", "waivers", "--db", _url(blank), "--org", "o", "--json")
    assert listed.exit_code == 0, listed.output  # type: ignore[attr-defined]


def test_a_database_with_no_revision_that_matches_none_is_refused_naming_what_differs(blank: Engine) -> None:
    _unversioned(blank, "0004")
    with blank.begin() as conn:
        conn.execute(text("ALTER TABLE waiver DROP COLUMN revoked_by"))
    refused = _vigil("records", "show", "system", "S-1", "--db", _url(blank), "--org", "o")
    assert refused.exit_code == 1, refused.output  # type: ignore[attr-defined]
    said = " ".join(refused.stderr.replace("│", " ").split())  # type: ignore[attr-defined]
    assert "[database.schema_unknown]" in said and "missing columns" in said and "waiver.revoked_by" in said, said
    assert "Traceback" not in refused.output  # type: ignore[attr-defined]
    with blank.connect() as conn:  # nothing stamped
        assert "alembic_version" not in {r[0] for r in conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            if blank.dialect.name == "postgresql" else "SELECT name FROM sqlite_master WHERE type = 'table'"))}


def test_another_applications_tables_alone_are_a_new_database(blank: Engine) -> None:
    with blank.begin() as conn:
        conn.execute(text("CREATE TABLE their_table (x integer)"))
    made = _vigil("users", "add", "dana", "--role", "officer", "--password", "correct horse battery",
                  "--db", _url(blank))
    assert made.exit_code == 0, made.output  # type: ignore[attr-defined]
    assert "Upgraded" not in made.stderr and _revision(blank) == HEAD  # type: ignore[attr-defined]
