"""Text no database can store in a request is a 422 naming where it is, on either database.

A NUL character (U+0000): PostgreSQL cannot store it; before, a token name or a login name holding
one reached the database there and failed with a 500, while SQLite stored it. Half of a character
(an unpaired surrogate, `\ud83d` alone) has no UTF-8 form: it failed on both.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine.api.app import create_app
from engine.auth import service as auth
from engine.auth.schemas import UserIn
from engine.db import unit_of_work
from engine.storable_text import NUL_REASON, SURROGATE_REASON


def _client(engine: Engine) -> tuple[TestClient, dict[str, str]]:
    with unit_of_work(engine) as s:
        user = auth.create_user(s, org_id="clinic-a", actor="test",
                                data=UserIn(username="officer", password="officer-password", role="officer"))
        token = auth.issue_token(s, user_id=user.id, name="t", ttl=dt.timedelta(days=1), actor="t").token
    client = TestClient(create_app(engine))  # signed in too: tokens are issued from a session
    assert client.post("/auth/login", json={"username": "officer", "password": "officer-password"}).status_code == 200
    return client, {"Authorization": f"Bearer {token}"}


def _fields(response: Any, reason: str = NUL_REASON) -> list[str]:
    body = response.json()
    assert response.status_code == 422 and body["code"] == "input.unstorable_text", body
    assert {e["reason"] for e in body["errors"]} == {reason}
    return [e["field"] for e in body["errors"]]


def test_a_nul_in_a_json_body_a_query_or_a_form_is_refused_by_name(engine: Engine) -> None:
    client, bearer = _client(engine)
    assert _fields(client.post("/tokens", json={"name": "nightly\u0000", "days": 5})) == ["name"]
    assert _fields(client.get("/findings", params={"rule": "R\u0000", "state": "open"}, headers=bearer)) == ["rule"]
    assert _fields(client.post("/auth/login", json={"username": "off\u0000icer", "password": "x"})) == ["username"]
    assert _fields(client.post("/ui/login", data={"username": "a\u0000", "password": "p"})) == ["username"]
    assert _fields(client.get("/findings/F-1%00", headers=bearer)) == ["path"]


def test_half_a_character_in_a_json_body_is_refused_by_name(engine: Engine) -> None:
    client, _ = _client(engine)
    half = b'{"name": "party \\ud83c", "days": 5}'  # the first half of an emoji, its second half cut off
    as_json = {"content-type": "application/json"}  # the session's cookie signs it
    assert _fields(client.post("/tokens", content=half, headers=as_json), SURROGATE_REASON) == ["name"]
    whole = b'{"name": "party \\ud83c\\udf89", "days": 5}'  # both halves: one character
    assert client.post("/tokens", content=whole, headers=as_json).status_code == 201


def test_text_that_only_looks_like_a_nul_is_kept(engine: Engine) -> None:
    client, bearer = _client(engine)
    made = client.post("/tokens", json={"name": "a \\u0000 written out", "days": 5})
    assert made.status_code == 201, made.text
    names = [t["name"] for t in client.get("/tokens", headers=bearer).json()]
    assert "a \\u0000 written out" in names


def test_a_body_over_the_limit_is_refused_before_it_is_read(engine: Engine, monkeypatch: Any) -> None:
    from engine.api import app as app_module

    client, _ = _client(engine)
    monkeypatch.setattr(app_module, "MAX_BODY_BYTES", 20)
    answer = client.post("/tokens", json={"name": "nightly\u0000 export script", "days": 5})
    assert answer.status_code == 413 and answer.json()["code"] == "input.too_large"
