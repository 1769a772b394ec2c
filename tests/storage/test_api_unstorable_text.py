"""Text no database can store in a request is a 422 naming where it is, on either database.

A NUL character (U+0000): PostgreSQL cannot store it; before, a token name or a login name holding
one reached the database there and failed with a 500, while SQLite stored it. Half of a character
(an unpaired surrogate, `\ud83d` alone) has no UTF-8 form: it failed on both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
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
    assert _fields(client.get("/findings/F-1%00", headers=bearer)) == ["path"]


def test_a_web_form_refused_before_routing_goes_back_to_the_form_with_the_refusal(engine: Engine,
                                                                              monkeypatch: Any) -> None:
    """Session 46's security pass: a NUL in a web form, or a body over the limit (a 250 MB scan
    attached), had shown the browser a bare JSON document with no way back."""
    import json
    import urllib.parse

    from engine.api import app as app_module
    from engine.web.render import FLASH_COOKIE

    client, _ = _client(engine)

    def flash(answer: Any) -> dict[str, Any]:
        assert answer.status_code == 303 and answer.headers["location"].startswith("/ui"), answer.text
        return dict(json.loads(urllib.parse.unquote(answer.cookies[FLASH_COOKIE])))

    nul = flash(client.post("/ui/login", data={"username": "a\u0000", "password": "p"}, follow_redirects=False,
                            headers={"referer": "http://testserver/ui/login"}))
    assert nul["kind"] == "error" and nul["fields"] == ["username"] and "nothing was saved" in nul["text"]
    monkeypatch.setattr(app_module, "MAX_BODY_BYTES", 20)
    big = flash(client.post("/ui/tasks/T-1/evidence", files={"file": ("scan.pdf", b"%PDF-" + b"x" * 100)},
                            follow_redirects=False, headers={"referer": "http://testserver/ui/tasks/T-1"}))
    assert big["text"].startswith("What was sent is larger than this form takes: nothing was saved")
    page = client.get("/ui/findings?rule=R%00")
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "nothing was saved" in page.text


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



def test_a_chunked_body_over_the_limit_is_refused(engine: Engine, monkeypatch: Any) -> None:
    """No Content-Length to check: the bytes are counted as they come, signed in or not."""
    from engine.api import app as app_module

    client, bearer = _client(engine)
    monkeypatch.setattr(app_module, "MAX_BODY_BYTES", 1000)

    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b" " * 100

    for headers in ({"Content-Type": "application/json"}, {"Content-Type": "application/json", **bearer}):
        answer = client.post("/records", content=chunks(), headers=headers)
        assert "content-length" not in answer.request.headers
        assert answer.status_code == 413, answer.text
        assert answer.json()["code"] == "input.too_large"
    small = client.post("/tokens", content=iter([b'{"name": "n", ', b'"days": 5}']),
                        headers={"Content-Type": "application/json"})
    assert small.status_code == 201, small.text


def test_the_body_limit_stops_reading_at_the_limit() -> None:
    """The part past the limit is never asked for (the server does not hold it)."""
    import asyncio

    from engine.api.body_limit import BodyLimit

    asked: list[int] = []
    answer: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        asked.append(1)
        return {"type": "http.request", "body": b"x" * 100, "more_body": len(asked) < 50}

    async def send(message: dict[str, Any]) -> None:
        answer.append(message)

    async def reads_everything(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        raise AssertionError("read past the limit")

    import threading

    limited = BodyLimit(reads_everything, limit=lambda: 1000)
    # on a thread of its own: another test's event loop may still be running on this one
    worker = threading.Thread(target=lambda: asyncio.run(limited({"type": "http", "headers": []}, receive, send)))
    worker.start()
    worker.join(timeout=30)
    assert len(asked) == 11
    assert answer[0]["status"] == 413
