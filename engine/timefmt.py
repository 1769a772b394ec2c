"""How deadlines read to people, on every face: an hour deadline in its establishment's local time.

A finding's `due` is a local date ("2026-11-15") or, for an hour deadline, a UTC instant. Shown as
the instant among local dates, a list sorted by due date looked unsorted and an evening deadline in
the Americas read as the next day; the web pages, then the CLI's tables, show it as the
establishment reads it, "2026-11-15 17:00 PST". The faces keep the stored value where a program
reads it (the page's `<time datetime>`, `--json`).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from engine import clock


def utc_text(when: dt.datetime) -> str:
    """An instant in UTC, named: "2026-11-16 01:00 UTC" (a naive one as written, with no zone)."""
    if when.tzinfo is None:
        return when.strftime("%Y-%m-%d %H:%M")
    return clock.ensure_utc(when).strftime("%Y-%m-%d %H:%M UTC")


def utc_seconds(when: dt.datetime) -> str:
    """`utc_text` to the second, "2026-12-07 03:28:49 UTC": where two instants named side by side often
    fall in one minute (a task's completion and the run that reopened it)."""
    return clock.ensure_utc(when).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_utc(when: dt.datetime | None) -> str | None:
    """An instant in UTC to the second, ISO 8601 with Z ("2026-03-10T15:00:00Z"), as the JSON lists
    write it: the exports' instants (a column a program sorts and parses); None stays None."""
    if when is None:
        return None
    return clock.ensure_utc(when).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def local_time(when: dt.datetime, tz: str | None) -> str:
    """An instant as its establishment reads it, "2026-11-15 17:00 PST"; in UTC without a zone."""
    if not tz:
        return utc_text(when)
    local = clock.ensure_utc(when).astimezone(ZoneInfo(tz))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def due_text(value: str | None, tz: str | None = None, *, missing: str = "—") -> str:
    """A finding's `due`: a local date as written; an hour deadline's instant in the local time of
    `tz`, its establishment's zone, with the zone's abbreviation; `missing` when it has none."""
    if not value:
        return missing
    text = str(value)
    if "T" not in text:
        return text[:10]
    try:
        return local_time(dt.datetime.fromisoformat(text.replace("Z", "+00:00")), tz)
    except ValueError:
        return text


def falls_due_at_day_end(due: dt.date, due_at: dt.datetime, tz: str) -> bool:
    """Whether a task falls due at the end of its local day (a day deadline), not at an hour."""
    from engine.rules import calendar

    return bool(clock.ensure_utc(due_at) == calendar.end_of_local_day(due, tz))


def task_due_text(due: dt.date, due_at: dt.datetime, tz: str) -> str:
    """A task's due in a list: its local date for a day deadline, its local hour for an hour one
    ("2026-11-28 16:00 EST"): the date alone had read as the whole day to someone with until 16:00."""
    if falls_due_at_day_end(due, due_at, tz):
        return due.isoformat()
    return local_time(due_at, tz)
