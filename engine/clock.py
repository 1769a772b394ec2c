"""The one place that reads the wall clock.

Every deadline, sweep and job asks this module for "now", so tests and "as of" runs control time
by installing a different clock. Instants are always timezone-aware UTC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Protocol
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, ValidationError, ValidatorFunctionWrapHandler, WrapValidator

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
        written = instant.isoformat()  # a date alone never gets here (`refuse_epoch_number`)
        raise InputError(f"{field} needs an offset", [ErrorDetail(
            reason=f"{written} has no UTC offset; give it with one, e.g. {written}Z (UTC) or "
                   f"{written}{EXAMPLE_OFFSET} (the establishment's)", field=field)], code="input.instant")
    try:
        return instant.astimezone(UTC)
    except OverflowError:
        raise InputError(f"{field} is out of range", [ErrorDetail(
            reason=f"{instant.isoformat()} is outside years 1-9999 once read in UTC",
            field=field)], code="input.instant") from None


def refuse_epoch_number(value: object) -> object:
    """A pydantic BeforeValidator for instants from outside, refusing what pydantic would misread: a
    number (or a string of digits) as seconds since 1970 (12345 -> 1970-01-01T03:25:45Z), and a date
    (2026-12-03) as its midnight without an offset, which `checked_utc` then refused as
    "2026-12-03T00:00:00 has no UTC offset", a time the user never wrote."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number or (isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()):
        raise ValueError("give an ISO 8601 instant with an offset, e.g. 2026-11-30T17:00:00Z, not a number "
                         "(it would be read as seconds since 1970)")
    if isinstance(value, str):
        problem = _day_problem(value.strip())
        if problem is not None:
            raise ValueError(str(problem))
    return value


def said_as_instant(value: object, handler: ValidatorFunctionWrapHandler) -> dt.datetime:
    """pydantic's reading of an instant, with what to write instead when a text is none at all:
    `as_of=now` or `yesterday` had been told "Input should be a valid datetime or date, input is too
    short", which says nothing of the form wanted (and a date, which that does not refuse, is)."""
    try:
        read: dt.datetime = handler(value)
    except ValidationError as exc:
        if not isinstance(value, str) or not exc.errors() or exc.errors()[0]["type"] not in _UNREAD:
            raise
        said = str((exc.errors()[0].get("ctx") or {}).get("error") or "")
        why = f" ({said})" if "outside expected range" in said else ""  # the right form, a day or hour there is not
        raise ValueError(f"{value[:60]!r} is not an ISO 8601 instant{why}: give a date and a time with an offset, "
                         f"e.g. 2026-12-07T09:00:00Z (UTC) or 2026-12-07T09:00:00{EXAMPLE_OFFSET} (the "
                         "establishment's)") from None
    return read


#: pydantic's error types for a text it could not read as a date-time (or a date)
_UNREAD = frozenset({"datetime_parsing", "datetime_from_date_parsing", "datetime_type"})

#: An instant given from outside: ISO 8601 text with an offset (a number would be read as seconds
#: since 1970). One type for every face: the packets' `as_of` had been a plain datetime.
InstantIn = Annotated[dt.datetime, BeforeValidator(refuse_epoch_number), WrapValidator(said_as_instant)]


def refuse_number_day(value: object) -> object:
    """A pydantic BeforeValidator for days from outside: pydantic reads a number, or a string of
    digits, as seconds since 1970 (`"window_from": 1767225600` was a grant from 1 January 2026,
    `?on=0` the day 1970-01-01), where the API promises ISO 8601 text."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number or (isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()):
        raise ValueError("give an ISO 8601 date, e.g. 2027-01-01, not a number (it would be read as seconds "
                         "since 1970)")
    return value


#: A day given from outside (a body field or a query parameter): ISO 8601 text, never a number.
DayIn = Annotated[dt.date, BeforeValidator(refuse_number_day)]


# --- what is wrong with an instant as written ----------------------------------------------------------------

#: The offset an example suggests beside Z: the establishment's own is meant (US Eastern standard time here).
EXAMPLE_OFFSET = "-05:00"
_DAY_RE = re.compile(r"(\d{4}-\d{2}-\d{2})([Zz]|[+-]\d{2}(?::?\d{2})?)?", re.ASCII)
_DAY_FIRST_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


@dataclass(frozen=True)
class InstantProblem:
    """Why a text is not an instant with an offset (`what`, naming what was written), and a full
    instant to write instead (`advice`); said together as "what: advice"."""

    what: str
    advice: str

    def __str__(self) -> str:
        return f"{self.what}: {self.advice}"


def instant_problem(text: str) -> InstantProblem | None:
    """What is wrong with `text` as an instant with an offset (ISO 8601), or None when it is one or
    is no ISO 8601 date-time at all (the caller says that in its own words).

    The one place the CLI options, the API and the scenario files explain a time they refuse. Each
    had its own guess: "2026-03-08Z" was told to add a Z ("e.g. 2026-03-08ZZ"), "2026-03-08-05:00",
    read by Python as 05:00 on the 8th, was told to add one too, and a date alone came back as a
    midnight the user never wrote. Python also reads any character between the date and the time
    (2026-03-08x10:00Z), so that is refused here rather than guessed."""
    return _day_problem(text) or _separator_problem(text) or _offset_problem(text)


def _day_problem(text: str) -> InstantProblem | None:
    """A date, with or without an offset, where an instant is asked for."""
    m = _DAY_RE.fullmatch(text)
    if m is None:
        return None
    day, offset = m.groups()
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        return None  # 2026-02-30: no such date, which the caller says
    if offset is None:
        return InstantProblem(f"{text} is a date, not an instant",
                              f"write {day}T00:00:00Z or with the establishment's offset, e.g. "
                              f"{day}T00:00:00{EXAMPLE_OFFSET}")
    offset = "Z" if offset in "Zz" else offset
    return InstantProblem(f"{text} is a date with an offset but no time, not an instant",
                          f"write the time between them, e.g. {day}T00:00:00{offset} for midnight")


def _separator_problem(text: str) -> InstantProblem | None:
    """A date and a time joined by something other than T (or a space)."""
    if len(text) > 10 and _DAY_FIRST_RE.match(text) and text[10] not in "Tt ":
        return InstantProblem(f"{text} is not an ISO 8601 instant",
                              f"the date and the time are separated by T, e.g. {text[:10]}T{text[11:]}")
    return None


def _offset_problem(text: str) -> InstantProblem | None:
    """A date and a time without the offset that makes them one instant."""
    try:
        parsed = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text)
    except ValueError:
        return None
    if parsed.tzinfo is not None and parsed.utcoffset() is not None:
        return None
    written = text[:10] + "T" + text[11:] if len(text) > 10 else text
    return InstantProblem(f"instant without an offset: {text} does not say which time zone it is in",
                          f"give it with an offset, e.g. {written}Z (UTC) or {written}{EXAMPLE_OFFSET} (the "
                          "establishment's)")

