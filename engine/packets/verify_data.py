"""Check this packet's audit-trail excerpt and its records' content hashes with plain python3.

Shipped in every Vigil evidence packet as data/verify-data.py (inside the signed bag), for an
auditor without Vigil; it needs Python 3.8 or later and its standard library only. Run it after
VERIFY.txt's steps 1 to 4 (which prove these files are the ones the practice signed):

    python3 <packet-id>/data/verify-data.py

It prints what it checked and exits 0, or names each problem and exits 1. What it computes, so
that any other tool can compute the same:

- canonical JSON of a value is its UTF-8 JSON text with keys sorted and no spaces:
  json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False);
- audit-trail.jsonl: line 1 is the anchor line; each later line is one entry of the practice's
  audit chain. An entry's hash is the SHA-256 (hex) of the canonical JSON of its fields org_id,
  org_seq, at, actor, action, entity_type, entity_id, payload and prev_hash, with `at` as written
  (YYYY-MM-DDTHH:MM:SS.ffffffZ). The first entry's prev_hash is the anchor line's `anchor`, each
  later entry's prev_hash is the hash of the entry before it, org_seq counts up by one from the
  anchor line's `first_org_seq`, the last entry's hash is the anchor line's `head`, and the
  number of entries is its `entries`. An entry flagged `redacted` (patient identifiers
  pseudonymised, or its payload withheld as about another framework or Vigil's own accounts)
  keeps its stored hash and links but no longer hashes to it: its links are checked, not its hash;
- records.json: each record's content_hash is the SHA-256 (hex) of the canonical JSON of its
  `data` after three rewrites, for the fields records.json's `content_hash_form` names for its
  type: each instant field's text read as an instant and written in UTC (`Z` for +00:00, with
  microseconds only when it has some: 2026-03-07T21:00:00-08:00 becomes 2026-03-08T05:00:00Z),
  each value of a map of instants likewise, and each number field holding a whole float written as
  an integer (12.0 becomes 12). A record flagged `redacted` (a PHI-redacted packet) is skipped: its
  patient fields were replaced after it was hashed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HASHED_FIELDS = ("org_id", "org_seq", "at", "actor", "action", "entity_type", "entity_id", "payload", "prev_hash")


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of a value (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_trail(path: Path) -> tuple[list[str], str]:
    """The problems of audit-trail.jsonl, and a line saying what was checked."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines or not isinstance(lines[0], dict) or lines[0].get("type") != "anchor":
        return [f"{path.name}: line 1 is not the anchor line"], ""
    header, entries = lines[0], lines[1:]
    problems: list[str] = []
    previous, org_seq, recomputed = header.get("anchor"), header.get("first_org_seq"), 0
    for number, entry in enumerate(entries, start=2):
        where = f"{path.name} line {number} (org_seq {entry.get('org_seq')})"
        if isinstance(org_seq, int) and entry.get("org_seq") != org_seq:
            problems.append(f"{where}: org_seq should be {org_seq}: an entry was removed or inserted before it")
        if entry.get("prev_hash") != previous:
            problems.append(f"{where}: prev_hash is not the hash of the entry before it (or the anchor)")
        if not entry.get("redacted"):
            if sha256(canonical({name: entry.get(name) for name in HASHED_FIELDS})) != entry.get("hash"):
                problems.append(f"{where}: its content does not hash to its hash: the entry was altered")
            else:
                recomputed += 1
        previous = entry.get("hash")
        org_seq = entry["org_seq"] + 1 if isinstance(entry.get("org_seq"), int) else None
    if entries and previous != header.get("head"):
        problems.append(f"{path.name}: the last entry's hash is not the anchor line's head")
    if len(entries) != header.get("entries"):
        problems.append(f"{path.name}: {len(entries)} entries, the anchor line says {header.get('entries')}")
    said = (f"{path.name}: {len(entries)} entries linked from the anchor to the head, {recomputed} hashes "
            f"recomputed, {len(entries) - recomputed} redacted or withheld (links checked only)")
    return problems, said


def utc_text(value: Any) -> Any:
    """An instant's text in UTC as the record store writes it; any other value as it is."""
    if not isinstance(value, str):
        return value
    try:
        instant = dt.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return value
    if instant.tzinfo is None:
        return value
    text = instant.astimezone(dt.timezone.utc).isoformat()  # noqa: UP017  (dt.UTC is Python 3.11's)
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def content_hash(data: dict[str, Any], form: dict[str, list[str]]) -> str:
    """A record's content hash, from its stored `data` and its type's `content_hash_form`."""
    out = dict(data)
    for name in form.get("instants", []):
        if name in out:
            out[name] = utc_text(out[name])
    for name in form.get("instant_maps", []):
        if isinstance(out.get(name), dict):
            out[name] = {key: utc_text(value) for key, value in out[name].items()}
    for name in form.get("numbers", []):
        if isinstance(out.get(name), float) and out[name].is_integer():
            out[name] = int(out[name])
    return sha256(canonical(out))


def check_records(path: Path) -> tuple[list[str], str]:
    """The problems of records.json, and a line saying what was checked."""
    document = json.loads(path.read_text(encoding="utf-8"))
    forms = document.get("content_hash_form") or {}
    problems: list[str] = []
    recomputed = skipped = 0
    for record in document.get("records", []):
        name = f"{path.name}: {record.get('type')} {record.get('id')} version {record.get('version')}"
        if record.get("redacted"):
            skipped += 1
        elif content_hash(record.get("data") or {}, forms.get(record.get("type"), {})) != record.get("content_hash"):
            problems.append(f"{name}: its data does not hash to its content_hash: the record was altered")
        else:
            recomputed += 1
    said = f"{path.name}: {recomputed} content hashes recomputed, {skipped} redacted (not recomputable)"
    return problems, said


def main(argv: list[str]) -> int:
    data = Path(argv[0]) if argv else Path(__file__).resolve().parent
    if (data / "data").is_dir():  # the bag's folder given
        data = data / "data"
    problems: list[str] = []
    for check, name in ((check_trail, "audit-trail.jsonl"), (check_records, "records.json")):
        try:
            found, said = check(data / name)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            found, said = [f"{name}: cannot be read ({type(exc).__name__}: {exc})"], ""
        problems += found
        if said:
            print(said)
    for problem in problems:
        print("PROBLEM", problem)
    print("OK" if not problems else f"NOT OK: {len(problems)} problem(s)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
