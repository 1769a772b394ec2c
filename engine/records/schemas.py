"""The record contract as pydantic models: one strict model per record type of CONTRACT.md.

These models are the single source of the contract: the importers validate against them, the JSON
Schema in `docs/schema/records.schema.json` is generated from them, and the rules read the stored
records through them. Names are binding (acceptance suites and practices' exports use them), so a
field is never renamed or dropped here without a migration note in the changelog.

Every field except `type` and `id` is optional: a practice's export is often partial, and missing
data must reach the rules as "unknown" (which never counts as satisfied) rather than stop the
import. Unknown fields are an error, never silently dropped (`extra="forbid"`).

Field conventions: `*_at` fields are instants (offset required); `dob`, `date`, `posted_from` and
`posted_until` are dates; `py` and `year` are integer years; dict fields keyed by year use the year
as a string key (`{"2026": true}`), and dict fields keyed by state use the USPS code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from engine.records.fields import (
    Count,
    Date,
    Flag,
    Instant,
    Naics,
    Number,
    RecordId,
    StateCode,
    Text,
    Year,
    YearKey,
    Zone,
)


class Record(BaseModel):
    """The envelope every record shares: its `type` and its `id` (unique per type in an org)."""

    model_config = ConfigDict(extra="forbid")

    type: str
    id: RecordId


# ---- Core ----------------------------------------------------------------------------------------


class Organization(Record):
    type: Literal["organization"]
    name: Text | None = None
    states: list[StateCode] | None = None
    fte_count: Number | None = None
    receives_federal_financial_assistance: Flag | None = None
    mips_participant_by_py: dict[YearKey, Flag] | None = None


class Establishment(Record):
    type: Literal["establishment"]
    org_id: RecordId | None = None
    name: Text | None = None
    naics: Naics | None = None
    state: StateCode | None = None
    tz: Zone | None = None
    osha_state_plan: Flag | None = None
    max_concurrent_employees: dict[YearKey, Count] | None = None
    employees_any_time: dict[YearKey, Count] | None = None
    holiday_calendar: Text | None = None


class Person(Record):
    type: Literal["person"]
    first_name: Text | None = None
    last_name: Text | None = None
    dob: Date | None = None
    address: Text | None = None
    patient_id: RecordId | None = None


class EmploymentEpisode(Record):
    type: Literal["employment_episode"]
    person_id: RecordId | None = None
    establishment_id: RecordId | None = None
    role: Text | None = None
    start_at: Instant | None = None
    end_at: Instant | None = None
    occupational_exposure: Flag | None = None
    exposure_assignment_at: Instant | None = None
    phi_access_required: Flag | None = None
    licensed_clinician: Flag | None = None


class Patient(Record):
    type: Literal["patient"]
    last_name: Text | None = None
    first_name: Text | None = None
    dob: Date | None = None
    address: Text | None = None
    state: StateCode | None = None
    vip: Flag | None = None
    record_restricted: Flag | None = None
    is_workforce_person_id: RecordId | None = None


# ---- Systems and access --------------------------------------------------------------------------


class System(Record):
    type: Literal["system"]
    name: Text | None = None
    stores_ephi: Flag | None = None
    audit_logging_enabled: Flag | None = None
    last_audit_review_at: Instant | None = None
    log_retention_days: Count | None = None
    added_at: Instant | None = None


class Account(Record):
    type: Literal["account"]
    system_id: RecordId | None = None
    user_id: Text | None = None
    person_id: RecordId | None = None
    interactive: Flag | None = None
    generic: Flag | None = None
    enabled_at: Instant | None = None
    disabled_at: Instant | None = None
    mfa_remote: Flag | None = None


class AccessEvent(Record):
    type: Literal["access_event"]
    system_id: RecordId | None = None
    user_id: Text | None = None
    patient_id: RecordId | None = None
    at: Instant | None = None
    action: Literal["view", "print", "export", "edit"] | None = None
    break_glass: Flag | None = None


class CareLink(Record):
    type: Literal["care_link"]
    patient_id: RecordId | None = None
    person_id: RecordId | None = None
    department_id: RecordId | None = None
    kind: (
        Literal[
            "appointment",
            "encounter",
            "order",
            "result_routing",
            "referral",
            "message",
            "billing_item",
            "task",
        ]
        | None
    ) = None
    date: Date | None = None


class Device(Record):
    type: Literal["device"]
    kind: Text | None = None
    stores_ephi: Flag | None = None
    encryption_status: Literal["verified", "unverified", "none", "alternative_documented"] | None = None
    encryption_checked_at: Instant | None = None
    disposed_at: Instant | None = None
    sanitized_at: Instant | None = None


# ---- Training and people -------------------------------------------------------------------------


class TrainingRecord(Record):
    type: Literal["training_record"]
    person_id: RecordId | None = None
    course: Literal["HIPAA_PRIVACY", "HIPAA_SECURITY", "BBP", "HAZCOM", "FIRE_EXT", "EAP", "S1557", "AI_USE"] | None = (
        None
    )
    completed_at: Instant | None = None
    content_version: Text | None = None
    trainer: Text | None = None


class HepbVaccination(Record):
    type: Literal["hepb_vaccination"]
    person_id: RecordId | None = None
    offered_at: Instant | None = None
    declined_at: Instant | None = None
    series_completed_at: Instant | None = None
    antibody_immune: Flag | None = None
    contraindicated: Flag | None = None


class Investigation(Record):
    type: Literal["investigation"]
    subject_person_id: RecordId | None = None
    opened_at: Instant | None = None
    closed_at: Instant | None = None
    outcome: Text | None = None


class SanctionRecord(Record):
    type: Literal["sanction_record"]
    investigation_id: RecordId | None = None
    person_id: RecordId | None = None
    level: Text | None = None
    decided_at: Instant | None = None
    acknowledged_at: Instant | None = None


# ---- Risk and vendors ----------------------------------------------------------------------------


class RiskAnalysis(Record):
    type: Literal["risk_analysis"]
    completed_at: Instant | None = None
    scope_system_ids: list[RecordId] | None = None
    approved_by: Text | None = None


class RiskItem(Record):
    type: Literal["risk_item"]
    risk_analysis_id: RecordId | None = None
    rating: Literal["low", "medium", "high", "critical"] | None = None
    owner_person_id: RecordId | None = None
    due_at: Instant | None = None
    status: Literal["open", "closed"] | None = None


class Vendor(Record):
    type: Literal["vendor"]
    name: Text | None = None
    handles_phi: Flag | None = None
    relationship_type: Literal["business_associate", "treatment_provider", "conduit", "other"] | None = None
    is_ai: Flag | None = None


class Baa(Record):
    type: Literal["baa"]
    vendor_id: RecordId | None = None
    signed_at: Instant | None = None
    effective_at: Instant | None = None
    terminated_at: Instant | None = None
    clauses: list[Text] | None = None
    return_or_destroy_attested_at: Instant | None = None


class PhiFlow(Record):
    type: Literal["phi_flow"]
    vendor_id: RecordId | None = None
    first_at: Instant | None = None


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


# ---- Registry ------------------------------------------------------------------------------------

_MODELS: tuple[type[Record], ...] = (
    Organization, Establishment, Person, EmploymentEpisode, Patient,
    System, Account, AccessEvent, CareLink, Device,
    TrainingRecord, HepbVaccination, Investigation, SanctionRecord,
    RiskAnalysis, RiskItem, Vendor, Baa, PhiFlow,
    Incident, AccessRequest,
    OshaCase, OshaSummary, ExposureControlPlan,
    Credential, Screening,
    AiTool, AiOutput, Encounter,
    MeasureCase, MipsSubmission,
)  # fmt: skip


def record_type_of(model: type[Record]) -> str:
    """The `type` literal a record model accepts."""
    (name,) = get_args(model.model_fields["type"].annotation)
    return str(name)


RECORD_MODELS: dict[str, type[Record]] = {record_type_of(m): m for m in _MODELS}
"""Record type name -> its model, in contract order."""

EVENT_TYPES: frozenset[str] = frozenset({"access_event", "ai_output", "encounter"})
"""Event types are immutable once imported; every other type is versioned."""


# ---- What the store hands back -------------------------------------------------------------------


class StoredRecord(BaseModel):
    """One stored version of a record, with who recorded it, when and from where.

    `data` holds the record's fields as JSON values (instants keep the offset they were given;
    null fields are omitted), including `type` and `id`. `recorded_at` is the knowledge time:
    the instant the import that wrote this version ran, in UTC.
    """

    model_config = ConfigDict(frozen=True)

    type: str
    id: str
    version: int
    data: dict[str, Any]
    content_hash: str
    recorded_at: dt.datetime
    actor: str
    source: str
    establishment_id: str | None = None

    def as_model(self) -> Record:
        """The typed record (instants as aware datetimes, dates as dates)."""
        return RECORD_MODELS[self.type].model_validate(self.data)


class TypeCounts(BaseModel):
    """What one import did to the records of one type."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


class ImportReport(BaseModel):
    """The outcome of one successful import call: counts per type, total and duration."""

    counts: dict[str, TypeCounts] = Field(default_factory=dict)
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duration_s: float = 0.0
    recorded_at: dt.datetime | None = None
    sources: list[str] = Field(default_factory=list)

    @classmethod
    def from_tally(
        cls, tally: Mapping[tuple[str, str], int], *, duration_s: float, recorded_at: dt.datetime
    ) -> ImportReport:
        """A report from (type, outcome) -> count, outcome being created, updated or unchanged."""
        report = cls(duration_s=duration_s, recorded_at=recorded_at)
        for (record_type, outcome), n in sorted(tally.items()):
            per_type = report.counts.setdefault(record_type, TypeCounts())
            setattr(per_type, outcome, getattr(per_type, outcome) + n)
            setattr(report, outcome, getattr(report, outcome) + n)
            report.total += n
        return report

    @property
    def records_per_second(self) -> float:
        return self.total / self.duration_s if self.duration_s > 0 else 0.0
