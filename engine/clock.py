"""The one place that reads the wall clock.

Every deadline, sweep and job asks this module for "now", so tests and "as of" runs control time
by installing a different clock. Instants are always timezone-aware UTC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Protocol
from zoneinfo import ZoneInfo

from engine.errors import ErrorDetail, InputError

UTC = dt.UTC


class Clock(Protocol):
    """Anything that can say what instant it is (UTC, aware)."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)  # noqa: TID251 - the single sanctioned reader


class FrozenClock:
    """A clock that says what it is told; tests move it with `advance` or `set`."""

    def __init__(self, instant: dt.datetime) -> None:
        self._instant = ensure_utc(instant)

    def now(self) -> dt.datetime:
        return self._instant

    def set(self, instant: dt.datetime) -> None:
        self._instant = ensure_utc(instant)

    def advance(self, delta: dt.timedelta) -> None:
        self._instant = self._instant + delta


_clock: Clock = SystemClock()


def now() -> dt.datetime:
    """The current instant, in UTC."""
    return _clock.now()


def today_in(zone: str) -> dt.date:
    """The local calendar date right now in an IANA zone (C7: never assume UTC's date)."""
    return now().astimezone(ZoneInfo(zone)).date()


def install(clock: Clock) -> Clock:
    """Replace the process clock; returns the previous one."""
    global _clock
    previous, _clock = _clock, clock
    return previous


@contextlib.contextmanager
def frozen(instant: dt.datetime) -> Iterator[FrozenClock]:
    """Run a block with time stopped at `instant`."""
    clock = FrozenClock(instant)
    previous = install(clock)
    try:
        yield clock
    finally:
        install(previous)


def ensure_utc(instant: dt.datetime) -> dt.datetime:
    """Convert an aware instant to UTC; a naive one is a programming error.

    An instant whose UTC reading falls outside years 1-9999 (9999-12-31T23:59:59-12:00 is in year
    10000 in UTC) is a ValueError too, not the OverflowError Python raises, so the callers that turn
    a ValueError into an input error catch both."""
    if instant.tzinfo is UTC:  # the usual case, without asking for its offset (a sweep asks millions of times)
        return instant
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"instant without an offset: {instant.isoformat()}")
    try:
        return instant.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"instant out of range: {instant.isoformat()} is outside years 1-9999 in UTC") from None


def checked_utc(instant: dt.datetime, *, field: str) -> dt.datetime:
    """An instant given from outside (a request body, a query, a CLI option) in UTC.

    Refused with an InputError naming `field` when it has no offset (its instant is unknown), or
    when it is no instant at all once read in UTC: 9999-12-31T23:59:59-12:00 is in the year 10000
    there, 0001-01-01T00:00:00+05:00 in the year 0. What a use needs beyond that (a waiver ending
    after now, an evaluation leaving room for its deadlines) its service checks."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InputError(f"{field} needs an offset", [ErrorDetail(
            reason=f"{instant.isoformat()} has no UTC offset; give it with one, e.g. 2026-11-30T17:00:00Z or "
                   f"2026-11-30T09:00:00-08:00", field=field)], code="input.instant")
    try:
        return instant.astimezone(UTC)
    except OverflowError:
        raise InputError(f"{field} is out of range", [ErrorDetail(
            reason=f"{instant.isoformat()} is outside years 1-9999 once read in UTC",
            field=field)], code="input.instant") from None


def refuse_epoch_number(value: object) -> object:
    """A pydantic BeforeValidator for instants from outside: a number (or a string of digits) would be
    read as seconds since 1970 (12345 -> 1970-01-01T03:25:45Z), which no caller means."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number or (isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()):
        raise ValueError("give an ISO 8601 instant with an offset, e.g. 2026-11-30T17:00:00Z, not a number "
                         "(it would be read as seconds since 1970)")
    return value

