"""Record models, first half of CONTRACT.md: core, systems and access, training and people, risk
and vendors. Names are binding; see `engine.records.schemas` for the conventions and the registry.
"""

from __future__ import annotations

from typing import Literal

from engine.records.envelope import Record
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
    YearKey,
    Zone,
)

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
