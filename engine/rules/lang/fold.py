"""Constant folding: parameters become literals and function calls are computed.

After folding, a tree holds only literals, lists, fact fields, `now` and operators, which is all
either backend has to understand.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from engine.errors import ErrorDetail, ExpressionError
from engine.rules.lang import nodes as n
from engine.rules.lang.functions import FUNCTIONS
from engine.rules.lang.numbers import number_problem, shown


def fold(node: n.Node, params: Mapping[str, Any], *, rule_id: str | None = None) -> n.Node:
    """Replace params by their values and constant sub-trees by their result."""
    if isinstance(node, n.Param):
        if node.name not in params:
            close = difflib.get_close_matches(node.name, list(params), n=3)
            hint = f" (did you mean {', '.join(f'params.{c}' for c in close)}?)" if close else ""
            raise ExpressionError(
                f"unknown parameter params.{node.name}",
                [ErrorDetail(reason=f"unknown parameter params.{node.name}: the ruleset declares no parameter "
                                    f"{node.name!r}{hint}", rule_id=rule_id)],
                code="ruleset.expression.unknown_parameter",
            )
        value = params[node.name]
        for item in value if isinstance(value, list | tuple) else (value,):
            _check_number(node, item, rule_id)
        return n.ListLit(tuple(value)) if isinstance(value, list | tuple) else n.Lit(value)
    if isinstance(node, n.Call):
        args = [fold(a, params, rule_id=rule_id) for a in node.args]
        values = []
        for a in args:
            if not isinstance(a, n.Lit):
                raise ExpressionError(f"{node.name}() needs constant arguments",
                                      [ErrorDetail(reason=n.unparse(node), rule_id=rule_id)])
            values.append(a.value)
        try:
            result = FUNCTIONS.get(node.name).impl(*values)
        except (ValueError, TypeError, ArithmeticError) as exc:  # date('2025-13-45'): refused, not a traceback
            raise _cannot_compute(node, exc, rule_id) from None
        return n.Lit(_check_number(node, result, rule_id))
    if isinstance(node, n.Arith):
        left, right = fold(node.left, params, rule_id=rule_id), fold(node.right, params, rule_id=rule_id)
        if isinstance(left, n.Lit) and isinstance(right, n.Lit) and _numeric(left.value, right.value):
            try:
                result = _arith(node.op, left.value, right.value)
            except ArithmeticError as exc:  # 1/0, or an integer quotient past a float's range
                raise _cannot_compute(node, exc, rule_id) from None
            # a float product past the range is inf, not an error; 2**53 + 2**53 is exact but too large
            return n.Lit(_check_number(node, result, rule_id))
        return n.Arith(node.op, left, right)
    if isinstance(node, n.Cmp):
        return n.Cmp(node.op, fold(node.left, params, rule_id=rule_id), fold(node.right, params, rule_id=rule_id))
    if isinstance(node, n.In):
        return n.In(fold(node.item, params, rule_id=rule_id), fold(node.container, params, rule_id=rule_id),
                    node.negate)
    if isinstance(node, n.BoolOp):
        return n.BoolOp(node.op, tuple(fold(v, params, rule_id=rule_id) for v in node.values))
    if isinstance(node, n.Not):
        return n.Not(fold(node.value, params, rule_id=rule_id))
    return node


def _check_number(node: n.Node, value: Any, rule_id: str | None) -> Any:
    """`value`, or the rule-level error saying why no rule may hold it (see `numbers`)."""
    why = number_problem(value)
    if why is None:
        return value
    said = f"params.{node.name} = {shown(value)}" if isinstance(node, n.Param) else \
        f"`{n.unparse(node)}` = {shown(value)}"
    raise ExpressionError(f"{said} {why}", [ErrorDetail(reason=f"{said} {why}", rule_id=rule_id)],
                          code="ruleset.expression.invalid")


def _cannot_compute(node: n.Node, exc: BaseException, rule_id: str | None) -> ExpressionError:
    reason = str(exc) or type(exc).__name__
    return ExpressionError(f"cannot compute {n.unparse(node)}: {reason}",
                           [ErrorDetail(reason=f"`{n.unparse(node)}` cannot be computed: {reason}", rule_id=rule_id)],
                           code="ruleset.expression.invalid")


def _numeric(a: Any, b: Any) -> bool:
    return all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))


def _arith(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b
