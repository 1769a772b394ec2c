"""The osha ruleset's finding messages, on both backends, where a scenario file cannot look (scenarios
compare findings, not their text): the post-exposure follow-up of OSHA-BBP-PEP-010 per hepatitis B
history, and the missing Form 300A of OSHA-REC-300A-003."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.records.validation import validate_record
from engine.rules.catalog import RULESETS_DIR, compile_for
from engine.rules.derive import RecordView
from engine.rules.loader import load_ruleset_file
from engine.rules.runner import ListSource, evaluate_rules
from engine.rules.schemas import Violation

RULESET = RULESETS_DIR / "osha" / "osha-2026.1.0.yaml"


def _run(records: list[dict[str, object]], as_of: str, backend: str, rule_id: str) -> dict[str, Violation]:
    views = []
    for raw in records:
        model, data = validate_record(raw)
        views.append(RecordView(model.type, model.id, 1, data))
    compiled = compile_for(load_ruleset_file(RULESET), {}, "test")
    at = dt.datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    run = evaluate_rules(ListSource(views), [compiled], at, backend=backend)
    return {f"{v.subject.id}:{v.occurrence_key}": v for v in run.violations if v.rule_id.startswith(rule_id)}


def _exposure(case_id: str, person: str) -> dict[str, object]:
    return {"type": "osha_case", "id": case_id, "establishment_id": "E-1", "person_id": person, "sharps": True,
            "recordable": True, "incident_at": "2026-04-01T20:00:00-07:00", "learned_at": "2026-04-01T21:00:00-07:00"}


PEP_RECORDS: list[dict[str, object]] = [
    {"type": "establishment", "id": "E-1", "naics": "621111", "tz": "America/Los_Angeles"},
    _exposure("OC-NONE", "P-1"),
    {"type": "hepb_vaccination", "id": "HB-2", "person_id": "P-2", "antibody_immune": False},
    _exposure("OC-NOOFFER", "P-2"),
    {"type": "hepb_vaccination", "id": "HB-3", "person_id": "P-3", "offered_at": "2025-03-02T09:00:00-08:00",
     "declined_at": "2025-03-02T09:30:00-08:00"},
    _exposure("OC-DECLINED", "P-3"),
]
PEP_ACTION = ("Start the confidential post-exposure evaluation, including hepatitis B prophylaxis per USPHS, "
              "and offer the vaccine{again} by 2026-04-01T23:00:00-07:00; record the offer.")


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_pep_message_says_again_only_after_a_declination(backend: str) -> None:
    found = _run(PEP_RECORDS, "2026-04-12T07:00:00Z", backend, "OSHA-BBP-PEP-010")
    head = "Exposure incident {case} ({person}, reported 2026-04-01T21:00:00-07:00): the employee "
    assert {k: v.message for k, v in found.items()} == {
        "OC-NONE:": head.format(case="OC-NONE", person="P-1")
        + "has no hepatitis B vaccination record (no offer, declination or dose on file). "
        + PEP_ACTION.format(again=""),
        "OC-NOOFFER:": "Exposure incident OC-NOOFFER (P-2, reported 2026-04-01T21:00:00-07:00): the employee's "
        "hepatitis B records show no offer or declination of the vaccine. " + PEP_ACTION.format(again=""),
        "OC-DECLINED:": head.format(case="OC-DECLINED", person="P-3")
        + "declined the hepatitis B vaccine on 2025-03-02T09:30:00-08:00. " + PEP_ACTION.format(again=" again"),
    }


MISSING_RECORDS: list[dict[str, object]] = [
    {"type": "establishment", "id": "E-1", "name": "Main", "naics": "621999", "tz": "America/Denver",
     "max_concurrent_employees": {"2025": 30, "2026": 30}},
    {"type": "establishment", "id": "E-2", "naics": "621610", "tz": "America/Denver"},
]


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_missing_300a_reported_once_under_300a_003(backend: str) -> None:
    soon = _run(MISSING_RECORDS, "2027-01-20T17:00:00Z", backend, "OSHA-REC-")
    assert {k: (v.rule_id, v.state, v.severity, v.due) for k, v in soon.items() if "SCOPE" not in v.rule_id} == {
        "E-1:2026:certify": ("OSHA-REC-300A-003", "due_soon", "medium", "2027-02-01"),
        "E-2:2026:certify": ("OSHA-REC-300A-003", "due_soon", "medium", "2027-02-01"),
    }
    assert soon["E-1:2026:certify"].message == (
        "Main has no OSHA Form 300A on file for 2026 yet: complete it from the 2026 OSHA 300 log (even with zero "
        "cases), have a company executive certify it by 2027-02-01 and post it where employee notices are posted "
        "from that day through 30 April, submit it to OSHA's Injury Tracking Application by 2 March 2027, and keep "
        "it with the 2026 records until 31 December 2031.")
    assert soon["E-1:2026:certify"].establishment_id == "E-1"
    assert [(e.type, e.id) for e in soon["E-1:2026:certify"].evidence] == [("establishment", "E-1")]
    late = _run(MISSING_RECORDS, "2027-02-02T07:00:00Z", backend, "OSHA-REC-")
    assert late["E-2:2026:certify"].state == "overdue" and late["E-2:2026:certify"].severity == "high"
    assert late["E-2:2026:certify"].message == (  # not an ITA industry (6216): no ITA sentence
        "E-2 has no OSHA Form 300A on file for 2026: a company executive had to certify it by 2027-02-01, and it "
        "had to be posted from that day through 30 April. Complete it from the 2026 OSHA 300 log (even with zero "
        "cases), have it certified, and keep it with the 2026 records until 31 December 2031.")
    assert not any(v.rule_id == "OSHA-REC-RET-004" for v in late.values())


BBP_RECORDS: list[dict[str, object]] = [
    {"type": "establishment", "id": "E-1", "tz": "America/New_York"},
    {"type": "employment_episode", "id": "EP-G", "person_id": "P-G", "establishment_id": "E-1",
     "role": "registered_nurse", "start_at": "2027-03-08T08:00:00-05:00", "occupational_exposure": True},
    {"type": "training_record", "id": "TR-G1", "person_id": "P-G", "course": "BBP",
     "completed_at": "2027-03-08T07:00:00-05:00", "trainer": "K. Ito", "content_version": "BBP-2027.1"},
    {"type": "training_record", "id": "TR-G2", "person_id": "P-G", "course": "BBP",
     "completed_at": "2028-04-02T10:00:00-04:00", "trainer": "K. Ito", "content_version": "BBP-2028.1"},
]


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_bbp_annual_cycle_retaken_late_says_so(backend: str) -> None:
    overdue = _run(BBP_RECORDS, "2028-03-20T16:00:00Z", backend, "OSHA-BBP-TRN-009")
    assert {k: (v.state, v.message) for k, v in overdue.items()} == {
        "EP-G:annual:TR-G1": ("overdue", "Annual bloodborne pathogens training of P-G had to be repeated by "
                                         "2028-03-08 (last trained 2027-03-08 (TR-G1)) and has not been."),
    }
    late = _run(BBP_RECORDS, "2028-04-05T16:00:00Z", backend, "OSHA-BBP-TRN-009")
    assert {k: (v.state, v.severity, v.message) for k, v in late.items()} == {
        "EP-G:annual:TR-G1": ("violation", "high", "P-G repeated the annual bloodborne pathogens training only on "
                              "2028-04-02T10:00:00-04:00, after it was due 2028-03-08 (trained 2027-03-08 (TR-G1), "
                              "next trained 2028-04-02 (TR-G2))."),
    }
    assert [(e.type, e.id) for e in late["EP-G:annual:TR-G1"].evidence] == [
        ("employment_episode", "EP-G"), ("training_record", "TR-G1"), ("training_record", "TR-G2")]
