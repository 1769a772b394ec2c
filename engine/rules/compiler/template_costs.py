"""What a message's text shows it would cost or break, worked out before it is rendered: arithmetic
on constants, the text methods a message cannot call, and the arguments a filter takes.

The renderer (`engine.sandbox`) refuses each of these whatever the records hold, so a message
written so fails every finding of its rule; `messages._Checker` refuses it at validation instead,
where it is written (`{{ 10 ** 10 ** 10 }}`, `range(10**9)`, `.ljust(19000)`, `| local('date')`
had each validated and published, then stopped every evaluation).
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from jinja2 import nodes

from engine.sandbox import MAX_BITS, MAX_EXPONENT, TEXT_METHODS

#: What `constant` answers for arithmetic on constants the renderer would refuse to work out.
TOO_BIG = object()
FOLDED: dict[type[nodes.Node], Any] = {
    nodes.Add: lambda a, b: a + b, nodes.Sub: lambda a, b: a - b, nodes.Mul: lambda a, b: a * b,
    nodes.Pow: lambda a, b: a ** b}


def constant(node: nodes.Node) -> Any:
    """The number an expression of number constants makes (`10 ** 10`), None when it reads anything
    else, or `TOO_BIG` when working it out would pass the renderer's bounds (an exponent above
    MAX_EXPONENT, a whole number past MAX_BITS): it is then refused, never computed."""
    if isinstance(node, nodes.Const):
        value = node.value
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if isinstance(node, nodes.Neg | nodes.Pos):
        inner = constant(node.node)
        return inner if inner is None or inner is TOO_BIG else (-inner if isinstance(node, nodes.Neg) else inner)
    apply = FOLDED.get(type(node))
    if apply is None or not isinstance(node, nodes.BinExpr):
        return None
    left, right = constant(node.left), constant(node.right)
    if TOO_BIG in (left, right):
        return TOO_BIG
    if left is None or right is None:
        return None
    if isinstance(node, nodes.Pow):
        if abs(right) > MAX_EXPONENT or (right > 0 and abs(left) > 1 and right * math.log2(abs(left)) > MAX_BITS):
            return TOO_BIG
        if left == 0 and right < 0:
            return None  # the renderer says why
    if isinstance(node, nodes.Mul) and isinstance(left, int) and isinstance(right, int) \
            and left.bit_length() + right.bit_length() > MAX_BITS + 1:
        return TOO_BIG
    try:
        return apply(left, right)
    except (ArithmeticError, ValueError):
        return None


#: The methods of a text a message cannot call (`engine.sandbox.TEXT_METHODS` are those it can); a
#: name a list or a mapping also has is left to the render, which knows what it is called on.
TEXT_ONLY_METHODS = frozenset(m for m in dir(str) if not m.startswith("_")) - TEXT_METHODS \
    - frozenset(dir(dict)) - frozenset(dir(list)) - {"format", "format_map"}


def arity_problem(name: str, node: nodes.Filter | nodes.Test, apply: Any) -> str | None:
    """Why a filter cannot take the arguments written (`local('date')`: `local` takes none), in
    Jinja2's words; None when it can, or when a `*args` or `**kwargs` is written (their length is
    not known here). Read from the filter's own signature (`apply`, the filter as written; None
    for one the environment lacks), the one the render calls it with."""
    if apply is None or not isinstance(node, nodes.Filter) or node.dyn_args is not None or node.dyn_kwargs is not None:
        return None
    apply = getattr(apply, "__wrapped__", apply)  # Jinja2's async variants wrap the filter written
    try:
        signature = inspect.signature(apply)
    except (TypeError, ValueError):
        return None
    given = getattr(apply, "jinja_pass_arg", None)
    passed = [object()] if given is not None else []
    try:
        signature.bind(*passed, object(), *node.args, **{str(kw.key): kw.value for kw in node.kwargs})
    except TypeError as exc:
        return f"the filter `{name}` cannot be given these arguments ({exc})"
    return None
