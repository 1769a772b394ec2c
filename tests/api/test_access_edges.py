"""Access edges a mutation probe found untested: a deactivated user's token, an auditor with no
grant in force, and the instant a token or a grant ends (it ends then, not a moment later)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine

from engine import clock
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.auth.tables import GrantRow
from engine.db import unit_of_work
from engine.errors import AuthenticationError
from tests.api.conftest import ORG, headers
from tests.factories import grant_expiry

T0 = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)


def _user(engine: Engine, username: str, role: str) -> str:
    with unit_of_work(engine) as s:
        return auth.create_user(s, org_id=ORG, actor="test",
                                data=UserIn(username=username, password=f"{username}-password", role=role)).id


def _token(engine: Engine, user_id: str, ttl: dt.timedelta = dt.timedelta(days=1)) -> str:
    with unit_of_work(engine) as s:
        return auth.issue_token(s, user_id=user_id, name="t", ttl=ttl, actor="t").token


def test_a_token_issued_to_a_deactivated_user_is_refused_as_account_disabled(api: dict[str, Any]) -> None:
    engine, client = api["engine"], api["client"]
    user_id = _user(engine, "leaver", "officer")
    with unit_of_work(engine) as s:
        auth.set_active(s, org_id=ORG, username="leaver", active=False, actor="admin")
    token = _token(engine, user_id)  # issue_token does not look at `active`: resolving it must
    with unit_of_work(engine) as s, pytest.raises(AuthenticationError) as exc:
        auth.resolve_token(s, token=token)
    assert exc.value.code == "auth.disabled" and "account disabled" in str(exc.value)
    r = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "auth.disabled"


def test_an_admin_cannot_switch_themselves_off_by_another_spelling(api: dict[str, Any]) -> None:
    """Session 48's REST pass: `/users/ADMIN/deactivate` had switched off `admin` itself (the name
    was compared as typed), revoking every admin token of a practice with one admin."""
    engine, client = api["engine"], api["client"]
    boss = _token(engine, _user(engine, "boss", "admin"))
    for spelt in ("boss", "BOSS", "Boss"):
        r = client.post(f"/users/{spelt}/deactivate", headers={"Authorization": f"Bearer {boss}"})
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == "you cannot switch yourself off"
    assert client.get("/me", headers={"Authorization": f"Bearer {boss}"}).status_code == 200
    _user(engine, "other", "officer")
    r = client.post("/users/OTHER/deactivate", headers={"Authorization": f"Bearer {boss}"})
    assert r.status_code == 200 and r.json()["active"] is False


def test_an_auditor_without_a_grant_in_force_is_denied_with_no_grant(api: dict[str, Any]) -> None:
    engine, client = api["engine"], api["client"]
    user_id = _user(engine, "auditor2", "auditor")
    with unit_of_work(engine) as s:  # no token is issued without a grant (input.no_grant): one is given
        grant = auth.grant_auditor(s, username="auditor2", actor="test", data=GrantIn(
            framework="demo", window_from=dt.date(2026, 1, 1), window_to=dt.date(2026, 12, 31),
            expires_at=grant_expiry()))
    token = _token(engine, user_id)
    with unit_of_work(engine) as s:  # the grant ends behind the token's back (as in a database of a Vigil
        s.get(GrantRow, grant.id).revoked_at = clock.now()  # that left tokens alive when a grant ended)
    r = client.get("/findings", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "permission_denied.no_grant"
    # the fixture's auditor, whose grant is in force, reads findings
    assert client.get("/findings", headers=headers(api, "auditor")).status_code == 200


def test_a_token_is_refused_at_its_expiry_instant(api: dict[str, Any]) -> None:
    engine = api["engine"]
    user_id = _user(engine, "shortlived", "officer")
    with clock.frozen(T0):
        token = _token(engine, user_id, ttl=dt.timedelta(hours=1))
    expires = T0 + dt.timedelta(hours=1)
    with clock.frozen(expires - dt.timedelta(microseconds=1)), unit_of_work(engine) as s:
        assert auth.resolve_token(s, token=token).user.username == "shortlived"
    with clock.frozen(expires), unit_of_work(engine) as s, pytest.raises(AuthenticationError) as exc:
        auth.resolve_token(s, token=token)
    assert exc.value.code == "auth.invalid_token"


def test_an_auditor_grant_is_not_active_at_its_expiry_instant(api: dict[str, Any]) -> None:
    engine = api["engine"]
    user_id = _user(engine, "auditor3", "auditor")
    ends = T0 + dt.timedelta(days=10)
    with clock.frozen(T0), unit_of_work(engine) as s:
        grant = auth.grant_auditor(s, username="auditor3", actor="test", data=GrantIn(
            framework="demo", window_from=dt.date(2030, 1, 1), window_to=dt.date(2030, 12, 31), expires_at=ends))
    with clock.frozen(ends - dt.timedelta(microseconds=1)), unit_of_work(engine) as s:
        active = auth.active_grant(s, user_id=user_id)
        assert active is not None and active.id == grant.id
    with clock.frozen(ends), unit_of_work(engine) as s:
        assert auth.active_grant(s, user_id=user_id) is None
