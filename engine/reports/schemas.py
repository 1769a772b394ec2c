"""Plain data of the regulator reports: what the faces pass in (filing details the record contract
has no field for) and what the report services hand back (rows or a submission, with notes).

Every report carries `notes`: each column or value left blank, or taken from the caller's filing
details rather than from records, is named there with the reason, so a blank is never silent and
nothing is invented. `problems` are the checks the report fails as it stands (schema constraints,
the cross-field sum, the QPP semantic checks); a report with problems is still returned, so the
officer sees what is missing, but it is not ready to file.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, computed_field, field_validator

#: The 28 columns of OSHA ITA's Form 300A summary CSV, in the documented order.
ITA_300A_COLUMNS: tuple[str, ...] = (
    "establishment_name", "ein", "company_name", "street_address", "city", "state", "zip", "naics_code",
    "industry_description", "size", "establishment_type", "year_filing_for", "annual_average_employees",
    "total_hours_worked", "no_injuries_illnesses", "total_deaths", "total_dafw_cases", "total_djtr_cases",
    "total_other_cases", "total_dafw_days", "total_djtr_days", "total_injuries", "total_skin_disorders",
    "total_respiratory_conditions", "total_poisonings", "total_hearing_loss", "total_other_illnesses",
    "change_reason",
)  # fmt: skip

CaseOutcome = Literal["death", "dafw", "djtr", "other"]
"""Column of the 300 log a case is counted in: death, days away from work, job transfer or
restriction, other recordable case (1904.7)."""
CaseKind = Literal["injury", "skin_disorder", "respiratory", "poisoning", "hearing_loss", "other_illness"]
"""Injury or one of the five illness columns (300 log column M)."""


#: ITA's formats for an EIN and a ZIP code (digits only)
EIN_PATTERN = r"^[0-9]{9}$"
ZIP_PATTERN = r"^[0-9]{5}([0-9]{4})?$"
_DIGIT_FIELDS = {
    "ein": (EIN_PATTERN, "an EIN is 9 digits with no hyphen (12-3456789 is written 123456789)"),
    "zip": (ZIP_PATTERN, "a ZIP code is 5 or 9 digits with no hyphen (60601 or 606011234)"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportNote(BaseModel):
    """One thing the reader must know about a report: a value left blank or taken from the filing
    details, a case not classified, a scope decision."""

    reason: str
    establishment_id: str | None = None
    column: str | None = None
    record_id: str | None = None

    def __str__(self) -> str:
        where = " ".join(x for x in (self.establishment_id, self.column, self.record_id) if x)
        return f"{where}: {self.reason}" if where else self.reason


class EstablishmentFiling(_Strict):
    """ITA 300A values of one establishment the record contract has no field for."""

    ein: str | None = Field(default=None, json_schema_extra={"pattern": EIN_PATTERN})
    company_name: str | None = Field(default=None, max_length=100)
    street_address: str | None = Field(default=None, max_length=100)
    city: str | None = Field(default=None, max_length=100)
    zip: str | None = Field(default=None, json_schema_extra={"pattern": ZIP_PATTERN})
    industry_description: str | None = Field(default=None, max_length=300)
    establishment_type: Literal[1, 2, 3] | None = None
    annual_average_employees: int | None = Field(default=None, ge=0)
    total_hours_worked: int | None = Field(default=None, ge=0)
    change_reason: str | None = None

    @field_validator("ein", "zip")
    @classmethod
    def _digits(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Say what to write, not the regular expression pydantic would quote."""
        pattern, says = _DIGIT_FIELDS[str(info.field_name)]
        if value is not None and not re.fullmatch(pattern, value):
            raise ValueError(f"{says}; got {value!r}")
        return value


class CaseFiling(_Strict):
    """How one osha_case is counted on the 300A, where the record cannot say (outcome column, injury
    or illness type, days away / restricted)."""

    outcome: CaseOutcome | None = None
    kind: CaseKind | None = None
    dafw_days: int | None = Field(default=None, ge=0)
    djtr_days: int | None = Field(default=None, ge=0)


class Ita300ADetails(_Strict):
    """Filing details for the ITA 300A (CLI `--details FILE`, JSON or YAML): a company name for every
    establishment, per-establishment values and per-case classifications, by record id."""

    company_name: str | None = Field(default=None, max_length=100)
    establishments: dict[str, EstablishmentFiling] = Field(default_factory=dict)
    cases: dict[str, CaseFiling] = Field(default_factory=dict)


Cell = str | int | None


class Ita300AReport(BaseModel):
    """The ITA 300A summary of one calendar year: one row per establishment in scope (values keyed by
    the 28 ITA columns; None = blank), the cases counted, notes and the checks it fails."""

    year: int
    as_of: dt.datetime
    known_at: dt.datetime | None
    columns: list[str] = Field(default_factory=lambda: list(ITA_300A_COLUMNS))
    rows: list[dict[str, Cell]]
    establishment_ids: list[str]
    cases_counted: dict[str, list[str]] = Field(default_factory=dict)
    notes: list[ReportNote] = Field(default_factory=list)
    problems: list[ReportNote] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ready(self) -> bool:
        """Whether the CSV passes every check (and has a row): fit to upload."""
        return bool(self.rows) and not self.problems


class QppReport(BaseModel):
    """A MIPS/QPP submission body (quality category) for one performance year and TIN, with the
    per-measure statistics it came from, notes and the checks it fails."""

    performance_year: int
    tin: str
    npi: str | None
    as_of: dt.datetime
    known_at: dt.datetime | None
    submission: dict[str, Any]
    measures: list[dict[str, Any]]
    notes: list[ReportNote] = Field(default_factory=list)
    problems: list[ReportNote] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ready(self) -> bool:
        """Whether the body passes every check: fit to submit."""
        return not self.problems
