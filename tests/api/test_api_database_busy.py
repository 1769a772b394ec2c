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
