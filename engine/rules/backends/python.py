"""The plain-Python backend: joins over one bundle, with the same semantics as the durable_rules
lowering (patterns left to right, absence judged on the complete bundle, and a fact bound to one
pattern never bound to another in the same match).

Equality joins (`account.person_id == episode.person_id`) use a hash index built per bundle, so a
join costs the matches, not the product of the two fact lists.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.rules.backends import Match
from engine.rules.compiler.model import CompiledRuleset, Pattern
from engine.rules.lang import nodes as n
from engine.rules.lang.evaluate import Fn, compile_expr


@dataclass(frozen=True)
class _Step:
    pattern: Pattern
    tests: list[Fn]
    key: tuple[str, str, str] | None  # (own field, other alias, other field) of an equality join


def _join_key(pattern: Pattern, bound: set[str]) -> tuple[str, str, str] | None:
    for cond in pattern.conds:
        if isinstance(cond, n.Cmp) and cond.op == "==":
            left, right = cond.left, cond.right
            for mine, other in ((left, right), (right, left)):
                if (
                    isinstance(mine, n.Ref)
                    and isinstance(other, n.Ref)
                    and mine.alias == pattern.alias
                    and other.alias in bound
                ):
                    return (mine.field, other.alias, other.field)
    return None


class PythonBackend:
    name = "python"
    _cache: dict[int, list[tuple[str, str, list[_Step]]]] = {}

    def _compiled(self, ruleset: CompiledRuleset) -> list[tuple[str, str, list[_Step]]]:
        key = id(ruleset)
        if key not in self._cache:
            out = []
            for rule in ruleset.rules:
                for v in rule.variants:
                    steps: list[_Step] = []
                    bound: set[str] = set()
                    for p in v.patterns:
                        steps.append(_Step(p, [compile_expr(c) for c in p.conds], _join_key(p, bound)))
                        if not p.negated:
                            bound.add(p.alias)
                    out.append((rule.id, v.name, steps))
            self._cache[key] = out
            # keyed by id(): the entry must go with its ruleset, or a draft compiled per preview
            # grows the cache for ever, and a later ruleset at a freed address would get its steps
            weakref.finalize(ruleset, self._cache.pop, key, None)
        return self._cache[key]

    def evaluate(
        self,
        ruleset: CompiledRuleset,
        rule_ids: frozenset[str],
        sid: str,
        facts: list[dict[str, Any]],
        triggers: list[dict[str, Any]],
    ) -> list[Match]:
        by_type: dict[str, list[dict[str, Any]]] = {}
        for fact in facts:
            by_type.setdefault(fact["t"], []).append(fact)
        for trig in triggers:
            by_type.setdefault(trig["t"], []).append(trig)
        index = _Index(by_type)
        matches: list[Match] = []
        for rule_id, variant, steps in self._compiled(ruleset):
            if rule_id not in rule_ids:
                continue
            for env in _join(steps, 0, {}, index):
                positive = tuple(sorted((alias, fact["id"]) for alias, fact in env.items()))
                matches.append(Match(rule_id, variant, positive))
        return matches


class _Index:
    """Facts by type, and by (type, field, value) built on first use."""

    def __init__(self, by_type: dict[str, list[dict[str, Any]]]) -> None:
        self.by_type = by_type
        self.by_field: dict[tuple[str, str], dict[Any, list[dict[str, Any]]]] = {}

    def candidates(self, step: _Step, env: dict[str, Any]) -> list[dict[str, Any]]:
        facts = self.by_type.get(step.pattern.fact_type, [])
        if step.key is None or len(facts) < 8:
            return facts
        field, other, other_field = step.key
        value = env[other].get(other_field)
        if value is None or isinstance(value, list | dict):
            return facts if value is not None else []
        table = self.by_field.get((step.pattern.fact_type, field))
        if table is None:
            table = {}
            for fact in facts:
                v = fact.get(field)
                if v is not None and not isinstance(v, list | dict):
                    table.setdefault(v, []).append(fact)
            self.by_field[(step.pattern.fact_type, field)] = table
        return table.get(value, [])


def _join(steps: list[_Step], i: int, env: dict[str, Any], index: _Index) -> Iterator[dict[str, Any]]:
    if i == len(steps):
        yield dict(env)
        return
    step = steps[i]
    bound = {id(f) for f in env.values()}
    # like durable_rules: a fact bound earlier in this match is not a candidate again (not even for
    # an absence test)
    candidates = [f for f in index.candidates(step, env) if id(f) not in bound]
    pattern, tests = step.pattern, step.tests
    if pattern.negated:
        for fact in candidates:
            env[pattern.alias] = fact
            ok = all(t(env) is True for t in tests)
            del env[pattern.alias]
            if ok:
                return
        yield from _join(steps, i + 1, env, index)
        return
    for fact in candidates:
        env[pattern.alias] = fact
        if all(t(env) is True for t in tests):
            yield from _join(steps, i + 1, env, index)
        del env[pattern.alias]
