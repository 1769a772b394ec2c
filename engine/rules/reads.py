"""The record types a compiled rule reads: the types its patterns match (its own facts, an
obligation's `met_by`, an absence) and, for derived facts, the record types their derivations read.

For the findings store: which records could have cleared a finding that a run no longer raises
(`engine.findings.cleared`). Records of other types cannot have, whatever ids they name.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from engine.records.schemas import RECORD_MODELS
from engine.rules.compiler.model import DEADLINE, TRIGGER, CompiledRuleset


@cache
def inputs_of(fact_type: str) -> frozenset[str]:
    """The record types a fact type stands for: itself when it is a record type, else the inputs
    of the derivations producing it."""
    from engine.rules.derive import DERIVATIONS, load_families

    if fact_type in RECORD_MODELS:
        return frozenset({fact_type})
    load_families()
    return frozenset(t for _, d in DERIVATIONS if d.output == fact_type for t in d.inputs)


def record_types_read(rulesets: Iterable[CompiledRuleset]) -> dict[str, frozenset[str]]:
    """Rule id -> the record types it reads, over every variant of the rule."""
    out: dict[str, frozenset[str]] = {}
    for rs in rulesets:
        for rule in rs.rules:
            types = {p.fact_type for v in rule.variants for p in v.patterns if p.fact_type not in (TRIGGER, DEADLINE)}
            out[rule.id] = frozenset().union(*(inputs_of(t) for t in types)) | out.get(rule.id, frozenset())
    return out
