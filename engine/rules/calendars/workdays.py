"""Working days under named holiday calendars (catalog C4) and the opt-in roll-forward (C6).

A *holiday list* knows which weekdays are closed (federal holidays, org closures); the *calendar
service* adds the Monday-Friday rule and resolves names, so every working-day question in Vigil is
asked the same way: `non_working_reason(day, calendar_name)`. That single method is the `Calendar`
seam; tests fake it with a dictionary, and the counting functions below work on any implementation.

Built-in names: `US-FEDERAL` (federal holidays with their observed dates, from the `holidays` package,
the catalog's default because OSHA never defines "working days") and `NONE` (weekdays only). Org
calendars that extend a base with extra closures come from `policies/holidays.yaml` (see `policy`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Protocol, runtime_checkable

import holidays as holidays_pkg

from engine.rules.calendars.arithmetic import require_date
from engine.rules.calendars.errors import HolidayPolicyError, UnknownCalendarError

US_FEDERAL = "US-FEDERAL"
NO_HOLIDAYS = "NONE"
#: Spellings of the built-in names, with case and separators removed (see `CalendarService.holiday_list`).
_ALIASES = {"USFEDERAL": US_FEDERAL, "US": US_FEDERAL, "FEDERAL": US_FEDERAL, "USFEDERALHOLIDAYS": US_FEDERAL,
            "NONE": NO_HOLIDAYS, "NOHOLIDAYS": NO_HOLIDAYS}
DEFAULT_CALENDAR_NAME = US_FEDERAL

# A run of this many consecutive closed days means a misconfigured calendar, not a real one; stop
# rather than loop for years.
MAX_CLOSED_RUN = 366

_WEEKEND_NAMES = {5: "Saturday", 6: "Sunday"}


@runtime_checkable
class Calendar(Protocol):
    """The calendar seam rules and derivations depend on; faked in tests like `Clock`."""

    def non_working_reason(self, day: dt.date, calendar_name: str) -> str | None:
        """Why `day` is not a working day under `calendar_name` ("Saturday", "Thanksgiving Day"), or
        None if it is one. Raises `UnknownCalendarError` for a name the calendar does not define."""
        ...

    def calendar_names(self) -> tuple[str, ...]:
        """Every name `non_working_reason` accepts, sorted, so a compiler can check names up front."""
        ...


class HolidayList(Protocol):
    """Closed weekdays of one named calendar (weekends are the service's business, not the list's)."""

    @property
    def name(self) -> str: ...

    def holiday_name(self, day: dt.date) -> str | None:
        """The closure's name if `day` (a weekday) is closed, else None."""
        ...


# --- holiday lists ------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _us_federal_year(year: int) -> Mapping[dt.date, str]:
    """US federal holidays for one year with observed dates, as an immutable snapshot.

    The `holidays` package expands years lazily on lookup, which mutates a shared dict; taking one
    snapshot per year keeps lookups pure and thread-safe. Observed days that spill into the previous
    year (New Year's Day on a Saturday is observed Friday 31 December) are listed under that year by
    the package, so a per-year snapshot still finds them.
    """
    return MappingProxyType(dict(holidays_pkg.country_holidays("US", years=year, observed=True)))


@dataclass(frozen=True)
class UsFederalHolidays:
    """The eleven US federal holidays (5 U.S.C. 6103) and the days they are observed on."""

    name: str = US_FEDERAL

    def holiday_name(self, day: dt.date) -> str | None:
        return _us_federal_year(day.year).get(day)


@dataclass(frozen=True)
class NoHolidays:
    """No closures at all: working days are exactly Monday-Friday."""

    name: str = NO_HOLIDAYS

    def holiday_name(self, day: dt.date) -> str | None:
        return None


@dataclass(frozen=True)
class NthWeekday:
    """A closure on the `nth` `weekday` (0=Monday) of `month`, shifted by `offset_days`; nth=-1 is the last.

    The day after Thanksgiving is the 4th Thursday of November + 1 day: stated as a rule, it needs
    no yearly maintenance.
    """

    label: str
    month: int
    weekday: int
    nth: int
    offset_days: int = 0

    def date_in(self, year: int) -> dt.date:
        if self.nth > 0:
            first = dt.date(year, self.month, 1)
            day = first + dt.timedelta(days=(self.weekday - first.weekday()) % 7 + 7 * (self.nth - 1))
        else:
            nxt = dt.date(year + (self.month == 12), self.month % 12 + 1, 1)
            last = nxt - dt.timedelta(days=1)
            day = last - dt.timedelta(days=(last.weekday() - self.weekday) % 7)
        return day + dt.timedelta(days=self.offset_days)


@dataclass(frozen=True)
class FixedDay:
    """A closure on the same month and day every year (no observed shift: weekends are closed anyway)."""

    label: str
    month: int
    day: int

    def date_in(self, year: int) -> dt.date | None:
        try:
            return dt.date(year, self.month, self.day)
        except ValueError:  # 29 February in a common year
            return None


@dataclass(frozen=True)
class ExtendedHolidays:
    """An org calendar: a base list plus closures of its own (recurring rules and one-off dates)."""

    name: str
    base: HolidayList
    description: str = ""
    recurring: tuple[NthWeekday | FixedDay, ...] = ()
    dates: Mapping[dt.date, str] = field(default_factory=dict)

    def holiday_name(self, day: dt.date) -> str | None:
        own = self.dates.get(day)
        if own is not None:
            return own
        for rule in self.recurring:
            # An nth-weekday rule with an offset can cross into a neighbouring year; check both.
            for year in (day.year - 1, day.year, day.year + 1):
                if rule.date_in(year) == day:
                    return rule.label
        return self.base.holiday_name(day)


# --- the service --------------------------------------------------------------------------------


class CalendarService:
    """Resolves calendar names to holiday lists and answers the one working-day question.

    Immutable after construction; one instance is shared by every rule evaluation (`default_calendar`).
    """

    def __init__(self, lists: Iterable[HolidayList] = (), *, source: str = "policies/holidays.yaml") -> None:
        by_name: dict[str, HolidayList] = {US_FEDERAL: UsFederalHolidays(), NO_HOLIDAYS: NoHolidays()}
        for item in lists:
            by_name[item.name] = item
        self._lists = by_name
        #: the policy file the org calendars come from, named when a calendar is unknown
        self.source = source

    def calendar_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._lists))

    def holiday_list(self, calendar_name: str) -> HolidayList:
        """The list behind a name, or `UnknownCalendarError` listing what exists and the close matches.

        A name is matched exactly, then ignoring case and the separators people type for the
        built-in ones (`us_federal`, `US FEDERAL`, `US`: the record contract names the field, not its
        values); anything else is an error, never a silent fallback to another calendar."""
        try:
            return self._lists[calendar_name]
        except (KeyError, TypeError):
            alias = _ALIASES.get(re.sub(r"[^A-Z0-9]", "", str(calendar_name).upper()))
            if alias is not None and alias in self._lists:
                return self._lists[alias]
            known = self.calendar_names()
            close = difflib.get_close_matches(str(calendar_name), known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownCalendarError(
                f"unknown holiday calendar {calendar_name!r}{hint} "
                f"(known: {', '.join(known)}; org calendars are defined in {self.source})"
            ) from None

    def non_working_reason(self, day: dt.date, calendar_name: str) -> str | None:
        holiday_list = self.holiday_list(calendar_name)
        require_date(day, "day")
        weekend = _WEEKEND_NAMES.get(day.weekday())
        if weekend is not None:
            return weekend
        return holiday_list.holiday_name(day)


# --- counting (C4) and roll-forward (C6) --------------------------------------------------------


def is_working_day(day: dt.date, calendar_name: str, calendar: Calendar) -> bool:
    """C4: Monday-Friday and not a holiday or closure of the named calendar."""
    return calendar.non_working_reason(day, calendar_name) is None


def _step(
    day: dt.date, direction: int, calendar_name: str, calendar: Calendar, skipped: list[str]
) -> dt.date:
    """The nearest working day strictly after (direction=1) or before (-1) `day`."""
    for _ in range(MAX_CLOSED_RUN):
        day = day + dt.timedelta(days=direction)
        reason = calendar.non_working_reason(day, calendar_name)
        if reason is None:
            return day
        if day.weekday() < 5:
            skipped.append(f"{day.isoformat()} {reason}")
    raise HolidayPolicyError(
        f"holiday calendar {calendar_name!r} has no working day within {MAX_CLOSED_RUN} days of {day}"
    )


def count_working_days(
    day: dt.date, n: int, calendar_name: str, calendar: Calendar
) -> tuple[dt.date, tuple[str, ...]]:
    """C4 with its working: the date `n` working days after `day`, and the holidays skipped on the way.

    The anchor day is not counted even when it is itself a working day; counting starts with the next
    working day, so 10 working days from Friday 2026-11-20 is Monday 2026-12-07 (Thanksgiving skipped).
    n=0 returns the anchor unchanged; negative n counts backwards the same way.
    """
    require_date(day, "day")
    skipped: list[str] = []
    direction = 1 if n >= 0 else -1
    for _ in range(abs(n)):
        day = _step(day, direction, calendar_name, calendar, skipped)
    if n == 0:
        calendar.non_working_reason(day, calendar_name)  # still reject an unknown name
    return day, tuple(skipped)


def add_working_days(day: dt.date, n: int, calendar_name: str, calendar: Calendar) -> dt.date:
    """C4: the date `n` working days after `day` under the named calendar (anchor not counted)."""
    return count_working_days(day, n, calendar_name, calendar)[0]


def next_working_day(day: dt.date, calendar_name: str, calendar: Calendar) -> dt.date:
    """C4: the first working day strictly after `day`."""
    return _step(require_date(day, "day"), 1, calendar_name, calendar, [])


def roll_forward(day: dt.date, calendar_name: str, calendar: Calendar) -> dt.date:
    """C6: `day` itself if it is a working day, else the next one.

    Only rules that opt in call this (QPP: 31 March 2024 was a Sunday, so the window closed 1 April).
    HIPAA and OSHA clocks never roll.
    """
    if is_working_day(require_date(day, "day"), calendar_name, calendar):
        return day
    return next_working_day(day, calendar_name, calendar)
