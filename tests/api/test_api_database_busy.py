"""A database locked by another writer answers 503 with Retry-After, not the safety net's 500 that
said retrying would not help (the operations probe, with a backup tool's write lock on the file)."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest

from tests import factories as f
from tests.api.conftest import headers


def test_a_locked_database_is_a_503_that_says_to_retry(api: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    c, h = api["client"], headers(api, "officer")
    holder = sqlite3.connect(api["engine"].url.database, timeout=0)
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction
    try:
        r = c.post("/records", headers=h, json={"records": [f.establishment()]})
    finally:
        holder.rollback()
        holder.close()
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "5" and r.json()["code"] == "unavailable.database"
    assert "retry" in r.json()["detail"]
    # the operator reads why in the server log (the client's body says nothing of the database)
    assert [(m.levelno, m.getMessage()) for m in caplog.records if m.name == "vigil.api"] == [
        (logging.WARNING, "POST /records answered 503: OperationalError: database is locked")]
    assert c.post("/records", headers=h, json={"records": [f.establishment()]}).status_code == 200  # and it does


class _PgError(Exception):
    """A stand-in for a psycopg error: what the mapping reads of it is its SQLSTATE."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _failing_list(api: dict[str, Any], monkeypatch: pytest.MonkeyPatch, cause: Exception) -> Any:
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import OperationalError

    from engine.findings import service as findings_service

    def fails(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT ...", {}, cause)

    monkeypatch.setattr(findings_service, "list_findings", fails)
    return TestClient(api["app"], raise_server_exceptions=False).get("/findings", headers=headers(api, "officer"))


@pytest.mark.parametrize("cause", [
    sqlite3.OperationalError("Expression tree is too large (maximum depth 1000)"),
    sqlite3.OperationalError("too many SQL variables"),
    _PgError("stack depth limit exceeded", "54001"),
    _PgError("sending query and params failed: number of parameters must be between 0 and 65535", None),
], ids=["sqlite-depth", "sqlite-variables", "pg-54001", "pg-parameters"])
def test_a_statement_over_a_database_limit_is_not_a_retry(api: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture, cause: Exception) -> None:
    """It fails the same way every time: a 503 with Retry-After had a client retry it for ever."""
    r = _failing_list(api, monkeypatch, cause)
    assert r.status_code == 500, r.text
    assert r.json()["code"] == "server.database_limit" and "Retry-After" not in r.headers
    assert "retrying will not help" in r.json()["detail"] and str(cause) not in r.text
    assert [m.levelno for m in caplog.records if m.name == "vigil.api"] == [logging.ERROR]


@pytest.mark.parametrize("cause", [
    sqlite3.OperationalError("database is locked"),
    _PgError("deadlock detected", "40P01"),
    _PgError("could not serialize access due to concurrent update", "40001"),
    _PgError("canceling statement due to lock timeout", "55P03"),
    _PgError("terminating connection due to administrator command", "57P01"),
    _PgError("connection to server at 127.0.0.1 failed: Connection refused", None),
], ids=["sqlite-locked", "pg-deadlock", "pg-serialization", "pg-lock-timeout", "pg-admin-shutdown", "pg-refused"])
def test_a_lock_deadlock_or_lost_connection_stays_a_503(api: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                                        cause: Exception) -> None:
    r = _failing_list(api, monkeypatch, cause)
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "unavailable.database" and r.headers["Retry-After"] == "5"


def test_health_says_when_the_database_does_not_answer(api: dict[str, Any]) -> None:
    """Ops probe: /health had answered 200 "ok" with the database gone, while every other request was a 503."""
    from fastapi.testclient import TestClient

    from engine import db as dbmod
    from engine.api.app import create_app

    assert api["client"].get("/health").json()["database"] == "ok"
    gone = dbmod.make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2")
    try:
        r = TestClient(create_app(engine=gone)).get("/health")
    finally:
        gone.dispose()
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert r.json()["status"] == "unavailable" and r.json()["database"] == "unreachable"
