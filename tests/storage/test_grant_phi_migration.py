"""Revision 0010 gives auditor grants `phi` and a pseudonym secret: every grant given before it
keeps showing what it showed (`full`), and a downgrade below it ends the pseudonymised grants in
force rather than let them read as full ones. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text

from engine import migrate
from tests.conftest import make_test_engine

GRANT = ("INSERT INTO auditor_grant (id, user_id, framework, window_from, window_to, expires_at, created_by, "
         "created_at{extra}) VALUES (:id, 'U-1', 'hipaa', '2026-01-01', '2026-12-31', '2099-01-01 00:00:00', 't', "
         "'2026-01-01 00:00:00'{values})")


@pytest.fixture(params=["sqlite", "postgresql"])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from make_test_engine(request.param, tmp_path, migrate=False)


def _user(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO app_user (id, org_id, username, password_hash, role, display_name, active, "
                          "created_at) VALUES ('U-1', 'o', 'aud', 'x', 'auditor', 'Aud', true, "
                          "'2026-01-01 00:00:00')"))


def test_a_grant_given_before_0010_shows_patients_as_it_did(blank: Engine) -> None:
    command.upgrade(migrate.alembic_config(blank), "0009")
    _user(blank)
    with blank.begin() as conn:
        conn.execute(text(GRANT.format(extra="", values="")), {"id": "G-old"})
    migrate.upgrade(blank)
    with blank.connect() as conn:
        assert conn.execute(text("SELECT phi, pseudonym_key FROM auditor_grant")).one() == ("full", None)


def test_a_downgrade_below_0010_ends_the_pseudonymised_grants_in_force(blank: Engine) -> None:
    migrate.upgrade(blank)
    _user(blank)
    with blank.begin() as conn:
        for grant_id, phi in (("G-full", "full"), ("G-pseudo", "pseudonymised")):
            conn.execute(text(GRANT.format(extra=", phi, pseudonym_key", values=", :phi, :key")),
                         {"id": grant_id, "phi": phi, "key": "ab" * 32 if phi == "pseudonymised" else None})
    command.downgrade(migrate.alembic_config(blank), "0009")
    with blank.connect() as conn:
        revoked = dict(conn.execute(text("SELECT id, revoked_at IS NOT NULL FROM auditor_grant")).all())
    assert revoked == {"G-full": False, "G-pseudo": True}
