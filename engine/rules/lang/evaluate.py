"""The plain-Python backend of the expression language: folded trees become closures.

Semantics shared with the durable_rules lowering (and tested against it):
- a missing (null) field makes any comparison, membership test or arithmetic false/missing,
  except the explicit null tests `x == null` and `x != null`;
- `not` is ordinary boolean negation of that result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.rules.lang import nodes as n

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()

Env = Mapping[str, Any]  # alias -> fact dict, and "__now__" -> epoch seconds
Fn = Callable[[Env], Any]

_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def compile_expr(node: n.Node) -> Fn:
    """Turn a folded tree into a function of the bindings."""
    if isinstance(node, n.Lit):
        value = node.value
        return lambda env: value
    if isinstance(node, n.ListLit):
        items = list(node.items)
        return lambda env: items
    if isinstance(node, n.Ref):
        alias, field = node.alias, node.field

        def ref(env: Env) -> Any:
            fact = env.get(alias)
            if fact is None:
                return MISSING
            value = fact.get(field, MISSING)
            return MISSING if value is None else value

        return ref
    if isinstance(node, n.Now):
        return lambda env: env["__now__"]
    if isinstance(node, n.Cmp):
        return _compile_cmp(node)
    if isinstance(node, n.In):
        return _compile_in(node)
    if isinstance(node, n.BoolOp):
        parts = [compile_expr(v) for v in node.values]
        if node.op == "and":
            return lambda env: all(p(env) is True for p in parts)
        return lambda env: any(p(env) is True for p in parts)
    if isinstance(node, n.Not):
        inner = compile_expr(node.value)
        return lambda env: inner(env) is not True
    if isinstance(node, n.Arith):
        return _compile_arith(node)
    raise TypeError(f"cannot evaluate {node!r}: fold parameters and calls first")


def _compile_cmp(node: n.Cmp) -> Fn:
    left, right = compile_expr(node.left), compile_expr(node.right)
    null_left = isinstance(node.left, n.Lit) and node.left.value is None
    null_right = isinstance(node.right, n.Lit) and node.right.value is None
    if null_left or null_right:
        other = right if null_left else left
        if node.op == "==":
            return lambda env: other(env) is MISSING
        if node.op == "!=":
            return lambda env: other(env) is not MISSING
        return lambda env: False
    test = _CMP[node.op]

    def cmp(env: Env) -> bool:
        a, b = left(env), right(env)
        if a is MISSING or b is MISSING:
            return False
        try:
            return bool(test(a, b))
        except TypeError:
            return False

    return cmp


def _compile_in(node: n.In) -> Fn:
    item, container = compile_expr(node.item), compile_expr(node.container)
    negate = node.negate

    def member(env: Env) -> bool:
        a, c = item(env), container(env)
        if a is MISSING or c is MISSING or not isinstance(c, list | tuple):
            return False
        return (a not in c) if negate else (a in c)

    return member


def _compile_arith(node: n.Arith) -> Fn:
    left, right = compile_expr(node.left), compile_expr(node.right)
    op = node.op

    def arith(env: Env) -> Any:
        a, b = left(env), right(env)
        if a is MISSING or b is MISSING or isinstance(a, bool) or isinstance(b, bool):
            return MISSING
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return MISSING
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return MISSING if b == 0 else a / b

    return arith
