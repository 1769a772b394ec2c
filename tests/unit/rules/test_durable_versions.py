"""Two versions of one ruleset in one durable_rules host: each keeps its own actions' aliases.

Action names are `rule|variant`, the same in every version; the host had kept one map of them, so
the version registered last overwrote the aliases of the one before (a worker that evaluated as of
last year and as of today registers both)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.rules.backends import durable_host
from engine.rules.backends.durable import action_aliases, original_matches
from engine.rules.compiler.model import TRIGGER
from tests.lang.test_cases import _ruleset

TRIG = {"id": f"{TRIGGER}/T-LANG-1", "t": TRIGGER, "rule": "T-LANG-1", "now": 0}
FACTS = [{"id": "ty/y1", "rid": "y1", "t": "ty"}, {"id": "tx/a", "rid": "a", "t": "tx", "n": 5}]


@pytest.fixture
def fresh_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(durable_host, "_HOST", durable_host.new_host())


def _matches(rs: Any) -> list[Any]:
    got = durable_host.evaluate(rs.durable_name, frozenset({"T-LANG-1"}), "s", FACTS, [TRIG])
    return [m.bindings for m in original_matches(rs, got)]


@pytest.mark.parametrize("order", ["old first", "new first"])
def test_each_version_matches_with_its_own_aliases(fresh_host: None, order: str) -> None:
    old, _ = _ruleset("x.n > 4", False)  # version 1: the trigger and x
    new, _ = _ruleset("x.n > 4", True)  # version 2 of the same rule id: the trigger, y and x
    for rs in ([old, new] if order == "old first" else [new, old]):
        durable_host.register(rs.durable_name, rs.durable_definition, action_aliases(rs))
    assert _matches(old) == [(("trig__", f"{TRIGGER}/T-LANG-1"), ("x", "tx/a"))]
    assert _matches(new) == [(("trig__", f"{TRIGGER}/T-LANG-1"), ("x", "tx/a"), ("y", "ty/y1"))]


# A join reading a field the earlier fact lacks (facts drop null fields): durable_rules refuses the
# fact ("Could not assert fact, error code: 311"). The lowering guards joins against it; the host
# must still report such a refusal as the run's failure, naming it, not die of it: the worker's
# supervisor had restarted it eight times, then said durable_rules "crashed every time".
REFUSED = {"T-LANG-1|violation": {"all": [
    {"p0": {"$and": [{"t": "__trigger"}, {"rule": "T-LANG-1"}]}},
    {"p1": {"$and": [{"t": "ty"}]}},
    {"p2": {"$and": [{"t": "tx"}, {"$neq": {"n": {"p1": "n"}}}, {"$neq": {"t": {"p0": "id"}}}]}}],
    "run": "T-LANG-1|violation"}}
NO_N = [{"id": "ty/y1", "rid": "y1", "t": "ty"}, {"id": "tx/a", "rid": "a", "t": "tx", "n": 5}]
TRIGS = [{"id": f"{TRIGGER}/T-LANG-1", "t": TRIGGER, "rule": "T-LANG-1", "now": 0}]


def test_a_fact_durable_rules_refuses_fails_the_bundle_by_name(fresh_host: None) -> None:
    from engine.errors import EngineFailure

    durable_host.register("refused@in-process", REFUSED, {"T-LANG-1|violation": ("p0", "p1", "p2")})
    with pytest.raises(EngineFailure, match=r"durable_rules failed on a bundle of refused@in-process: .*311"):
        durable_host.evaluate("refused@in-process", frozenset({"T-LANG-1"}), "s", NO_N, TRIGS)


def test_the_worker_answers_a_refusal_and_lives_on() -> None:
    from engine.errors import EngineFailure
    from engine.rules.backends import durable

    worker = durable._worker()
    crashes = durable.CRASHES["count"]
    worker.call("register", "refused@worker", REFUSED, {"T-LANG-1|violation": ("p0", "p1", "p2")})
    with pytest.raises(EngineFailure, match=r"durable_rules failed on a bundle of refused@worker: .*311"):
        worker.call("evaluate", "refused@worker", frozenset({"T-LANG-1"}), "s", NO_N, TRIGS)
    assert worker.alive() and durable._worker() is worker and durable.CRASHES["count"] == crashes
