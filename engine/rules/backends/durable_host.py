"""The in-process durable_rules host: registration, one bundle's evaluation, and the worker loop.

This module runs inside the durable worker process (see engine.rules.backends.durable, which
supervises it); it imports little so the worker starts fast. The traps it guards are listed in
durable.py.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from typing import Any

import durable_rules_engine
from durable import engine as durable_engine

from engine.errors import EngineFailure, ErrorDetail
from engine.rules.backends import Match

MAX_SALT_RETRIES = 3
#: Every bundle is evaluated in this one session, emptied after use: durable_rules keeps sessions in a
#: fixed-size state cache, and evicting (or deleting) a session crashed the C core (SIGSEGV; with
#: fewer distinct sessions there were fewer crashes, though not none: see durable.py, trap 13).
SESSION = "0"

# durable_rules' answers to an assert or a retract (its engine.py, `Ruleset._handle_result`)
_HANDLED, _NOT_HANDLED, _OBSERVED, _QUEUED = 0, 1, 2, 3


class _Host(durable_engine.Host):
    """A durable_rules host whose actions are bound by name to a recorder, with no threads."""

    def __init__(self) -> None:
        self.recorded: dict[tuple[str, str], list[Match]] = {}
        self.errors: list[str] = []
        #: the aliases of the ruleset being registered, read as its actions are bound (`get_action`)
        self.binding: dict[str, tuple[str, ...]] = {}
        self.registered: set[str] = set()
        self.lock = threading.RLock()
        super().__init__()

    def _run(self) -> None:  # no dispatcher or timer threads (trap 10)
        return

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        """Bind an action of the ruleset being registered to its own aliases. Action names are
        `rule|variant`, the same in every version of a ruleset: a map shared by all of them had let
        a later version's aliases overwrite an earlier one's, in a worker that had registered both
        (the earlier one's matches failed, or lost their subject)."""
        rule_id, _, variant = action_name.partition("|")
        aliases = self.binding[action_name]

        def action(c: Any) -> None:
            try:
                _on_action(action_name)
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


def new_host() -> _Host:
    """A host of its own, apart from the process's one: for a benchmark of durable_rules' own API."""
    return _Host()


def register(name: str, definition: dict[str, Any], aliases: dict[str, tuple[str, ...]]) -> None:
    """Register a compiled ruleset once under its versioned name (traps 1 and 2)."""
    h = host()
    with h.lock:
        if name in h.registered:
            return
        h.binding = aliases
        try:
            h.set_rulesets({name: copy.deepcopy(definition)})
        finally:
            h.binding = {}
        h.registered.add(name)


def evaluate(name: str, rule_ids: frozenset[str], sid: str, facts: list[dict[str, Any]],
             triggers: list[dict[str, Any]]) -> list[Match]:
    """Assert one bundle, then its triggers, collect the matches, and empty the session."""
    h = host()
    with h.lock:
        sid = SESSION  # the caller's bundle key is for logs only; one session, emptied after use
        key = (name, sid)
        h.recorded.pop(key, None)
        rules = h.get_ruleset(name)
        sent: list[str] = []  # the JSON texts some rule holds, to retract afterwards
        # short message ids (ID_BUFFER_LENGTH is 22 in the C core); mapped back below
        long_ids: dict[str, str] = {}
        try:
            for fact in facts:
                short = f"m{len(long_ids)}"
                long_ids[short] = fact["id"]
                _send(rules, sent, dict(fact, id=short, sid=sid))
            for trig in triggers:  # asserted as facts: a posted event is consumed by its first match
                if trig["rule"] in rule_ids:
                    short = f"m{len(long_ids)}"
                    long_ids[short] = trig["id"]
                    _send(rules, sent, dict(trig, id=short, sid=sid))
            state = h.get_state(name, sid) if sent else {}
            _raise_if_failed(h, state, name, sid)
            return [Match(m.rule_id, m.variant, tuple((a, long_ids.get(i, i)) for a, i in m.bindings))
                    for m in h.recorded.pop(key, []) if m.rule_id in rule_ids]
        except EngineFailure:
            raise
        except Exception as exc:
            # durable_rules' own refusal (e.g. "Could not assert fact, error code: 311"): the same on
            # every attempt, so a failure to report, not a crash for the worker's supervisor to retry
            raise EngineFailure(f"durable_rules failed on a bundle of {name}: {type(exc).__name__}: {exc}",
                                [ErrorDetail(reason=f"rules {', '.join(sorted(rule_ids))}")]) from exc
        finally:
            h.recorded.pop(key, None)
            _clear(h, rules, name, sid, sent)


def plant(action_prefix: str | None) -> None:
    """Tests: make every action whose name starts with `action_prefix` fail in this process's host
    (`!segv:<prefix>`: kill the process on it, as the C core does when it crashes); None: stop."""
    global _PLANTED
    _PLANTED = action_prefix


_PLANTED: str | None = None
#: The threads actions ran on in this process (trap 10: only ever the one that asserted).
ACTION_THREADS: set[int] = set()


def _on_action(action_name: str) -> None:
    ACTION_THREADS.add(threading.get_ident())
    planted = _PLANTED
    if planted is not None and planted.startswith("!segv:") and action_name.startswith(planted[6:]):
        import faulthandler
        import os
        import signal

        faulthandler.disable()  # a planted crash, not a bug: no traceback dump (pytest's, in a fork)
        os.kill(os.getpid(), signal.SIGSEGV)
    if planted is not None and action_name.startswith(planted):
        raise RuntimeError(f"planted failure in {action_name}")


def serve(conn: Any) -> None:
    """The worker loop: requests in, results (or a Vigil error as plain data) out."""
    main_thread = threading.get_ident()
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        op = request[0]
        try:
            if op == "register":
                register(request[1], request[2], request[3])
                conn.send(("ok", None))
            elif op == "evaluate":
                conn.send(("ok", evaluate(*request[1:])))
            elif op == "evaluate_many":  # several bundles in one request (durable.submit)
                conn.send(("ok", [evaluate(*bundle) for bundle in request[1]]))
            elif op == "fail":
                plant(request[1])
                conn.send(("ok", None))
            elif op == "threads":
                conn.send(("ok", (main_thread, sorted(ACTION_THREADS))))
            elif op == "stop":
                conn.send(("ok", None))
                return
            else:
                conn.send(("error", "engine.failure", f"unknown request {op!r}", []))
        except EngineFailure as exc:
            conn.send(("error", exc.code, exc.message, [d.reason for d in exc.details]))
        except Exception as exc:  # a worker that died of it would be restarted, and fail the same way
            conn.send(("error", "engine.failure", f"durable_rules worker: {op}: {type(exc).__name__}: {exc}", []))


def _clear(h: _Host, rules: durable_engine.Ruleset, name: str, sid: str, sent: list[str]) -> None:
    """Retract what a bundle asserted, so the session is empty for its next use (trap 9).

    `delete_state` crashed the process (SIGSEGV inside durable_rules' C core, reproduced here in a
    run of four evaluations of one bundle), so sessions are emptied fact by fact instead; sids are
    bundle keys, bounded by the practice's size, and reused by every run.
    """
    for text in reversed(sent):
        if _apply(rules, durable_rules_engine.retract_fact, text) == _OBSERVED:
            raise EngineFailure("durable_rules refused to retract a message as already observed",
                                [ErrorDetail(reason=f"in {name}, session {sid}: {text[:200]}")])
    h.recorded.pop((name, sid), None)
    h.errors.clear()


def _apply(rules: durable_engine.Ruleset, op: Callable[[Any, str], Any], text: str,
           on_held: Callable[[], object] | None = None) -> int:
    """Assert or retract one JSON message as durable_rules' `Host.assert_fact` does (the actions it
    completes run now; an error it reports is raised), but answer with durable's code.

    Why not `Host.assert_fact`: it raises MessageNotHandledException for every message no rule
    reads (most of them, trap 6), and that exception encodes the message as JSON a second time.
    With the wrappers around it, that was half the time of matching a stream event (`evaluate` on
    the bench rules: 36.7 us an event through them, 20 us this way); the C core does the same work
    either way.

    `on_held` is told that a rule holds the message before its actions run: an action that fails
    must not leave the message unnoted, and so never retracted, in the session every bundle uses.
    """
    result = op(rules._handle, text)
    code = int(result[0])
    if code in (_HANDLED, _QUEUED):
        if on_held is not None:
            on_held()
        error: list[BaseException] = []
        rules.do_actions(result[1] if code == _HANDLED else 0, lambda e, _state: error.append(e) if e else None)
        if error:
            raise error[0]
    return code


def _send(rules: durable_engine.Ruleset, sent: list[str], payload: dict[str, Any]) -> None:
    """Assert one message; when some rule holds it, note it (as sent, salt included) in `sent`."""
    for attempt in range(MAX_SALT_RETRIES + 1):
        text = json.dumps(payload, ensure_ascii=False)
        code = _apply(rules, durable_rules_engine.assert_fact, text, on_held=lambda: sent.append(text))  # noqa: B023
        if code != _OBSERVED:  # held (noted in `sent`), or read by no rule (trap 6)
            return
        # trap 4: a 32-bit hash collision with a message already in the session
        if attempt == MAX_SALT_RETRIES:
            raise EngineFailure(
                "durable_rules refused a message as already observed, even with a salt",
                [ErrorDetail(reason=f"message {payload.get('id')} in session {payload.get('sid')}")],
            )
        payload = dict(payload, salt=attempt + 1)


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


def main() -> None:
    """Entry point of the worker process: requests on stdin, replies on stdout (pickled)."""
    import os
    import sys
    from multiprocessing.connection import Connection

    reader = Connection(os.dup(0), writable=False)
    writer = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # anything printed by accident goes to stderr, never into the reply stream
    sys.stdout = sys.stderr

    class _Duplex:
        def recv(self) -> Any:
            return reader.recv()

        def send(self, obj: Any) -> None:
            writer.send(obj)

    serve(_Duplex())


if __name__ == "__main__":
    main()
