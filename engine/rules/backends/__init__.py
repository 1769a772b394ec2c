"""Two backends with one meaning: durable_rules (the live stream) and plain Python (the reference).

A backend takes one bundle of facts and the compiled rules of its family and returns the raw
matches (rule, variant, bound facts). Everything after matching is shared (engine.rules.results),
so the backends can only differ in what matched, and the scenario tests compare exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the durable worker imports this package: it starts in a third of the time without
    from engine.rules.compiler.model import CompiledRuleset


@dataclass(frozen=True)
class Match:
    rule_id: str
    variant: str
    bindings: tuple[tuple[str, str], ...]  # (alias, fact id), sorted by alias


class Backend(Protocol):
    name: str

    def evaluate(self, ruleset: CompiledRuleset, rule_ids: frozenset[str], sid: str,
                 facts: list[dict[str, Any]], triggers: list[dict[str, Any]]) -> list[Match]: ...


def get_backend(name: str) -> Backend:
    if name == "python":
        from engine.rules.backends.python import PythonBackend

        return PythonBackend()
    if name == "durable":
        from engine.rules.backends.durable import DurableBackend

        return DurableBackend()
    from engine.errors import InputError

    raise InputError(f"unknown backend {name!r} (use durable or python)")
