"""A task for a deadline met late is dated by the SOP's window, not by the deadline missed."""

from __future__ import annotations

import datetime as dt

from engine.findings.schemas import Finding
from engine.tasks.sync import due_of, pending_deadline

NY = "America/New_York"
NOW = dt.datetime(2026, 12, 7, 15, tzinfo=dt.UTC)


def _finding(status: str, due: str | None) -> Finding:
    return Finding.model_construct(status=status, due=due, facts={})


def test_a_deadline_met_late_opens_a_task_due_in_the_sops_window() -> None:
    """Web pass: the task of "the 2023 Form 300A was posted late" opened due 2024-02-01, overdue by
    two years, escalated at once and topped the dashboard's overdue work; its work is the lateness."""
    late = _finding("violation", "2024-02-01")
    assert not pending_deadline(late)
    due, due_at = due_of(late, tz=NY, as_of=NOW, default_days=14)
    assert due == dt.date(2026, 12, 21) and due_at > NOW


def test_a_deadline_still_to_meet_dates_the_task() -> None:
    for status in ("due_soon", "overdue"):
        pending = _finding(status, "2026-12-10")
        assert pending_deadline(pending)
        assert due_of(pending, tz=NY, as_of=NOW, default_days=14)[0] == dt.date(2026, 12, 10)
    hour = _finding("overdue", "2026-12-05T22:00:00Z")
    assert due_of(hour, tz=NY, as_of=NOW, default_days=14) == (dt.date(2026, 12, 5),
                                                                dt.datetime(2026, 12, 5, 22, tzinfo=dt.UTC))
    standing = _finding("violation", None)  # a condition with no deadline: the SOP's window, as before
    assert due_of(standing, tz=NY, as_of=NOW, default_days=3)[0] == dt.date(2026, 12, 10)
