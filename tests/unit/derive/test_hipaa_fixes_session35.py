"""Unit tests of the hipaa derivation fixes of a black-box pass against the catalog: an unsupported
not_breach keeps the notice clocks running, a law-enforcement delay tolls only after discovery, the
HHS route reads the larger of the two affected counts, onboarding training done before the start
counts, and the texts of SAN-003 and UID-005 say what is on file."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.rules import calendar as cal
from engine.rules.derive import RecordView
from engine.rules.derive import hipaa as h
from tests.unit.derive.test_hipaa_helpers import by_id, rec, run

D = dt.date
LA = "America/Los_Angeles"
EST = rec("establishment", "E1", tz=LA, state="CA")
INC = ("incident",)
TRN = ("employment_episode", "training_record", "account", "access_event")
SAN = ("investigation", "sanction_record", "employment_episode")
UID = ("account", "system", "access_event")


def _incident(iid: str, **data: object) -> RecordView:
    base: dict[str, object] = dict(
        establishment_id="E1", discovered_at="2026-01-10T10:00:00-08:00", discovered_by="covered_entity",
        phi_involved=True, unsecured=True, determination="breach", determination_at="2026-01-20T10:00:00-08:00",
        four_factor_documented=True, affected_total=10, affected_by_state={"CA": 10},
    )
    base.update(data)
    return rec("incident", iid, **base)


# ---- (1) an unsupported not_breach is still a presumed breach (164.402) ------------------------


def test_unsupported_not_breach_keeps_every_notice_clock_running() -> None:
    weak = dict(determination="not_breach", four_factor_documented=False, affected_total=1200,
                affected_by_state={"CA": 1200})
    records = [EST, _incident("I-WEAK", **weak),
               _incident("I-4F", **dict(weak, four_factor_documented=True)),
               _incident("I-EXC", **dict(weak, exception_code="UNINTENTIONAL_WORKFORCE_ACCESS")),
               _incident("I-SEC", **dict(weak, unsecured=False))]
    facts = by_id(run(h.breach_duties, INC, "2026-04-12T19:00:00Z", records))
    for key in ("individual_notice", "hhs", "media:CA"):
        rule = {"individual_notice": "IND-011", "hhs": "HHS-012", "media:CA": "MEDIA-013"}[key]
        duty = facts[f"I-WEAK:HIPAA-BRN-{rule}:{key}"]
        assert duty.data["due_at"] == D(2026, 3, 11)
        assert "presumed a breach, the not_breach determination being unsupported (164.402)" in duty.data["basis"]
    assert facts["I-WEAK:HIPAA-BRN-DET-010:unsupported_not_breach"].data["due_at"] == D(2026, 1, 20)
    # a backed not_breach (four factors, an exception, secured PHI) ends them
    assert not any(k.startswith(("I-4F", "I-EXC", "I-SEC")) for k in facts)


# ---- (2) a law-enforcement delay holds the clock only after discovery --------------------------


@pytest.mark.parametrize(
    ("kind", "start", "until", "delay", "due", "note"),
    [
        # wholly before discovery (10 Jan): nothing added
        ("written", "2025-11-01T10:00:00-07:00", "2025-12-01T10:00:00-08:00", 0, D(2026, 3, 11),
         "written law-enforcement delay 2025-11-01 to 2025-12-01, over by discovery on 2026-01-10: no delay counted"),
        # ending on the discovery day: nothing either
        ("written", "2025-12-01T10:00:00-08:00", "2026-01-10T09:00:00-08:00", 0, D(2026, 3, 11),
         "over by discovery on 2026-01-10"),
        # 1 Dec to 15 Jan: the 5 days after discovery
        ("written", "2025-12-01T10:00:00-08:00", "2026-01-15T10:00:00-08:00", 5, D(2026, 3, 16),
         "written law-enforcement delay 2025-12-01 to 2026-01-15: 5 days after discovery on 2026-01-10"),
        # oral, 20 Dec with no end: at most 30 days (to 19 Jan), 9 of them after discovery
        ("oral", "2025-12-20T10:00:00-08:00", None, 9, D(2026, 3, 20),
         "oral law-enforcement delay 2025-12-20 to 2026-01-19: 9 days after discovery on 2026-01-10"),
        # stated on the discovery day or after: all its days, as before
        ("written", "2026-01-10T12:00:00-08:00", "2026-02-09T12:00:00-08:00", 30, D(2026, 4, 10),
         "written law-enforcement delay 2026-01-10 to 2026-02-09: 30 days"),
    ],
)
def test_law_enforcement_delay_counts_only_its_days_after_discovery(
    kind: str, start: str, until: str | None, delay: int, due: dt.date, note: str
) -> None:
    incident = {"discovered_at": "2026-01-10T10:00:00-08:00", "le_delay_kind": kind, "le_delay_start": start,
                "le_delay_until": until}
    clock = h.breach_clock(incident, LA, as_of=dt.datetime(2026, 4, 10, tzinfo=dt.UTC))
    assert clock is not None
    assert (clock.delay_days, clock.notice_due) == (delay, due)
    assert note in clock.delay_note


def test_delay_before_discovery_leaves_the_notice_overdue() -> None:
    records = [EST, _incident("I-LE", le_delay_kind="written", le_delay_start="2025-11-01T10:00:00-07:00",
                              le_delay_until="2025-12-01T10:00:00-08:00")]
    facts = by_id(run(h.breach_duties, INC, "2026-04-10T19:00:00Z", records))
    duty = facts["I-LE:HIPAA-BRN-IND-011:individual_notice"]
    assert duty.data["due_at"] == D(2026, 3, 11) and duty.data["delay_days"] == 0
    assert "no delay counted" in duty.data["basis"]


# ---- (3) the HHS route reads the larger of affected_total and the States' counts ----------------


def test_hhs_route_uses_the_larger_count_so_it_agrees_with_the_media_duty() -> None:
    records = [
        EST,
        _incident("I-CONFLICT", affected_total=400, affected_by_state={"CA": 501}),
        _incident("I-SPLIT", affected_total=400, affected_by_state={"CA": 100, "NV": 200}),
        _incident("I-UNKNOWN", affected_total=None, affected_by_state={"CA": 12}),
    ]
    facts = by_id(run(h.breach_duties, INC, "2026-04-10T19:00:00Z", records))
    hhs = facts["I-CONFLICT:HIPAA-BRN-HHS-012:hhs"]
    assert (hhs.data["kind"], hhs.data["count"], hhs.data["due_at"]) == ("hhs_immediate", 501, D(2026, 3, 11))
    assert hhs.data["basis"].startswith(
        "501 affected (500 or more; the sum of affected_by_state, larger than affected_total 400)")
    assert facts["I-CONFLICT:HIPAA-BRN-MEDIA-013:media:CA"].data["due_at"] == D(2026, 3, 11)
    split = facts["I-SPLIT:HIPAA-BRN-HHS-012:hhs"]
    assert (split.data["kind"], split.data["count"], split.data["due_at"]) == ("hhs_annual", 400, D(2027, 3, 1))
    assert split.data["basis"].startswith("400 affected (fewer than 500): annual log report")
    # no total on record: the count is unknown, so the 500+ route (as before)
    assert facts["I-UNKNOWN:HIPAA-BRN-HHS-012:hhs"].data["kind"] == "hhs_immediate"


# ---- (4) onboarding training done before the start counts -------------------------------------


def _episode(eid: str, start: str, end: str | None = None) -> RecordView:
    return rec("employment_episode", eid, person_id="P2", establishment_id="E1", role="nurse", start_at=start,
               end_at=end, phi_access_required=True)


def _trained(at: str, n: str = "") -> list[RecordView]:
    return [rec("training_record", f"TP{n}", person_id="P2", course="HIPAA_PRIVACY", completed_at=at),
            rec("training_record", f"TS{n}", person_id="P2", course="HIPAA_SECURITY", completed_at=at)]


@pytest.mark.parametrize(
    ("trained", "owed"),
    [
        ("2026-01-05T07:30:00-08:00", False),  # the same morning, before the 08:00 start
        ("2025-12-06T10:00:00-08:00", False),  # 30 days before the start day: part of hiring
        ("2025-12-05T10:00:00-08:00", True),  # 31 days before: not this engagement's onboarding
    ],
)
def test_training_before_the_start_counts_as_onboarding(trained: str, owed: bool) -> None:
    records = [EST, _episode("EP2", "2026-01-05T08:00:00-08:00"), *_trained(trained)]
    facts = by_id(run(h.training_duties, TRN, "2026-02-10T20:00:00Z", records))
    assert ("EP2:new_hire" in facts) is owed
    if not owed:  # the refresher cycle runs from that completion
        refresher = facts["EP2:refresher:HIPAA_PRIVACY:TP"]
        assert refresher.data["due_at"] == cal.add_months(dt.date.fromisoformat(trained[:10]), 12)


def test_rehire_counts_training_after_the_earlier_engagement_ended_not_during_it() -> None:
    earlier = _episode("EP1", "2025-06-02T08:00:00-07:00", "2025-12-20T17:00:00-08:00")
    rehire = _episode("EP2", "2026-01-05T08:00:00-08:00")
    during = _trained("2025-12-19T10:00:00-08:00", "A")  # while EP1 ran: EP1's training
    gap = _trained("2025-12-28T10:00:00-08:00", "B")  # between the two: onboarding for EP2
    facts = by_id(run(h.training_duties, TRN, "2026-02-10T20:00:00Z", [EST, earlier, rehire, *during]))
    assert facts["EP2:new_hire"].data["due_at"] == D(2026, 2, 4)
    facts = by_id(run(h.training_duties, TRN, "2026-02-10T20:00:00Z", [EST, earlier, rehire, *during, *gap]))
    assert "EP2:new_hire" not in facts
    assert "EP2:refresher:HIPAA_PRIVACY:TPB" in facts and "EP2:refresher:HIPAA_PRIVACY:TPA" not in facts


# ---- (8) what the messages' derived texts say ---------------------------------------------------


def test_sanction_record_without_a_level_is_named_in_the_basis() -> None:
    records = [
        EST,
        rec("employment_episode", "EP3", person_id="P3", establishment_id="E1", start_at="2025-01-05T08:00:00-08:00"),
        rec("investigation", "INV1", subject_person_id="P3", closed_at="2026-02-01T09:00:00-08:00",
            outcome="VIOLATION_CONFIRMED"),
        rec("sanction_record", "SR1", investigation_id="INV1", person_id="P3", decided_at="2026-02-05T10:00:00-08:00"),
        rec("investigation", "INV2", subject_person_id="P3", closed_at="2026-02-01T09:00:00-08:00",
            outcome="VIOLATION_CONFIRMED"),
        rec("sanction_record", "SR2", investigation_id="INV2", person_id="P3", level="retraining"),
    ]
    facts = by_id(run(h.sanction_duties, SAN, "2026-04-01T19:00:00Z", records))
    one, two = facts["INV1:decision"], facts["INV2:decision"]
    assert one.data.get("met_at") is None and one.data["basis"] == (
        "investigation closed 2026-02-01 + 30 days (sanction_decision_days); sanction record SR1 is on file "
        "without a level, so it is no sanction yet")
    assert ("sanction_record", "SR1", 1) in one.sources
    assert two.data["basis"].endswith("sanction record SR2 is on file without a decision date (decided_at), so it "
                                      "is no sanction yet")
    # once a sanction with a level is decided, the basis is the plain one
    decided = rec("sanction_record", "SR3", investigation_id="INV1", person_id="P3", level="retraining",
                  decided_at="2026-02-06T10:00:00-08:00")
    facts = by_id(run(h.sanction_duties, SAN, "2026-04-01T19:00:00Z", [*records, decided]))
    assert facts["INV1:decision"].data["basis"] == "investigation closed 2026-02-01 + 30 days (sanction_decision_days)"


def test_account_with_no_person_says_why_it_counts_as_shared() -> None:
    records = [
        rec("system", "EHR", stores_ephi=True),
        rec("account", "NOBODY", system_id="EHR", user_id="fd1", interactive=True, generic=False,
            enabled_at="2025-01-01T08:00:00-08:00"),
        rec("account", "GEN", system_id="EHR", user_id="frontdesk", person_id="P1", interactive=True, generic=True,
            enabled_at="2025-01-01T08:00:00-08:00"),
    ]
    facts = by_id(run(h.account_issues, UID, "2026-02-11T12:00:00Z", records))
    assert facts["NOBODY:shared"].data["detail"] == "no person assigned, so nothing ties it to one user"
    assert facts["GEN:shared"].data["detail"] == "flagged generic"
