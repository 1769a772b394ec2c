"""How pages show when something falls due: a local date as written, an hour deadline with its time.

An hour deadline (HIPAA-SEC-TERM-004: 24 hours after a 17:00 PST departure) passes at 17:00 local
the next day, 01:00 UTC the day after: the findings list had shown that UTC date alone, and its task
page said "end of day" in Los Angeles, seven hours after it went overdue."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from engine.rules import calendar
from engine.web.render import _due, _task_due

LA = "America/Los_Angeles"


def test_a_findings_due_shows_an_instant_with_its_time() -> None:
    assert _due("2026-12-02") == "2026-12-02"
    assert _due("2026-12-03T01:00:00Z") == "2026-12-03 01:00 UTC"
    assert _due(None) == "—"


def test_a_task_says_end_of_day_only_for_a_day_deadline() -> None:
    day = dt.date(2026, 12, 2)
    by_day = SimpleNamespace(due=day, due_at=calendar.end_of_local_day(day, LA), tz=LA)
    assert _task_due(by_day) == f"2026-12-02 (end of day, {LA})"
    by_hour = SimpleNamespace(due=day, due_at=dt.datetime(2026, 12, 3, 1, tzinfo=dt.UTC), tz=LA)
    assert _task_due(by_hour) == f"2026-12-02 17:00 PST ({LA})"
