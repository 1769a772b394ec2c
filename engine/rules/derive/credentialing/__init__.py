"""Derivations for the credentialing rulesets (regulatory catalog section 4, CRED-*).

Credentials, employment episodes, screenings and encounters sit in different bundle families,
and most credentialing clocks depend on the record itself (an Illinois CAQH cycle is 180 days,
an AHA card runs to the end of the month of issue + 24 months, a renewal only counts when it was
filed before the expiry, only the latest credential of a chain matters). So each CRED rule reads
one derived "standing" fact per subject, built here set-wise, and the YAML rule stays a readable
obligation: `anchor: <fact>.due_at`, `within: {days: 0}`, `met_at: <fact>.renewed_at`.

What every derivation here does the same way:
- the evaluation instant is applied as engine.rules.facts does for records (a credential issued,
  an episode started, a check run or an encounter seen after `as_of` does not exist yet; a
  renewal, verification or episode end dated later is null);
- local dates come from the calendar service in the zone of the record's establishment (C7), and
  month arithmetic, end-of-month expiry and card validity use its C5 functions;
- `due_at` is a local date; the rule's deadline is that date (C1 with N = 0), so an obligation
  met on `due_at` is on time and an unmet one is overdue from the next local midnight;
- each fact lists the records it was computed from as evidence and joins the bundle of the
  person (or establishment) it is about.

Modules, imported below in the order their derivations were registered before the package was split
(registration follows import order): `licenses` (state licenses, DEA, state CSR), `verification`
(board certification, CAQH, recredentialing, primary-source verification, NPDB), `ongoing_monitoring`
(exclusion lists and boards) and `coverage` (malpractice, CLIA, life-support cards); `_common` holds
the parameter defaults and the shared loaders and helpers.
"""

from __future__ import annotations

# isort: off
# Import order is registration order: keep it (see above).
from engine.rules.derive.credentialing.licenses import (
    CSR_FIELDS,
    DEA_FIELDS,
    LICENSE_FIELDS,
    csr_standing,
    dea_standing,
    license_standing,
)
from engine.rules.derive.credentialing.verification import (
    BOARD_FIELDS,
    CAQH_FIELDS,
    NPDB_FIELDS,
    NPDB_SOURCES,
    PSV_FIELDS,
    PSV_LABELS,
    RECRED_FIELDS,
    board_standing,
    caqh_standing,
    npdb_standing,
    psv_items,
    recred_standing,
)
from engine.rules.derive.credentialing.ongoing_monitoring import MON_FIELDS, Cycle, monitoring, monthly_cycles
from engine.rules.derive.credentialing.coverage import (
    CARD_FIELDS,
    CARD_KINDS,
    CLIA_FIELDS,
    MAL_FIELDS,
    card_standing,
    card_through,
    clia_standing,
    malpractice_standing,
)
# isort: on
from engine.rules.derive.credentialing._common import (
    DEFAULTS,
    Check,
    Cred,
    Episode,
    Gap,
    Source,
    active_episodes,
    chains,
    days_left,
    encounters_seen,
    establishment_state,
    fact,
    happened,
    iso,
    lapse_before,
    latest,
    load_credentials,
    load_episodes,
    load_screenings,
    param,
    param_on,
    parse_instant,
    today,
)

__all__ = [
    "BOARD_FIELDS",
    "CAQH_FIELDS",
    "CARD_FIELDS",
    "CARD_KINDS",
    "CLIA_FIELDS",
    "CSR_FIELDS",
    "Check",
    "Cred",
    "Cycle",
    "DEA_FIELDS",
    "DEFAULTS",
    "Episode",
    "Gap",
    "LICENSE_FIELDS",
    "MAL_FIELDS",
    "MON_FIELDS",
    "NPDB_FIELDS",
    "NPDB_SOURCES",
    "PSV_FIELDS",
    "PSV_LABELS",
    "RECRED_FIELDS",
    "Source",
    "active_episodes",
    "board_standing",
    "caqh_standing",
    "card_standing",
    "card_through",
    "chains",
    "clia_standing",
    "csr_standing",
    "days_left",
    "dea_standing",
    "encounters_seen",
    "establishment_state",
    "fact",
    "happened",
    "iso",
    "lapse_before",
    "latest",
    "license_standing",
    "load_credentials",
    "load_episodes",
    "load_screenings",
    "malpractice_standing",
    "monitoring",
    "monthly_cycles",
    "npdb_standing",
    "param",
    "param_on",
    "parse_instant",
    "psv_items",
    "recred_standing",
    "today",
]
