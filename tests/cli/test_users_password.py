"""`vigil users passwd USERNAME` (prompted twice, or --password) and `vigil users unlock USERNAME`."""

from __future__ import annotations

import json

from sqlalchemy import select

from engine import db as dbmod
from engine.audit.tables import AuditEntryRow
from engine.auth import service as auth
from engine.errors import AuthenticationError
from tests.cli.conftest import ORG, Practice, said, vigil


def _login(practice: Practice, password: str) -> str:
    engine = dbmod.make_engine(practice.url)
    try:
        with dbmod.unit_of_work(engine) as s:
            auth.authenticate(s, username="pat", password=password)
        return "ok"
    except AuthenticationError as exc:
        return exc.code
    finally:
        engine.dispose()


def _add_pat(practice: Practice) -> None:
    r = vigil("users", "add", "pat", "--role", "officer", "--password", "first-password-1", *practice.args())
    assert r.exit_code == 0, r.output


def test_passwd_prompts_twice_and_ends_tokens(practice: Practice) -> None:
    _add_pat(practice)
    token = vigil("users", "token", "pat", *practice.args()[:2])
    assert token.exit_code == 0, token.output
    r = vigil("users", "passwd", "pat", *practice.args(), input="second-password-2\nsecond-password-2\n")
    assert r.exit_code == 0, r.output
    assert "revoked" in r.stdout and "second-password" not in r.stdout
    assert _login(practice, "second-password-2") == "ok"
    assert _login(practice, "first-password-1") == "auth.invalid_credentials"
    engine = dbmod.make_engine(practice.url)
    with dbmod.unit_of_work(engine) as s:
        entry = s.scalar(select(AuditEntryRow).where(AuditEntryRow.action == "user.password_reset"))
        assert entry is not None and entry.payload["tokens_revoked"] == 1
        assert "password-2" not in repr(entry.payload)
    engine.dispose()


def test_passwd_refuses_a_guessable_password_naming_the_field(practice: Practice) -> None:
    _add_pat(practice)
    for bad, why in ((" " * 12, "spaces only"), ("short", "10 to 200 characters")):
        r = vigil("users", "passwd", "pat", "--password", bad, *practice.args())
        assert r.exit_code == 2, r.output
        assert "password" in said(r.output) and why in said(r.output)
    r = vigil("users", "add", "frontdesk-1", "--role", "staff", "--password", "FrontDesk-1", *practice.args())
    assert r.exit_code == 2 and "the password is the username" in said(r.output), r.output
    assert _login(practice, "first-password-1") == "ok"


def test_unlock_clears_the_lockout(practice: Practice) -> None:
    _add_pat(practice)
    for i in range(6):
        _login(practice, f"wrong-guess-{i}")
    assert _login(practice, "first-password-1") == "auth.locked"
    r = vigil("users", "unlock", "pat", *practice.args())
    assert r.exit_code == 0 and "unlocked (5 failed logins cleared)" in r.stdout, r.output
    assert _login(practice, "first-password-1") == "ok"
    assert vigil("users", "unlock", "nobody", "--db", practice.url, "--org", ORG).exit_code == 2


def test_an_admin_lists_and_revokes_a_users_tokens(practice: Practice) -> None:
    """The docs probe: tokens could be listed and revoked only over the API (GET /users/{u}/tokens,
    DELETE /tokens/{id}); the CLI could issue them and nothing more."""
    _add_pat(practice)
    issued = vigil("users", "token", "pat", "--name", "nightly export", "--json", *practice.args())
    assert issued.exit_code == 0, issued.output
    token_id = json.loads(issued.stdout)["id"]
    listed = vigil("users", "tokens", "pat", "--json", *practice.args())
    assert listed.exit_code == 0 and [(t["id"], t["name"]) for t in json.loads(listed.stdout)] == [
        (token_id, "nightly export")]
    assert "vgl_" not in listed.stdout and token_id in vigil("users", "tokens", "pat", *practice.args()).stdout
    assert vigil("users", "revoke-token", token_id, *practice.args()).exit_code == 0
    again = vigil("users", "revoke-token", token_id, *practice.args())
    assert again.exit_code == 1 and "revoked" in said(again.stderr)  # a conflict: the first revocation stands
    assert json.loads(vigil("users", "tokens", "pat", "--json", *practice.args()).stdout)[0]["revoked_at"]
    unknown = vigil("users", "revoke-token", "TK-nothing", *practice.args())
    assert unknown.exit_code == 2 and "no token" in said(unknown.stderr)


def test_token_ids_are_not_task_ids(practice: Practice) -> None:
    """The docs probe: API token ids began T-, as task ids do."""
    _add_pat(practice)
    issued = vigil("users", "token", "pat", "--json", *practice.args())
    assert json.loads(issued.stdout)["id"].startswith("TK-")
