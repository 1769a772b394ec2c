"""engine.rules.facts: what a record's fact holds as of an instant (CONTRACT: whatever happened
after `as_of` has not happened yet)."""

from __future__ import annotations

import copy
import datetime as dt
from types import SimpleNamespace
from typing import Any

from engine.rules.derive import RecordView
from engine.rules.facts import FactBuilder, Zones
from engine.rules.facttypes import all_fact_types

AS_OF = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


def _builder() -> FactBuilder:
    needs = SimpleNamespace(field_needs={"incident": {"discovered_at", "determination_at", "le_delay_until",
                                                      "determination"}}, flags=[], deadlines=[])
    return FactBuilder([needs], all_fact_types(), AS_OF, Zones({}, {}, "America/Chicago"))  # type: ignore[list-item]


def _incident(**fields: Any) -> dict[str, Any]:
    return {"type": "incident", "id": "I-1", "discovered_at": "2026-03-01T10:00:00Z", **fields}


def test_a_field_that_happens_after_as_of_is_not_yet_there_and_the_record_is_left_alone() -> None:
    data = _incident(determination="breach", determination_at="2026-03-05T10:00:00Z",
                     le_delay_until="2026-04-01T00:00:00Z")
    before = copy.deepcopy(data)
    [(fact, info)] = _builder().record(RecordView("incident", "I-1", 3, data))
    assert "determination_at" not in fact  # not yet decided as of 2026-03-02
    assert fact["le_delay_until"] == int(dt.datetime(2026, 4, 1, tzinfo=dt.UTC).timestamp())  # a schedule: kept
    assert fact["discovered_at"] == int(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC).timestamp())
    assert info.raw["determination_at"] is None and info.raw["determination"] == "breach"
    assert data == before  # the record's own data is not changed by the nulling


def test_a_record_that_exists_only_after_as_of_gives_no_fact() -> None:
    assert _builder().record(RecordView("incident", "I-1", 1, _incident(discovered_at="2026-03-03T00:00:00Z"))) == []


def test_a_record_with_nothing_later_keeps_every_field() -> None:
    data = _incident(determination_at="2026-03-02T11:59:59Z", determination="not_breach")
    [(fact, info)] = _builder().record(RecordView("incident", "I-1", 1, data))
    assert fact["determination_at"] == int(dt.datetime(2026, 3, 2, 11, 59, 59, tzinfo=dt.UTC).timestamp())
    assert info.raw == data and (info.type, info.record_id, info.version) == ("incident", "I-1", 1)
