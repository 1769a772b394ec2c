"""An auditor with no grant in force is refused at sign-in (403 `auth.no_grant`), told why (the
grant ended, was revoked, or none was ever given) and whom to ask, but only once the password is
right: a wrong one stays "wrong username or password". The refusal is in the audit trail
(`auth.login_refused`) and is no failed guess toward the lock-out. Signing in had succeeded and
every page after it answered 403 with nothing saying why."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from engine import clock
from engine.api.app import create_app
from engine.audit.tables import AuditEntryRow
from engine.auth import service as auth
from engine.auth.schemas import UserIn
from engine.db import unit_of_work

ORG = "clinic-a"
T0 = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)
ENDS = dt.datetime(2030, 11, 30, 17, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2030, 12, 5, 9, 0, tzinfo=dt.UTC)
CSRF = 'name="csrf_token" value="'


@pytest.fixture
def app(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """An admin (API token) and two auditors with no grant yet, on SQLite and PostgreSQL."""
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "rulesets", tmp_path / "rulesets")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(tmp_path / "rulesets"))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    with clock.frozen(T0), unit_of_work(engine) as s:
        admin = auth.create_user(s, org_id=ORG, actor="test",
                                 data=UserIn(username="admin", password="admin-password", role="admin"))
        for name in ("auditor", "newcomer"):
            auth.create_user(s, org_id=ORG, actor="test",
                             data=UserIn(username=name, password=f"{name}-password", role="auditor"))
        token = auth.issue_token(s, user_id=admin.id, name="t", ttl=dt.timedelta(days=3650), actor="t").token
    yield {"client": TestClient(create_app(engine)), "engine": engine,
           "admin": {"Authorization": f"Bearer {token}"}}


def _grant(app: dict[str, Any], expires_at: dt.datetime) -> dict[str, Any]:
    made = app["client"].post("/users/auditor/grants", headers=app["admin"], json={
        "framework": "demo", "window_from": "2030-01-01", "window_to": "2030-06-30",
        "expires_at": expires_at.isoformat()})
    assert made.status_code == 201, made.text
    return dict(made.json())


def _login(app: dict[str, Any], username: str, password: str) -> Any:
    return app["client"].post("/auth/login", json={"username": username, "password": password})


def _trail(app: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    with unit_of_work(app["engine"]) as s:
        return [(e.action, e.actor, e.payload) for e in s.scalars(
            select(AuditEntryRow).where(AuditEntryRow.org_id == ORG).order_by(AuditEntryRow.org_seq))]


def test_an_auditor_whose_grant_ended_is_refused_at_sign_in_with_the_date(app: dict[str, Any]) -> None:
    c = app["client"]
    with clock.frozen(T0):
        grant = _grant(app, ENDS)
        assert _login(app, "auditor", "auditor-password").status_code == 200
        token = c.post("/tokens", json={"name": "script", "days": 366})  # from the session just made
        assert token.status_code == 201, token.text
    c.cookies.clear()  # the bearer token alone below
    with clock.frozen(LATER):
        r = _login(app, "auditor", "auditor-password")
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["code"] == "auth.no_grant"
        assert "ended on 2030-11-30" in body["detail"] and "demo" in body["detail"]
        assert grant["id"] in body["detail"] and "administrator" in body["detail"]
        assert "vigil_session" not in r.cookies
        # the token issued under the grant ended with it (its expiry was capped at the grant's end)
        ended = c.get("/me", headers={"Authorization": f"Bearer {token.json()['token']}"})
        assert ended.status_code == 401 and ended.json()["code"] == "auth.invalid_token"
        # a wrong password reveals nothing about grants
        wrong = _login(app, "auditor", "not-the-password")
        assert wrong.status_code == 401 and wrong.json()["code"] == "auth.invalid_credentials"
        assert "grant" not in wrong.text
    refused = [(actor, p) for a, actor, p in _trail(app) if a == "auth.login_refused"]
    assert refused == [("user:auditor", {"user": "auditor", "reason": "auth.no_grant", "grant": grant["id"]})]


def test_a_revoked_grant_says_it_was_revoked(app: dict[str, Any]) -> None:
    with clock.frozen(T0):
        grant = _grant(app, ENDS)
        assert app["client"].delete(f"/grants/{grant['id']}", headers=app["admin"]).status_code == 204
        r = _login(app, "auditor", "auditor-password")
    assert r.status_code == 403 and r.json()["code"] == "auth.no_grant"
    assert "revoked on 2030-06-01" in r.json()["detail"] and grant["id"] in r.json()["detail"]


def test_an_auditor_never_granted_is_told_no_access_was_granted(app: dict[str, Any]) -> None:
    with clock.frozen(T0):
        r = _login(app, "newcomer", "newcomer-password")
    assert r.status_code == 403 and r.json()["code"] == "auth.no_grant"
    assert "no audit access has been granted" in r.json()["detail"]


def test_refused_sign_ins_are_no_failed_guesses_toward_the_lock(app: dict[str, Any]) -> None:
    with clock.frozen(T0):
        for _ in range(6):
            assert _login(app, "newcomer", "newcomer-password").json()["code"] == "auth.no_grant"
        assert not [a for a, _actor, _p in _trail(app) if a in ("auth.login_failed", "auth.locked")]
        app["client"].post("/users/newcomer/grants", headers=app["admin"], json={
            "framework": "demo", "window_from": "2030-01-01", "window_to": "2030-06-30",
            "expires_at": ENDS.isoformat()}).raise_for_status()
        r = _login(app, "newcomer", "newcomer-password")
    assert r.status_code == 200, r.text
    assert r.json()["grant"]["framework"] == "demo"


def test_the_login_form_shows_why_on_the_sign_in_page(app: dict[str, Any]) -> None:
    c = app["client"]
    with clock.frozen(T0):
        page = c.get("/ui/login")
        csrf = page.text.split(CSRF, 1)[1].split('"', 1)[0]
        r = c.post("/ui/login", data={"username": "newcomer", "password": "newcomer-password",
                                      "csrf_token": csrf, "next": "/ui/"}, follow_redirects=False)
        assert r.status_code == 403, r.text[:500]
        assert "no audit access has been granted" in r.text and 'id="login-error"' in r.text
        assert "vigil_session" not in r.cookies
        wrong = c.post("/ui/login", data={"username": "newcomer", "password": "not-the-password",
                                          "csrf_token": csrf, "next": "/ui/"}, follow_redirects=False)
        assert wrong.status_code == 401 and "wrong username or password" in wrong.text
        assert "grant" not in wrong.text.split('id="login-error"', 1)[1].split("</p>", 1)[0]
