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
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field

from engine.records.contract_core import (
    AccessEvent,
    Account,
    Baa,
    CareLink,
    Device,
    EmploymentEpisode,
    Establishment,
    HepbVaccination,
    Investigation,
    Organization,
    Patient,
    Person,
    PhiFlow,
    RiskAnalysis,
    RiskItem,
    SanctionRecord,
    System,
    TrainingRecord,
    Vendor,
)
from engine.records.contract_programs import (
    AccessRequest,
    AiOutput,
    AiTool,
    Credential,
    Encounter,
    ExposureControlPlan,
    Incident,
    MeasureCase,
    MipsSubmission,
    OshaCase,
    OshaSummary,
    Screening,
)
from engine.records.envelope import Record

__all__ = [
    "EVENT_TYPES",
    "RECORD_MODELS",
    "AccessEvent",
    "AccessRequest",
    "Account",
    "AiOutput",
    "AiTool",
    "Baa",
    "CareLink",
    "Credential",
    "Device",
    "EmploymentEpisode",
    "Encounter",
    "Establishment",
    "ExposureControlPlan",
    "HepbVaccination",
    "ImportReport",
    "Incident",
    "Investigation",
    "MeasureCase",
    "MipsSubmission",
    "Organization",
    "OshaCase",
    "OshaSummary",
    "Patient",
    "Person",
    "PhiFlow",
    "Record",
    "RiskAnalysis",
    "RiskItem",
    "SanctionRecord",
    "Screening",
    "StoredRecord",
    "System",
    "TrainingRecord",
    "TypeCounts",
    "Vendor",
    "record_type_of",
]

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


class UnknownReference(BaseModel):
    """A reference a successful import wrote to a record the organization does not hold (yet): the
    first record that made it, by type, id and field, and how many of the import's records did."""

    record_type: str
    record_id: str
    field: str
    names_type: str
    names_id: str
    records: int
    reason: str


class RowWarning(BaseModel):
    """A row of a file that was read all the same but that a person should review: an LEIE row whose
    EXCLTYPE is no code OIG's layout lists (engine/records/connectors/leie.py)."""

    file: str
    line: int | None = None
    field: str | None = None
    reason: str


class UndatedRecord(BaseModel):
    """A record a successful import wrote or read unchanged whose field a deadline counts from is null
    (engine/records/undated.py): the rules anchored on it skip the record until it is given."""

    record_type: str
    record_id: str
    field: str
    message: str


class IncompleteRecord(BaseModel):
    """A record a successful import wrote or read unchanged whose field, not a date, some rule needs is
    null (engine/records/undated.py GAPS): that rule passes the record over, or counts it for nothing,
    until the field is given."""

    record_type: str
    record_id: str
    field: str
    message: str


class PassedOver(BaseModel):
    """The records an organization holds now that the rules pass over, or count for no one, for a
    missing date a deadline counts from, a missing (or unknown) field some rule needs, or an id naming
    no record: what each import said of them (engine/records/undated.py, references.py), read again
    from the store, so the list is still there after the import's warnings have scrolled by and
    empties as later versions fill the fields (or the named records are imported)."""

    checked: int = Field(0, description="current records of the checked types read")
    #: ids those records name that the organization holds no record of (a typo in a person_id makes a
    #: training count for nobody as surely as a null does), as an import's `unknown_references`
    unknown_references: list[UnknownReference] = Field(default_factory=list)
    unknown_references_total: int = 0
    undated_records: list[UndatedRecord] = Field(default_factory=list)
    undated_records_total: int = 0
    incomplete_records: list[IncompleteRecord] = Field(default_factory=list)
    incomplete_records_total: int = 0


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
    #: at most `engine.records.references.SHOWN` of them; `unknown_references_total` counts them all
    unknown_references: list[UnknownReference] = Field(default_factory=list)
    unknown_references_total: int = 0
    #: at most `engine.records.undated.SHOWN` of them; `undated_records_total` counts them all
    undated_records: list[UndatedRecord] = Field(default_factory=list)
    undated_records_total: int = 0
    #: at most `engine.records.undated.SHOWN` of them; `incomplete_records_total` counts them all
    incomplete_records: list[IncompleteRecord] = Field(default_factory=list)
    incomplete_records_total: int = 0
    #: an LEIE screening (`--format leie`): how many people came out clear, possible_match and excluded
    screened: dict[str, int] | None = Field(default=None, description=(
        "format=leie: the people screened, by result (clear, possible_match, excluded); null for other imports"))
    #: an LEIE screening read as OIG's monthly supplements (YYMMEXCL.csv, YYMMREIN.csv), which list only
    #: the month's changes: only the people they name are screened
    leie_supplement: bool | None = Field(default=None, description=(
        "format=leie: true when the files were read as OIG's monthly supplements (YYMMEXCL.csv new exclusions, "
        "YYMMREIN.csv reinstatements), which list only the month's changes, so only the people they name get a "
        "screening; false for the full list (UPDATED.csv); null for other imports"))
    #: at most `leie_screen.WARNINGS_SHOWN` of them; `row_warnings_total` counts them all
    row_warnings: list[RowWarning] | None = Field(default=None, description=(
        "format=leie: rows read all the same that a person should review (the first 100): an EXCLTYPE that is "
        "no code OIG's record layout lists; null for other imports"))
    row_warnings_total: int | None = Field(default=None, description="format=leie: how many such rows")
    unscreened: int | None = Field(default=None, description=(
        "format=leie: the people of the workforce no screening was written for (a supplement that does not name "
        "them; their latest screening stands); 0 for the full list, null for other imports"))
    #: a roster (`--format roster`): the open episodes at its sites it did not list (at most
    #: `hr_roster_import.NOT_LISTED_SHOWN`; `not_on_roster_total` counts them all)
    not_on_roster: list[str] | None = Field(default=None, description=(
        "format=roster: open employment episodes at the roster's establishments that the roster does not list "
        "(the first 100): a roster does not end them, so someone who left stays employed until their "
        "termination date is imported; null for other imports"))
    not_on_roster_total: int | None = Field(default=None, description="format=roster: how many such episodes")

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
