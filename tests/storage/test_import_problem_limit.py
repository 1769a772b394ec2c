"""An import with more problems than it lists, on SQLite and PostgreSQL: the list ends by saying how
many more there are, and nothing is imported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from engine import db
from engine.errors import RecordValidationError
from engine.records import ingest, service
from engine.records.tables import record_version

LIMIT = 3


def rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(record_version)).scalar_one())


def event(i: int, at: str) -> dict[str, Any]:
    return {"type": "access_event", "id": f"AE-{i:06d}", "system_id": "EHR", "user_id": "u1", "patient_id": "P-1",
            "at": at, "action": "view"}


def test_problems_past_the_limit_are_counted_in_a_last_line_and_nothing_is_imported(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "ERROR_LIMIT", LIMIT)
    good = [event(i, "2026-03-01T09:00:00-08:00") for i in range(5)]
    bad = [event(100 + i, "2026-03-01T09:00:00") for i in range(LIMIT + 1)]  # no offset
    path = tmp_path / "access.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in good + bad), encoding="utf-8")
    with pytest.raises(RecordValidationError) as info, db.unit_of_work(engine) as s:
        service.import_files(s, org_id="org-a", paths=[path], actor="user:ann")
    details = info.value.details
    assert [d.line for d in details[:LIMIT]] == [6, 7, 8]
    assert details[-1].reason == "... and 1 more problems not shown" and len(details) == LIMIT + 1
    assert info.value.message == f"{LIMIT + 1} problems ({LIMIT + 1} invalid records); nothing was imported"
    assert rows(engine) == 0
