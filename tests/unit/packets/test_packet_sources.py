"""The database adapter passes the as-of cut on to the stores that can apply it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from engine.packet_sources import DatabaseSources
from engine.tasks import service as tasks_service


def test_tasks_are_read_as_they_stood_at_known_at(monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe 15 #3: a task closed after the as-of instant showed as closed in a rebuilt packet."""
    asked: dict[str, Any] = {}

    def packet_tasks(session: Any, **kwargs: Any) -> list[Any]:
        asked.update(kwargs)
        return []

    monkeypatch.setattr(tasks_service, "packet_tasks", packet_tasks)
    known_at = dt.datetime(2026, 11, 30, 20, 29, tzinfo=dt.UTC)
    DatabaseSources().tasks(None, org_id="org-demo", finding_ids=["F-1"], known_at=known_at)  # type: ignore[arg-type]
    assert asked == {"org_id": "org-demo", "finding_ids": ["F-1"], "known_at": known_at}
