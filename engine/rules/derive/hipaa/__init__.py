"""Derivations for the hipaa rulesets (registered explicitly; see engine.rules.derive).

Matching is good at "this record, and that one related to it"; these derivations do the rest for
catalog section 1: "latest record" choices, coverage checks, counts per state or per hour, joins
across bundle families (an access event to its user, that user's person and the patient), and every
deadline whose start the law moves (a business associate acting as agent, a law-enforcement delay,
a void extension). Dates go through the calendar service (`engine.rules.calendar`); nothing here does
its own date arithmetic.

The modules, by job: `safeguards` (risk analysis, audit controls, devices, business associate
agreements, the NPP), `workforce` (training, termination, log-ins, sanctions), `breach` (breach
clocks and notices), `requests` (individuals' requests), `snooping` (access alerts), and `_common`
(the private helpers they share). Importing this package imports them all, which registers their
derivations; the names other code uses are re-exported here.

Conventions shared by every derivation in this package:

- Inputs are raw stored records, so the evaluation instant is applied here exactly as
  `engine.rules.facts` applies it to records: a record whose existence field lies after `as_of`
  does not exist yet, and any other "happened" instant after `as_of` has not happened
  (`_AsOf.happened`). Schedule fields (`due_at`, `le_delay_until`, `effective_at`, ...) keep
  future values.
- Most outputs are *duties*: one fact per thing the practice owes, with `due_at` (a local date, or
  a UTC instant for hour windows) computed with the calendar service in the zone of the establishment
  the duty belongs to, and `met_at` when it was done. A rule matches the duty next to the record it is
  about and declares `obligation: {anchor: duty.due_at, within: {days: 0}, met_at: duty.met_at}`, so
  `due_soon` / `overdue` / `late` are judged by the engine exactly as for any obligation, while the
  start of the clock and the length of the window (which vary per duty) are worked out here. Each
  duty carries `basis`, the working in words, for the finding's message.
- Each fact lists its source records as evidence and joins the bundle of the record it is about
  (`engine.rules.bundles`), so a rule can name that record as the finding's subject.
"""

from __future__ import annotations

# isort: off
# in the order their first derivation appeared in the one module this package replaced (the
# registry iterates sorted by name, so this order is kept for tidiness, not for any output)
from engine.rules.derive.hipaa._common import Inputs, Source
from engine.rules.derive.hipaa.safeguards import (
    NPP_PART2_COMPLIANCE_DATE,
    RISK_RATINGS_HIGH,
    RiskAnalyses,
    audit_duties,
    baa_in_place,
    clause_codes,
    device_duties,
    npp_duties,
    risk_analysis_duties,
    vendor_duties,
)
from engine.rules.derive.hipaa.workforce import (
    HIPAA_COURSES,
    account_issues,
    sanction_duties,
    termination_duties,
    training_duties,
)
from engine.rules.derive.hipaa.breach import (
    BREACH_NOTICE_DAYS,
    HHS_IMMEDIATE_THRESHOLD,
    HHS_LOG_DAYS_AFTER_YEAR_END,
    MEDIA_STATE_THRESHOLD,
    ORAL_LE_DELAY_MAX_DAYS,
    BreachClock,
    breach_clock,
    breach_duties,
)
from engine.rules.derive.hipaa.requests import REQUEST_DAYS, REQUEST_EXTENSION_DAYS, request_duties
from engine.rules.derive.hipaa.snooping import ACTIVITY_FLAGS, PATIENT_FLAG_SET, PATIENT_FLAGS, access_alerts
# isort: on

__all__ = [
    "ACTIVITY_FLAGS",
    "BREACH_NOTICE_DAYS",
    "HHS_IMMEDIATE_THRESHOLD",
    "HHS_LOG_DAYS_AFTER_YEAR_END",
    "HIPAA_COURSES",
    "MEDIA_STATE_THRESHOLD",
    "NPP_PART2_COMPLIANCE_DATE",
    "ORAL_LE_DELAY_MAX_DAYS",
    "PATIENT_FLAGS",
    "PATIENT_FLAG_SET",
    "REQUEST_DAYS",
    "REQUEST_EXTENSION_DAYS",
    "RISK_RATINGS_HIGH",
    "BreachClock",
    "Inputs",
    "Source",
    "access_alerts",
    "account_issues",
    "audit_duties",
    "breach_clock",
    "breach_duties",
    "RiskAnalyses",
    "baa_in_place",
    "clause_codes",
    "device_duties",
    "npp_duties",
    "request_duties",
    "risk_analysis_duties",
    "sanction_duties",
    "termination_duties",
    "training_duties",
    "vendor_duties",
]
