"""State-law deadlines for access requests (HIPAA-PRV-ACC-014, access_state_overrides): calendar
days, or business days counted by the calendar service on the establishment's holiday calendar.
"business_days" had been read as calendar days, and the message said "15 business days" beside a
calendar-day date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.rules.derive import hipaa as h
from tests.unit.derive.test_hipaa_helpers import by_id, rec, run

D = dt.date
REQ = ("access_request",)
AS_OF = "2026-11-21T12:00:00Z"
# received Friday 20 Nov 2026 in Austin; Thursday 26 Nov is Thanksgiving
RECEIVED = "2026-11-20T10:00:00-06:00"


def _records(calendar: str = "US-FEDERAL") -> list:
    return [rec("establishment", "AUS", tz="America/Chicago", state="TX", holiday_calendar=calendar),
            rec("access_request", "AR1", establishment_id="AUS", kind="access", received_at=RECEIVED)]


def _response(overrides: list[str], calendar: str = "US-FEDERAL") -> dict:
    facts = by_id(run(h.request_duties, REQ, AS_OF, _records(calendar), access_state_overrides=overrides))
    return facts["AR1:response"].data


def test_business_days_skip_weekends_and_the_calendars_holidays() -> None:
    data = _response(["TX:15:business_days"])
    assert data["due_at"] == D(2026, 12, 14)  # not 5 Dec, 15 calendar days on
    assert "TX law: 15 business days (on the US-FEDERAL calendar, skipping 2026-11-26 Thanksgiving Day) gives " \
           "2026-12-14" in data["basis"]


def test_days_are_calendar_days() -> None:
    data = _response(["TX:15:days"])
    assert data["due_at"] == D(2026, 12, 5) and "TX law: 15 days gives 2026-12-05" in data["basis"]


def test_working_days_count_as_business_days() -> None:
    assert _response(["TX:15:working_days"])["due_at"] == D(2026, 12, 14)


def test_another_states_law_and_a_later_date_leave_the_hipaa_date() -> None:
    assert _response(["CA:5:days"])["due_at"] == D(2026, 12, 20)
    assert _response(["TX:45:days"])["due_at"] == D(2026, 12, 20)


def test_the_earliest_state_date_wins() -> None:
    assert _response(["TX:15:business_days", "TX:10:days"])["due_at"] == D(2026, 11, 30)


def test_a_practice_closure_from_the_policies_directory_lengthens_business_days(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "holidays.yaml").write_text(
        "calendars:\n  ACME-CLOSURES:\n    extends: US-FEDERAL\n"
        "    dates:\n      - {date: 2026-12-07, name: Founder's day}\n", encoding="utf-8")
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(tmp_path))
    data = _response(["TX:15:business_days"], calendar="ACME-CLOSURES")
    assert data["due_at"] == D(2026, 12, 15) and "2026-12-07 Founder's day" in data["basis"]
