"""Use cases of the audit trail: append an entry, verify the chain, read entries back.

Every service that changes something calls `append` inside its own transaction, so the entry
commits (or rolls back) with the change it describes; `append` never commits.

Each organisation has its own chain (org_seq 1, 2, 3 ...), so a packet's excerpt for one
practice is a contiguous, checkable slice that carries no other practice's entries. Appends to
one chain are serialised by the database, not by Python, so several processes cannot fork it:
- PostgreSQL: a transaction-level advisory lock keyed by the organisation, taken before the
  tail is read and held until commit;
- SQLite: the database write lock, taken (BEGIN IMMEDIATE) before the tail is read;
- both: a unique (org_id, org_seq) constraint as the last line of defence.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from engine import clock, db
from engine.audit import anchors
from engine.audit.chain import GENESIS_HASH, Break, ChainWalker, entry_hash, normalise_payload
from engine.audit.lenient import Lenient, unreadable_fields
from engine.audit.schemas import (
    AuditEntry,
    AuditExcerpt,
    AuditPage,
    AuditQuery,
    AuditVerifyReport,
    ChainBreak,
    ChainHead,
)
from engine.audit.tables import AuditEntryRow
from engine.db import hold_lock
from engine.errors import ErrorDetail, InputError

_COLUMNS = (
    AuditEntryRow.seq,
    AuditEntryRow.org_id,
    AuditEntryRow.org_seq,
    AuditEntryRow.at,
    AuditEntryRow.actor,
    AuditEntryRow.action,
    AuditEntryRow.entity_type,
    AuditEntryRow.entity_id,
    AuditEntryRow.payload,
    AuditEntryRow.prev_hash,
    AuditEntryRow.hash,
)
_LIMITS = {"org_id": 64, "actor": 200, "action": 100, "entity_type": 100, "entity_id": 200}
#: The largest `seq` a page may start before: sequence numbers are 64-bit signed integers in the
#: database, and a larger `before` overflowed the driver (a 500 on every face) instead of being refused.
MAX_SEQ = 2**63 - 1


def hold_chain(session: Session, org_id: str) -> None:
    """Hold the chain's lock until commit, before its tail is read.

    Every transaction that changes an organization's data appends to its chain, so this lock is
    the first of the organization's locks a transaction takes: a domain that serialises its own
    writers (the findings' one writer) takes this one before its own. Taken the other way round,
    `vigil evaluate FILES --db` (the import's entry, then the findings) and a sweep (the findings,
    then its entry) deadlocked on PostgreSQL, and one of them failed.

    PostgreSQL: an advisory lock on the organization (in this schema); SQLite: the write lock,
    taken before the tail is read (`engine.db.hold_lock`).
    """
    hold_lock(session.connection(), f"vigil.audit:{org_id}")


#: The payload key naming the API token a request was signed with (`acting_with_token`).
VIA_TOKEN = "via_token"
_VIA_TOKEN: contextvars.ContextVar[str | None] = contextvars.ContextVar("vigil_audit_via_token", default=None)


@contextlib.contextmanager
def acting_with_token(token_id: str | None) -> Iterator[None]:
    """While it is open, every entry appended carries `token_id` in its payload (`via_token`).

    Set by the API's permission dependency for a request signed with an API token, and reset when
    the request ends. Without it, entries written by a script named only the user (`user:NAME`), so
    after a token leaked nobody could list what that token had done. A request-scoped value, not an
    argument: every service function that appends would have had to pass it on. It goes in the
    payload, which the entry hash covers as written, so the actor string (and filters by actor)
    stays as it was and chains holding entries without it still verify."""
    reset = _VIA_TOKEN.set(token_id)
    try:
        yield
    finally:
        _VIA_TOKEN.reset(reset)


def _check_fields(fields: Mapping[str, str]) -> None:
    for name, limit in _LIMITS.items():
        value = fields[name]
        if not value or len(value) > limit:
            raise InputError(
                f"audit {name} must be 1..{limit} characters, got {len(value)}", code="audit.field"
            )


def append(
    session: Session,
    *,
    org_id: str,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    payload: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry at the end of the organisation's chain (flushes, never commits). Within
    `acting_with_token` (a request signed with an API token) the payload names the token."""
    fields = {
        "org_id": org_id,
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
    }
    _check_fields(fields)
    via_token = _VIA_TOKEN.get()
    if via_token is not None and not (payload and VIA_TOKEN in payload):
        payload = {**(payload or {}), VIA_TOKEN: via_token}
    clean_payload = normalise_payload(payload)
    hold_chain(session, org_id)
    session.flush()  # earlier appends in this transaction must be visible as the tail
    tail = session.execute(
        select(AuditEntryRow.org_seq, AuditEntryRow.hash)
        .where(AuditEntryRow.org_id == org_id)
        .order_by(AuditEntryRow.org_seq.desc())
        .limit(1)
    ).first()
    doc: dict[str, Any] = {
        **fields,
        "org_seq": tail.org_seq + 1 if tail else 1,
        "at": clock.now(),
        "payload": clean_payload,
        "prev_hash": tail.hash if tail else GENESIS_HASH,
    }
    row = AuditEntryRow(**doc, hash=entry_hash(doc))
    session.add(row)
    session.flush()
    return _entry(row)


def verify(session: Session, *, org_id: str | None = None, max_breaks: int = 100,
           anchored: Iterable[anchors.Anchored] = ()) -> AuditVerifyReport:
    """Recompute every chain (or one organisation's) and name where each stops matching, then name
    every `anchored` row (a packet, a run) whose entry is gone: a chain cut short still links up.
    The faces verify through `pipeline.verify_audit`, which lists those rows.

    Streams rows in chain order, so memory does not grow with the table.
    """
    lenient = {AuditEntryRow.at.key, AuditEntryRow.payload.key}
    columns = [type_coerce(c, Lenient(c.type)).label(c.key) if c.key in lenient else c for c in _COLUMNS]
    query = select(*columns).order_by(AuditEntryRow.org_id, AuditEntryRow.org_seq)
    if org_id is not None:
        query = query.where(AuditEntryRow.org_id == org_id)
    heads: list[ChainHead] = []
    breaks: list[Break] = []
    walker: ChainWalker | None = None
    last_seq: int | None = None
    before: dict[str, Any] | None = None  # the previous entry of this chain, for its seq
    checked = 0

    def close(w: ChainWalker | None) -> None:
        if w is not None:
            heads.append(ChainHead(org_id=w.org_id, entries=w.count, last_seq=last_seq, head_hash=w.head))

    for row in session.execute(query.execution_options(yield_per=1000)):
        entry = row._asdict()
        if walker is None or walker.org_id != entry["org_id"]:
            close(walker)
            walker = ChainWalker(entry["org_id"])
            before = None
        unreadable = unreadable_fields(entry)
        if unreadable:  # altered in place with what its column cannot hold (SQLite)
            walker.skip(entry)
            problem: Break | None = Break(seq=_whole(entry["seq"]), org_id=entry["org_id"],
                                          org_seq=_whole(entry["org_seq"]),
                                          reason=f"{'; '.join(unreadable)}: this entry was altered after it was "
                                                 "written")
        else:
            problem = walker.feed(entry) or _out_of_order(before, entry)
        if problem is not None and len(breaks) < max_breaks:
            breaks.append(problem)
        before = entry
        last_seq = entry["seq"]
        checked += 1
    close(walker)
    cut = anchors.missing(session, anchored, org_id=org_id, limit=max_breaks - len(breaks))
    return AuditVerifyReport(
        ok=not breaks and not cut,
        entries_checked=checked,
        chains=heads,
        broken=[ChainBreak(seq=_whole(b.seq), org_id=b.org_id, org_seq=_whole(b.org_seq),
                           reason=b.reason if _whole(b.org_seq) == b.org_seq else f"org_seq {b.org_seq!r}: {b.reason}")
                for b in breaks] + cut,
    )


def _out_of_order(before: dict[str, Any] | None, entry: dict[str, Any]) -> Break | None:
    """The break of an entry whose `seq` is not above the one before it in its chain.

    Appends to one chain are serialised (`hold_chain`), so `seq` grows with `org_seq`. Neither
    number's order is in the hash, so swapping two entries' `seq` left every hash and link intact
    while `vigil audit log` (which lists by seq) showed the two out of order."""
    if before is None:
        return None
    seq, previous = _whole(entry["seq"]), _whole(before["seq"])
    if seq is None or previous is None or seq > previous:
        return None
    return Break(seq=seq, org_id=entry["org_id"], org_seq=_whole(entry["org_seq"]), reason=(
        f"seq {seq} is not above seq {previous} of entry #{before['org_seq']}, which comes before it in the chain: "
        "the entries' seq were changed (swapped or rewritten) after they were written, so `vigil audit log`, "
        "which lists by seq, shows them out of order"))


def entries_of_action(session: Session, *, org_id: str | None, action: str | tuple[str, ...],
                      entity_ids: Collection[str] | None = None) -> Iterator[AuditEntry]:
    """The entries of one action or several (all organisations' or one's), in chain order, streamed; an entry
    whose `at` or payload no longer reads (altered in place on SQLite) is left out: `verify` names
    it. For a domain that checks its own rows against the entries written with them (the record
    store's imports, `engine.records.integrity`). With `entity_ids`, only those entities' entries,
    by entity and in chain order within each: a reader after a page's runs parses their entries,
    not every run's of the organisation. Ordered so, SQLite reads them through the (org_id,
    entity_id, action) index; ordered by chain alone, it walked the organisation's whole chain by
    the (org_id, org_seq) constraint to skip a sort, and a scoped run list took 0.3 s per page on a
    trail of a million entries (docs/audit.md, Reading by entity)."""
    lenient = {AuditEntryRow.at.key, AuditEntryRow.payload.key}
    columns = [type_coerce(c, Lenient(c.type)).label(c.key) if c.key in lenient else c for c in _COLUMNS]
    actions = (action,) if isinstance(action, str) else action
    query = select(*columns).where(AuditEntryRow.action.in_(actions)).order_by(AuditEntryRow.org_id,
                                                                              AuditEntryRow.org_seq)
    if org_id is not None:
        query = query.where(AuditEntryRow.org_id == org_id)
    if entity_ids is None:
        yield from _readable(session, query)
        return
    by_entity = query.order_by(None).order_by(AuditEntryRow.org_id, AuditEntryRow.entity_id, AuditEntryRow.org_seq)
    for chunk in db.in_chunks(entity_ids):
        yield from _readable(session, by_entity.where(AuditEntryRow.entity_id.in_(chunk)))


def _readable(session: Session, query: Select[Any]) -> Iterator[AuditEntry]:
    for row in session.execute(query.execution_options(yield_per=1000)):
        entry = row._asdict()
        if unreadable_fields(entry) or not isinstance(entry["payload"], dict):
            continue
        try:
            read = AuditEntry(**entry)
        except ValidationError:  # a column rewritten with another type of value (SQLite keeps it)
            continue
        yield read


def _whole(value: Any) -> int | None:
    """A sequence number as reported: None when a tampered row holds something else there."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def list_entries(session: Session, *, org_id: str | None = None, limit: int = 20,
                 where: AuditQuery | None = None) -> list[AuditEntry]:
    """The newest `limit` entries (all organisations or one) that `where` admits, oldest first."""
    return list(reversed(entries_page(session, org_id=org_id, limit=limit, where=where).items))


def actor_names(actor: str) -> list[str]:
    """What an actor filter matches: the name as written and, for a bare username, the `user:` form
    the API, the web and the CLI record a user by (`officer` had matched nothing while the page's own
    hint said "e.g. officer"; entries the CLI wrote before it named users so keep their bare name)."""
    return [actor] if ":" in actor else [actor, f"user:{actor}"]


def entries_page(session: Session, *, org_id: str | None, limit: int = 50,
                 where: AuditQuery | None = None) -> AuditPage:
    """The newest `limit` entries that `where` admits (before `where.before`, when given), newest
    first, and where the next older page starts."""
    if not 1 <= limit <= 1000:
        raise InputError("limit must be between 1 and 1000", [ErrorDetail(reason=str(limit), field="limit")])
    q = where or AuditQuery()
    if q.before is not None and not 1 <= q.before <= MAX_SEQ:
        raise InputError(f"before must be a seq between 1 and {MAX_SEQ}",
                         [ErrorDetail(reason=f"{q.before} is not an entry's seq", field="before")],
                         code="input.range")
    # one org's page in its chain's order, which its (org_id, org_seq) index gives without a sort; it is
    # `seq` order too (each org's entries are appended under its lock), so `before` still pages it.
    # Ordered by seq, each page had sorted the org's whole trail: 1.0 s a page on a million entries.
    # One entity's entries are few and found by (org_id, entity_id, action): sorting them is nothing,
    # and the chain's order would have SQLite walk the whole chain to spare that sort.
    chain_order = org_id is not None and not q.entity
    order = AuditEntryRow.org_seq.desc() if chain_order else AuditEntryRow.seq.desc()
    query = select(*_COLUMNS).order_by(order).limit(limit + 1)
    if org_id is not None:
        query = query.where(AuditEntryRow.org_id == org_id)
    if q.before is not None:
        query = query.where(AuditEntryRow.seq < q.before)
    if q.actor:
        query = query.where(AuditEntryRow.actor.in_(actor_names(q.actor)))
    if q.token:
        query = query.where(AuditEntryRow.payload[VIA_TOKEN].as_string() == q.token)
    if q.action:
        # actions are lower-case dotted names; the family is compared by its exact characters, since
        # SQLite's LIKE ignores case and PostgreSQL's does not (`TASK` had found 180 entries on one, 0 on the other)
        action = q.action.strip().lower()
        family = action.rstrip(".") + "."
        query = query.where(or_(AuditEntryRow.action == action,
                                func.substr(AuditEntryRow.action, 1, len(family)) == family))
    if q.entity:
        entity_type, slash, entity_id = q.entity.partition("/")
        query = query.where(AuditEntryRow.entity_type == entity_type)
        if slash:
            query = query.where(AuditEntryRow.entity_id == entity_id)
    rows = [AuditEntry(**row._asdict()) for row in session.execute(query)]
    if not rows and q.before is None and (q.action or q.entity):
        _refuse_names_never_recorded(session, org_id=org_id, q=q)
    older = rows[limit - 1].seq if len(rows) > limit else None
    return AuditPage(items=rows[:limit], older=older)


#: The code of a filter naming an action or entity kind the trail never recorded (the page says it in place).
UNRECORDED = "input.audit_filter"


def _refuse_names_never_recorded(session: Session, *, org_id: str | None, q: AuditQuery) -> None:
    """An action or entity type no entry of the trail has is a 422 naming those it has: a misspelt
    `finding.wave` answered an empty list, read as "nothing of the kind happened" (as an unknown
    token id is refused for the same reason). Asked only when a first page came back empty."""
    def recorded(column: Any) -> list[str]:
        found = select(column).distinct()
        if org_id is not None:
            found = found.where(AuditEntryRow.org_id == org_id)
        return sorted(str(v) for v in session.scalars(found) if v)

    problems = []
    if q.action:
        action = q.action.strip().lower().rstrip(".")
        actions = recorded(AuditEntryRow.action)
        if not any(a == action or a.startswith(action + ".") for a in actions):
            families = sorted({a.split(".")[0] for a in actions})
            problems.append(ErrorDetail(reason=f"no entry has the action {action!r} or one of its family; the "
                                               f"families recorded: {', '.join(families) or 'none'}",
                                        field="action"))
    if q.entity:
        kind = q.entity.partition("/")[0]
        kinds = recorded(AuditEntryRow.entity_type)
        if kind not in kinds:
            problems.append(ErrorDetail(reason=f"no entry is about a {kind!r}; the kinds recorded: "
                                               f"{', '.join(kinds) or 'none'}", field="entity"))
    if problems:
        raise InputError("a filter names what the trail never recorded", problems, code=UNRECORDED)


def chain_head(session: Session, *, org_id: str) -> ChainHead:
    """Where one organisation's chain ends, as stored (no hash recomputed: `verify` does that)."""
    row = session.execute(select(AuditEntryRow.org_seq, AuditEntryRow.seq, AuditEntryRow.hash)
                          .where(AuditEntryRow.org_id == org_id)
                          .order_by(AuditEntryRow.org_seq.desc()).limit(1)).first()
    if row is None:
        return ChainHead(org_id=org_id, entries=0, last_seq=None, head_hash=GENESIS_HASH)
    return ChainHead(org_id=org_id, entries=row.org_seq, last_seq=row.seq, head_hash=row.hash)


def excerpt(
    session: Session,
    *,
    org_id: str,
    start: dt.datetime,
    end: dt.datetime,
    known_at: dt.datetime | None = None,
) -> AuditExcerpt:
    """The contiguous part of an organisation's chain written in [start, end) and by `known_at`.

    The slice is taken by org_seq between the first and last entry in the window, so it has no
    holes even if the clock once stepped back; its anchor lets an auditor check it offline.
    """
    window = (
        (AuditEntryRow.org_id == org_id),
        (AuditEntryRow.at >= start),
        (AuditEntryRow.at < end),
    )
    query = select(func.min(AuditEntryRow.org_seq), func.max(AuditEntryRow.org_seq)).where(*window)
    if known_at is not None:
        query = query.where(AuditEntryRow.at <= known_at)
    first, last = session.execute(query).one()
    if first is None:
        anchor = _head_before(session, org_id=org_id, start=start)
        return AuditExcerpt(org_id=org_id, anchor=anchor, head=anchor, entries=[])
    rows = session.execute(
        select(*_COLUMNS)
        .where(AuditEntryRow.org_id == org_id, AuditEntryRow.org_seq.between(first, last))
        .order_by(AuditEntryRow.org_seq)
    )
    entries = [AuditEntry(**row._asdict()) for row in rows]
    return AuditExcerpt(org_id=org_id, anchor=entries[0].prev_hash, head=entries[-1].hash, entries=entries)


def _head_before(session: Session, *, org_id: str, start: dt.datetime) -> str:
    value = session.execute(
        select(AuditEntryRow.hash)
        .where(AuditEntryRow.org_id == org_id, AuditEntryRow.at < start)
        .order_by(AuditEntryRow.org_seq.desc())
        .limit(1)
    ).scalar()
    return value or GENESIS_HASH


def _entry(row: AuditEntryRow) -> AuditEntry:
    return AuditEntry(**{column.key: getattr(row, column.key) for column in _COLUMNS})
