"""Every ruleset scenario (rulesets/<framework>/tests/*.yaml), each case on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.rules.backends import durable
from engine.rules.scenarios import run_scenario, scenario_files

FILES = scenario_files()


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.parent.name}/{p.stem}" for p in FILES])
def test_scenario(path: Path) -> None:
    crashes_before = durable.CRASHES["count"]
    results = list(run_scenario(path))
    # the lowering's guard (Lowerer.guard_sequence) keeps the C core from reading past a join
    # sequence; a worker crash here means a lowered shape slipped past it
    assert durable.CRASHES["count"] == crashes_before, "the durable_rules worker crashed on this scenario"
    assert results, f"{path} has no cases"
    failures = [f"case {r.case} as of {r.as_of}: " + "; ".join(r.problems) for r in results if not r.ok]
    assert not failures, "\n".join(failures)
