"""Derivations for the osha rulesets (registered explicitly; see engine.rules.derive).

Matching is good at "this record and that record"; it is bad at "the establishment's peak headcount
last year across the whole company", "the latest ECP review", "the offer that came after the
first BBP training" or "learned_at + 8 h if the worker died within 30 days, else + 24 h". Those are
computed here, once, and handed to the rules as small derived facts.

Every derivation is pure: it reads the records it declares, the evaluation instant and the
ruleset's parameters, and does all date math through the calendar service (C1-C7). The evaluation
instant is applied here too (CONTRACT: whatever a record says happened after `as_of` has not
happened yet), because a derivation sees the stored records, not the facts built from them.

Derived facts that carry a deadline the rule cannot express as one `within` window (300A posting,
ECP review dates, BBP anniversaries, the 8 h / 24 h severe-injury clocks) name it `due_at`; the
rule then reads it with `within: {days: 0}` (or `{hours: 0}`) so the obligation machinery still
yields due_soon / overdue / late and the finding's `due`. `due_at` is a schedule field, so a
future value survives the as_of filter.

    osha_scope               reference  applicability per establishment and year (1904.1/.2/.41)
    osha_log_duty            osha_case  300/301 entry and privacy-case handling (1904.29)
    osha_severe_report       osha_case  8 h / 24 h reporting clocks (1904.39)
    osha_sharps_duty         osha_case  sharps injury log entry and fields (1910.1030(h)(5))
    osha_exposure_followup   osha_case  HBV follow-up after an exposure incident (1910.1030(f)(3))
    osha_post_report_action  osha_case  adverse action soon after an injury report (1904.35/.36)
    osha_300a_duty           establishment  300A preparation, certification and posting (1904.32)
    osha_ecp_duty            establishment  exposure control plan duties (1910.1030(c))
    osha_ita_duty            establishment  ITA electronic submission by 2 March (1904.41), with or without a 300A
    osha_hepb_offer          person     hepatitis B vaccine offer after training (1910.1030(f)(2))
    osha_bbp_training_duty   person     initial, annual and record-content duties (1910.1030(g)(2), (h)(2))
    osha_hazcom_duty         person     HazCom training duties (1910.1200(h))

Modules, imported below in the order their derivations were registered before the package was split
(registration follows import order): `scope` (applicability), `cases` (the osha_case family),
`establishment` (300A, ECP and ITA duties) and `employees` (hepatitis B offer, BBP and HazCom training);
`_common` holds the shared helpers.
"""

from __future__ import annotations

# isort: off
# Import order is registration order: keep it (see above).
from engine.rules.derive.osha.scope import (
    DEFAULT_OWN_LIST_STATES,
    ITA_APPENDIX_A,
    ITA_APPENDIX_B,
    PARTIALLY_EXEMPT_NAICS,
    SMALL_COMPANY_MAX,
    Scope,
    determine_scope,
    osha_scope,
)
from engine.rules.derive.osha.cases import (
    osha_exposure_followup,
    osha_log_duty,
    osha_post_report_action,
    osha_severe_report,
    osha_sharps_duty,
)
from engine.rules.derive.osha.establishment import (
    DEFAULT_CERTIFIER_TITLES,
    POSTING_FROM,
    POSTING_UNTIL,
    certifier_allowed,
    ITA_CYCLES,
    osha_300a_duty,
    osha_ecp_duty,
    osha_ita_duty,
)
from engine.rules.derive.osha.employees import (
    BBP_RECORD_YEARS,
    HAZCOM_2024_EFFECTIVE,
    HAZCOM_2024_SUBSTANCES_BY,
    osha_bbp_training_duty,
    osha_hazcom_duty,
    osha_hepb_offer,
)
# isort: on
from engine.rules.derive.osha._common import RETENTION_YEARS

__all__ = [
    "BBP_RECORD_YEARS",
    "DEFAULT_CERTIFIER_TITLES",
    "DEFAULT_OWN_LIST_STATES",
    "HAZCOM_2024_EFFECTIVE",
    "HAZCOM_2024_SUBSTANCES_BY",
    "ITA_APPENDIX_A",
    "ITA_APPENDIX_B",
    "ITA_CYCLES",
    "PARTIALLY_EXEMPT_NAICS",
    "POSTING_FROM",
    "POSTING_UNTIL",
    "RETENTION_YEARS",
    "SMALL_COMPANY_MAX",
    "Scope",
    "certifier_allowed",
    "determine_scope",
    "osha_300a_duty",
    "osha_bbp_training_duty",
    "osha_ecp_duty",
    "osha_exposure_followup",
    "osha_hazcom_duty",
    "osha_hepb_offer",
    "osha_ita_duty",
    "osha_log_duty",
    "osha_post_report_action",
    "osha_scope",
    "osha_severe_report",
    "osha_sharps_duty",
]
