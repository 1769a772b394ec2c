"""Derivations for the cms rulesets (registered explicitly; see engine.rules.derive).

Catalog section 3: MIPS (Quality Payment Program), Medicare enrollment, exclusion screening. Matching
is bad at what these do, so it happens here, once, with the calendar service for every date:

- `cms_mips_year` (reference): one fact per performance year (PY) in view, with the practice's
  recorded participation status and where the PY stands (in progress, submission window open).
- `cms_mips_category`: one fact per required PY, TIN and category with the first submission.
- `cms_measure_stats`: data completeness, case count and performance counts per PY, reporting
  entity and quality measure (from `measure_case`); no rounding anywhere (749/1000 fails).
- `cms_quality_set`: how many measures of a PY and entity meet data completeness, and whether one of
  them is an outcome or high-priority measure.
- `cms_pi_requirement`, `cms_ia_status`: Promoting Interoperability and Improvement Activities duties
  of a required PY, from `risk_analysis` records and the practice's MIPS plan parameters.
- `cms_enrollment`, `cms_enrollment_change`: the practice's Medicare enrollment register (parameters:
  the record contract has no enrollment record type yet).
- `cms_excl_duty`: exclusion-screening duties per person (pre-hire check, a check in every calendar
  month or every 30 days, review of possible matches, removal of excluded persons).

Modules, imported below in the order their derivations were registered before the package was split
(registration follows import order): `mips` (performance years, category submissions), `quality`
(quality measures), `pi_ia` (Promoting Interoperability, Improvement Activities), `enrollment`
(Medicare enrollment) and `exclusion` (exclusion screening, registered last); `_common` holds the
family's constants and shared helpers.

Every function is pure: it reads its inputs, `ctx.as_of` and `ctx.params`, and yields facts in a
deterministic order. Records dated after `as_of` have not happened yet and are ignored here, as the
fact builder ignores them for rules (CONTRACT: two kinds of time).
"""

from __future__ import annotations

# isort: off
# Import order is registration order: keep it (see above).
from engine.rules.derive.cms.mips import mips_categories, mips_years
from engine.rules.derive.cms.quality import dc_meets, measure_stats, quality_sets
from engine.rules.derive.cms.pi_ia import ia_status, pi_requirements
from engine.rules.derive.cms.enrollment import (
    ENROLLMENT_OTHER_DAYS,
    ENROLLMENT_SHORT_CHANGES,
    ENROLLMENT_SHORT_DAYS,
    REVALIDATION_DEFAULT_YEARS,
    REVALIDATION_YEARS,
    enrollment_changes,
    enrollments,
)
from engine.rules.derive.cms.exclusion import exclusion_duties
# isort: on
from engine.rules.derive.cms._common import (
    CATEGORY_LABELS,
    ECQM_TO_QUALITY_ID,
    QPP_CALENDAR,
    QPP_CLOSE,
    QPP_TZ,
    normalize_category,
    normalize_measure,
    org_today,
    pys_in_view,
    qpp_local_text,
    qpp_today,
    submission_close,
)

__all__ = [
    "CATEGORY_LABELS",
    "ECQM_TO_QUALITY_ID",
    "ENROLLMENT_OTHER_DAYS",
    "ENROLLMENT_SHORT_CHANGES",
    "ENROLLMENT_SHORT_DAYS",
    "QPP_CALENDAR",
    "QPP_CLOSE",
    "QPP_TZ",
    "REVALIDATION_DEFAULT_YEARS",
    "REVALIDATION_YEARS",
    "dc_meets",
    "enrollment_changes",
    "enrollments",
    "exclusion_duties",
    "ia_status",
    "measure_stats",
    "mips_categories",
    "mips_years",
    "normalize_category",
    "normalize_measure",
    "org_today",
    "pi_requirements",
    "pys_in_view",
    "qpp_local_text",
    "qpp_today",
    "quality_sets",
    "submission_close",
]
