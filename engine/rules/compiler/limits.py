"""durable_rules' hard limits, checked before anything is loaded (DURABLE-RULES.md trap 8):
at most 512 rules per ruleset (513 hangs), at most 64 rules completing on one message (error 303),
at most 255 properties per message (error 302)."""

from __future__ import annotations

from typing import Any

from engine.errors import ErrorDetail, RulesetValidationError
from engine.rules.compiler.model import CompiledRule

MAX_RULES = 512
MAX_RULES_PER_MESSAGE = 64
MAX_PROPERTIES = 255
RESERVED_PROPERTIES = 5  # id, rid, t, sid, salt


def check(name: str, path: str, definition: dict[str, Any], rules: list[CompiledRule],
          needs: dict[str, frozenset[str]]) -> None:
    problems: list[ErrorDetail] = []
    if len(definition) > MAX_RULES:
        problems.append(ErrorDetail(reason=f"{len(definition)} durable rules (variants) exceed the limit of "
                                           f"{MAX_RULES}; split the ruleset", file=path))
    first_type_counts: dict[str, int] = {}
    for rule in rules:
        for variant in rule.variants:
            first = variant.patterns[0]
            key = first.fact_type if rule.event else f"__trigger:{rule.id}"
            first_type_counts[key] = first_type_counts.get(key, 0) + 1
    for fact_type, count in sorted(first_type_counts.items()):
        if count > MAX_RULES_PER_MESSAGE:
            problems.append(ErrorDetail(reason=f"{count} rules start with {fact_type}; durable_rules allows "
                                               f"{MAX_RULES_PER_MESSAGE} per message", file=path))
    for fact_type, fields in sorted(needs.items()):
        if len(fields) + RESERVED_PROPERTIES > MAX_PROPERTIES:
            problems.append(ErrorDetail(reason=f"facts of type {fact_type} would carry {len(fields)} properties; "
                                               f"durable_rules allows {MAX_PROPERTIES}", file=path))
    if problems:
        raise RulesetValidationError(f"{name} exceeds durable_rules limits", problems, code="ruleset.limits")
