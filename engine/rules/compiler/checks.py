"""Checks of what a rule writes, each problem placed at the rule key and line it is on: the fields
a condition reads, its parameters and numbers, its kinds, and an obligation's anchor and met_at.

The compiler runs these on each condition as it is written (`match.<alias>`, `when`,
`obligation.met_by`, `severity_when`, ...), where it still knows the key; the variants it builds
from them are checked again, as a whole, before they are lowered.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
from collections.abc import Iterator, Mapping
from typing import Any

from engine.errors import ErrorDetail, RulesetError, RulesetValidationError, VigilError
from engine.rules.compiler.kinds import SAID, ParamInfo, check_condition, check_kinds
from engine.rules.compiler.model import DL_ALIAS, TRIG_ALIAS
from engine.rules.facttypes import FactType
from engine.rules.lang import nodes as n
from engine.rules.lang.fold import fold
from engine.rules.spec import RuleSpec


def rule_error(rule: RuleSpec, reason: str, field: str | None = None) -> RulesetError:
    """A problem with one rule, at the line of the key it is about (`field`) when the loader knows it."""
    line = rule.lines.get(field, rule.line) if field else rule.line
    return RulesetValidationError(reason, [ErrorDetail(reason=reason, rule_id=rule.id, line=line, field=field)])


@contextlib.contextmanager
def located(rule: RuleSpec, key: str) -> Iterator[None]:
    """Place a problem found in the expression under `key` at that key and its line, unless it
    already says where it is."""
    try:
        yield
    except VigilError as exc:
        line = rule.lines.get(key, rule.line)
        exc.details = [d if d.field else dataclasses.replace(d, line=line, field=key) for d in exc.details] or [
            ErrorDetail(reason=exc.message, rule_id=rule.id, line=line, field=key)]
        raise


def check_written(
    conds: list[n.Node] | tuple[n.Node, ...],
    rule: RuleSpec,
    key: str,
    params: dict[str, Any],
    types: dict[str, FactType],
    type_of: dict[str, str],
    declared: Mapping[str, ParamInfo] | None,
) -> None:
    """Check conditions as written (names, then parameters and numbers, then kinds), so that a
    problem is reported at the key and line it is on; the variants built from them are checked
    again when they are prepared."""
    with located(rule, key):
        for c in conds:
            check_names(c, rule, types, type_of)
            fold(c, params, rule_id=rule.id)
            check_condition(c, rule_id=rule.id, types=types, type_of=type_of, params=declared, written=True)


def require_time_field(rule: RuleSpec, said: str, ft: FactType, field: str, key: str) -> None:
    """An obligation's anchor or met_at must name an instant or date field of its record: an unknown
    field is named with the fact type's close matches, a field of another kind with its kind."""
    kind = ft.kind(field)
    if kind is None:
        close = difflib.get_close_matches(field, list(ft.fields), n=3)
        times = [f for f, k in ft.fields.items() if k in ("instant", "date")]
        hint = (f" (did you mean {', '.join(repr(c) for c in close)}?)" if close
                else f" (its instant and date fields: {', '.join(times)})" if times else "")
        raise rule_error(rule, f"{said}: {ft.name} has no field {field!r}{hint}", key)
    if kind not in ("instant", "date"):
        raise rule_error(rule, f"{said} must be an instant or date field: {ft.name}.{field} is {SAID.get(kind, kind)}",
                   key)


def check_fields(node: n.Node, rule: RuleSpec, types: dict[str, FactType], type_of: dict[str, str],
                  declared: Mapping[str, ParamInfo] | None = None) -> None:
    check_names(node, rule, types, type_of)
    check_kinds(node, rule_id=rule.id, types=types, type_of=type_of, params=declared)


def check_names(node: n.Node, rule: RuleSpec, types: dict[str, FactType], type_of: dict[str, str]) -> None:
    """Every field the node reads exists on its fact type."""
    for ref in n.refs(node):
        if ref.alias in (TRIG_ALIAS, DL_ALIAS) or ref.field in ("id", "fid", "rid"):
            continue
        ft = types.get(type_of.get(ref.alias, ""))
        if ft is None:
            continue
        if ft.kind(ref.field) is None:
            close = difflib.get_close_matches(ref.field, list(ft.fields), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise rule_error(rule, f"{ft.name} has no field {ref.field!r}{hint}")
