"""The hash chain itself: canonical bytes, entry hashes and an incremental verifier.

Pure functions with no database access, so the same code checks the live table
(`engine.audit.service.verify`) and the excerpt shipped inside an audit packet
(`engine.packets.verify`). An auditor can repeat the computation with any language:

    hash = sha256( canonical_json({org_id, org_seq, at, actor, action,
                                   entity_type, entity_id, payload, prev_hash}) )

where canonical JSON is UTF-8, keys sorted, no insignificant whitespace
(`json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`), and `at` is
written `YYYY-MM-DDTHH:MM:SS.ffffffZ`. The first entry of an organisation's chain has
`prev_hash` = 64 zeros (GENESIS_HASH).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from engine.errors import InputError

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "org_id",
    "org_seq",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "payload",
    "prev_hash",
)


def format_instant(instant: dt.datetime) -> str:
    """The one textual form of an instant inside the chain (UTC, microseconds, `Z`).

    Fixed width, so the hash never depends on how a driver prints a timestamp.
    """
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"audit instant without an offset: {instant.isoformat()}")
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str) -> dt.datetime:
    """Inverse of `format_instant` (accepts any ISO 8601 form with an offset)."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"audit instant without an offset: {text}")
    return value.astimezone(dt.UTC)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return format_instant(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal | PurePath):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # a pydantic model
        return dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def normalise_payload(payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """Turn a payload into plain JSON values, exactly as it will be stored and hashed.

    Storing the normalised form (not the caller's objects) is what makes a later
    recomputation from the database give the same bytes.
    """
    try:
        text = json.dumps(dict(payload or {}), default=_json_default, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"audit payload is not JSON: {exc}", code="audit.payload") from None
    result: dict[str, Any] = json.loads(text)
    return result


def canonical_json(value: Any) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, compact separators, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def hashed_document(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The exact fields an entry hash covers, with `at` in its canonical text form."""
    doc = {name: entry[name] for name in HASHED_FIELDS}
    at = doc["at"]
    doc["at"] = format_instant(at) if isinstance(at, dt.datetime) else format_instant(parse_instant(at))
    return doc


def entry_hash(entry: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of an entry's hashed fields (includes prev_hash)."""
    return hashlib.sha256(canonical_json(hashed_document(entry))).hexdigest()


@dataclass(frozen=True)
class Break:
    """Where a chain stops matching, and why, in words an investigator can act on."""

    seq: int | None
    org_id: str
    org_seq: int | None
    reason: str


class ChainWalker:
    """Checks one organisation's entries in chain order, one at a time (memory stays flat).

    Linkage is checked against the *stored* hash of the previous entry, so one edited row is
    reported once (its own content no longer matches) instead of breaking every later entry.
    `anchor` is the prev_hash the first entry must carry: GENESIS_HASH for a whole chain,
    or the excerpt's anchor for a slice of it. Entries flagged `redacted` (pseudonymised in a
    PHI-redacted packet) keep their stored hash and linkage but cannot be recomputed.
    """

    def __init__(self, org_id: str, *, anchor: str = GENESIS_HASH, first_org_seq: int | None = 1) -> None:
        self.org_id = org_id
        self.expected_prev = anchor
        self.expected_org_seq = first_org_seq
        self.count = 0
        self.head = anchor
        self.unverifiable = 0

    def skip(self, entry: Mapping[str, Any]) -> None:
        """Step past an entry that cannot be checked at all (reported by the caller): the next one
        links to its stored hash, so only this entry is named."""
        self.count += 1
        self.expected_prev = self.head = str(entry.get("hash", ""))
        org_seq = entry.get("org_seq")
        if isinstance(org_seq, int) and not isinstance(org_seq, bool):
            self.expected_org_seq = org_seq + 1

    def feed(self, entry: Mapping[str, Any], *, redacted: bool = False) -> Break | None:
        """Check the next entry; return the problem with it, or None when it fits."""
        seq = entry.get("seq")
        org_seq = entry.get("org_seq")
        stored = str(entry.get("hash", ""))
        problem: str | None = None
        if self.expected_org_seq is not None and org_seq != self.expected_org_seq:
            problem = (
                f"org_seq {org_seq} follows {self.expected_org_seq - 1}: "
                "an entry was removed or inserted before it"
            )
        elif entry.get("prev_hash") != self.expected_prev:
            problem = (
                f"prev_hash {str(entry.get('prev_hash'))[:16]}... does not match the previous entry's "
                f"hash {self.expected_prev[:16]}...: the previous entry was rewritten, or an entry "
                "was removed or inserted before this one"
            )
        elif redacted:
            self.unverifiable += 1
        elif entry_hash(entry) != stored:
            problem = "content does not match its hash: this entry was altered after it was written"
        self.count += 1
        self.expected_prev = stored
        self.head = stored
        if isinstance(org_seq, int):
            self.expected_org_seq = org_seq + 1
        if problem is None:
            return None
        return Break(
            seq=seq if isinstance(seq, int) else None, org_id=self.org_id, org_seq=org_seq, reason=problem
        )
