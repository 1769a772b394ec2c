"""C4 working days and C6 roll-forward: federal holidays, observed days, org closures, the seam."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import holidays as holidays_pkg
import pytest

from engine.errors import RulesetError, VigilError
from engine.rules import calendar as cal

D = dt.date
THANKSGIVING_CLOSED = "US-FEDERAL+DAY-AFTER-THANKSGIVING"


class FakeCalendar:
    """A `Calendar` with hand-written closures, the way tests fake the clock."""

    def __init__(self, closed: Mapping[dt.date, str], name: str = "FAKE") -> None:
        self.closed = dict(closed)
        self.name = name

    def non_working_reason(self, day: dt.date, calendar_name: str) -> str | None:
        if calendar_name != self.name:
            raise cal.UnknownCalendarError(f"unknown holiday calendar {calendar_name!r}")
        if day.weekday() >= 5:
            return "weekend"
        return self.closed.get(day)

    def calendar_names(self) -> tuple[str, ...]:
        return (self.name,)


# --- the US-FEDERAL calendar ---------------------------------------------------------------------

FEDERAL_2026 = [
    (D(2026, 1, 1), "New Year's Day"),
    (D(2026, 1, 19), "Martin Luther King"),
    (D(2026, 2, 16), "Washington's Birthday"),
    (D(2026, 5, 25), "Memorial Day"),
    (D(2026, 6, 19), "Juneteenth"),
    (D(2026, 7, 3), "Independence Day (observed)"),  # 4 July 2026 is a Saturday
    (D(2026, 9, 7), "Labor Day"),
    (D(2026, 10, 12), "Columbus Day"),
    (D(2026, 11, 11), "Veterans Day"),
    (D(2026, 11, 26), "Thanksgiving"),
    (D(2026, 12, 25), "Christmas Day"),
]


@pytest.mark.parametrize(("day", "name"), FEDERAL_2026)
def test_us_federal_2026_holidays_are_not_working_days(day: dt.date, name: str) -> None:
    assert not cal.is_working_day(day, "US-FEDERAL")
    reason = cal.default_calendar().non_working_reason(day, "US-FEDERAL")
    assert reason is not None and name in reason


def test_us_federal_2026_has_exactly_eleven_weekday_closures() -> None:
    year = [D(2026, 1, 1) + dt.timedelta(days=i) for i in range(365)]
    closed_weekdays = [d for d in year if d.weekday() < 5 and not cal.is_working_day(d)]
    assert closed_weekdays == [d for d, _ in FEDERAL_2026]


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (D(2022, 12, 26), "Christmas Day (observed)"),  # Sunday -> Monday
        (D(2023, 1, 2), "New Year's Day (observed)"),
        (D(2027, 12, 24), "Christmas Day (observed)"),  # Saturday -> Friday
        (D(2027, 12, 31), "New Year's Day (observed)"),  # observed in the previous year
        (D(2021, 12, 31), "New Year's Day (observed)"),
        (D(2027, 7, 5), "Independence Day (observed)"),
        (D(2027, 6, 18), "Juneteenth National Independence Day (observed)"),
        (D(2028, 11, 10), "Veterans Day (observed)"),
    ],
)
def test_observed_dates_are_closed(day: dt.date, name: str) -> None:
    assert cal.default_calendar().non_working_reason(day, "US-FEDERAL") == name


@pytest.mark.parametrize(
    "day",
    [
        D(2026, 11, 27),  # day after Thanksgiving: open under plain US-FEDERAL
        D(2026, 12, 24),  # Christmas Eve
        D(2026, 12, 31),
        D(2026, 7, 6),
        D(2020, 6, 19),  # Juneteenth became a federal holiday in 2021
    ],
)
def test_ordinary_weekdays_are_working_days(day: dt.date) -> None:
    assert cal.is_working_day(day, "US-FEDERAL")


@pytest.mark.parametrize("day", [D(2026, 3, 28), D(2026, 3, 29), D(2026, 7, 4), D(2027, 12, 25)])
def test_weekends_are_never_working_days(day: dt.date) -> None:
    for name in cal.default_calendar().calendar_names():
        assert not cal.is_working_day(day, name)


def test_none_calendar_is_weekdays_only() -> None:
    assert cal.is_working_day(D(2026, 11, 26), "NONE")
    assert cal.is_working_day(D(2026, 12, 25), "NONE")
    assert not cal.is_working_day(D(2026, 11, 28), "NONE")


# --- counting (C4) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "n", "name", "due"),
    [
        (D(2026, 11, 20), 10, "US-FEDERAL", D(2026, 12, 7)),  # skips Thanksgiving 26 Nov
        (D(2026, 11, 20), 10, "NONE", D(2026, 12, 4)),
        (D(2026, 11, 20), 10, THANKSGIVING_CLOSED, D(2026, 12, 8)),  # also skips 27 Nov
        (D(2026, 11, 25), 1, "US-FEDERAL", D(2026, 11, 27)),
        (D(2026, 11, 25), 1, THANKSGIVING_CLOSED, D(2026, 11, 30)),
        (D(2026, 12, 18), 10, "US-FEDERAL", D(2027, 1, 5)),  # Christmas and New Year's Day
        (D(2027, 12, 23), 3, "US-FEDERAL", D(2027, 12, 29)),  # Christmas observed Fri 24 Dec
        (D(2027, 12, 29), 3, "US-FEDERAL", D(2028, 1, 4)),  # New Year observed Fri 31 Dec
        (D(2026, 7, 2), 1, "US-FEDERAL", D(2026, 7, 6)),  # Independence Day observed Fri 3 Jul
        (D(2026, 3, 6), 1, "US-FEDERAL", D(2026, 3, 9)),  # Friday + 1 -> Monday
        (D(2026, 3, 7), 1, "US-FEDERAL", D(2026, 3, 9)),  # Saturday anchor: next working day is day 1
        (D(2026, 11, 26), 1, "US-FEDERAL", D(2026, 11, 27)),  # holiday anchor
        (D(2026, 3, 2), 5, "US-FEDERAL", D(2026, 3, 9)),  # a working anchor is not counted
        (D(2024, 2, 28), 1, "US-FEDERAL", D(2024, 2, 29)),  # leap day is a working day
        (D(2026, 3, 7), 0, "US-FEDERAL", D(2026, 3, 7)),  # zero days: the anchor itself
        (D(2026, 12, 7), -10, "US-FEDERAL", D(2026, 11, 20)),  # counting back skips the same days
    ],
)
def test_add_working_days(anchor: dt.date, n: int, name: str, due: dt.date) -> None:
    assert cal.add_working_days(anchor, n, name) == due


def test_count_working_days_reports_the_holidays_it_skipped() -> None:
    due, skipped = cal.count_working_days(D(2026, 12, 18), 10, "US-FEDERAL")
    assert due == D(2027, 1, 5)
    assert skipped == ("2026-12-25 Christmas Day", "2027-01-01 New Year's Day")


def test_hepatitis_b_offer_ten_working_days_after_assignment() -> None:
    # OSHA-BBP-HEPB-008: assigned Monday 16 Nov 2026; Thanksgiving falls inside the window.
    assert cal.add_working_days(D(2026, 11, 16), 10, "US-FEDERAL") == D(2026, 12, 1)
    assert cal.add_working_days(D(2026, 11, 16), 10, THANKSGIVING_CLOSED) == D(2026, 12, 2)


@pytest.mark.parametrize(
    ("day", "after"),
    [
        (D(2026, 3, 27), D(2026, 3, 30)),
        (D(2026, 3, 30), D(2026, 3, 31)),
        (D(2026, 12, 24), D(2026, 12, 28)),
        (D(2026, 12, 31), D(2027, 1, 4)),
        (D(2026, 7, 2), D(2026, 7, 6)),
    ],
)
def test_next_working_day_is_strictly_after(day: dt.date, after: dt.date) -> None:
    assert cal.next_working_day(day, "US-FEDERAL") == after


# --- roll-forward (C6) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "rolled"),
    [
        (D(2024, 3, 31), D(2024, 4, 1)),  # QPP PY2023: Sunday 31 March -> Monday 1 April
        (D(2026, 3, 28), D(2026, 3, 30)),  # Saturday
        (D(2025, 3, 2), D(2025, 3, 3)),  # what roll-forward would do to OSHA ITA 2025 (it must not)
        (D(2029, 3, 31), D(2029, 4, 2)),  # Saturday
        (D(2026, 7, 3), D(2026, 7, 6)),  # observed holiday
        (D(2026, 11, 26), D(2026, 11, 27)),
        (D(2026, 3, 31), D(2026, 3, 31)),  # already a working day: unchanged
        (D(2025, 3, 31), D(2025, 3, 31)),
    ],
)
def test_roll_forward(day: dt.date, rolled: dt.date) -> None:
    assert cal.roll_forward(day, "US-FEDERAL") == rolled


def test_roll_forward_honours_org_closures() -> None:
    assert cal.roll_forward(D(2026, 11, 26), THANKSGIVING_CLOSED) == D(2026, 11, 30)


# --- unknown names, the seam ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: cal.is_working_day(D(2026, 3, 28), "US-FEDRAL"),  # a weekend still checks the name
        lambda: cal.add_working_days(D(2026, 3, 2), 5, "US-FEDRAL"),
        lambda: cal.add_working_days(D(2026, 3, 2), 0, "US-FEDRAL"),
        lambda: cal.next_working_day(D(2026, 3, 2), "US-FEDRAL"),
        lambda: cal.roll_forward(D(2026, 3, 2), "US-FEDRAL"),
    ],
)
def test_unknown_calendar_name_is_a_clear_vigil_error(call: object) -> None:
    assert callable(call)
    with pytest.raises(cal.UnknownCalendarError) as info:
        call()
    err = info.value
    assert isinstance(err, VigilError) and isinstance(err, RulesetError)
    assert err.code == "ruleset.calendar.unknown"
    assert err.http_status == 422 and err.exit_code == 2
    assert "'US-FEDRAL'" in err.message
    assert "did you mean US-FEDERAL" in err.message
    assert "policies/holidays.yaml" in err.message


@pytest.mark.parametrize("name", ["us_federal", "US FEDERAL", "us-federal", "US", "Federal"])
def test_the_built_in_federal_calendar_answers_to_the_spellings_people_type(name: str) -> None:
    assert cal.add_working_days(D(2026, 1, 9), 10, name) == cal.add_working_days(D(2026, 1, 9), 10, "US-FEDERAL")
    assert cal.is_working_day(D(2026, 11, 26), name) is False  # Thanksgiving


def test_calendar_names_are_sorted_and_include_built_ins_and_policy() -> None:
    names = cal.default_calendar().calendar_names()
    assert list(names) == sorted(names)
    assert {"US-FEDERAL", "NONE", THANKSGIVING_CLOSED} <= set(names)


def test_the_service_and_a_fake_both_satisfy_the_calendar_protocol() -> None:
    assert isinstance(cal.default_calendar(), cal.Calendar)
    assert isinstance(FakeCalendar({}), cal.Calendar)


def test_counting_works_through_a_fake_calendar() -> None:
    fake = FakeCalendar({D(2026, 3, 3): "Inventory day", D(2026, 3, 4): "Snow day"})
    assert cal.add_working_days(D(2026, 3, 2), 3, "FAKE", calendar=fake) == D(2026, 3, 9)
    assert cal.count_working_days(D(2026, 3, 2), 1, "FAKE", calendar=fake) == (
        D(2026, 3, 5),
        ("2026-03-03 Inventory day", "2026-03-04 Snow day"),
    )
    assert cal.roll_forward(D(2026, 3, 3), "FAKE", calendar=fake) == D(2026, 3, 5)
    assert not cal.is_working_day(D(2026, 3, 4), "FAKE", calendar=fake)
    assert cal.next_working_day(D(2026, 3, 6), "FAKE", calendar=fake) == D(2026, 3, 9)


def test_a_calendar_with_no_working_days_stops_instead_of_looping() -> None:
    every_day = {D(2026, 1, 1) + dt.timedelta(days=i): "closed" for i in range(800)}
    with pytest.raises(cal.HolidayPolicyError, match="no working day"):
        cal.add_working_days(D(2026, 1, 1), 1, "FAKE", calendar=FakeCalendar(every_day))


def test_working_day_functions_refuse_instants() -> None:
    with pytest.raises(TypeError, match="local"):
        cal.add_working_days(dt.datetime(2026, 3, 2, tzinfo=dt.UTC), 1)


def test_federal_list_matches_the_holidays_package_over_a_decade() -> None:
    """Guards the per-year snapshot: no observed day may be lost at a year boundary."""
    expected = holidays_pkg.country_holidays("US", years=range(2020, 2031), observed=True)
    day = D(2020, 1, 1)
    while day <= D(2030, 12, 31):
        reason = cal.default_calendar().non_working_reason(day, "US-FEDERAL")
        if day.weekday() < 5:
            assert reason == expected.get(day), day
        day += dt.timedelta(days=1)
