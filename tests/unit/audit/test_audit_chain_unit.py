"""The chain arithmetic on plain dicts: canonical bytes, hashes, the walker's verdicts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from decimal import Decimal

import pytest

from engine.audit.chain import (
    GENESIS_HASH,
    ChainWalker,
    canonical_json,
    entry_hash,
    format_instant,
    normalise_payload,
)
from engine.errors import InputError

T0 = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def make_chain(n: int, org: str = "org-1") -> list[dict[str, object]]:
    entries: list[dict[str, object]] = []
    prev = GENESIS_HASH
    for i in range(1, n + 1):
        e: dict[str, object] = {
            "seq": i * 10,
            "org_id": org,
            "org_seq": i,
            "at": T0 + dt.timedelta(minutes=i),
            "actor": "user:ann",
            "action": "finding.waive",
            "entity_type": "finding",
            "entity_id": f"F-{i}",
            "payload": {"reason": "compensating control", "n": i},
            "prev_hash": prev,
        }
        e["hash"] = entry_hash(e)
        prev = str(e["hash"])
        entries.append(e)
    return entries


def test_hash_is_sha256_of_documented_canonical_json() -> None:
    e = make_chain(1)[0]
    doc = {k: e[k] for k in ("org_id", "org_seq", "actor", "action", "entity_type", "entity_id", "payload")}
    doc["at"] = "2026-03-01T09:31:00.000000Z"
    doc["prev_hash"] = GENESIS_HASH
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert e["hash"] == hashlib.sha256(text.encode()).hexdigest()


def test_at_as_text_or_datetime_hashes_the_same() -> None:
    e = make_chain(1)[0]
    assert entry_hash({**e, "at": "2026-03-01T10:31:00+01:00"}) == e["hash"]


def test_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError):
        format_instant(dt.datetime(2026, 1, 1))


def test_payload_normalised_to_json_values() -> None:
    payload = normalise_payload(
        {
            "when": T0,
            "day": dt.date(2026, 1, 2),
            "id": uuid.UUID(int=1),
            "amount": Decimal("1.50"),
            "tags": {"b", "a"},
        }
    )
    assert payload == {
        "when": "2026-03-01T09:30:00.000000Z",
        "day": "2026-01-02",
        "id": "00000000-0000-0000-0000-000000000001",
        "amount": "1.50",
        "tags": ["a", "b"],
    }


@pytest.mark.parametrize("bad", [{"x": float("nan")}, {"x": object()}])
def test_payload_that_is_not_json_is_an_input_error(bad: dict[str, object]) -> None:
    with pytest.raises(InputError):
        normalise_payload(bad)


def test_canonical_json_is_key_order_independent_and_utf8() -> None:
    assert (
        canonical_json({"b": 1, "a": "é"}) == canonical_json({"a": "é", "b": 1}) == '{"a":"é","b":1}'.encode()
    )


def walk(entries: list[dict[str, object]], **kw: object) -> list[tuple[object, str]]:
    walker = ChainWalker("org-1", **kw)  # type: ignore[arg-type]
    return [(b.seq, b.reason) for e in entries if (b := walker.feed(e)) is not None]


def test_intact_chain_has_no_breaks() -> None:
    assert walk(make_chain(5)) == []


def test_edited_content_names_only_that_entry() -> None:
    chain = make_chain(5)
    chain[2]["payload"] = {"reason": "edited"}
    breaks = walk(chain)
    assert len(breaks) == 1
    assert breaks[0][0] == 30 and "altered" in breaks[0][1]


def test_rehashed_edit_names_the_next_entry() -> None:
    chain = make_chain(5)
    chain[2]["actor"] = "user:mallory"
    chain[2]["hash"] = entry_hash(chain[2])
    breaks = walk(chain)
    assert [b[0] for b in breaks] == [40]
    assert "prev_hash" in breaks[0][1]


def test_removed_entry_shows_a_gap() -> None:
    chain = make_chain(5)
    del chain[1]
    breaks = walk(chain)
    assert breaks[0][0] == 30 and "removed" in breaks[0][1]


def test_excerpt_checks_from_its_anchor() -> None:
    chain = make_chain(6)
    part = chain[3:]
    assert walk(part, anchor=part[0]["prev_hash"], first_org_seq=4) == []
    assert walk(part, anchor=GENESIS_HASH, first_org_seq=4)[0][0] == 40


def test_redacted_entry_keeps_linkage_but_is_counted_unverifiable() -> None:
    chain = make_chain(3)
    chain[1]["entity_id"] = "PSN-1234"
    walker = ChainWalker("org-1")
    assert [walker.feed(e, redacted=(i == 1)) for i, e in enumerate(chain)] == [None, None, None]
    assert walker.unverifiable == 1
