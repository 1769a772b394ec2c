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
    """Convert an aware instant to UTC; a naive one is a programming error."""
    if instant.tzinfo is UTC:  # the usual case, without asking for its offset (a sweep asks millions of times)
        return instant
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"instant without an offset: {instant.isoformat()}")
    return instant.astimezone(UTC)
