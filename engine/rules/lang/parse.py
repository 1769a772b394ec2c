"""Parse expression text into `nodes`, accepting only the allowed subset of Python syntax.

Anything else (attribute walks, subscripts, lambdas, comprehensions, imports, unknown functions)
is rejected with the rule id, the offending text and the reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from engine.errors import ErrorDetail, ExpressionError
from engine.rules.lang import nodes as n
from engine.rules.lang.functions import FUNCTIONS
from engine.rules.lang.numbers import number_problem, shown

_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CONSTANT_NAMES = {"null": None, "None": None, "true": True, "True": True, "false": False, "False": False}
#: A condition a liaison can read aloud is a few lines; 20,000 terms was a parser crash.
MAX_EXPRESSION_CHARS = 4000
#: Levels of nesting (operators within operators) a condition may have. Folding, lowering and the
#: Python evaluator recurse once or twice per level: 700 chained `+ 1`s fit in 4,000 characters and
#: overflowed the evaluator's stack. The shipped rulesets nest at most 8 deep.
MAX_DEPTH = 32


@dataclass(frozen=True)
class Scope:
    """What names mean where an expression is written.

    `current` is the alias whose pattern the expression filters (bare names are its fields);
    `aliases` are the patterns bound so far (plus the current one).
    """

    aliases: frozenset[str]
    current: str | None = None
    rule_id: str | None = None
    file: str | None = None
    line: int | None = None
    #: the rule key the expression is written under (`match.<alias>`, `when`), for error messages
    field: str | None = None


def parse_expr(text: str, scope: Scope) -> n.Node:
    """Parse one expression; raise ExpressionError naming the rule, the text and the reason."""
    text = " ".join(str(text).split())
    if len(text) > MAX_EXPRESSION_CHARS:
        raise _error(scope, text[:80] + "...", f"longer than {MAX_EXPRESSION_CHARS} characters: split the rule, or "
                                                "compute the condition in a derivation")
    try:
        tree = ast.parse(text, mode="eval")
        return _Converter(scope, text).convert(tree.body)
    except SyntaxError as exc:
        raise _error(scope, text, f"not a valid expression: {exc.msg}", exc.offset) from None
    except (RecursionError, MemoryError):  # 3,000 `not`s: Python's own parser gives up
        raise _error(scope, text[:80] + "...", "nested too deeply to read: split the rule, or compute the "
                                               "condition in a derivation") from None


def _error(scope: Scope, text: str, reason: str, column: int | None = None) -> ExpressionError:
    # the column counts within the expression (folded onto one line), not the file: said in the reason
    at = f" (at character {column + 1})" if column is not None and len(text) > 40 else ""
    detail = ErrorDetail(reason=f"{reason} in `{text}`{at}", file=scope.file, line=scope.line,
                         rule_id=scope.rule_id, field=scope.field)
    return ExpressionError(f"unsafe or invalid expression: {reason}", [detail],
                           code="ruleset.expression.invalid")


class _Converter:
    def __init__(self, scope: Scope, text: str) -> None:
        self.scope = scope
        self.text = text
        self.depth = 0

    def fail(self, node: ast.AST, reason: str) -> ExpressionError:
        return _error(self.scope, self.text, reason, getattr(node, "col_offset", None))

    def convert(self, node: ast.AST) -> n.Node:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                shown_text = self.text if len(self.text) <= 80 else self.text[:80] + "..."
                raise _error(self.scope, shown_text, f"nested too deeply to read: more than {MAX_DEPTH} levels of "
                                                     "operators within operators; split the rule, or compute the "
                                                     "condition in a derivation")
            return self._convert(node)
        finally:
            self.depth -= 1

    def _convert(self, node: ast.AST) -> n.Node:
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return n.BoolOp(op, tuple(self.convert(v) for v in node.values))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return n.Not(self.convert(node.operand))
            if isinstance(node.op, ast.USub):
                inner = self.convert(node.operand)
                if isinstance(inner, n.Lit) and isinstance(inner.value, int | float):
                    return n.Lit(-inner.value)
                return n.Arith("-", n.Lit(0), inner)
            raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.BinOp):
            arith = _ARITH.get(type(node.op))
            if arith is None:
                raise self.fail(node, f"arithmetic operator {type(node.op).__name__} is not allowed")
            return n.Arith(arith, self.convert(node.left), self.convert(node.right))
        if isinstance(node, ast.Constant):
            why = number_problem(node.value)
            if why is not None:
                written = ast.get_source_segment(self.text, node) or shown(node.value)
                raise self.fail(node, f"the number {written if len(written) <= 24 else shown(node.value)} {why}")
            if node.value is None or isinstance(node.value, bool | int | float | str):
                return n.Lit(node.value)
            raise self.fail(node, f"literal of type {type(node.value).__name__} is not allowed")
        if isinstance(node, ast.List | ast.Tuple):
            items = []
            for elt in node.elts:
                value = self.convert(elt)
                if not isinstance(value, n.Lit):
                    raise self.fail(elt, "list items must be literals")
                items.append(value.value)
            return n.ListLit(tuple(items))
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise self.fail(node, f"{type(node).__name__} is not allowed in rule expressions")

    def _compare(self, node: ast.Compare) -> n.Node:
        parts: list[n.Node] = []
        left = self.convert(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.convert(comparator)
            if isinstance(op, ast.In | ast.NotIn):
                parts.append(n.In(left, right, negate=isinstance(op, ast.NotIn)))
            elif type(op) in _CMP:
                parts.append(n.Cmp(_CMP[type(op)], left, right))
            else:
                raise self.fail(node, f"comparison {type(op).__name__} is not allowed (use == or !=)")
            left = right
        return parts[0] if len(parts) == 1 else n.BoolOp("and", tuple(parts))

    def _name(self, node: ast.Name) -> n.Node:
        name: str = node.id
        if name in _CONSTANT_NAMES:
            return n.Lit(_CONSTANT_NAMES[name])
        if name == "now":
            return n.Now()
        if name in self.scope.aliases:
            raise self.fail(node, f"`{name}` is a pattern alias; name one of its fields, e.g. {name}.id")
        if name == "params":
            raise self.fail(node, "name a parameter, e.g. params.access_revoke_hours")
        if self.scope.current is None:
            raise self.fail(node, f"unknown name `{name}` (write alias.field)")
        return n.Ref(self.scope.current, name)

    def _attribute(self, node: ast.Attribute) -> n.Node:
        if not isinstance(node.value, ast.Name):
            raise self.fail(node, "only alias.field is allowed (no attribute walking)")
        base = node.value.id
        if node.attr.startswith("_"):
            raise self.fail(node, f"field names may not start with an underscore: {node.attr}")
        if base == "params":
            return n.Param(node.attr)
        if base in self.scope.aliases:
            return n.Ref(base, node.attr)
        raise self.fail(node, f"unknown alias `{base}` (known: {', '.join(sorted(self.scope.aliases))})")

    def _call(self, node: ast.Call) -> n.Node:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, "only registered functions may be called (no methods)")
        name = node.func.id
        if name not in FUNCTIONS:
            allowed = ", ".join(FUNCTIONS.names())
            raise self.fail(node, f"unknown function `{name}` (allowed: {allowed})")
        if node.keywords:
            raise self.fail(node, "keyword arguments are not allowed")
        decl = FUNCTIONS.get(name)
        if len(node.args) != len(decl.args):
            raise self.fail(node, f"{name}() takes {len(decl.args)} argument(s), got {len(node.args)}")
        args = tuple(self.convert(a) for a in node.args)
        for arg, kind in zip(args, decl.args, strict=True):
            if not isinstance(arg, n.Lit | n.Param | n.Arith):
                raise self.fail(node, f"{name}() takes constants or parameters, not record fields")
            if isinstance(arg, n.Lit) and kind == "string" and not isinstance(arg.value, str):
                raise self.fail(node, f"{name}() takes a string")
            if isinstance(arg, n.Lit) and kind == "number" and not isinstance(arg.value, int | float):
                raise self.fail(node, f"{name}() takes a number")
            if n.refs(arg) or n.uses_now(arg):
                raise self.fail(node, f"{name}() takes constants or parameters, not record fields")
        return n.Call(name, args)
