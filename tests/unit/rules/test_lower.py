"""The lowering's guard against durable_rules' join-sequence defects (Lowerer.guard_sequence)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import ExpressionError
from engine.rules.catalog import load_all
from engine.rules.compiler.compile import compile_ruleset
from engine.rules.compiler.lower import Lowerer, _names_pattern

SENTINEL = {"$neq": {"t": {"p0": "id"}}}


def test_joins_come_first_then_the_sentinel_then_the_or_groups() -> None:
    lowered = Lowerer("T-1", {}).guard_sequence(
        [
            {"t": "credential"},
            {"$or": [{"kind": "DEA"}, {"kind": "BOARD_CERT"}]},
            {"$and": [{"person_id": {"p0": "person_id"}}, {"$and": [{"$lt": {"expires_s": {"p0": "now"}}}]}]},
            {"status": "active"},
        ],
        "p0",
    )
    assert lowered == [
        {"t": "credential"},
        {"person_id": {"p0": "person_id"}},
        {"$lt": {"expires_s": {"p0": "now"}}},
        {"status": "active"},
        SENTINEL,
        {"$or": [{"kind": "DEA"}, {"kind": "BOARD_CERT"}]},
    ]


def test_a_pattern_without_joins_gets_no_sentinel() -> None:
    tests = [{"t": "training"}, {"$or": [{"kind": "a"}, {"kind": "b"}]}]
    assert Lowerer("T-1", {}).guard_sequence(tests, "p0") == tests


def test_a_join_inside_or_is_refused_with_the_rule_named() -> None:
    with pytest.raises(ExpressionError) as exc:
        Lowerer("T-9", {}).guard_sequence(
            [{"t": "x"}, {"$or": [{"a": {"p0": "a"}}, {"b": 1}]}], "p0"
        )
    assert exc.value.code == "ruleset.expression.not_lowerable"
    assert exc.value.details[0].rule_id == "T-9" and "inside `or`" in exc.value.message


def _shapes() -> list[tuple[str, str, list[dict[str, Any]]]]:
    out = []
    for loaded in load_all():
        for name, rule in compile_ruleset(loaded).durable_definition.items():
            for clause in rule["all"]:
                ((alias, body),) = clause.items()
                out.append((name, alias, body["$and"]))
    return out


def test_every_shipped_pattern_with_a_join_is_guarded() -> None:
    """Over the real rulesets: no group before a join, and the joins end with the sentinel."""
    checked = 0
    for name, alias, tests in _shapes():
        joins = [i for i, t in enumerate(tests) if _names_pattern(t)]
        if not joins:
            continue
        checked += 1
        last = tests[joins[-1]]
        assert last.get("$neq", {}).get("t", {}).keys() and set(last["$neq"]["t"].values()) == {"id"}, (name, alias)
        assert not any(set(t) & {"$and", "$or"} for t in tests[: joins[-1]]), (name, alias)
    assert checked > 100
