"""Per-case OSHA derivations: 300 log duties, severe-injury clocks (C3), sharps log, HBV follow-up,
adverse actions after a report."""

from __future__ import annotations

import datetime as dt

from engine.rules.derive.osha import (
    osha_exposure_followup,
    osha_log_duty,
    osha_post_report_action,
    osha_severe_report,
    osha_sharps_duty,
)
from engine.rules.param_history import ParamHistory

from .osha_support import by_id, context, est, rec

DEN = est("E-1", peak={"2024": 11, "2025": 10})
EXEMPT = est("E-MD", naics="621111", peak={"2024": 0, "2025": 0})  # company peak = the Denver site's


def case(record_id: str, **data: object) -> object:
    fields = {"establishment_id": "E-1", "person_id": "P-1", "incident_at": "2025-12-01T10:00:00-07:00",
              "learned_at": "2025-12-01T11:00:00-07:00"}
    fields.update(data)
    return rec("osha_case", record_id, **fields)


def run(fn, as_of: str, records: dict[str, list]) -> dict:  # type: ignore[no-untyped-def]
    return by_id(fn(context(as_of, [DEN, EXEMPT]), {"establishment": [DEN, EXEMPT], **records}))


def test_log_duty_entry_needs_both_forms_and_ignores_later_ones() -> None:
    c = case("OC-1", recordable=True, logged_at="2025-12-03T09:00:00-07:00", f301_at="2025-12-05T09:00:00-07:00")
    facts = run(osha_log_duty, "2025-12-10T00:00:00Z", {"osha_case": [c]})
    assert facts["OC-1:entry"].data["done_at"] == "2025-12-05T16:00:00Z"
    assert facts["OC-1:entry"].bundle_key == "osha_case:OC-1"
    assert {s[0] for s in facts["OC-1:entry"].sources} == {"osha_case", "establishment"}
    early = run(osha_log_duty, "2025-12-04T00:00:00Z", {"osha_case": [c]})  # the 301 is not done yet
    assert early["OC-1:entry"].data["done_at"] is None
    assert early["OC-1:entry"].data["missing"] == "OSHA 301 incident report"


def test_log_duty_year_and_gating() -> None:
    # 23:30 on 31 Dec 2025 in Denver is 2026 in UTC: the case belongs on the 2025 log (peak 11 in 2024)
    late_evening = case("OC-2", recordable=True, incident_at="2025-12-31T23:30:00-07:00",
                        learned_at="2025-12-31T23:45:00-07:00")
    new_year = case("OC-3", recordable=True, incident_at="2026-01-02T10:00:00-07:00",
                    learned_at="2026-01-02T11:00:00-07:00")  # 2026: peak 10 in 2025, exempt
    exempt = case("OC-4", recordable=True, establishment_id="E-MD")
    not_recordable = case("OC-5", recordable=False)
    facts = run(osha_log_duty, "2026-01-20T00:00:00Z", {"osha_case": [late_evening, new_year, exempt, not_recordable]})
    assert list(facts) == ["OC-2:entry"]
    assert facts["OC-2:entry"].data["log_year"] == 2025


def test_sharps_case_is_recordable_and_a_privacy_case() -> None:
    c = case("OC-6", recordable=False, sharps=True, privacy_case=False, logged_at="2025-12-02T09:00:00-07:00",
             f301_at="2025-12-02T09:00:00-07:00")
    facts = run(osha_log_duty, "2025-12-10T00:00:00Z", {"osha_case": [c]})
    assert set(facts) == {"OC-6:entry", "OC-6:privacy"}
    marked = case("OC-7", sharps=True, privacy_case=True, logged_at="2025-12-02T09:00:00-07:00")
    assert set(run(osha_log_duty, "2025-12-10T00:00:00Z", {"osha_case": [marked]})) == {"OC-7:entry"}


def test_severe_fatality_clock_is_elapsed_time_across_spring_forward() -> None:
    c = case("OC-F", establishment_id="E-MD", incident_at="2026-03-07T20:00:00-07:00",
             died_at="2026-03-07T22:00:00-07:00", learned_at="2026-03-07T22:30:00-07:00")
    facts = run(osha_severe_report, "2026-03-08T12:00:00Z", {"osha_case": [c]})
    f = facts["OC-F:fatality"]
    assert (f.data["clock_start"], f.data["due_at"], f.data["window_hours"]) == (
        "2026-03-08T05:30:00Z", "2026-03-08T13:30:00Z", 8)


def test_severe_reportability_windows() -> None:
    died_31_days = case("OC-D", incident_at="2026-01-01T10:00:00-07:00", learned_at="2026-01-01T10:30:00-07:00",
                        died_at="2026-02-01T10:30:00-07:00")
    died_30_days = case("OC-E", incident_at="2026-01-01T10:00:00-07:00", learned_at="2026-01-01T10:30:00-07:00",
                        died_at="2026-01-31T10:00:00-07:00")
    admit_25h = case("OC-H", incident_at="2026-01-01T10:00:00-07:00", learned_at="2026-01-01T10:30:00-07:00",
                     inpatient_admit_at="2026-01-02T11:00:00-07:00")
    admit_later_than_learning = case("OC-A", incident_at="2026-01-01T10:00:00-07:00",
                                     learned_at="2026-01-01T10:30:00-07:00",
                                     inpatient_admit_at="2026-01-01T18:00:00-07:00")
    amputation_and_eye = case("OC-X", amputation=True, eye_loss=True)
    facts = run(osha_severe_report, "2026-02-05T00:00:00Z",
                {"osha_case": [died_31_days, died_30_days, admit_25h, admit_later_than_learning, amputation_and_eye]})
    assert set(facts) == {"OC-E:fatality", "OC-A:24h", "OC-X:24h"}
    assert facts["OC-E:fatality"].data["due_at"] == "2026-02-01T01:00:00Z"
    assert facts["OC-E:fatality"].data["clock_start"] == "2026-01-31T17:00:00Z"
    assert facts["OC-A:24h"].data["due_at"] == "2026-01-03T01:00:00Z"
    assert facts["OC-X:24h"].data["event"] == "amputation, loss of an eye"


def test_a_report_made_before_the_death_does_not_cover_it() -> None:
    c = case("OC-AD", incident_at="2026-01-01T10:00:00-07:00", learned_at="2026-01-01T10:30:00-07:00",
             inpatient_admit_at="2026-01-01T12:00:00-07:00", reported_to_osha_at="2026-01-01T15:00:00-07:00",
             died_at="2026-01-10T08:00:00-07:00")
    facts = run(osha_severe_report, "2026-01-11T00:00:00Z", {"osha_case": [c]})
    assert facts["OC-AD:24h"].data["done_at"] == "2026-01-01T22:00:00Z"
    assert facts["OC-AD:fatality"].data["done_at"] is None
    assert facts["OC-AD:fatality"].data["due_at"] == "2026-01-10T23:00:00Z"


def test_no_clock_before_the_employer_learns_or_the_event_happens() -> None:
    c = case("OC-L", incident_at="2026-01-01T10:00:00-07:00", learned_at="2026-01-05T10:00:00-07:00", amputation=True)
    assert run(osha_severe_report, "2026-01-03T00:00:00Z", {"osha_case": [c]}) == {}
    d = case("OC-M", incident_at="2026-01-01T10:00:00-07:00", learned_at="2026-01-01T10:30:00-07:00",
             died_at="2026-01-05T10:00:00-07:00")
    assert run(osha_severe_report, "2026-01-03T00:00:00Z", {"osha_case": [d]}) == {}


def test_sharps_log_required_and_encouraged() -> None:
    incomplete = case("OC-S1", sharps=True, sharps_log_at="2025-12-02T09:00:00-07:00", device_type="lancet")
    missing = case("OC-S2", sharps=True)
    exempt_missing = case("OC-S3", sharps=True, establishment_id="E-MD")
    exempt_logged = case("OC-S4", sharps=True, establishment_id="E-MD", sharps_log_at="2025-12-20T09:00:00-07:00")
    facts = run(osha_sharps_duty, "2025-12-30T00:00:00Z",
                {"osha_case": [incomplete, missing, exempt_missing, exempt_logged]})
    assert set(facts) == {"OC-S1:entry", "OC-S1:fields", "OC-S2:entry", "OC-S3:entry"}
    assert facts["OC-S1:fields"].data["missing"] == "brand, department or work area"
    assert facts["OC-S1:entry"].data["done_at"] == "2025-12-02T16:00:00Z"
    assert facts["OC-S3:entry"].data["records_required"] is False


def test_exposure_followup_for_unprotected_employees_only() -> None:
    hepb = [
        rec("hepb_vaccination", "HB-1", person_id="P-1", offered_at="2025-01-10T10:00:00-07:00",
            declined_at="2025-01-10T10:10:00-07:00"),
        rec("hepb_vaccination", "HB-1B", person_id="P-1", offered_at="2025-12-01T13:00:00-07:00"),
        rec("hepb_vaccination", "HB-3", person_id="P-3", series_completed_at="2024-06-01T10:00:00-06:00"),
        rec("hepb_vaccination", "HB-4", person_id="P-4", offered_at="2025-11-01T10:00:00-06:00"),
        rec("hepb_vaccination", "HB-5", person_id="P-5", contraindicated=True),
    ]
    cases = [case(f"OC-{n}", person_id=f"P-{n}", sharps=True) for n in (1, 2, 3, 4, 5)]
    cases.append(case("OC-6", person_id="P-2", sharps=False))
    facts = run(osha_exposure_followup, "2025-12-01T22:00:00Z", {"osha_case": cases, "hepb_vaccination": hepb})
    assert set(facts) == {"OC-1:hbv", "OC-2:hbv"}
    assert facts["OC-1:hbv"].data["hbv_status"] == "declined"
    assert facts["OC-1:hbv"].data["declined_at"] == "2025-01-10T17:10:00Z"
    assert facts["OC-1:hbv"].data["followup_at"] == "2025-12-01T20:00:00Z"
    assert facts["OC-2:hbv"].data["hbv_status"] == "no_record"
    assert facts["OC-2:hbv"].data["declined_at"] is None
    assert facts["OC-2:hbv"].data["followup_at"] is None
    before_reoffer = run(osha_exposure_followup, "2025-12-01T19:00:00Z", {"osha_case": cases, "hepb_vaccination": hepb})
    assert before_reoffer["OC-1:hbv"].data["followup_at"] is None
    # the offer still to come is not evidence yet (it had been cited while the finding said there was none)
    assert [i for _, i, _ in before_reoffer["OC-1:hbv"].sources if i.startswith("HB-")] == ["HB-1"]


def test_exposure_followup_reads_a_record_whose_dates_are_all_to_come_as_no_record() -> None:
    hepb = [rec("hepb_vaccination", "HB-9", person_id="P-9", offered_at="2025-12-01T13:00:00-07:00")]
    facts = run(osha_exposure_followup, "2025-12-01T19:00:00Z",
                {"osha_case": [case("OC-9", person_id="P-9", sharps=True)], "hepb_vaccination": hepb})
    assert facts["OC-9:hbv"].data["hbv_status"] == "no_record"
    assert not [i for _, i, _ in facts["OC-9:hbv"].sources if i.startswith("HB-")]


def test_exposure_followup_says_whether_the_vaccine_was_ever_offered() -> None:
    hepb = [
        rec("hepb_vaccination", "HB-2", person_id="P-2", antibody_immune=False),  # a record, but no offer
        # offered a week before the incident, declined an hour after it: the offer is owed again
        rec("hepb_vaccination", "HB-3", person_id="P-3", offered_at="2025-11-24T10:00:00-07:00",
            declined_at="2025-12-01T11:00:00-07:00"),
        # a declination dated before the incident without an offer date documents the offer
        rec("hepb_vaccination", "HB-4", person_id="P-4", declined_at="2025-06-01T10:00:00-06:00"),
        # offered after the incident (the follow-up itself) and declined: not a prior declination
        rec("hepb_vaccination", "HB-5", person_id="P-5", offered_at="2025-12-01T12:00:00-07:00",
            declined_at="2025-12-01T12:30:00-07:00"),
    ]
    cases = [case(f"OC-{n}", person_id=f"P-{n}", sharps=True) for n in (2, 3, 4, 5)]
    facts = run(osha_exposure_followup, "2025-12-02T00:00:00Z", {"osha_case": cases, "hepb_vaccination": hepb})
    status = {k: (f.data["hbv_status"], f.data["declined_at"]) for k, f in facts.items()}
    assert status == {
        "OC-2:hbv": ("not_offered", None),
        "OC-3:hbv": ("declined", "2025-12-01T18:00:00Z"),
        "OC-4:hbv": ("declined", "2025-06-01T16:00:00Z"),
        "OC-5:hbv": ("not_offered", None),
    }
    assert facts["OC-5:hbv"].data["followup_at"] == "2025-12-01T19:00:00Z"  # met by the offer after it
    # before the declination happened, HB-3's offer is an open series: no follow-up fact at all
    assert "OC-3:hbv" not in run(osha_exposure_followup, "2025-12-01T17:30:00Z",
                                 {"osha_case": cases, "hepb_vaccination": hepb})


def test_adverse_actions_within_the_review_window() -> None:
    report = case("OC-R", learned_at="2026-04-01T10:00:00-06:00", incident_at="2026-04-01T09:00:00-06:00")
    sanctions = [
        rec("sanction_record", "SR-30", person_id="P-1", decided_at="2026-05-01T23:00:00-06:00"),
        rec("sanction_record", "SR-31", person_id="P-1", decided_at="2026-05-02T00:30:00-06:00"),
        rec("sanction_record", "SR-0", person_id="P-1", decided_at="2026-03-31T10:00:00-06:00"),
        rec("sanction_record", "SR-X", person_id="P-9", decided_at="2026-04-05T10:00:00-06:00"),
    ]
    episodes = [rec("employment_episode", "EP-1", person_id="P-1", establishment_id="E-1",
                    start_at="2024-01-02T08:00:00-07:00", end_at="2026-04-10T17:00:00-06:00")]
    facts = run(osha_post_report_action, "2026-06-01T00:00:00Z",
                {"osha_case": [report], "sanction_record": sanctions, "employment_episode": episodes})
    assert set(facts) == {"OC-R:sanction_record:SR-30", "OC-R:employment_episode:EP-1"}
    assert facts["OC-R:sanction_record:SR-30"].data["days_after"] == 30
    assert facts["OC-R:employment_episode:EP-1"].data["action"] == "employment ended"
    narrow = by_id(osha_post_report_action(context("2026-06-01T00:00:00Z", [DEN], {"retaliation_review_days": 7}),
                                           {"osha_case": [report], "sanction_record": sanctions,
                                            "employment_episode": episodes}))
    assert set(narrow) == set()


def test_the_review_window_is_the_one_in_force_on_the_report_day() -> None:
    # 30 days until 15 April 2026, 7 from then on (today's value)
    history = ParamHistory({"retaliation_review_days": ((dt.date.min, 30), (dt.date(2026, 4, 15), 7))})
    cases = [case("OC-R", learned_at="2026-04-01T10:00:00-06:00", incident_at="2026-04-01T09:00:00-06:00"),
             case("OC-S", person_id="P-2", learned_at="2026-04-15T10:00:00-06:00",
                  incident_at="2026-04-15T09:00:00-06:00")]
    sanctions = [rec("sanction_record", "SR-30", person_id="P-1", decided_at="2026-05-01T23:00:00-06:00"),
                 rec("sanction_record", "SR-31", person_id="P-1", decided_at="2026-05-02T00:30:00-06:00"),
                 rec("sanction_record", "SR-7", person_id="P-2", decided_at="2026-04-22T23:00:00-06:00"),
                 rec("sanction_record", "SR-8", person_id="P-2", decided_at="2026-04-23T08:00:00-06:00")]
    facts = by_id(osha_post_report_action(
        context("2026-06-01T00:00:00Z", [DEN], {"retaliation_review_days": 7}, history),
        {"osha_case": cases, "sanction_record": sanctions, "employment_episode": []}))
    assert {k: f.data["days_after"] for k, f in facts.items()} == {"OC-R:sanction_record:SR-30": 30,
                                                                   "OC-S:sanction_record:SR-7": 7}


def test_a_case_with_no_establishment_loses_its_log_duty_only() -> None:
    """What an import's `incomplete_records` warning says of an osha_case with no establishment_id
    (engine/records/undated.py GAPS): no 300 log duty, the sharps log only as encouraged (no device
    fields check), while the severe-injury clock still runs. Should this change, change the warning."""
    sharps = case("OC-N1", establishment_id=None, sharps=True, amputation=True,
                  sharps_log_at="2025-12-02T09:00:00-07:00")
    unlogged = case("OC-N2", establishment_id=None, recordable=True, sharps=True)
    records = {"osha_case": [sharps, unlogged]}
    assert run(osha_log_duty, "2025-12-10T00:00:00Z", records) == {}
    sil = run(osha_sharps_duty, "2025-12-10T00:00:00Z", records)
    assert set(sil) == {"OC-N2:entry"} and sil["OC-N2:entry"].data["records_required"] is False
    assert set(run(osha_severe_report, "2025-12-10T00:00:00Z", records)) == {"OC-N1:24h"}


def test_a_case_with_no_person_has_no_exposure_followup_nor_post_report_review() -> None:
    """What an import's `incomplete_records` warning says of an osha_case with no person_id."""
    c = case("OC-P1", person_id=None, sharps=True)
    sanction = rec("sanction_record", "SR-1", person_id="P-1", decided_at="2025-12-05T10:00:00-07:00")
    records = {"osha_case": [c], "hepb_vaccination": [], "sanction_record": [sanction], "employment_episode": []}
    assert run(osha_exposure_followup, "2025-12-10T00:00:00Z", records) == {}
    assert run(osha_post_report_action, "2025-12-10T00:00:00Z", records) == {}
    named = case("OC-P2", sharps=True)
    records = {**records, "osha_case": [named]}
    assert set(run(osha_exposure_followup, "2025-12-10T00:00:00Z", records)) == {"OC-P2:hbv"}
    assert len(run(osha_post_report_action, "2025-12-10T00:00:00Z", records)) == 1
