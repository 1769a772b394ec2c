"""API tokens and the audit trail, on SQLite and PostgreSQL: an auditor with no grant in force is
refused a token by name (it would only ever answer 403), and every entry a request signed with an
API token writes names that token (`via_token`), so what a leaked token did can be listed."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner, Result

import engine.cli.audit  # noqa: F401  (registers the commands)
import engine.cli.users  # noqa: F401
from engine import clock, db
from engine.audit import service as audit_service
from engine.audit.tables import AuditEntryRow
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.auth.tables import TokenRow
from engine.cli.app import app
from engine.errors import InputError
from tests.clients import bearer_client
from tests.db_urls import cli_url

ORG = "clinic-a"
NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.usefixtures("fixture_rules_and_policies")


def vigil(*args: str) -> Result:
    with clock.frozen(NOW):
        return CliRunner(env={"COLUMNS": "250"}).invoke(app, list(args))


def _auditor(engine: Engine, username: str = "ext_auditor") -> str:
    with clock.frozen(NOW), db.unit_of_work(engine) as s:
        return auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
            username=username, password=f"{username}-password", role="auditor")).id


def _grant(engine: Engine, expires_at: dt.datetime, *, days_ago: int, username: str = "ext_auditor") -> str:
    with clock.frozen(NOW - dt.timedelta(days=days_ago)), db.unit_of_work(engine) as s:
        return auth.grant_auditor(s, username=username, actor="test", data=GrantIn(
            framework="demo", window_from=dt.date(2030, 1, 1), window_to=dt.date(2030, 3, 31),
            expires_at=expires_at)).id


def _api_tokens(engine: Engine) -> int:
    with db.unit_of_work(engine) as s:
        return len(list(s.scalars(select(TokenRow).where(TokenRow.kind == "api"))))


def test_an_auditor_with_no_grant_is_refused_an_api_token_naming_them_and_what_to_do(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    user_id = _auditor(engine)
    where = ("--db", cli_url(engine), "--org", ORG)
    never = vigil("users", "token", "ext_auditor", *where)
    assert never.exit_code == 2, never.output
    said = " ".join(never.stderr.split())
    assert "auditor 'ext_auditor' has no grant in force (no grant has ever been given to them)" in said
    assert "grant ext_auditor access first (vigil users grant ext_auditor --framework" in said
    assert _api_tokens(engine) == 0

    # a grant that ran out, then one revoked: the refusal says which, and when
    ran_out = _grant(engine, NOW - dt.timedelta(days=1), days_ago=30)
    expired = vigil("users", "token", "ext_auditor", *where)
    assert expired.exit_code == 2, expired.output
    assert (f"their last grant {ran_out} for demo ended on 2030-05-31 12:00 UTC"
            in " ".join(expired.stderr.split()))
    revoked = _grant(engine, NOW + dt.timedelta(days=30), days_ago=20)
    with clock.frozen(NOW - dt.timedelta(days=2)), db.unit_of_work(engine) as s:
        auth.revoke_grant(s, grant_id=revoked, actor="test")
    with clock.frozen(NOW), db.unit_of_work(engine) as s, pytest.raises(InputError) as exc:
        auth.issue_token(s, user_id=user_id, name="t", ttl=dt.timedelta(days=1), actor="test")
    assert exc.value.code == "input.no_grant" and exc.value.http_status == 422
    assert f"their last grant {revoked} for demo was revoked on 2030-05-30 12:00 UTC" in exc.value.message
    assert [d.field for d in exc.value.details] == ["username"]
    assert _api_tokens(engine) == 0

    _grant(engine, NOW + dt.timedelta(days=30), days_ago=1)
    given = vigil("users", "token", "ext_auditor", *where, "--json")
    assert given.exit_code == 0, given.output
    assert json.loads(given.stdout)["token"].startswith("vgl_") and _api_tokens(engine) == 1


def test_entries_written_with_an_api_token_name_it_and_the_chain_still_verifies(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    client, bearer = bearer_client(engine, org_id=ORG, role="admin")  # entries with no token before it
    with db.unit_of_work(engine) as s:
        token_id = s.scalars(select(TokenRow.id).where(TokenRow.kind == "api")).one()
    made = client.post("/users", headers=bearer, json={"username": "by_token", "password": "by-token-password",
                                                       "role": "officer"})
    assert made.status_code == 201, made.text
    signed_in = client.post("/auth/login", json={"username": "admin", "password": "admin-password"})
    assert signed_in.status_code == 200, signed_in.text
    by_session = client.post("/users", json={"username": "by_session", "password": "by-session-password",
                                             "role": "officer"})  # the session cookie, no token
    assert by_session.status_code == 201, by_session.text

    with db.unit_of_work(engine) as s:
        trail = {e.payload["username"]: e for e in s.scalars(
            select(AuditEntryRow).where(AuditEntryRow.action == "user.create"))}
        report = audit_service.verify(s, org_id=ORG)
    assert trail["by_token"].payload == {"username": "by_token", "role": "officer", "via_token": token_id}
    assert trail["by_token"].actor == trail["by_session"].actor == "user:admin"  # the actor is as it was
    assert "via_token" not in trail["by_session"].payload and "via_token" not in trail["admin"].payload
    assert report.ok, report.broken

    where = ("--db", cli_url(engine), "--org", ORG)
    listed = vigil("audit", "log", *where, "--token", token_id, "--json")
    assert listed.exit_code == 0, listed.output
    assert [(e["action"], e["payload"]["username"]) for e in json.loads(listed.stdout)] == [
        ("user.create", "by_token")]
    by_actor = vigil("audit", "log", *where, "--actor", "user:admin", "--action", "user.create", "--json")
    assert [e["payload"]["username"] for e in json.loads(by_actor.stdout)] == ["by_token", "by_session"]
    none = vigil("audit", "log", *where, "--token", "TK-000000000000")
    assert none.exit_code == 0 and "0 entries match" in none.stdout
    secret = vigil("audit", "log", *where, "--token", "vgl_pasted-secret")  # the secret, not the id: named, not "0"
    assert secret.exit_code == 2 and "0 entries" not in secret.stdout
    assert "not an API token's id" in " ".join(secret.stderr.split()), secret.stderr
    verified = vigil("audit", "verify", *where)
    assert verified.exit_code == 0, verified.output
