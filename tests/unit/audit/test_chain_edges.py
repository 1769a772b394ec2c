"""Audit chain edges: a gap in org_seq is named even when every hash links, and an excerpt's window
ends before its end instant."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from engine import clock, db
from engine.audit import service as audit
from engine.audit.chain import GENESIS_HASH, ChainWalker, entry_hash

T0 = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.UTC)


def linked_entries(org_seqs: list[int], org: str = "org-1") -> list[dict[str, object]]:
    """Entries with these org_seq numbers, each hashed correctly and linked to the one before it."""
    entries: list[dict[str, object]] = []
    prev = GENESIS_HASH
    for n in org_seqs:
        e: dict[str, object] = {
            "seq": n * 10,
            "org_id": org,
            "org_seq": n,
            "at": T0 + dt.timedelta(minutes=n),
            "actor": "user:ann",
            "action": "finding.acknowledge",
            "entity_type": "finding",
            "entity_id": f"F-{n}",
            "payload": {"to": "acknowledged"},
            "prev_hash": prev,
        }
        e["hash"] = entry_hash(e)
        prev = str(e["hash"])
        entries.append(e)
    return entries


def test_a_gap_in_org_seq_is_named_even_when_the_hashes_link() -> None:
    """Entry 3 was removed and entry 4 re-chained onto entry 2: only the numbering shows it."""
    walker = ChainWalker("org-1")
    breaks = [b for e in linked_entries([1, 2, 4]) if (b := walker.feed(e)) is not None]
    assert [(b.seq, b.org_seq, b.reason) for b in breaks] == [
        (40, 4, "org_seq 4 follows 2: an entry was removed or inserted before it")]


def test_an_entry_written_exactly_at_the_excerpt_end_is_not_in_it(engine: Engine) -> None:
    """The excerpt holds the entries written in [start, end): one at `end` belongs to the next period."""
    with clock.frozen(T0) as c:
        for when in (T0, T0, T0 + dt.timedelta(hours=1)):
            c.set(when)
            with db.unit_of_work(engine) as s:
                audit.append(s, org_id="org-1", actor="user:ann", action="finding.acknowledge",
                             entity_type="finding", entity_id="F-1", payload={})
    with db.unit_of_work(engine) as s:
        before = audit.excerpt(s, org_id="org-1", start=T0, end=T0 + dt.timedelta(hours=1))
        after = audit.excerpt(s, org_id="org-1", start=T0 + dt.timedelta(hours=1), end=T0 + dt.timedelta(hours=2))
    assert [e.org_seq for e in before.entries] == [1, 2]
    assert before.head == before.entries[-1].hash
    assert [e.org_seq for e in after.entries] == [3]
    assert after.anchor == before.head
