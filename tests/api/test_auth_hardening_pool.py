"""A pool with no connection left answers 503 with Retry-After (not the safety net's 500 after
30 s), a login holds no pooled connection while argon2 runs, and past the password gate's queue a
login is a 503 to retry, so a flood of sign-ins cannot starve signed-in users of the pool."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event

from engine import db as dbmod
from engine.api.app import create_app
from engine.auth import login
from tests.api.conftest import headers


def _small_pool(api: dict[str, Any], tmp_path: Path) -> Engine:
    """The api fixture's database through a pool of one connection that waits 0.2 s for it."""
    engine = create_engine(api["engine"].url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    event.listen(engine, "connect", dbmod._sqlite_pragmas)
    return engine


def test_an_exhausted_pool_is_a_503_that_says_to_retry(api: dict[str, Any], tmp_path: Path) -> None:
    engine = _small_pool(api, tmp_path)
    client = TestClient(create_app(engine))
    held = engine.connect()  # every connection of the pool in use
    try:
        r = client.get("/me", headers=headers(api, "officer"))
    finally:
        held.close()
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "5" and r.json()["code"] == "unavailable.database"
    assert client.get("/me", headers=headers(api, "officer")).status_code == 200
    engine.dispose()


def test_a_login_holds_no_pooled_connection_while_the_password_is_hashed(
        api: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _small_pool(api, tmp_path)
    client = TestClient(create_app(engine))
    during: list[int] = []
    real = login.check_password

    def watched(password_hash: str, password: str) -> bool:
        during.append(engine.pool.checkedout())  # type: ignore[attr-defined]
        return real(password_hash, password)

    monkeypatch.setattr(login, "check_password", watched)
    assert client.post("/auth/login", json={"username": "nobody", "password": "wrong-password"}).status_code == 401
    assert client.post("/auth/login", json={"username": "officer", "password": "officer-password"}).status_code == 200
    assert during == [0, 0], f"pooled connections held during the argon2 check: {during}"
    engine.dispose()


def test_past_the_password_gate_a_login_is_a_503_to_retry(api: dict[str, Any],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    gate = login._PasswordGate(1, 0, 0.05)
    monkeypatch.setattr(login, "GATE", gate)
    entered, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with gate.slot():
            entered.set()
            leave.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(5)
    try:
        r = api["client"].post("/auth/login", json={"username": "officer", "password": "officer-password"})
        me = api["client"].get("/me", headers=headers(api, "officer"))  # signed-in users are not held up
    finally:
        leave.set()
        holder.join()
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "unavailable.sign_in" and r.headers["Retry-After"] == "5"
    assert me.status_code == 200
    assert api["client"].post("/auth/login", json={"username": "officer",
                                                   "password": "officer-password"}).status_code == 200
