"""Date and time helpers for the generator.

Rule of the house (catalog C3): hour arithmetic is done on UTC instants, never on wall-clock
times, so the planted daylight-saving cases mean what their notes say. Instants are written with
the local offset of the zone they belong to.
"""

from __future__ import annotations

import calendar
import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

UTC = dt.UTC


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(day: dt.date, hour: int, minute: int = 0, tz: str = "America/New_York", second: int = 0) -> dt.datetime:
    """The instant of a local wall-clock time (fold=0 for ambiguous times)."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone(tz))


def plus(instant: dt.datetime, *, hours: float = 0, minutes: float = 0, days: float = 0) -> dt.datetime:
    """Elapsed-time arithmetic (C3): add in UTC, then show in the instant's own zone."""
    tz = instant.tzinfo
    moved = instant.astimezone(UTC) + dt.timedelta(days=days, hours=hours, minutes=minutes)
    return moved.astimezone(tz)


def iso(instant: dt.datetime | None) -> str | None:
    """ISO 8601 with the offset, to the second."""
    if instant is None:
        return None
    if instant.tzinfo is None:  # pragma: no cover - programming error
        raise ValueError("naive instant")
    return instant.isoformat(timespec="seconds")


def iso_date(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months with the day clamped to the month's end (C5: 29 Feb + 12 months = 28 Feb)."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def end_of_month(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


@lru_cache(maxsize=32)
def federal_holidays(year: int) -> frozenset[dt.date]:
    """The US federal holidays (observed dates) of a year: the "US-FEDERAL" calendar."""
    return frozenset(holidays.country_holidays("US", years=[year]).keys())


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in federal_holidays(day.year)


def add_working_days(day: dt.date, count: int) -> dt.date:
    """C4: the anchor day is not counted; counting starts on the next working day."""
    current = day
    left = count
    while left > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


def previous_working_day(day: dt.date) -> dt.date:
    current = day
    while not is_working_day(current):
        current -= dt.timedelta(days=1)
    return current


def last_dst_change(tz: str, before: dt.date, *, spring: bool) -> dt.date | None:
    """The most recent date < `before` on which the zone's clocks went forward (spring) or back."""
    day = before - dt.timedelta(days=1)
    for _ in range(800):
        prev = day - dt.timedelta(days=1)
        off_prev = local(prev, 12, tz=tz).utcoffset()
        off_day = local(day, 12, tz=tz).utcoffset()
        assert off_prev is not None and off_day is not None
        if off_prev != off_day and ((off_day > off_prev) == spring):
            return day
        day = prev
    return None


