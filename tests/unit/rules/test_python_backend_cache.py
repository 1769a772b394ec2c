"""The plain-Python backend's compiled steps live as long as their ruleset, no longer: keyed by
id(), a draft compiled for every preview had grown the cache without end, and a ruleset made at a
freed address could have been matched with another's steps."""

from __future__ import annotations

import gc

from engine.rules.backends.python import PythonBackend
from engine.rules.compiler.model import TRIGGER
from tests.lang.test_cases import _ruleset


def test_a_rulesets_compiled_steps_go_with_it() -> None:
    backend = PythonBackend()
    before = len(PythonBackend._cache)
    trig = {"id": f"{TRIGGER}/T-LANG-1", "t": TRIGGER, "rule": "T-LANG-1", "now": 0}
    for n in range(50):
        rs, _ = _ruleset(f"x.n > {n}", False)
        got = backend.evaluate(rs, frozenset({"T-LANG-1"}), "s", [{"id": "tx/a", "rid": "a", "t": "tx", "n": 25}],
                               [trig])
        assert bool(got) == (25 > n)
        del rs, got
    gc.collect()
    assert len(PythonBackend._cache) <= before + 1
