"""The import loop: validate records as they stream in, write new versions in batches.

Why batches inside one transaction: an NDJSON file of a million access events must import in
flat memory, so records cannot be held until the end; yet a file with one bad record must import
nothing. So each batch of valid records is written as it fills (inside the caller's transaction),
validation goes on to the end to report every problem, and if there was any the caller's
`unit_of_work` rolls every batch back. Once a problem has been seen no further batch is written
(it would be rolled back anyway), but every later record is still validated and still checked
against the stored versions, so the report stays complete.

Per record: no stored version -> version 1 ("created"); same content hash as the newest version
-> nothing written ("unchanged"); different hash -> next version ("updated"), except for event
types, which are immutable: a changed event is reported as a problem naming the record.
A record given twice in one import must be the same both times (the second is then "unchanged"):
one given again with other content is a problem naming both places. Taken in order, as before, a
file holding a person as "Bob" then as "Rob" wrote two versions on every re-import of the same file
(Bob over Rob, then Rob over Bob), and `--known-at` could never show the first: both versions share
the import's instant.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Dialect, Text, bindparam, cast, insert
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import (
    ConflictError,
    ErrorCollector,
    ErrorDetail,
    ImportFormatError,
    InputError,
    RecordValidationError,
)
from engine.records.hashing import VersionsDigest, changed_fields
from engine.records.history import find_version, latest_hashes
from engine.records.references import References
from engine.records.schemas import EVENT_TYPES, ImportReport
from engine.records.tables import record_version
from engine.records.undated import Incomplete, Undated
from engine.records.validation import Position, PreparedRecord, prepare_record

BATCH_SIZE = 1000
ERROR_LIMIT = 10_000


class WrittenVersion(NamedTuple):
    """A record version an import has just written, as `on_batch` gets it: the fields of a
    StoredRecord without building one (everything here was validated or made by the import).

    A named tuple because one is made for every record an import writes: a pydantic StoredRecord
    cost 7 us a record (half the validation itself), a frozen dataclass 1 us, this 0.3 us.
    `text` is the stored JSON text of `data`, for a consumer that sends the record elsewhere.
    """

    type: str
    id: str
    version: int
    data: dict[str, Any]
    content_hash: str
    recorded_at: dt.datetime
    actor: str
    source: str
    establishment_id: str | None
    text: str


OnBatch = Callable[[list[WrittenVersion]], None]
#: Called once after the last batch is written, when the import has no problem (before its audit entry).
OnEnd = Callable[[], object]


@dataclass
class Ingest:
    """One import call's state: the pending batch, the counts and the problems found so far."""

    session: Session
    org_id: str
    actor: str
    on_batch: OnBatch | None = None
    on_end: OnEnd | None = None
    batch_size: int = BATCH_SIZE
    #: the files in the order they were given: problems are reported in that order, then by line
    file_order: dict[str, int] = field(default_factory=dict)
    recorded_at: dt.datetime = field(default_factory=clock.now)
    tally: Counter[tuple[str, str]] = field(default_factory=Counter)
    problems: ErrorCollector = field(default_factory=lambda: ErrorCollector(limit=ERROR_LIMIT))
    bad_records: int = 0
    problem_count: int = 0
    format_problems: int = 0
    references: References = field(default_factory=References)
    #: every valid record read, written or unchanged: a null deadline field stays worth saying each time
    undated: Undated = field(default_factory=Undated)
    #: likewise, a null field (not a date) a rule needs to judge or count the record
    incomplete: Incomplete = field(default_factory=Incomplete)
    #: what this import wrote, for its audit entry (`records.import`'s `versions_sha256`)
    digest: VersionsDigest = field(default_factory=VersionsDigest)
    _pending: list[tuple[PreparedRecord, str]] = field(default_factory=list)
    #: (type, id) -> (version, content hash) of the records read since a problem stopped the writing:
    #: the batches after it are not written, so the next batch's read of the store no longer saw them
    #: (an event given twice with different content, 1,500 lines apart, went unsaid until the first
    #: problem was mended)
    _held: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    #: (type, id) -> where this import first gave a record that is not an event: (file, line, index),
    #: not the Position, whose `locate` would keep a JSON file's whole text alive. Events are refused
    #: on any change already, and an access-event file of a million lines should not be held here.
    _given_here: dict[tuple[str, str], tuple[str | None, int | None, int | None]] = field(default_factory=dict)
    _started: float = field(default_factory=time.perf_counter)

    def problem(self, detail: ErrorDetail) -> None:
        """Note a problem in the file itself rather than in one record (bad JSON line, CSV header)."""
        self.format_problems += 1
        self._note(detail)

    def _note(self, detail: ErrorDetail) -> None:
        self.problem_count += 1
        self.problems.add(detail)

    def add(self, raw: Any, position: Position, source: str) -> None:
        """Validate one raw record and queue it; writes a batch when one is full."""
        try:
            prepared = prepare_record(raw, position=position)
        except RecordValidationError as exc:
            self.bad_records += 1
            for detail in exc.details:
                self._note(detail)
            return
        self._pending.append((prepared, source))
        self.undated.add(prepared.record_type, prepared.record_id, prepared.data)
        self.incomplete.add(prepared.record_type, prepared.record_id, prepared.data)
        if len(self._pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Compare the pending batch with the stored versions and write what is new."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        keys = {(p.record_type, p.record_id) for p, _ in batch}
        known = latest_hashes(self.session, org_id=self.org_id, keys=keys)
        if self._held:
            known.update((key, self._held[key]) for key in keys if key in self._held)
        written: list[WrittenVersion] = []
        for prepared, source in batch:
            key = (prepared.record_type, prepared.record_id)
            previous = known.get(key)
            if previous is None:
                version, outcome = 1, "created"
            elif previous[1] == prepared.content_hash:
                self.tally[key[0], "unchanged"] += 1
                if key[0] not in EVENT_TYPES:
                    self._given_here.setdefault(key, _place(prepared.position))
                continue
            elif prepared.record_type in EVENT_TYPES:
                self.bad_records += 1
                self._note(prepared.position.detail(
                    self._changed_event(prepared, previous[0]) + "; events are immutable and cannot be changed",
                    record_type=prepared.record_type, record_id=prepared.record_id))
                continue
            elif key in self._given_here:
                self.bad_records += 1
                self._note(prepared.position.detail(self._given_twice(prepared, self._given_here[key], written),
                                                    record_type=prepared.record_type, record_id=prepared.record_id))
                continue
            else:
                version, outcome = previous[0] + 1, "updated"
            if key[0] not in EVENT_TYPES:
                self._given_here.setdefault(key, _place(prepared.position))
            known[key] = (version, prepared.content_hash)
            self.tally[key[0], outcome] += 1
            data = prepared.data
            establishment = data["id"] if key[0] == "establishment" else data.get("establishment_id")
            written.append(WrittenVersion(key[0], key[1], version, data, prepared.content_hash, self.recorded_at,
                                          self.actor, source[:1024], establishment, prepared.text))
        if self.problem_count:
            self._held.update(((v.type, v.id), (v.version, v.content_hash)) for v in written)
            return
        if not written:
            return
        note_references = self.references.add
        for version_written in written:
            note_references(version_written.type, version_written.id, version_written.data)
        try:
            _insert_versions(self.session, self.org_id, written)
        except SAIntegrityError as exc:
            raise ConflictError(
                "another import wrote the same records at the same time; nothing was imported, retry",
                _collided(exc), code="conflict.concurrent_import",
            ) from exc
        take = self.digest.add
        for v in written:
            take(v.type, v.id, v.version, v.content_hash)
        if self.on_batch is not None:
            self.on_batch(written)

    def _changed_event(self, prepared: PreparedRecord, version: int) -> str:
        """What differs between an event and the one with its id seen before (a rare error, so the
        stored version is read here): which fields changed, and whether the earlier one was stored
        by another import or given earlier in this one."""
        stored = find_version(self.session, org_id=self.org_id, record_type=prepared.record_type,
                              record_id=prepared.record_id, known_at=None)
        if stored is None or stored.recorded_at == self.recorded_at:
            said = f"this {prepared.record_type} is given twice in this import with different content"
        else:
            said = f"this {prepared.record_type} was already imported with different content (version {version})"
        if stored is not None:
            changed = changed_fields(type(prepared.model), stored.data, prepared.data)
            if changed:
                said += f"; changed: {', '.join(changed)}"
        return said

    def _given_twice(self, prepared: PreparedRecord, first: tuple[str | None, int | None, int | None],
                     batch: list[WrittenVersion]) -> str:
        """A record given again in this import with other content: where it was first given, which
        fields differ from the version this import took for it (in this batch or written in an earlier
        one; after a problem stopped the writing, the earlier batches' are not to be read), and what to
        do: two files of one import (Monday's and Tuesday's HR export) are imported one at a time,
        oldest first, so that each state is kept as a version with its own time."""
        file, line, index = first
        if file is None:  # a request's body: its records as the API numbers them
            place = f"records[{index}]" if index is not None else ""
        else:
            place = " ".join(part for part in (file, f"line {line}" if line is not None else
                                               (f"record {index + 1}" if index is not None else None)) if part)
        said = (f"this {prepared.record_type} is given twice in this import with different content"
                + (f" (first at {place})" if place else ""))
        taken = next((v.data for v in reversed(batch) if (v.type, v.id) == (prepared.record_type, prepared.record_id)),
                     None)
        if taken is None:
            stored = find_version(self.session, org_id=self.org_id, record_type=prepared.record_type,
                                  record_id=prepared.record_id, known_at=None)
            taken = stored.data if stored is not None and stored.recorded_at == self.recorded_at else None
        changed = changed_fields(type(prepared.model), taken, prepared.data) if taken is not None else []
        todo = ("import the files one at a time, oldest first, so that each is kept as a version of its own"
                if file is not None and file != prepared.position.file else "give it once, as it is now")
        return said + (f"; changed: {', '.join(changed)}" if changed else "") + f"; {todo}"

    def finish(self) -> ImportReport:
        """Write the last batch; raise with every problem if there was any, else return the report."""
        self.flush()
        if not self.problem_count and self.on_end is not None:
            self.on_end()
        if self.problem_count:
            last = len(self.file_order)
            details = sorted(self.problems.details, key=lambda d: (
                self.file_order.get(d.file or "", last), d.file or "", d.line or 0, d.index or 0))
            if self.problems.truncated:
                details.append(
                    ErrorDetail(reason=f"... and {self.problem_count - len(details)} more problems not shown")
                )
            parts = []
            if self.bad_records:
                parts.append(_plural(self.bad_records, "invalid record"))
            if self.format_problems:
                parts.append(_plural(self.format_problems, "problem") + " in the files themselves")
            error: type[InputError] = RecordValidationError if self.bad_records else ImportFormatError
            raise error(
                f"{_plural(self.problem_count, 'problem')} ({'; '.join(parts)}); nothing was imported",
                details,
            )
        report = ImportReport.from_tally(
            self.tally, duration_s=time.perf_counter() - self._started, recorded_at=self.recorded_at
        )
        report.unknown_references, report.unknown_references_total = self.references.unknown(
            self.session, org_id=self.org_id)
        report.undated_records, report.undated_records_total = self.undated.report()
        report.incomplete_records, report.incomplete_records_total = self.incomplete.report()
        return report


def _place(position: Position) -> tuple[str | None, int | None, int | None]:
    return position.file, position.line, position.index


#: The columns written, each with where its value comes from: a field of WrittenVersion (`data` takes
#: the JSON text the hash was computed from) or, past them, one of the values shared by the whole
#: import (`_SHARED`).
_SHARED = ("org_id", "recorded_at", "actor")
_SOURCES = {
    "org_id": len(WrittenVersion._fields),
    "record_type": WrittenVersion._fields.index("type"),
    "record_id": WrittenVersion._fields.index("id"),
    "version": WrittenVersion._fields.index("version"),
    "data": WrittenVersion._fields.index("text"),
    "content_hash": WrittenVersion._fields.index("content_hash"),
    "establishment_id": WrittenVersion._fields.index("establishment_id"),
    "recorded_at": len(WrittenVersion._fields) + 1,
    "actor": len(WrittenVersion._fields) + 2,
    "source": WrittenVersion._fields.index("source"),
}


@dataclass(frozen=True)
class _InsertPlan:
    """The INSERT of record versions compiled once for a dialect, run through the driver's executemany.

    Why not `session.execute(insert(...), rows)`: SQLAlchemy converts every value of every row
    through the column types on each call (the JSON column encodes `data` again, the instant column
    re-formats the one `recorded_at` of the import), which cost about as much as validating the
    record. Here `data` goes in as the JSON text the hash was computed from (cast to JSONB on
    PostgreSQL), the values shared by the whole import are converted once per batch, and each row's
    parameters are picked straight out of its WrittenVersion (strings and integers, which need no
    conversion on either driver: `_plan` checks). Still one statement per batch, in the session's
    transaction.
    """

    sql: str
    keys: tuple[str, ...]
    positional: bool
    processors: dict[str, Callable[[Any], Any]]
    pick: Callable[[tuple[Any, ...]], tuple[Any, ...]]


_PLANS: dict[tuple[int, str], tuple[Dialect, _InsertPlan]] = {}


def _plan(dialect: Dialect) -> _InsertPlan:
    key = (id(dialect), dialect.name)
    cached = _PLANS.get(key)
    if cached is not None and cached[0] is dialect:
        return cached[1]
    text = bindparam("data", type_=Text)
    stmt = insert(record_version).values(data=cast(text, JSONB) if dialect.name == "postgresql" else text)
    compiled = stmt.compile(dialect=dialect, column_keys=list(_SOURCES))
    processors: dict[str, Callable[[Any], Any]] = {}
    for name in _SOURCES:
        if name == "data":
            continue
        proc = record_version.c[name].type._cached_bind_processor(dialect)
        if proc is not None:
            processors[name] = proc
    per_row = sorted(set(processors) - set(_SHARED))
    if per_row:  # a driver converting these would get them unconverted from `_insert_versions`
        raise RuntimeError(f"record_version columns {per_row} need converting on {dialect.name}; write them per row")
    keys = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else tuple(_SOURCES)
    plan = _InsertPlan(compiled.string, keys, compiled.positional, processors, itemgetter(*(_SOURCES[k] for k in keys)))
    _PLANS[key] = (dialect, plan)
    return plan


def _insert_versions(session: Session, org_id: str, versions: list[WrittenVersion]) -> None:
    """Write one batch of record versions (see `_InsertPlan`); every one has this import's
    `recorded_at` and `actor`."""
    connection = session.connection()
    plan = _plan(connection.dialect)
    first = versions[0]
    shared = tuple(
        plan.processors[k](v) if k in plan.processors else v
        for k, v in zip(_SHARED, (org_id, first.recorded_at, first.actor), strict=True)
    )
    pick = plan.pick
    rows = [pick(v + shared) for v in versions]
    params: list[Any] = rows if plan.positional else [dict(zip(plan.keys, row, strict=True)) for row in rows]
    connection.exec_driver_sql(plan.sql, params)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


_COLLISION = re.compile(r"\(org_id, record_type, record_id, version\)=\((?P<org>[^,]*), (?P<type>[^,]*), "
                        r"(?P<id>.*), (?P<version>\d+)\) already exists")


def _collided(exc: SAIntegrityError) -> list[ErrorDetail]:
    """The record the other import wrote first, as PostgreSQL names it ("Key (org_id, record_type,
    record_id, version)=(...) already exists"): the refusal had named none. Nothing when the
    database does not say (the other records of the batch may have collided too)."""
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    found = _COLLISION.search(str(getattr(diag, "message_detail", "") or ""))
    if found is None:
        return []
    return [ErrorDetail(reason=f"version {found['version']} was written by another import first (and maybe others "
                               "of this batch): retry, and this import will compare with it",
                        record_type=found["type"], record_id=found["id"])]
