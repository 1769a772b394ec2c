"""Passwords: a user changes their own (POST /me/password, from a session, with the current one),
an admin resets one (POST /users/{username}/password) or unlocks an account; each ends the user's
other sessions and every API token and is audited without the password. Guessable passwords
(blank, the username, a common word with digits about it, a run of keys) are refused naming the
field. A web session ends after 30 idle minutes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from engine import clock
from engine.audit.tables import AuditEntryRow
from engine.auth.tables import TokenRow
from engine.db import unit_of_work
from tests.api.conftest import ORG, headers


def _login(api: dict[str, Any], username: str, password: str) -> Any:
    return api["client"].post("/auth/login", json={"username": username, "password": password})


def _trail(api: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    with unit_of_work(api["engine"]) as s:
        return [(e.action, e.payload) for e in s.scalars(
            select(AuditEntryRow).where(AuditEntryRow.org_id == ORG).order_by(AuditEntryRow.org_seq))]


def test_a_user_changes_their_own_password(api: dict[str, Any]) -> None:
    c = api["client"]
    other = _login(api, "officer", "officer-password").cookies
    mine = _login(api, "officer", "officer-password").cookies
    body = {"current_password": "officer-password", "new_password": "a-better-passphrase"}
    wrong = c.post("/me/password", cookies=mine, json={**body, "current_password": "not-it-at-all"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "current_password"
    r = c.post("/me/password", cookies=mine, json=body)
    assert r.status_code == 200, r.text
    assert c.get("/me", cookies=mine).status_code == 200  # this session goes on
    assert c.get("/me", cookies=other).status_code == 401  # the other one ended
    assert c.get("/me", headers=headers(api, "officer")).status_code == 401  # and the API token
    assert _login(api, "officer", "officer-password").status_code == 401
    assert _login(api, "officer", "a-better-passphrase").status_code == 200
    action, payload = [e for e in _trail(api) if e[0] == "user.password_change"][0]
    assert payload["sessions_ended"] == 1 and payload["tokens_revoked"] == 1
    assert "passphrase" not in repr(_trail(api)) and "officer-password" not in repr(_trail(api))


def test_an_api_token_cannot_change_the_password(api: dict[str, Any]) -> None:
    r = api["client"].post("/me/password", headers=headers(api, "staff"),
                           json={"current_password": "staff-password", "new_password": "a-better-passphrase"})
    assert r.status_code == 403 and r.json()["code"] == "auth.token_changes_password"


def test_an_admin_resets_a_password_and_unlocks_an_account(api: dict[str, Any]) -> None:
    c, admin = api["client"], headers(api, "admin")
    for i in range(6):
        _login(api, "staff", f"wrong-guess-{i}")
    assert _login(api, "staff", "staff-password").json()["code"] == "auth.locked"
    r = c.post("/users/staff/password", headers=admin, json={"password": "reset-by-admin-1"})
    assert r.status_code == 200, r.text
    assert c.get("/me", headers=headers(api, "staff")).status_code == 401  # their token ended
    unlocked = c.post("/users/staff/unlock", headers=admin)
    assert unlocked.status_code == 200 and unlocked.json()["was_locked"] is True
    assert unlocked.json()["failures_cleared"] == 5
    assert _login(api, "staff", "reset-by-admin-1").status_code == 200
    actions = [a for a, _ in _trail(api)]
    assert {"user.password_reset", "auth.unlock", "auth.locked", "auth.login"} <= set(actions)
    assert "reset-by-admin" not in repr(_trail(api))
    assert c.post("/users/nobody/password", headers=admin, json={"password": "reset-by-admin-1"}).status_code == 404
    assert c.post("/users/staff/unlock", headers=headers(api, "officer")).status_code == 403


@pytest.mark.parametrize("password, why", [
    (" " * 12, "spaces only"), ("RECEPTIONIST", "the username"), ("receptionist2026!", "the username"),
    ("password1234", "the common word 'password'"), ("Welcome2026!", "the common word 'welcome'"),
    ("1234567890", "a run such as"), ("zzzzzzzzzzzz", "one or two characters repeated"),
    ("poiuytrewq", "a run such as"), ("1234567890!", "a run such as"), ("abcdefghijk1", "a run such as"),
    ("password<>", "the common word 'password'"), ("receptionist99!!!!", "the username"),
    ("P@ssw0rd2024!", "the common word 'password'"), ("1qaz2wsx3edc", "a run such as"),
    ("zaq12wsxcde3", "a run such as"), ("abc123abc123", "a short piece said again"),
    ("Hello!Hello!Hello!", "a short piece said again"), ("bonbonbonbon12", "a short piece said again"),
])
def test_guessable_passwords_are_refused_naming_the_field(api: dict[str, Any], password: str, why: str) -> None:
    c, admin = api["client"], headers(api, "admin")
    r = c.post("/users", headers=admin, json={"username": "receptionist", "password": password, "role": "admin"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.password", r.text
    assert why in r.json()["errors"][0]["reason"]
    assert c.post("/users", headers=admin, json={"username": "receptionist", "password": "front-desk-2026",
                                                 "role": "staff"}).status_code == 201
    r = c.post("/users/receptionist/password", headers=admin, json={"password": password})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password", r.text
    assert why in r.json()["errors"][0]["reason"]
    session = _login(api, "receptionist", "front-desk-2026").cookies
    r = c.post("/me/password", cookies=session, json={"current_password": "front-desk-2026",
                                                      "new_password": password})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "new_password", r.text
    assert _login(api, "receptionist", "front-desk-2026").status_code == 200  # nothing changed


T0 = dt.datetime(2030, 5, 1, 9, 0, tzinfo=dt.UTC)


def _last_seen(api: dict[str, Any]) -> dt.datetime | None:
    with unit_of_work(api["engine"]) as s:
        row = s.scalar(select(TokenRow).where(TokenRow.kind == "session"))
        assert row is not None
        return row.last_seen_at.replace(tzinfo=dt.UTC) if row.last_seen_at else None


def test_a_session_ends_after_30_idle_minutes(api: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_SESSION_IDLE_MINUTES", raising=False)
    c = api["client"]
    with clock.frozen(T0) as now:
        cookies = _login(api, "officer", "officer-password").cookies
        now.set(T0 + dt.timedelta(minutes=20))
        assert c.get("/me", cookies=cookies).status_code == 200
        assert _last_seen(api) == T0 + dt.timedelta(minutes=20)
        now.set(T0 + dt.timedelta(minutes=20, seconds=30))
        assert c.get("/me", cookies=cookies).status_code == 200
        assert _last_seen(api) == T0 + dt.timedelta(minutes=20)  # not a write on every request
        now.set(T0 + dt.timedelta(minutes=45))
        assert c.get("/me", cookies=cookies).status_code == 200  # 25 minutes after its last use
        now.set(T0 + dt.timedelta(minutes=76))
        r = c.get("/me", cookies=cookies)
        assert r.status_code == 401 and r.json()["code"] == "auth.session_idle"


def test_the_idle_timeout_is_a_setting(api: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_SESSION_IDLE_MINUTES", "0")
    with clock.frozen(T0) as now:
        cookies = _login(api, "officer", "officer-password").cookies
        now.set(T0 + dt.timedelta(hours=3))
        assert api["client"].get("/me", cookies=cookies).status_code == 200


@pytest.mark.parametrize("password", ["correct horse battery staple", "Tr0ub4dor&3x", "flight 789 to denver",
                                      "345 Park Avenue Suite B", "blue-heron-47", "my dog ate 2 socks",
                                      "tom-tom drums 88"])
def test_a_passphrase_with_a_number_in_it_is_not_taken_for_a_run(password: str) -> None:
    """A number inside words had been judged alone, so "room 234 is cold" read as the run 234."""
    from engine.auth.schemas import password_problem

    assert password_problem(password, username="receptionist") is None
    assert password_problem("98765-4321!", username="12345") is None  # digits on both sides are no username
