"""GET /audit/entries?token=TK-...: what one API token wrote (its `via_token`), paged like the
other filters, on SQLite and PostgreSQL; a value that could name no token is a 422 on `token`, and
an auditor reads no entry with it either."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine import db
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from tests.api.conftest import headers
from tests.clients import bearer_client
from tests.factories import grant_expiry

ORG = "clinic-a"


def _issue(engine: Engine, username: str) -> tuple[str, dict[str, str]]:
    """A further API token of `username`: its id and its Authorization header."""
    with db.unit_of_work(engine) as s:
        user = next(u for u in auth.list_users(s, org_id=ORG) if u.username == username)
        issued = auth.issue_token(s, user_id=user.id, name="second", ttl=dt.timedelta(days=1), actor="test")
    return issued.id, {"Authorization": f"Bearer {issued.token}"}


def _create_users(client: TestClient, bearer: dict[str, str], *names: str) -> None:
    for name in names:
        made = client.post("/users", headers=bearer, json={"username": name, "password": f"{name}-password",
                                                           "role": "staff"})
        assert made.status_code == 201, made.text


def _made(entries: list[dict[str, Any]]) -> list[str]:
    return [e["payload"]["username"] for e in entries if e["action"] == "user.create"]


def test_the_token_filter_lists_only_what_that_token_wrote_and_pages_back(engine: Engine) -> None:
    client, first = bearer_client(engine, org_id=ORG, role="admin")
    leaked, second = _issue(engine, "admin")
    _create_users(client, first, "u1")
    _create_users(client, second, "l1", "l2")
    _create_users(client, first, "u2")
    _create_users(client, second, "l3")

    listed = client.get("/audit/entries", headers=first, params={"token": leaked})
    assert listed.status_code == 200, listed.text
    assert {e["payload"]["via_token"] for e in listed.json()} == {leaked}
    assert _made(listed.json()) == ["l1", "l2", "l3"]  # oldest first; nothing the other token wrote
    everything = client.get("/audit/entries", headers=first, params={"limit": 1000}).json()
    assert len(everything) > len(listed.json())  # the filter, not an empty trail, made it short

    newest = client.get("/audit/entries", headers=first, params={"token": leaked, "limit": 2}).json()
    assert _made(newest) == ["l2", "l3"]
    older = client.get("/audit/entries", headers=first,
                       params={"token": leaked, "limit": 2, "before": min(e["seq"] for e in newest)}).json()
    assert older == [e for e in listed.json() if e["seq"] < min(x["seq"] for x in newest)]
    assert _made(older) == ["l1"]

    both = client.get("/audit/entries", headers=first, params={"token": leaked, "action": "user.create"}).json()
    assert _made(both) == ["l1", "l2", "l3"] and len(both) == 3
    never_used = client.get("/audit/entries", headers=first, params={"token": "TK-000000000000"})
    assert never_used.status_code == 200 and never_used.json() == []


@pytest.mark.parametrize("value", ["tk-0123456789ab", "TK-0123456789abc", "TK-0123456789AB", "vgl_abcdefghijkl",
                                   "F-0123456789ab", "TK-" + "0" * 40])
def test_a_value_that_names_no_token_is_a_422_on_token(api: dict[str, Any], value: str) -> None:
    r = api["client"].get("/audit/entries", headers=headers(api, "officer"), params={"token": value})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["query.token"], r.json()


def test_a_token_issued_before_ids_began_tk_is_taken(api: dict[str, Any]) -> None:
    """Tokens issued before 2026-12-03 kept their `T-...` ids and still sign requests."""
    r = api["client"].get("/audit/entries", headers=headers(api, "officer"), params={"token": "T-0123456789ab"})
    assert r.status_code == 200 and r.json() == [], r.text


@pytest.mark.usefixtures("fixture_rules_and_policies")  # the grant's framework
def test_an_auditor_reads_no_entry_with_the_token_filter(engine: Engine) -> None:
    client, _ = bearer_client(engine, org_id=ORG, role="admin")
    leaked, admin = _issue(engine, "admin")
    with db.unit_of_work(engine) as s:
        user = auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
            username="ext", password="ext-auditor-password", role="auditor"))
        auth.grant_auditor(s, username="ext", actor="test", data=GrantIn(
            framework="demo", window_from=dt.date(2026, 1, 1), window_to=dt.date(2099, 12, 31),
            expires_at=grant_expiry()))
        issued = auth.issue_token(s, user_id=user.id, name="t", ttl=dt.timedelta(days=1), actor="test")
    _create_users(client, admin, "u1")
    refused = client.get("/audit/entries", headers={"Authorization": f"Bearer {issued.token}"},
                         params={"token": leaked})
    assert refused.status_code == 403 and refused.json()["code"].startswith("permission_denied"), refused.text


def test_an_action_or_kind_no_entry_has_is_a_422_naming_those_recorded(api: dict[str, Any]) -> None:
    """API pass: `?action=finding.wave` and `?entity=findng/F-1` answered [], read as "nothing of the kind
    happened", where an unknown token id is a 422; an entity of a known kind with no entries is just []."""
    h = headers(api, "admin")
    typo = api["client"].get("/audit/entries", headers=h, params={"action": "token.crate"})
    assert typo.status_code == 422 and typo.json()["errors"][0]["field"] == "action", typo.text
    assert "families recorded: " in typo.json()["errors"][0]["reason"] and "token" in typo.json()["errors"][0]["reason"]
    kind = api["client"].get("/audit/entries", headers=h, params={"entity": "findng/F-1"})
    assert kind.status_code == 422 and kind.json()["errors"][0]["field"] == "entity", kind.text
    family = api["client"].get("/audit/entries", headers=h, params={"action": "token"})
    assert family.status_code == 200 and family.json(), family.text
