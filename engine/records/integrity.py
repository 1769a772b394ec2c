"""The record store checked against what its imports wrote: the second half of `vigil audit verify`.

A record version is a row of `record_version`, not an entry of the audit chain, so the chain's
hashes say nothing about it. The table's triggers refuse UPDATE and DELETE (`engine/audit/tables.py`),
but someone who can drop them can still rewrite a row, and `records show` then printed the forged
value while `audit verify` said "intact". So `pipeline.verify_audit` also runs `check_versions`:
one pass over the table in the order it was written, in flat memory:

- each version's content hash is recomputed from its stored data as the import computed it
  (`hashing.stored_hash`) and compared with the stored one: a version edited in place is named by
  type, id and version;
- the versions are grouped by the import that wrote them (their `recorded_at`, one instant per
  import call, which the import's `records.import` entry records) and counted and digested
  (`hashing.VersionsDigest`) against what that entry says it wrote (`created + updated`,
  `versions_sha256`): a version deleted, added, or rewritten together with its content hash is
  caught there, naming the import. Entries written before `versions_sha256` existed are checked
  by count only.

Imports that share an instant (a frozen clock: the demo's import, tests) wrote their versions one
after the other, so the versions of that instant are taken in write order, each entry (in chain
order) taking as many as it wrote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, Text, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from engine.audit import service as audit_service
from engine.audit.schemas import AuditEntry, ChainBreak
from engine.json_codec import loads_stored
from engine.records.hashing import VersionsDigest, stored_hash, text_hash
from engine.records.schemas import RECORD_MODELS
from engine.records.tables import record_version

__all__ = ["IMPORT_ACTION", "check_versions"]

IMPORT_ACTION = "records.import"
#: how many versions between two calls of `progress`
PROGRESS_EVERY = 20_000

Progress = Callable[[int, int], None]
"""progress(versions_done, versions_total)."""


@dataclass
class _Import:
    """One `records.import` entry and the versions of its instant found for it so far."""

    entry: AuditEntry
    written: int
    digest: str | None
    seen: VersionsDigest = field(default_factory=VersionsDigest)

    def describe(self) -> str:
        sources = self.entry.payload.get("sources")
        named = ", ".join(map(str, sources[:3])) + (", ..." if len(sources) > 3 else "") \
            if isinstance(sources, list) and sources else "no file named"
        return f"the import recorded at {self.entry.payload.get('recorded_at')} by {self.entry.actor} ({named})"


@dataclass
class _Instant:
    """The imports that share one `recorded_at`, in chain order, and the versions beyond them."""

    imports: list[_Import]
    current: int = 0
    extra: int = 0

    def take(self, record_type: str, record_id: str, version: Any, content_hash: str) -> None:
        while self.current < len(self.imports) and self.imports[self.current].seen.count >= \
                self.imports[self.current].written:
            self.current += 1
        if self.current == len(self.imports):
            self.extra += 1
            return
        self.imports[self.current].seen.add(record_type, record_id, version, content_hash)


@dataclass
class _Stray:
    """Versions at an instant no import entry names: how many, and the first of them."""

    count: int
    first: tuple[str, str, int | None]


def check_versions(session: Session, *, org_id: str | None, limit: int = 100,
                   progress: Progress | None = None) -> tuple[int, list[ChainBreak]]:
    """(versions checked, what does not match: at most `limit`) for one organization or all."""
    instants = _imports(session, org_id=org_id)
    total = _count(session, org_id) if progress is not None else 0
    breaks: list[ChainBreak] = []
    strays: dict[tuple[str, dt.datetime], _Stray] = {}
    fast = session.get_bind().dialect.name == "sqlite"  # the text stored is the canonical text, mostly
    read: dict[Any, dt.datetime | str] = {}  # recorded_at as stored -> the instant, or why it does not read
    checked = 0
    for org, record_type, record_id, version, text, content_hash, stored_at in _rows(session, org_id):
        checked += 1
        if progress is not None and checked % PROGRESS_EVERY == 0:
            progress(checked, total)
        if not (fast and isinstance(text, str) and text_hash(text) == content_hash):
            why = _altered(record_type, text, content_hash)
            if why is not None and len(breaks) < limit:
                breaks.append(_record_break(org, record_type, record_id, version, why))
        recorded_at = read.get(stored_at)
        if recorded_at is None:
            recorded_at = read[stored_at] = _instant(stored_at)
        if isinstance(recorded_at, str):
            if len(breaks) < limit:
                breaks.append(_record_break(org, record_type, record_id, version, recorded_at))
            continue
        group = instants.get((org, recorded_at))
        if group is not None:
            group.take(record_type, record_id, version, content_hash)
        elif (org, recorded_at) in strays:
            strays[org, recorded_at].count += 1
        else:
            strays[org, recorded_at] = _Stray(1, (record_type, record_id, _whole(version)))
    if progress is not None:
        progress(checked, max(total, checked))
    breaks += _import_breaks(instants) + _stray_breaks(strays)
    return checked, breaks[:limit]


def _imports(session: Session, *, org_id: str | None) -> dict[tuple[str, dt.datetime], _Instant]:
    """Every `records.import` entry that says what it wrote, by organization and `recorded_at`."""
    instants: dict[tuple[str, dt.datetime], _Instant] = {}
    for entry in audit_service.entries_of_action(session, org_id=org_id, action=IMPORT_ACTION):
        said = _said(entry.payload)
        if said is None:  # not as an import writes it: the chain's own check names a rewritten entry
            continue
        at, written, digest = said
        instants.setdefault((entry.org_id, at), _Instant([])).imports.append(_Import(entry, written, digest))
    return instants


def _said(payload: dict[str, Any]) -> tuple[dt.datetime, int, str | None] | None:
    """(recorded_at, versions written, their digest or None) as an import entry records them."""
    try:
        at = dt.datetime.fromisoformat(payload["recorded_at"])
        written = payload["created"] + payload["updated"]
    except (KeyError, TypeError, ValueError):
        return None
    digest = payload.get("versions_sha256")
    if at.tzinfo is None or type(written) is not int:
        return None
    return at.astimezone(dt.UTC), written, digest if isinstance(digest, str) else None


def _count(session: Session, org_id: str | None) -> int:
    query = select(func.count()).select_from(record_version)
    if org_id is not None:
        query = query.where(record_version.c.org_id == org_id)
    return int(session.execute(query).scalar_one())


def _rows(session: Session, org_id: str | None) -> Any:
    """(org, type, id, version, data as text, content hash, recorded_at as stored) of every version,
    in the order written. Both read as the database holds them, not through their column types: the
    check decodes `data` itself, and on SQLite `recorded_at` is the text of an instant (or whatever
    an UPDATE wrote there), read once per distinct value by `_instant`."""
    c = record_version.c
    postgres = session.get_bind().dialect.name == "postgresql"
    text = cast(c.data, Text) if postgres else type_coerce(c.data, Text)
    at = c.recorded_at if postgres else type_coerce(c.recorded_at, String)
    query = select(c.org_id, c.record_type, c.record_id, c.version, text.label("data"), c.content_hash,
                   at.label("recorded_at")).order_by(c.pk)
    if org_id is not None:
        query = query.where(c.org_id == org_id)
    return session.execute(query.execution_options(yield_per=5000)).tuples()


def _instant(stored: Any) -> dt.datetime | str:
    """A stored `recorded_at` as an aware UTC instant (SQLite: its text, written in UTC), or why it
    does not read as one."""
    if isinstance(stored, dt.datetime) and stored.tzinfo is not None:
        return stored.astimezone(dt.UTC)
    try:
        value = dt.datetime.fromisoformat(stored) if isinstance(stored, str) else None
    except ValueError:
        value = None
    if value is None or value.tzinfo is not None:
        return (f"its recorded_at {str(stored)[:60]!r} is not an instant as the store writes one: it was altered "
                "after it was written")
    return value.replace(tzinfo=dt.UTC)


def _altered(record_type: Any, text: Any, content_hash: Any) -> str | None:
    """Why a version's stored data does not match its content hash, or None when it does."""
    model = RECORD_MODELS.get(record_type) if isinstance(record_type, str) else None
    if model is None:
        return f"its type {record_type!r} is not a record type: the row was altered after it was written"
    try:
        data = loads_stored(text) if isinstance(text, str | bytes) else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return "its stored data is not a JSON object: it was altered after it was written"
    try:
        same = stored_hash(model, data) == content_hash
    except (TypeError, ValueError, AttributeError):  # values no import writes (an instant that does not read)
        same = False
    if same:
        return None
    return "its stored data does not match its content hash: it was altered after it was written"


def _record_break(org: str, record_type: Any, record_id: Any, version: Any, reason: str) -> ChainBreak:
    return ChainBreak(seq=None, org_id=org, org_seq=None, reason=reason, kind="record",
                      record_type=str(record_type), record_id=str(record_id), version=_whole(version))


def _import_breaks(instants: dict[tuple[str, dt.datetime], _Instant]) -> list[ChainBreak]:
    """The imports whose stored versions differ from what their entries recorded."""
    out = []
    for (org, _), group in sorted(instants.items(), key=lambda kv: (kv[0][0], kv[1].imports[0].entry.org_seq)):
        for number, one in enumerate(group.imports, start=1):
            extra = group.extra if number == len(group.imports) else 0
            found = one.seen.count + extra
            if found != one.written:
                why = ("versions were deleted" if found < one.written
                       else "versions were added with its instant, outside any import")
                reason = (f"{one.describe()} wrote {one.written} record version(s); {found} with its recorded_at "
                          f"are stored: {why}")
            elif one.digest is not None and one.seen.hexdigest() != one.digest:
                reason = (f"the {one.written} record version(s) {one.describe()} wrote no longer match the digest its "
                          "entry recorded (versions_sha256): one of them was rewritten together with its content hash, "
                          "or replaced")
            else:
                continue
            out.append(ChainBreak(seq=one.entry.seq, org_id=org, org_seq=one.entry.org_seq, reason=reason,
                                  kind="import"))
    return out


def _stray_breaks(strays: dict[tuple[str, dt.datetime], _Stray]) -> list[ChainBreak]:
    """Versions whose instant no import entry names: written outside an import, or its entry removed."""
    out = []
    for (org, at), stray in sorted(strays.items()):
        record_type, record_id, version = stray.first
        others = f" and {stray.count - 1} more version(s) recorded then" if stray.count > 1 else ""
        out.append(_record_break(org, record_type, record_id, version, (
            f"it{others} (recorded at {at.isoformat()}) has no {IMPORT_ACTION} entry in the audit trail: written "
            "outside an import, or the import's entry was removed")))
    return out


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
