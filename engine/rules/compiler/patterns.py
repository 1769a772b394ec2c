"""The pattern grammar a rule writes, `[no] <type> [where <condition>]`, and the reader of one
`match` entry.

The same grammar is read by `match`, by an obligation's `met_by` and by the findings that name a
rule's subject type, so it lives apart from each of them rather than in the compiler's driver.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from engine.rules.compiler.checks import check_written
from engine.rules.compiler.checks import rule_error as _err
from engine.rules.compiler.kinds import ParamInfo
from engine.rules.compiler.messages import RESERVED_NAMES
from engine.rules.compiler.model import Pattern
from engine.rules.facttypes import FactType
from engine.rules.lang import nodes as n
from engine.rules.lang.parse import Scope, parse_expr
from engine.rules.spec import RuleSpec

PATTERN_RE = re.compile(r"^\s*(?P<no>no\s+)?(?P<type>[a-z_][a-z0-9_]*)(?:\s+where\s+(?P<cond>.+))?\s*$", re.S)
ALIAS_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def match_pattern(rule: RuleSpec, alias: str, text: str, path: str, types: dict[str, FactType],
                  type_of: dict[str, str], positive: list[str], patterns: list[Pattern], params: dict[str, Any],
                  declared: Mapping[str, ParamInfo] | None) -> None:
    """Check and add one `match` pattern. The alias is bound before its condition is checked, so a
    later pattern that joins on it is checked too when this one's condition has a problem."""
    if not ALIAS_RE.match(alias) or alias.endswith("__") or alias in RESERVED_NAMES:
        raise _err(rule, f"alias {alias!r} must be lower_snake_case (not {'/'.join(sorted(RESERVED_NAMES))})",
                   f"match.{alias}")
    m = PATTERN_RE.match(text)
    if not m:
        raise _err(rule, f"pattern for {alias!r} must read '[no] <type> [where <condition>]': {text!r}",
                   f"match.{alias}")
    fact_type = m.group("type")
    negated = bool(m.group("no"))
    if not negated:
        positive.append(alias)
    if fact_type not in types:
        close = difflib.get_close_matches(fact_type, list(types), n=3)
        raise _err(
            rule, f"unknown fact type {fact_type!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""),
            f"match.{alias}",
        )
    type_of[alias] = fact_type
    where = f"match.{alias}"
    scope = Scope(aliases=frozenset(positive + [alias]), current=alias, rule_id=rule.id, file=path,
                  line=rule.lines.get(where, rule.line), field=where)
    conds: tuple[n.Node, ...] = ()
    if m.group("cond"):
        conds = tuple(n.conjuncts(parse_expr(m.group("cond"), scope)))
    check_written(conds, rule, where, params, types, type_of, declared)
    patterns.append(Pattern(alias, fact_type, negated, conds))
