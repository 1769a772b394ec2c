"""compute_deadline, met_on_time and obligation_state, with the catalog's worked examples."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import pytest

from engine.rules import calendar as cal

D = dt.date
UTC = dt.UTC
NY, CHI, LA, HNL = "America/New_York", "America/Chicago", "America/Los_Angeles", "Pacific/Honolulu"


def at(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


# --- worked examples from catalog 0.3 and the rules' logic blocks ---------------------------------

# (rule, anchor, amount, unit, convention, tz, extra kwargs, due)
WORKED = [
    ("C1 example / HIPAA-BRN-IND-011", D(2025, 1, 10), 60, "days", "calendar_days", CHI, {}, D(2025, 3, 11)),
    ("HIPAA-BRN-HHS-012 PY2023 (leap)", D(2023, 6, 15), 60, "days", "year_end", NY, {}, D(2024, 2, 29)),
    ("HIPAA-BRN-HHS-012 2024", D(2024, 2, 29), 60, "days", "year_end", NY, {}, D(2025, 3, 1)),
    ("HIPAA-BRN-HHS-012 2025", D(2025, 12, 31), 60, "days", "year_end", NY, {}, D(2026, 3, 1)),
    # Discovered 23:00 on 31 Dec 2023 in Los Angeles = 2024 in UTC: the log year is still 2023 (C7).
    ("HHS-012 local year", at("2024-01-01T07:00:00+00:00"), 60, "days", "year_end", LA, {}, D(2024, 2, 29)),
    ("HIPAA-PRV-ACC-014 Hawaii", at("2026-03-31T23:30:00-10:00"), 30, "days", "calendar_days", HNL, {},
     D(2026, 4, 30)),
    ("OSHA-REC-LOG-002 year end", D(2026, 12, 28), 7, "days", "calendar_days", NY, {}, D(2027, 1, 4)),
    ("OSHA-REC-ITA-005 2024 -> Sun 2 Mar 2025", D(2024, 12, 31), 1, "years", "fixed_date", NY,
     {"on": "03-02"}, D(2025, 3, 2)),
    ("OSHA-REC-ITA-005 2023 -> Sat 2 Mar 2024", D(2023, 7, 1), 1, "years", "fixed_date", NY,
     {"on": "03-02"}, D(2024, 3, 2)),
    ("OSHA-REC-300A-003 certify by 1 Feb", D(2026, 12, 31), 1, "years", "fixed_date", NY,
     {"on": "02-01"}, D(2027, 2, 1)),
    ("fixed date in the anchor's own year", D(2027, 1, 20), 0, "years", "fixed_date", NY,
     {"on": "04-30"}, D(2027, 4, 30)),
    ("fixed date 29 Feb clamps in a common year", D(2024, 6, 1), 1, "years", "fixed_date", NY,
     {"on": "02-29"}, D(2025, 2, 28)),
    ("fixed date 29 Feb kept in a leap year", D(2026, 6, 1), 2, "years", "fixed_date", NY,
     {"on": "02-29"}, D(2028, 2, 29)),
    ("OSHA-BBP-HEPB-008", D(2026, 11, 20), 10, "working_days", "working_days", NY, {}, D(2026, 12, 7)),
    ("OSHA-BBP-HEPB-008 org closure", D(2026, 11, 20), 10, "working_days", "working_days", NY,
     {"holiday_calendar": "US-FEDERAL+DAY-AFTER-THANKSGIVING"}, D(2026, 12, 8)),
    ("OSHA-BBP-TRN-009 29 Feb + 12 months", D(2024, 2, 29), 12, "months", "months", NY, {}, D(2025, 2, 28)),
    ("OSHA-BBP-ECP-007 yearly", D(2025, 1, 31), 1, "years", "months", NY, {}, D(2026, 1, 31)),
    ("CMS-MIPS-SUB-002 PY2023 rolls", D(2023, 12, 31), 1, "years", "fixed_date", NY,
     {"on": "03-31", "roll_forward": True}, D(2024, 4, 1)),
    ("CMS-MIPS-SUB-002 PY2024", D(2024, 12, 31), 1, "years", "fixed_date", NY,
     {"on": "03-31", "roll_forward": True}, D(2025, 3, 31)),
    ("CMS-MIPS-SUB-002 PY2028 (Sat 31 Mar 2029)", D(2028, 12, 31), 1, "years", "fixed_date", NY,
     {"on": "03-31", "roll_forward": True}, D(2029, 4, 2)),
    ("CMS-ENR-CHG-014 30 days", D(2026, 2, 1), 30, "days", "calendar_days", NY, {}, D(2026, 3, 3)),
    ("CRED-CAQH-006 120 days", D(2026, 1, 15), 120, "days", "calendar_days", NY, {}, D(2026, 5, 15)),
    ("CRED-CAQH-006 Illinois 180", D(2026, 1, 15), 180, "days", "calendar_days", CHI, {}, D(2026, 7, 14)),
    ("CRED-NCQA-RECRED-007 36 months", D(2023, 3, 15), 36, "months", "months", NY, {}, D(2026, 3, 15)),
    ("CRED-NCQA-RECRED-007 to the month", D(2023, 3, 15), 36, "months", "end_of_month", NY, {},
     D(2026, 3, 31)),
    ("CRED-NCQA-RECRED-007 leap anchor", D(2024, 2, 29), 36, "months", "months", NY, {}, D(2027, 2, 28)),
    ("CRED-BLS-012 AHA card", D(2024, 3, 15), 24, "months", "end_of_month", NY, {}, D(2026, 3, 31)),
    ("CRED-BLS-012 AHA card into leap Feb", D(2026, 2, 10), 2, "years", "end_of_month", NY, {},
     D(2028, 2, 29)),
    ("CMS-QM-134 plan within 2 days", D(2026, 12, 30), 2, "days", "calendar_days", NY, {}, D(2027, 1, 1)),
]


@pytest.mark.parametrize(
    ("rule", "anchor", "amount", "unit", "convention", "tz", "kwargs", "due"),
    WORKED,
    ids=[w[0] for w in WORKED],
)
def test_catalog_worked_examples(
    rule: str,
    anchor: dt.date | dt.datetime,
    amount: int,
    unit: str,
    convention: str,
    tz: str,
    kwargs: Mapping[str, object],
    due: dt.date,
) -> None:
    deadline = cal.compute_deadline(anchor, amount, unit, convention, tz, **kwargs)  # type: ignore[arg-type]
    assert deadline.due == due
    assert deadline.due_text == due.isoformat()
    assert deadline.convention == convention
    assert deadline.overdue_after == cal.start_of_local_day(due + dt.timedelta(days=1), tz)


def test_c1_explanation_matches_the_brief() -> None:
    deadline = cal.compute_deadline(D(2025, 1, 10), 60, "days", "calendar_days", CHI)
    assert deadline.explanation == (
        "2025-01-10 (America/Chicago) + 60 calendar days = 2025-03-11, no roll-forward (C1)"
    )


def test_explanations_show_the_working() -> None:
    hawaii = cal.compute_deadline(at("2026-03-31T23:30:00-10:00"), 30, "days", "calendar_days", HNL)
    # the local day of an instant, both clocks said as people read them
    assert hawaii.explanation.startswith("2026-03-31 (Pacific/Honolulu; 2026-03-31 23:30 HST = 2026-04-01 09:30 UTC)")
    hepb = cal.compute_deadline(D(2026, 11, 20), 10, "working_days", "working_days", NY)
    assert "skipped 2026-11-26 Thanksgiving Day" in hepb.explanation and hepb.explanation.endswith("(C4)")
    qpp = cal.compute_deadline(
        D(2023, 12, 31), 1, "years", "fixed_date", NY, roll_forward=True, on="03-31", cutoff=dt.time(20)
    )
    assert "rolled forward from 2024-03-31 (Sunday) to 2024-04-01 on US-FEDERAL (C6)" in qpp.explanation
    assert "closing 20:00 America/New_York = 2024-04-01 20:00 EDT = 2024-04-02 00:00 UTC" in qpp.explanation
    hhs = cal.compute_deadline(D(2023, 6, 15), 60, "days", "year_end", NY)
    assert hhs.explanation.startswith("31 Dec 2023") and hhs.explanation.endswith("(C2)")
    bbp = cal.compute_deadline(D(2024, 2, 29), 12, "months", "months", NY)
    assert "clamped" in bbp.explanation and bbp.explanation.endswith("(C5)")


def test_osha_ita_never_rolls_even_on_a_sunday() -> None:
    deadline = cal.compute_deadline(D(2024, 12, 31), 1, "years", "fixed_date", NY, on="03-02")
    assert deadline.due == D(2025, 3, 2) and deadline.due.weekday() == 6
    assert "no roll-forward" in deadline.explanation
    # Overdue from local midnight Monday 3 March, not a day later.
    assert deadline.overdue_after == at("2025-03-03T05:00:00+00:00")


@pytest.mark.parametrize("convention", ["calendar_days", "year_end"])
def test_hipaa_clocks_do_not_roll_by_default(convention: str) -> None:
    # 60 days after 2025-01-01 is Sunday 2 March 2025; year-end 2024 + 61 is also 2 March.
    amount = 60 if convention == "calendar_days" else 61
    anchor = D(2025, 1, 1) if convention == "calendar_days" else D(2024, 6, 1)
    deadline = cal.compute_deadline(anchor, amount, "days", convention, NY)
    assert deadline.due == D(2025, 3, 2)


@pytest.mark.parametrize(
    ("anchor", "rolled"),
    [(D(2025, 1, 1), D(2025, 3, 3)), (D(2026, 1, 27), D(2026, 3, 30)), (D(2026, 1, 30), D(2026, 3, 31))],
)
def test_roll_forward_opt_in_on_calendar_days(anchor: dt.date, rolled: dt.date) -> None:
    deadline = cal.compute_deadline(anchor, 60, "days", "calendar_days", NY, roll_forward=True)
    assert deadline.due == rolled


# --- hour windows (C3) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "hours", "tz", "due"),
    [
        # OSHA-REP-SEVERE-006 in-patient admission learned Saturday evening before spring-forward.
        ("2026-03-07T20:00:00-05:00", 24, NY, "2026-03-09T01:00:00Z"),
        ("2026-03-08T01:30:00-05:00", 8, NY, "2026-03-08T14:30:00Z"),
        ("2026-03-07T20:00:00-08:00", 24, LA, "2026-03-09T04:00:00Z"),
        # HIPAA-SEC-TERM-004: employment ends the evening before fall-back.
        ("2026-10-31T18:00:00-07:00", 24, LA, "2026-11-02T01:00:00Z"),
        ("2026-10-31T23:00:00-04:00", 8, NY, "2026-11-01T11:00:00Z"),
    ],
)
def test_hour_deadlines_are_utc_instants(anchor: str, hours: int, tz: str, due: str) -> None:
    deadline = cal.compute_deadline(at(anchor), hours, "hours", "elapsed_hours", tz, warn=4)
    assert deadline.due_text == due
    assert isinstance(deadline.due, dt.datetime) and deadline.due.tzinfo is UTC
    assert deadline.overdue_after == deadline.due
    assert deadline.warn_from == deadline.due - dt.timedelta(hours=4)
    assert cal.hours_between(at(anchor), deadline.due) == hours
    wall_clock = (at(anchor).astimezone(ZoneInfo(tz)) + dt.timedelta(hours=hours)).astimezone(UTC)
    assert wall_clock != deadline.due
    assert deadline.explanation.endswith("(C3)") and "measured in UTC" in deadline.explanation
    # a clock change in between is said: the local hours then differ from the elapsed ones
    local = [at(anchor).astimezone(ZoneInfo(tz)).utcoffset(), deadline.due.astimezone(ZoneInfo(tz)).utcoffset()]
    assert ("across the clock change" in deadline.explanation) == (local[0] != local[1])


def test_an_hour_window_reads_on_the_local_clock_then_in_utc() -> None:
    """The officer read "2026-12-05T20:00:00Z (2026-12-05T15:00:00-05:00 America/New_York)"; the
    explanation says both clocks as people read them, and the seconds only when there are some."""
    created = at("2026-03-06T14:00:00-06:00")
    window = cal.compute_deadline(created, 72, "hours", "elapsed_hours", CHI)
    assert window.explanation == (
        "2026-03-06 14:00 CST + 72 elapsed hours = 2026-03-09 15:00 CDT (America/Chicago; 2026-03-06 20:00 UTC"
        " + 72 h = 2026-03-09 20:00 UTC), measured in UTC, across the clock change (C3)"
    )
    named = cal.compute_deadline(at("2026-12-05T15:00:30-05:00"), 0, "hours", "elapsed_hours", NY)
    assert named.explanation.startswith("due at 2026-12-05 15:00:30 EST = 2026-12-05 20:00:30 UTC: ")


def test_hour_deadline_refuses_a_date_anchor_and_naive_instants() -> None:
    with pytest.raises(cal.DeadlineSpecError, match="instant"):
        cal.compute_deadline(D(2026, 3, 8), 8, "hours", "elapsed_hours", NY)
    with pytest.raises(ValueError, match="offset"):
        cal.compute_deadline(dt.datetime(2026, 3, 8, 1, 0), 8, "hours", "elapsed_hours", NY)
    with pytest.raises(ValueError, match="offset"):
        cal.compute_deadline(dt.datetime(2026, 3, 8, 1, 0), 8, "days", "calendar_days", NY)


# --- overdue_after / warn_from at local midnight ---------------------------------------------------


def test_day_deadline_boundaries_are_local_midnights_even_across_dst() -> None:
    # Due 11 March 2025 in Chicago; DST began 9 March, so the warning midnight is CST and the
    # overdue midnight is CDT: an hour apart in UTC terms.
    deadline = cal.compute_deadline(D(2025, 1, 10), 60, "days", "calendar_days", CHI, warn=7)
    assert deadline.warn_from == at("2025-03-04T06:00:00+00:00")
    assert deadline.overdue_after == at("2025-03-12T05:00:00+00:00")


def test_no_warn_means_no_warn_from() -> None:
    assert cal.compute_deadline(D(2025, 1, 10), 60, "days", "calendar_days", CHI).warn_from is None


def test_warn_zero_starts_at_the_due_day() -> None:
    deadline = cal.compute_deadline(D(2025, 1, 10), 60, "days", "calendar_days", CHI, warn=0)
    assert deadline.warn_from == cal.start_of_local_day(D(2025, 3, 11), CHI)


# --- met_on_time -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("met_at", "on_time"),
    [
        (at("2025-03-11T23:59:59-05:00"), True),  # last second of the due day in Chicago (CDT)...
        (at("2025-03-12T04:59:59+00:00"), True),  # ...which is already 12 March in UTC
        (at("2025-03-12T00:00:00-05:00"), False),
        (at("2025-03-12T05:00:00+00:00"), False),
        (at("2025-01-10T08:00:00-06:00"), True),  # same day as the anchor
        (D(2025, 3, 11), True),  # a record dated on the due day
        (D(2025, 3, 12), False),
    ],
)
def test_met_on_time_day_based_uses_the_local_date(met_at: dt.datetime | dt.date, on_time: bool) -> None:
    deadline = cal.compute_deadline(D(2025, 1, 10), 60, "days", "calendar_days", CHI)
    assert cal.met_on_time(met_at, deadline) is on_time


def test_access_request_answered_late_evening_in_hawaii_is_on_time() -> None:
    deadline = cal.compute_deadline(at("2026-03-31T23:30:00-10:00"), 30, "days", "calendar_days", HNL)
    assert deadline.due == D(2026, 4, 30)
    assert cal.met_on_time(at("2026-04-30T23:30:00-10:00"), deadline)  # 1 May in UTC
    assert not cal.met_on_time(at("2026-05-01T00:00:00-10:00"), deadline)


@pytest.mark.parametrize(
    ("met_at", "on_time"),
    [
        ("2026-03-09T01:00:00+00:00", True),  # exactly at the deadline instant
        ("2026-03-08T21:00:00-04:00", True),  # the same instant in local time
        ("2026-03-09T01:00:00.000001+00:00", False),
        ("2026-03-08T20:30:00-05:00", False),  # the wall-clock answer would call this on time
    ],
)
def test_met_on_time_hours_compares_instants(met_at: str, on_time: bool) -> None:
    deadline = cal.compute_deadline(at("2026-03-07T20:00:00-05:00"), 24, "hours", "elapsed_hours", NY)
    assert cal.met_on_time(at(met_at), deadline) is on_time


def test_met_on_time_hours_refuses_a_bare_date() -> None:
    deadline = cal.compute_deadline(at("2026-03-07T20:00:00-05:00"), 24, "hours", "elapsed_hours", NY)
    with pytest.raises(TypeError):
        cal.met_on_time(D(2026, 3, 8), deadline)


@pytest.mark.parametrize(
    ("met_at", "on_time"),
    [
        ("2025-03-31T19:59:00-04:00", True),  # New York, before the 8 p.m. ET close
        ("2025-04-01T00:00:00+00:00", True),  # 20:00 EDT exactly
        ("2025-03-31T15:00:00-10:00", False),  # catalog: 3 p.m. HST on 31 March is already late
        ("2025-03-31T16:59:00-07:00", True),  # 19:59 ET from Phoenix
    ],
)
def test_qpp_cutoff_is_8pm_eastern_whatever_the_uploaders_zone(met_at: str, on_time: bool) -> None:
    deadline = cal.compute_deadline(
        D(2024, 12, 31), 1, "years", "fixed_date", NY, roll_forward=True, on="03-31", cutoff=dt.time(20)
    )
    assert deadline.due == deadline.overdue_after == at("2025-04-01T00:00:00+00:00")  # the contract's UTC instant
    assert deadline.due_text == "2025-04-01T00:00:00Z"
    assert cal.met_on_time(at(met_at), deadline) is on_time


# --- obligation_state ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "met_at", "state"),
    [
        ("2025-03-04T05:59:59+00:00", None, "pending"),
        ("2025-03-04T06:00:00+00:00", None, "due_soon"),  # local midnight, 7 days before
        ("2025-03-12T04:59:59+00:00", None, "due_soon"),
        ("2025-03-12T05:00:00+00:00", None, "overdue"),  # local midnight after the due day
        ("2025-03-20T00:00:00+00:00", "2025-03-11T20:00:00-05:00", "met"),
        ("2025-03-20T00:00:00+00:00", "2025-03-13T09:00:00-05:00", "met_late"),
        ("2025-03-12T05:00:00+00:00", "2025-03-13T09:00:00-05:00", "overdue"),  # not yet happened at as_of
        ("2025-03-05T00:00:00+00:00", "2025-03-06T09:00:00-06:00", "due_soon"),
    ],
)
def test_obligation_state_at_the_boundaries(as_of: str, met_at: str | None, state: str) -> None:
    deadline = cal.compute_deadline(D(2025, 1, 10), 60, "days", "calendar_days", CHI, warn=7)
    assert cal.obligation_state(deadline, at(as_of), at(met_at) if met_at else None) == state


def test_obligation_state_with_a_dated_record() -> None:
    deadline = cal.compute_deadline(D(2025, 1, 10), 60, "days", "calendar_days", CHI, warn=7)
    assert cal.obligation_state(deadline, at("2025-03-20T00:00:00+00:00"), D(2025, 3, 11)) == "met"
    assert cal.obligation_state(deadline, at("2025-03-11T12:00:00+00:00"), D(2025, 3, 12)) == "due_soon"


@pytest.mark.parametrize(
    ("as_of", "state"),
    [
        ("2026-03-08T20:59:59+00:00", "pending"),
        ("2026-03-08T21:00:00+00:00", "due_soon"),
        ("2026-03-09T00:59:59+00:00", "due_soon"),
        ("2026-03-09T01:00:00+00:00", "due_soon"),  # the deadline instant itself: "now > due" (C3)
        ("2026-03-09T01:00:01+00:00", "overdue"),
    ],
)
def test_obligation_state_hours(as_of: str, state: str) -> None:
    deadline = cal.compute_deadline(at("2026-03-07T20:00:00-05:00"), 24, "hours", "elapsed_hours", NY, warn=4)
    assert cal.obligation_state(deadline, at(as_of)) == state


@pytest.mark.parametrize(
    ("as_of", "state"),
    [
        ("2026-03-24T23:59:59+00:00", "pending"),
        ("2026-03-25T00:00:00+00:00", "due_soon"),  # 7 x 24 h before the close, not local midnight
        ("2026-04-01T00:00:00+00:00", "due_soon"),  # 8:00:00 p.m. EDT: the window is still open
        ("2026-04-01T00:00:01+00:00", "overdue"),
    ],
)
def test_obligation_state_at_a_cutoff(as_of: str, state: str) -> None:
    deadline = cal.compute_deadline(
        D(2025, 12, 31), 1, "years", "fixed_date", NY, roll_forward=True, warn=7, on="03-31", cutoff=dt.time(20)
    )
    assert cal.obligation_state(deadline, at(as_of)) == state


# --- the spec is checked ---------------------------------------------------------------------------

INSTANT = dt.datetime(2026, 3, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((D(2026, 1, 1), 5, "days", "business_days", NY), {}, "unknown deadline convention"),
        ((D(2026, 1, 1), 5, "hours", "calendar_days", NY), {}, "counts in days"),
        ((D(2026, 1, 1), 5, "days", "working_days", NY), {}, "counts in working_days"),
        ((D(2026, 1, 1), 5, "days", "months", NY), {}, "counts in months, years"),
        ((D(2026, 1, 1), -1, "days", "calendar_days", NY), {}, "whole number"),
        ((D(2026, 1, 1), True, "days", "calendar_days", NY), {}, "whole number"),
        ((D(2026, 1, 1), 1.5, "days", "calendar_days", NY), {}, "whole number"),
        ((D(2026, 1, 1), 5, "days", "calendar_days", NY), {"warn": -1}, "warn"),
        ((INSTANT, 5, "hours", "elapsed_hours", NY), {"roll_forward": True}, "roll"),
        ((INSTANT, 5, "hours", "elapsed_hours", NY), {"cutoff": dt.time(20)}, "cut-off"),
        ((D(2026, 1, 1), 1, "years", "fixed_date", NY), {}, "'on'"),
        ((D(2026, 1, 1), 30, "days", "calendar_days", NY), {"on": "03-02"}, "'on'"),
        ((D(2026, 1, 1), 1, "years", "fixed_date", NY), {"on": "02-30"}, "MM-DD"),
        ((D(2026, 1, 1), 1, "years", "fixed_date", NY), {"on": "March 2"}, "MM-DD"),
    ],
)
def test_bad_deadline_specs_are_refused(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(cal.DeadlineSpecError, match=message):
        cal.compute_deadline(*args, **kwargs)  # type: ignore[arg-type]


def test_every_convention_accepts_its_units() -> None:
    for convention, units in cal.CONVENTION_UNITS.items():
        for unit in units:
            anchor: dt.date | dt.datetime = D(2026, 1, 15)
            if convention == "elapsed_hours":
                anchor = at("2026-01-15T12:00:00+00:00")
            extra = {"on": "03-02"} if convention == "fixed_date" else {}
            deadline = cal.compute_deadline(anchor, 2, unit, convention, NY, warn=1, **extra)  # type: ignore[arg-type]
            assert deadline.convention == convention
            assert deadline.warn_from is not None and deadline.warn_from < deadline.overdue_after


def test_unknown_names_fail_even_when_no_holiday_is_involved() -> None:
    with pytest.raises(cal.UnknownTimeZoneError):
        cal.compute_deadline(D(2026, 1, 1), 5, "days", "calendar_days", "America/Nowhere")
    with pytest.raises(cal.UnknownTimeZoneError):
        cal.compute_deadline(at("2026-01-01T00:00:00+00:00"), 5, "hours", "elapsed_hours", "EST5EDT6")
    with pytest.raises(cal.UnknownCalendarError):
        cal.compute_deadline(D(2026, 1, 1), 5, "working_days", "working_days", NY, holiday_calendar="UK")
    with pytest.raises(cal.UnknownCalendarError):
        cal.compute_deadline(D(2026, 1, 1), 5, "days", "calendar_days", NY, "UK", roll_forward=True)


def test_compute_deadline_uses_an_injected_calendar() -> None:
    class AlwaysOpenExcept:
        def non_working_reason(self, day: dt.date, calendar_name: str) -> str | None:
            return "Clinic retreat" if day == D(2026, 3, 3) else None

        def calendar_names(self) -> tuple[str, ...]:
            return ("RETREAT",)

    fake = AlwaysOpenExcept()
    deadline = cal.compute_deadline(
        D(2026, 3, 2), 1, "working_days", "working_days", NY, holiday_calendar="RETREAT", calendar=fake
    )
    assert deadline.due == D(2026, 3, 4)
    assert "skipped 2026-03-03 Clinic retreat" in deadline.explanation
    rolled = cal.compute_deadline(
        D(2026, 3, 2), 1, "days", "calendar_days", NY, "RETREAT", roll_forward=True, calendar=fake
    )
    assert rolled.due == D(2026, 3, 4)


def test_deadline_is_frozen_and_serialisable() -> None:
    deadline = cal.compute_deadline(
        D(2023, 12, 31), 1, "years", "fixed_date", NY,
        roll_forward=True, warn=7, on="03-31", cutoff=dt.time(20),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        deadline.due = D(2030, 1, 1)  # type: ignore[misc]
    assert deadline.to_dict() == {
        "due": "2024-04-02T00:00:00Z",
        "overdue_after": "2024-04-02T00:00:00Z",
        "warn_from": "2024-03-26T00:00:00Z",  # 7 x 24 elapsed hours before the close
        "convention": "fixed_date",
        "tz": NY,
        "cutoff": "20:00:00",
        "explanation": deadline.explanation,
    }


def test_public_names_are_exported() -> None:
    for name in cal.__all__:
        assert hasattr(cal, name), name
    assert len(set(cal.__all__)) == len(cal.__all__)


def test_a_zero_window_says_the_due_date_comes_from_the_facts() -> None:
    """"+ 0 elapsed hours" hid the 24 hours an account has to be disabled in (probe 25): a rule whose
    facts already hold the deadline says so instead of adding nothing to it."""
    at = dt.datetime(2026, 11, 24, 22, tzinfo=dt.UTC)
    hours = cal.compute_deadline(at, 0, "hours", "elapsed_hours", "America/New_York")
    assert "+ 0" not in hours.explanation and "the instant the rule's own facts name" in hours.explanation
    assert hours.due_text == "2026-11-24T22:00:00Z"
    days = cal.compute_deadline(dt.date(2026, 3, 1), 0, "days", "calendar_days", "America/Chicago")
    assert "+ 0" not in days.explanation and days.explanation.startswith("due on 2026-03-01")
    # the date once (the web probe: "due on 2026-11-28, 2026-11-28 (America/Denver)")
    assert days.explanation.startswith("due on 2026-03-01 (America/Chicago): the date the rule's own facts name")
