"""Lower compiled pattern lists to durable_rules' JSON ruleset form.

durable_rules tests one message at a time: the left side of every test is a field of the message
being matched, the right side a constant, a field of an earlier pattern, or arithmetic of those.
This module rewrites comparisons into that shape (moving terms across `+`/`-`), and turns what
cannot be expressed natively but reads only the message itself into precomputed `Flag` fields.
Anything else is a compile error naming the rule and the expression.

A join test reading a field the earlier record lacks is an error inside durable_rules (311, "could
not assert fact"), where the Python backend finds the comparison false; facts drop empty fields, so
a missing field is normal. `require_join_fields` therefore makes the earlier pattern require each
field a later pattern compares with (see there). Arithmetic in a join is durable_rules' own, in C:
`/` divides whole numbers as whole numbers (3 / 2 is 1) and kills the process on a zero divisor,
and a product of two fields overflows 64 bits; both are refused (`rhs`). `+`, `-` and a product
by a constant are the same on both backends for every number a rule and a record hold.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from engine.errors import ErrorDetail, ExpressionError
from engine.rules.compiler.model import DL_ALIAS, TRIG_ALIAS, Flag, Pattern, Variant
from engine.rules.lang import nodes as n
from engine.rules.lang.evaluate import compile_expr
from engine.rules.lang.numbers import number_problem, shown

_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_ARITH = {"+": "$add", "-": "$sub", "*": "$mul", "/": "$div"}


def durable_aliases(variant: Variant) -> dict[str, str]:
    """Alias -> the short name registered in durable_rules (p0, p1, ... by position).

    Plain short names: rules with internal names like `trig__`/`dl__` shared across rules were
    among the inputs on which the C core crashed; positional names avoid both.
    """
    return {p.alias: f"p{i}" for i, p in enumerate(variant.patterns)}


def check_lowerable(rule_id: str, cond: n.Node, pattern: Pattern, aliases: list[str]) -> None:
    """Lower one condition as written, alone in its pattern (`aliases`: every pattern's, in order), so
    a condition durable_rules cannot test is refused at the key it is written under; lowering the
    whole variant had said it naming no key. Raises the ExpressionError lowering raises."""
    lowerer = Lowerer(rule_id, {})
    lowerer.names = {alias: f"p{i}" for i, alias in enumerate(aliases)}
    lowerer.guard_sequence([{"t": pattern.fact_type}, lowerer.cond(cond, pattern)], "p0")


class Lowerer:
    """Lowers the variants of one rule; collects the flags it needs."""

    def __init__(self, rule_id: str, type_of: dict[str, str]) -> None:
        self.rule_id = rule_id
        self.type_of = type_of  # alias -> fact type
        self.flags: list[Flag] = []

    def fail(self, node: n.Node, reason: str) -> ExpressionError:
        return ExpressionError(
            f"rule {self.rule_id}: cannot be matched by durable_rules: {reason}",
            [ErrorDetail(reason=f"{reason}: `{n.unparse(node)}`", rule_id=self.rule_id)],
            code="ruleset.expression.not_lowerable",
        )

    def variant(self, variant: Variant, action: str) -> dict[str, Any]:
        variant = require_join_fields(variant)  # the compiler has done it; a direct caller gets it too
        clauses = []
        self.names = durable_aliases(variant)
        positive = [self.names[p.alias] for p in variant.patterns if not p.negated]
        for pattern in variant.patterns:
            key = self.names[pattern.alias] + ("$not" if pattern.negated else "")
            tests: list[dict[str, Any]] = [{"t": pattern.fact_type}]
            tests.extend(self.cond(c, pattern) for c in pattern.conds)
            clauses.append({key: {"$and": self.guard_sequence(tests, positive[0] if positive else "p0")}})
        return {"all": clauses, "run": action}

    def guard_sequence(self, tests: list[dict[str, Any]], anchor: str) -> list[dict[str, Any]]:
        """Order one pattern's tests so durable_rules' join evaluator reads them correctly.

        The C core keeps a pattern's join tests (those naming an earlier pattern) in one flat
        sequence, with an opener and an END marker for every `$and`/`$or` group, even a group of
        plain tests. Its evaluator (`reduceExpressionSequence`, events.c) has two defects, read
        in its source:
        - when an `$and` test fails (an `$or` test holds) it skips to the group's END starting one
          element too far, so when that test is the last before END it reads past the sequence:
          the intermittent SIGSEGV measured here (about 95 worker crashes per scenario run);
        - after a nested group it stops at that group's END, so tests after it are never read.
        So: nested `$and`s are flattened, join tests come first, then a sentinel join test that
        always holds (so a failing test is never the last before END), then the `$or` groups,
        which may hold only plain tests. The sentinel compares this fact's type name with the
        message id of `anchor`, the first positive pattern: the worker sends ids `m0`, `m1`, ...
        and type names are words, so they never match.
        """
        flat: list[dict[str, Any]] = []
        pending = list(tests)
        while pending:
            test = pending.pop(0)
            if set(test) == {"$and"}:
                pending[:0] = test["$and"]
            else:
                flat.append(test)
        simple = [t for t in flat if set(t) != {"$or"}]
        groups = [t for t in flat if set(t) == {"$or"}]
        if any(_names_pattern(g) for g in groups):
            raise ExpressionError(
                f"rule {self.rule_id}: cannot be matched by durable_rules: a join inside `or`",
                [ErrorDetail(reason="durable_rules cannot evaluate a comparison with another record inside `or`; "
                                    "split the rule, or compute the condition in a derivation",
                             rule_id=self.rule_id)],
                code="ruleset.expression.not_lowerable",
            )
        if any(_names_pattern(t) for t in simple):
            return [*simple, {"$neq": {"t": {anchor: "id"}}}, *groups]
        return [*simple, *groups]

    # -- conditions -------------------------------------------------------------------------------

    def cond(self, node: n.Node, pattern: Pattern) -> dict[str, Any]:
        cur = pattern.alias
        if isinstance(node, n.BoolOp):
            key = "$and" if node.op == "and" else "$or"
            return {key: [self.cond(v, pattern) for v in node.values]}
        if isinstance(node, n.Not):
            return self.negated(node.value, pattern, node)
        if isinstance(node, n.Ref) and node.alias == cur:
            return {node.field: True}
        if isinstance(node, n.Cmp):
            lowered = self.compare(node, cur)
            if lowered is not None:
                return lowered
        if isinstance(node, n.In):
            lowered = self.member(node, cur)
            if lowered is not None:
                return lowered
        return self.flag(node, pattern)

    def negated(self, inner: n.Node, pattern: Pattern, whole: n.Node) -> dict[str, Any]:
        cur = pattern.alias
        if isinstance(inner, n.Not):
            return self.cond(inner.value, pattern)
        if isinstance(inner, n.BoolOp):
            op = "or" if inner.op == "and" else "and"
            return self.cond(n.BoolOp(op, tuple(n.Not(v) for v in inner.values)), pattern)
        if isinstance(inner, n.Cmp) and _is_null(inner.right) and isinstance(inner.left, n.Ref):
            return self.cond(n.Cmp(_NEGATE[inner.op], inner.left, inner.right), pattern)
        if isinstance(inner, n.Ref) and inner.alias == cur:
            return {"$or": [{"$nex": {inner.field: 1}}, {inner.field: False}]}
        if n.aliases(inner) <= {cur}:
            return self.flag(whole, pattern)
        raise self.fail(whole, "a negated comparison with another record's field is ambiguous when that field "
                               "is null; write the opposite comparison")

    def compare(self, node: n.Cmp, cur: str) -> dict[str, Any] | None:
        left, right = node.left, node.right
        if _is_null(left):
            left, right = right, left
        if _is_null(right):
            if isinstance(left, n.Ref) and left.alias == cur and node.op in ("==", "!="):
                return {("$nex" if node.op == "==" else "$ex"): {left.field: 1}}
            return None
        terms = _linear(left, 1) + _linear(right, -1)  # left - right (op) 0
        mine = [(s, t) for s, t in terms if cur in n.aliases(t)]
        if len(mine) != 1 or not isinstance(mine[0][1], n.Ref):
            return None
        sign, field_ref = mine[0]
        assert isinstance(field_ref, n.Ref)
        rest = [(-s if sign > 0 else s, t) for s, t in terms if t is not field_ref]
        op = node.op if sign > 0 else _FLIP[node.op]
        rhs = self.rhs(_sum(rest, lambda why: self.fail(node, why)), node)
        if op == "==":
            return {field_ref.field: rhs}
        return {_OPS[op]: {field_ref.field: rhs}}

    def member(self, node: n.In, cur: str) -> dict[str, Any] | None:
        item, container = node.item, node.container
        if isinstance(item, n.Ref) and item.alias == cur and isinstance(container, n.ListLit):
            if not container.items:
                raise self.fail(node, "membership in an empty list")
            if node.negate:
                return {"$and": [{"$neq": {item.field: v}} for v in container.items]}
            return {"$or": [{item.field: v} for v in container.items]}
        if (isinstance(item, n.Lit) and isinstance(container, n.Ref) and container.alias == cur
                and not node.negate):
            return {"$iany": {container.field: {"$i": item.value}}}
        return None

    def rhs(self, node: n.Node, whole: n.Node) -> Any:
        if isinstance(node, n.Lit):
            return node.value
        if isinstance(node, n.Ref):
            return {self.names[node.alias]: node.field}
        if isinstance(node, n.Arith):
            if node.op == "/":
                raise self.fail(whole, "durable_rules divides whole numbers as whole numbers (3 / 2 is 1) and stops "
                                       "on a zero divisor, so `/` cannot divide another record's field: compute the "
                                       "ratio in a derivation, or multiply by a constant (`y.a * 0.5`)")
            if node.op == "*" and n.refs(node.left) and n.refs(node.right):
                raise self.fail(whole, "durable_rules multiplies whole numbers in 64 bits, and a product of two "
                                       "fields can overflow: compute the product in a derivation")
            return {_ARITH[node.op]: {"$l": self.rhs(node.left, whole), "$r": self.rhs(node.right, whole)}}
        raise self.fail(whole, f"cannot use {n.unparse(node)} on the right of a comparison")

    def flag(self, node: n.Node, pattern: Pattern) -> dict[str, Any]:
        cur = pattern.alias
        if not n.aliases(node) <= {cur}:
            raise self.fail(node, "this condition mixes records in a way durable_rules cannot test; "
                                  "split it, or compute it in a derivation")
        selfed = _rename(node, cur, "self")
        digest = hashlib.sha256(n.unparse(selfed).encode()).hexdigest()[:10]
        name = f"p_{digest}"
        if not any(f.name == name and f.fact_type == pattern.fact_type for f in self.flags):
            self.flags.append(Flag(fact_type=pattern.fact_type, name=name, node=selfed, fn=compile_expr(selfed)))
        return {name: True}


_ALIAS_NAME = re.compile(r"^p[0-9]+$")
#: Fields every fact has, and patterns of facts the engine builds with every field a rule reads.
_ALWAYS_PRESENT = frozenset({"id", "rid", "t"})
_ENGINE_ALIASES = frozenset({TRIG_ALIAS, DL_ALIAS})


def require_join_fields(variant: Variant) -> Variant:
    """Make each pattern require the fields later patterns compare with (`field != null`).

    durable_rules stops with an error (311) on a join test that reads a field the earlier fact
    lacks; the Python backend finds the comparison false. For a positive later pattern the
    requirement changes nothing: with the field missing, the later pattern can match no record,
    so neither can the rule. For a `no` pattern it does: the absence then no longer holds for an
    earlier record without the field (the Python backend found no record to match, so the absence
    held, and durable_rules stopped). A `no` pattern's `==` with the bare field is left alone:
    durable_rules reads it without error, as no match, and agrees with the Python backend.
    """
    needed: dict[str, list[str]] = {}
    for p in variant.patterns:
        for c in p.conds:
            for ref in sorted(n.refs(c), key=lambda r: (r.alias, r.field)):
                if ref.alias == p.alias or ref.alias in _ENGINE_ALIASES or ref.field in _ALWAYS_PRESENT:
                    continue
                if p.negated and isinstance(c, n.Cmp) and c.op == "==" and ref in (c.left, c.right):
                    continue
                fields = needed.setdefault(ref.alias, [])
                if ref.field not in fields:
                    fields.append(ref.field)
    if not needed:
        return variant
    out = []
    for p in variant.patterns:
        extra = tuple(n.Cmp("!=", n.Ref(p.alias, f), n.Lit(None)) for f in needed.get(p.alias, ())
                      if not _requires(p, f))
        out.append(Pattern(p.alias, p.fact_type, p.negated, p.conds + extra) if extra else p)
    return Variant(variant.name, variant.state, tuple(out))


def _requires(pattern: Pattern, field: str) -> bool:
    """Does one of the pattern's conjuncts already fail, on both backends, when `field` is missing?"""
    ref = n.Ref(pattern.alias, field)
    for c in pattern.conds:
        if c == ref:
            return True
        if isinstance(c, n.Cmp) and ref in (c.left, c.right):
            other = c.right if c.left == ref else c.left
            if not _is_null(other) or c.op == "!=":
                return True
        if isinstance(c, n.In) and c.item == ref:
            return True
    return False


def _names_pattern(test: Any) -> bool:
    """Does this lowered test read a field of an earlier pattern (a join, evaluated in the beta network)?"""
    if isinstance(test, dict):
        return any((_ALIAS_NAME.match(k) and isinstance(v, str)) or _names_pattern(v) for k, v in test.items())
    if isinstance(test, list):
        return any(_names_pattern(t) for t in test)
    return False


def _is_null(node: n.Node) -> bool:
    return isinstance(node, n.Lit) and node.value is None


def _linear(node: n.Node, sign: int) -> list[tuple[int, n.Node]]:
    """Split a +/- expression into signed terms."""
    if isinstance(node, n.Arith) and node.op in ("+", "-"):
        right_sign = sign if node.op == "+" else -sign
        return _linear(node.left, sign) + _linear(node.right, right_sign)
    return [(sign, node)]


def _sum(terms: list[tuple[int, n.Node]], fail: Callable[[str], ExpressionError]) -> n.Node:
    """Rebuild signed terms into one expression, folding the constants into a single number.

    Whole numbers are summed as integers, so the sum is exact (a float sum had rounded
    9007199254740993 to ...992); a sum past what durable_rules holds exactly is refused."""
    constant: int | float = 0
    parts: list[tuple[int, n.Node]] = []
    for sign, term in terms:
        if isinstance(term, n.Lit) and isinstance(term.value, int | float) and not isinstance(term.value, bool):
            constant += sign * term.value
        else:
            parts.append((sign, term))
    why = number_problem(constant)
    if why is not None:
        raise fail(f"the constants sum to {shown(constant)}, which {why}")
    if isinstance(constant, float) and constant.is_integer():
        constant = int(constant)
    if not parts:
        return n.Lit(constant)
    ordered = sorted(parts, key=lambda p: -p[0])  # a positive term first when there is one
    sign, first = ordered[0]
    expr: n.Node = first if sign > 0 else n.Arith("-", n.Lit(0), first)
    for sign, term in ordered[1:]:
        expr = n.Arith("+" if sign > 0 else "-", expr, term)
    if constant:
        expr = n.Arith("+" if constant > 0 else "-", expr, n.Lit(abs(constant)))
    return expr


def _rename(node: n.Node, old: str, new: str) -> n.Node:
    if isinstance(node, n.Ref):
        return n.Ref(new, node.field) if node.alias == old else node
    return n.with_children(node, lambda child: _rename(child, old, new))


rename_alias = _rename
