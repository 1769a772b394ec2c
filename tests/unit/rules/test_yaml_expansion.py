"""A ruleset or scenario whose YAML aliases expand past what any ruleset needs is refused unread.

Security probe (session 42): a 1 KB "billion laughs" draft (ten levels of anchors, each aliasing
the one before ten times) kept `vigil rules validate` and `POST /rulesets/validate` busy past a
minute; its level 7 took 6 s and 175 MB.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.errors import VigilError
from engine.rules.loader import MAX_EXPANDED_NODES, StrictSafeLoader, expanded_size, load_ruleset_bytes


def _laughs(levels: int) -> str:
    lines = ["framework: t", "version: 1.0.0", 'a0: &a0 ["lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_ruleset_is_refused_at_once() -> None:
    with pytest.raises(VigilError) as refused:
        load_ruleset_bytes(_laughs(10).encode(), "laughs.yaml")
    assert "expand to more than 1,000,000 values" in str(refused.value.details[0].reason)


def test_the_expanded_size_counts_each_alias_as_written_out() -> None:
    node = yaml.compose(_laughs(3), Loader=yaml.SafeLoader)
    assert node is not None
    # the root, 6 keys, 2 scalar values; a0 = 2 nodes, a1 = 1 + 10*2, a2 = 1 + 10*21, a3 = 1 + 10*211
    assert expanded_size(node) == 1 + 6 + 2 + 2 + 21 + 211 + 2111
    assert expanded_size(node, limit=100) == 101


def test_a_scenario_may_still_use_anchors(tmp_path: Path) -> None:
    text = "records:\n  - &r {type: person, id: P1}\n  - {<<: *r, id: P2}\nexpect: &e []\nagain: *e\n"
    data = yaml.load(text, Loader=StrictSafeLoader)  # noqa: S506 - the safe loader
    assert [r["id"] for r in data["records"]] == ["P1", "P2"] and MAX_EXPANDED_NODES >= 1_000_000
