"""Establishment and person OSHA derivations: 300A duties, ECP duties, hepatitis B offers, BBP and
HazCom training duties."""

from __future__ import annotations

import datetime as dt

from engine.rules.derive.osha import (
    osha_300a_duty,
    osha_bbp_training_duty,
    osha_ecp_duty,
    osha_hazcom_duty,
    osha_hepb_offer,
)
from engine.rules.param_history import ParamHistory

from .osha_support import by_id, context, est, rec

E1 = est("E-1", peak={"2021": 30, "2022": 30, "2023": 30, "2024": 30, "2025": 30})
MD = est("E-MD", naics="621111", tz="America/New_York")
ESTS = [E1, MD]


def summary(record_id: str, year: int, **data: object) -> object:
    return rec("osha_summary", record_id, establishment_id=data.pop("establishment_id", "E-1"), year=year, **data)


def test_300a_duties_per_summary() -> None:
    s = [
        summary("S-2025", 2025, certified_at="2026-01-30T10:00:00-07:00", certifier_title="Safety Coordinator",
                posted_from="2026-02-03", posted_until="2026-04-15"),
        summary("S-2020", 2020, certified_at="2021-03-01T10:00:00-07:00"),  # past retention
        summary("S-MD", 2025, establishment_id="E-MD"),  # exempt industry
    ]
    facts = by_id(osha_300a_duty(context("2026-05-01T12:00:00Z", ESTS), {"osha_summary": s, "establishment": ESTS}))
    # E-1 needed records 2022-2025 (2021 depends on an unknown 2020 headcount) and has no 2022-2024 summary
    assert set(facts) == {"S-2025:certify", "S-2025:post", "S-2025:post_through", "S-2025:certifier",
                          "E-1:2022:missing", "E-1:2023:missing", "E-1:2024:missing"}
    assert [facts[f"S-2025:{i}"].data["key"] for i in ("certify", "post", "post_through", "certifier")] == [
        "2025:certify", "2025:post", "2025:post_through", "2025:certifier"]
    assert facts["S-2025:certify"].data["done_at"] == "2026-01-30T17:00:00Z"
    assert facts["S-2025:post"].data["done_at"] == "2026-02-03T07:00:00Z"  # start of the local day
    assert facts["S-2025:post_through"].data["due_at"] == "2026-04-16"
    assert facts["S-2025:certifier"].data["detail"] == "Safety Coordinator"
    assert facts["S-2025:certify"].bundle_key == "establishment:E-1"
    assert ("osha_summary", "S-2025", 1) in facts["S-2025:certify"].sources


def test_300a_missing_summary_is_a_certify_duty_with_the_key_a_filed_summary_takes() -> None:
    ests = [est("E-1", peak={"2024": 30, "2025": 30}), est("E-2", naics="622110"), MD]
    missing = by_id(osha_300a_duty(context("2026-01-15T07:00:00Z", ests), {"osha_summary": [], "establishment": ests}))
    # 2024 depends on the unknown 2023 headcount; E-2 has none of its own but shares the company's peak;
    # E-MD is in a partially exempt industry
    assert set(missing) == {"E-1:2025:missing", "E-2:2025:missing"}
    fact = missing["E-1:2025:missing"]
    assert fact.data == {
        "establishment_id": "E-1", "summary_id": None, "year": 2025, "issue": "certify", "key": "2025:certify",
        "due_at": "2026-02-01", "done_at": None, "posted_from": None, "detail": "no Form 300A on file",
        "ita_required": True,  # NAICS 6219 (Appendix A) with 30 employees in 2025
    }
    assert fact.bundle_key == "establishment:E-1" and fact.sources == [("establishment", "E-1", 1)]
    assert missing["E-2:2025:missing"].data["ita_required"] is None  # no 2025 headcount of its own
    late = [summary("S-2025", 2025, certified_at="2026-02-10T10:00:00-07:00")]
    filed = by_id(osha_300a_duty(context("2026-02-15T07:00:00Z", ests), {"osha_summary": late, "establishment": ests}))
    assert "E-1:2025:missing" not in filed and filed["S-2025:certify"].data["key"] == "2025:certify"
    assert filed["S-2025:certify"].data["done_at"] == "2026-02-10T17:00:00Z"
    # a summary on file outside the judged years, or of another establishment, does not count
    other = [summary("S-E2", 2025, establishment_id="E-2"), summary("S-2019", 2019)]
    still = by_id(osha_300a_duty(context("2026-02-15T07:00:00Z", ests), {"osha_summary": other, "establishment": ests}))
    assert "E-1:2025:missing" in still and "E-2:2025:missing" not in still
    # the current year is never judged; 2025 ages out of retention on 1 Jan 2031 (local)
    assert "E-1:2025:missing" in by_id(osha_300a_duty(context("2031-01-01T06:59:00Z", ests),
                                                      {"osha_summary": [], "establishment": ests}))
    assert "E-1:2025:missing" not in by_id(osha_300a_duty(context("2031-01-01T07:00:00Z", ests),
                                                          {"osha_summary": [], "establishment": ests}))


def test_300a_future_posting_and_certification_have_not_happened() -> None:
    s = [summary("S-2025", 2025, certified_at="2026-01-30T10:00:00-07:00", certifier_title="Clerk",
                 posted_from="2026-02-01", posted_until="2026-03-01")]
    facts = by_id(osha_300a_duty(context("2026-01-20T12:00:00Z", ESTS), {"osha_summary": s, "establishment": ESTS}))
    assert {k for k in facts if k.startswith("S-")} == {"S-2025:certify", "S-2025:post"}
    assert facts["S-2025:certify"].data["done_at"] is None and facts["S-2025:post"].data["done_at"] is None


def test_ecp_duties() -> None:
    eps = [
        rec("employment_episode", "EP-1", person_id="P-1", establishment_id="E-1", role="registered_nurse",
            start_at="2027-01-04T08:00:00-07:00", occupational_exposure=True),
        rec("employment_episode", "EP-2", person_id="P-2", establishment_id="E-1", role="phlebotomist",
            start_at="2028-09-01T08:00:00-06:00", occupational_exposure=True),
        rec("employment_episode", "EP-3", person_id="P-3", establishment_id="E-MD", role="medical_assistant",
            start_at="2028-01-03T08:00:00-05:00", exposure_assignment_at="2028-01-04T08:30:00-05:00",
            occupational_exposure=True),
        rec("employment_episode", "EP-4", person_id="P-4", establishment_id="E-MD", role="medical_assistant",
            start_at="2027-01-03T08:00:00-05:00", end_at="2027-06-01T17:00:00-04:00", occupational_exposure=True),
    ]
    plans = [rec("exposure_control_plan", "ECP-1", establishment_id="E-1", reviewed_at="2028-02-29T10:00:00-07:00",
                 safer_devices_reviewed=True, frontline_input_documented=False)]
    facts = by_id(osha_ecp_duty(context("2028-10-01T12:00:00Z", ESTS),
                                {"exposure_control_plan": plans, "employment_episode": eps, "establishment": ESTS}))
    assert set(facts) == {"E-1:review", "E-1:content", "E-1:new_position:phlebotomist", "E-MD:no_plan"}
    assert facts["E-1:review"].data["due_at"] == "2029-02-28"  # C5: 29 Feb + 12 months
    assert facts["E-1:content"].data["detail"] == "front-line employee input"
    assert facts["E-1:new_position:phlebotomist"].data["due_at"] == "2028-10-01"
    assert facts["E-MD:no_plan"].data["due_at"] == "2028-01-04"  # the active employee's assignment
    assert ("employment_episode", "EP-3", 1) in facts["E-MD:no_plan"].sources
    six = by_id(osha_ecp_duty(context("2028-10-01T12:00:00Z", ESTS, {"ecp_review_interval": 6}),
                              {"exposure_control_plan": plans, "employment_episode": eps, "establishment": ESTS}))
    assert six["E-1:review"].data["due_at"] == "2028-08-29"


def test_ecp_windows_are_the_ones_in_force_on_the_day_they_run_from() -> None:
    # from 1 June 2028 the practice reviews every 6 months (was 12) and covers a new position in 14
    # days (was 30): a review or a position before that day keeps the old window
    change = dt.date(2028, 6, 1)
    history = ParamHistory({"ecp_review_interval": ((dt.date.min, 12), (change, 6)),
                            "ecp_change_days": ((dt.date.min, 30), (change, 14))})
    eps = [
        rec("employment_episode", "EP-1", person_id="P-1", establishment_id="E-1", role="registered_nurse",
            start_at="2027-01-04T08:00:00-07:00", occupational_exposure=True),
        rec("employment_episode", "EP-2", person_id="P-2", establishment_id="E-1", role="medical_assistant",
            start_at="2028-04-03T08:00:00-06:00", occupational_exposure=True),
        rec("employment_episode", "EP-3", person_id="P-3", establishment_id="E-1", role="phlebotomist",
            start_at="2028-09-01T08:00:00-06:00", occupational_exposure=True),
        rec("employment_episode", "EP-4", person_id="P-4", establishment_id="E-MD", role="medical_assistant",
            start_at="2028-01-03T08:00:00-05:00", occupational_exposure=True),
    ]
    plans = [rec("exposure_control_plan", "ECP-1", establishment_id="E-1", reviewed_at="2028-02-29T10:00:00-07:00"),
             rec("exposure_control_plan", "ECP-2", establishment_id="E-MD", reviewed_at="2028-06-01T09:00:00-04:00")]
    facts = by_id(osha_ecp_duty(context("2028-10-01T12:00:00Z", ESTS, {"ecp_review_interval": 6,
                                                                      "ecp_change_days": 14}, history),
                                {"exposure_control_plan": plans, "employment_episode": eps, "establishment": ESTS}))
    assert facts["E-1:review"].data["due_at"] == "2029-02-28"  # 12 months, in force on 29 Feb 2028
    assert facts["E-MD:review"].data["due_at"] == "2028-12-01"  # 6 months, in force from 1 June
    assert facts["E-1:new_position:medical_assistant"].data["due_at"] == "2028-05-03"  # 30 days
    assert facts["E-1:new_position:phlebotomist"].data["due_at"] == "2028-09-15"  # 14 days


def _exposed(ep_id: str, person: str, start: str = "2026-11-20T08:00:00-07:00", **data: object) -> object:
    return rec("employment_episode", ep_id, person_id=person, establishment_id="E-1", role="medical_assistant",
               start_at=start, occupational_exposure=True, **data)


def _training(tr_id: str, person: str, course: str, at: str, **data: object) -> object:
    return rec("training_record", tr_id, person_id=person, course=course, completed_at=at, **data)


def test_hepb_offer_must_follow_the_training() -> None:
    eps = [_exposed("EP-1", "P-1", exposure_assignment_at="2026-11-20T08:30:00-07:00"),
           _exposed("EP-2", "P-2"), _exposed("EP-3", "P-3"), _exposed("EP-4", "P-4")]
    trainings = [_training("TR-1", "P-1", "BBP", "2026-11-20T10:00:00-07:00"),
                 _training("TR-2", "P-2", "BBP", "2026-11-23T10:00:00-07:00")]
    hepb = [rec("hepb_vaccination", "HB-1", person_id="P-1", offered_at="2026-11-21T10:00:00-07:00"),
            rec("hepb_vaccination", "HB-2", person_id="P-2", offered_at="2026-11-20T12:00:00-07:00"),
            rec("hepb_vaccination", "HB-3", person_id="P-3", contraindicated=True),
            rec("hepb_vaccination", "HB-4", person_id="P-4", offered_at="2026-12-20T10:00:00-07:00")]
    facts = by_id(osha_hepb_offer(context("2026-12-10T12:00:00Z", ESTS),
                                  {"employment_episode": eps, "training_record": trainings, "hepb_vaccination": hepb}))
    assert set(facts) == {"EP-1:hepb", "EP-2:hepb", "EP-4:hepb"}
    assert facts["EP-1:hepb"].data["done_at"] == "2026-11-21T17:00:00Z"
    assert facts["EP-1:hepb"].data["assigned_at"] == "2026-11-20T15:30:00Z"
    assert facts["EP-2:hepb"].data["done_at"] is None and facts["EP-2:hepb"].data["offered_before_training"] is True
    assert facts["EP-4:hepb"].data["first_offer_at"] is None  # the offer lies after as_of
    assert facts["EP-2:hepb"].bundle_key == "person:P-2"


def test_bbp_training_duties() -> None:
    eps = [_exposed("EP-A", "P-A", start="2027-01-04T08:00:00-07:00"),
           _exposed("EP-B", "P-B", start="2028-11-01T08:00:00-06:00"),
           _exposed("EP-C", "P-C", start="2029-02-27T08:00:00-07:00")]
    trainings = [
        _training("TR-A1", "P-A", "BBP", "2027-01-04T10:00:00-07:00", trainer="K", content_version="v1"),
        _training("TR-A2", "P-A", "BBP", "2028-02-29T10:00:00-07:00", content_version="v2"),  # no trainer
        # more than 12 months before EP-B's assignment: does not count for it
        _training("TR-B1", "P-B", "BBP", "2027-10-15T10:00:00-06:00", trainer="K", content_version="v1"),
        _training("TR-B2", "P-B", "BBP", "2028-11-03T10:00:00-06:00", trainer="K", content_version="v2"),
        _training("TR-C1", "P-C", "HAZCOM", "2029-02-27T10:00:00-07:00"),
    ]
    facts = by_id(osha_bbp_training_duty(context("2029-03-01T12:00:00Z", ESTS),
                                         {"employment_episode": eps, "training_record": trainings}))
    assert set(facts) == {"EP-A:initial", "EP-A:annual:TR-A1", "EP-A:annual:TR-A2", "EP-A:record:TR-A2",
                          "EP-B:initial", "EP-B:annual:TR-B2", "EP-C:initial"}
    assert facts["EP-A:initial"].data["training_id"] == "TR-A1"
    # TR-A1's cycle was due 4 Jan 2028 and closed late by TR-A2; TR-A2's is open, due 28 Feb 2029 (C5)
    late = facts["EP-A:annual:TR-A1"].data
    assert (late["key"], late["due_at"], late["done_at"], late["training_id"]) == (
        "annual:TR-A1", "2028-01-04", "2028-02-29T17:00:00Z", "TR-A2")
    assert {s[1] for s in facts["EP-A:annual:TR-A1"].sources} == {"EP-A", "TR-A1", "TR-A2"}
    current = facts["EP-A:annual:TR-A2"].data
    assert (current["key"], current["due_at"], current["done_at"]) == ("annual:TR-A2", "2029-02-28", None)
    assert facts["EP-B:initial"].data["training_id"] == "TR-B2"  # the 2027 one is too old to count
    assert facts["EP-B:initial"].data["done_at"] == "2028-11-03T16:00:00Z"
    assert facts["EP-C:initial"].data["done_at"] is None and facts["EP-C:initial"].data["due_at"] == "2029-02-27"
    # three years after the record, it no longer has to be kept
    later = by_id(osha_bbp_training_duty(context("2031-03-01T12:00:00Z", ESTS),
                                         {"employment_episode": eps, "training_record": trainings}))
    assert "EP-A:record:TR-A2" not in later
    # nor is the late cycle reported once its late training is more than three years old
    assert "EP-A:annual:TR-A1" not in later and "EP-A:annual:TR-A2" in later
    kept = by_id(osha_bbp_training_duty(context("2031-02-28T12:00:00Z", ESTS),
                                        {"employment_episode": eps, "training_record": trainings}))
    assert "EP-A:annual:TR-A1" in kept


def test_bbp_annual_cycles_repeated_on_time_are_not_reported() -> None:
    eps = [_exposed("EP-A", "P-A", start="2026-01-05T08:00:00-07:00")]
    trainings = [_training("TR-1", "P-A", "BBP", "2026-01-05T07:00:00-07:00", trainer="K", content_version="v1"),
                 # the due day itself, late in the local evening (already the next day in UTC): on time
                 _training("TR-2", "P-A", "BBP", "2027-01-05T22:00:00-07:00", trainer="K", content_version="v2"),
                 _training("TR-3", "P-A", "BBP", "2028-01-06T09:00:00-07:00", trainer="K", content_version="v3")]
    facts = by_id(osha_bbp_training_duty(context("2028-02-01T12:00:00Z", ESTS),
                                         {"employment_episode": eps, "training_record": trainings}))
    assert set(facts) == {"EP-A:initial", "EP-A:annual:TR-2", "EP-A:annual:TR-3"}
    assert facts["EP-A:annual:TR-2"].data["done_at"] == "2028-01-06T16:00:00Z"  # one day late
    assert facts["EP-A:annual:TR-3"].data["due_at"] == "2029-01-06"


def test_hazcom_duties() -> None:
    eps = [_exposed("EP-1", "P-1", start="2023-01-09T08:00:00-07:00"),
           rec("employment_episode", "EP-2", person_id="P-2", establishment_id="E-1", role="facilities",
               start_at="2026-03-02T08:00:00-07:00", occupational_exposure=False),
           _exposed("EP-3", "P-3", start="2026-03-02T08:00:00-07:00")]
    trainings = [_training("TR-1", "P-1", "HAZCOM", "2023-01-09T11:00:00-07:00")]
    plain = by_id(osha_hazcom_duty(context("2026-11-01T12:00:00Z", ESTS),
                                   {"employment_episode": eps, "training_record": trainings}))
    assert set(plain) == {"EP-1:initial", "EP-3:initial"}
    assert plain["EP-1:initial"].data["done_at"] == "2023-01-09T18:00:00Z"
    full = by_id(osha_hazcom_duty(context("2026-11-01T12:00:00Z", ESTS,
                                          {"hazcom_roles": ["facilities"], "hazcom_rev2024_retrain": True}),
                                  {"employment_episode": eps, "training_record": trainings}))
    assert set(full) == {"EP-1:initial", "EP-1:revision_2024", "EP-2:initial", "EP-3:initial"}
    assert full["EP-1:revision_2024"].data["due_at"] == "2026-11-20"
    assert full["EP-1:revision_2024"].data["done_at"] is None
