"""Unit tests of the hipaa duty derivations (engine/rules/derive/hipaa/): RA, TRN, TERM, UID, AUD,
ENC, BAA, SAN and NPP. Dates are local dates of the establishment; hour windows are UTC instants."""

from __future__ import annotations

import datetime as dt

from engine.rules.derive import DERIVATIONS, RecordView, load_families
from engine.rules.derive import hipaa as h
from tests.unit.derive.test_hipaa_helpers import by_id, rec, run

D = dt.date
UTC = dt.UTC


def test_every_derivation_is_registered_with_a_hipaa_output_type() -> None:
    load_families()
    outputs = {d.output for _, d in DERIVATIONS if d.name.startswith("hipaa.")}
    assert outputs == {
        "hipaa_ra_duty",
        "hipaa_training_duty",
        "hipaa_term_duty",
        "hipaa_account_issue",
        "hipaa_audit_duty",
        "hipaa_device_duty",
        "hipaa_vendor_duty",
        "hipaa_sanction_duty",
        "hipaa_breach_duty",
        "hipaa_request_duty",
        "hipaa_access_alert",
        "hipaa_npp_duty",
    }
    alerts = next(d for _, d in DERIVATIONS if d.output == "hipaa_access_alert")
    # an alert travels with its first event (its chunk), not copied into every bundle
    assert alerts.reference is False and alerts.family == "event:access_event"


# ---- HIPAA-SEC-RA-001 ---------------------------------------------------------------------------

RA_TYPES = ("organization", "system", "risk_analysis", "risk_item")
EST_NY = rec("establishment", "E1", tz="America/New_York", state="NY")


def test_ra_partial_scope_does_not_count_and_names_the_missing_systems() -> None:
    records = [
        EST_NY,
        rec("organization", "ORG"),
        rec("system", "EHR", stores_ephi=True, added_at="2026-02-02T09:00:00-05:00"),
        rec("system", "PM", stores_ephi=True, added_at="2026-02-03T09:00:00-05:00"),
        rec("system", "HR", stores_ephi=False, added_at="2025-01-01T09:00:00-05:00"),
        rec("risk_analysis", "RA-P", completed_at="2026-02-05T16:00:00-05:00", scope_system_ids=["EHR"]),
    ]
    facts = by_id(run(h.risk_analysis_duties, RA_TYPES, "2026-02-06T12:00:00Z", records))
    duty = facts["no_analysis"]
    assert duty.data["due_at"] == D(2026, 2, 2)  # the first ePHI system went into service
    assert duty.data["systems_missing"] == "PM"
    assert duty.bundle_key == "org:*"
    assert ("risk_analysis", "RA-P", 1) in duty.sources


def test_ra_stale_and_new_system_and_targeted_update() -> None:
    records = [
        EST_NY,
        rec("organization", "ORG"),
        rec("system", "EHR", stores_ephi=True, added_at="2024-01-02T09:00:00-05:00"),
        rec("system", "PACS", stores_ephi=True, added_at="2026-03-01T10:00:00-05:00"),
        rec("risk_analysis", "RA-1", completed_at="2025-03-10T15:00:00-04:00", scope_system_ids=["EHR"]),
        rec("risk_analysis", "RA-PACS", completed_at="2026-06-02T16:00:00-04:00", scope_system_ids=["PACS"]),
    ]
    before = by_id(run(h.risk_analysis_duties, RA_TYPES, "2026-05-01T12:00:00Z", records))
    assert before["stale:RA-1"].data["due_at"] == D(2026, 3, 10)  # 2025-03-10 + 365
    assert before["new_system:PACS"].data["due_at"] == D(2026, 5, 30)  # 2026-03-01 + 90
    after = by_id(run(h.risk_analysis_duties, RA_TYPES, "2026-06-03T12:00:00Z", records))
    assert "new_system:PACS" not in after  # the targeted analysis covers it


def test_ra_future_analysis_does_not_exist_yet() -> None:
    records = [
        EST_NY,
        rec("organization", "ORG"),
        rec("system", "EHR", stores_ephi=True, added_at="2024-01-02T09:00:00-05:00"),
        rec("risk_analysis", "RA-1", completed_at="2026-06-02T16:00:00-04:00", scope_system_ids=["EHR"]),
    ]
    assert set(by_id(run(h.risk_analysis_duties, RA_TYPES, "2026-06-01T12:00:00Z", records))) == {"no_analysis"}


def test_ra_mips_year_uses_the_local_year_of_completion() -> None:
    records = [
        rec("establishment", "E1", tz="America/Denver"),
        rec("organization", "ORG", mips_participant_by_py={"2025": True, "2026": True}),
        rec("system", "EHR", stores_ephi=True, added_at="2024-01-02T09:00:00-07:00"),
        # New Year's Eve 20:00 in Denver is already 2026 in UTC: it counts for 2025
        rec("risk_analysis", "RA", completed_at="2025-12-31T20:00:00-07:00", scope_system_ids=["EHR"]),
    ]
    facts = by_id(run(h.risk_analysis_duties, RA_TYPES, "2026-12-01T12:00:00Z", records))
    assert "mips_year:2025" not in facts
    assert facts["mips_year:2026"].data["due_at"] == D(2026, 12, 31)
    none = by_id(run(h.risk_analysis_duties, RA_TYPES, "2026-12-01T12:00:00Z", records, ra_mips_lookback_years=0))
    assert "mips_year:2026" in none


def test_ra_risk_items_only_high_open_and_default_due_date() -> None:
    records = [
        EST_NY,
        rec("organization", "ORG"),
        rec("system", "EHR", stores_ephi=True, added_at="2024-01-02T09:00:00-05:00"),
        rec("risk_analysis", "RA-1", completed_at="2026-02-01T16:00:00-05:00", scope_system_ids=["EHR"]),
        rec(
            "risk_item",
            "RI-H",
            risk_analysis_id="RA-1",
            rating="high",
            due_at="2026-04-01T17:00:00-04:00",
            status="open",
        ),
        rec("risk_item", "RI-C", risk_analysis_id="RA-1", rating="critical", status="open"),
        rec(
            "risk_item",
            "RI-M",
            risk_analysis_id="RA-1",
            rating="medium",
            status="open",
            due_at="2026-03-01T17:00:00-05:00",
        ),
        rec(
            "risk_item",
            "RI-X",
            risk_analysis_id="RA-1",
            rating="critical",
            status="closed",
            due_at="2026-03-01T17:00:00-05:00",
        ),
    ]
    facts = by_id(run(h.risk_analysis_duties, RA_TYPES, "2026-03-01T12:00:00Z", records))
    assert facts["risk_item:RI-H"].data["due_at"] == D(2026, 4, 1)
    assert facts["risk_item:RI-C"].data["due_at"] == D(2026, 5, 2)  # analysis 2026-02-01 + 90
    assert "risk_item:RI-M" not in facts and "risk_item:RI-X" not in facts


# ---- HIPAA-ADM-TRN-002 ---------------------------------------------------------------------------

TRN_TYPES = ("employment_episode", "training_record", "account", "access_event")


def _trained(person: str, at: str, n: str = "") -> list:
    return [
        rec("training_record", f"TP{person}{n}", person_id=person, course="HIPAA_PRIVACY", completed_at=at),
        rec("training_record", f"TS{person}{n}", person_id=person, course="HIPAA_SECURITY", completed_at=at),
    ]


def test_training_new_hire_needs_both_courses() -> None:
    records = [
        EST_NY,
        rec(
            "employment_episode",
            "EP1",
            person_id="P1",
            establishment_id="E1",
            start_at="2026-03-02T09:00:00-05:00",
            phi_access_required=True,
        ),
        rec("training_record", "T1", person_id="P1", course="HIPAA_PRIVACY", completed_at="2026-03-05T09:00:00-05:00"),
    ]
    facts = by_id(run(h.training_duties, TRN_TYPES, "2026-03-20T12:00:00Z", records))
    duty = facts["EP1:new_hire"]
    assert duty.data["due_at"] == D(2026, 4, 1)
    assert duty.data["courses_missing"] == "HIPAA_SECURITY"
    assert duty.bundle_key == "person:P1"


def test_training_completed_after_as_of_has_not_happened() -> None:
    records = [
        EST_NY,
        rec(
            "employment_episode",
            "EP1",
            person_id="P1",
            establishment_id="E1",
            start_at="2026-03-02T09:00:00-05:00",
            phi_access_required=True,
        ),
        *_trained("P1", "2026-03-10T09:00:00-04:00"),
    ]
    assert "EP1:new_hire" in by_id(run(h.training_duties, TRN_TYPES, "2026-03-09T12:00:00Z", records))
    assert "EP1:new_hire" not in by_id(run(h.training_duties, TRN_TYPES, "2026-03-11T12:00:00Z", records))


def test_training_rehire_is_a_new_member_unless_the_practice_says_otherwise() -> None:
    records = [
        EST_NY,
        rec(
            "employment_episode",
            "EP1",
            person_id="P1",
            establishment_id="E1",
            start_at="2025-01-06T08:00:00-05:00",
            end_at="2025-06-30T17:00:00-04:00",
            phi_access_required=True,
        ),
        rec(
            "employment_episode",
            "EP2",
            person_id="P1",
            establishment_id="E1",
            start_at="2026-02-02T08:00:00-05:00",
            phi_access_required=True,
        ),
        *_trained("P1", "2025-01-08T13:00:00-05:00"),
    ]
    facts = by_id(run(h.training_duties, TRN_TYPES, "2026-03-05T12:00:00Z", records))
    assert set(facts) == {"EP2:new_hire"}
    old = by_id(run(h.training_duties, TRN_TYPES, "2026-03-05T12:00:00Z", records, rehire_counts_as_new_member=False))
    # each course's refresher runs from its own 2025 completion
    assert set(old) == {"EP2:refresher:HIPAA_PRIVACY:TPP1", "EP2:refresher:HIPAA_SECURITY:TSP1"}
    assert {f.data["due_at"] for f in old.values()} == {D(2026, 1, 8)}


def test_training_before_first_access_is_due_the_day_before_and_met_by_training() -> None:
    records = [
        EST_NY,
        rec(
            "employment_episode",
            "EP1",
            person_id="P1",
            establishment_id="E1",
            start_at="2026-03-02T08:00:00-05:00",
            phi_access_required=True,
        ),
        rec("account", "A1", person_id="P1", system_id="EHR", user_id="u1", enabled_at="2026-03-02T07:45:00-05:00"),
        rec("access_event", "AE1", system_id="EHR", user_id="u1", patient_id="PT", at="2026-03-03T10:00:00-05:00"),
        rec("access_event", "AE0", system_id="EHR", user_id="u1", patient_id="PT", at="2026-03-03T11:00:00-05:00"),
        *_trained("P1", "2026-03-03T15:00:00-05:00"),
    ]
    facts = by_id(run(h.training_duties, TRN_TYPES, "2026-03-04T12:00:00Z", records))
    duty = facts["EP1:before_access"]
    assert duty.data["due_at"] == D(2026, 3, 2)
    assert duty.data["first_access_event_id"] == "AE1"
    assert duty.data["met_at"] == dt.datetime(2026, 3, 3, 20, 0, tzinfo=UTC)
    assert ("access_event", "AE1", 1) in duty.sources
    off = by_id(
        run(h.training_duties, TRN_TYPES, "2026-03-04T12:00:00Z", records, hipaa_training_before_phi_access=False)
    )
    assert "EP1:before_access" not in off


def test_training_refresher_after_a_leap_day_clamps_to_28_february() -> None:
    records = [
        rec("establishment", "E1", tz="America/Los_Angeles"),
        rec(
            "employment_episode",
            "EP1",
            person_id="P1",
            establishment_id="E1",
            start_at="2028-02-07T08:00:00-08:00",
            phi_access_required=True,
        ),
        *_trained("P1", "2028-02-29T10:00:00-08:00"),
    ]
    facts = by_id(run(h.training_duties, TRN_TYPES, "2028-06-01T12:00:00Z", records))
    assert facts["EP1:refresher:HIPAA_PRIVACY:TPP1"].data["due_at"] == D(2029, 2, 28)
    assert facts["EP1:refresher:HIPAA_SECURITY:TSP1"].data["due_at"] == D(2029, 2, 28)


def _course(person: str, record_id: str, course: str, at: str) -> RecordView:
    return rec("training_record", record_id, person_id=person, course=course, completed_at=at)


def test_training_refresher_is_owed_per_course_and_a_late_repeat_stays_on_record() -> None:
    records = [
        rec("establishment", "E1", tz="America/Los_Angeles"),
        rec(
            "employment_episode",
            "EP1",
            person_id="P1",
            establishment_id="E1",
            start_at="2026-03-02T08:00:00-08:00",
            phi_access_required=True,
        ),
        _course("P1", "T1", "HIPAA_PRIVACY", "2026-03-10T10:00:00-07:00"),
        _course("P1", "T2", "HIPAA_SECURITY", "2026-03-20T10:00:00-07:00"),
        _course("P1", "T3", "HIPAA_PRIVACY", "2027-03-22T10:00:00-07:00"),  # 12 days late
        _course("P1", "T4", "HIPAA_SECURITY", "2027-03-20T23:30:00-07:00"),  # on the due day (local)
    ]
    # before either repeat: both courses are open, each its own duty and occurrence
    before = by_id(run(h.training_duties, TRN_TYPES, "2027-03-15T12:00:00Z", records))
    got = {k: (f.data["key"], f.data["course"], f.data["due_at"], f.data.get("met_at")) for k, f in before.items()}
    assert got == {
        "EP1:refresher:HIPAA_PRIVACY:T1": ("refresher:HIPAA_PRIVACY:T1", "HIPAA_PRIVACY", D(2027, 3, 10), None),
        "EP1:refresher:HIPAA_SECURITY:T2": ("refresher:HIPAA_SECURITY:T2", "HIPAA_SECURITY", D(2027, 3, 20), None),
    }
    after = by_id(run(h.training_duties, TRN_TYPES, "2027-03-25T12:00:00Z", records))
    # the late privacy cycle keeps its key and gains the late completion; the on-time security cycle is gone
    late = after["EP1:refresher:HIPAA_PRIVACY:T1"]
    assert late.data["due_at"] == D(2027, 3, 10)
    assert late.data["met_at"] == dt.datetime(2027, 3, 22, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    assert ("training_record", "T3", 1) in late.sources
    assert set(after) == {
        "EP1:refresher:HIPAA_PRIVACY:T1",
        "EP1:refresher:HIPAA_PRIVACY:T3",
        "EP1:refresher:HIPAA_SECURITY:T4",
    }
    assert after["EP1:refresher:HIPAA_PRIVACY:T3"].data["due_at"] == D(2028, 3, 22)
    assert after["EP1:refresher:HIPAA_SECURITY:T4"].data["due_at"] == D(2028, 3, 20)


def test_training_refresher_of_a_done_course_while_the_other_is_missing() -> None:
    records = [
        EST_NY,
        rec(
            "employment_episode",
            "EP1",
            person_id="P1",
            establishment_id="E1",
            start_at="2026-01-05T09:00:00-05:00",
            phi_access_required=True,
        ),
        _course("P1", "T1", "HIPAA_PRIVACY", "2026-01-09T11:00:00-05:00"),
    ]
    facts = by_id(run(h.training_duties, TRN_TYPES, "2027-01-12T12:00:00Z", records))
    assert set(facts) == {"EP1:new_hire", "EP1:refresher:HIPAA_PRIVACY:T1"}
    assert facts["EP1:new_hire"].data["courses_missing"] == "HIPAA_SECURITY"
    assert facts["EP1:refresher:HIPAA_PRIVACY:T1"].data["due_at"] == D(2027, 1, 9)


def test_training_repeat_before_a_rehire_is_not_a_late_cycle_of_it() -> None:
    # counting earlier training (rehire_counts_as_new_member = false): a gap that closed before the
    # episode began is the earlier episode's business
    records = [
        EST_NY,
        rec(
            "employment_episode",
            "EP2",
            person_id="P1",
            establishment_id="E1",
            start_at="2026-02-02T08:00:00-05:00",
            phi_access_required=True,
        ),
        _course("P1", "T1", "HIPAA_PRIVACY", "2023-01-09T11:00:00-05:00"),
        _course("P1", "T2", "HIPAA_PRIVACY", "2025-06-09T11:00:00-04:00"),  # late, but before EP2
        _course("P1", "T3", "HIPAA_SECURITY", "2025-06-09T11:00:00-04:00"),
    ]
    facts = by_id(run(h.training_duties, TRN_TYPES, "2026-03-05T12:00:00Z", records, rehire_counts_as_new_member=False))
    assert set(facts) == {"EP2:refresher:HIPAA_PRIVACY:T2", "EP2:refresher:HIPAA_SECURITY:T3"}


def test_training_ended_or_non_phi_episodes_owe_nothing() -> None:
    records = [
        EST_NY,
        rec(
            "employment_episode",
            "EP1",
            person_id="P1",
            establishment_id="E1",
            start_at="2026-01-02T08:00:00-05:00",
            end_at="2026-02-02T08:00:00-05:00",
            phi_access_required=True,
        ),
        rec(
            "employment_episode",
            "EP2",
            person_id="P2",
            establishment_id="E1",
            start_at="2026-01-02T08:00:00-05:00",
            phi_access_required=False,
        ),
    ]
    assert run(h.training_duties, TRN_TYPES, "2026-03-01T12:00:00Z", records) == []


# ---- HIPAA-SEC-TERM-004 --------------------------------------------------------------------------

TERM_TYPES = ("employment_episode", "account", "access_event")


def test_termination_window_is_elapsed_hours_across_the_spring_forward_change() -> None:
    records = [
        rec("establishment", "E1", tz="America/Chicago"),
        rec(
            "employment_episode",
            "EP1",
            person_id="P1",
            establishment_id="E1",
            start_at="2026-01-05T09:00:00-06:00",
            end_at="2026-03-07T17:00:00-06:00",
        ),
        rec("account", "A1", person_id="P1", system_id="EHR", user_id="jdoe", enabled_at="2026-01-05T09:00:00-06:00"),
    ]
    facts = by_id(run(h.termination_duties, TERM_TYPES, "2026-03-08T12:00:00Z", records))
    duty = facts["EP1:A1:revoke"]
    assert duty.data["due_at"] == dt.datetime(2026, 3, 8, 23, 0, tzinfo=UTC)  # 24 h after 23:00Z, not 22:00Z
    assert "met_at" not in duty.data
    assert duty.bundle_key == "person:P1"


def test_termination_use_after_end_excludes_reassigned_ids_and_rehires() -> None:
    records = [
        rec("establishment", "E1", tz="America/New_York"),
        rec(
            "employment_episode",
            "EP1",
            person_id="P1",
            establishment_id="E1",
            start_at="2025-01-06T09:00:00-05:00",
            end_at="2026-03-10T17:00:00-04:00",
        ),
        rec("employment_episode", "EP2", person_id="P1", establishment_id="E1", start_at="2026-06-01T09:00:00-04:00"),
        rec(
            "account",
            "A1",
            person_id="P1",
            system_id="EHR",
            user_id="jdoe",
            enabled_at="2025-01-06T08:45:00-05:00",
            disabled_at="2026-03-11T09:00:00-04:00",
        ),
        rec("account", "A2", person_id="P1", system_id="EHR", user_id="jdoe", enabled_at="2026-06-01T08:45:00-04:00"),
        rec(
            "account",
            "A3",
            person_id="P1",
            system_id="PM",
            user_id="jd",
            enabled_at="2025-01-06T08:45:00-05:00",
            disabled_at="2026-03-10T18:00:00-04:00",
        ),
        rec("account", "A9", person_id="P9", system_id="PM", user_id="jd", enabled_at="2026-04-01T08:45:00-04:00"),
        rec(
            "access_event", "AE-AFTER", system_id="EHR", user_id="jdoe", patient_id="PT", at="2026-03-10T19:00:00-04:00"
        ),
        rec("access_event", "AE-REUSED", system_id="PM", user_id="jd", patient_id="PT", at="2026-04-05T10:00:00-04:00"),
        rec(
            "access_event",
            "AE-REHIRE",
            system_id="EHR",
            user_id="jdoe",
            patient_id="PT",
            at="2026-06-02T10:00:00-04:00",
        ),
    ]
    facts = by_id(run(h.termination_duties, TERM_TYPES, "2026-06-10T12:00:00Z", records))
    used = facts["EP1:A1:used_after_end"]
    assert used.data["use_count"] == 1 and used.data["first_use_event_id"] == "AE-AFTER"
    assert used.data["due_at"] == dt.datetime(2026, 3, 10, 21, 0, tzinfo=UTC)
    assert "EP1:A3:used_after_end" not in facts
    assert facts["EP1:A1:revoke"].data["met_at"] == dt.datetime(2026, 3, 11, 13, 0, tzinfo=UTC)
    assert not any(k.startswith("EP1:A2") for k in facts)  # the rehire's account was enabled after the end


def test_termination_transfer_inside_the_window_is_not_a_departure() -> None:
    records = [
        rec("establishment", "E1", tz="America/New_York"),
        rec(
            "employment_episode",
            "EP1",
            person_id="P1",
            establishment_id="E1",
            start_at="2025-01-06T09:00:00-05:00",
            end_at="2026-03-10T17:00:00-04:00",
        ),
        rec("employment_episode", "EP2", person_id="P1", establishment_id="E1", start_at="2026-03-11T17:00:00-04:00"),
        rec(
            "employment_episode",
            "EP3",
            person_id="P2",
            establishment_id="E1",
            start_at="2025-01-06T09:00:00-05:00",
            end_at="2026-03-10T17:00:00-04:00",
        ),
        rec("employment_episode", "EP4", person_id="P2", establishment_id="E1", start_at="2026-03-11T17:00:01-04:00"),
        rec("account", "A1", person_id="P1", system_id="EHR", user_id="p1", enabled_at="2025-01-06T08:45:00-05:00"),
        rec("account", "A2", person_id="P2", system_id="EHR", user_id="p2", enabled_at="2025-01-06T08:45:00-05:00"),
    ]
    facts = by_id(run(h.termination_duties, TERM_TYPES, "2026-03-20T12:00:00Z", records))
    # P1 starts the new role exactly 24 h later (a transfer); P2 one second after the window (a rehire)
    assert set(facts) == {"EP3:A2:revoke"}


def test_termination_future_end_has_not_happened() -> None:
    records = [
        rec("establishment", "E1", tz="America/New_York"),
        rec(
            "employment_episode",
            "EP1",
            person_id="P1",
            establishment_id="E1",
            start_at="2025-01-06T09:00:00-05:00",
            end_at="2026-03-10T17:00:00-04:00",
        ),
        rec("account", "A1", person_id="P1", system_id="EHR", user_id="jdoe", enabled_at="2025-01-06T08:45:00-05:00"),
    ]
    assert run(h.termination_duties, TERM_TYPES, "2026-03-10T20:00:00Z", records) == []


# ---- HIPAA-SEC-UID-005 ---------------------------------------------------------------------------

UID_TYPES = ("account", "system", "access_event")


def test_account_issues_kinds() -> None:
    records = [
        rec("system", "EHR", stores_ephi=True),
        rec("system", "HR", stores_ephi=False),
        rec(
            "account",
            "GEN",
            system_id="EHR",
            user_id="frontdesk",
            generic=True,
            interactive=True,
            enabled_at="2025-01-01T08:00:00-05:00",
            mfa_remote=False,
        ),
        rec("account", "GEN-HR", system_id="HR", user_id="hr", generic=True, enabled_at="2025-01-01T08:00:00-05:00"),
        rec(
            "account",
            "GEN-OFF",
            system_id="EHR",
            user_id="temp",
            generic=True,
            enabled_at="2025-01-01T08:00:00-05:00",
            disabled_at="2025-06-01T08:00:00-04:00",
        ),
        rec(
            "account", "SVC", system_id="EHR", user_id="svc", interactive=False, enabled_at="2025-01-01T08:00:00-05:00"
        ),
        rec(
            "account",
            "OLD",
            system_id="EHR",
            user_id="jg",
            person_id="P1",
            enabled_at="2024-01-02T08:00:00-05:00",
            disabled_at="2025-07-18T18:00:00-04:00",
        ),
        rec("account", "NEW", system_id="EHR", user_id="jg", person_id="P2", enabled_at="2026-02-01T08:00:00-05:00"),
        rec(
            "account",
            "SAME1",
            system_id="EHR",
            user_id="am",
            person_id="P3",
            enabled_at="2024-02-01T08:00:00-05:00",
            disabled_at="2025-02-01T08:00:00-05:00",
        ),
        rec("account", "SAME2", system_id="EHR", user_id="am", person_id="P3", enabled_at="2026-02-01T08:00:00-05:00"),
        rec("access_event", "AE1", system_id="EHR", user_id="svc", patient_id="PT", at="2026-02-10T14:05:00-05:00"),
    ]
    facts = by_id(run(h.account_issues, UID_TYPES, "2026-02-11T12:00:00Z", records))
    assert set(facts) == {"GEN:shared", "GEN:no_mfa", "NEW:reassigned", "SVC:service_interactive"}
    assert facts["NEW:reassigned"].data["other_person_id"] == "P1"
    assert facts["SVC:service_interactive"].data["event_count"] == 1
    assert facts["GEN:shared"].bundle_key == "person:account/GEN"
    assert facts["NEW:reassigned"].bundle_key == "person:P2"


# ---- HIPAA-SEC-AUD-006 ---------------------------------------------------------------------------


def test_audit_duties() -> None:
    records = [
        EST_NY,
        rec(
            "system",
            "EHR",
            stores_ephi=True,
            audit_logging_enabled=True,
            log_retention_days=2555,
            last_audit_review_at="2026-03-01T10:00:00-05:00",
            added_at="2024-01-02T09:00:00-05:00",
        ),
        rec(
            "system",
            "FAX",
            stores_ephi=True,
            audit_logging_enabled=False,
            log_retention_days=2189,
            added_at="2025-07-25T09:00:00-04:00",
        ),
        rec("system", "OLD", stores_ephi=True, audit_logging_enabled=True),
        rec("system", "HR", stores_ephi=False, audit_logging_enabled=False),
    ]
    facts = by_id(run(h.audit_duties, ("system",), "2026-04-01T12:00:00Z", records))
    assert facts["EHR:review"].data["due_at"] == D(2026, 3, 31)
    assert facts["FAX:review"].data["due_at"] == D(2025, 8, 24)  # never reviewed: added + 30
    assert facts["FAX:logging"].data["due_at"] == D(2025, 7, 25)
    assert facts["FAX:retention"].data["due_at"] == D(2025, 7, 25)
    assert facts["OLD:review"].data["due_at"] == D(2026, 1, 31)  # hipaa_baseline_date + 30
    assert not any(k.startswith("HR:") for k in facts)


# ---- HIPAA-SEC-ENC-008 ---------------------------------------------------------------------------


def test_device_duties() -> None:
    records = [
        rec("establishment", "E1", tz="America/Chicago"),
        rec(
            "device",
            "OK",
            kind="laptop",
            stores_ephi=True,
            encryption_status="verified",
            encryption_checked_at="2026-03-01T09:00:00-06:00",
        ),
        rec("device", "NONE", kind="phone", stores_ephi=True, encryption_status="none"),
        rec("device", "ALT", kind="workstation", stores_ephi=True, encryption_status="alternative_documented"),
        rec("device", "SRV", kind="server", stores_ephi=True, encryption_status="none"),
        rec("device", "NOPHI", kind="laptop", stores_ephi=False, encryption_status="none"),
        rec(
            "device",
            "GONE",
            kind="tablet",
            stores_ephi=True,
            encryption_status="verified",
            disposed_at="2026-03-10T15:00:00-05:00",
            sanitized_at="2026-03-11T08:00:00-05:00",
        ),
    ]
    facts = by_id(run(h.device_duties, ("device",), "2026-04-01T12:00:00Z", records))
    assert set(facts) == {"OK:encryption_check", "NONE:not_encrypted", "GONE:sanitization"}
    assert facts["OK:encryption_check"].data["due_at"] == D(2026, 3, 31)
    assert facts["NONE:not_encrypted"].data["due_at"] == D(2026, 1, 1)
    assert facts["GONE:sanitization"].data["due_at"] == D(2026, 3, 10)
    assert facts["GONE:sanitization"].data["met_at"] == dt.datetime(2026, 3, 11, 13, 0, tzinfo=UTC)
    assert facts["GONE:sanitization"].bundle_key == "device:GONE"


# ---- HIPAA-BA-BAA-009 ----------------------------------------------------------------------------

BAA_TYPES = ("vendor", "baa", "phi_flow")
ALL_CLAUSES = [
    "PERMITTED_USES",
    "SAFEGUARDS",
    "BREACH_REPORTING",
    "SUBCONTRACTORS",
    "INDIVIDUAL_RIGHTS",
    "HHS_ACCESS",
    "RETURN_DESTROY",
]


def test_clause_codes_have_one_spelling() -> None:
    assert h.clause_codes([" permitted_uses", "Safeguards", "SAFEGUARDS", "", None, "ai_no_training"]) == [
        "PERMITTED_USES",
        "SAFEGUARDS",
        "AI_NO_TRAINING",
    ]
    assert h.clause_codes(None) == []


def test_vendor_duties_compare_clauses_whatever_their_case() -> None:
    def baa(record_id: str, vendor: str, clauses: list[str]) -> RecordView:
        return rec("baa", record_id, vendor_id=vendor, signed_at="2025-12-01T10:00:00-05:00", clauses=clauses)

    records = [
        EST_NY,
        rec("vendor", "V-LOWER", handles_phi=True, relationship_type="business_associate"),
        baa("B-LOWER", "V-LOWER", [c.lower() for c in ALL_CLAUSES] + ["ai_no_training"]),
        rec("vendor", "V-GAP", handles_phi=True, relationship_type="business_associate"),
        baa("B-GAP", "V-GAP", [c.title() for c in ALL_CLAUSES if c != "SUBCONTRACTORS"]),
    ]
    facts = by_id(run(h.vendor_duties, BAA_TYPES, "2026-06-01T00:00:00Z", records))
    assert set(facts) == {"V-GAP:clauses:B-GAP"}
    assert facts["V-GAP:clauses:B-GAP"].data["clauses_missing"] == "SUBCONTRACTORS"
    # a practice list in lower case: named in the one spelling
    lower = by_id(
        run(h.vendor_duties, BAA_TYPES, "2026-06-01T00:00:00Z", records, baa_required_clauses=["subcontractors"])
    )
    assert set(lower) == {"V-GAP:clauses:B-GAP"}
    assert lower["V-GAP:clauses:B-GAP"].data["clauses_missing"] == "SUBCONTRACTORS"


def test_vendor_duties() -> None:
    records = [
        EST_NY,
        rec("vendor", "V-OK", handles_phi=True, relationship_type="business_associate"),
        rec(
            "baa",
            "B-OK",
            vendor_id="V-OK",
            signed_at="2025-12-20T10:00:00-05:00",
            effective_at="2026-01-05T00:00:00-05:00",
            clauses=ALL_CLAUSES,
        ),
        rec("phi_flow", "F-OK", vendor_id="V-OK", first_at="2026-01-05T00:00:00-05:00"),
        rec("vendor", "V-LATE", handles_phi=True, relationship_type="other"),
        rec(
            "baa",
            "B-LATE",
            vendor_id="V-LATE",
            signed_at="2026-02-15T10:00:00-05:00",
            effective_at="2026-02-16T00:00:00-05:00",
            clauses=ALL_CLAUSES[:-1],
        ),
        rec("phi_flow", "F-LATE", vendor_id="V-LATE", first_at="2026-02-02T09:00:00-05:00"),
        rec("vendor", "V-SOON", handles_phi=True, relationship_type="business_associate"),
        rec("phi_flow", "F-SOON", vendor_id="V-SOON", first_at="2026-04-01T09:00:00-04:00"),
        rec("vendor", "V-RENEW", handles_phi=True, relationship_type="business_associate"),
        rec(
            "baa",
            "B-R1",
            vendor_id="V-RENEW",
            signed_at="2024-01-02T10:00:00-05:00",
            terminated_at="2026-03-02T17:00:00-05:00",
            clauses=ALL_CLAUSES,
        ),
        rec("baa", "B-R2", vendor_id="V-RENEW", signed_at="2026-03-01T10:00:00-05:00", clauses=ALL_CLAUSES),
        rec("vendor", "V-EXIT", handles_phi=True, relationship_type="business_associate"),
        rec(
            "baa",
            "B-EXIT",
            vendor_id="V-EXIT",
            signed_at="2024-01-02T10:00:00-05:00",
            terminated_at="2026-03-02T17:00:00-05:00",
            clauses=ALL_CLAUSES,
        ),
        rec("vendor", "V-LAB", handles_phi=True, relationship_type="treatment_provider"),
        rec("phi_flow", "F-LAB", vendor_id="V-LAB", first_at="2025-01-03T09:00:00-05:00"),
    ]
    facts = by_id(run(h.vendor_duties, BAA_TYPES, "2026-03-05T12:00:00Z", records))
    assert set(facts) == {"V-LATE:before_flow", "V-LATE:clauses:B-LATE", "V-SOON:before_flow", "V-EXIT:exit:B-EXIT"}
    late = facts["V-LATE:before_flow"].data
    assert late["due_at"] == D(2026, 2, 2) and late["flowing"] is True
    assert late["met_at"] == dt.datetime(2026, 2, 16, 5, 0, tzinfo=UTC) and late["baa_id"] == "B-LATE"
    soon = facts["V-SOON:before_flow"].data
    assert soon["flowing"] is False and soon["due_at"] == D(2026, 4, 1) and "met_at" not in soon
    assert facts["V-LATE:clauses:B-LATE"].data["clauses_missing"] == "RETURN_DESTROY"
    assert facts["V-EXIT:exit:B-EXIT"].data["due_at"] == D(2026, 4, 1)
    assert facts["V-EXIT:exit:B-EXIT"].bundle_key == "vendor:V-EXIT"


# ---- HIPAA-ADM-SAN-003 ---------------------------------------------------------------------------

SAN_TYPES = ("investigation", "sanction_record", "employment_episode")


def test_sanction_decision_and_repeat_window() -> None:
    records = [
        rec("establishment", "E1", tz="America/Denver"),
        rec("employment_episode", "EP1", person_id="P1", establishment_id="E1", start_at="2024-01-02T08:00:00-07:00"),
        rec(
            "investigation",
            "I1",
            subject_person_id="P1",
            opened_at="2026-01-02T09:00:00-07:00",
            closed_at="2026-01-10T16:00:00-07:00",
            outcome="VIOLATION_CONFIRMED",
        ),
        rec(
            "sanction_record",
            "S1",
            investigation_id="I1",
            person_id="P1",
            level="verbal_warning",
            decided_at="2026-01-15T10:00:00-07:00",
        ),
        rec(
            "investigation",
            "I2",
            subject_person_id="P1",
            opened_at="2026-04-20T09:00:00-06:00",
            closed_at="2026-05-01T16:00:00-06:00",
            outcome="violation_confirmed",
        ),
        rec(
            "sanction_record",
            "S2",
            investigation_id="I2",
            person_id="P1",
            level="verbal_warning",
            decided_at="2026-05-05T10:00:00-06:00",
        ),
        rec(
            "investigation",
            "I3",
            subject_person_id="P1",
            opened_at="2026-04-20T09:00:00-06:00",
            closed_at="2026-05-01T16:00:00-06:00",
            outcome="UNFOUNDED",
        ),
    ]
    facts = by_id(run(h.sanction_duties, SAN_TYPES, "2026-05-06T12:00:00Z", records))
    assert facts["I1:decision"].data["due_at"] == D(2026, 2, 9)
    assert facts["I1:decision"].data["sanction_id"] == "S1"
    assert facts["I2:no_escalation"].data["due_at"] == D(2026, 5, 5)
    assert facts["I2:no_escalation"].data["prior_investigation_id"] == "I1"
    assert not any(k.startswith("I3") for k in facts)
    assert "I2:no_escalation" in by_id(run(h.sanction_duties, SAN_TYPES, "2027-01-10T12:00:00Z", records))
    assert "I2:no_escalation" not in by_id(run(h.sanction_duties, SAN_TYPES, "2027-01-11T12:00:00Z", records))
    unknown = by_id(
        run(
            h.sanction_duties,
            SAN_TYPES,
            "2026-05-06T12:00:00Z",
            records,
            sanction_level_order=["written_warning", "suspension"],
        )
    )
    assert "I2:no_escalation" not in unknown  # levels outside the matrix cannot be judged


# ---- HIPAA-PRV-NPP-015 ---------------------------------------------------------------------------


def test_npp_duties_from_attested_parameters() -> None:
    records = [EST_NY, rec("organization", "ORG")]
    nothing = by_id(run(h.npp_duties, ("organization",), "2026-03-01T12:00:00Z", records))
    assert set(nothing) == {"part2_revision"} and "met_at" not in nothing["part2_revision"].data
    both = by_id(
        run(
            h.npp_duties,
            ("organization",),
            "2026-03-01T12:00:00Z",
            records,
            npp_version_date="2026-02-10",
            npp_posted_date="2026-02-12",
        )
    )
    assert both["part2_revision"].data["met_at"] == D(2026, 2, 10)
    assert both["posting"].data["due_at"] == D(2026, 2, 10) and both["posting"].data["met_at"] == D(2026, 2, 12)
    future = by_id(run(h.npp_duties, ("organization",), "2026-03-01T12:00:00Z", records, npp_version_date="2026-04-01"))
    assert set(future) == {"part2_revision"} and "met_at" not in future["part2_revision"].data


def test_access_log_instants_written_with_other_offsets_compare_as_instants_and_keep_their_offset() -> None:
    """The access-log derivations compare event instants in UTC (fast) but yield them as written: an
    event at an episode's first instant, written in another offset, is in the episode; one a second
    earlier is not; a use exactly at the end of employment is not after it."""
    plus_one = dt.timezone(dt.timedelta(hours=1))
    plus_two = dt.timezone(dt.timedelta(hours=2))
    trained = [
        EST_NY,
        rec("employment_episode", "EP1", person_id="P1", establishment_id="E1", start_at="2026-03-02T08:00:00-05:00",
            phi_access_required=True),
        rec("account", "A1", person_id="P1", system_id="EHR", user_id="u1", enabled_at="2026-03-01T07:45:00-05:00"),
        rec("access_event", "AE-EARLY", system_id="EHR", user_id="u1", patient_id="PT", at="2026-03-02T12:59:59Z"),
        rec("access_event", "AE-LATER", system_id="EHR", user_id="u1", patient_id="PT", at="2026-03-02T09:00:00-05:00"),
        rec("access_event", "AE-START", system_id="EHR", user_id="u1", patient_id="PT", at="2026-03-02T14:00:00+01:00"),
        *_trained("P1", "2026-03-03T15:00:00-05:00"),
    ]
    duty = by_id(run(h.training_duties, TRN_TYPES, "2026-03-04T12:00:00Z", trained))["EP1:before_access"]
    assert duty.data["first_access_event_id"] == "AE-START"
    first = duty.data["first_access_at"]
    assert first == dt.datetime(2026, 3, 2, 13, tzinfo=UTC) and first.tzinfo == plus_one  # as written

    ended = [
        rec("establishment", "E1", tz="America/New_York"),
        rec("employment_episode", "EP1", person_id="P1", establishment_id="E1", start_at="2025-01-06T09:00:00-05:00",
            end_at="2026-03-10T17:00:00-04:00"),
        rec("account", "A1", person_id="P1", system_id="EHR", user_id="jdoe", enabled_at="2025-01-06T08:45:00-05:00"),
        rec("access_event", "AE-AT-END", system_id="EHR", user_id="jdoe", patient_id="PT", at="2026-03-10T21:00:00Z"),
        rec("access_event", "AE-AFTER", system_id="EHR", user_id="jdoe", patient_id="PT",
            at="2026-03-10T23:00:01+02:00"),
    ]
    used = by_id(run(h.termination_duties, TERM_TYPES, "2026-06-10T12:00:00Z", ended))["EP1:A1:used_after_end"]
    assert used.data["use_count"] == 1 and used.data["first_use_event_id"] == "AE-AFTER"
    assert used.data["first_use_at"].tzinfo == plus_two
