"""durable_rules' asynchronous API: submit now, collect later, same matches as `evaluate`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from engine.errors import EngineFailure
from engine.rules.backends import durable as durable_backend
from engine.rules.catalog import compile_in_force
from engine.rules.compiler.model import CompiledRuleset
from engine.rules.derive import RecordView
from engine.rules.facts import FactBuilder, Zones
from engine.rules.facttypes import all_fact_types
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rulesets"
AS_OF = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch) -> tuple[CompiledRuleset, frozenset[str]]:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))
    (rs,) = compile_in_force(AS_OF, frameworks=["demo"])
    return rs, frozenset(r.id for r in rs.rules if r.event)


def _facts(rs: CompiledRuleset, *records: dict[str, Any]) -> list[dict[str, Any]]:
    builder = FactBuilder([rs], all_fact_types(), AS_OF, Zones({}, {}, "America/Chicago"))
    return [fact for r in records for fact, _ in builder.record(RecordView(r["type"], r["id"], 1, r))]


def _events(prefix: str, exports: int, views: int = 3) -> list[dict[str, Any]]:
    at = "2026-03-01T10:00:00-06:00"
    return [f.access(f"{prefix}{i}", f"u{i}", f"PT{i}", at, "export" if i < exports else "view")
            for i in range(exports + views)]


def _subjects(matches: list[Any], facts: list[dict[str, Any]]) -> list[str]:
    by_id = {x["id"]: x["rid"] for x in facts}
    return sorted(by_id[fid] for m in matches for _, fid in m.bindings)


def test_submitted_bundles_match_as_evaluate_does(demo: tuple[CompiledRuleset, frozenset[str]]) -> None:
    rs, ids = demo
    backend = durable_backend.DurableBackend()
    one, two = _facts(rs, *_events("A", 2)), _facts(rs, *_events("B", 3))
    pending = backend.submit([(rs, ids, "s1", one, []), (rs, ids, "s2", two, [])])
    first, second = pending.result()
    assert first == backend.evaluate(rs, ids, "s1", one, []) and _subjects(first, one) == ["A0", "A1"]
    assert second == backend.evaluate(rs, ids, "s2", two, []) and _subjects(second, two) == ["B0", "B1", "B2"]
    assert pending.result() == [first, second]  # collected once, kept


def test_using_the_worker_while_a_bundle_is_in_flight_keeps_each_reply_with_its_owner(
    demo: tuple[CompiledRuleset, frozenset[str]],
) -> None:
    rs, ids = demo
    backend = durable_backend.DurableBackend()
    one, two = _facts(rs, *_events("A", 1)), _facts(rs, *_events("B", 2))
    pending = backend.submit([(rs, ids, "s1", one, [])])
    other = backend.submit([(rs, ids, "s2", two, [])])  # reads the first reply off the pipe first
    assert _subjects(backend.evaluate(rs, ids, "s3", two, []), two) == ["B0", "B1"]
    assert _subjects(other.result()[0], two) == ["B0", "B1"]
    assert _subjects(pending.result()[0], one) == ["A0"]


def test_a_failing_action_in_a_submitted_bundle_fails_at_collection(
    demo: tuple[CompiledRuleset, frozenset[str]],
) -> None:
    rs, ids = demo
    backend = durable_backend.DurableBackend()
    facts = _facts(rs, *_events("A", 1))
    durable_backend.plant_failure("DEMO-EXPORT-002|")
    try:
        pending = backend.submit([(rs, ids, "s1", facts, [])])
        with pytest.raises(EngineFailure, match="planted failure"):
            pending.result()
        with pytest.raises(EngineFailure):  # the same answer again, never a silent re-run
            pending.result()
    finally:
        durable_backend.plant_failure(None)
    assert _subjects(backend.submit([(rs, ids, "s1", facts, [])]).result()[0], facts) == ["A0"]


@pytest.mark.parametrize("crashing_workers, outcome", [(1, "retried"), (durable_backend.MAX_ATTEMPTS, "fails")])
def test_a_worker_crash_on_a_submitted_bundle_is_supervised_like_a_synchronous_one(
    demo: tuple[CompiledRuleset, frozenset[str]], crashing_workers: int, outcome: str
) -> None:
    rs, ids = demo
    backend = durable_backend.DurableBackend()
    facts = _facts(rs, *_events("A", 2))
    backend.evaluate(rs, ids, "warm", facts, [])
    before = durable_backend.CRASHES["count"]
    durable_backend.plant_crash("DEMO-EXPORT-002|", crashing_workers)
    try:
        pending = backend.submit([(rs, ids, "s1", facts, [])])
        if outcome == "retried":
            assert _subjects(pending.result()[0], facts) == ["A0", "A1"]
            assert durable_backend.CRASHES["count"] == before + 1
        else:
            with pytest.raises(EngineFailure, match="every time"):
                pending.result()
            assert durable_backend.CRASHES["count"] == before + durable_backend.MAX_ATTEMPTS
    finally:
        durable_backend.plant_crash("", 0)


def test_the_worker_interpreter_does_not_load_the_ruleset_compiler() -> None:
    """The worker boots on every import that streams; the compiler (pydantic models, Jinja2) tripled its start."""
    import subprocess
    import sys

    heavy = "('engine.rules.compiler', 'engine.rules.spec', 'jinja2')"
    probe = ("import sys, engine.rules.backends.durable_host; "
             f"print(sorted(m for m in sys.modules if m.startswith({heavy})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_start_worker_boots_one_worker_that_the_next_submit_uses(demo: tuple[CompiledRuleset, frozenset[str]]) -> None:
    rs, ids = demo
    durable_backend.shutdown()
    durable_backend.start_worker()
    worker = durable_backend._WORKER
    assert worker is not None and worker.alive() and not worker.registered
    durable_backend.DurableBackend().warm_up()  # idempotent: still the same process
    assert durable_backend._WORKER is worker
    matches = durable_backend.DurableBackend().submit([(rs, ids, "s1", _facts(rs, *_events("A", 1)), [])]).result()
    assert durable_backend._WORKER is worker and _subjects(matches[0], _facts(rs, *_events("A", 1))) == ["A0"]
