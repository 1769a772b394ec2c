"""`vigil audit verify` holds users, auditor grants and API tokens to the entries written with them.

The auditor pass of 7 December widened a grant's window and expiry, made an auditor an admin and
un-revoked a revoked token with plain SQL, and verify said intact. Each is now named (which row,
which field, what the trail says and what the table says); the changes Vigil makes without such an
entry (a password reset, a session's last use, failed logins and an unlock) are not.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from engine import clock, db, pipeline
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.errors import AuditChainBroken, AuthenticationError
from tests.storage.test_audit_trail import tamper

T0 = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.UTC)
ORG = "org-1"


def _accounts(engine: Engine) -> dict[str, Any]:
    """An admin, an auditor with a grant (given twice: the first superseded) and two API tokens,
    one revoked; a staff user switched off and on again, whose password was reset."""
    with clock.frozen(T0), db.unit_of_work(engine) as s:
        admin = auth.create_user(s, org_id=ORG, actor="cli:root", data=UserIn(
            username="boss", password="correct horse battery staple", role="admin"))
        auditor = auth.create_user(s, org_id=ORG, actor="user:boss", data=UserIn(
            username="aud3", password="amber lantern quietly folds", role="auditor"))
        staff = auth.create_user(s, org_id=ORG, actor="user:boss", data=UserIn(
            username="sam", password="seven pebbles under moss", role="staff"))
        terms = {"framework": "hipaa", "window_from": dt.date(2026, 1, 1), "window_to": dt.date(2026, 3, 31),
                 "expires_at": T0 + dt.timedelta(days=30)}
        auth.grant_auditor(s, username="aud3", actor="user:boss", data=GrantIn(**terms))
        grant = auth.grant_auditor(s, username="AUD3", actor="user:boss", data=GrantIn(**terms | {
            "phi": "pseudonymised"}))
        kept = auth.issue_token(s, user_id=auditor.id, name="kept", ttl=dt.timedelta(days=5), actor="user:boss")
        revoked = auth.issue_token(s, user_id=auditor.id, name="revoked", ttl=dt.timedelta(days=5), actor="user:boss")
        auth.revoke_token(s, token_id=revoked.id, actor="user:boss")
        staff_token = auth.issue_token(s, user_id=staff.id, name="script", ttl=dt.timedelta(days=5), actor="user:boss")
        auth.set_active(s, org_id=ORG, username="sam", active=False, actor="user:boss")
        auth.set_active(s, org_id=ORG, username="sam", active=True, actor="user:boss")
        auth.reset_password(s, username="sam", password="nine lanterns over water", actor="user:boss")
    return {"admin": admin, "auditor": auditor, "staff": staff, "grant": grant, "kept": kept, "revoked": revoked,
            "staff_token": staff_token}


def _broken(engine: Engine) -> dict[tuple[str, str | None], list[str]]:
    with db.unit_of_work(engine) as s:
        report = pipeline.verify_audit(s, org_id=ORG)
    out: dict[tuple[str, str | None], list[str]] = {}
    for b in report.broken:
        out.setdefault((b.kind, b.record_id), []).append(b.reason)
    return out


def test_the_changes_vigil_makes_to_accounts_verify(engine: Engine) -> None:
    """A password reset and change, a session's last use, failed logins, a lock and an unlock, a
    user switched off and on, grants given, superseded and revoked, tokens issued and revoked: intact."""
    made = _accounts(engine)
    with clock.frozen(T0 + dt.timedelta(hours=1)):
        for _ in range(6):  # the sign-in's own transactions: one step at a time, as the faces take them
            with pytest.raises(AuthenticationError), db.unit_of_work(engine) as s:
                auth.authenticate(s, username="sam", password="not the password at all")
        with db.unit_of_work(engine) as s:
            auth.unlock_user(s, username="sam", actor="user:boss")
        with db.unit_of_work(engine) as s:
            auth.authenticate(s, username="sam", password="nine lanterns over water")
    with clock.frozen(T0 + dt.timedelta(hours=1)), db.unit_of_work(engine) as s:
        session_token = auth.issue_token(s, user_id=made["staff"].id, name="web session", ttl=auth.SESSION_TTL,
                                         kind="session", actor="user:sam")
        auth.resolve_token(s, token=session_token.token, touch=True)
    with clock.frozen(T0 + dt.timedelta(hours=1)), db.unit_of_work(engine) as s:
        auth.change_password(s, user_id=made["staff"].id, current_password="nine lanterns over water",
                             new_password="ten quiet owls at dusk", keep_token=session_token.token, actor="user:sam")
        auth.revoke_grant(s, grant_id=made["grant"].id, actor="user:boss")
    with db.unit_of_work(engine) as s:
        report = pipeline.verify_audit(s, org_id=ORG)
    assert report.ok, report.broken
    assert report.accounts_checked == 3 + 2 + 3  # users, grants, API tokens (the session has no entry)


def test_accounts_changed_behind_the_applications_back_are_named(engine: Engine) -> None:
    made = _accounts(engine)
    grant, kept, revoked = made["grant"].id, made["kept"].id, made["revoked"].id
    tamper(engine, "UPDATE auditor_grant SET window_from = '2020-01-01', window_to = '2026-12-31', "
                   "expires_at = :end WHERE id = :id", id=grant, end=T0 + dt.timedelta(days=900))
    tamper(engine, "UPDATE app_user SET role = 'admin' WHERE username = 'aud3'")
    tamper(engine, "UPDATE api_token SET revoked_at = NULL WHERE id = :id", id=revoked)
    tamper(engine, "UPDATE api_token SET expires_at = :end WHERE id = :id", id=kept, end=T0 + dt.timedelta(days=900))
    broken = _broken(engine)
    assert set(broken) == {("grant", grant), ("user", made["auditor"].id), ("token", revoked), ("token", kept)}
    window = sorted(broken["grant", grant])
    assert len(window) == 3 and any(
        "window_from reads 2020-01-01 in the database, but the audit trail says 2026-01-01 (grant.create, entry #"
        in reason for reason in window), window
    assert any("expires_at reads 2028-07-20" in reason for reason in window), window
    (role,) = broken["user", made["auditor"].id]
    assert role.startswith("user aud3: role reads admin in the database, but the audit trail says auditor "
                           "(user.create, entry #"), role
    (undone,) = broken["token", revoked]
    assert "reads as not revoked in the database, but the audit trail revoked it (token.revoke" in undone
    (extended,) = broken["token", kept]
    assert f"API token {kept} of aud3: expires_at reads 2028-07-20" in extended


def test_a_revocation_by_a_users_change_and_rows_with_no_entry_are_named(engine: Engine) -> None:
    """A token ended by its user's deactivation and password reset (no token.revoke of its own) is
    held revoked; a user, grant or token inserted by hand has no entry; a superseded grant un-revoked."""
    made = _accounts(engine)
    staff_token = made["staff_token"].id
    tamper(engine, "UPDATE api_token SET revoked_at = NULL WHERE id = :id", id=staff_token)
    tamper(engine, "UPDATE app_user SET active = :no WHERE username = 'boss'", no=False)
    tamper(engine, "UPDATE auditor_grant SET revoked_at = NULL WHERE phi = 'full'")
    tamper(engine, "INSERT INTO app_user (id, org_id, username, password_hash, role, display_name, active, "
                   "created_at) VALUES ('U-forged', :org, 'eve', 'x', 'admin', 'eve', :yes, :at)",
           org=ORG, yes=True, at=T0)
    tamper(engine, "INSERT INTO api_token (id, user_id, token_hash, name, kind, created_at, expires_at) "
                   "VALUES ('TK-forged', 'U-forged', :hash, 'x', 'api', :at, :end)",
           hash="f" * 64, at=T0, end=T0 + dt.timedelta(days=900))
    broken = _broken(engine)
    (ended,) = broken["token", staff_token]
    assert "the audit trail revoked it (user.deactivate, entry #" in ended, ended
    (switched,) = broken["user", made["admin"].id]
    assert "active reads False in the database, but the audit trail says True (user.create" in switched
    (superseded,) = [reasons for (kind, _), reasons in broken.items() if kind == "grant"]
    assert "revoked it (grant.revoke" in superseded[0]
    assert broken["user", "U-forged"] == ["user eve has no user.create entry: the account was written into the "
                                          "database without being created"]
    assert "has no token.issue entry" in broken["token", "TK-forged"][0]
    with db.unit_of_work(engine) as s:
        with pytest.raises(AuditChainBroken, match="is not what the audit trail last said of it"):
            pipeline.verify_audit(s, org_id=ORG).raise_if_broken()
    if engine.dialect.name == "sqlite":  # the PostgreSQL engine's schema is the fixture's, not the URL's
        from engine.cli.main import app

        result = CliRunner().invoke(app, ["audit", "verify", "--db", engine.url.render_as_string(hide_password=False),
                                          "--json"])
        assert result.exit_code == 1 and "U-forged" in result.output, result.output


def test_a_token_moved_to_another_user_is_named(engine: Engine) -> None:
    made = _accounts(engine)
    kept = made["kept"].id
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_token SET user_id = :admin WHERE id = :id"), {"admin": made["admin"].id,
                                                                                   "id": kept})
    (moved,) = _broken(engine)["token", kept]
    assert f"API token {kept} of boss: user reads boss in the database, but the audit trail says aud3" in moved
