"""An HR roster CSV -> `person` and `employment_episode` records (`vigil import FILE --format roster`).

An HR system's export has one row per employee and job: employee id, name, date of birth, address,
work site, job title, hire and termination dates and a few flags. Each row becomes the employee's
`person` (id = the employee id) and one `employment_episode`. Why the rules below (docs/records.md,
"Connectors", says the same for practices):

- **Columns are found by name** (case, spaces and punctuation ignored: `Hire Date` = `hire_date`),
  from the synonyms in `FIELDS`; a practice names its own headers, job titles and sites in a small
  YAML or JSON map (`--map FILE`, `load_map`). Other columns (department, e-mail, pay grade) are
  not read: the contract has no field for them.
- **An episode is one employee at one establishment from one hire date**: its id is
  `<employee id>@<establishment id>:<local hire date>` (`episode_id`). The same row imported again
  is the same record, so an unchanged roster changes nothing; a termination date added later is a
  new version of that episode; a rehire (a new hire date) is a new episode.
- **A date is a day at the establishment**, in the zone of its `establishment` record as stored: a
  hire starts at the start of that local day, a termination ends at the start of the next local
  day (the end is exclusive), computed with zoneinfo, so a 23- or 25-hour day at a daylight-saving
  change comes out right. A cell that is already an ISO instant with an offset is taken as is.
- **Roles must be ones the rulesets know**: the contract types `role` as text, but the rulesets'
  role lists (`bls_required_roles`, `board_cert_required_roles`, `hazcom_roles`...) compare it
  with snake_case names, so a job title the rules do not know would silently escape every
  role-based rule. A title is folded (`Registered Nurse` -> `registered_nurse`), common
  abbreviations are read (`RN`, `PA-C`), and anything else must be mapped (`roles:` in the map).
- **The roster owns the columns it has**: a field it has a column for takes the cell's value (a
  blank cell clears it: a rescinded termination clears `end_at`); a field it has no column for
  keeps the value stored (a person's `patient_id`). A roster never ends the episodes of people it
  leaves out: an export of active employees only would otherwise terminate everyone else.

All or nothing, as every import: every problem is reported (file, line, column, employee, why) and
then nothing is written (`hr_roster_import`, the use case: rows to records, checked against the
contract at their roster lines, then written by `service.import_records`, so they are versioned
and audited as any import). This module reads: values, the map, the file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import yaml

from engine import yaml_numbers
from engine.errors import ErrorDetail, ImportFormatError
from engine.records.connectors.csv_rows import numbered_rows
from engine.records.fields import MIN_YEAR
from engine.records.validation import Position
from engine.records.vocab import ROLE_ABBREVIATIONS, fold

if TYPE_CHECKING:  # the registry imports this module (importers/__init__), so not the other way at run time
    from engine.records.importers import AdvanceFn, ProblemFn

__all__ = ["FIELDS", "KNOWN_ROLES", "RosterMap", "episode_id", "load_map", "local_day_start", "read_roster",
           "resolve_role", "to_instant"]

#: Roster field -> the header names it is read from by default (folded, see `fold`).
FIELDS: dict[str, tuple[str, ...]] = {
    "employee_id": ("employee_id", "employee_number", "employee_no", "emp_id", "emp_no", "employee", "worker_id",
                    "associate_id", "person_id"),
    "first_name": ("first_name", "first", "given_name", "legal_first_name", "fname"),
    "last_name": ("last_name", "last", "surname", "family_name", "legal_last_name", "lname"),
    "dob": ("dob", "date_of_birth", "birth_date", "birthdate"),
    "address": ("address", "address_1", "address_line_1", "street_address", "home_address", "street"),
    "address_2": ("address_2", "address_line_2"),
    "city": ("city",),
    "state": ("state",),
    "postal_code": ("postal_code", "zip", "zip_code", "postcode"),
    "establishment_id": ("establishment_id", "establishment", "site_id", "site", "work_site", "work_site_id",
                         "worksite", "worksite_id", "location_id", "location", "work_location"),
    "role": ("role", "job_title", "job", "position", "position_title", "job_role"),
    "hire_date": ("hire_date", "date_of_hire", "hired", "start_date", "start_at", "start"),
    "termination_date": ("termination_date", "term_date", "terminated", "date_of_termination", "termination",
                         "separation_date", "end_date", "end_at"),
    "phi_access": ("phi_access", "phi_access_required", "ephi_access", "phi"),
    "occupational_exposure": ("occupational_exposure", "exposure", "bbp_exposure", "bloodborne_exposure"),
    "exposure_assignment_date": ("exposure_assignment_date", "exposure_assignment_at", "exposure_assigned"),
    "licensed_clinician": ("licensed_clinician", "licensed"),
}
REQUIRED = ("employee_id", "establishment_id", "role", "hire_date")
ADDRESS_PARTS = ("address", "address_2", "city", "state", "postal_code")
FLAGS = {"phi_access": "phi_access_required", "occupational_exposure": "occupational_exposure",
         "licensed_clinician": "licensed_clinician"}

#: The roles the shipped rulesets and the demo practice use (a test keeps this in step with both);
#: a practice's own roles are named as the targets of `roles:` in its map.
KNOWN_ROLES = frozenset({
    "physician", "nurse_practitioner", "physician_assistant", "registered_nurse", "licensed_practical_nurse",
    "medical_assistant", "phlebotomist", "lab_technician", "licensed_therapist", "radiologic_technologist",
    "pharmacist", "medical_scribe", "care_coordinator", "front_desk", "billing_specialist", "him_specialist",
    "practice_manager", "site_administrator", "it_support", "facilities", "environmental_services",
    "chief_executive_officer", "compliance_officer", "security_officer",
})

ROW = "roster row"
MAX_ID = 255
NO_END = dt.date.max  # 9999-12-31, which exports write for "no termination"
MAP_KEYS = ("columns", "roles", "establishments")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})
_ROLE = re.compile(r"^[a-z][a-z0-9_]*$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)  # ASCII: int() would read ٢٠٢٦ and ２０２６
_US_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", re.ASCII)
_MIDNIGHT = re.compile(r"^(?P<day>[0-9/-]+)[ T]0?0:00(:00(\.0+)?)?$")


# ---- values ----------------------------------------------------------------------------------------


def parse_day(text: str) -> dt.date:
    """A date written YYYY-MM-DD or MM/DD/YYYY (US exports), with a time of 00:00 or not (Excel
    writes every date column so: a date of birth "3/9/1978 0:00" had been refused while the hire
    date beside it was read); ValueError saying why otherwise."""
    midnight = _MIDNIGHT.match(text)
    if midnight is not None:
        text = midnight["day"]
    us = _US_DAY.match(text)
    if not _ISO_DAY.match(text) and us is None:
        raise ValueError(f"{text!r} is not a date: write YYYY-MM-DD (2026-03-07) or MM/DD/YYYY (03/07/2026)")
    try:
        day = dt.date.fromisoformat(text) if us is None else dt.date(int(us[3]), int(us[1]), int(us[2]))
    except ValueError:
        raise ValueError(f"no such date: {text!r}") from None
    if day.year < MIN_YEAR:
        raise ValueError(f"{text!r} is before {MIN_YEAR}: taken for a placeholder for 'no date'; leave the cell empty")
    return day


@cache
def zone_of(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first instant of `day` in `zone`, written with the offset in force then.

    zoneinfo reads a wall time in a gap with the offset before the change (fold=0), which for
    midnight is the instant of the change itself: where clocks skip from 00:00 to 01:00 the day
    starts at 01:00. The round trip through UTC writes that instant with its real offset."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC).astimezone(zone)


def to_instant(text: str, zone: ZoneInfo | None, *, end: bool = False,
               site: str = "") -> tuple[dt.datetime, dt.date] | None:
    """A hire (`end=False`) or termination (`end=True`) cell as (instant, local date).

    A date is a day at the establishment: a hire starts at the start of the local day, a
    termination ends at the start of the next local day; a date with a time of 00:00, as spreadsheets
    write dates, is that date. An ISO instant with an offset is taken as is. A termination on
    9999-12-31 is no termination (None). ValueError says why a cell is refused.
    """
    midnight = _MIDNIGHT.match(text)
    if midnight is not None:  # a date as spreadsheets write one, with a time of 00:00: the date
        text = midnight["day"]
    elif "T" in text or " " in text or ":" in text:
        try:
            instant = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is neither a date (2026-03-07, 03/07/2026) nor an ISO 8601 instant with "
                             "an offset (2026-03-07T09:00:00-08:00)") from None
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"{text!r} has a time but no offset: write the date alone (its day at the establishment "
                             "is used) or an instant with an offset, e.g. 2026-03-07T09:00:00-08:00")
        if instant.year < MIN_YEAR:
            raise ValueError(f"{text!r} is before {MIN_YEAR}: taken for a placeholder; leave the cell empty")
        return instant, (instant.astimezone(zone) if zone is not None else instant).date()
    day = parse_day(text)
    if end and day == NO_END:
        return None
    if zone is None:
        raise ValueError(f"establishment {site!r} has no tz, so the day {text} there has no known start: give "
                         "the establishment record its IANA zone, or write the cell as an instant with an offset")
    return local_day_start(day + dt.timedelta(days=1) if end else day, zone), day


def parse_flag(text: str) -> bool:
    """A yes/no cell: true/false, yes/no, y/n, 1/0 in any case."""
    low = text.lower()
    if low in _TRUE or low in _FALSE:
        return low in _TRUE
    raise ValueError(f"{text!r} is not yes or no: write true/false, yes/no, y/n or 1/0 (or leave it empty: unknown)")


def resolve_role(title: str, roster_map: RosterMap) -> str:
    """The contract role of a job title: the map's `roles:`, an abbreviation, or a known role's name."""
    key = fold(title)
    if key in roster_map.roles:
        return roster_map.roles[key]
    if key in ROLE_ABBREVIATIONS:
        return ROLE_ABBREVIATIONS[key]
    known = KNOWN_ROLES | set(roster_map.roles.values())
    if key in known:
        return key
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    # the example names the closest role, or the title's own folded name: a fixed `registered_nurse`
    # had invited copying a janitor onto RN license duties
    example = close[0] if close else key
    raise ValueError(f"{title!r} is not a role the rulesets know{hint}: map the job title to one under roles: in "
                     f"--map (e.g. '{title}: {example}', with the role that holds its duties); known roles: "
                     f"{', '.join(sorted(known))}")


def episode_id(employee_id: str, establishment_id: str, hire_day: dt.date) -> str:
    """`<employee id>@<establishment id>:<hire date>`: one employee at one site from one hire date.

    Read back unambiguously while the establishment id holds no `@` (the date has a fixed width);
    an establishment id with one, or an id past 255 characters, gives `HR-<sha256 of the three>`."""
    plain = f"{employee_id}@{establishment_id}:{hire_day.isoformat()}"
    if "@" not in establishment_id and len(plain) <= MAX_ID:
        return plain
    key = json.dumps([employee_id, establishment_id, hire_day.isoformat()], ensure_ascii=False)
    return "HR-" + hashlib.sha256(key.encode("utf-8", "backslashreplace")).hexdigest()


# ---- the map ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterMap:
    """A practice's own names: columns (roster field -> its header), job titles -> roles, sites ->
    establishment ids. Keys of `roles` and `establishments` are folded; `columns` keeps the header
    as written (for messages) and is compared folded."""

    columns: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    establishments: dict[str, str] = field(default_factory=dict)


def load_map(path: Path) -> RosterMap:
    """Read a YAML (or JSON) map; ImportFormatError naming every problem in it."""
    name = str(path)
    if not path.is_file():
        raise ImportFormatError("cannot read the roster map", [ErrorDetail(reason="no such file", file=name)])
    try:
        doc = yaml_numbers.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ImportFormatError("the roster map is not UTF-8 text",
                                [ErrorDetail(reason=str(exc.reason), file=name)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ImportFormatError("the roster map is not valid YAML or JSON", [ErrorDetail(
            reason=str(getattr(exc, "problem", None) or exc), file=name,
            line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None)]) from None
    problems: list[ErrorDetail] = []

    def bad(where: str, reason: str) -> None:
        problems.append(ErrorDetail(reason=reason, file=name, field=where))

    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        bad("(top)", f"the map is a mapping with the keys {', '.join(MAP_KEYS)}")
        doc = {}
    for key in doc:
        if key not in MAP_KEYS:
            bad(str(key), f"unknown key; a roster map has {', '.join(MAP_KEYS)}")
    sections = {key: _text_pairs(doc.get(key), key, bad) for key in MAP_KEYS}
    columns: dict[str, str] = {}
    for roster_field, header in sections["columns"].items():
        if roster_field not in FIELDS:
            close = difflib.get_close_matches(roster_field, list(FIELDS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            bad(f"columns.{roster_field}", f"not a roster field{hint}; the fields are: {', '.join(FIELDS)}")
        else:
            columns[roster_field] = header
    roles: dict[str, str] = {}
    for title, role in sections["roles"].items():
        if not _ROLE.match(role):
            bad(f"roles.{title}", f"{role!r} is not a role name: lower case letters, digits and _, as the rulesets' "
                                  "role lists write them (registered_nurse)")
        roles[fold(title)] = role
    establishments = {fold(site): est for site, est in sections["establishments"].items()}
    if problems:
        raise ImportFormatError(f"the roster map {name} cannot be used", problems)
    return RosterMap(columns=columns, roles=roles, establishments=establishments)


def _text_pairs(section: Any, key: str, bad: Callable[[str, str], None]) -> dict[str, str]:
    if section is None:
        return {}
    if not isinstance(section, dict):
        bad(key, "expected a mapping of names (name: value, one a line)")
        return {}
    pairs: dict[str, str] = {}
    for name, value in section.items():
        if not isinstance(name, str) or not isinstance(value, str) or not name.strip() or not value.strip():
            bad(f"{key}.{name}", f"{name!r}: {value!r} is not a pair of names (quote a name YAML reads as a "
                                 "number, a date or yes/no)")
            continue
        pairs[name.strip()] = value.strip()
    return pairs


# ---- the file --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """A roster file's header: the column names as written and where each roster field is."""

    file: str
    names: list[str]
    at: dict[str, int]


@dataclass(frozen=True)
class Row:
    """One data row of a roster file, with its 1-based physical line."""

    header: Header
    line: int
    cells: list[str]

    def has(self, roster_field: str) -> bool:
        return roster_field in self.header.at

    def get(self, roster_field: str) -> str:
        index = self.header.at.get(roster_field)
        return self.cells[index].strip() if index is not None else ""

    @property
    def position(self) -> Position:
        return Position(file=self.header.file, line=self.line)

    def detail(self, roster_field: str, reason: str, employee: str | None) -> ErrorDetail:
        """A problem in this row's cell for `roster_field`: file, line, column number and header."""
        index = self.header.at.get(roster_field)
        return ErrorDetail(reason=reason, file=self.header.file, line=self.line, record_type=ROW, record_id=employee,
                           column=index + 1 if index is not None else None,
                           field=self.header.names[index] if index is not None else roster_field)


def header_of(cells: list[str], roster_map: RosterMap, file: str, problem: ProblemFn) -> Header | None:
    """Find the roster fields among the header's columns; None (every problem reported) if unusable."""
    names = [c.strip().lstrip("\ufeff") for c in cells]
    folded = [fold(n) for n in names]
    claimed = {fold(h) for h in roster_map.columns.values()}
    at: dict[str, int] = {}
    usable = True
    for roster_field, synonyms in FIELDS.items():
        mapped = roster_map.columns.get(roster_field)
        if mapped is not None:
            hits = [i for i, h in enumerate(folded) if h == fold(mapped)]
            if not hits:
                usable = False
                problem(ErrorDetail(reason=f"the map names the column {mapped!r} for {roster_field} (columns."
                                           f"{roster_field}), which the header does not have; its columns are: "
                                           f"{', '.join(names)}", file=file, line=1))
                continue
        else:
            hits = [i for i, h in enumerate(folded) if h in synonyms and h not in claimed]
        if len(hits) > 1:
            usable = False
            problem(ErrorDetail(reason=f"the columns {names[hits[0]]!r} and {names[hits[1]]!r} both read as "
                                       f"{roster_field}; name the one to use in --map (columns: {roster_field}: ...)",
                                file=file, line=1, column=hits[1] + 1, field=names[hits[1]]))
        if hits:
            at[roster_field] = hits[0]
    for roster_field in REQUIRED:
        if roster_field not in at and roster_field not in roster_map.columns:
            usable = False
            problem(ErrorDetail(reason=f"the header has no {roster_field} column: call it one of "
                                       f"{', '.join(FIELDS[roster_field])} (any case; spaces for _), or name yours "
                                       f"in --map (columns: {roster_field}: <your header>)", file=file, line=1))
    return Header(file, names, at) if usable else None


def read_rows(path: Path, roster_map: RosterMap, problem: ProblemFn, advance: AdvanceFn) -> Iterator[Row]:
    """Each data row of a roster file; a line is UTF-8 if it decodes as such, else latin-1."""
    name = str(path)
    with closing(numbered_rows(path, problem=problem, advance=advance,
                               empty="expected a header row (employee id, hire date, ...)")) as rows:
        first = next(rows, None)
        header = header_of(first[1], roster_map, name, problem) if first is not None else None
        if header is None:
            return
        for line_no, cells in rows:
            if len(cells) != len(header.names):
                problem(ErrorDetail(reason=f"the row has {len(cells)} cells but the header has {len(header.names)} "
                                           "columns", file=name, line=line_no, record_type=ROW))
                continue
            yield Row(header, line_no, cells)


def read_roster(
    path: Path, *, record_type: str | None, problem: ProblemFn, advance: AdvanceFn
) -> Iterator[tuple[Position, Any]]:
    """A roster's dates are days at its establishments, whose zones are in the record store, so it is
    read by `import_roster` (`vigil import FILE --format roster`). Reached any other way, it says so."""
    advance(path.stat().st_size)
    problem(ErrorDetail(reason="an HR roster is read against the organization's establishments (their time zones), "
                               "which `vigil import FILE --format roster` does", file=str(path)))
    yield from ()
