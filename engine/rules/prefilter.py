"""Which facts of a live batch some rule in force could read; only those go to the matcher.

Why: in a live stream most events match no event rule's own conditions (on the benchmark's 20
rules about 1 event in 80 does), yet encoding every event as JSON and asserting it into
durable_rules' C core, which reads it and drops it (trap 6), was half of the stream process's time.

A fact is held back only when, for every pattern of every rule that takes its type, one of the
pattern's conditions on that fact alone is false. Conditions that also read another pattern's
fact, or `now` (which the compiler rewrites into the trigger's field), are left to the matcher:
the filter may let through a fact that matches nothing, never hold back one that could match. A
fact held back is one no pattern can bind, positive or negated, so no match and no absence
changes. The conditions are compiled as the Python backend compiles them, so the scenario tests
that hold the two backends to the same findings hold this filter to them as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from engine.rules.compiler.model import CompiledRule, Pattern
from engine.rules.lang import nodes as n
from engine.rules.lang.evaluate import Fn, compile_expr

#: (the pattern's alias, the tests on its fact alone) of one pattern
_Own = tuple[str, tuple[Fn, ...]]
_UNHASHABLE = (list, dict)


class FactFilter:
    """The patterns of `rules`, by fact type, reduced to the conditions on their own fact.

    Most patterns require one field of their fact to equal a constant or be one of a list
    (`action == "export"`, `break_glass`): those are looked up by that field's value, so a fact
    is tested only against the patterns its values can satisfy (testing each of 20 patterns in
    turn took longer than durable_rules' own alpha network).
    """

    def __init__(self, rules: Iterable[CompiledRule]) -> None:
        seen: dict[str, dict[tuple[str, tuple[n.Node, ...]], None]] = {}
        for rule in rules:
            for variant in rule.variants:
                for pattern in variant.patterns:
                    seen.setdefault(pattern.fact_type, {})[(pattern.alias, own_conditions(pattern))] = None
        self._any: frozenset[str] = frozenset(t for t, keys in seen.items() if any(not conds for _, conds in keys))
        #: fact type -> (patterns with no key, {field: {value: patterns}})
        self._index: dict[str, tuple[list[_Own], dict[str, dict[Any, list[_Own]]]]] = {}
        for fact_type, keys in seen.items():
            if fact_type in self._any:
                continue
            unkeyed: list[_Own] = []
            by_field: dict[str, dict[Any, list[_Own]]] = {}
            for alias, conds in keys:
                own = (alias, tuple(compile_expr(c) for c in conds))
                key = _key(alias, conds)
                if key is None:
                    unkeyed.append(own)
                    continue
                field, values = key
                for value in values:
                    by_field.setdefault(field, {}).setdefault(value, []).append(own)
            self._index[fact_type] = (unkeyed, by_field)

    def admits(self, fact: dict[str, Any]) -> bool:
        """Whether some pattern could bind `fact`, judged by its conditions on `fact` alone."""
        fact_type = fact["t"]
        if fact_type in self._any:
            return True
        entry = self._index.get(fact_type)
        if entry is None:
            return False
        unkeyed, by_field = entry
        for alias, tests in _candidates(fact, unkeyed, by_field):
            env = {alias: fact}
            if all(test(env) is True for test in tests):
                return True
        return False

    def reads(self, fact_type: str) -> bool:
        """Whether any pattern takes facts of `fact_type` at all."""
        return fact_type in self._any or fact_type in self._index


def _candidates(fact: dict[str, Any], unkeyed: list[_Own],
                by_field: dict[str, dict[Any, list[_Own]]]) -> Iterator[_Own]:
    yield from unkeyed
    for field, table in by_field.items():
        value = fact.get(field)
        if value is None:
            continue  # a missing field equals no constant
        if isinstance(value, _UNHASHABLE):
            for owns in table.values():
                yield from owns
        else:
            yield from table.get(value, ())


def _key(alias: str, conds: tuple[n.Node, ...]) -> tuple[str, tuple[Any, ...]] | None:
    """(field, the values it must take) of the first condition that pins one field of the fact to
    constants: `f == c`, `c == f`, `f in [c, ...]`, or `f` alone (true). Dictionary lookup finds
    every value Python's `==` would (equal values hash alike: `1`, `1.0` and `True` too), which is
    the equality the tests apply afterwards."""
    for cond in conds:
        if isinstance(cond, n.Ref) and cond.alias == alias:
            return cond.field, (True,)
        if isinstance(cond, n.Cmp) and cond.op == "==":
            for ref, lit in ((cond.left, cond.right), (cond.right, cond.left)):
                if isinstance(ref, n.Ref) and ref.alias == alias and isinstance(lit, n.Lit) \
                        and lit.value is not None and not isinstance(lit.value, _UNHASHABLE):
                    return ref.field, (lit.value,)
        if isinstance(cond, n.In) and not cond.negate and isinstance(cond.item, n.Ref) \
                and cond.item.alias == alias and isinstance(cond.container, n.ListLit) \
                and not any(v is None or isinstance(v, _UNHASHABLE) for v in cond.container.items):
            return cond.item.field, tuple(cond.container.items)
    return None


def own_conditions(pattern: Pattern) -> tuple[n.Node, ...]:
    """The conditions of `pattern` that read no fact but its own."""
    return tuple(c for c in pattern.conds if n.aliases(c) <= {pattern.alias})
