"""Expression syntax the language refuses, each with a rule-level error (rule id, text, reason),
never a traceback: operators outside the allowed set, unary plus and bit inversion, list items that
are not literals, literals of types no fact holds, and function calls with the wrong arguments."""

from __future__ import annotations

import pytest

from engine.errors import ExpressionError, RulesetValidationError
from engine.rules.compiler.compile import compile_ruleset
from engine.rules.lang.parse import Scope, parse_expr
from engine.rules.loader import load_ruleset_bytes
from tests.unit.rules.test_engine import RULESET

REFUSED = [
    ("x.n ** 2 > 3", "arithmetic operator Pow is not allowed"),
    ("x.n % 2 == 0", "arithmetic operator Mod is not allowed"),
    ("+x.n > 1", "operator UAdd is not allowed"),
    ("~x.n > 1", "operator Invert is not allowed"),
    ("x.s in [x.a]", "list items must be literals"),
    ("x.n == b'a'", "literal of type bytes is not allowed"),
    ("x.n == 1j", "literal of type complex is not allowed"),
    ("x.n > days()", "days() takes 1 argument(s), got 0"),
    ("x.n > days(2, 3)", "days() takes 1 argument(s), got 2"),
    ("x.n > days('a')", "days() takes a number"),
    ("x.n > days(now)", "days() takes constants or parameters"),
    ("x.n > days(now + 1)", "days() takes constants or parameters"),
    ("x.n > days([1])", "days() takes constants or parameters"),
    ("x.n > days(1, n=2)", "keyword arguments are not allowed"),
]


@pytest.mark.parametrize("text, reason", REFUSED, ids=[t for t, _ in REFUSED])
def test_a_refused_expression_names_the_rule_the_text_and_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError) as exc:
        parse_expr(text, Scope(frozenset({"x"}), None, rule_id="T-REF-001", file="r.yaml", line=9))
    assert exc.value.code == "ruleset.expression.invalid"
    (detail,) = exc.value.details
    assert detail.rule_id == "T-REF-001" and detail.file == "r.yaml" and detail.line == 9
    assert reason in detail.reason, detail.reason
    assert f"`{text}`" in detail.reason, detail.reason


@pytest.mark.parametrize("text, reason", REFUSED, ids=[t for t, _ in REFUSED])
def test_a_ruleset_with_a_refused_expression_is_refused_at_its_rule(text: str, reason: str) -> None:
    cond = text.replace("x.", "ep.")
    loaded = load_ruleset_bytes(RULESET.replace("{cond}", cond).encode(), "t.yaml")
    with pytest.raises(RulesetValidationError) as exc:
        compile_ruleset(loaded)
    assert any(reason in d.reason and d.rule_id == "T-ONE-001" and d.file == "t.yaml"
               for d in exc.value.details), exc.value.details
