"""C1, C2, C3, C5 and C7 at their boundaries: leap days, year ends, DST changes, local midnight."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from engine.errors import InputError, VigilError
from engine.rules import calendar as cal

UTC = dt.UTC
D = dt.date


def at(text: str) -> dt.datetime:
    """An aware instant from ISO text with an offset."""
    value = dt.datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


def wall(y: int, mo: int, d: int, h: int, mi: int, tz: str) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz))


# --- C1 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "n", "due"),
    [
        (D(2025, 1, 10), 60, D(2025, 3, 11)),  # catalog C1 worked example
        (D(2024, 1, 10), 60, D(2024, 3, 10)),  # same window across a leap February
        (D(2028, 1, 10), 60, D(2028, 3, 10)),
        (D(2024, 2, 28), 1, D(2024, 2, 29)),
        (D(2028, 2, 28), 1, D(2028, 2, 29)),
        (D(2027, 2, 28), 1, D(2027, 3, 1)),
        (D(2025, 12, 31), 1, D(2026, 1, 1)),  # year end
        (D(2026, 12, 28), 7, D(2027, 1, 4)),  # OSHA 300 log entry across New Year
        (D(2026, 3, 31), 30, D(2026, 4, 30)),  # right of access
        (D(2026, 5, 1), 0, D(2026, 5, 1)),  # the anchor is day 0
        (D(2026, 3, 8), 1, D(2026, 3, 9)),  # a DST day is still one calendar day
    ],
)
def test_add_days_counts_the_anchor_as_day_zero(anchor: dt.date, n: int, due: dt.date) -> None:
    assert cal.add_days(anchor, n) == due


def test_add_days_refuses_an_instant_because_its_date_may_be_utcs() -> None:
    with pytest.raises(TypeError, match="local_date"):
        cal.add_days(dt.datetime(2026, 4, 1, 9, 30, tzinfo=UTC), 30)


# --- C2 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "due"),
    [
        (2019, D(2020, 2, 29)),
        (2023, D(2024, 2, 29)),  # HHS small-breach log: leap year -> 29 February
        (2024, D(2025, 3, 1)),
        (2025, D(2026, 3, 1)),
        (2026, D(2027, 3, 1)),
        (2027, D(2028, 2, 29)),
    ],
)
def test_year_end_plus_60(year: int, due: dt.date) -> None:
    assert cal.year_end_plus(year, 60) == due


def test_year_end_plus_zero_is_31_december() -> None:
    assert cal.year_end_plus(2026, 0) == D(2026, 12, 31)


# --- continuous periods (MIPS PI 180 days, IA 90 days) -------------------------------------------


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2028])
@pytest.mark.parametrize(("length", "month", "day"), [(180, 7, 5), (90, 10, 3)])
def test_latest_start_of_a_period_ending_31_december(year: int, length: int, month: int, day: int) -> None:
    start = cal.latest_start(D(year, 12, 31), length)
    assert start == D(year, month, day)
    assert cal.days_inclusive(start, D(year, 12, 31)) == length
    assert cal.days_inclusive(start + dt.timedelta(days=1), D(year, 12, 31)) == length - 1


def test_latest_start_refuses_an_empty_period() -> None:
    with pytest.raises(ValueError):
        cal.latest_start(D(2026, 12, 31), 0)


# --- C3 ------------------------------------------------------------------------------------------

# (anchor in local wall time, zone, hours, what naive wall-clock math gives, the elapsed-time answer)
DST_WINDOWS = [
    # 8 March 2026: clocks jump 02:00 -> 03:00. Wall-clock math makes the window an hour short.
    ("2026-03-07T12:00", "America/New_York", 24, "2026-03-08T16:00:00+00:00", "2026-03-08T17:00:00+00:00"),
    ("2026-03-08T00:30", "America/New_York", 8, "2026-03-08T12:30:00+00:00", "2026-03-08T13:30:00+00:00"),
    ("2026-03-07T12:00", "America/Los_Angeles", 24, "2026-03-08T19:00:00+00:00", "2026-03-08T20:00:00+00:00"),
    ("2026-03-08T01:00", "America/Los_Angeles", 8, "2026-03-08T16:00:00+00:00", "2026-03-08T17:00:00+00:00"),
    # 1 November 2026: clocks fall back 02:00 -> 01:00. Wall-clock math makes the window an hour long.
    ("2026-10-31T12:00", "America/New_York", 24, "2026-11-01T17:00:00+00:00", "2026-11-01T16:00:00+00:00"),
    ("2026-11-01T00:30", "America/New_York", 8, "2026-11-01T13:30:00+00:00", "2026-11-01T12:30:00+00:00"),
    ("2026-10-31T12:00", "America/Los_Angeles", 24, "2026-11-01T20:00:00+00:00", "2026-11-01T19:00:00+00:00"),
    ("2026-10-31T18:00", "America/Los_Angeles", 24, "2026-11-02T02:00:00+00:00", "2026-11-02T01:00:00+00:00"),
]


def _naive_wall_clock_result(local: dt.datetime, hours: int) -> dt.datetime:
    """What `aware + timedelta` does in Python when the datetime carries a ZoneInfo: wall-clock math."""
    return (local + dt.timedelta(hours=hours)).astimezone(UTC)


@pytest.mark.parametrize(("local_text", "tz", "hours", "wall_text", "expected_text"), DST_WINDOWS)
def test_add_hours_is_elapsed_utc_time_across_2026_dst_changes(
    local_text: str, tz: str, hours: int, wall_text: str, expected_text: str
) -> None:
    local = dt.datetime.fromisoformat(local_text).replace(tzinfo=ZoneInfo(tz))
    due = cal.add_hours(local, hours)
    assert due == at(expected_text)
    assert due.tzinfo is UTC
    assert cal.hours_between(local, due) == hours
    naive = _naive_wall_clock_result(local, hours)
    assert naive == at(wall_text)
    assert naive != due, "the trap C3 warns about must actually differ here"
    assert abs(cal.hours_between(naive, due)) == 1


def test_add_hours_on_an_ordinary_day_matches_wall_clock() -> None:
    local = wall(2026, 6, 10, 9, 0, "America/New_York")
    assert cal.add_hours(local, 24) == _naive_wall_clock_result(local, 24)


@pytest.mark.parametrize(
    ("day", "tz", "hours"),
    [
        (D(2026, 3, 8), "America/New_York", 23),
        (D(2026, 11, 1), "America/New_York", 25),
        (D(2026, 3, 8), "America/Los_Angeles", 23),
        (D(2026, 11, 1), "America/Los_Angeles", 25),
        (D(2026, 3, 8), "America/Phoenix", 24),  # no DST in Arizona
        (D(2026, 3, 8), "Pacific/Honolulu", 24),
        (D(2026, 6, 1), "America/Chicago", 24),
    ],
)
def test_local_days_last_23_24_or_25_hours(day: dt.date, tz: str, hours: int) -> None:
    start, end = cal.local_day_bounds(day, tz)
    assert cal.hours_between(start, end) == hours


def test_add_hours_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="offset"):
        cal.add_hours(dt.datetime(2026, 3, 8, 1, 0), 8)
    with pytest.raises(ValueError):
        cal.hours_between(dt.datetime(2026, 3, 8), dt.datetime(2026, 3, 9, tzinfo=UTC))


def test_add_hours_accepts_fixed_offsets_and_returns_utc() -> None:
    assert cal.add_hours(at("2026-03-31T15:00:00-10:00"), 8) == at("2026-04-01T09:00:00+00:00")


# --- C5 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2024, 2, 29), 12, D(2025, 2, 28)),  # catalog: 29 Feb + 12 months -> 28 Feb
        (D(2025, 1, 31), 1, D(2025, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2024, 2, 29), 48, D(2028, 2, 29)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),
        (D(2024, 2, 29), 36, D(2027, 2, 28)),
        (D(2023, 3, 15), 36, D(2026, 3, 15)),  # NCQA recredentialing
        (D(2025, 8, 31), 1, D(2025, 9, 30)),
        (D(2025, 12, 31), 1, D(2026, 1, 31)),  # across the year end
        (D(2025, 11, 30), 2, D(2026, 1, 30)),
        (D(2025, 3, 31), -1, D(2025, 2, 28)),
        (D(2026, 1, 15), -13, D(2024, 12, 15)),
        (D(2026, 5, 20), 0, D(2026, 5, 20)),
    ],
)
def test_add_months_clamps_to_the_last_valid_day(start: dt.date, months: int, expected: dt.date) -> None:
    assert cal.add_months(start, months) == expected


def test_add_years_is_twelve_months() -> None:
    assert cal.add_years(D(2024, 2, 29), 1) == D(2025, 2, 28)
    assert cal.add_years(D(2024, 2, 29), 4) == D(2028, 2, 29)


@pytest.mark.parametrize(
    ("day", "last"),
    [
        (D(2024, 2, 10), D(2024, 2, 29)),
        (D(2025, 2, 10), D(2025, 2, 28)),
        (D(2028, 2, 1), D(2028, 2, 29)),
        (D(2026, 4, 1), D(2026, 4, 30)),
        (D(2025, 12, 31), D(2025, 12, 31)),
        (D(2026, 1, 1), D(2026, 1, 31)),
    ],
)
def test_end_of_month(day: dt.date, last: dt.date) -> None:
    assert cal.end_of_month(day) == last


@pytest.mark.parametrize(
    ("issued", "through"),
    [
        (D(2024, 3, 15), D(2026, 3, 31)),  # AHA: end of month of issue + 24 months
        (D(2024, 2, 29), D(2026, 2, 28)),
        (D(2026, 2, 10), D(2028, 2, 29)),  # lands in a leap February
        (D(2025, 12, 1), D(2027, 12, 31)),
        (D(2026, 1, 31), D(2028, 1, 31)),
    ],
)
def test_card_valid_through_end_of_month(issued: dt.date, through: dt.date) -> None:
    assert cal.card_valid_through(issued) == through


@pytest.mark.parametrize(
    ("printed", "rule", "through"),
    [
        (D(2026, 3, 1), "end_of_month", D(2026, 3, 31)),
        (D(2026, 3, 1), "END_OF_MONTH", D(2026, 3, 31)),  # the catalog's spelling
        (D(2028, 2, 1), "end_of_month", D(2028, 2, 29)),
        (D(2026, 3, 14), "exact", D(2026, 3, 14)),
    ],
)
def test_valid_through(printed: dt.date, rule: str, through: dt.date) -> None:
    assert cal.valid_through(printed, rule) == through


def test_valid_through_refuses_an_unknown_rule() -> None:
    with pytest.raises(ValueError, match="end_of_month"):
        cal.valid_through(D(2026, 3, 1), "end_of_quarter")


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (D(2024, 2, 29), D(2025, 2, 28), 12),
        (D(2024, 2, 29), D(2025, 2, 27), 11),
        (D(2025, 1, 31), D(2025, 2, 28), 1),
        (D(2025, 1, 10), D(2026, 1, 9), 11),
        (D(2025, 1, 10), D(2026, 1, 10), 12),
        (D(2025, 1, 10), D(2026, 2, 9), 12),
        (D(2026, 1, 10), D(2025, 1, 10), -12),
        (D(2026, 1, 10), D(2026, 1, 10), 0),
    ],
)
def test_months_between_counts_whole_months(start: dt.date, end: dt.date, months: int) -> None:
    assert cal.months_between(start, end) == months


def test_months_between_agrees_with_add_months_on_every_day_of_a_leap_cycle() -> None:
    starts = [D(2024, 1, 31), D(2024, 2, 29), D(2025, 3, 31), D(2027, 8, 30)]
    for start in starts:
        for offset in range(0, 800, 3):
            end = start + dt.timedelta(days=offset)
            n = cal.months_between(start, end)
            assert cal.add_months(start, n) <= end < cal.add_months(start, n + 1)


# --- C7 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "tz", "local"),
    [
        # Just before local midnight in Hawaii: 31 March locally, 1 April in UTC.
        ("2026-03-31T23:30:00-10:00", "Pacific/Honolulu", D(2026, 3, 31)),
        ("2026-04-01T09:30:00+00:00", "Pacific/Honolulu", D(2026, 3, 31)),
        ("2026-04-01T10:00:00+00:00", "Pacific/Honolulu", D(2026, 4, 1)),
        ("2026-01-01T04:59:59+00:00", "America/New_York", D(2025, 12, 31)),  # New Year's Eve locally
        ("2026-01-01T05:00:00+00:00", "America/New_York", D(2026, 1, 1)),
        ("2024-01-01T07:59:00+00:00", "America/Los_Angeles", D(2023, 12, 31)),
        ("2024-03-01T05:30:00+00:00", "America/Chicago", D(2024, 2, 29)),  # leap day, local
        ("2026-03-08T06:59:59+00:00", "America/Denver", D(2026, 3, 7)),
        ("2026-11-01T05:30:00+00:00", "America/New_York", D(2026, 11, 1)),  # first 01:30 of fall-back day
        ("2026-11-01T06:30:00+00:00", "America/New_York", D(2026, 11, 1)),  # second 01:30
    ],
)
def test_local_date_uses_the_establishment_zone(instant: str, tz: str, local: dt.date) -> None:
    assert cal.local_date(at(instant), tz) == local


def test_local_date_refuses_naive_instants() -> None:
    with pytest.raises(ValueError):
        cal.local_date(dt.datetime(2026, 3, 31, 23, 30), "Pacific/Honolulu")


@pytest.mark.parametrize(
    ("day", "tz", "start", "end"),
    [
        (D(2026, 3, 31), "Pacific/Honolulu", "2026-03-31T10:00:00+00:00", "2026-04-01T10:00:00+00:00"),
        (D(2026, 3, 8), "America/New_York", "2026-03-08T05:00:00+00:00", "2026-03-09T04:00:00+00:00"),
        (D(2026, 11, 1), "America/New_York", "2026-11-01T04:00:00+00:00", "2026-11-02T05:00:00+00:00"),
        (D(2026, 3, 8), "America/Los_Angeles", "2026-03-08T08:00:00+00:00", "2026-03-09T07:00:00+00:00"),
        (D(2026, 11, 1), "America/Los_Angeles", "2026-11-01T07:00:00+00:00", "2026-11-02T08:00:00+00:00"),
        (D(2024, 2, 29), "America/Chicago", "2024-02-29T06:00:00+00:00", "2024-03-01T06:00:00+00:00"),
        (D(2026, 12, 31), "UTC", "2026-12-31T00:00:00+00:00", "2027-01-01T00:00:00+00:00"),
        # Chile skips local midnight on 6 Sep 2026 (00:00 -> 01:00): the day starts at 01:00 -03.
        (D(2026, 9, 6), "America/Santiago", "2026-09-06T04:00:00+00:00", "2026-09-07T03:00:00+00:00"),
    ],
)
def test_local_day_bounds(day: dt.date, tz: str, start: str, end: str) -> None:
    assert cal.start_of_local_day(day, tz) == at(start)
    assert cal.end_of_local_day(day, tz) == at(end)
    assert cal.start_of_local_day(day, tz).tzinfo is UTC


@pytest.mark.parametrize(
    "tz", ["America/New_York", "America/Los_Angeles", "Pacific/Honolulu", "America/Santiago", "Europe/London"]
)
@pytest.mark.parametrize(
    "day", [D(2026, 3, 8), D(2026, 11, 1), D(2026, 9, 6), D(2026, 4, 5), D(2026, 3, 29), D(2024, 2, 29)]
)
def test_start_of_local_day_is_the_first_instant_of_that_date(day: dt.date, tz: str) -> None:
    start = cal.start_of_local_day(day, tz)
    assert cal.local_date(start, tz) == day
    assert cal.local_date(start - dt.timedelta(microseconds=1), tz) == day - dt.timedelta(days=1)
    end = cal.end_of_local_day(day, tz)
    assert cal.local_date(end - dt.timedelta(microseconds=1), tz) == day


@pytest.mark.parametrize(
    ("tz", "start", "hours"),
    [
        ("America/New_York", "2026-03-07T00:00:00+00:00", 72),  # spring forward, 8 March
        ("America/New_York", "2026-10-31T00:00:00+00:00", 72),  # fall back, 1 November
        ("Pacific/Honolulu", "2026-03-31T00:00:00+00:00", 48),
        ("Asia/Kolkata", "2026-06-01T00:00:00+00:00", 48),  # +05:30: local midnight at half past 18 UTC
        ("Asia/Kathmandu", "1985-12-31T12:00:00+00:00", 12),  # +05:30 -> +05:45 at 18:30 UTC
        ("Australia/Lord_Howe", "2026-04-04T00:00:00+00:00", 48),  # half-hour daylight saving ends
        ("Australia/Lord_Howe", "2026-10-03T00:00:00+00:00", 48),  # ... and begins
        ("UTC", "2028-02-28T00:00:00+00:00", 72),  # leap day
    ],
)
def test_local_clock_gives_zoneinfos_date_and_hour_for_every_minute(tz: str, start: str, hours: int) -> None:
    clock = cal.LocalClock(tz)
    first = at(start)
    for minute in range(hours * 60):
        instant = first + dt.timedelta(minutes=minute, seconds=minute % 60)
        local = instant.astimezone(ZoneInfo(tz))
        assert clock.day_and_hour(cal.epoch_seconds(instant)) == (local.date(), local.hour), instant
        assert cal.local_date(instant, tz) == local.date()


@pytest.mark.parametrize(
    ("instant", "seconds"),
    [
        ("1970-01-01T00:00:00+00:00", 0),
        ("1969-12-31T23:59:59.500000+00:00", -1),  # rounded down, not toward zero
        ("2026-03-01T18:59:59.999999+00:00", 1772391599),  # the last microsecond stays in its second
        ("2026-03-01T13:59:59.999999-05:00", 1772391599),
        ("0001-01-01T00:00:00+00:00", -62135596800),
        ("9999-12-31T23:59:59.999999+00:00", 253402300799),
    ],
)
def test_epoch_seconds_rounds_down_exactly(instant: str, seconds: int) -> None:
    assert cal.epoch_seconds(at(instant)) == seconds


@pytest.mark.parametrize(
    "instant",
    # an instant whose local time exists in an hour that begins before year 1 or ends after 9999
    # there (New York's local mean time is -04:56:02; Kolkata is +05:30), and instants with none
    ["0001-01-01T04:58:00+00:00", "0001-01-01T00:30:00+00:00", "9999-12-31T18:00:00+00:00",
     "9999-12-31T23:30:00+00:00"],
)
@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Kolkata"])
def test_local_clock_at_the_ends_of_time_answers_as_zoneinfo_does(instant: str, tz: str) -> None:
    moment = at(instant)
    try:
        local = moment.astimezone(ZoneInfo(tz))
    except OverflowError:
        with pytest.raises(OverflowError):
            cal.LocalClock(tz).day_and_hour(cal.epoch_seconds(moment))
        return
    assert cal.LocalClock(tz).day_and_hour(cal.epoch_seconds(moment)) == (local.date(), local.hour)


def test_unknown_time_zone_is_an_input_error() -> None:
    with pytest.raises(cal.UnknownTimeZoneError, match="Mars/Olympus_Mons") as info:
        cal.local_date(at("2026-01-01T00:00:00+00:00"), "Mars/Olympus_Mons")
    assert isinstance(info.value, InputError)
    assert isinstance(info.value, VigilError)
    assert info.value.exit_code == 2


def test_a_region_alone_is_an_unknown_time_zone_not_an_os_error() -> None:
    with pytest.raises(cal.UnknownTimeZoneError, match="'America'"):  # tzdata's folder: IsADirectoryError
        cal.local_date(at("2026-01-01T00:00:00+00:00"), "America")


def test_iso_instant_spells_utc_with_z() -> None:
    assert cal.iso_instant(at("2026-03-31T23:30:00-10:00")) == "2026-04-01T09:30:00Z"
