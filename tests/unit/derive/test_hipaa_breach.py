"""Unit tests of the breach clocks (HIPAA-BRN-DET-010 to 013) and request duties (HIPAA-PRV-ACC-014)."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.rules.derive import RecordView
from engine.rules.derive import hipaa as h
from tests.unit.derive.test_hipaa_helpers import by_id, rec, run

D = dt.date
AS_OF = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
NY = "America/New_York"


def test_breach_clock_catalog_c1_example() -> None:
    clock = h.breach_clock({"discovered_at": "2025-01-10T10:00:00-05:00"}, NY, as_of=AS_OF)
    assert clock is not None
    assert clock.discovery_on == D(2025, 1, 10) and clock.notice_due == D(2025, 3, 11)


def test_breach_clock_uses_the_local_date_of_discovery() -> None:
    # 22:00 in Honolulu on 31 Jan is already 1 Feb in UTC
    clock = h.breach_clock({"discovered_at": "2026-01-31T22:00:00-10:00"}, "Pacific/Honolulu", as_of=AS_OF)
    assert clock is not None and clock.discovery_on == D(2026, 1, 31) and clock.notice_due == D(2026, 4, 1)


def test_breach_clock_agent_business_associate_discovers_for_the_practice() -> None:
    base = {
        "discovered_at": "2026-02-20T14:00:00-05:00",
        "discovered_by": "business_associate",
        "ba_discovered_at": "2026-01-05T09:00:00-05:00",
    }
    agent = h.breach_clock(dict(base, ba_is_agent=True), NY, as_of=AS_OF)
    independent = h.breach_clock(dict(base, ba_is_agent=False), NY, as_of=AS_OF)
    assert (
        agent is not None and agent.notice_due == D(2026, 3, 6) and agent.discovery_source == "business_associate_agent"
    )
    assert independent is not None and independent.notice_due == D(2026, 4, 21)


@pytest.mark.parametrize(
    ("kind", "until", "delay", "due"),
    [
        ("oral", "2026-04-30T10:00:00-04:00", 30, D(2026, 4, 10)),  # oral: at most 30 days
        ("oral", "2026-02-11T10:00:00-05:00", 10, D(2026, 3, 21)),  # oral, shorter period stated
        ("oral", None, 30, D(2026, 4, 10)),
        ("written", "2026-03-15T10:00:00-04:00", 42, D(2026, 4, 22)),
        ("written", None, 0, D(2026, 3, 11)),  # no period stated: no delay counted
    ],
)
def test_breach_clock_law_enforcement_delay(kind: str, until: str | None, delay: int, due: dt.date) -> None:
    incident = {
        "discovered_at": "2026-01-10T10:00:00-05:00",
        "le_delay_kind": kind,
        "le_delay_start": "2026-02-01T10:00:00-05:00",
        "le_delay_until": until,
    }
    clock = h.breach_clock(incident, NY, as_of=AS_OF)
    assert clock is not None and clock.delay_days == delay and clock.notice_due == due
    untolled = h.breach_clock(incident, NY, as_of=AS_OF, tolling=False)
    assert untolled is not None and untolled.notice_due == D(2026, 3, 11)


def test_breach_clock_delay_statement_not_yet_made_is_ignored() -> None:
    incident = {
        "discovered_at": "2026-01-10T10:00:00-05:00",
        "le_delay_kind": "written",
        "le_delay_start": "2026-07-01T10:00:00-04:00",
        "le_delay_until": "2026-09-01T10:00:00-04:00",
    }
    clock = h.breach_clock(incident, NY, as_of=AS_OF)
    assert clock is not None and clock.delay_days == 0


@pytest.mark.parametrize(("start", "delay", "due"), [("2026-03-12T09:00:00-04:00", 0, D(2026, 3, 11)),
                                                   ("2026-03-11T23:00:00-04:00", 30, D(2026, 4, 10))])
def test_breach_clock_delay_stated_after_the_notice_was_due_moves_nothing(start: str, delay: int,
                                                                          due: dt.date) -> None:
    """The miss of 11 March stays: a statement of 12 March for 30 days had made the notice due 10 April."""
    incident = {"discovered_at": "2026-01-10T10:00:00-05:00", "le_delay_kind": "written", "le_delay_start": start,
                "le_delay_until": (dt.datetime.fromisoformat(start) + dt.timedelta(days=30)).isoformat()}
    clock = h.breach_clock(incident, NY, as_of=dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    assert clock is not None and (clock.delay_days, clock.notice_due) == (delay, due)
    if not delay:
        assert "after the notice was due 2026-03-11: a deadline already missed is not moved" in clock.delay_note


INC = ("incident",)
EST = rec("establishment", "E1", tz=NY)


def _incident(iid: str, **data: object) -> RecordView:
    base = dict(
        establishment_id="E1",
        discovered_at="2026-01-15T10:00:00-05:00",
        phi_involved=True,
        unsecured=True,
        determination="breach",
        determination_at="2026-01-20T10:00:00-05:00",
        four_factor_documented=True,
    )
    base.update(data)
    return rec("incident", iid, **base)


def test_breach_duties_routes_500_or_more_and_media_more_than_500() -> None:
    records = [
        EST,
        _incident("I-500", affected_total=500, affected_by_state={"NY": 500}),
        _incident("I-499", affected_total=499, affected_by_state={"NY": 250, "NJ": 249}),
        _incident(
            "I-BIG",
            affected_total=1313,
            affected_by_state={"NY": 501, "NJ": 812},
            media_notice_at={"NJ": "2026-03-01T10:00:00-05:00"},
        ),
    ]
    facts = by_id(run(h.breach_duties, INC, "2026-03-20T12:00:00Z", records))
    assert facts["I-500:HIPAA-BRN-HHS-012:hhs"].data["route"] == "immediate"
    assert facts["I-500:HIPAA-BRN-HHS-012:hhs"].data["due_at"] == D(2026, 3, 16)
    assert facts["I-499:HIPAA-BRN-HHS-012:hhs"].data["route"] == "annual"
    assert facts["I-499:HIPAA-BRN-HHS-012:hhs"].data["due_at"] == D(2027, 3, 1)
    assert "I-500:HIPAA-BRN-MEDIA-013:media:NY" not in facts  # exactly 500 is not "more than 500"
    assert facts["I-BIG:HIPAA-BRN-MEDIA-013:media:NY"].data["count"] == 501
    assert facts["I-BIG:HIPAA-BRN-MEDIA-013:media:NJ"].data["met_at"] == dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC)
    assert facts["I-BIG:HIPAA-BRN-MEDIA-013:media:NJ"].bundle_key == "incident:I-BIG"


@pytest.mark.parametrize(
    ("discovered", "due"),
    [
        ("2023-06-01T10:00:00-04:00", D(2024, 2, 29)),  # catalog C2: 2023 breaches -> 2024-02-29
        ("2024-06-01T10:00:00-04:00", D(2025, 3, 1)),  # 2024 -> 2025-03-01
        ("2025-12-31T21:00:00-05:00", D(2026, 3, 1)),  # 2025 (local date; already 2026 in UTC) -> 2026-03-01
    ],
)
def test_breach_duties_annual_log_deadline(discovered: str, due: dt.date) -> None:
    records = [EST, _incident("I", discovered_at=discovered, determination_at=None, affected_total=12)]
    facts = by_id(run(h.breach_duties, INC, "2026-03-20T12:00:00Z", records))
    assert facts["I:HIPAA-BRN-HHS-012:hhs"].data["due_at"] == due


def test_breach_duties_determination_and_applicability() -> None:
    records = [
        EST,
        _incident("I-OPEN", determination=None, determination_at=None),
        _incident(
            "I-LATER",
            determination="not_breach",
            determination_at="2026-05-01T10:00:00-04:00",
            four_factor_documented=True,
        ),
        _incident("I-WEAK", determination="not_breach", four_factor_documented=False),
        _incident("I-SECURED", determination="not_breach", unsecured=False, four_factor_documented=False),
        _incident("I-NOPHI", determination=None, determination_at=None, phi_involved=False),
    ]
    facts = by_id(run(h.breach_duties, INC, "2026-03-01T12:00:00Z", records))
    rules = {(k.split(":")[0], f.data["rule"], f.data["kind"]) for k, f in facts.items()}
    assert ("I-OPEN", "HIPAA-BRN-DET-010", "determination") in rules
    assert facts["I-OPEN:HIPAA-BRN-DET-010:determination"].data["due_at"] == D(2026, 2, 14)
    # undetermined and unsecured: the notice clocks run (presumed breach)
    assert ("I-OPEN", "HIPAA-BRN-IND-011", "individual_notice") in rules
    # a determination recorded after as_of has not been made yet
    assert ("I-LATER", "HIPAA-BRN-DET-010", "determination") in rules
    assert ("I-WEAK", "HIPAA-BRN-DET-010", "unsupported_not_breach") in rules
    # an unsupported not_breach leaves the presumed breach's notice clocks running (164.402)
    assert ("I-WEAK", "HIPAA-BRN-IND-011", "individual_notice") in rules
    assert not any(k.startswith(("I-SECURED", "I-NOPHI")) for k in facts)


def test_breach_duties_business_associate_report_lag() -> None:
    base = dict(discovered_by="business_associate", ba_is_agent=False, ba_discovered_at="2026-01-05T09:00:00-05:00")
    records = [
        EST,
        _incident("I-10", ba_notified_ce_at="2026-01-15T09:00:00-05:00", **base),
        _incident("I-11", ba_notified_ce_at="2026-01-16T09:00:00-05:00", **base),
        _incident(
            "I-61", ba_notified_ce_at="2026-03-07T09:00:00-05:00", discovered_at="2026-03-07T09:00:00-05:00", **base
        ),
    ]
    facts = by_id(run(h.breach_duties, INC, "2026-03-20T12:00:00Z", records))
    assert "I-10:HIPAA-BRN-IND-011:ba_report" not in facts
    assert facts["I-11:HIPAA-BRN-IND-011:ba_report"].data["kind"] == "ba_report_contract"
    assert facts["I-11:HIPAA-BRN-IND-011:ba_report"].data["due_at"] == D(2026, 1, 15)
    assert facts["I-61:HIPAA-BRN-IND-011:ba_report"].data["kind"] == "ba_report_regulatory"
    assert facts["I-61:HIPAA-BRN-IND-011:ba_report"].data["due_at"] == D(2026, 3, 6)


REQ = ("access_request",)


def test_request_duties_local_receipt_date_extension_and_kinds() -> None:
    records = [
        rec("establishment", "HNL", tz="Pacific/Honolulu", state="HI"),
        rec("establishment", "NYC", tz=NY, state="NY"),
        rec(
            "access_request",
            "LATE-NIGHT",
            establishment_id="HNL",
            kind="access",
            received_at="2026-03-02T23:30:00-10:00",
        ),
        rec(
            "access_request",
            "EXT",
            establishment_id="NYC",
            kind="access",
            received_at="2026-03-02T10:00:00-05:00",
            extension_notice_at="2026-04-01T16:00:00-04:00",
        ),
        rec(
            "access_request",
            "VOID",
            establishment_id="NYC",
            kind="access",
            received_at="2026-03-02T10:00:00-05:00",
            extension_notice_at="2026-04-02T09:00:00-04:00",
        ),
        rec(
            "access_request",
            "AMEND",
            establishment_id="NYC",
            kind="amendment",
            received_at="2026-03-02T10:00:00-05:00",
            denied_at="2026-04-20T10:00:00-04:00",
            completed_at="2026-04-25T10:00:00-04:00",
        ),
        rec("access_request", "FUTURE", establishment_id="NYC", kind="access", received_at="2026-05-02T10:00:00-04:00"),
    ]
    facts = by_id(run(h.request_duties, REQ, "2026-04-10T12:00:00Z", records))
    assert facts["LATE-NIGHT:response"].data["due_at"] == D(2026, 4, 1)
    assert facts["EXT:response"].data["due_at"] == D(2026, 5, 1) and facts["EXT:response"].data["extended"] is True
    assert facts["VOID:response"].data["due_at"] == D(2026, 4, 1)
    assert facts["VOID:extension_void"].data["met_at"] == dt.datetime(2026, 4, 2, 13, tzinfo=dt.UTC)
    assert facts["AMEND:response"].data["due_at"] == D(2026, 5, 1)
    assert not any(k.startswith("FUTURE") for k in facts)
    later = by_id(run(h.request_duties, REQ, "2026-04-30T12:00:00Z", records))
    assert later["AMEND:response"].data["met_at"] == dt.datetime(
        2026, 4, 20, 14, tzinfo=dt.UTC
    )  # the denial came first


def test_request_state_override_counts_working_days_across_thanksgiving() -> None:
    records = [
        rec("establishment", "DAL", tz="America/Chicago", state="TX", holiday_calendar="US-FEDERAL"),
        rec("access_request", "TX", establishment_id="DAL", kind="access", received_at="2026-11-13T10:00:00-06:00"),
        rec(
            "access_request", "TX-AM", establishment_id="DAL", kind="amendment", received_at="2026-11-13T10:00:00-06:00"
        ),
    ]
    facts = by_id(
        run(h.request_duties, REQ, "2026-11-20T12:00:00Z", records, access_state_overrides=["TX:15:working_days"])
    )
    assert facts["TX:response"].data["due_at"] == D(2026, 12, 7)
    assert facts["TX-AM:response"].data["due_at"] == D(2027, 1, 12)
    plain = by_id(run(h.request_duties, REQ, "2026-11-20T12:00:00Z", records))
    assert plain["TX:response"].data["due_at"] == D(2026, 12, 13)
