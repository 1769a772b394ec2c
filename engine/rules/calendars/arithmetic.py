"""Pure date and instant arithmetic for catalog conventions C1, C2, C3, C5 and C7.

No holiday data lives here (that is `workdays`), and nothing reads the wall clock: every function
is a total function of its arguments so a deadline can be recomputed byte for byte (C9).

Two kinds of time never mix. *Local dates* (`datetime.date`) carry day-based deadlines and are always
the establishment's date, obtained with `local_date` (C7). *Instants* (aware `datetime`) carry hour
windows and are converted to UTC before any arithmetic (C3). A `datetime` is a subclass of `date`, so
the day-based functions refuse one explicitly: passing an instant where a local date belongs is exactly
the "UTC date instead of local date" bug C7 warns about.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.clock import UTC, ensure_utc
from engine.rules.calendars.errors import UnknownTimeZoneError


def require_date(value: object, what: str = "date") -> dt.date:
    """`value` if it is a plain date; datetimes are refused so a UTC date never stands in for a local one."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(
            f"{what} must be a local calendar date (datetime.date), got {type(value).__name__} {value!r}; "
            "convert instants with local_date(instant, tz) first (C7)"
        )
    return value


@lru_cache(maxsize=256)
def zone(tz: str) -> ZoneInfo:
    """The `ZoneInfo` for an IANA name, or `UnknownTimeZoneError` naming the bad value."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:  # OSError: a tzdata folder
        raise UnknownTimeZoneError(f"unknown IANA time zone {tz!r}") from exc


# --- C1 / C2: calendar days ---------------------------------------------------------------------


def add_days(local_date: dt.date, n: int) -> dt.date:
    """C1: `n` calendar days after `local_date`; the anchor is day 0, so 2025-01-10 + 60 = 2025-03-11."""
    return require_date(local_date, "local_date") + dt.timedelta(days=n)


def year_end_plus(year: int, n: int) -> dt.date:
    """C2: `n` days after 31 December of `year` (HHS small-breach log: 1 March, or 29 Feb in leap years)."""
    return dt.date(year, 12, 31) + dt.timedelta(days=n)


def days_inclusive(start: dt.date, end: dt.date) -> int:
    """How many days a period covers counting both ends (MIPS: 5 Jul .. 31 Dec is 180 days)."""
    return (require_date(end, "end") - require_date(start, "start")).days + 1


def latest_start(end: dt.date, length_days: int) -> dt.date:
    """The last start date for a continuous period of `length_days` that must end by `end` (inclusive).

    MIPS PI needs 180 continuous days and IA activities 90 inside the performance year, so the
    latest starts are 5 July and 3 October in every year (the leap day is earlier than both).
    """
    if length_days < 1:
        raise ValueError(f"a period lasts at least one day, got {length_days}")
    return require_date(end, "end") - dt.timedelta(days=length_days - 1)


# --- C3: elapsed hours --------------------------------------------------------------------------


def add_hours(instant: dt.datetime, hours: float) -> dt.datetime:
    """C3: the UTC instant `hours` of elapsed time after `instant`.

    The instant is converted to UTC *before* adding: adding a timedelta to an aware datetime that
    carries a `ZoneInfo` does wall-clock arithmetic in Python, which is an hour off across a
    daylight-saving change. Naive datetimes are refused (`ValueError`).
    """
    return ensure_utc(instant) + dt.timedelta(hours=hours)


def hours_between(start: dt.datetime, end: dt.datetime) -> float:
    """C3: elapsed hours from `start` to `end` (negative if `end` is earlier), measured in UTC."""
    return (ensure_utc(end) - ensure_utc(start)).total_seconds() / 3600.0


# --- C5: months, years, end of month ------------------------------------------------------------


def add_months(day: dt.date, n: int) -> dt.date:
    """C5: the same day-of-month `n` months later, clamped to the month's last day.

    Anniversaries clamp rather than overflow: 2024-02-29 + 12 months is 2025-02-28 (not 1 March) and
    2025-01-31 + 1 month is 2025-02-28, so a yearly obligation never moves into the next month.
    """
    require_date(day, "day")
    month_index = day.month - 1 + n
    year, month0 = divmod(month_index, 12)
    return clamped_date(day.year + year, month0 + 1, day.day)


def clamped_date(year: int, month: int, day: int) -> dt.date:
    """C5: `year`-`month`-`day`, or the month's last day if it has fewer days (29 Feb in a common year)."""
    return dt.date(year, month, min(day, _stdlib_calendar.monthrange(year, month)[1]))


def add_years(day: dt.date, n: int) -> dt.date:
    """C5: `n` years later as 12*n months, so 29 February clamps to 28 February."""
    return add_months(day, 12 * n)


def end_of_month(day: dt.date) -> dt.date:
    """C5: the last day of `day`'s month (the day an END_OF_MONTH credential is valid through)."""
    require_date(day, "day")
    return day.replace(day=_stdlib_calendar.monthrange(day.year, day.month)[1])


def months_between(start: dt.date, end: dt.date) -> int:
    """C5: whole months from `start` to `end`: the largest n with add_months(start, n) <= end.

    So `months_between(a, b) >= n` exactly when `add_months(a, n) <= b`, leap days included. To ask
    whether an N-month obligation is overdue use a `months` deadline instead: it is overdue from the
    day after `add_months(a, N)`, whereas `months_between(a, b) > N` stays false for almost another
    month. Negative when `end` < `start`.
    """
    require_date(start, "start")
    require_date(end, "end")
    if end < start:
        return -months_between(end, start)
    n = (end.year - start.year) * 12 + (end.month - start.month)
    while n > 0 and add_months(start, n) > end:
        n -= 1
    return n


EXPIRY_RULES = ("exact", "end_of_month")


def valid_through(expires: dt.date, expiry_rule: str = "exact") -> dt.date:
    """C5: the last day a credential is valid, under its `expiry_rule`.

    `exact`: through the printed date. `end_of_month` (`END_OF_MONTH` in the catalog): through the
    last day of the printed month, as AHA cards and many licences read. Expired from the next day.
    """
    rule = expiry_rule.lower()
    if rule == "exact":
        return require_date(expires, "expires")
    if rule == "end_of_month":
        return end_of_month(expires)
    raise ValueError(f"unknown expiry rule {expiry_rule!r}; expected one of {', '.join(EXPIRY_RULES)}")


def card_valid_through(issued: dt.date, months: int = 24) -> dt.date:
    """C5: AHA course cards (BLS/ACLS/PALS) run through the end of the month of issue + `months` (24)."""
    return end_of_month(add_months(issued, months))


# --- C7: local dates and the instants that bound them -------------------------------------------


def local_date(instant: dt.datetime, tz: str) -> dt.date:
    """C7: the calendar date of `instant` in the establishment's zone.

    A request received at 23:30 in Honolulu on 31 March is already 1 April in UTC; its deadline
    counts from 31 March, the date the practice saw.
    """
    return ensure_utc(instant).astimezone(zone(tz)).date()


def epoch_seconds(instant: dt.datetime) -> int:
    """Whole seconds from 1970-01-01 UTC to `instant`, rounded down, in integers throughout:
    `int(instant.timestamp())` rounds toward zero before 1970 and goes through a float, which can
    carry the last microsecond of a second into the next one."""
    return (ensure_utc(instant) - _EPOCH) // _SECOND


class LocalClock:
    """C7 for many instants in one zone: the local date and hour of a UTC instant given as epoch
    seconds, as `local_date` and `astimezone` give them.

    Why: the snooping alerts ask this of every access event (a million at 1x the large practice),
    and `astimezone` through zoneinfo was their costliest line. Here the zone's UTC offset is looked
    up once per UTC hour and the rest is integer arithmetic. An hour counts as one offset only when
    the offsets at its first and last second agree; otherwise (an hour holding a transition of a
    zone whose offsets are not whole hours) each instant is converted on its own, so the answer is
    always the same as zoneinfo's.
    """

    __slots__ = ("_offsets", "_days", "_zone")

    def __init__(self, tz: str) -> None:
        self._zone = zone(tz)
        self._offsets: dict[int, int | None] = {}  # UTC hour -> offset in seconds, None if it changes
        self._days: dict[int, dt.date] = {}  # local day number since 1970-01-01 -> its date

    def day_and_hour(self, epoch: int) -> tuple[dt.date, int]:
        """The local date and local hour (0-23) of the instant `epoch` whole seconds after 1970 UTC
        (an instant's fraction of a second never changes either)."""
        hour = epoch // 3600
        offset = self._offsets.get(hour, _UNSEEN)
        if offset == _UNSEEN:
            offset = self._offsets[hour] = self._hour_offset(hour)
        if offset is None:
            local = (_EPOCH + dt.timedelta(seconds=epoch)).astimezone(self._zone)
            return local.date(), local.hour
        seconds = epoch + offset
        day_number = seconds // 86400
        day = self._days.get(day_number)
        if day is None:
            day = self._days[day_number] = _EPOCH_DAY + dt.timedelta(days=day_number)
        return day, seconds % 86400 // 3600

    def _hour_offset(self, hour: int) -> int | None:
        try:
            first, last = ((_EPOCH + dt.timedelta(seconds=hour * 3600 + s)).astimezone(self._zone).utcoffset()
                           for s in (0, 3599))
        except OverflowError:  # the hour reaches past year 1 or 9999 in this zone: convert each instant
            return None
        assert first is not None and last is not None
        return int(first.total_seconds()) if first == last else None


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = dt.timedelta(seconds=1)
_EPOCH_DAY = _EPOCH.date()
_UNSEEN = 1 << 62  # no zone's offset: an hour not looked up yet


def start_of_local_day(day: dt.date, tz: str) -> dt.datetime:
    """C7: the first UTC instant whose local date in `tz` is `day`.

    Built from local midnight with fold=0. Where midnight itself is skipped by a daylight-saving jump
    (America/Santiago, for one), zoneinfo resolves the missing wall time with the earlier offset,
    which lands on the first instant that really exists (01:00 local); a test holds this.
    """
    require_date(day, "day")
    local_midnight = dt.datetime(day.year, day.month, day.day, tzinfo=zone(tz))
    return local_midnight.astimezone(UTC)


def end_of_local_day(day: dt.date, tz: str) -> dt.datetime:
    """C7: the exclusive end of `day` in `tz`, i.e. the start of the next local day, in UTC.

    Local days are 23, 24 or 25 hours long; comparing `instant < end_of_local_day(d, tz)` is the
    one safe way to ask "did this happen on or before local date d".
    """
    return start_of_local_day(require_date(day, "day") + dt.timedelta(days=1), tz)


def local_day_bounds(day: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """C7: `[start, end)` of a local day as UTC instants."""
    return start_of_local_day(day, tz), end_of_local_day(day, tz)


def iso_instant(instant: dt.datetime) -> str:
    """An instant as ISO 8601 UTC with a `Z` suffix (the contract's spelling of instants)."""
    text = ensure_utc(instant).isoformat()
    return text.removesuffix("+00:00") + "Z"
