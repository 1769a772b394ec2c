"""Kind checks: refuse what durable_rules and the Python backend would judge differently.

Both backends agree on numbers compared with numbers, text with text and true/false tests of
true/false fields. Past that they part: durable_rules (C) reads the text "2" as the number 2 in an
ordering (`x.n < 3`) or a join (`x.n == y.n`), takes 1 for true in a truth test (`x.b`) and ""
for not false (`not x.b`); the Python backend does none of this. So a condition may test a
field for truth only when it is a true/false field, and may order, do arithmetic on or join a
field only when its fact type declares its kind (a field declared `any` may still be compared
with a constant: `==`, `!=` and `in` agree on both). The shipped fact types declare every field.
"""

from __future__ import annotations

from engine.errors import ErrorDetail, ExpressionError
from engine.rules.facttypes import FactType
from engine.rules.lang import nodes as n

#: Kinds that are numbers to both backends (instants and dates are compared as numbers).
NUMERIC_KINDS = frozenset({"number", "instant", "date"})


def check_condition(node: n.Node, *, rule_id: str | None, types: dict[str, FactType],
                    type_of: dict[str, str]) -> None:
    """Check a condition (a pattern's, or `when`): its truth tests, then its kinds."""
    _check_truth(node, rule_id, types, type_of)
    check_kinds(node, rule_id=rule_id, types=types, type_of=type_of)


def kind_of(node: n.Node, types: dict[str, FactType], type_of: dict[str, str]) -> str | None:
    """What a value is, where the rule says (None: a record the engine builds, or not a value);
    `any` for a field whose fact type does not declare its kind."""
    if isinstance(node, n.Lit):
        value = node.value
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int | float):
            return "number"
        return "string" if isinstance(value, str) else None
    if isinstance(node, n.Ref):
        ft = types.get(type_of.get(node.alias, ""))
        return ft.kind(node.field) if ft is not None else None
    if isinstance(node, n.Arith | n.Now | n.Call):  # every registered function gives a duration or a time
        return "number"
    return None


def _fail(rule_id: str | None, reason: str) -> ExpressionError:
    return ExpressionError(reason, [ErrorDetail(reason=reason, rule_id=rule_id)], code="ruleset.expression.kind")


def _undeclared(node: n.Node, type_of: dict[str, str]) -> str:
    assert isinstance(node, n.Ref)
    return f"{type_of.get(node.alias, node.alias)}.{node.field} does not declare its kind"


def _check_truth(node: n.Node, rule_id: str | None, types: dict[str, FactType], type_of: dict[str, str]) -> None:
    """A bare field tested for truth (`x.b`, `not x.b`, an operand of `and`/`or`) must be true/false."""
    if isinstance(node, n.BoolOp):
        for value in node.values:
            _check_truth(value, rule_id, types, type_of)
    elif isinstance(node, n.Not):
        _check_truth(node.value, rule_id, types, type_of)
    elif isinstance(node, n.Ref):
        kind = kind_of(node, types, type_of)
        if kind is None or kind == "bool":
            return
        field = n.unparse(node)
        why = _undeclared(node, type_of) if kind == "any" else f"it is a {kind}, not true/false"
        example = {"number": f"`{field} != 0`", "any": f"`{field} == true`"}.get(kind, f"`{field} != null`")
        raise _fail(rule_id, f"`{field}` is tested for truth, but {why}: compare it with a value, e.g. {example}")


def check_kinds(node: n.Node, *, rule_id: str | None, types: dict[str, FactType], type_of: dict[str, str]) -> None:
    """Refuse arithmetic on text or true/false, ordering text against a number, and ordering,
    arithmetic or a join on a field of undeclared kind: durable_rules and the Python backend answer
    those differently (`dev.kind > 5` matched on one and not the other), and no rule means them."""
    if isinstance(node, n.Arith):
        for side in (node.left, node.right):
            kind = kind_of(side, types, type_of)
            if kind in ("string", "bool", "list", "dict"):
                raise _fail(rule_id, f"`{n.unparse(node)}` does arithmetic on {kind} `{n.unparse(side)}`: only "
                                     "numbers, instants and dates can be added or subtracted")
            if kind == "any":
                raise _fail(rule_id, f"`{n.unparse(node)}` does arithmetic on `{n.unparse(side)}`, but "
                                     f"{_undeclared(side, type_of)}: only numbers, instants and dates can be added "
                                     "or subtracted")
    if isinstance(node, n.Cmp):
        sides = (node.left, node.right)
        found = [(side, kind_of(side, types, type_of)) for side in sides]
        for side, kind in found:
            joined = node.op in ("==", "!=") and all(n.refs(s) for s in sides) and \
                n.aliases(node.left) != n.aliases(node.right)
            if kind == "any" and (node.op not in ("==", "!=") or joined):
                what = "compares it with another record's field" if joined else "orders it"
                raise _fail(rule_id, f"`{n.unparse(node)}` {what}, but {_undeclared(side, type_of)}: compare it "
                                     "only with a constant, or derive a field of a declared kind")
        kinds = {k for _, k in found if k and k != "any"}
        if node.op in ("<", "<=", ">", ">="):
            if len(kinds) > 1 and not kinds <= NUMERIC_KINDS:
                raise _fail(rule_id, f"`{n.unparse(node)}` orders {' against '.join(sorted(kinds))}: compare like "
                                     "with like (text with text, numbers, instants and dates with each other)")
            if kinds & {"bool", "list", "dict"}:
                raise _fail(rule_id, f"`{n.unparse(node)}` orders a {sorted(kinds & {'bool', 'list', 'dict'})[0]}: "
                                     "use == or != (or `in` for a list)")
        elif all(n.refs(s) for s in sides) and n.aliases(node.left) != n.aliases(node.right) \
                and len(kinds) > 1 and not kinds <= NUMERIC_KINDS:
            raise _fail(rule_id, f"`{n.unparse(node)}` compares {' with '.join(sorted(kinds))} across records: "
                                 "durable_rules finds the text '2' equal to the number 2, the Python backend does "
                                 "not; compare like with like")
    for child in n.children(node):
        check_kinds(child, rule_id=rule_id, types=types, type_of=type_of)
