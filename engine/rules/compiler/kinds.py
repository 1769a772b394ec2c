"""Kind checks: refuse what durable_rules and the Python backend would judge differently, and
comparisons of values that cannot be compared.

Both backends agree on numbers compared with numbers, text with text and true/false tests of
true/false fields. Past that they part: durable_rules (C) reads the text "2" as the number 2 in an
ordering (`x.n < 3`), an equality (`x.n == '2'`, `x.b == 'true'`) or a join (`x.n == y.n`), takes
1 for true in a truth test (`x.b`) and "" for not false (`not x.b`); the Python backend does none
of this. So a condition may test a field for truth only when it is a true/false field, and may
order, do arithmetic on or join a field only when its fact type declares its kind (a field
declared `any` may still be compared with a constant: `==`, `!=` and `in` agree on both).

Where both sides' kinds are known (a field's from its fact type, a literal's, a parameter's from
its declaration, a function's from its declaration), they must be comparable: text with text,
true/false with true/false, numbers and durations with each other, instants and dates with each
other. An instant compared with a number parameter or field (`x.at > params.days`) agrees on both
backends and means nothing (seconds since 1970 against a count of days), so it is refused with the
rest, as are an instant moved by such a count (`x.at + params.days`) and a duration compared with
one (`now - x.at > params.days`). So is a number written in the rule against an instant (`x.at > 30`,
read as 30 seconds after 1970): a liaison writes a moment date('...') or instant('...'). Only the
conditions the compiler builds by folding those (`x.at > 1767225600`) compare an instant with a
number literal, and those are checked with `written=False`. `in`
needs a list: a list literal, a list parameter or a list field; its members must be comparable
with the item. The shipped fact types declare every field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import ErrorDetail, ExpressionError
from engine.rules.facttypes import FactType
from engine.rules.lang import nodes as n
from engine.rules.lang.functions import FUNCTIONS

#: Kinds that are numbers to both backends (instants and dates are compared as numbers).
NUMERIC_KINDS = frozenset({"number", "duration", "instant", "date", "time"})
#: Kinds that are moments: instants and dates are seconds since 1970 (a date its local midnight).
TIME_KINDS = frozenset({"instant", "date", "time"})
#: Kinds only ever compared with their own kind; a field of kind `any` is not checked here.
_GROUP = {"instant": "time", "date": "time", "time": "time", "number": "number", "duration": "number"}
#: How a message names each kind.
SAID = {"bool": "a boolean (true/false)", "string": "text", "number": "a number", "instant": "an instant",
        "date": "a date", "time": "an instant", "duration": "a duration", "list": "a list", "dict": "a mapping"}
#: A declared parameter type -> the kind of its value.
_PARAM_KINDS = {"int": "number", "number": "number", "bool": "bool", "string": "string", "list": "list"}

KindOf = Callable[[n.Node], str | None]


@dataclass(frozen=True)
class ParamInfo:
    """A ruleset parameter as the kind checks see it: its declared type and its value in this compilation."""

    type: str  # int | number | bool | string | list
    value: Any
    unit: str | None = None


def check_condition(node: n.Node, *, rule_id: str | None, types: dict[str, FactType],
                    type_of: dict[str, str], params: Mapping[str, ParamInfo] | None = None,
                    written: bool = False) -> None:
    """Check a condition (a pattern's, or `when`): its truth tests, then its kinds; `written` for a
    condition as the rule writes it, before folding."""
    _check_truth(node, rule_id, types, type_of)
    check_kinds(node, rule_id=rule_id, types=types, type_of=type_of, params=params, written=written)


def kind_of(node: n.Node, types: dict[str, FactType], type_of: dict[str, str],
            params: Mapping[str, ParamInfo] | None = None) -> str | None:
    """What a value is, where the rule says (None: a record the engine builds, an undeclared
    parameter, or not a value); `any` for a field whose fact type does not declare its kind.

    Beyond the field kinds: `time` is a moment the rule computes (`now`, `date(...)`,
    `instant(...)`, an instant plus a duration), `duration` a length of time (`days(n)`, an
    instant minus an instant)."""
    if isinstance(node, n.Lit):
        return _value_kind(node.value)
    if isinstance(node, n.ListLit):
        return "list"
    if isinstance(node, n.Ref):
        ft = types.get(type_of.get(node.alias, ""))
        return ft.kind(node.field) if ft is not None else None
    if isinstance(node, n.Param):
        info = (params or {}).get(node.name)
        return _PARAM_KINDS.get(info.type) if info is not None else None
    if isinstance(node, n.Now):
        return "time"
    if isinstance(node, n.Call):
        returns = FUNCTIONS.get(node.name).returns if node.name in FUNCTIONS else None
        return {"duration": "duration", "time": "time", "number": "number"}.get(returns or "")
    if isinstance(node, n.Arith):
        kind, _ = _arith_kind(node.op, kind_of(node.left, types, type_of, params),
                              kind_of(node.right, types, type_of, params))
        return kind
    return None


def _value_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else None


def _arith_kind(op: str, left: str | None, right: str | None) -> tuple[str | None, str | None]:
    """The kind of `left op right` for numeric kinds, and why it means nothing when it does not."""
    if left not in NUMERIC_KINDS or right not in NUMERIC_KINDS:
        return None, None  # unknown, or refused as arithmetic on text or true/false
    lt, rt = left in TIME_KINDS, right in TIME_KINDS
    if not lt and not rt:
        if op in ("+", "-"):
            return ("duration" if "duration" in (left, right) else "number"), None
        if op == "*":
            return ("duration" if "duration" in (left, right) else "number"), None
        return ("duration" if (left, right) == ("duration", "number") else "number"), None
    if op == "-" and lt and rt:
        return "duration", None
    if op in ("+", "-") and lt and not rt:
        return "time", None
    if op == "+" and rt and not lt:
        return "time", None
    if op == "+":
        return None, "adds two instants"
    if op == "-":
        return None, "subtracts an instant from a number"
    return None, f"{'multiplies' if op == '*' else 'divides'} an instant"


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


def check_kinds(node: n.Node, *, rule_id: str | None, types: dict[str, FactType], type_of: dict[str, str],
                params: Mapping[str, ParamInfo] | None = None, written: bool = False) -> None:
    """Refuse arithmetic on text or true/false, comparisons of kinds that cannot be compared,
    `in` without a list, and ordering, arithmetic or a join on a field of undeclared kind:
    durable_rules and the Python backend answer those differently (`dev.kind > 5` matched on one
    and not the other), or both answer something no rule means (`x.at > params.days`)."""

    def kind(side: n.Node) -> str | None:
        return kind_of(side, types, type_of, params)

    if isinstance(node, n.Arith):
        for side in (node.left, node.right):
            side_kind = kind(side)
            if side_kind in ("string", "bool", "list", "dict"):
                raise _fail(rule_id, f"`{n.unparse(node)}` does arithmetic on {side_kind} `{n.unparse(side)}`: only "
                                     "numbers, instants and dates can be added or subtracted")
            if side_kind == "any":
                raise _fail(rule_id, f"`{n.unparse(node)}` does arithmetic on `{n.unparse(side)}`, but "
                                     f"{_undeclared(side, type_of)}: only numbers, instants and dates can be added "
                                     "or subtracted")
        _, problem = _arith_kind(node.op, kind(node.left), kind(node.right))
        _check_shift(node, rule_id, kind, params)
        if problem:
            raise _fail(rule_id, f"`{n.unparse(node)}` {problem}: an instant minus an instant is a duration, and an "
                                 "instant plus or minus a duration (`days(n)`, `hours(n)`) is an instant")
    if isinstance(node, n.Cmp):
        _check_cmp(node, rule_id, kind, type_of, params, written)
    if isinstance(node, n.In):
        _check_in(node, rule_id, kind, params, written)
    for child in n.children(node):
        check_kinds(child, rule_id=rule_id, types=types, type_of=type_of, params=params, written=written)


def _check_cmp(node: n.Cmp, rule_id: str | None, kind: KindOf, type_of: dict[str, str],
               params: Mapping[str, ParamInfo] | None, written: bool) -> None:
    sides = (node.left, node.right)
    found = [(side, kind(side)) for side in sides]
    joined = all(n.refs(s) for s in sides) and n.aliases(node.left) != n.aliases(node.right)
    for side, side_kind in found:
        if side_kind == "any" and (node.op not in ("==", "!=") or joined):
            what = "compares it with another record's field" if joined and node.op in ("==", "!=") else "orders it"
            raise _fail(rule_id, f"`{n.unparse(node)}` {what}, but {_undeclared(side, type_of)}: compare it "
                                 "only with a constant, or derive a field of a declared kind")
    (left, lk), (right, rk) = found
    kinds = {k for _, k in found if k and k != "any"}
    ordering = node.op in ("<", "<=", ">", ">=")
    if ordering and kinds & {"bool", "list", "dict"} and len(kinds) == 1:
        raise _fail(rule_id, f"`{n.unparse(node)}` orders a {sorted(kinds)[0]}: use == or != (or `in` for a list)")
    if lk in (None, "any") or rk in (None, "any"):
        return
    if _GROUP.get(lk, lk) == _GROUP.get(rk, rk):
        _check_duration(node, rule_id, found, params)
        return
    if not written and {_GROUP.get(lk), _GROUP.get(rk)} == {"time", "number"} and any(
            k == "number" and _constant(side) for side, k in found):
        return  # a moment the compiler folded (date('...')) is a number: seconds since 1970
    named = sorted((lk, rk))
    verb = f"orders {named[0]} against {named[1]}" if ordering else f"compares {named[0]} with {named[1]}"
    fix = _fix(node, lk, rk)
    raise _fail(rule_id, f"`{n.unparse(node)}` {verb}{' across records' if joined else ''}: "
                         f"{_said(left, lk)}; {_said(right, rk)}: {_why(lk, rk)}"
                         + (f"; write `{fix}`" if fix else ""))


def _check_shift(node: n.Arith, rule_id: str | None, kind: KindOf, params: Mapping[str, ParamInfo] | None) -> None:
    """An instant plus or minus a count held by a parameter or a field (`x.at + params.grace_days`)
    moves it by that many seconds: refused, saying how to make the count a duration."""
    if node.op not in ("+", "-"):
        return
    sides = [(node.left, kind(node.left)), (node.right, kind(node.right))]
    if not any(k in TIME_KINDS for _, k in sides):
        return
    for side, side_kind in sides:
        if side_kind == "number" and isinstance(side, n.Param | n.Ref):
            said_count, fn = _count(side, params)
            fixed = n.Arith(node.op, *(n.Call(fn, (s,)) if s is side else s for s in (node.left, node.right))) \
                if fn else None
            verb = "adds a number to an instant" if node.op == "+" else "subtracts a number from an instant"
            hint = f"write `{n.unparse(fixed)}`" if fixed else "turn the count into a duration with days(...), " \
                                                                "hours(...) or minutes(...)"
            raise _fail(rule_id, f"`{n.unparse(node)}` {verb}: {said_count}, read as seconds, so the rule would "
                                 f"judge the wrong moment; {hint}")


def _count(side: n.Node, params: Mapping[str, ParamInfo] | None) -> tuple[str, str]:
    """How a message names a count (`params.n is a number of days`), and the function that makes it
    a duration when its unit says which."""
    info = (params or {}).get(side.name) if isinstance(side, n.Param) else None
    unit = (info.unit or "") if info is not None else ""
    return (f"{n.unparse(side)} is a number" + (f" of {unit}" if unit else ""),
            unit if unit in ("days", "hours", "minutes") else "")


def _check_duration(node: n.Cmp, rule_id: str | None, found: list[tuple[n.Node, str | None]],
                    params: Mapping[str, ParamInfo] | None) -> None:
    """A duration (seconds) compared with a count held by a parameter or a field (`now - x.at >
    params.grace_days`) agrees on both backends and reads days as seconds: refused, saying how to
    turn the count into a duration. A literal number stays allowed (`x.end - x.start > 0`)."""
    if sorted(str(k) for _, k in found) != ["duration", "number"]:
        return
    count = next(side for side, k in found if k == "number")
    if not isinstance(count, n.Param | n.Ref):
        return
    said_count, fn = _count(count, params)
    duration = next(side for side, k in found if k == "duration")
    if fn:
        fixed = n.Call(fn, (count,))
        left, right = (fixed, node.right) if node.left is count else (node.left, fixed)
        hint = f"write `{n.unparse(left)} {node.op} {n.unparse(right)}`"
    else:
        hint = "turn the count into a duration with days(...), hours(...) or minutes(...)"
    raise _fail(rule_id, f"`{n.unparse(node)}` compares a duration with a number: {n.unparse(duration)} is a "
                         f"duration (seconds); {said_count}: read as seconds, the rule would judge the wrong length "
                         f"of time; {hint}")


def _check_in(node: n.In, rule_id: str | None, kind: KindOf, params: Mapping[str, ParamInfo] | None,
              written: bool) -> None:
    item, container = node.item, node.container
    text, op = n.unparse(node), "not in" if node.negate else "in"
    container_kind = kind(container)
    members: tuple[Any, ...] | None = None
    if isinstance(container, n.ListLit):
        members = container.items
    elif isinstance(container, n.Param):
        info = (params or {}).get(container.name)
        if info is None:
            return  # an undeclared parameter: refused, naming it, when the condition is folded
        if info.type != "list":
            raise _fail(rule_id, f"`{text}`: params.{container.name} is declared {info.type} "
                                 f"(= {info.value!r}), not a list: `{op}` needs a list literal (`['a', 'b']`) or a "
                                 f"list parameter; as written the condition never holds and the rule never fires")
        members = tuple(info.value) if isinstance(info.value, list | tuple) else None
    elif isinstance(container, n.Lit) or container_kind not in (None, "any", "list"):
        raise _fail(rule_id, f"`{text}`: {_said(container, container_kind)}, not a list: `{op}` needs a list "
                             "literal (`['a', 'b']`), a list parameter or a list field; as written the condition "
                             "never holds")
    item_kind = kind(item)
    if members is None or item_kind in (None, "any"):
        return
    group = _GROUP.get(item_kind, item_kind)
    wrong = [m for m in members if m is not None and _GROUP.get(_value_kind(m) or "", _value_kind(m)) != group
             and not (group == "time" and _value_kind(m) == "number" and not written)]  # folded moments
    if not wrong:
        return
    said = ", ".join(f"{m!r} ({SAID.get(_value_kind(m) or '', type(m).__name__)})" for m in wrong[:5])
    fixed = [_convert(m, item_kind) for m in members]
    fix = ""
    if isinstance(container, n.ListLit) and all(f is not _NO for f in fixed):
        fix = f"; write `{n.unparse(item)} {op} [{', '.join(_literal(f) for f in fixed)}]`"
    where = "the list" if isinstance(container, n.ListLit) else f"params.{getattr(container, 'name', '')}"
    raise _fail(rule_id, f"`{text}`: {_said(item, item_kind)}, but {where} holds {said}: "
                         f"{_why(item_kind, _value_kind(wrong[0]) or 'string')}{fix}")


def _literal(value: Any) -> str:
    """A value as a rule writes it: true/false lower case, null for None."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return repr(value)


def _constant(node: n.Node) -> bool:
    """A number written in the rule (`1767225600`, `2 * 86400`), not a parameter, field or function."""
    if isinstance(node, n.Lit):
        return True
    return isinstance(node, n.Arith) and _constant(node.left) and _constant(node.right)


def _said(node: n.Node, kind: str | None) -> str:
    """`sys.stores_ephi is a boolean (true/false)`, `'true' is text`."""
    what = SAID.get(kind or "", str(kind)) if kind else "null"
    return f"{n.unparse(node)} is {what}"


def _why(a: str, b: str) -> str:
    """Why two kinds cannot be compared, in a liaison's words."""
    pair = {_GROUP.get(a, a), _GROUP.get(b, b)}
    if pair == {"string", "bool"}:
        return ("durable_rules finds true equal to the text 'true' and the Python backend does not: the two "
                "backends judge true/false against text differently")
    if pair == {"string", "number"}:
        return ("durable_rules finds the text '30' equal to the number 30 and the Python backend does not: the two "
                "backends judge a number against text differently")
    if pair == {"string", "time"}:
        return ("instants and dates are held as numbers (seconds since 1970): durable_rules reads text that spells "
                "a number as that number and the Python backend does not, so the two backends would disagree; a "
                "fixed moment is written date('YYYY-MM-DD') or instant('YYYY-MM-DDThh:mm:ss+hh:mm')")
    if pair == {"time", "number"}:
        return ("an instant is a moment (seconds since 1970), not a count: compare an instant with an instant "
                "(`x.at < now - days(params.n)`), or a duration with a duration (`now - x.at > days(params.n)`)")
    if pair & {"list", "dict"}:
        return "a list or a mapping is never equal to a single value: use `in`, or compare with null"
    return "the two cannot be compared (both backends take true for 1); compare like with like"


_NO: Any = object()


def _convert(value: Any, kind: str) -> Any:
    """`value` as a literal of `kind`, when its text plainly means one ('true', '30'); else `_NO`."""
    if _GROUP.get(_value_kind(value) or "", _value_kind(value)) == _GROUP.get(kind, kind):
        return value
    if not isinstance(value, str):
        return _NO
    text = value.strip()
    if kind == "bool" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind in ("number", "duration"):
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return _NO
    return _NO


def _fix(node: n.Cmp, lk: str, rk: str) -> str:
    """The comparison rewritten with its literal in the other side's kind, when that is plain."""
    for lit_left in (False, True):
        lit, other, other_kind = (node.left, node.right, rk) if lit_left else (node.right, node.left, lk)
        if not isinstance(lit, n.Lit):
            continue
        if other_kind == "instant" and isinstance(lit.value, str):
            fixed = _instant_call(lit.value)
        else:
            value = _convert(lit.value, other_kind)
            fixed = None if value is _NO else _literal(value)
        if fixed is None:
            return ""
        left, right = (fixed, n.unparse(other)) if lit_left else (n.unparse(other), fixed)
        return f"{left} {node.op} {right}"
    return ""


def _instant_call(text: str) -> str | None:
    """`date('2026-01-01')` or `instant('...')` for text that is an ISO day or instant."""
    try:
        if len(text) == 10:
            dt.date.fromisoformat(text)
            return f"date({text!r})"
        if dt.datetime.fromisoformat(text.replace("Z", "+00:00")).tzinfo is not None:
            return f"instant({text!r})"
    except ValueError:
        return None
    return None
