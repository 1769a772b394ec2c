"""How a sweep reads a large event log: once for the derivations, then only the events that can match."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine.demo.generator import generate
from engine.errors import EngineFailure
from engine.rules import runner
from engine.rules.catalog import RULESETS_DIR, compile_for, in_force, load_all
from engine.rules.derive import DERIVATIONS, RecordView, load_families
from engine.rules.derive_process import DeriveProcess
from engine.rules.runner import ListSource, evaluate_rules
from engine.rules.scenarios import _records, load_scenario
from engine.rules.shared_scan import DerivationRun

SNOOP = RULESETS_DIR / "hipaa" / "tests" / "snoop-007.yaml"


class _Counting(ListSource):
    def __init__(self, records: list[RecordView]) -> None:
        super().__init__(records)
        self.whole: list[str] = []
        self.by_id: list[tuple[str, list[str]]] = []

    def iter_type(self, record_type: str) -> Iterator[RecordView]:
        self.whole.append(record_type)
        return super().iter_type(record_type)

    def iter_ids(self, record_type: str, ids: list[str]) -> Iterator[RecordView]:
        self.by_id.append((record_type, list(ids)))
        return super().iter_ids(record_type, ids)


def test_the_access_log_is_read_once_and_only_alerted_events_are_read_back() -> None:
    raw = load_scenario(Path(SNOOP))
    records = _records(raw["records"], Path(SNOOP))
    as_of = dt.datetime.fromisoformat(str(raw["cases"][0]["as_of"]).replace("Z", "+00:00"))
    compiled = [compile_for(rs, {}, "test") for rs in in_force(load_all(), as_of.date(), ["hipaa"])]
    source = _Counting(records)
    run = evaluate_rules(source, compiled, as_of)
    events = [r.id for r in records if r.type == "access_event"]
    assert source.whole.count("access_event") == 1  # four derivations share one read
    ((record_type, ids),) = [x for x in source.by_id if x[0] == "access_event"]
    snoop = sorted({v.subject.id for v in run.violations if v.rule_id == "HIPAA-PRV-SNOOP-007"})
    assert snoop and set(snoop) <= set(ids) and len(ids) < len(events)
    # the same findings as reading the whole log back
    plain = evaluate_rules(ListSource(records), compiled, as_of)
    assert [v.model_dump() for v in run.violations] == [v.model_dump() for v in plain.violations]


@pytest.fixture(scope="module")
def demo_practice(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[RecordView], dt.datetime, list[Any]]:
    out = tmp_path_factory.mktemp("demo")
    generate(out, size="small", seed=7, anchor=dt.date(2026, 6, 15))
    raw = [orjson.loads(line) for path in sorted(out.glob("*.ndjson")) for line in path.open("rb")]
    as_of = dt.datetime(2026, 6, 15, 17, tzinfo=dt.UTC)
    return _records(raw, out), as_of, [compile_for(rs, {}, "test") for rs in in_force(load_all(), as_of.date())]


def test_the_derive_process_gives_the_same_findings_on_the_demo_practice(
        demo_practice: tuple[list[RecordView], dt.datetime, list[Any]]) -> None:
    """A whole practice evaluated with the heavy derivations in a forked process and without: the
    same violations, byte for byte, and care links never held by this process."""
    records, as_of, compiled = demo_practice
    spawned: list[Any] = []
    real_start = DeriveProcess.start

    def spy(*args: Any) -> Any:
        spawned.append(args[3])  # the types spooled to the process
        return real_start(*args)

    order: list[str] = []
    real_remote, real_events, real_derived = DerivationRun.remote, runner._run_events, runner._run_derived_events

    def remote(self: DerivationRun) -> Any:
        order.append("wait for the derive process")
        return real_remote(self)

    def events(*args: Any) -> None:
        order.append(args[3])  # the event type
        real_events(*args)

    def derived(*args: Any) -> None:
        order.append("derived events")
        real_derived(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(DeriveProcess, "start", spy)
        mp.setattr(DerivationRun, "remote", remote)
        mp.setattr(runner, "_run_events", events)
        mp.setattr(runner, "_run_derived_events", derived)
        forked = evaluate_rules(ListSource(records), compiled, as_of, derive_process=True)
    plain = evaluate_rules(ListSource(records), compiled, as_of, derive_process=False)
    assert spawned == [["person", "screening", "care_link", "access_event"]]
    # the event logs and event derivations the process does not feed are matched while it works;
    # the access log (its snooping alerts come from the process) after
    assert order == ["derived events", "derived events", "wait for the derive process", "access_event"], order
    assert len(plain.violations) > 50
    assert [v.model_dump_json() for v in forked.violations] == [v.model_dump_json() for v in plain.violations]
    assert forked.input_hash == plain.input_hash and forked.counts == plain.counts


def test_a_late_fact_for_a_family_already_matched_fails_the_run(
        demo_practice: tuple[list[RecordView], dt.datetime, list[Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Families the derive process does not feed are matched before its facts arrive; a heavy
    derivation whose facts land in such a family's bundle would miss its matches, so the run fails."""
    records, as_of, compiled = demo_practice
    load_families()
    real = DERIVATIONS.get("hipaa.training_duties")

    def astray(ctx: Any, inputs: Any) -> Iterator[Any]:
        for fact in real.fn(ctx, inputs):
            yield dataclasses.replace(fact, bundle_key="vendor:V-1")

    monkeypatch.setitem(DERIVATIONS._entries, real.name, dataclasses.replace(real, fn=astray))
    with pytest.raises(EngineFailure, match="hipaa.training_duties .* produced facts for other families"):
        evaluate_rules(ListSource(records), compiled, as_of, derive_process=True)


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_no_finding_depends_on_the_order_of_a_records_keys(
        demo_practice: tuple[list[RecordView], dt.datetime, list[Any]], backend: str) -> None:
    """The sweep reads each record's keys in the order its database keeps them (SQLite sorted,
    PostgreSQL JSONB's), so a run must give the same bytes whatever that order is: here every record
    of the demo practice with its keys reversed, against the same records as generated."""
    records, as_of, compiled = demo_practice
    reversed_keys = [r.replace(data=dict(reversed(list(r.data.items())))) for r in records]
    assert [list(r.data) for r in reversed_keys[:50]] != [list(r.data) for r in records[:50]]
    as_given = evaluate_rules(ListSource(records), compiled, as_of, backend=backend)
    turned = evaluate_rules(ListSource(reversed_keys), compiled, as_of, backend=backend)
    assert len(as_given.violations) > 50
    assert [v.model_dump_json() for v in turned.violations] == [v.model_dump_json() for v in as_given.violations]
    assert turned.input_hash == as_given.input_hash and turned.counts == as_given.counts


def test_a_sweep_that_fails_before_collecting_the_derive_process_stops_it(
        demo_practice: tuple[list[RecordView], dt.datetime, list[Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundle that failed while the derive process worked had left the forked child, its spool
    and its pipe behind (collected only by the garbage collector, which a sweep pauses)."""
    records, as_of, compiled = demo_practice
    started: list[DeriveProcess] = []
    real_start = DeriveProcess.start

    def spy(*args: Any) -> DeriveProcess:
        started.append(real_start(*args))
        return started[-1]

    def broken(*args: Any) -> None:
        raise RuntimeError("a bundle failed")

    monkeypatch.setattr(DeriveProcess, "start", spy)
    monkeypatch.setattr(runner, "_run_bundle", broken)
    with pytest.raises(RuntimeError, match="a bundle failed"):
        evaluate_rules(ListSource(records), compiled, as_of, derive_process=True)
    (child,) = started
    assert not child.process.is_alive() and child.conn.closed and child.spool.closed
