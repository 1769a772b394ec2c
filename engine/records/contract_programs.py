"""Record models, second half of CONTRACT.md: incidents and requests, OSHA, credentials and
screening, AI use, MIPS. Names are binding; see `engine.records.schemas` for the conventions.
"""

from __future__ import annotations

from typing import Literal

from engine.records.envelope import Record
from engine.records.fields import (
    Count,
    Date,
    Flag,
    Instant,
    RecordId,
    StateCode,
    Text,
    Year,
)

# ---- Incidents and requests ----------------------------------------------------------------------


class Incident(Record):
    type: Literal["incident"]
    establishment_id: RecordId | None = None
    discovered_at: Instant | None = None
    discovered_by: Literal["covered_entity", "business_associate"] | None = None
    ba_vendor_id: RecordId | None = None
    ba_is_agent: Flag | None = None
    ba_discovered_at: Instant | None = None
    ba_notified_ce_at: Instant | None = None
    phi_involved: Flag | None = None
    unsecured: Flag | None = None
    determination: Literal["breach", "not_breach"] | None = None
    determination_at: Instant | None = None
    four_factor_documented: Flag | None = None
    exception_code: Text | None = None
    affected_total: Count | None = None
    affected_by_state: dict[StateCode, Count] | None = None
    bad_contact_count: Count | None = None
    le_delay_kind: Literal["oral", "written"] | None = None
    le_delay_start: Instant | None = None
    le_delay_until: Instant | None = None
    individual_notice_at: Instant | None = None
    hhs_notice_at: Instant | None = None
    media_notice_at: dict[StateCode, Instant] | None = None


class AccessRequest(Record):
    type: Literal["access_request"]
    patient_id: RecordId | None = None
    establishment_id: RecordId | None = None
    kind: Literal["access", "amendment", "accounting"] | None = None
    received_at: Instant | None = None
    extension_notice_at: Instant | None = None
    completed_at: Instant | None = None
    denied_at: Instant | None = None


# ---- OSHA ----------------------------------------------------------------------------------------


class OshaCase(Record):
    type: Literal["osha_case"]
    establishment_id: RecordId | None = None
    person_id: RecordId | None = None
    incident_at: Instant | None = None
    learned_at: Instant | None = None
    recordable: Flag | None = None
    privacy_case: Flag | None = None
    sharps: Flag | None = None
    logged_at: Instant | None = None
    f301_at: Instant | None = None
    died_at: Instant | None = None
    inpatient_admit_at: Instant | None = None
    amputation: Flag | None = None
    eye_loss: Flag | None = None
    reported_to_osha_at: Instant | None = None
    sharps_log_at: Instant | None = None
    device_type: Text | None = None
    device_brand: Text | None = None
    work_area: Text | None = None


class OshaSummary(Record):
    type: Literal["osha_summary"]
    establishment_id: RecordId | None = None
    year: Year | None = None
    certified_at: Instant | None = None
    certifier_title: Text | None = None
    posted_from: Date | None = None
    posted_until: Date | None = None
    ita_submitted_at: Instant | None = None


class ExposureControlPlan(Record):
    type: Literal["exposure_control_plan"]
    establishment_id: RecordId | None = None
    reviewed_at: Instant | None = None
    safer_devices_reviewed: Flag | None = None
    frontline_input_documented: Flag | None = None


# ---- Credentials and screening -------------------------------------------------------------------


class Credential(Record):
    type: Literal["credential"]
    person_id: RecordId | None = None
    kind: (
        Literal[
            "STATE_LICENSE", "DEA", "STATE_CSR", "BOARD_CERT", "MALPRACTICE",
            "BLS", "ACLS", "PALS", "CLIA", "CAQH_ATTESTATION",
        ]
        | None
    ) = None  # fmt: skip
    jurisdiction: Text | None = None
    number: Text | None = None
    issued_at: Instant | None = None
    expires_at: Instant | None = None
    expiry_rule: Literal["exact", "end_of_month"] | None = None
    status: Text | None = None
    verified_at: Instant | None = None
    source: Text | None = None
    renewal_submitted_at: Instant | None = None


class Screening(Record):
    type: Literal["screening"]
    person_id: RecordId | None = None
    source: Literal["LEIE", "SAM", "STATE_MEDICAID"] | None = None
    checked_at: Instant | None = None
    result: Literal["clear", "possible_match", "excluded"] | None = None


# ---- AI use --------------------------------------------------------------------------------------


class AiTool(Record):
    type: Literal["ai_tool"]
    vendor_id: RecordId | None = None
    name: Text | None = None
    category: (
        Literal["PCDST", "PREDICTIVE_DSI", "GENAI_PATIENT_COMMS", "AMBIENT_SCRIBE", "ADMIN", "MH_CHATBOT"] | None
    ) = None
    uses_phi: Flag | None = None
    uses_protected_characteristics: Flag | None = None
    approved_at: Instant | None = None
    owner_person_id: RecordId | None = None
    last_perf_review_at: Instant | None = None


class AiOutput(Record):
    type: Literal["ai_output"]
    tool_id: RecordId | None = None
    kind: Literal["NOTE_DRAFT", "PATIENT_MESSAGE", "RECOMMENDATION"] | None = None
    establishment_id: RecordId | None = None
    clinical_content: Flag | None = None
    created_at: Instant | None = None
    reviewed_by_person_id: RecordId | None = None
    reviewed_at: Instant | None = None
    sent_at: Instant | None = None
    disclaimer_present: Flag | None = None


class Encounter(Record):
    type: Literal["encounter"]
    patient_id: RecordId | None = None
    clinician_person_id: RecordId | None = None
    establishment_id: RecordId | None = None
    at: Instant | None = None
    modality: Literal["in_person", "telehealth"] | None = None
    clinician_state: StateCode | None = None
    patient_state: StateCode | None = None
    ambient_recording: Flag | None = None
    recording_started_at: Instant | None = None
    recording_consent_at: Instant | None = None


# ---- MIPS ----------------------------------------------------------------------------------------


class MeasureCase(Record):
    type: Literal["measure_case"]
    py: Year | None = None
    measure_id: Text | None = None
    clinician_npi: Text | None = None
    tin: Text | None = None
    patient_id: RecordId | None = None
    eligible: Flag | None = None
    excluded: Flag | None = None
    exception: Flag | None = None
    met: Flag | None = None
    reported: Flag | None = None


class MipsSubmission(Record):
    type: Literal["mips_submission"]
    py: Year | None = None
    tin: Text | None = None
    submitted_at: Instant | None = None
    category: Text | None = None
