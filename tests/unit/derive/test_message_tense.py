"""The tense of six obligation messages follows the finding's state: due_soon says what must happen by
the due date, overdue says it was due and has not happened, violation (a late completion) says it
happened late. Each case evaluates records through the shipped ruleset, on both backends, and checks
key phrases; the records are those of the reported cases (HIPAA-PRV-ACC-014, HIPAA-BRN-HHS-012,
HIPAA-SEC-TERM-004, CRED-NCQA-RECRED-007, CRED-CAQH-006, CRED-CLIA-011) plus a late completion each
where the rule has one.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from engine.records.validation import Position, validate_record
from engine.rules.catalog import RULESETS_DIR, compile_for, in_force
from engine.rules.derive import RecordView
from engine.rules.loader import load_ruleset_file
from engine.rules.runner import ListSource, evaluate_rules

LOADED = {fw: [load_ruleset_file(p) for p in sorted((RULESETS_DIR / fw).glob("*.yaml"))]
          for fw in ("hipaa", "credentialing")}

ORG_EST: list[dict[str, Any]] = [
    {"type": "organization", "id": "O1", "name": "Clinic", "states": ["CA"], "fte_count": 20,
     "receives_federal_financial_assistance": True, "mips_participant_by_py": {}},
    {"type": "establishment", "id": "E1", "org_id": "O1", "name": "Main", "naics": "621111", "state": "CA",
     "tz": "America/Los_Angeles", "osha_state_plan": True, "max_concurrent_employees": {"2025": 20, "2026": 20},
     "employees_any_time": {"2025": 20, "2026": 20}, "holiday_calendar": "US-FEDERAL"},
    {"type": "person", "id": "P1", "first_name": "Ann", "last_name": "Doe", "dob": "1980-01-01", "address": "1 Main"},
]
HIPAA_BASE = ORG_EST + [
    {"type": "patient", "id": "PT1", "last_name": "X", "first_name": "Y", "dob": "1990-01-01", "address": "a",
     "state": "CA", "vip": False, "record_restricted": False},
    {"type": "system", "id": "S1", "name": "EHR", "stores_ephi": True, "audit_logging_enabled": True,
     "last_audit_review_at": "2026-02-20T10:00:00-08:00", "log_retention_days": 2190,
     "added_at": "2020-01-01T00:00:00Z"},
]
CRED_BASE = ORG_EST + [
    {"type": "employment_episode", "id": "EP1", "person_id": "P1", "establishment_id": "E1", "role": "physician",
     "start_at": "2024-01-02T08:00:00-08:00", "end_at": None, "occupational_exposure": False,
     "phi_access_required": True, "licensed_clinician": True},
]


def request(rid: str, **extra: Any) -> dict[str, Any]:
    return {"type": "access_request", "id": rid, "patient_id": "PT1", "establishment_id": "E1", "kind": "access",
            "received_at": "2026-01-31T23:30:00-08:00", **extra}


def incident(iid: str, **extra: Any) -> dict[str, Any]:
    return {"type": "incident", "id": iid, "establishment_id": "E1", "discovered_at": "2025-06-01T10:00:00-07:00",
            "discovered_by": "covered_entity", "phi_involved": True, "unsecured": True, "determination": "breach",
            "determination_at": "2025-06-10T10:00:00-07:00", "four_factor_documented": True, "affected_total": 10,
            "affected_by_state": {"CA": 10}, "individual_notice_at": "2025-06-20T10:00:00-07:00", **extra}


# R1 due 2026-03-02 and never answered; R4 answered on 2026-03-05 (late)
ACC = [request("R1"), request("R4", completed_at="2026-03-05T10:00:00-08:00")]
# I1: fewer than 500, HHS due 2026-03-01 and never notified; I4 notified on 2026-03-03 (late)
HHS = [incident("I1"), incident("I4", hhs_notice_at="2026-03-03T10:00:00-08:00")]
# employment ends 2026-03-08T02:00Z, access due off by 2026-03-09T02:00Z; A2 disabled an hour late
TERM = [
    {"type": "employment_episode", "id": "EP1", "person_id": "P1", "establishment_id": "E1", "role": "nurse",
     "start_at": "2024-01-02T08:00:00-08:00", "end_at": "2026-03-07T18:00:00-08:00", "occupational_exposure": False,
     "phi_access_required": True, "licensed_clinician": True},
    {"type": "account", "id": "A1", "system_id": "S1", "user_id": "u1", "person_id": "P1", "interactive": True,
     "generic": False, "enabled_at": "2024-01-02T08:00:00-08:00", "mfa_remote": True},
    {"type": "account", "id": "A2", "system_id": "S1", "user_id": "u2", "person_id": "P1", "interactive": True,
     "generic": False, "enabled_at": "2024-01-02T08:00:00-08:00", "disabled_at": "2026-03-09T03:00:00Z",
     "mfa_remote": True},
]
# last verified 2023-05-31: recredentialing due 2026-05-31
RECRED = [
    {"type": "credential", "id": "L1", "person_id": "P1", "kind": "STATE_LICENSE", "jurisdiction": "CA", "number": "A1",
     "issued_at": "2023-01-01T00:00:00-08:00", "expires_at": "2029-12-31T12:00:00-08:00", "expiry_rule": "exact",
     "status": "active", "verified_at": "2023-05-31T22:00:00-07:00", "source": "board"},
]
# attested 2026-01-10: re-attestation due 2026-05-10
CAQH = [
    {"type": "credential", "id": "Q1", "person_id": "P1", "kind": "CAQH_ATTESTATION", "jurisdiction": "CA",
     "number": "1", "issued_at": "2026-01-10T23:30:00-08:00", "source": "CAQH ProView", "status": "attested"},
]
# valid through 2026-06-29
CLIA = [
    {"type": "credential", "id": "C1", "person_id": "P1", "kind": "CLIA", "jurisdiction": "E1", "number": "05D1",
     "issued_at": "2024-06-30T00:00:00-07:00", "expires_at": "2026-06-29T12:00:00-07:00", "expiry_rule": "exact",
     "status": "active", "source": "CMS"},
]


def run(framework: str, rule: str, records: list[dict[str, Any]], as_of: str) -> dict[str, tuple[str, str]]:
    """{subject id: (state, message)} of the rule's findings; both backends must agree on every text."""
    at = dt.datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    base = HIPAA_BASE if framework == "hipaa" else CRED_BASE
    views = []
    for i, raw in enumerate(base + records):
        model, data = validate_record({k: v for k, v in raw.items() if v is not None},
                                      position=Position(file="test", index=i))
        views.append(RecordView(model.type, model.id, 1, data))
    compiled = compile_for(in_force(LOADED[framework], at.date(), [framework])[0], {}, "test", on=at.date())
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for backend in ("python", "durable"):
        result = evaluate_rules(ListSource(views), [compiled], at, backend=backend)
        out[backend] = {v.subject.id: (v.state, v.message) for v in result.violations
                        if v.rule_id == rule and "used after" not in v.message}
    assert out["python"] == out["durable"]
    for _, message in out["python"].values():
        assert message == " ".join(message.split()), message
        assert message.endswith("."), message
        for bad in ("None", "{{", "{%", " .", " ,", " ;", "..", "+00:00"):
            assert bad not in message, (bad, message)
    return out["python"]


FUTURE = ("must be", "is due", "is valid through")
PAST = ("had to be", "was due", "was valid through")

CASES = [
    # (framework, rule, records, as_of, subject, state, phrases that must appear)
    ("hipaa", "HIPAA-PRV-ACC-014", ACC, "2026-02-25T12:00:00Z", "R1", "due_soon",
     ["must be answered by 2026-03-02"]),
    ("hipaa", "HIPAA-PRV-ACC-014", ACC, "2026-04-02T12:00:00Z", "R1", "overdue",
     ["was due to be answered by 2026-03-02", "has not been answered"]),
    ("hipaa", "HIPAA-PRV-ACC-014", ACC, "2026-04-02T12:00:00Z", "R4", "violation",
     ["was due to be answered by 2026-03-02", "it was answered only at 2026-03-05"]),
    ("hipaa", "HIPAA-BRN-HHS-012", HHS, "2026-02-25T12:00:00Z", "I1", "due_soon",
     ["HHS must be notified on the OCR breach portal by 2026-03-01"]),
    ("hipaa", "HIPAA-BRN-HHS-012", HHS, "2026-03-05T12:00:00Z", "I1", "overdue",
     ["HHS had to be notified on the OCR breach portal by 2026-03-01", "no notice has been filed"]),
    ("hipaa", "HIPAA-BRN-HHS-012", HHS, "2026-03-05T12:00:00Z", "I4", "violation",
     ["HHS had to be notified on the OCR breach portal by 2026-03-01", "the notice was filed only at 2026-03-03"]),
    ("hipaa", "HIPAA-SEC-TERM-004", TERM, "2026-03-09T01:30:00Z", "A1", "due_soon",
     ["Account u1 on S1 must be disabled by 2026-03-09T02:00:00Z"]),
    ("hipaa", "HIPAA-SEC-TERM-004", TERM, "2026-03-09T12:00:00Z", "A1", "overdue",
     ["Account u1 on S1 had to be disabled by 2026-03-09T02:00:00Z", "and is still enabled"]),
    ("hipaa", "HIPAA-SEC-TERM-004", TERM, "2026-03-09T12:00:00Z", "A2", "violation",
     ["Account u2 on S1 had to be disabled by 2026-03-09T02:00:00Z", "it was disabled only at 2026-03-09T03:00:00Z."]),
    ("credentialing", "CRED-NCQA-RECRED-007", RECRED, "2026-05-20T12:00:00Z", "P1/RECRED", "due_soon",
     ["P1 is due for recredentialing by 2026-05-31: 36 months after"]),
    ("credentialing", "CRED-NCQA-RECRED-007", RECRED, "2026-06-01T12:00:00Z", "P1/RECRED", "overdue",
     ["P1 was due for recredentialing by 2026-05-31, 36 months after", "and has not been recredentialed."]),
    ("credentialing", "CRED-CAQH-006", CAQH, "2026-05-05T08:00:00Z", "P1/CAQH", "due_soon",
     ["re-attestation is due by 2026-05-10."]),
    ("credentialing", "CRED-CAQH-006", CAQH, "2026-05-11T08:00:00Z", "P1/CAQH", "overdue",
     ["re-attestation was due by 2026-05-10 and has not been done, so the profile is now Expired."]),
    ("credentialing", "CRED-CLIA-011", CLIA, "2026-06-20T12:00:00Z", "CLIA/E1", "due_soon",
     ["is valid through 2026-06-29 and no renewal is on file"]),
    ("credentialing", "CRED-CLIA-011", CLIA, "2026-06-30T12:00:00Z", "CLIA/E1", "overdue",
     ["was valid through 2026-06-29 and has lapsed with no renewal on file"]),
]


@pytest.mark.parametrize(("framework", "rule", "records", "as_of", "subject", "state", "phrases"), CASES,
                         ids=[f"{c[1]}-{c[4]}-{c[5]}" for c in CASES])
def test_message_tense_follows_state(framework: str, rule: str, records: list[dict[str, Any]], as_of: str,
                                     subject: str, state: str, phrases: list[str]) -> None:
    found = run(framework, rule, records, as_of)
    assert subject in found, found
    got_state, message = found[subject]
    assert got_state == state, (got_state, message)
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    wrong = PAST if state == "due_soon" else FUTURE
    for phrase in wrong:
        assert not re.search(rf"\b{phrase}\b", message), (phrase, message)
