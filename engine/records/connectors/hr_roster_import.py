"""The HR roster import (`vigil import FILE --format roster`): rows to `person` and
`employment_episode` records, every problem named, then all written or nothing.

The rules a row follows (columns, ids, local days, roles, what the roster owns) are in
`hr_roster`, which reads the file; this module builds the records from its rows and imports them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from engine.errors import ErrorDetail
from engine.records.connectors.hr_roster import (
    ADDRESS_PARTS,
    FLAGS,
    RosterMap,
    Row,
    episode_id,
    fold,
    load_map,
    parse_day,
    parse_flag,
    read_rows,
    resolve_role,
    to_instant,
    zone_of,
)
from engine.records.fields import format_instant
from engine.records.ingest import Ingest
from engine.records.schemas import ImportReport
from engine.records.validation import Position

if TYPE_CHECKING:
    from engine.records.importers import ProblemFn
    from engine.records.service import ProgressFn

# ---- rows -> records -------------------------------------------------------------------------------


@dataclass
class _Entry:
    """A record being built: its fields, the fields the roster owns, where it was first seen and,
    for a person, the row that gave each field (to name both rows of a contradiction)."""

    data: dict[str, Any]
    owned: set[str]
    position: Position
    given_at: dict[str, Position] = field(default_factory=dict)


@dataclass
class Roster:
    """The rows read so far: one person per employee id, one episode per employee, site and hire day."""

    zones: dict[str, str | None]
    roster_map: RosterMap
    problem: ProblemFn
    persons: dict[str, _Entry] = field(default_factory=dict)
    episodes: dict[str, _Entry] = field(default_factory=dict)

    def add(self, row: Row) -> None:
        """Map one row; every bad cell of it is reported, and a bad row adds nothing."""
        employee = row.get("employee_id")
        failed: list[ErrorDetail] = []

        def fail(roster_field: str, reason: str) -> None:
            failed.append(row.detail(roster_field, reason, employee or None))

        if not employee:
            fail("employee_id", "no employee id: it is the person's id, every row needs one")
        establishment, zone = self._site(row, fail)
        role = _cell(row, "role", fail, lambda t: resolve_role(t, self.roster_map), required="no role: the rules "
                     "decide by role which training and cards a person needs; give the job title")
        hired = _cell(row, "hire_date", fail, lambda t: to_instant(t, zone, site=establishment),
                      required="no hire date: it starts the employment episode (and names it)")
        ended = _cell(row, "termination_date", fail, lambda t: to_instant(t, zone, end=True, site=establishment))
        assigned = _cell(row, "exposure_assignment_date", fail, lambda t: to_instant(t, zone, site=establishment))
        flags = {name: _cell(row, name, fail, parse_flag) for name in FLAGS}
        dob = _cell(row, "dob", fail, lambda t: parse_day(t).isoformat())
        if hired is not None and ended is not None and ended[0] <= hired[0]:
            fail("termination_date", f"the termination ({row.get('termination_date')}) is not after the hire "
                                     f"({row.get('hire_date')})")
        if failed or hired is None:
            for detail in failed:
                self.problem(detail)
            return
        person = {"first_name": row.get("first_name"), "last_name": row.get("last_name"), "dob": dob,
                  "address": _address(row)}
        owned = {f for f in ("first_name", "last_name", "dob") if row.has(f)}
        owned |= {"address"} if any(row.has(p) for p in ADDRESS_PARTS) else set()
        self._add_person(row, employee, {k: v for k, v in person.items() if k in owned}, owned)
        episode: dict[str, Any] = {
            "type": "employment_episode", "id": episode_id(employee, establishment, hired[1]), "person_id": employee,
            "establishment_id": establishment, "role": role, "start_at": format_instant(hired[0]),
            "end_at": format_instant(ended[0]) if ended else None,
            "exposure_assignment_at": format_instant(assigned[0]) if assigned else None,
            **{FLAGS[name]: value for name, value in flags.items()}}
        owned = {"person_id", "establishment_id", "role", "start_at"}
        owned |= {"end_at"} if row.has("termination_date") else set()
        owned |= {"exposure_assignment_at"} if row.has("exposure_assignment_date") else set()
        owned |= {FLAGS[name] for name in FLAGS if row.has(name)}
        earlier = self.episodes.get(episode["id"])
        if earlier is not None:
            self.problem(row.detail("hire_date", f"{_where(earlier.position, row)} has the same employee, "
                                                 "establishment and hire date: an episode is one employee at one "
                                                 "site from one hire date, so the two rows are one episode",
                                    employee))
            return
        self.episodes[episode["id"]] = _Entry({k: v for k, v in episode.items() if k in owned or k in ("type", "id")},
                                              owned, row.position)

    def _site(self, row: Row, fail: Callable[[str, str], None]) -> tuple[str, ZoneInfo | None]:
        """The row's establishment id (through the map) and the zone its dates are read in."""
        site = row.get("establishment_id")
        establishment = self.roster_map.establishments.get(fold(site), site)
        if establishment in self.zones:
            tz = self.zones[establishment]
            return establishment, zone_of(tz) if tz else None
        if not site:
            fail("establishment_id", "no establishment: the hire and termination dates are days there")
        else:
            known = ", ".join(sorted(self.zones)) or "none yet"
            fail("establishment_id", f"no establishment {establishment!r} in the store (known: {known}); import its "
                                     "establishment record first, or map this site to one under establishments: "
                                     "in --map")
        return establishment, zone_of("UTC")  # no site to read the dates at: still check how they are written

    def _add_person(self, row: Row, employee: str, values: dict[str, Any], owned: set[str]) -> None:
        entry = self.persons.setdefault(employee, _Entry({"type": "person", "id": employee}, set(), row.position))
        entry.owned |= owned
        for name, value in values.items():
            if value in (None, ""):
                continue
            before = entry.data.get(name)
            if before is None:
                entry.data[name], entry.given_at[name] = value, row.position
            elif before != value:
                column = name if name != "address" else next(p for p in ADDRESS_PARTS if row.has(p))
                self.problem(row.detail(column, f"{_where(entry.given_at[name], row)} gives this employee the "
                                                f"{name} {before!r}, this row {value!r}: one person has one {name}",
                                        employee))

    def records(self, stored: dict[tuple[str, str], dict[str, Any]]) -> list[tuple[dict[str, Any], Position]]:
        """Every record with its position: the roster's fields over the stored fields it has no column for."""
        out: list[tuple[dict[str, Any], Position]] = []
        for record_type, entries in (("person", self.persons), ("employment_episode", self.episodes)):
            for record_id, entry in sorted(entries.items()):
                kept = {k: v for k, v in stored.get((record_type, record_id), {}).items() if k not in entry.owned}
                data = {**kept, **{k: v for k, v in entry.data.items() if v is not None}}
                out.append((data, entry.position))
        return out


def _cell(row: Row, roster_field: str, fail: Callable[[str, str], None], convert: Callable[[str], Any],
          required: str | None = None) -> Any:
    """The converted cell, or None when empty (a problem if `required`) or refused (reported)."""
    text = row.get(roster_field)
    if not text:
        if required is not None:
            fail(roster_field, required)
        return None
    try:
        return convert(text)
    except ValueError as exc:
        fail(roster_field, str(exc))
        return None


def _address(row: Row) -> str | None:
    """One address line from the parts the roster has: `12 Main St, Apt 4, Denver, CO 80202`."""
    street = [row.get(p) for p in ("address", "address_2", "city")]
    tail = " ".join(p for p in (row.get("state"), row.get("postal_code")) if p)
    return ", ".join(p for p in [*street, tail] if p) or None


def _where(position: Position, row: Row) -> str:
    return f"line {position.line}" if position.file == row.header.file else f"{position.file}:{position.line}"


# ---- the use case ----------------------------------------------------------------------------------


def import_roster(
    session: Session,
    *,
    org_id: str,
    paths: Sequence[str | Path],
    actor: str,
    mapping: str | Path | None = None,
    names: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Import HR roster files as one all-or-nothing unit of `person` and `employment_episode` records,
    their `source` the files as `names` names them (`service.source_names`)."""
    from engine.records import service  # service imports the format registry, which imports this module

    files = service.readable_files(paths)
    roster_map = load_map(Path(mapping)) if mapping is not None else RosterMap()
    advance = service.byte_progress(files, progress)
    zones = {eid: data.get("tz") for eid, _, data in service.iter_record_data(
        session, org_id=org_id, record_type="establishment")}
    # Validates at the roster's lines and collects every problem; a batch never fills, so it writes nothing.
    checking = Ingest(session=session, org_id=org_id, actor=actor, batch_size=sys.maxsize)
    roster = Roster(zones=zones, roster_map=roster_map, problem=checking.problem)
    for path in files:
        for row in read_rows(path, roster_map, checking.problem, advance):
            roster.add(row)
    stored: dict[tuple[str, str], dict[str, Any]] = {}
    for record_type, ids in (("person", roster.persons), ("employment_episode", roster.episodes)):
        for record_id, _, data in service.iter_record_data_by_ids(session, org_id=org_id, record_type=record_type,
                                                                   ids=sorted(ids)):
            stored[record_type, record_id] = data
    records = roster.records(stored)
    source = " + ".join(service.source_names(paths, names).values())
    for raw, position in records:
        checking.add(raw, position, source)
    if checking.problem_count:
        checking.finish()  # raises RecordValidationError or ImportFormatError with every problem
    left_out = _not_listed(session, org_id, [raw for raw, _ in records])
    report = service.import_records(session, org_id=org_id, records=[raw for raw, _ in records], actor=actor,
                                    source=source)
    report.not_on_roster, report.not_on_roster_total = left_out[:NOT_LISTED_SHOWN], len(left_out)
    return report


#: How many episodes a roster leaves out the report names (`not_on_roster_total` counts them all).
NOT_LISTED_SHOWN = 100


def not_listed_line(report: ImportReport, *, shown: int = 10) -> str | None:
    """The warning an import of a roster gives about the open episodes it left out, or None."""
    total, ids = report.not_on_roster_total or 0, report.not_on_roster or []
    if not total:
        return None
    more = f" and {total - shown} more" if total > shown else ""
    return (f"{total} open employment episode{'s' if total != 1 else ''} at the roster's establishments "
            f"{'are' if total != 1 else 'is'} not on it: {', '.join(ids[:shown])}{more}. A roster does not end "
            "them (many exports list active staff only): import a termination date for anyone who has left")


def _not_listed(session: Session, org_id: str, records: list[dict[str, Any]]) -> list[str]:
    """The open employment episodes at the roster's sites that it does not list, by id.

    A roster does not end them (many exports list active staff only), so a person who left and was
    dropped from the export stays employed, with their accounts and duties, until a termination date
    is imported: the report names them for the officer to check. Only sites the roster covers count,
    so a roster of one site says nothing of another's staff."""
    from engine.records import service

    listed = {str(r["id"]) for r in records if r.get("type") == "employment_episode"}
    sites = {r.get("establishment_id") for r in records if r.get("type") == "employment_episode"}
    return sorted(eid for eid, _, data in service.iter_record_data(session, org_id=org_id,
                                                                    record_type="employment_episode")
                  if eid not in listed and data.get("establishment_id") in sites and not data.get("end_at"))
