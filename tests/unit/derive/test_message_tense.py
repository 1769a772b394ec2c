"""The tense of twenty-six obligation messages follows the finding's state: due_soon says what must happen by
the due date, overdue says it was due and has not happened, violation (a late completion) says it
happened late. Each case evaluates records through the shipped ruleset, on both backends, and checks
key phrases; the records are those of the reported cases (HIPAA-PRV-ACC-014, HIPAA-BRN-HHS-012,
HIPAA-SEC-TERM-004, CRED-NCQA-RECRED-007, CRED-CAQH-006, CRED-CLIA-011; then HIPAA-BRN-IND-011,
HIPAA-BRN-MEDIA-013, HIPAA-ADM-TRN-002, HIPAA-SEC-RA-001, OSHA-REC-LOG-002, CRED-NPDB-005; then AI-CO-009,
AI-MON-012, HIPAA-ADM-SAN-003, HIPAA-BA-BAA-009, HIPAA-BRN-DET-010, OSHA-HAZ-012; then OSHA-REC-ITA-005,
OSHA-BBP-SIL-011, OSHA-BBP-ECP-007, OSHA-FIRE-014, HIPAA-PRV-SNOOP-007, HIPAA-SEC-ENC-008, AI-1557-ID-003,
AI-1557-MIT-004) plus a late completion each where the rule has one, and each kind of duty a message has a
branch for. HIPAA-SEC-ENC-008 also covers a status recorded as verified whose check is dated after the as-of.
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
          for fw in ("hipaa", "credentialing", "osha", "ai_use")}

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

BASES = {"hipaa": HIPAA_BASE, "credentialing": CRED_BASE, "osha": ORG_EST, "ai_use": ORG_EST}


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

# discovered 2025-06-01 (Los Angeles): individuals and media due 2025-07-31. I2 never notified; I3 notified
# 2025-08-05 (late); I5's business associate told the practice 17 days after its own discovery (limit 10)
IND = [
    incident("I2", individual_notice_at=None),
    incident("I3", individual_notice_at="2025-08-05T10:00:00-07:00"),
    incident("I5", discovered_by="business_associate", ba_vendor_id="V1", ba_is_agent=False,
             ba_discovered_at="2025-05-15T10:00:00-07:00", ba_notified_ce_at="2025-06-01T10:00:00-07:00",
             individual_notice_at="2025-06-20T10:00:00-07:00"),
]
# 600 residents of CA: media due 2025-07-31; M1 never notified, M2 notified 2025-08-05 (late)
MEDIA = [
    incident("M1", affected_total=600, affected_by_state={"CA": 600}),
    incident("M2", affected_total=600, affected_by_state={"CA": 600},
             media_notice_at={"CA": "2025-08-05T10:00:00-07:00"}),
]


def episode(eid: str, person: str, start: str) -> dict[str, Any]:
    return {"type": "employment_episode", "id": eid, "person_id": person, "establishment_id": "E1",
            "role": "front_desk", "start_at": start, "end_at": None, "occupational_exposure": False,
            "phi_access_required": True, "licensed_clinician": False}


def training(tid: str, person: str, course: str, at: str) -> dict[str, Any]:
    return {"type": "training_record", "id": tid, "person_id": person, "course": course, "completed_at": at}


def person(pid: str) -> dict[str, Any]:
    return {"type": "person", "id": pid, "first_name": "A", "last_name": pid, "dob": "1980-01-01", "address": "1 Main"}


TRN = [
    # P2 started 2026-03-02 and has no training: both courses due 2026-04-01
    person("P2"), episode("EP2", "P2", "2026-03-02T09:00:00-08:00"),
    # P3: both courses 2025-01-10; security repeated on time, privacy not (due 2026-01-10)
    person("P3"), episode("EP3", "P3", "2024-01-02T09:00:00-08:00"),
    training("T31", "P3", "HIPAA_PRIVACY", "2025-01-10T10:00:00-08:00"),
    training("T32", "P3", "HIPAA_SECURITY", "2025-01-10T10:00:00-08:00"),
    training("T33", "P3", "HIPAA_SECURITY", "2026-01-05T10:00:00-08:00"),
    # P4: as P3, but privacy repeated on 2026-01-20 (late)
    person("P4"), episode("EP4", "P4", "2024-01-02T09:00:00-08:00"),
    training("T41", "P4", "HIPAA_PRIVACY", "2025-01-10T10:00:00-08:00"),
    training("T42", "P4", "HIPAA_SECURITY", "2025-01-10T10:00:00-08:00"),
    training("T43", "P4", "HIPAA_SECURITY", "2026-01-05T10:00:00-08:00"),
    training("T44", "P4", "HIPAA_PRIVACY", "2026-01-20T10:00:00-08:00"),
    # P5 accessed PHI at 10:00 on 2026-03-03 and was trained only that afternoon
    person("P5"), episode("EP5", "P5", "2026-03-02T09:00:00-08:00"),
    {"type": "account", "id": "A5", "system_id": "S1", "user_id": "u5", "person_id": "P5", "interactive": True,
     "generic": False, "enabled_at": "2026-03-02T08:00:00-08:00", "mfa_remote": True},
    {"type": "access_event", "id": "AE5", "system_id": "S1", "user_id": "u5", "patient_id": "PT1",
     "at": "2026-03-03T10:00:00-08:00", "action": "view"},
    training("T51", "P5", "HIPAA_PRIVACY", "2026-03-03T15:00:00-08:00"),
    training("T52", "P5", "HIPAA_SECURITY", "2026-03-03T15:30:00-08:00"),
]
# RA1 (2025-03-10) covers S1: redo by 2026-03-10; S2 added 2026-01-15: covered by 2026-04-15; RI1 due 2026-05-01;
# MIPS 2026 with no analysis completed in 2026: due 2026-12-31 (the organization replaces the base one)
RA = [
    dict(ORG_EST[0], mips_participant_by_py={"2026": True}),
    {"type": "system", "id": "S2", "name": "PACS", "stores_ephi": True, "audit_logging_enabled": True,
     "last_audit_review_at": "2026-02-20T10:00:00-08:00", "log_retention_days": 2190,
     "added_at": "2026-01-15T10:00:00-08:00"},
    {"type": "risk_analysis", "id": "RA1", "completed_at": "2025-03-10T15:00:00-07:00", "scope_system_ids": ["S1"]},
    {"type": "risk_item", "id": "RI1", "risk_analysis_id": "RA1", "rating": "high", "status": "open",
     "due_at": "2026-05-01T17:00:00-07:00"},
]
# E2 keeps OSHA records (NAICS 621999, company above 10). Learned 2026-03-02: on the log by 2026-03-09.
# OC1 is not on it; OC2 was logged 2026-03-11 (late); OC3, a needlestick, is logged on time but by name.
OSHA_CASES = [
    {"type": "establishment", "id": "E2", "org_id": "O1", "name": "Surgery", "naics": "621999", "state": "CA",
     "tz": "America/Los_Angeles", "osha_state_plan": True, "max_concurrent_employees": {"2025": 20, "2026": 20},
     "employees_any_time": {"2025": 20, "2026": 20}, "holiday_calendar": "US-FEDERAL"},
    {"type": "osha_case", "id": "OC1", "establishment_id": "E2", "person_id": "P1",
     "incident_at": "2026-03-02T08:00:00-08:00", "learned_at": "2026-03-02T09:00:00-08:00", "recordable": True},
    {"type": "osha_case", "id": "OC2", "establishment_id": "E2", "person_id": "P1",
     "incident_at": "2026-03-02T08:00:00-08:00", "learned_at": "2026-03-02T09:00:00-08:00", "recordable": True,
     "logged_at": "2026-03-11T10:00:00-07:00", "f301_at": "2026-03-05T10:00:00-08:00"},
    {"type": "osha_case", "id": "OC3", "establishment_id": "E2", "person_id": "P1",
     "incident_at": "2026-03-02T08:00:00-08:00", "learned_at": "2026-03-02T09:00:00-08:00", "recordable": False,
     "sharps": True, "privacy_case": False, "logged_at": "2026-03-03T09:00:00-08:00",
     "f301_at": "2026-03-03T09:00:00-08:00"},
]
# queried through the NPDB on 2024-02-29: next query by 2026-02-28 (Continuous Query: renew by 2025-02-28)
NPDB = [
    {"type": "credential", "id": "M1", "person_id": "P1", "kind": "MALPRACTICE", "jurisdiction": "CA",
     "issued_at": "2023-07-01T00:01:00-07:00", "expires_at": "2026-07-01T00:01:00-07:00", "expiry_rule": "exact",
     "status": "active", "source": "NPDB query (malpractice history)", "verified_at": "2024-02-29T11:00:00-08:00"},
]


# INV-ONTIME/INV-LATE/INV-NONE closed 2026-03-01: a sanction decided by 2026-03-31; INV-LATE's came on
# 2026-04-01, INV-NONE has none. P1 was sanctioned with a verbal warning twice within 12 months (INV-A1, INV-A2).
# P1-P3 are workforce members (a sanction is owed by workforce only).
SAN = [
    *(episode(f"EP-{p}", p, "2024-01-02T08:00:00-05:00") for p in ("P1", "P2", "P3")),
    {"type": "investigation", "id": "INV-LATE", "subject_person_id": "P2", "opened_at": "2026-02-10T09:00:00-05:00",
     "closed_at": "2026-03-01T16:00:00-05:00", "outcome": "violation_confirmed"},
    {"type": "sanction_record", "id": "S2", "investigation_id": "INV-LATE", "person_id": "P2",
     "level": "written_warning", "decided_at": "2026-04-01T09:00:00-04:00"},
    {"type": "investigation", "id": "INV-NONE", "subject_person_id": "P3", "opened_at": "2026-02-10T09:00:00-05:00",
     "closed_at": "2026-03-01T16:00:00-05:00", "outcome": "VIOLATION_CONFIRMED"},
    {"type": "investigation", "id": "INV-A1", "subject_person_id": "P1", "opened_at": "2026-01-02T09:00:00-07:00",
     "closed_at": "2026-01-10T16:00:00-07:00", "outcome": "VIOLATION_CONFIRMED"},
    {"type": "sanction_record", "id": "S-A1", "investigation_id": "INV-A1", "person_id": "P1",
     "level": "verbal_warning", "decided_at": "2026-01-15T10:00:00-07:00"},
    {"type": "investigation", "id": "INV-A2", "subject_person_id": "P1", "opened_at": "2026-04-20T09:00:00-06:00",
     "closed_at": "2026-05-01T16:00:00-06:00", "outcome": "VIOLATION_CONFIRMED"},
    {"type": "sanction_record", "id": "S-A2", "investigation_id": "INV-A2", "person_id": "P1",
     "level": "verbal_warning", "decided_at": "2026-05-05T10:00:00-06:00"},
]


def vendor(vid: str, name: str, flow_at: str, *baas: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "vendor", "id": vid, "name": name, "handles_phi": True, "relationship_type": "business_associate"},
            {"type": "phi_flow", "id": f"F-{vid}", "vendor_id": vid, "first_at": flow_at},
            *({"type": "baa", "vendor_id": vid, "clauses": CLAUSES, **b} for b in baas)]


CLAUSES = ["PERMITTED_USES", "SAFEGUARDS", "BREACH_REPORTING", "SUBCONTRACTORS", "INDIVIDUAL_RIGHTS", "HHS_ACCESS",
           "RETURN_DESTROY"]
# PHI reaches V-NONE from 2026-02-02 15:00 (local) with no BAA; reaches V-LATE from 06:00 that day, its BAA in
# effect only from 2026-02-16; V-GOLIVE goes live 2026-04-01 unsigned; BAA-CLAUSE (2025-06-01) lacks the
# subcontractor clause; BAA-EXIT terminated 2026-03-02: return or destruction attested by 2026-04-01, on 04-02.
BAA = [
    *vendor("V-NONE", "Answering service", "2026-02-02T18:00:00-05:00"),
    *vendor("V-LATE", "Fax gateway", "2026-02-02T09:00:00-05:00",
            {"id": "BAA-LATE", "signed_at": "2026-02-15T10:00:00-05:00", "effective_at": "2026-02-16T00:00:00-05:00"}),
    *vendor("V-GOLIVE", "Patient portal", "2026-04-01T09:00:00-04:00", {"id": "BAA-GOLIVE"}),
    *vendor("V-CLAUSE", "Transcription", "2025-06-02T09:00:00-04:00",
            {"id": "BAA-CLAUSE", "signed_at": "2025-06-01T10:00:00-04:00", "effective_at": "2025-06-01T10:00:00-04:00",
             "clauses": [c for c in CLAUSES if c != "SUBCONTRACTORS"]}),
    *vendor("V-EXIT", "Former IT provider", "2024-01-03T09:00:00-05:00",
            {"id": "BAA-EXIT", "signed_at": "2024-01-02T10:00:00-05:00", "effective_at": "2024-01-02T10:00:00-05:00",
             "terminated_at": "2026-03-02T17:00:00-05:00",
             "return_or_destroy_attested_at": "2026-04-02T10:00:00-04:00"}),
]
# discovered 2026-03-01: a determination by 2026-03-31; I-UNSUPPORTED determined not a breach on 2026-03-10
# without a four-factor assessment
DET = [
    incident("I-OPEN", discovered_at="2026-03-01T10:00:00-06:00", determination=None, determination_at=None,
             four_factor_documented=None, individual_notice_at=None),
    incident("I-UNSUPPORTED", discovered_at="2026-03-01T10:00:00-06:00", determination="not_breach",
             determination_at="2026-03-10T15:00:00-05:00", four_factor_documented=False, individual_notice_at=None),
]


def hazcom(tid: str, person_id: str, completed_at: str) -> dict[str, Any]:
    return {"type": "training_record", "id": tid, "person_id": person_id, "course": "HAZCOM",
            "completed_at": completed_at}


def exposed(eid: str, person_id: str, start_at: str, role: str = "medical_assistant") -> dict[str, Any]:
    return {"type": "employment_episode", "id": eid, "person_id": person_id, "establishment_id": "E1", "role": role,
            "start_at": start_at, "occupational_exposure": True}


# EP-2 began chemical work 2026-03-02 and was trained the next day; EP-5 begins 2026-11-20, untrained; EP-4 was
# trained in 2023, before the 2024 revision (retraining due 2026-11-20 when the practice needs it)
HAZ = [
    exposed("EP-2", "P-2", "2026-03-02T08:00:00-05:00"), hazcom("TR-2", "P-2", "2026-03-03T11:00:00-05:00"),
    exposed("EP-5", "P-5", "2026-11-20T08:00:00-05:00", "lab_technician"),
    exposed("EP-4", "P-4", "2023-01-09T08:00:00-05:00", "registered_nurse"),
    hazcom("TR-4", "P-4", "2023-01-09T11:00:00-05:00"),
]
# P-4 retrained on the 2024 revision only on 2026-11-25
HAZ_RETRAINED = HAZ + [hazcom("TR-4B", "P-4", "2026-11-25T10:00:00-05:00")]


def ai_tool(tid: str, name: str, category: str, approved_at: str, **extra: Any) -> dict[str, Any]:
    return {"type": "ai_tool", "id": tid, "name": name, "category": category, "approved_at": approved_at,
            "owner_person_id": "P1", **extra}


AI_OWNER = {"type": "employment_episode", "id": "EP1", "person_id": "P1", "establishment_id": "E1",
            "start_at": "2024-01-02T09:00:00-08:00"}
# a Colorado practice of 80: T1 (in use since 2025, never assessed) and T4 (reviewed 2025-01-31) are due on the
# 2026-06-30 effective date; T2 (reviewed 2026-02-28) is due again 2027-02-28
CO = [
    dict(ORG_EST[0], states=["CO"], fte_count=80), AI_OWNER,
    ai_tool("T1", "Triage score", "PCDST", "2025-01-10T15:00:00Z"),
    ai_tool("T2", "Readmission model", "PREDICTIVE_DSI", "2025-01-10T15:00:00Z",
            last_perf_review_at="2026-02-28T18:00:00Z"),
    ai_tool("T4", "Sepsis watch", "PREDICTIVE_DSI", "2025-01-10T15:00:00Z", last_perf_review_at="2025-01-31T18:00:00Z"),
]
# T1 (medium risk) live 2025-06-01, never reviewed: due 2026-06-01; T2 (high risk) reviewed 2025-12-03: + 180 days
MON = [
    AI_OWNER,
    ai_tool("T1", "Reply drafter", "GENAI_PATIENT_COMMS", "2025-06-01T15:00:00Z"),
    ai_tool("T2", "Triage score", "PCDST", "2024-01-10T15:00:00Z", last_perf_review_at="2025-12-03T15:00:00Z"),
    # reviewed after the as-of instants below: judged from go-live, and the message must say so
    ai_tool("T3", "Note summarizer", "GENAI_PATIENT_COMMS", "2025-06-01T15:00:00Z",
            last_perf_review_at="2026-07-01T15:00:00Z"),
]


HOSP_ORG = {"type": "organization", "id": "O1", "name": "Clinic", "states": ["NY"], "fte_count": 60,
            "receives_federal_financial_assistance": True, "mips_participant_by_py": {}}
HOSP_EST = {"type": "establishment", "id": "E2", "org_id": "O1", "name": "Hosp", "naics": "622110", "state": "NY",
            "tz": "America/New_York", "osha_state_plan": False,
            "max_concurrent_employees": {"2024": 50, "2025": 50, "2026": 50},
            "employees_any_time": {"2024": 60, "2025": 60, "2026": 60}, "holiday_calendar": "US"}
HOSP = [HOSP_ORG, HOSP_EST,
        {"type": "employment_episode", "id": "EE1", "person_id": "P1", "establishment_id": "E2", "role": "nurse",
         "start_at": "2024-01-01T08:00:00-05:00", "occupational_exposure": True,
         "exposure_assignment_at": "2024-01-01T08:00:00-05:00", "phi_access_required": True}]


def summary(sid: str, year: int, **extra: Any) -> dict[str, Any]:
    return {"type": "osha_summary", "id": sid, "establishment_id": "E2", "year": year,
            "certified_at": f"{year + 1}-01-20T10:00:00-05:00", "certifier_title": "CEO",
            "posted_from": f"{year + 1}-02-01", "posted_until": f"{year + 1}-04-30", **extra}


# a hospital of 50 (NAICS 622110): the 2025 300A is due at the ITA by 2026-03-02; S25 is never submitted,
# S25-LATE is submitted on 2026-03-05
ITA = HOSP + [summary("S24", 2024, ita_submitted_at="2025-02-20T10:00:00-05:00"), summary("S25", 2025)]
ITA_LATE = HOSP + [summary("S24", 2024, ita_submitted_at="2025-02-20T10:00:00-05:00"),
                   summary("S25", 2025, ita_submitted_at="2026-03-05T10:00:00-05:00")]


def sharps(cid: str, **extra: Any) -> dict[str, Any]:
    return {"type": "osha_case", "id": cid, "establishment_id": "E2", "person_id": "P1",
            "incident_at": "2026-03-01T10:00:00-05:00", "learned_at": "2026-03-01T10:00:00-05:00", "recordable": True,
            "sharps": True, "logged_at": "2026-03-03T10:00:00-05:00", **extra}


# learned 2026-03-01: log entry due 2026-03-08; C1 never entered, C3 entered without the brand, C4 entered 03-09
SIL = HOSP + [
    sharps("C1"),
    sharps("C3", sharps_log_at="2026-03-04T10:00:00-05:00", device_type="needle", work_area="lab"),
    sharps("C4", sharps_log_at="2026-03-09T10:00:00-04:00", device_type="needle", device_brand="BD", work_area="lab"),
]
# plan reviewed 2025-03-15: next review due 2026-03-15; a lab technician (a new exposed position) starts 2026-03-02
ECP = HOSP + [
    {"type": "exposure_control_plan", "id": "ECP1", "establishment_id": "E2",
     "reviewed_at": "2025-03-15T10:00:00-04:00", "safer_devices_reviewed": True, "frontline_input_documented": True},
    {"type": "employment_episode", "id": "EE3", "person_id": "P3", "establishment_id": "E2", "role": "lab_technician",
     "start_at": "2026-03-02T08:00:00-05:00", "occupational_exposure": True},
]
# P1 last trained to use extinguishers 2025-03-15 (local): retraining due 2026-03-15
FIRE = HOSP + [{"type": "training_record", "id": "F1", "person_id": "P1", "course": "FIRE_EXT",
                "completed_at": "2025-03-15T22:30:00-04:00"}]
# u1 (P1 Zedowski) opens the chart of PT1 Zedowski without a care link on 2026-02-13: triage due 2026-02-23
SNOOP = [
    {"type": "person", "id": "P1", "first_name": "A", "last_name": "Zedowski", "dob": "1980-01-01",
     "address": "1 A St"},
    {"type": "employment_episode", "id": "EE1", "person_id": "P1", "establishment_id": "E1", "role": "nurse",
     "start_at": "2024-01-01T08:00:00-08:00", "phi_access_required": True},
    {"type": "account", "id": "A1", "system_id": "S1", "user_id": "u1", "person_id": "P1", "interactive": True,
     "generic": False, "enabled_at": "2024-01-01T00:00:00Z"},
    {"type": "patient", "id": "PT1", "last_name": "Zedowski", "first_name": "B", "dob": "1990-01-01",
     "address": "9 B St", "state": "CA"},
    {"type": "access_event", "id": "X1", "system_id": "S1", "user_id": "u1", "patient_id": "PT1",
     "at": "2026-02-13T10:00:00-08:00", "action": "view"},
]


def device(did: str, **extra: Any) -> dict[str, Any]:
    return {"type": "device", "id": did, "kind": "laptop", "stores_ephi": True, **extra}


# D1's status is verified, its check dated 2026-02-01; D2 is unencrypted; D5 and D6 are disposed 2026-02-20,
# D5 without sanitization, D6 sanitized the day after
ENC = [
    device("D1", encryption_status="verified", encryption_checked_at="2026-02-01T10:00:00-08:00"),
    device("D2", encryption_status="none"),
    device("D5", encryption_status="verified", encryption_checked_at="2026-02-01T10:00:00-08:00",
           disposed_at="2026-02-20T10:00:00-08:00"),
    device("D6", encryption_status="verified", encryption_checked_at="2026-02-01T10:00:00-08:00",
           disposed_at="2026-02-20T10:00:00-08:00", sanitized_at="2026-02-21T10:00:00-08:00"),
]
# a federal-assistance recipient: T1 (PCDST) live 2026-02-01, input review due 2026-03-03; T2 uses protected
# characteristics, mitigation due 2026-03-02
S1557 = [
    AI_OWNER,
    ai_tool("T1", "risk", "PCDST", "2026-02-01T16:00:00Z"),
    ai_tool("T2", "sepsis", "PREDICTIVE_DSI", "2026-01-01T16:00:00Z", uses_protected_characteristics=True),
]


def run(framework: str, rule: str, records: list[dict[str, Any]], as_of: str,
        params: dict[str, Any] | None = None) -> dict[str, tuple[str, str]]:
    """{subject id: (state, message)} of the rule's findings, and the same under "subject id#occurrence"
    (a rule with several findings per subject); a record replaces a base record of the same type and id.
    Both backends must agree on every text."""
    at = dt.datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    merged = {(raw["type"], raw["id"]): raw for raw in BASES[framework] + records}
    views = []
    for i, raw in enumerate(merged.values()):
        model, data = validate_record({k: v for k, v in raw.items() if v is not None},
                                      position=Position(file="test", index=i))
        views.append(RecordView(model.type, model.id, 1, data))
    compiled = compile_for(in_force(LOADED[framework], at.date(), [framework])[0], params or {}, "test",
                           on=at.date())
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for backend in ("python", "durable"):
        result = evaluate_rules(ListSource(views), [compiled], at, backend=backend)
        found = [v for v in result.violations if v.rule_id == rule and "used after" not in v.message]
        out[backend] = {v.subject.id: (v.state, v.message) for v in found}
        out[backend].update({f"{v.subject.id}#{v.occurrence_key}": (v.state, v.message) for v in found})
    assert out["python"] == out["durable"]
    for _, message in out["python"].values():
        assert message == " ".join(message.split()), message
        assert message.endswith("."), message
        for bad in ("None", "{{", "{%", " .", " ,", " ;", "..", "+00:00"):
            assert bad not in message, (bad, message)
    return out["python"]


FUTURE = ("must be", "must complete", "must repeat", "needs", "is due", "is valid through")
PAST = ("had to be", "had to complete", "had to repeat", "needed", "was due", "was valid through", "has not",
        "still missing", "still not")

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
     ["Account u1 on S1 must be disabled by 2026-03-08T19:00:00-07:00"]),
    ("hipaa", "HIPAA-SEC-TERM-004", TERM, "2026-03-09T12:00:00Z", "A1", "overdue",
     ["Account u1 on S1 had to be disabled by 2026-03-08T19:00:00-07:00", "and is still enabled"]),
    ("hipaa", "HIPAA-SEC-TERM-004", TERM, "2026-03-09T12:00:00Z", "A2", "violation",
     ["Account u2 on S1 had to be disabled by 2026-03-08T19:00:00-07:00",
      "it was disabled only at 2026-03-08T20:00:00-07:00."]),
    ("credentialing", "CRED-NCQA-RECRED-007", RECRED, "2026-05-20T12:00:00Z", "P1#RECRED", "due_soon",
     ["P1 is due for recredentialing by 2026-05-31: 36 months after"]),
    ("credentialing", "CRED-NCQA-RECRED-007", RECRED, "2026-06-01T12:00:00Z", "P1#RECRED", "overdue",
     ["P1 was due for recredentialing by 2026-05-31, 36 months after", "and has not been recredentialed."]),
    ("credentialing", "CRED-CAQH-006", CAQH, "2026-05-05T08:00:00Z", "P1#CAQH", "due_soon",
     ["re-attestation is due by 2026-05-10."]),
    ("credentialing", "CRED-CAQH-006", CAQH, "2026-05-11T08:00:00Z", "P1#CAQH", "overdue",
     ["re-attestation was due by 2026-05-10 and has not been done, so the profile is now Expired."]),
    ("credentialing", "CRED-CLIA-011", CLIA, "2026-06-20T12:00:00Z", "E1#CLIA", "due_soon",
     ["is valid through 2026-06-29 and no renewal is on file"]),
    ("credentialing", "CRED-CLIA-011", CLIA, "2026-06-30T12:00:00Z", "E1#CLIA", "overdue",
     ["was valid through 2026-06-29 and has lapsed with no renewal on file"]),
    ("hipaa", "HIPAA-BRN-IND-011", IND, "2025-07-28T12:00:00Z", "I2", "due_soon",
     ["Incident I2: affected individuals must be notified by 2025-07-31 (discovered 2025-06-01 + 60 days)."]),
    ("hipaa", "HIPAA-BRN-IND-011", IND, "2025-08-10T12:00:00Z", "I2", "overdue",
     ["affected individuals had to be notified by 2025-07-31 (discovered 2025-06-01 + 60 days)",
      "; no notice has been sent."]),
    ("hipaa", "HIPAA-BRN-IND-011", IND, "2025-08-10T12:00:00Z", "I3", "violation",
     ["affected individuals had to be notified by 2025-07-31",
      "; they were notified only at 2025-08-05T10:00:00-07:00."]),
    ("hipaa", "HIPAA-BRN-IND-011", IND, "2025-08-10T12:00:00Z", "I5", "violation",
     ["Incident I5: the business associate reported late, business associate V1 discovered it 2025-05-15"]),
    ("hipaa", "HIPAA-BRN-MEDIA-013", MEDIA, "2025-07-28T12:00:00Z", "M1", "due_soon",
     ["Incident M1: media serving CA must be notified by 2025-07-31 (600 residents of CA"]),
    ("hipaa", "HIPAA-BRN-MEDIA-013", MEDIA, "2025-08-10T12:00:00Z", "M1", "overdue",
     ["media serving CA had to be notified by 2025-07-31 (600 residents", "; no media notice has been given."]),
    ("hipaa", "HIPAA-BRN-MEDIA-013", MEDIA, "2025-08-10T12:00:00Z", "M2", "violation",
     ["media serving CA had to be notified by 2025-07-31", "; they were notified only at 2025-08-05T10:00:00-07:00."]),
    ("hipaa", "HIPAA-ADM-TRN-002", TRN, "2026-03-28T12:00:00Z", "EP2", "due_soon",
     ["P2 (front_desk) must complete HIPAA_PRIVACY, HIPAA_SECURITY by 2026-04-01 (joined 2026-03-02 (EP2)"]),
    ("hipaa", "HIPAA-ADM-TRN-002", TRN, "2026-04-05T12:00:00Z", "EP2", "overdue",
     ["P2 (front_desk) had to complete HIPAA_PRIVACY, HIPAA_SECURITY by 2026-04-01", "and has not done so."]),
    ("hipaa", "HIPAA-ADM-TRN-002", TRN, "2026-01-06T12:00:00Z", "EP3", "due_soon",
     ["P3 must repeat HIPAA_PRIVACY by 2026-01-10 (HIPAA_PRIVACY training 2025-01-10 (T31) + 12 months"]),
    ("hipaa", "HIPAA-ADM-TRN-002", TRN, "2026-01-15T12:00:00Z", "EP3", "overdue",
     ["P3 had to repeat HIPAA_PRIVACY by 2026-01-10 (HIPAA_PRIVACY training 2025-01-10 (T31)",
      "and has not repeated it."]),
    ("hipaa", "HIPAA-ADM-TRN-002", TRN, "2026-01-25T12:00:00Z", "EP4", "violation",
     ["P4 repeated HIPAA_PRIVACY only at 2026-01-20T10:00:00-08:00, after it was due on 2026-01-10"]),
    ("hipaa", "HIPAA-ADM-TRN-002", TRN, "2026-03-03T20:00:00Z", "EP5", "overdue",
     ["P5 accessed PHI before completing HIPAA training (first PHI access", "; training is still not complete."]),
    ("hipaa", "HIPAA-ADM-TRN-002", TRN, "2026-03-04T12:00:00Z", "EP5", "violation",
     ["P5 accessed PHI before completing HIPAA training",
      "; training was completed only at 2026-03-03T15:30:00-08:00."]),
    ("hipaa", "HIPAA-SEC-RA-001", [], "2026-03-05T12:00:00Z", "O1#no_analysis", "overdue",
     ["No security risk analysis covers every system that stores ePHI (no risk analysis has been completed)."]),
    ("hipaa", "HIPAA-SEC-RA-001", RA, "2026-03-05T12:00:00Z", "O1#stale:RA1", "due_soon",
     ["The security risk analysis RA1 must be redone by 2026-03-10 (risk analysis RA1 completed 2025-03-10"]),
    ("hipaa", "HIPAA-SEC-RA-001", RA, "2026-03-12T12:00:00Z", "O1#stale:RA1", "overdue",
     ["The security risk analysis RA1 had to be redone by 2026-03-10 (risk analysis RA1 completed 2025-03-10",
      "and has not been redone."]),
    ("hipaa", "HIPAA-SEC-RA-001", RA, "2026-04-10T12:00:00Z", "O1#new_system:S2", "due_soon",
     ["The new ePHI system S2 must be covered by a risk analysis by 2026-04-15 (ePHI system S2 added 2026-01-15"]),
    ("hipaa", "HIPAA-SEC-RA-001", RA, "2026-04-20T12:00:00Z", "O1#new_system:S2", "overdue",
     ["The new ePHI system S2 had to be covered by a risk analysis by 2026-04-15 (ePHI system S2 added",
      "and is not covered yet."]),
    ("hipaa", "HIPAA-SEC-RA-001", RA, "2026-04-25T12:00:00Z", "O1#risk_item:RI1", "due_soon",
     ["Risk item RI1 must be remediated by 2026-05-01 (high-rated risk item RI1 is open; its due date)."]),
    ("hipaa", "HIPAA-SEC-RA-001", RA, "2026-05-05T12:00:00Z", "O1#risk_item:RI1", "overdue",
     ["Risk item RI1 had to be remediated by 2026-05-01 (high-rated risk item RI1 is open; its due date)",
      "and has not been remediated."]),
    ("hipaa", "HIPAA-SEC-RA-001", RA, "2026-12-20T12:00:00Z", "O1#mips_year:2026", "due_soon",
     ["MIPS performance year 2026 needs a security risk analysis completed in 2026, by 2026-12-31 (MIPS"]),
    ("hipaa", "HIPAA-SEC-RA-001", RA, "2027-01-02T12:00:00Z", "O1#mips_year:2026", "overdue",
     ["MIPS performance year 2026 needed a security risk analysis completed in 2026, by 2026-12-31 (MIPS",
      "had to be completed in 2026 (PI_PPHI_1)), and none was."]),
    ("osha", "OSHA-REC-LOG-002", OSHA_CASES, "2026-03-08T12:00:00Z", "OC1", "due_soon",
     ["Case OC1 (learned 2026-03-02T09:00:00-08:00) must be on the 2026 OSHA 300 log with its 301 incident "
      "report by 2026-03-09; missing: OSHA 300 log entry, OSHA 301 incident report."]),
    ("osha", "OSHA-REC-LOG-002", OSHA_CASES, "2026-03-12T12:00:00Z", "OC1", "overdue",
     ["Case OC1 (learned 2026-03-02T09:00:00-08:00) had to be on the 2026 OSHA 300 log with its 301 incident "
      "report by 2026-03-09; still missing: OSHA 300 log entry, OSHA 301 incident report."]),
    ("osha", "OSHA-REC-LOG-002", OSHA_CASES, "2026-03-12T12:00:00Z", "OC2", "violation",
     ["Case OC2 was entered on the 2026 OSHA 300 log / 301 report after the 7-day limit", "due 2026-03-09",
      "complete 2026-03-11T10:00:00-07:00"]),
    ("osha", "OSHA-REC-LOG-002", OSHA_CASES, "2026-03-08T12:00:00Z", "OC3", "due_soon",
     ["Case OC3 is a needlestick/sharps injury on the 2026 OSHA 300 log but is not entered as a privacy case",
      "(due 2026-03-09)."]),
    ("osha", "OSHA-REC-LOG-002", OSHA_CASES, "2026-03-12T12:00:00Z", "OC3", "overdue",
     ["Case OC3 is a needlestick/sharps injury", "(this was due by 2026-03-09 and has not been done)."]),
    ("credentialing", "CRED-NPDB-005", NPDB, "2026-02-20T12:00:00Z", "P1#NPDB", "due_soon",
     ["The last NPDB query for P1 was on 2024-02-29; the next is due by 2026-02-28 (every 24 months)."]),
    ("credentialing", "CRED-NPDB-005", NPDB, "2026-03-05T12:00:00Z", "P1#NPDB", "overdue",
     ["The last NPDB query for P1 was on 2024-02-29; the next was due by 2026-02-28 (every 24 months) and has "
      "not been made."]),
    ("hipaa", "HIPAA-ADM-SAN-003", SAN, "2026-03-30T12:00:00Z", "INV-NONE#decision", "due_soon",
     ["Investigation INV-NONE confirmed a violation by P3: a sanction must be decided and recorded by 2026-03-31 "
      "(investigation closed 2026-03-01 + 30 days (sanction_decision_days))."]),
    ("hipaa", "HIPAA-ADM-SAN-003", SAN, "2026-04-02T12:00:00Z", "INV-NONE#decision", "overdue",
     ["a sanction had to be decided and recorded by 2026-03-31 (investigation closed 2026-03-01",
      "; no sanction has been recorded."]),
    ("hipaa", "HIPAA-ADM-SAN-003", SAN, "2026-04-02T12:00:00Z", "INV-LATE#decision", "violation",
     ["a sanction had to be decided and recorded by 2026-03-31",
      "; it was decided only at 2026-04-01T06:00:00-07:00."]),
    ("hipaa", "HIPAA-ADM-SAN-003", SAN, "2026-05-05T20:00:00Z", "INV-A2#no_escalation", "violation",
     ["Repeat violation by P1 without escalation: second confirmed violation within 12 months (INV-A1, INV-A2)"]),
    ("hipaa", "HIPAA-ADM-SAN-003", SAN, "2026-05-06T12:00:00Z", "INV-A2#no_escalation", "violation",
     ["Repeat violation by P1 without escalation: second confirmed violation within 12 months (INV-A1, INV-A2)"]),
    ("hipaa", "HIPAA-BA-BAA-009", BAA, "2026-03-02T12:00:00Z", "V-GOLIVE", "due_soon",
     ["Patient portal: PHI is scheduled to flow 2026-04-01T06:00:00-07:00 (F-V-GOLIVE); a signed BAA must be in effect "
      "by then; no signed BAA is in effect."]),
    # PHI that has flowed with no BAA is overdue from the flow's instant (its deadline), told as a missed
    # requirement, on the day of the flow too
    ("hipaa", "HIPAA-BA-BAA-009", BAA, "2026-02-02T20:00:00Z", "V-LATE", "overdue",
     ["Fax gateway: PHI first flowed 2026-02-02T06:00:00-08:00 (F-V-LATE); a signed BAA had to be in effect by "
      "then; no signed BAA is in effect."]),
    ("hipaa", "HIPAA-BA-BAA-009", BAA, "2026-02-03T12:00:00Z", "V-NONE", "overdue",
     ["Answering service: PHI first flowed 2026-02-02T15:00:00-08:00 (F-V-NONE); a signed BAA had to be in effect by "
      "then; no signed BAA is in effect."]),
    ("hipaa", "HIPAA-BA-BAA-009", BAA, "2026-04-02T08:00:00Z", "V-GOLIVE", "overdue",
     ["PHI first flowed 2026-04-01T06:00:00-07:00 (F-V-GOLIVE); a signed BAA had to be in effect by then"]),
    ("hipaa", "HIPAA-BA-BAA-009", BAA, "2026-03-02T12:00:00Z", "V-LATE", "violation",
     ["a signed BAA had to be in effect by then; the BAA BAA-LATE took effect only at 2026-02-15T21:00:00-08:00."]),
    ("hipaa", "HIPAA-BA-BAA-009", BAA, "2025-06-01T20:00:00Z", "V-CLAUSE", "violation",
     ["Transcription: BAA BAA-CLAUSE in effect since 2025-06-01 lacks SUBCONTRACTORS."]),
    ("hipaa", "HIPAA-BA-BAA-009", BAA, "2026-03-02T12:00:00Z", "V-CLAUSE", "violation",
     ["Transcription: BAA BAA-CLAUSE in effect since 2025-06-01 lacks SUBCONTRACTORS."]),
    ("hipaa", "HIPAA-BA-BAA-009", BAA, "2026-03-30T12:00:00Z", "V-EXIT", "due_soon",
     ["Former IT provider: the return or destruction of PHI must be attested by 2026-04-01 (BAA BAA-EXIT "
      "terminated 2026-03-02 + 30 days (baa_exit_days) for return or destruction)."]),
    ("hipaa", "HIPAA-BA-BAA-009", BAA, "2026-04-02T08:00:00Z", "V-EXIT", "overdue",
     ["the return or destruction of PHI had to be attested by 2026-04-01 (BAA BAA-EXIT terminated 2026-03-02",
      "and has not been attested."]),
    ("hipaa", "HIPAA-BA-BAA-009", BAA, "2026-04-03T12:00:00Z", "V-EXIT", "violation",
     ["the return or destruction of PHI had to be attested by 2026-04-01",
      "; it was attested only at 2026-04-02T07:00:00-07:00."]),
    ("hipaa", "HIPAA-BRN-DET-010", DET, "2026-03-28T12:00:00Z", "I-OPEN", "due_soon",
     ["Incident I-OPEN needs a documented breach determination by 2026-03-31 (discovered 2026-03-01 + 30 days "
      "(breach_determination_days))."]),
    ("hipaa", "HIPAA-BRN-DET-010", DET, "2026-04-02T12:00:00Z", "I-OPEN", "overdue",
     ["Incident I-OPEN needed a documented breach determination by 2026-03-31 (discovered 2026-03-01 + 30 days",
      "and none has been documented."]),
    ("hipaa", "HIPAA-BRN-DET-010", DET, "2026-03-10T22:00:00Z", "I-UNSUPPORTED", "violation",
     ["Incident I-UNSUPPORTED: determined not a breach on 2026-03-10 without a four-factor assessment",
      "; complete the four-factor assessment or record the exception."]),
    ("hipaa", "HIPAA-BRN-DET-010", DET, "2026-04-02T12:00:00Z", "I-UNSUPPORTED", "violation",
     ["Incident I-UNSUPPORTED: determined not a breach on 2026-03-10 without a four-factor assessment"]),
    ("osha", "OSHA-HAZ-012", HAZ, "2026-11-20T17:00:00Z", "EP-5", "due_soon",
     ["P-5 needs HazCom training before working with hazardous chemicals (due 2026-11-20)."]),
    ("osha", "OSHA-HAZ-012", HAZ, "2026-11-21T12:00:00Z", "EP-5", "overdue",
     ["P-5 needed HazCom training before working with hazardous chemicals: it was due by 2026-11-20 and has not "
      "been done."]),
    ("osha", "OSHA-HAZ-012", HAZ, "2026-11-21T12:00:00Z", "EP-2", "violation",
     ["P-2 began work with hazardous chemicals before HazCom training (trained 2026-03-03T08:00:00-08:00, needed by "
      "2026-03-02)."]),
    ("ai_use", "AI-CO-009", CO, "2026-06-15T12:00:00Z", "T4", "due_soon",
     ["High-risk AI tool Sepsis watch (PREDICTIVE_DSI) needs a Colorado impact assessment by 2026-06-30 "
      "(last review 2025-01-31T10:00:00-08:00)."]),
    ("ai_use", "AI-CO-009", CO, "2026-06-15T12:00:00Z", "T1", "due_soon",
     ["High-risk AI tool Triage score (PCDST) needs a Colorado impact assessment by 2026-06-30."]),
    ("ai_use", "AI-CO-009", CO, "2026-07-02T12:00:00Z", "T4", "overdue",
     ["High-risk AI tool Sepsis watch (PREDICTIVE_DSI) needed a Colorado impact assessment by 2026-06-30 "
      "(last review 2025-01-31T10:00:00-08:00) and has not had one."]),
    ("ai_use", "AI-CO-009", CO, "2026-07-02T12:00:00Z", "T1", "overdue",
     ["High-risk AI tool Triage score (PCDST) needed a Colorado impact assessment by 2026-06-30 and has not had "
      "one."]),
    ("ai_use", "AI-CO-009", CO, "2027-03-01T12:00:00Z", "T2", "overdue",
     ["Readmission model (PREDICTIVE_DSI) needed a Colorado impact assessment by 2027-02-28 (last review "
      "2026-02-28T10:00:00-08:00) and has not had one."]),
    ("ai_use", "AI-MON-012", MON, "2026-05-20T12:00:00Z", "T1", "due_soon",
     ["AI tool Reply drafter (GENAI_PATIENT_COMMS) needs its performance and bias review by 2026-06-01: 365 days "
      "after go-live on 2025-06-01T08:00:00-07:00."]),
    ("ai_use", "AI-MON-012", MON, "2026-05-20T12:00:00Z", "T2", "due_soon",
     ["AI tool Triage score (PCDST, high risk) needs its performance and bias review by 2026-06-01: 180 days "
      "after the last review on 2025-12-03T07:00:00-08:00."]),
    ("ai_use", "AI-MON-012", MON, "2026-06-03T12:00:00Z", "T1", "overdue",
     ["AI tool Reply drafter (GENAI_PATIENT_COMMS) needed its performance and bias review by 2026-06-01, 365 "
      "days after go-live on 2025-06-01T08:00:00-07:00, and has not had it."]),
    ("ai_use", "AI-MON-012", MON, "2026-06-03T12:00:00Z", "T3", "overdue",
     ["AI tool Note summarizer (GENAI_PATIENT_COMMS) needed its performance and bias review by 2026-06-01, 365 "
      "days after go-live on 2025-06-01T08:00:00-07:00, and has not had it."]),
    ("ai_use", "AI-MON-012", MON, "2026-06-03T12:00:00Z", "T2", "overdue",
     ["AI tool Triage score (PCDST, high risk) needed its performance and bias review by 2026-06-01, 180 days "
      "after the last review on 2025-12-03T07:00:00-08:00, and has not had it."]),
    ("osha", "OSHA-REC-ITA-005", ITA, "2026-02-20T12:00:00Z", "E2#2025", "due_soon",
     ["Submit the 2025 Form 300A data of establishment E2 (50 employees, NAICS 622110) to OSHA's Injury Tracking "
      "Application by 2026-03-02."]),
    ("osha", "OSHA-REC-ITA-005", ITA, "2026-03-03T12:00:00Z", "E2#2025", "overdue",
     ["The 2025 Form 300A data of establishment E2 (50 employees, NAICS 622110) had to be submitted to OSHA's "
      "Injury Tracking Application by 2026-03-02 and has not been submitted."]),
    ("osha", "OSHA-REC-ITA-005", ITA_LATE, "2026-03-10T12:00:00Z", "E2#2025", "violation",
     ["The 2025 ITA submission (S25) was made on 2026-03-05T10:00:00-05:00, after the 2026-03-02 deadline."]),
    ("osha", "OSHA-BBP-SIL-011", SIL, "2026-03-07T12:00:00Z", "C1#entry", "due_soon",
     ["Enter sharps injury C1 in the sharps injury log by 2026-03-08."]),
    ("osha", "OSHA-BBP-SIL-011", SIL, "2026-03-10T12:00:00Z", "C1#entry", "overdue",
     ["Sharps injury C1 was due in the sharps injury log by 2026-03-08 and has not been entered."]),
    ("osha", "OSHA-BBP-SIL-011", SIL, "2026-03-10T12:00:00Z", "C4#entry", "violation",
     ["Case C4 was entered in the sharps injury log on 2026-03-09T10:00:00-04:00, after 2026-03-08."]),
    ("osha", "OSHA-BBP-SIL-011", SIL, "2026-03-07T12:00:00Z", "C3#fields", "due_soon",
     ["The sharps injury log entry for case C3 lacks brand (due 2026-03-08)."]),
    ("osha", "OSHA-BBP-SIL-011", SIL, "2026-03-10T12:00:00Z", "C3#fields", "overdue",
     ["The sharps injury log entry for case C3 lacks brand (due 2026-03-08)."]),
    ("osha", "OSHA-BBP-ECP-007", ECP, "2026-03-05T12:00:00Z", "E2#review", "due_soon",
     ["The exposure control plan of Hosp was last reviewed 2025-03-15T10:00:00-04:00; the next review is due "
      "2026-03-15."]),
    ("osha", "OSHA-BBP-ECP-007", ECP, "2026-04-20T12:00:00Z", "E2#review", "overdue",
     ["The exposure control plan of Hosp was last reviewed 2025-03-15T10:00:00-04:00; the next review was due by "
      "2026-03-15 and has not been done."]),
    ("osha", "OSHA-BBP-ECP-007", ECP, "2026-03-05T12:00:00Z", "E2#new_position:lab_technician", "due_soon",
     ["The exposure control plan of Hosp must be reviewed to cover the new exposed position 'lab_technician' "
      "first filled 2026-03-02 by 2026-04-01."]),
    ("osha", "OSHA-BBP-ECP-007", ECP, "2026-04-20T12:00:00Z", "E2#new_position:lab_technician", "overdue",
     ["The exposure control plan of Hosp had to be reviewed to cover the new exposed position 'lab_technician' "
      "first filled 2026-03-02 by 2026-04-01 and has not been."]),
    ("osha", "OSHA-FIRE-014", FIRE, "2026-03-10T12:00:00Z", "EE1", "due_soon",
     ["Annual fire extinguisher training of P1 is due 2026-03-15 (last trained 2025-03-15T22:30:00-04:00)."]),
    ("osha", "OSHA-FIRE-014", FIRE, "2026-03-16T12:00:00Z", "EE1", "overdue",
     ["Annual fire extinguisher training of P1 was due by 2026-03-15 (last trained 2025-03-15T22:30:00-04:00) "
      "and has not been done."]),
    ("hipaa", "HIPAA-PRV-SNOOP-007", SNOOP, "2026-02-20T12:00:00Z", "X1#patient", "due_soon",
     ["u1 (P1, nurse) opened the chart of PT1 on 2026-02-13T10:00:00-08:00: SAME_SURNAME, NO_RELATIONSHIP. "
      "Triage by 2026-02-23."]),
    ("hipaa", "HIPAA-PRV-SNOOP-007", SNOOP, "2026-02-24T12:00:00Z", "X1#patient", "overdue",
     ["SAME_SURNAME, NO_RELATIONSHIP. Triage was due by 2026-02-23 and has not been recorded."]),
    ("hipaa", "HIPAA-SEC-ENC-008", ENC, "2026-01-15T20:00:00Z", "D1#not_encrypted", "violation",
     ["laptop D1 stores ePHI and is not verified as encrypted: its encryption status is recorded as verified, but "
      "no encryption check is on file as of 2026-01-15T12:00:00-08:00 (due since the hipaa_baseline_date "
      "2026-01-01)."]),
    ("hipaa", "HIPAA-SEC-ENC-008", ENC, "2026-01-15T20:00:00Z", "D2#not_encrypted", "violation",
     ["laptop D2 stores ePHI and is not verified as encrypted (encryption status none, never verified "
      "(hipaa_baseline_date 2026-01-01))."]),
    ("hipaa", "HIPAA-SEC-ENC-008", ENC, "2026-03-10T12:00:00Z", "D1#encryption_check", "overdue",
     ["The encryption of laptop D1 had to be re-verified by 2026-03-03 (encryption last verified 2026-02-01"]),
    ("hipaa", "HIPAA-SEC-ENC-008", ENC, "2026-03-10T12:00:00Z", "D5#sanitization", "violation",
     ["laptop D5 was disposed of without a sanitization record dated by the disposal (disposed 2026-02-20; media "
      "had to be sanitized or destroyed by then)."]),
    ("hipaa", "HIPAA-SEC-ENC-008", ENC, "2026-03-10T12:00:00Z", "D6#sanitization", "violation",
     ["media had to be sanitized or destroyed by then); sanitized only at 2026-02-21T10:00:00-08:00."]),
    ("ai_use", "AI-1557-ID-003", S1557, "2026-02-25T12:00:00Z", "T1", "due_soon",
     ["Decision-support tool risk (PCDST) went live 2026-02-01T08:00:00-08:00 and has no documented review",
      "; the review is due 2026-03-03."]),
    ("ai_use", "AI-1557-ID-003", S1557, "2026-03-10T12:00:00Z", "T1", "overdue",
     ["Decision-support tool risk (PCDST) went live 2026-02-01T08:00:00-08:00 and has no documented review",
      "; the review was due by 2026-03-03."]),
    ("ai_use", "AI-1557-MIT-004", S1557, "2026-02-20T12:00:00Z", "T2", "due_soon",
     ["Decision-support tool sepsis uses protected characteristics as inputs and has no approved mitigation",
      "on record; due 2026-03-02."]),
    ("ai_use", "AI-1557-MIT-004", S1557, "2026-03-10T12:00:00Z", "T2", "overdue",
     ["Decision-support tool sepsis uses protected characteristics as inputs and has no approved mitigation",
      "on record; it was due by 2026-03-02."]),
]
# (framework, rule, records, params, as_of, subject, state, phrases)
PARAM_CASES = [
    ("credentialing", "CRED-NPDB-005", NPDB, {"npdb_mode": "CONTINUOUS"}, "2025-02-20T04:00:00-08:00", "P1#NPDB",
     "due_soon", ["The NPDB Continuous Query enrollment for P1 (last on 2024-02-29) must be renewed by 2025-02-28."]),
    ("credentialing", "CRED-NPDB-005", NPDB, {"npdb_mode": "CONTINUOUS"}, "2025-03-05T04:00:00-08:00", "P1#NPDB",
     "overdue", ["The NPDB Continuous Query enrollment for P1 (last on 2024-02-29) had to be renewed by "
                 "2025-02-28 and has not been renewed."]),
    ("osha", "OSHA-HAZ-012", HAZ, {"hazcom_rev2024_retrain": True}, "2026-11-20T09:00:00-08:00", "EP-4#revision_2024",
     "due_soon", ["P-4 needs HazCom training on the 2024 revision's new hazard classifications by 2026-11-20."]),
    ("osha", "OSHA-HAZ-012", HAZ, {"hazcom_rev2024_retrain": True}, "2026-11-21T04:00:00-08:00", "EP-4#revision_2024",
     "overdue", ["P-4 needed HazCom training on the 2024 revision's new hazard classifications by 2026-11-20 and "
                 "has not had it."]),
    ("osha", "OSHA-HAZ-012", HAZ_RETRAINED, {"hazcom_rev2024_retrain": True}, "2026-11-26T04:00:00-08:00",
     "EP-4#revision_2024", "violation",
     ["P-4 needed HazCom training on the 2024 revision's new hazard classifications by 2026-11-20",
      "and was trained only at 2026-11-25T07:00:00-08:00."]),
]


def check(found: dict[str, tuple[str, str]], subject: str, state: str, phrases: list[str]) -> None:
    assert subject in found, found
    got_state, message = found[subject]
    assert got_state == state, (got_state, message)
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    wrong = PAST if state == "due_soon" else FUTURE
    for phrase in wrong:
        assert not re.search(rf"\b{phrase}\b", message), (phrase, message)


@pytest.mark.parametrize(("framework", "rule", "records", "as_of", "subject", "state", "phrases"), CASES,
                         ids=[f"{c[1]}-{c[4]}-{c[5]}" for c in CASES])
def test_message_tense_follows_state(framework: str, rule: str, records: list[dict[str, Any]], as_of: str,
                                     subject: str, state: str, phrases: list[str]) -> None:
    check(run(framework, rule, records, as_of), subject, state, phrases)


@pytest.mark.parametrize(("framework", "rule", "records", "params", "as_of", "subject", "state", "phrases"),
                         PARAM_CASES, ids=[f"{c[1]}-{c[5]}-{c[6]}-{c[3]}" for c in PARAM_CASES])
def test_message_tense_follows_state_with_params(framework: str, rule: str, records: list[dict[str, Any]],
                                                 params: dict[str, Any], as_of: str, subject: str, state: str,
                                                 phrases: list[str]) -> None:
    check(run(framework, rule, records, as_of, params), subject, state, phrases)
