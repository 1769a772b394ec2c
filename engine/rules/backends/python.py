"""The plain-Python backend: nested-loop joins over one bundle, with the same semantics as the
durable_rules lowering (patterns left to right, absence judged on the complete bundle, and a fact
bound to one pattern never bound to another in the same match)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.rules.backends import Match
from engine.rules.compiler.model import CompiledRuleset, Pattern
from engine.rules.lang.evaluate import Fn, compile_expr


class PythonBackend:
    name = "python"
    _cache: dict[int, list[tuple[str, str, list[tuple[Pattern, list[Fn]]]]]] = {}

    def _compiled(self, ruleset: CompiledRuleset) -> list[tuple[str, str, list[tuple[Pattern, list[Fn]]]]]:
        key = id(ruleset)
        if key not in self._cache:
            out = []
            for rule in ruleset.rules:
                for v in rule.variants:
                    out.append((rule.id, v.name, [(p, [compile_expr(c) for c in p.conds]) for p in v.patterns]))
            self._cache[key] = out
        return self._cache[key]

    def evaluate(self, ruleset: CompiledRuleset, rule_ids: frozenset[str], sid: str,
                 facts: list[dict[str, Any]], triggers: list[dict[str, Any]]) -> list[Match]:
        by_type: dict[str, list[dict[str, Any]]] = {}
        for fact in facts:
            by_type.setdefault(fact["t"], []).append(fact)
        for trig in triggers:
            by_type.setdefault(trig["t"], []).append(trig)
        matches: list[Match] = []
        for rule_id, variant, patterns in self._compiled(ruleset):
            if rule_id not in rule_ids:
                continue
            for env in _join(patterns, 0, {}, by_type):
                positive = tuple(sorted((alias, fact["id"]) for alias, fact in env.items()))
                matches.append(Match(rule_id, variant, positive))
        return matches


def _join(patterns: list[tuple[Pattern, list[Fn]]], i: int, env: dict[str, Any],
          by_type: dict[str, list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    if i == len(patterns):
        yield dict(env)
        return
    pattern, tests = patterns[i]
    bound = {id(f) for f in env.values()}
    # like durable_rules: a fact bound earlier in this match is not a candidate again (not even for
    # an absence test)
    candidates = [f for f in by_type.get(pattern.fact_type, ()) if id(f) not in bound]
    if pattern.negated:
        for fact in candidates:
            env[pattern.alias] = fact
            ok = all(t(env) is True for t in tests)
            del env[pattern.alias]
            if ok:
                return
        yield from _join(patterns, i + 1, env, by_type)
        return
    for fact in candidates:
        env[pattern.alias] = fact
        if all(t(env) is True for t in tests):
            yield from _join(patterns, i + 1, env, by_type)
        del env[pattern.alias]
