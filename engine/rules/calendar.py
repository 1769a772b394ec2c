"""The calendar service (catalog X-CAL-002): the one place Vigil does date and deadline arithmetic.

Every rule, derivation and task due date goes through these functions, so conventions C1-C7 are
implemented once and tested once, at their boundaries (leap days, year ends, daylight-saving changes,
holidays, local midnight). No rule does its own date math.

    C1 add_days                 C2 year_end_plus            C3 add_hours, hours_between
    C4 add_working_days, is_working_day, next_working_day   C6 roll_forward
    C5 add_months, add_years, end_of_month, months_between, valid_through, card_valid_through
    C7 local_date, start_of_local_day, end_of_local_day, local_day_bounds, LocalClock, epoch_seconds
    compute_deadline -> Deadline, met_on_time, obligation_state

Everything is pure: no database and no wall clock (callers pass `as_of`). Working-day questions
go through a `Calendar` (the seam tests fake); the functions here default to `default_calendar()`,
which holds the built-in calendars (US-FEDERAL, NONE) and the org calendars of
`policies/holidays.yaml`.
"""

from __future__ import annotations

import datetime as dt

from engine.rules.calendars.arithmetic import (
    EXPIRY_RULES,
    LocalClock,
    add_days,
    add_hours,
    add_months,
    add_years,
    card_valid_through,
    clamped_date,
    days_inclusive,
    end_of_local_day,
    end_of_month,
    epoch_seconds,
    hours_between,
    iso_instant,
    latest_start,
    local_date,
    local_day_bounds,
    months_between,
    start_of_local_day,
    valid_through,
    year_end_plus,
)
from engine.rules.calendars.deadlines import (
    CONVENTION_UNITS,
    Deadline,
    ObligationState,
    compute_deadline,
    met_on_time,
    obligation_state,
)
from engine.rules.calendars.errors import (
    DeadlineSpecError,
    HolidayPolicyError,
    HolidayPolicySyntaxError,
    UnknownCalendarError,
    UnknownTimeZoneError,
)
from engine.rules.calendars.policy import (
    DEFAULT_POLICY_PATH,
    calendar_service,
    default_calendar,
    load_holiday_policy,
    parse_holiday_policy,
)
from engine.rules.calendars.workdays import (
    DEFAULT_CALENDAR_NAME,
    NO_HOLIDAYS,
    US_FEDERAL,
    Calendar,
    CalendarService,
    HolidayList,
)
from engine.rules.calendars.workdays import add_working_days as _add_working_days
from engine.rules.calendars.workdays import count_working_days as _count_working_days
from engine.rules.calendars.workdays import is_working_day as _is_working_day
from engine.rules.calendars.workdays import next_working_day as _next_working_day
from engine.rules.calendars.workdays import roll_forward as _roll_forward

__all__ = [
    "CONVENTION_UNITS",
    "DEFAULT_CALENDAR_NAME",
    "DEFAULT_POLICY_PATH",
    "EXPIRY_RULES",
    "NO_HOLIDAYS",
    "US_FEDERAL",
    "Calendar",
    "CalendarService",
    "Deadline",
    "DeadlineSpecError",
    "HolidayList",
    "HolidayPolicyError",
    "HolidayPolicySyntaxError",
    "LocalClock",
    "ObligationState",
    "UnknownCalendarError",
    "UnknownTimeZoneError",
    "add_days",
    "add_hours",
    "add_months",
    "add_working_days",
    "add_years",
    "calendar_service",
    "card_valid_through",
    "clamped_date",
    "compute_deadline",
    "count_working_days",
    "days_inclusive",
    "default_calendar",
    "end_of_local_day",
    "end_of_month",
    "epoch_seconds",
    "hours_between",
    "is_working_day",
    "iso_instant",
    "latest_start",
    "load_holiday_policy",
    "local_date",
    "local_day_bounds",
    "met_on_time",
    "months_between",
    "next_working_day",
    "obligation_state",
    "parse_holiday_policy",
    "roll_forward",
    "start_of_local_day",
    "valid_through",
    "year_end_plus",
]


def _service(calendar: Calendar | None) -> Calendar:
    return calendar if calendar is not None else default_calendar()


def is_working_day(
    day: dt.date, calendar_name: str = DEFAULT_CALENDAR_NAME, *, calendar: Calendar | None = None
) -> bool:
    """C4: Monday-Friday and not a holiday or closure of the named calendar."""
    return _is_working_day(day, calendar_name, _service(calendar))


def add_working_days(
    local_date: dt.date,
    n: int,
    calendar_name: str = DEFAULT_CALENDAR_NAME,
    *,
    calendar: Calendar | None = None,
) -> dt.date:
    """C4: `n` working days after `local_date`; the anchor is not counted, counting starts on the next one."""
    return _add_working_days(local_date, n, calendar_name, _service(calendar))


def next_working_day(
    day: dt.date, calendar_name: str = DEFAULT_CALENDAR_NAME, *, calendar: Calendar | None = None
) -> dt.date:
    """C4: the first working day strictly after `day`."""
    return _next_working_day(day, calendar_name, _service(calendar))


def roll_forward(
    day: dt.date, calendar_name: str = DEFAULT_CALENDAR_NAME, *, calendar: Calendar | None = None
) -> dt.date:
    """C6: `day` if it is a working day, else the next one; only for rules that opt in (QPP)."""
    return _roll_forward(day, calendar_name, _service(calendar))


def count_working_days(
    local_date: dt.date,
    n: int,
    calendar_name: str = DEFAULT_CALENDAR_NAME,
    *,
    calendar: Calendar | None = None,
) -> tuple[dt.date, tuple[str, ...]]:
    """C4 with its working: the date `n` working days on and the holidays skipped (for explanations)."""
    return _count_working_days(local_date, n, calendar_name, _service(calendar))
