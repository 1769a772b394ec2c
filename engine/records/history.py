"""Reads over record history: latest version known at an instant, every version, streaming walks.

Every query here takes the org first and filters on it; there is no unscoped read. Rows become
`StoredRecord`s in this module and in `ingest.py`, and go no further (house rule: rows never
leave the domain).

"Known at" is the knowledge axis (ARCHITECTURE decision 6): the version of a record known at `t` is
the highest version whose `recorded_at` is at or before `t`. The evaluation instant (`as_of`) is a
different thing and is not handled here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import (
    Select,
    String,
    Text,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from engine import json_codec
from engine.db import in_chunks
from engine.records.schemas import RECORD_MODELS, StoredRecord
from engine.records.tables import record_version

_C = record_version.c
_COLUMNS = (
    _C.record_type, _C.record_id, _C.version, _C.data, _C.content_hash,
    _C.recorded_at, _C.actor, _C.source, _C.establishment_id,
)  # fmt: skip


def to_stored(row: Any) -> StoredRecord:
    """A stored record from a row, with `data` keys in contract order on both databases."""
    order = RECORD_MODELS[row.record_type].model_fields
    raw = row.data
    data = {k: raw[k] for k in order if k in raw}
    return StoredRecord(
        type=row.record_type,
        id=row.record_id,
        version=row.version,
        data=data,
        content_hash=row.content_hash,
        recorded_at=row.recorded_at,
        actor=row.actor,
        source=row.source,
        establishment_id=row.establishment_id,
    )


def latest_hashes(
    session: Session, *, org_id: str, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, str]]:
    """(type, id) -> (latest version, its content hash) for the keys that exist, newest knowledge.

    One query per record type in the batch. On PostgreSQL the ids go in as one array joined
    LATERAL to a `LIMIT 1` index probe per id: an `IN (...)` list of a thousand parameters is
    planned as a filter over every row of the type while the table has no statistics yet (a first
    import inside one transaction), which made a 100k-row import quadratic. SQLite's planner
    probes the index for each `IN` value on its own.
    """
    by_type: dict[str, list[str]] = {}
    for record_type, record_id in keys:
        by_type.setdefault(record_type, []).append(record_id)
    postgres = session.get_bind().dialect.name == "postgresql"
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for record_type, ids in by_type.items():
        unique = sorted(set(ids))
        stmt = _latest_lateral(org_id, record_type, unique) if postgres else _latest_in(org_id, record_type, unique)
        for record_id, version, digest in session.execute(stmt):
            key = (record_type, record_id)
            if key not in found or found[key][0] < version:
                found[key] = (version, digest)
    return found


def _latest_in(org_id: str, record_type: str, ids: list[str]) -> Select[Any]:
    # the ids go in as one JSON array read by json_each, not as an IN list of a thousand parameters:
    # SQLAlchemy renders each of those in Python on every call (a third of the check's cost); the
    # planner still probes the unique index once per id
    ids_json = literal(orjson.dumps(ids).decode(), Text)
    wanted: Select[Any] = select(literal_column("value")).select_from(func.json_each(ids_json))
    return select(_C.record_id, _C.version, _C.content_hash).where(
        _C.org_id == org_id, _C.record_type == record_type, _C.record_id.in_(wanted.scalar_subquery())
    )


def _latest_lateral(org_id: str, record_type: str, ids: list[str]) -> Select[Any]:
    wanted = func.unnest(literal(ids, ARRAY(String))).table_valued("id").render_derived(name="wanted")
    newest = (
        select(_C.version, _C.content_hash)
        .where(_C.org_id == org_id, _C.record_type == record_type, _C.record_id == wanted.c.id.collate("C"))
        .order_by(_C.version.desc())
        .limit(1)
        .lateral("newest")
    )
    return select(wanted.c.id, newest.c.version, newest.c.content_hash).select_from(wanted).join(newest, true())


def _known(stmt: Select[Any], known_at: dt.datetime | None) -> Select[Any]:
    return stmt if known_at is None else stmt.where(_C.recorded_at <= known_at)


def written_since(session: Session, *, org_id: str, instant: dt.datetime) -> bool:
    """Whether a version of the org's records was recorded after `instant` (one row read at most)."""
    stmt = select(record_version.c.pk).where(record_version.c.org_id == org_id,
                                             record_version.c.recorded_at > instant).limit(1)
    return session.execute(stmt).first() is not None


def count_records(session: Session, *, org_id: str) -> int:
    """How many records (not versions) the org has."""
    ids = select(record_version.c.record_type, record_version.c.record_id).where(
        record_version.c.org_id == org_id).distinct().subquery()
    return int(session.execute(select(func.count()).select_from(ids)).scalar_one())


def newest_version_key(session: Session) -> int:
    """The key of the newest record version written to this database, any organization (0: none): read
    off the primary key's index, so it costs nothing, and it changes whenever any record does."""
    return int(session.scalar(select(func.max(_C.pk))) or 0)


def count_versions(session: Session, *, org_id: str) -> int:
    """How many record versions the org has (versions are never updated or deleted, so this only grows)."""
    return int(session.execute(select(func.count()).select_from(record_version).where(
        record_version.c.org_id == org_id)).scalar_one())


def recorded_between(session: Session, *, org_id: str, after: dt.datetime, until: dt.datetime | None,
                     types: Sequence[str]) -> list[tuple[str, str, int, dict[str, Any], dt.datetime]]:
    """(type, id, version, data, recorded_at) of every version of the given types recorded in (after, until]."""
    out: list[tuple[str, str, int, dict[str, Any], dt.datetime]] = []
    for record_type in sorted(set(types)):
        stmt = select(_C.record_type, _C.record_id, _C.version, _C.data, _C.recorded_at).where(
            _C.org_id == org_id, _C.record_type == record_type, _C.recorded_at > after)
        if until is not None:
            stmt = stmt.where(_C.recorded_at <= until)
        out.extend((r.record_type, r.record_id, r.version, r.data, r.recorded_at)
                   for r in session.execute(stmt.order_by(_C.record_id, _C.version)))
    return out


def find_version(
    session: Session, *, org_id: str, record_type: str, record_id: str, known_at: dt.datetime | None
) -> StoredRecord | None:
    """The newest version known at `known_at` (or now), or None."""
    stmt = select(*_COLUMNS).where(_C.org_id == org_id, _C.record_type == record_type, _C.record_id == record_id)
    stmt = _known(stmt, known_at).order_by(_C.version.desc()).limit(1)
    row = session.execute(stmt).first()
    return to_stored(row) if row is not None else None


def all_versions(session: Session, *, org_id: str, record_type: str, record_id: str) -> list[StoredRecord]:
    """Every version of one record, oldest first."""
    stmt = (
        select(*_COLUMNS)
        .where(_C.org_id == org_id, _C.record_type == record_type, _C.record_id == record_id)
        .order_by(_C.version)
    )
    return [to_stored(row) for row in session.execute(stmt)]


def versions_by_ids(
    session: Session, *, org_id: str, record_type: str, ids: Sequence[str]
) -> dict[str, list[StoredRecord]]:
    """Every version of each of the given records of one type, oldest first, by id: `all_versions`
    for many records, one statement per `engine.db.IN_CHUNK` ids. Unknown ids are left out.

    Why: a packet cites thousands of records, and one `all_versions` each was 12,529 statements
    and 30% of a cms packet's build."""
    out: dict[str, list[StoredRecord]] = {}
    for chunk in in_chunks(ids):
        stmt = select(*_COLUMNS).where(_C.org_id == org_id, _C.record_type == record_type, _C.record_id.in_(chunk))
        for row in session.execute(stmt.order_by(_C.record_id, _C.version)):
            out.setdefault(row.record_id, []).append(to_stored(row))
    return out


def walk_latest(
    session: Session,
    *,
    org_id: str,
    types: Sequence[str] | None,
    known_at: dt.datetime | None,
    batch_size: int,
) -> Iterator[StoredRecord]:
    """Stream the newest known version of each record, ordered by (type, id), in pages.

    Keyset pagination over the unique index: each page is one bounded query, so memory stays flat
    however many records the org holds. A record's versions are adjacent in that order; the last
    one seen before the key changes is the newest known one.
    """
    for row in _walk_rows(session, _COLUMNS, org_id, types, known_at, batch_size):
        yield to_stored(row)


def walk_latest_data(
    session: Session,
    *,
    org_id: str,
    record_type: str,
    known_at: dt.datetime | None,
    batch_size: int,
) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """The newest known (id, version, data) of each record of one type, by id: a sweep's read.

    A sweep reads millions of rows and needs none of the provenance columns. Measured on 1M access
    events (SQLite): 18.9 s through ORM rows, `StoredRecord`s and the JSON type's result
    processor; 5.9 s as one compiled Core statement with bound parameters and `json.loads` here
    (orjson: 3.4 -> 1.0 us per access event).
    Keys come in the order the database keeps them (SQLite: the canonical text's sorted keys;
    PostgreSQL: JSONB's), not put back in contract order as `to_stored` does for people: nothing a
    sweep makes depends on it (facts take their fields in a fixed order; a test evaluates a practice
    with every record's keys reversed), and the reordering was a tenth of the sweep's reading
    (1-2 us of a record's 3).
    """
    stmt = select(_C.record_id, _C.version, type_coerce(_C.data, Text)).where(
        _C.org_id == bindparam("org"),
        _C.record_type == bindparam("record_type"),
        tuple_(_C.record_id, _C.version) > tuple_(bindparam("after_id"), bindparam("after_version")),
    )
    if known_at is not None:
        stmt = stmt.where(_C.recorded_at <= bindparam("known_at", type_=_C.recorded_at.type))
    stmt = stmt.order_by(_C.record_id, _C.version).limit(batch_size)
    connection = session.connection()
    params: dict[str, Any] = {"org": org_id, "record_type": record_type, "after_id": "", "after_version": 0,
                              "known_at": known_at}

    def pages() -> Iterator[Any]:
        while True:
            rows = connection.execute(stmt, params).all()
            yield from rows
            if len(rows) < batch_size:
                return
            params["after_id"], params["after_version"] = rows[-1][0], rows[-1][1]

    return _newest(pages())


def latest_data_by_ids(
    session: Session,
    *,
    org_id: str,
    record_type: str,
    ids: Sequence[str],
    known_at: dt.datetime | None,
    chunk: int = 500,
) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """The newest known (id, version, data) of the given records of one type, by id; unknown ids
    are skipped. For sweeps that need a handful of events out of millions."""
    connection = session.connection()
    wanted = sorted(set(ids))

    def rows() -> Iterator[Any]:
        for start in range(0, len(wanted), chunk):
            stmt = select(_C.record_id, _C.version, type_coerce(_C.data, Text)).where(
                _C.org_id == org_id, _C.record_type == record_type, _C.record_id.in_(wanted[start:start + chunk])
            )
            yield from connection.execute(_known(stmt, known_at).order_by(_C.record_id, _C.version))

    return _newest(rows())


def ids_ignoring_case(session: Session, *, org_id: str, record_type: str, name: str) -> list[str]:
    """The ids of records of one type that equal `name` but for (ASCII) case, in id order."""
    stmt = (select(_C.record_id).distinct()
            .where(_C.org_id == org_id, _C.record_type == record_type, func.lower(_C.record_id) == name.lower())
            .order_by(_C.record_id))
    return list(session.connection().execute(stmt).scalars())


def _newest(rows: Iterable[Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """From (id, version, JSON) rows ordered by id then version: the last version of each id, its
    data decoded (PostgreSQL hands JSONB back decoded)."""
    held: Any = None
    for row in rows:
        if held is not None and held[0] != row[0]:
            yield _lean(held)
        held = row
    if held is not None:
        yield _lean(held)


def _lean(held: Any) -> tuple[str, int, dict[str, Any]]:
    record_id, version, raw = held[0], held[1], held[2]
    return record_id, version, json_codec.loads_stored(raw) if isinstance(raw, str) else raw


def _walk_rows(
    session: Session,
    columns: tuple[Any, ...],
    org_id: str,
    types: Sequence[str] | None,
    known_at: dt.datetime | None,
    batch_size: int,
) -> Iterator[Any]:
    """Newest known row per record, type by type in name order, each type by id.

    One type per query: with `record_type IN (...)` and a row-value bound over (type, id,
    version), SQLite sorted every remaining row of the org for each page (measured: 0.17 s a page
    on 1.6M access events, 75x the equality form), which made a large walk quadratic.
    """
    for record_type in sorted(set(types) if types is not None else RECORD_MODELS):
        yield from _walk_type(session, columns, org_id, record_type, known_at, batch_size)


def _walk_type(
    session: Session,
    columns: tuple[Any, ...],
    org_id: str,
    record_type: str,
    known_at: dt.datetime | None,
    batch_size: int,
) -> Iterator[Any]:
    after: tuple[str, int] | None = None
    held: Any = None
    while True:
        stmt = select(*columns).where(_C.org_id == org_id, _C.record_type == record_type)
        if after is not None:
            stmt = stmt.where(tuple_(_C.record_id, _C.version) > tuple_(*after))
        stmt = _known(stmt, known_at).order_by(_C.record_id, _C.version).limit(batch_size)
        rows = session.execute(stmt).all()
        for row in rows:
            if held is not None and held.record_id != row.record_id:
                yield held
            held = row
        if len(rows) < batch_size:
            break
        last = rows[-1]
        after = (last.record_id, last.version)
    if held is not None:
        yield held
