"""The durable_rules backend, with a guard for every trap in DURABLE-RULES.md.

1. One host per process; each compiled ruleset registered once under a versioned name.
2. Registration mutates its argument: we pass a deep copy.
3. Exceptions in actions are swallowed into the session state: our action wrapper records them in
   our own channel, and the session state is checked after every bundle; either fails the run.
4. A false "already observed" (32-bit message hash) is retried with a salt field, never dropped.
5. `post_batch` loses data: facts go one by one.
6. MessageNotHandledException means no rule reads that message: skipped by design.
7. Negation fires eagerly: every state rule starts with its own trigger, asserted after the bundle.
   The trigger is a fact, not an event: an event is consumed by the first match it completes
   (measured: a posted trigger yielded one match where a bundle held two violating accounts).
8. Limits are checked by the compiler before anything is registered.
9. One sid per bundle, emptied (facts retracted) when the bundle is done, so memory stays flat;
   `delete_state` itself crashed the process here, see `_clear`.
10. Threads: this host never starts durable's background dispatcher, so every action runs inside
    the `post`/`assert_fact` call that caused it, on the caller's thread.
11. No durable timers: deadlines come from the calendar service.
12. Actions only record matches; they never write engine state.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from durable import engine as durable_engine

from engine.errors import EngineFailure, ErrorDetail
from engine.rules.backends import Match
from engine.rules.compiler.model import CompiledRuleset

MAX_SALT_RETRIES = 3


class _Host(durable_engine.Host):
    """A durable_rules host whose actions are bound by name to a recorder, with no threads."""

    def __init__(self) -> None:
        self.recorded: dict[tuple[str, str], list[Match]] = {}
        self.errors: list[str] = []
        self.action_aliases: dict[str, tuple[str, ...]] = {}
        self.registered: set[str] = set()
        self.lock = threading.RLock()
        self.fail_hook: Callable[[str], None] | None = None
        super().__init__()

    def _run(self) -> None:  # no dispatcher or timer threads (trap 10)
        return

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        rule_id, _, variant = action_name.partition("|")

        def action(c: Any) -> None:
            try:
                if self.fail_hook is not None:
                    self.fail_hook(action_name)
                aliases = self.action_aliases[action_name]
                bindings = tuple(sorted((alias, getattr(c, alias)["id"]) for alias in aliases))
                sid = c.s["sid"]
                ruleset = c._ruleset._name
                self.recorded.setdefault((ruleset, sid), []).append(Match(rule_id, variant, bindings))
            except BaseException as exc:  # trap 3: never let durable swallow it
                self.errors.append(f"{action_name}: {type(exc).__name__}: {exc}")

        return action


_HOST: _Host | None = None
_HOST_LOCK = threading.Lock()


def host() -> _Host:
    """The process's one durable_rules host (trap 1)."""
    global _HOST
    with _HOST_LOCK:
        if _HOST is None:
            _HOST = _Host()
        return _HOST


def register(ruleset: CompiledRuleset) -> str:
    """Register a compiled ruleset once under its versioned name; return that name."""
    h = host()
    with h.lock:
        if ruleset.durable_name in h.registered:
            return ruleset.durable_name
        for rule in ruleset.rules:
            for v in rule.variants:
                h.action_aliases[f"{rule.id}|{v.name}"] = tuple(p.alias for p in v.patterns if not p.negated)
        h.set_rulesets({ruleset.durable_name: copy.deepcopy(ruleset.durable_definition)})  # trap 2
        h.registered.add(ruleset.durable_name)
        return ruleset.durable_name


class DurableBackend:
    name = "durable"

    def evaluate(self, ruleset: CompiledRuleset, rule_ids: frozenset[str], sid: str,
                 facts: list[dict[str, Any]], triggers: list[dict[str, Any]]) -> list[Match]:
        name = register(ruleset)
        h = host()
        with h.lock:
            key = (name, sid)
            h.recorded.pop(key, None)
            sent: list[dict[str, Any]] = []
            try:
                for fact in facts:
                    sent.extend(_send(h.assert_fact, name, sid, fact))
                for trig in triggers:  # asserted as facts: a posted event is consumed by its first match
                    if trig["rule"] in rule_ids:
                        sent.extend(_send(h.assert_fact, name, sid, trig))
                state = h.get_state(name, sid) if sent else {}
                _raise_if_failed(h, state, name, sid)
                return [m for m in h.recorded.pop(key, []) if m.rule_id in rule_ids]
            finally:
                h.recorded.pop(key, None)
                _clear(h, name, sid, sent)

def _clear(h: _Host, name: str, sid: str, sent: list[dict[str, Any]]) -> None:
    """Retract what a bundle asserted, so the session is empty for its next use (trap 9).

    `delete_state` crashed the process (SIGSEGV inside durable_rules' C core, reproduced here in a
    run of four evaluations of one bundle), so sessions are emptied fact by fact instead; sids are
    bundle keys, bounded by the practice's size, and reused by every run.
    """
    for payload in reversed(sent):
        try:
            h.retract_fact(name, payload)
        except durable_engine.MessageNotHandledException:
            pass
    h.recorded.pop((name, sid), None)
    h.errors.clear()


def _send(fn: Callable[..., Any], name: str, sid: str, message: dict[str, Any]) -> list[dict[str, Any]]:
    """Send one message; returns it (as sent, salt included) when some rule holds it."""
    payload = dict(message, sid=sid)
    for attempt in range(MAX_SALT_RETRIES + 1):
        try:
            fn(name, payload)
            return [payload]
        except durable_engine.MessageNotHandledException:  # trap 6
            return []
        except durable_engine.MessageObservedException:  # trap 4: a 32-bit hash collision
            if attempt == MAX_SALT_RETRIES:
                raise EngineFailure(
                    "durable_rules refused a message as already observed, even with a salt",
                    [ErrorDetail(reason=f"message {message.get('id')} in session {sid}")],
                ) from None
            payload = dict(payload, salt=attempt + 1)
    return []


def _raise_if_failed(h: _Host, state: dict[str, Any], name: str, sid: str) -> None:
    problems = list(h.errors)
    h.errors.clear()
    if state and state.get("exception"):
        problems.append(str(state["exception"]))
    if problems:
        raise EngineFailure(
            f"a rule action failed in {name}; the run is void rather than silently missing matches",
            [ErrorDetail(reason=p) for p in problems],
        )
