"""Typed syntax tree of the rule language (what the parser produces and both backends consume)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Lit:
    """A literal: number, string, bool or null."""

    value: Any


@dataclass(frozen=True)
class ListLit:
    """A list of literals, e.g. ["HIPAA_PRIVACY", "HIPAA_SECURITY"]."""

    items: tuple[Any, ...]


@dataclass(frozen=True)
class Ref:
    """A field of a matched fact: `episode.end_at`."""

    alias: str
    field: str


@dataclass(frozen=True)
class Param:
    """A ruleset parameter, resolved to a constant when the ruleset is compiled."""

    name: str


@dataclass(frozen=True)
class Now:
    """The evaluation instant (epoch seconds, UTC)."""


@dataclass(frozen=True)
class Cmp:
    """A comparison; op is one of == != < <= > >=."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class In:
    """Membership: `item in container` (negate for `not in`)."""

    item: Node
    container: Node
    negate: bool = False


@dataclass(frozen=True)
class BoolOp:
    """`and` / `or` over two or more operands."""

    op: str
    values: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    value: Node


@dataclass(frozen=True)
class Arith:
    """Arithmetic; op is one of + - * /."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    """A call to a registered function (arguments must be constants at compile time)."""

    name: str
    args: tuple[Node, ...]


Node = Lit | ListLit | Ref | Param | Now | Cmp | In | BoolOp | Not | Arith | Call


def refs(node: Node) -> set[Ref]:
    """Every fact field a node reads."""
    out: set[Ref] = set()
    _walk(node, out)
    return out


def aliases(node: Node) -> set[str]:
    return {r.alias for r in refs(node)}


def uses_now(node: Node) -> bool:
    found = False

    def visit(n: Node) -> None:
        nonlocal found
        if isinstance(n, Now):
            found = True
        for child in children(n):
            visit(child)

    visit(node)
    return found


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Cmp | Arith):
        return (node.left, node.right)
    if isinstance(node, In):
        return (node.item, node.container)
    if isinstance(node, BoolOp):
        return node.values
    if isinstance(node, Not):
        return (node.value,)
    if isinstance(node, Call):
        return node.args
    return ()


def with_children(node: Node, rewrite: Callable[[Node], Node]) -> Node:
    """`node` again with `rewrite` applied to each of its children (a leaf as it is): the one place
    that knows each kind's shape, for the passes that rewrite the tree (renaming an alias, making a
    `date()` a local-day field), which had each spelled it out."""
    if isinstance(node, Cmp):
        return Cmp(node.op, rewrite(node.left), rewrite(node.right))
    if isinstance(node, Arith):
        return Arith(node.op, rewrite(node.left), rewrite(node.right))
    if isinstance(node, In):
        return In(rewrite(node.item), rewrite(node.container), node.negate)
    if isinstance(node, BoolOp):
        return BoolOp(node.op, tuple(rewrite(v) for v in node.values))
    if isinstance(node, Not):
        return Not(rewrite(node.value))
    if isinstance(node, Call):
        return Call(node.name, tuple(rewrite(a) for a in node.args))
    return node


def _walk(node: Node, out: set[Ref]) -> None:
    if isinstance(node, Ref):
        out.add(node)
    for child in children(node):
        _walk(child, out)


def conjuncts(node: Node) -> list[Node]:
    """Split a condition on its top-level `and`s."""
    if isinstance(node, BoolOp) and node.op == "and":
        out: list[Node] = []
        for v in node.values:
            out.extend(conjuncts(v))
        return out
    return [node]


def _literal(value: object) -> str:
    """A constant as a rule writes it: `true`, `false` and `null`, not Python's True and None."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def unparse(node: Node) -> str:
    """Readable text of a node (for messages and the rules docs)."""
    if isinstance(node, Lit):
        return _literal(node.value)
    if isinstance(node, ListLit):
        return "[" + ", ".join(_literal(i) for i in node.items) + "]"
    if isinstance(node, Ref):
        return f"{node.alias}.{node.field}"
    if isinstance(node, Param):
        return f"params.{node.name}"
    if isinstance(node, Now):
        return "now"
    if isinstance(node, Cmp):
        return f"{unparse(node.left)} {node.op} {unparse(node.right)}"
    if isinstance(node, In):
        return f"{unparse(node.item)} {'not in' if node.negate else 'in'} {unparse(node.container)}"
    if isinstance(node, BoolOp):
        return "(" + f" {node.op} ".join(unparse(v) for v in node.values) + ")"
    if isinstance(node, Not):
        return f"not {unparse(node.value)}"
    if isinstance(node, Arith):
        return f"({unparse(node.left)} {node.op} {unparse(node.right)})"
    if isinstance(node, Call):
        return f"{node.name}(" + ", ".join(unparse(a) for a in node.args) + ")"
    raise TypeError(node)
