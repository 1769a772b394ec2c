"""Org holiday calendars from policies/holidays.yaml: loading, rules, and every error located."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import holidays as holidays_pkg
import pytest

from engine.errors import RulesetSyntaxError, RulesetValidationError
from engine.rules import calendar as cal
from engine.rules.calendars.workdays import FixedDay, NthWeekday

D = dt.date


def test_the_shipped_policy_loads_and_extends_us_federal() -> None:
    lists = {c.name: c for c in cal.load_holiday_policy(cal.DEFAULT_POLICY_PATH)}
    tg = lists["US-FEDERAL+DAY-AFTER-THANKSGIVING"]
    assert tg.base.name == "US-FEDERAL"
    assert tg.description
    winter = lists["US-FEDERAL+WINTER-CLOSURES"]
    assert winter.base is tg  # chained extension


@pytest.mark.parametrize("year", range(2024, 2032))
def test_day_after_thanksgiving_rule_tracks_thanksgiving(year: int) -> None:
    us = holidays_pkg.country_holidays("US", years=year)
    thanksgiving = next(d for d, name in us.items() if name == "Thanksgiving Day")
    service = cal.default_calendar()
    friday = thanksgiving + dt.timedelta(days=1)
    assert service.non_working_reason(friday, "US-FEDERAL+DAY-AFTER-THANKSGIVING") == "Day after Thanksgiving"
    assert service.non_working_reason(friday, "US-FEDERAL") is None
    # The base still applies underneath.
    assert service.non_working_reason(thanksgiving, "US-FEDERAL+DAY-AFTER-THANKSGIVING") == "Thanksgiving Day"


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (D(2026, 12, 24), "Christmas Eve"),
        (D(2026, 12, 31), "New Year's Eve"),
        (D(2026, 11, 27), "Day after Thanksgiving"),
        (D(2026, 12, 25), "Christmas Day"),
        (D(2027, 12, 24), "Christmas Eve"),  # own closure named first; also federal observed day
        (D(2026, 12, 23), None),
    ],
)
def test_chained_org_calendar(day: dt.date, reason: str | None) -> None:
    assert cal.default_calendar().non_working_reason(day, "US-FEDERAL+WINTER-CLOSURES") == reason


def test_last_weekday_rule_finds_memorial_day() -> None:
    last_monday_of_may = NthWeekday("Memorial Day", month=5, weekday=0, nth=-1)
    for year in range(2024, 2032):
        us = holidays_pkg.country_holidays("US", years=year)
        assert us.get(last_monday_of_may.date_in(year)) == "Memorial Day"


def test_nth_weekday_offset_can_cross_a_year_boundary() -> None:
    text = """
calendars:
  ORG:
    extends: NONE
    recurring:
      - {name: After last Thursday of December, month: 12, nth: -1, weekday: thursday, offset_days: 5}
"""
    service = cal.CalendarService(cal.parse_holiday_policy(text))
    # Last Thursday of Dec 2026 is 31 Dec; + 5 days is Tuesday 5 Jan 2027.
    assert service.non_working_reason(D(2027, 1, 5), "ORG") == "After last Thursday of December"


def test_fixed_29_february_only_closes_in_leap_years() -> None:
    rule = FixedDay("Leap day party", 2, 29)
    assert rule.date_in(2028) == D(2028, 2, 29)
    assert rule.date_in(2027) is None


def test_one_off_dates_quoted_or_not() -> None:
    text = """
calendars:
  ACME-CLINIC:
    extends: US-FEDERAL
    dates:
      - {date: 2026-08-14, name: Move to new building}
      - {date: "2026-08-17", name: Move (day two)}
"""
    service = cal.CalendarService(cal.parse_holiday_policy(text))
    assert cal.add_working_days(D(2026, 8, 13), 1, "ACME-CLINIC", calendar=service) == D(2026, 8, 18)
    assert cal.add_working_days(D(2026, 8, 13), 1, "US-FEDERAL", calendar=service) == D(2026, 8, 14)


def test_empty_policy_means_built_ins_only(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text("# nothing yet\n")
    assert cal.calendar_service(path).calendar_names() == ("NONE", "US-FEDERAL")


def test_missing_explicit_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(cal.HolidayPolicyError, match="cannot read"):
        cal.calendar_service(tmp_path / "absent.yaml")


def test_yaml_syntax_error_is_located() -> None:
    text = "calendars:\n  ORG:\n    extends: [US-FEDERAL\n"
    with pytest.raises(cal.HolidayPolicySyntaxError) as info:
        cal.parse_holiday_policy(text, source="holidays.yaml")
    assert isinstance(info.value, RulesetSyntaxError)
    (detail,) = info.value.details
    assert detail.file == "holidays.yaml" and detail.line is not None and detail.column is not None


BAD_POLICY = """\
calendars:
  US-FEDERAL:
    extends: NONE
  TYPO:
    extends: US-FEDRAL
  LOOP-A:
    extends: LOOP-B
  LOOP-B:
    extends: LOOP-A
  BAD-RULES:
    extends: US-FEDERAL
    colour: blue
  BAD-ITEMS:
    extends: US-FEDERAL
    recurring:
      - {name: Thirteenth month, month: 13, day: 1}
      - {name: Funday, month: 11, nth: 4, weekday: funday}
      - {name: Fifth Friday, month: 11, nth: 5, weekday: friday}
      - {name: 31 April, month: 4, day: 31}
      - {name: Both shapes, month: 4, day: 1, nth: 1}
      - just a string
    dates:
      - {date: 2026-02-30, name: Impossible}
      - {date: 2026-12-24, name: Eve}
      - {date: 2026-12-24, name: Eve again}
      - {date: 2026-12-26}
  NO-BASE:
    description: forgot extends
"""


def test_every_problem_is_reported_at_once_with_its_line() -> None:
    with pytest.raises(cal.HolidayPolicyError) as info:
        cal.parse_holiday_policy(BAD_POLICY, source="holidays.yaml")
    err = info.value
    assert isinstance(err, RulesetValidationError)
    assert err.exit_code == 2
    by_field = {d.field: d for d in err.details}
    expect = {
        "calendars.US-FEDERAL": (2, "built in"),
        "calendars.TYPO.extends": (5, "did you mean US-FEDERAL"),
        "calendars.BAD-RULES": (10, "unknown key(s) colour"),
        "calendars.BAD-ITEMS.recurring.0.month": (16, "month must be 1-12"),
        "calendars.BAD-ITEMS.recurring.1.weekday": (17, "weekday must be one of"),
        "calendars.BAD-ITEMS.recurring.2.nth": (18, "nth must be 1-4 or -1"),
        "calendars.BAD-ITEMS.recurring.3.day": (19, "month 4 has no day 31"),
        "calendars.BAD-ITEMS.recurring.4": (20, "use either"),
        "calendars.BAD-ITEMS.recurring.5": (21, "needs 'name' and 'month'"),
        "calendars.BAD-ITEMS.dates.0.date": (23, "not a calendar date"),
        "calendars.BAD-ITEMS.dates.2.date": (25, "listed twice"),
        "calendars.BAD-ITEMS.dates.3": (26, "{date: YYYY-MM-DD, name: text}"),
        "calendars.NO-BASE": (27, "'extends' is required"),
    }
    for field, (line, words) in expect.items():
        assert field in by_field, f"no error for {field}: {[str(d) for d in err.details]}"
        assert by_field[field].line == line, str(by_field[field])
        assert words in by_field[field].reason
        assert by_field[field].file == "holidays.yaml"
    loops = [d for d in err.details if "extends itself" in d.reason]
    assert len(loops) == 1 and "LOOP-A -> LOOP-B -> LOOP-A" in loops[0].reason
    assert len(err.details) == len(expect) + 1


@pytest.mark.parametrize(
    "text",
    [
        "- just\n- a list\n",
        "calendars: [1, 2]\n",
        "calendars: {}\nextra: 1\n",
        "calendars:\n  ORG: not a mapping\n",
        "calendars:\n  ORG:\n    extends: NONE\n    recurring: {name: x}\n",
    ],
)
def test_malformed_shapes_are_policy_errors(text: str) -> None:
    with pytest.raises(cal.HolidayPolicyError):
        cal.parse_holiday_policy(text)


def test_self_extension_is_a_cycle() -> None:
    with pytest.raises(cal.HolidayPolicyError, match="ME -> ME"):
        cal.parse_holiday_policy("calendars:\n  ME:\n    extends: ME\n")


# -- the policy in use follows VIGIL_POLICIES_DIR, as practice.yaml does ---------------------------

ACME = ("calendars:\n  ACME-CLOSURES:\n    extends: US-FEDERAL\n"
        "    dates:\n      - {date: 2026-12-07, name: Founder's day}\n")


def test_the_policies_directory_holds_the_holiday_policy_in_use(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository's holidays.yaml had been read whatever VIGIL_POLICIES_DIR said, so a practice's
    own calendar there was an 'unknown holiday calendar'."""
    (tmp_path / "holidays.yaml").write_text(ACME, encoding="utf-8")
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(tmp_path))
    assert cal.default_calendar().non_working_reason(D(2026, 12, 7), "ACME-CLOSURES") == "Founder's day"
    assert cal.add_working_days(D(2026, 12, 4), 1, "ACME-CLOSURES") == D(2026, 12, 8)
    assert "US-FEDERAL+WINTER-CLOSURES" not in cal.default_calendar().calendar_names()
    monkeypatch.delenv("VIGIL_POLICIES_DIR")
    assert "ACME-CLOSURES" not in cal.default_calendar().calendar_names()  # the repository's again
    assert "US-FEDERAL+WINTER-CLOSURES" in cal.default_calendar().calendar_names()


def test_a_policies_directory_without_a_holiday_policy_has_the_built_ins_and_says_where_to_define_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(tmp_path))
    assert cal.default_calendar().calendar_names() == ("NONE", "US-FEDERAL")
    with pytest.raises(cal.UnknownCalendarError, match=f"defined in {tmp_path / 'holidays.yaml'}"):
        cal.add_working_days(D(2026, 12, 4), 1, "ACME-CLOSURES")


def test_an_establishment_naming_the_practice_calendar_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.records.validation import validate_record

    (tmp_path / "holidays.yaml").write_text(ACME, encoding="utf-8")
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(tmp_path))
    model, _ = validate_record({"type": "establishment", "id": "NYC", "tz": "America/New_York", "state": "NY",
                                "holiday_calendar": "ACME-CLOSURES"})
    assert model.id == "NYC"
