"""Planted compliance problems, one module per framework (catalog sections 1-5).

Each module builds its domain's records (clean ones and deliberately broken ones) and registers
what it broke with `World.plant(rule_id, subject_type, subject_id, note)`; near-miss clean cases
at a boundary go to `World.near(...)`. Rules whose facts the contract cannot carry are listed in
`UNPLANTABLE` with the reason; rules planted only in part say what is missing in `PARTIAL`.
"""

from __future__ import annotations

# Every rule id of regulatory-catalog.md sections 1-5, in catalog order, with its framework.
CATALOG_RULES: tuple[tuple[str, str], ...] = (
    ("HIPAA-SEC-RA-001", "hipaa"), ("HIPAA-ADM-TRN-002", "hipaa"), ("HIPAA-ADM-SAN-003", "hipaa"),
    ("HIPAA-SEC-TERM-004", "hipaa"), ("HIPAA-SEC-UID-005", "hipaa"), ("HIPAA-SEC-AUD-006", "hipaa"),
    ("HIPAA-PRV-SNOOP-007", "hipaa"), ("HIPAA-SEC-ENC-008", "hipaa"), ("HIPAA-BA-BAA-009", "hipaa"),
    ("HIPAA-BRN-DET-010", "hipaa"), ("HIPAA-BRN-IND-011", "hipaa"), ("HIPAA-BRN-HHS-012", "hipaa"),
    ("HIPAA-BRN-MEDIA-013", "hipaa"), ("HIPAA-PRV-ACC-014", "hipaa"), ("HIPAA-PRV-NPP-015", "hipaa"),
    ("OSHA-REC-SCOPE-001", "osha"), ("OSHA-REC-LOG-002", "osha"), ("OSHA-REC-300A-003", "osha"),
    ("OSHA-REC-RET-004", "osha"), ("OSHA-REC-ITA-005", "osha"), ("OSHA-REP-SEVERE-006", "osha"),
    ("OSHA-BBP-ECP-007", "osha"), ("OSHA-BBP-HEPB-008", "osha"), ("OSHA-BBP-TRN-009", "osha"),
    ("OSHA-BBP-PEP-010", "osha"), ("OSHA-BBP-SIL-011", "osha"), ("OSHA-HAZ-012", "osha"),
    ("OSHA-EAP-013", "osha"), ("OSHA-FIRE-014", "osha"), ("OSHA-POST-015", "osha"),
    ("CMS-MIPS-ELIG-001", "cms"), ("CMS-MIPS-SUB-002", "cms"), ("CMS-MIPS-Q-COUNT-003", "cms"),
    ("CMS-MIPS-Q-DC-004", "cms"), ("CMS-MIPS-Q-CASE-005", "cms"), ("CMS-MIPS-PI-006", "cms"),
    ("CMS-MIPS-IA-007", "cms"), ("CMS-QM-001-008", "cms"), ("CMS-QM-236-009", "cms"),
    ("CMS-QM-226-010", "cms"), ("CMS-QM-134-011", "cms"), ("CMS-QM-130-012", "cms"),
    ("CMS-ENR-REVAL-013", "cms"), ("CMS-ENR-CHG-014", "cms"), ("CMS-EXCL-LEIE-015", "cms"),
    ("CRED-LIC-001", "credentialing"), ("CRED-DEA-002", "credentialing"), ("CRED-CSR-003", "credentialing"),
    ("CRED-BOARD-004", "credentialing"), ("CRED-NPDB-005", "credentialing"),
    ("CRED-CAQH-006", "credentialing"), ("CRED-NCQA-RECRED-007", "credentialing"),
    ("CRED-NCQA-PSV-008", "credentialing"), ("CRED-MON-009", "credentialing"),
    ("CRED-MAL-010", "credentialing"), ("CRED-CLIA-011", "credentialing"), ("CRED-BLS-012", "credentialing"),
    ("AI-GOV-INV-001", "ai"), ("AI-BAA-002", "ai"), ("AI-1557-ID-003", "ai"), ("AI-1557-MIT-004", "ai"),
    ("AI-HTI1-DSI-005", "ai"), ("AI-CA-3030-006", "ai"), ("AI-CA-489-007", "ai"), ("AI-TX-008", "ai"),
    ("AI-CO-009", "ai"), ("AI-SCRIBE-010", "ai"), ("AI-HITL-011", "ai"), ("AI-MON-012", "ai"),
    ("AI-STATE-MH-013", "ai"),
)  # fmt: skip
FRAMEWORK_OF = dict(CATALOG_RULES)

UNPLANTABLE: dict[str, str] = {
    "HIPAA-PRV-NPP-015": (
        "The contract has no Notice of Privacy Practices data (npp_provided_at, acknowledgment or "
        "documented good-faith attempt, NPP version, site and website posting), so no record can show a "
        "missing, late or outdated NPP."
    ),
    "OSHA-POST-015": (
        "Needs poster verifications, onboarding acknowledgments of the injury-reporting procedure and HR "
        "adverse actions; none of these is a contract record type."
    ),
    "CMS-MIPS-ELIG-001": (
        "Needs Part B allowed charges, beneficiary and service counts per determination segment, clinician "
        "type, Medicare enrollment and QP status; the contract only carries the outcome "
        "(organization.mips_participant_by_py), and the rule is informational."
    ),
    "CMS-MIPS-IA-007": (
        "Needs improvement activities with start/end dates and evidence; the contract has no activity "
        "record (mips_submission only says that a category was submitted)."
    ),
    "CMS-ENR-REVAL-013": (
        "Needs Medicare enrollment records (PECOS revalidation due dates, 855 applications); not in the "
        "contract."
    ),
    "OSHA-REC-RET-004": (
        "Vigil's record store never deletes a record, and the contract has no purge log or employee copy "
        "request, so nothing can be kept too briefly; a Form 300A never prepared is OSHA-REC-300A-003's."
    ),
    "CMS-ENR-CHG-014": (
        "Needs enrollment change events (ownership, adverse legal action, practice location) and the dates "
        "they were reported in PECOS; not in the contract."
    ),
}

PARTIAL: dict[str, str] = {
    "OSHA-BBP-PEP-010": (
        "No post-exposure evaluation, source testing or written opinion fields: planted as a sharps "
        "exposure of an employee without hepatitis B protection and no vaccine offer recorded after it "
        "(the osha ruleset's convention)."
    ),
    "CRED-NPDB-005": (
        "No NPDB record type: a query is a credential whose source names the NPDB (the credentialing "
        "ruleset's convention); planted as a last NPDB query more than 24 months old."
    ),
    "CRED-NCQA-RECRED-007": (
        "No credentialing-decision record: the cycle runs from the oldest state-license verification "
        "(the credentialing ruleset's convention); planted as a license last verified 37 months ago."
    ),
    "CRED-NCQA-PSV-008": (
        "No credentialing-decision record: the decision is the start of the current licensed engagement "
        "(the credentialing ruleset's convention); planted as a board certification verified 150 days "
        "before it, and a claimed certification never verified."
    ),
    "HIPAA-ADM-TRN-002": (
        "Material policy changes are not representable (no policy record); that branch is not planted."
    ),
    "HIPAA-PRV-SNOOP-007": (
        "No shift schedules or departments in the contract: 'outside shift' is planted as 23:00-03:00 "
        "local at the user's site, and every relationship is a person-level care_link."
    ),
    "HIPAA-SEC-ENC-008": "'Approved documented alternative' is only the encryption_status value.",
    "HIPAA-BA-BAA-009": "No contract-signing/go-live record: a scheduled go-live is a phi_flow with a future first_at.",
    "HIPAA-BRN-IND-011": (
        "Notice content (164.404(c) elements) and substitute notice (web posting, media, toll-free line) "
        "have no fields; bad_contact_count >= 10 is planted but the absence of substitute notice is implicit."
    ),
    "HIPAA-PRV-ACC-014": "No fee data: the cost-based fee branch is not planted.",
    "OSHA-REC-SCOPE-001": "Informational gate; OSHA/BLS written requests are not representable.",
    "OSHA-BBP-ECP-007": "New sharp devices/procedures going live are not representable.",
    "OSHA-HAZ-012": (
        "No SDS, chemical inventory, labels or written program: planted only as an exposed employee "
        "(occupational_exposure=true, lab) with no HAZCOM training record."
    ),
    "OSHA-EAP-013": (
        "No written plan, exit walk-through or drill records: planted only as a new employee never briefed "
        "on the emergency action plan (no EAP training record)."
    ),
    "OSHA-FIRE-014": (
        "No extinguisher inspection/maintenance records: planted only as annual FIRE_EXT training "
        "overdue for an active employee."
    ),
    "CMS-MIPS-PI-006": (
        "PI period, SAFER Guide self-assessment and CEHRT ID have no fields: planted only via the SRA "
        "link (no risk analysis in the performance year)."
    ),
    "CMS-MIPS-Q-COUNT-003": "Measure type/high-priority flags come from CMS measures data, not records.",
    "CRED-LIC-001": "Compact privileges and claim holds are not representable.",
    "CRED-DEA-002": (
        "No controlled-substance prescriptions in the contract: planted as a lapsed DEA registration of "
        "an active prescriber (plus a timely-renewal near miss); the MATE attestation is not representable."
    ),
    "CRED-CSR-003": "No prescriptions: planted as a lapsed Illinois CSR of an active prescriber.",
    "CRED-BOARD-004": "Role requirements and eligibility windows are parameters; no 'claimed' flag.",
    "CRED-MAL-010": "Coverage limits and tail/prior-acts coverage have no fields: planted as uncovered encounters.",
    "CRED-CLIA-011": (
        "No test results or complexity, and a credential has no establishment link: the CLIA certificate "
        "is held by the lab director; planted as expiry within 90 days without renewal."
    ),
    "CRED-BLS-012": "No shift data: an active episode in a BLS-required role stands in for clinical shifts.",
    "CRED-MON-009": "Licensing-board checks are credential.verified_at; complaints/adverse events not representable.",
    "AI-GOV-INV-001": "No usage telemetry or tool version: 'in use' means ai_output records exist.",
    "AI-1557-ID-003": (
        "No input_variables list: uses_protected_characteristics=null means 'no documented input review'."
    ),
    "AI-1557-MIT-004": (
        "No mitigation-plan record: every tool with uses_protected_characteristics=true approved more than "
        "30 days ago lacks an approved plan by construction."
    ),
    "AI-HTI1-DSI-005": (
        "No CEHRT certification or source-attribute review fields: proxy is a predictive DSI in use with no "
        "recorded review (last_perf_review_at null)."
    ),
    "AI-CA-3030-006": "No channel/disclaimer position or human-contact text: disclaimer_present stands for both.",
    "AI-CA-489-007": "Only the tool name can carry persona text.",
    "AI-TX-008": (
        "No AI-disclosure field, and ai_output has no encounter link: planted as a Texas-patient encounter "
        "recorded by the ambient AI scribe, which cannot carry a disclosure."
    ),
    "AI-CO-009": (
        "No risk tier or impact-assessment records: planted as a predictive DSI used in care decisions at "
        "the Colorado site (advisory rule)."
    ),
    "AI-SCRIBE-010": "Consent withdrawal (recording_stopped_at) is not representable.",
    "AI-HITL-011": (
        "ai_output has no 'final'/'billed' state or encounter link: planted as AI note drafts unreviewed "
        "beyond the 72 h window."
    ),
    "AI-MON-012": "No risk tier or AI safety-event records: the tool category is the risk proxy.",
    "AI-STATE-MH-013": "Utah disclosure events are not representable; the user's state is the establishment's.",
}
