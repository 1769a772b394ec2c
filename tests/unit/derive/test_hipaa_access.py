"""Unit tests of the snooping alerts derivation (HIPAA-PRV-SNOOP-007)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.rules.derive import hipaa as h
from engine.rules.derive.hipaa import snooping
from tests.unit.derive.test_hipaa_helpers import by_id, rec, run

TYPES = ("access_event", "account", "person", "patient", "employment_episode", "care_link", "investigation")


def staff(pid: str, last: str, user: str, role: str = "medical_assistant", **person: Any) -> list:
    return [
        rec("person", pid, last_name=last, address=person.pop("address", f"{pid} Main St"), **person),
        rec(
            "employment_episode",
            f"EP-{pid}",
            person_id=pid,
            establishment_id="E1",
            role=role,
            start_at="2024-01-02T08:00:00-05:00",
            phi_access_required=True,
        ),
        rec(
            "account", f"A-{pid}", person_id=pid, system_id="EHR", user_id=user, enabled_at="2024-01-02T07:45:00-05:00"
        ),
    ]


def event(eid: str, user: str, patient: str, at: str, action: str = "view") -> Any:
    return rec("access_event", eid, system_id="EHR", user_id=user, patient_id=patient, at=at, action=action)


BASE = [
    rec("establishment", "E1", tz="America/New_York", state="NY", holiday_calendar="US-FEDERAL"),
    *staff("P1", "Okafor", "okafor", address="1 Elm St, Albany"),
    *staff("P2", "Smith", "psmith"),
    *staff("P4", "Quinn", "rquinn", patient_id="PT-SELF"),
    *staff("P5", "Ross", "mross"),
    *staff("P7", "Ito", "kito", role="him_specialist"),
    rec("patient", "PT-OKAFOR", last_name="OKAFOR", address="9 Far Rd"),
    rec("patient", "PT-ADDR", last_name="Kline", address="1 ELM ST.,  Albany"),
    rec("patient", "PT-SELF", last_name="Quinn", is_workforce_person_id="P4"),
    rec("patient", "PT-COWORK", last_name="Ross", is_workforce_person_id="P5"),
    rec("patient", "PT-SMITH", last_name="Smith"),
    rec("patient", "PT-VIP", last_name="Starr", record_restricted=True),
    rec("care_link", "CL1", patient_id="PT-ADDR", person_id="P1", kind="appointment", date="2026-11-16"),
    rec("care_link", "CL2", patient_id="PT-SMITH", person_id="P2", kind="task", date="2026-11-20"),
    rec("care_link", "CL3", patient_id="PT-VIP", person_id="P2", kind="task", date="2026-11-18"),
]


def test_patient_flags_and_levels() -> None:
    records = BASE + [
        event("AE-SURNAME", "okafor", "PT-OKAFOR", "2026-11-16T10:00:00-05:00"),
        event("AE-SURNAME-2", "okafor", "PT-OKAFOR", "2026-11-16T10:05:00-05:00"),
        event("AE-ADDR", "okafor", "PT-ADDR", "2026-11-16T11:00:00-05:00"),
        event("AE-SELF", "rquinn", "PT-SELF", "2026-11-16T12:00:00-05:00"),
        event("AE-COWORK", "psmith", "PT-COWORK", "2026-11-16T12:00:00-05:00"),
        event("AE-SMITH", "psmith", "PT-SMITH", "2026-11-20T10:00:00-05:00"),
        event("AE-VIP", "psmith", "PT-VIP", "2026-11-18T10:00:00-05:00"),
    ]
    facts = by_id(run(h.access_alerts, TYPES, "2026-11-21T12:00:00Z", records))
    assert set(facts) == {
        "AE-SURNAME:patient",
        "AE-ADDR:patient",
        "AE-SELF:patient",
        "AE-COWORK:patient",
        "AE-VIP:patient",
    }
    surname = facts["AE-SURNAME:patient"].data
    assert surname["flags"] == "SAME_SURNAME, NO_RELATIONSHIP" and surname["level"] == "high"
    assert surname["event_count"] == 2 and surname["event_id"] == "AE-SURNAME"
    assert facts["AE-ADDR:patient"].data["flags"] == "SAME_ADDRESS"  # normalised address, care link present
    assert facts["AE-ADDR:patient"].data["level"] == "medium"
    # every flag judged on its own, as the catalog counts them: the own chart shares the surname too
    assert facts["AE-SELF:patient"].data["flags"] == "SELF, SAME_SURNAME, NO_RELATIONSHIP"
    assert facts["AE-COWORK:patient"].data["flags"] == "COWORKER, NO_RELATIONSHIP"
    assert facts["AE-VIP:patient"].data["flags"] == "VIP"
    assert facts["AE-VIP:patient"].bundle_key == "access_event/AE-VIP"  # travels with its event
    assert ("access_event", "AE-SURNAME-2", 1) in facts["AE-SURNAME:patient"].sources
    assert facts["AE-SURNAME:patient"].data["establishment_id"] == "E1"


def test_relationship_window_boundaries() -> None:
    links = [
        rec("care_link", f"CL-{p}", patient_id=p, person_id="P2", kind="billing_item", date=d)
        for p, d in (("PT-30", "2026-10-24"), ("PT-31", "2026-10-23"), ("PT+7", "2026-11-30"), ("PT+8", "2026-12-01"))
    ]
    records = (
        BASE
        + links
        + [rec("patient", p, last_name="Moss") for p in ("PT-30", "PT-31", "PT+7", "PT+8")]
        + [
            event("AE-30", "psmith", "PT-30", "2026-11-23T10:00:00-05:00"),
            event("AE-7", "psmith", "PT+7", "2026-11-23T10:01:00-05:00"),
            event("AE-31", "psmith", "PT-31", "2026-11-23T10:02:00-05:00"),
            event("AE-8", "psmith", "PT+8", "2026-11-23T10:03:00-05:00"),
        ]
    )
    facts = by_id(run(h.access_alerts, TYPES, "2026-11-24T12:00:00Z", records))
    assert set(facts) == {"AE-31:activity"}
    alert = facts["AE-31:activity"].data
    assert alert["flags"] == "NO_RELATIONSHIP" and alert["event_count"] == 2 and alert["patient_count"] == 2
    wide = by_id(
        run(
            h.access_alerts,
            TYPES,
            "2026-11-24T12:00:00Z",
            records,
            relationship_window_days_before=31,
            relationship_window_days_after=8,
        )
    )
    assert wide == {}


def test_after_hours_print_and_holiday_export() -> None:
    records = BASE + [
        event("AE-1859", "psmith", "PT-SMITH", "2026-11-20T18:59:00-05:00", "print"),
        event("AE-1900", "psmith", "PT-SMITH", "2026-11-20T19:00:00-05:00", "print"),
        event("AE-0659", "psmith", "PT-SMITH", "2026-11-19T06:59:00-05:00", "view"),
        event("AE-HOLIDAY", "psmith", "PT-SMITH", "2026-11-26T11:00:00-05:00", "export"),
    ]
    facts = by_id(run(h.access_alerts, TYPES, "2026-11-30T12:00:00Z", records))
    assert set(facts) == {"AE-1900:activity", "AE-HOLIDAY:activity"}
    assert facts["AE-1900:activity"].data["flags"] == "AFTER_HOURS_EXPORT"
    assert facts["AE-HOLIDAY:activity"].data["level"] == "medium"
    exempt = run(
        h.access_alerts,
        TYPES,
        "2026-11-30T12:00:00Z",
        records,
        exempt_roles_by_flag=["medical_assistant:AFTER_HOURS_EXPORT"],
    )
    assert exempt == []


def test_the_level_counts_one_events_flags_not_the_days() -> None:
    """The catalog judges each access event: one chart opened with no care link and another's
    export at 19:30 (its care link on file) are two medium matters. Grouped into one alert of the
    user's day they had counted as two flags, high; an export of a chart with no care link is both
    flags in one event, high. The chart with no care link is named among the evidence."""
    records = BASE + [
        rec("patient", "PT-A", last_name="Abbot"),
        event("AE-A", "psmith", "PT-A", "2026-11-20T10:00:00-05:00"),
        event("AE-EXP", "psmith", "PT-SMITH", "2026-11-20T19:30:00-05:00", "export"),
    ]
    (alert,) = run(h.access_alerts, TYPES, "2026-11-22T12:00:00Z", records)
    assert alert.data["flags"] == "NO_RELATIONSHIP, AFTER_HOURS_EXPORT" and alert.data["event_count"] == 2
    assert alert.data["level"] == "medium"
    assert ("patient", "PT-A") in {(t, i) for t, i, _ in alert.sources}
    both = records + [event("AE-BOTH", "psmith", "PT-A", "2026-11-20T20:00:00-05:00", "export")]
    (alert,) = run(h.access_alerts, TYPES, "2026-11-22T12:00:00Z", both)
    assert alert.data["level"] == "high" and alert.data["event_count"] == 3


def test_bulk_is_more_than_n_distinct_patients_in_one_clock_hour() -> None:
    patients = [rec("patient", f"PT-B{i:02d}", last_name="Nash") for i in range(1, 27)]
    links = [
        rec("care_link", f"CL-B{i:02d}", patient_id=f"PT-B{i:02d}", person_id="P7", kind="task", date="2026-11-30")
        for i in range(1, 27)
    ]
    events = [
        event(f"AE-B{i:02d}", "kito", f"PT-B{i:02d}", f"2026-11-30T10:{(i - 1) * 2:02d}:00-05:00") for i in range(1, 27)
    ]
    records = BASE + patients + links + events
    facts = by_id(run(h.access_alerts, TYPES, "2026-12-01T12:00:00Z", records))
    assert set(facts) == {"AE-B01:activity"}
    assert facts["AE-B01:activity"].data["flags"] == "BULK" and facts["AE-B01:activity"].data["patient_count"] == 26
    assert run(h.access_alerts, TYPES, "2026-12-01T12:00:00Z", records, bulk_patients_per_hour=26) == []
    assert run(h.access_alerts, TYPES, "2026-12-01T12:00:00Z", records[:-1]) == []  # 25 patients


def test_triage_by_an_investigation_open_at_or_after_the_alert() -> None:
    records = BASE + [
        event("AE-SURNAME", "okafor", "PT-OKAFOR", "2026-11-16T10:00:00-05:00"),
        rec(
            "investigation",
            "INV-OLD",
            subject_person_id="P1",
            opened_at="2026-10-01T09:00:00-04:00",
            closed_at="2026-10-20T09:00:00-04:00",
        ),
        rec("investigation", "INV-NEW", subject_person_id="P1", opened_at="2026-11-18T09:00:00-05:00"),
    ]
    early = by_id(run(h.access_alerts, TYPES, "2026-11-17T12:00:00Z", records))
    assert "triaged_at" not in early["AE-SURNAME:patient"].data
    later = by_id(run(h.access_alerts, TYPES, "2026-11-19T12:00:00Z", records))
    assert later["AE-SURNAME:patient"].data["triaged_at"] == dt.datetime(2026, 11, 18, 14, tzinfo=dt.UTC)


def test_events_of_unnamed_accounts_and_future_events_are_left_out() -> None:
    records = BASE + [
        rec(
            "account",
            "A-GEN",
            system_id="EHR",
            user_id="frontdesk",
            generic=True,
            enabled_at="2024-01-02T07:45:00-05:00",
        ),
        event("AE-GEN", "frontdesk", "PT-OKAFOR", "2026-11-16T10:00:00-05:00"),
        event("AE-LATER", "okafor", "PT-OKAFOR", "2026-11-25T10:00:00-05:00"),
    ]
    assert run(h.access_alerts, TYPES, "2026-11-20T12:00:00Z", records) == []


def test_a_full_flag_memo_is_emptied_without_changing_any_alert(monkeypatch: Any) -> None:
    records = BASE + [
        event(f"AE-{i:03d}", user, patient, f"2026-11-{16 + i % 4}T{9 + i % 8:02d}:{i % 60:02d}:00-05:00",
              "export" if i % 9 == 0 else "view")
        for i, (user, patient) in enumerate(
            [(u, p) for u in ("okafor", "psmith", "rquinn", "mross") for p in ("PT-OKAFOR", "PT-SMITH", "PT-VIP",
                                                                            "PT-SELF", "PT-COWORK")] * 4)
    ]

    def alerts() -> list[tuple[str, dict[str, Any], list[Any]]]:
        return [(f.id, f.data, f.sources) for f in run(h.access_alerts, TYPES, "2026-11-21T12:00:00Z", records)]

    kept = alerts()
    monkeypatch.setattr(snooping, "STATIC_FLAGS_KEPT", 1)  # emptied before nearly every new entry
    assert alerts() == kept and len(kept) > 5


def test_bulk_finds_each_patients_first_access_whatever_order_the_log_is_read_in() -> None:
    """The log is read by event id, which need not be time order: a user's hour is judged on all of
    its accesses, and each patient's first access is the earliest (then the smallest id)."""
    accesses = snooping._UserAccesses()
    hour = 1_796_036_400  # 2026-11-30 11:00 UTC, a whole hour
    for i in reversed(range(26)):  # read latest first
        accesses.add(hour + 60 * i + 30, f"PT-{i:02d}", f"AE-{i:02d}-late", 1)
    accesses.add(hour + 60 * 5, "PT-05", "AE-05-early", 2)  # PT-05 again, earlier
    accesses.add(hour + 60 * 5, "PT-05", "AE-05-a", 1)  # at the same second: the smaller id is first
    accesses.add(hour + 3600, "PT-99", "AE-next-hour", 1)
    assert list(accesses.crowded_hours(26)) == []  # 26 distinct patients are not more than 26
    ((found, firsts),) = list(accesses.crowded_hours(25))
    assert found == hour // 3600 and len(firsts) == 26
    assert firsts["PT-05"] == (hour + 300, "AE-05-a", 1)
    assert firsts["PT-00"] == (hour + 30, "AE-00-late", 1)
    assert list(firsts)[:2] == ["PT-25", "PT-24"]  # in the order first seen
