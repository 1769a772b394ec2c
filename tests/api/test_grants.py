"""An auditor holds one grant in force: a new grant replaces the old (said in the trail), every
grant can be listed, and revoking a grant or token twice is a conflict that keeps the first time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine import clock
from engine.api.app import create_app
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.db import unit_of_work
from tests.api.conftest import ORG, headers
from tests.factories import grant_expiry


def _grant(api: dict[str, Any], **over: Any) -> dict[str, Any]:
    body = {"framework": "demo", "window_from": "2026-01-01", "window_to": "2026-06-30",
            "expires_at": grant_expiry().isoformat()} | over
    made = api["client"].post("/users/auditor/grants", headers=headers(api, "admin"), json=body)
    assert made.status_code == 201, made.text
    return made.json()


def test_a_new_grant_replaces_the_one_in_force_and_revoking_it_ends_access(api: dict[str, Any]) -> None:
    c = api["client"]
    before = c.get("/users/auditor/grants", headers=headers(api, "admin")).json()
    assert len(before) == 1 and before[0]["revoked_at"] is None
    narrow = _grant(api, window_to="2026-03-31", expires_at=(clock.now() + dt.timedelta(days=2))
                    .isoformat())
    listed = c.get("/users/auditor/grants", headers=headers(api, "admin")).json()
    assert [g["id"] for g in listed][0] == narrow["id"]
    assert listed[1]["id"] == before[0]["id"] and listed[1]["revoked_at"] is not None  # superseded, not hidden
    # the token was made for the grant replaced: it ends with it, and one made now reads the new one
    assert c.get("/me", headers=headers(api, "auditor")).status_code == 401
    fresh = _token(api)
    assert c.get("/me", headers=fresh).json()["grant"]["id"] == narrow["id"]
    # revoking the grant in force leaves the auditor with none (the old one does not come back)
    assert c.delete(f"/grants/{narrow['id']}", headers=headers(api, "admin")).status_code == 204
    assert c.get("/findings", headers=fresh).status_code == 401
    with unit_of_work(api["engine"]) as s:
        assert auth.active_grant(s, user_id=auth.get_user(s, username="auditor").id) is None
    trail = c.get("/audit/entries", headers=headers(api, "admin"), params={"action": "grant"})
    assert trail.status_code == 200, trail.text
    said = [(e["action"], e["entity_id"], e["payload"]) for e in trail.json()]
    [admin_token] = [t["id"] for t in c.get("/tokens", headers=headers(api, "admin")).json()]
    assert ("grant.revoke", before[0]["id"], {"framework": "demo", "username": "auditor",
                                              "superseded_by": narrow["id"], "via_token": admin_token}) in said
    created = next(p for a, e, p in said if a == "grant.create" and e == narrow["id"])
    assert (created["supersedes"], created["tokens_revoked"], created["sessions_ended"]) == ([before[0]["id"]], 1, 0)
    revoked = next(p for a, e, p in said if a == "grant.revoke" and e == narrow["id"])
    assert (revoked["tokens_revoked"], revoked["sessions_ended"]) == (1, 0)


def _token(api: dict[str, Any]) -> dict[str, str]:
    """A fresh API token of the auditor (as signing in and asking for one gives)."""
    with unit_of_work(api["engine"]) as s:
        user = auth.get_user(s, username="auditor")
        made = auth.issue_token(s, user_id=user.id, name="again", ttl=dt.timedelta(days=1), actor="auditor")
    return {"Authorization": f"Bearer {made.token}"}


def test_a_token_idle_since_its_grant_lapsed_stays_dead_under_the_next_grant(api: dict[str, Any]) -> None:
    """Nothing revokes a token when its grant merely expires; the next grant must not revive it."""
    c = api["client"]
    _grant(api, expires_at=(clock.now() + dt.timedelta(hours=1)).isoformat())
    token = _token(api)
    assert c.get("/findings", headers=token).status_code == 200
    with clock.frozen(clock.now() + dt.timedelta(hours=2)):
        assert c.get("/findings", headers=token).status_code in (401, 403)  # the grant lapsed
        _grant(api)
        assert c.get("/findings", headers=token).status_code == 401
        assert c.get("/findings", headers=_token(api)).status_code == 200


def test_revoking_twice_is_a_conflict_that_keeps_when_it_was_revoked(api: dict[str, Any]) -> None:
    c = api["client"]
    grant = _grant(api)
    assert c.delete(f"/grants/{grant['id']}", headers=headers(api, "admin")).status_code == 204
    first = c.get("/users/auditor/grants", headers=headers(api, "admin")).json()[0]["revoked_at"]
    again = c.delete(f"/grants/{grant['id']}", headers=headers(api, "admin"))
    assert again.status_code == 409 and "was revoked on" in again.json()["detail"]
    assert c.get("/users/auditor/grants", headers=headers(api, "admin")).json()[0]["revoked_at"] == first
    made = c.post("/tokens", headers=headers(api, "officer"), json={"name": "x", "days": 1})
    if made.status_code == 403:  # tokens are issued from a session
        login = c.post("/auth/login", json={"username": "officer", "password": "officer-password"})
        assert login.status_code == 200
        made = c.post("/tokens", json={"name": "x", "days": 1})
    assert made.status_code == 201, made.text
    token_id = made.json()["id"]
    assert c.delete(f"/tokens/{token_id}").status_code == 204
    again = c.delete(f"/tokens/{token_id}")
    assert again.status_code == 409 and "was revoked on" in again.json()["detail"]


def test_grants_of_an_unknown_user_are_not_found_and_only_admins_list_them(api: dict[str, Any]) -> None:
    c = api["client"]
    assert c.get("/users/nobody/grants", headers=headers(api, "admin")).status_code == 404
    for role in ("officer", "auditor", "staff", "liaison"):
        assert c.get("/users/auditor/grants", headers=headers(api, role)).status_code == 403


def test_the_cli_lists_grants(api: dict[str, Any]) -> None:
    with unit_of_work(api["engine"]) as s:
        auth.grant_auditor(s, username="auditor", actor="t", data=GrantIn(
            framework="demo", window_from=dt.date(2026, 1, 1), window_to=dt.date(2026, 3, 31),
            establishments=None, expires_at=grant_expiry()))
        grants = auth.list_grants(s, username="auditor")
    assert len(grants) == 2 and grants[0].revoked_at is None and grants[1].revoked_at is not None


GIVEN = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def admin_api(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An admin's client and token and an auditor with no grant, on SQLite and PostgreSQL, at GIVEN."""
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(Path(__file__).resolve().parents[1] / "fixtures" / "rulesets"))
    with clock.frozen(GIVEN), unit_of_work(engine) as s:
        admin = auth.create_user(s, org_id=ORG, actor="test",
                                 data=UserIn(username="admin", password="admin-password", role="admin"))
        auth.create_user(s, org_id=ORG, actor="test",
                         data=UserIn(username="auditor", password="auditor-password", role="auditor"))
        token = auth.issue_token(s, user_id=admin.id, name="t", ttl=dt.timedelta(days=1), actor="t").token
    yield TestClient(create_app(engine)), {"Authorization": f"Bearer {token}"}


def test_a_grant_runs_at_most_366_days_from_when_it_is_given(admin_api: tuple[TestClient, dict[str, str]]) -> None:
    """A grant of years (a typo in the year, or "just in case") had been given as asked."""
    c, admin = admin_api
    body = {"framework": "demo", "window_from": "2030-01-01", "window_to": "2030-06-30"}
    with clock.frozen(GIVEN):
        far = c.post("/users/auditor/grants", headers=admin,
                     json=body | {"expires_at": (GIVEN + dt.timedelta(days=367)).isoformat()})
        assert far.status_code == 422, far.text
        assert far.json()["code"] == "input.grant"
        [problem] = far.json()["errors"]
        assert problem["field"] == "expires_at" and "more than 366 days away" in problem["reason"]
        assert "by 2031-06-02T12:00:00+00:00" in problem["reason"]  # the latest expiry that is given
        assert c.get("/users/auditor/grants", headers=admin).json() == []
        last = GIVEN + dt.timedelta(days=366, minutes=-1)
        made = c.post("/users/auditor/grants", headers=admin, json=body | {"expires_at": last.isoformat()})
        assert made.status_code == 201, made.text
        assert dt.datetime.fromisoformat(made.json()["expires_at"]) == last
