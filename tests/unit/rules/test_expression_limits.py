"""What the compiler refuses before either backend sees a condition: numbers neither backend holds
exactly, nesting deeper than the evaluators recurse, and truth tests or orderings on fields whose
kind is not a true/false or is not declared. Each is a rule-level problem (rule id, text, why),
never a traceback: `validate_bytes` answers the API's validate and preview."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from engine.errors import ExpressionError, RulesetValidationError
from engine.rules.compiler import compile as compile_module
from engine.rules.compiler.compile import compile_ruleset
from engine.rules.compiler.lower import Lowerer
from engine.rules.compiler.model import Pattern
from engine.rules.facttypes import FactType
from engine.rules.lang.evaluate import compile_expr
from engine.rules.lang.fold import fold
from engine.rules.lang.parse import MAX_DEPTH, Scope, parse_expr
from engine.rules.loader import load_ruleset_bytes
from engine.rules.validate import validate_bytes
from tests.unit.rules.test_message_templates import RULESET

SCOPE = Scope(frozenset({"x"}), "x", "T-1")


def _with_condition(cond: str) -> bytes:
    text = RULESET.replace("MESSAGE", json.dumps("m"))
    return text.replace("employment_episode where end_at == null", "employment_episode where " + cond).encode()


@pytest.mark.parametrize("constant", ["1e400", "1e308 * 10", "days(1e305)", "1" + "0" * 400, "9007199254740993",
                                      "-9007199254740993", "1e308 * 10 - 1e308 * 10"])
def test_a_constant_neither_backend_holds_is_a_rule_problem_not_a_traceback(constant: str) -> None:
    report = validate_bytes(_with_condition(f"end_at == null and start_at < {constant}"), "t.yaml")
    assert not report.ok
    (problem,) = [p for p in report.problems if p.rule_id == "T-MSG-001" and p.field != "sop"]
    assert "2**53" in problem.reason or "infinity" in problem.reason, problem.reason


def test_2_to_the_53_is_accepted() -> None:
    compile_ruleset(load_ruleset_bytes(_with_condition("end_at == null and end_at - start_at < 9007199254740992"),
                                      "t.yaml"))


def test_a_parameter_past_2_to_the_53_is_refused_naming_it() -> None:
    text = _with_condition("end_at == null and start_at < params.n")
    text = text.replace(b"{type: int, default: 3", b"{type: number, default: 1.0e+300")
    with pytest.raises(RulesetValidationError) as exc:  # refused with the file, before any rule reads it
        compile_ruleset(load_ruleset_bytes(text, "t.yaml"))
    assert any(d.field == "params.n" and "above the largest value allowed, 9007199254740992" in d.reason
               for d in exc.value.details), exc.value.details


def _at_depth(depth: int, fn: Any) -> Any:
    return _at_depth(depth - 1, fn) if depth else fn()


@pytest.mark.parametrize("text", ["x.a" + " + 1" * 700 + " > 0", "not " * 400 + "x.a", "- " * 400 + "x.a > 1",
                                  "x.a" + " + 1" * MAX_DEPTH + " > 0"])
def test_nesting_past_the_limit_is_refused_when_parsed(text: str) -> None:
    with pytest.raises(ExpressionError) as exc:
        parse_expr(text, SCOPE)
    assert f"{MAX_DEPTH} levels" in exc.value.details[0].reason


def test_nesting_up_to_the_limit_compiles_and_evaluates_from_a_deep_stack() -> None:
    text = "x.a" + " + 1" * (MAX_DEPTH - 3) + " > 0"
    node = fold(parse_expr(text, SCOPE), {})
    Lowerer("T-1", {"x": "tx"}).cond(node, Pattern("x", "tx", False, ()))
    fn = compile_expr(node)
    depth = sys.getrecursionlimit() - 200
    assert _at_depth(depth, lambda: fn({"x": {"a": 1}})) is True


def test_a_deep_condition_is_refused_by_validation_with_the_rule_id() -> None:
    report = validate_bytes(_with_condition("end_at == null and start_at" + " + 1" * 700 + " > 0"), "t.yaml")
    (problem,) = [p for p in report.problems if p.field != "sop"]
    assert problem.rule_id == "T-MSG-001" and "levels" in problem.reason


def _compile_with_kind(cond: str, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = compile_module.all_fact_types

    def with_extra_field() -> dict[str, FactType]:
        types = dict(real())
        ep = types["employment_episode"]
        types["employment_episode"] = FactType(ep.name, {**ep.fields, "extra": kind}, ep.derived, ep.event, ep.about)
        return types

    monkeypatch.setattr(compile_module, "all_fact_types", with_extra_field)
    compile_ruleset(load_ruleset_bytes(_with_condition(cond), "t.yaml"))


@pytest.mark.parametrize("cond", ["end_at == null and extra", "end_at == null and not extra",
                                  "end_at == null and extra < 3", "end_at == null and extra + 1 > 3"])
def test_a_field_of_unknown_kind_is_refused_in_a_truth_test_an_ordering_or_arithmetic(
        cond: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RulesetValidationError) as exc:
        _compile_with_kind(cond, "any", monkeypatch)
    (detail,) = exc.value.details
    assert detail.rule_id == "T-MSG-001" and "employment_episode.extra" in detail.reason, detail.reason


def test_a_truth_test_on_a_number_field_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RulesetValidationError) as exc:
        _compile_with_kind("end_at == null and extra", "number", monkeypatch)
    assert "== true" in exc.value.details[0].reason or "true/false" in exc.value.details[0].reason


@pytest.mark.parametrize("cond", ["end_at == null and extra == 'A'", "end_at == null and extra != null",
                                  "end_at == null and extra in ['A', 'B']"])
def test_a_field_of_unknown_kind_may_still_be_compared_with_a_constant(
        cond: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _compile_with_kind(cond, "any", monkeypatch)


def test_a_truth_test_on_a_bool_field_compiles() -> None:
    compile_ruleset(load_ruleset_bytes(_with_condition("end_at == null and not occupational_exposure"), "t.yaml"))
