"""Deadline edges a mutation probe found untested: the warning window of a rolled-forward due date,
and an action recorded as a plain date on the establishment's local today."""

from __future__ import annotations

import datetime as dt

from engine.rules import calendar as cal

D = dt.date
NY, CHI = "America/New_York", "America/Chicago"


def at(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


def test_the_warning_counts_back_from_the_rolled_forward_due_date() -> None:
    # 1 Mar 2024 + 30 days = Sunday 31 Mar, rolled forward to Monday 1 Apr; the warning starts
    # 7 days before 1 Apr (local midnight, EDT), not 7 days before the Sunday.
    deadline = cal.compute_deadline(D(2024, 3, 1), 30, "days", "calendar_days", NY, "NONE",
                                    roll_forward=True, warn=7)
    assert deadline.due == D(2024, 4, 1)
    assert deadline.warn_from == at("2024-03-25T04:00:00+00:00")
    assert cal.obligation_state(deadline, at("2024-03-25T03:59:59+00:00")) == "pending"
    assert cal.obligation_state(deadline, at("2024-03-25T04:00:00+00:00")) == "due_soon"


def test_an_action_dated_on_the_local_today_has_happened_and_meets_the_deadline() -> None:
    # Due 11 Mar 2025 in Chicago; at 10:00 local on 11 Mar, an action recorded as "11 Mar" is met.
    deadline = cal.compute_deadline(D(2025, 1, 10), 60, "days", "calendar_days", CHI, warn=7)
    assert deadline.due == D(2025, 3, 11)
    assert cal.obligation_state(deadline, at("2025-03-11T15:00:00+00:00"), D(2025, 3, 11)) == "met"
    # the next local day's date has not happened yet at that moment
    assert cal.obligation_state(deadline, at("2025-03-11T15:00:00+00:00"), D(2025, 3, 12)) == "due_soon"


def test_an_instant_due_is_written_in_whole_seconds_and_still_judged_to_the_fraction() -> None:
    # a time black-box probe: learned at 01:30:00.123456 gave a due of ...13:30:00.123456Z
    anchor = at("2026-11-01T01:30:00.123456-04:00")
    deadline = cal.compute_deadline(anchor, 12, "hours", "elapsed_hours", NY, "NONE")
    assert deadline.due_text == "2026-11-01T17:30:00Z"
    assert cal.obligation_state(deadline, at("2026-11-01T17:30:00.100000+00:00")) != "overdue"
    assert cal.obligation_state(deadline, at("2026-11-01T17:30:00.200000+00:00")) == "overdue"
