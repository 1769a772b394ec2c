"""The durable_rules backend, with a guard for every trap in DURABLE-RULES.md.

1. One host per process; each compiled ruleset registered once under a versioned name.
2. Registration mutates its argument: we pass a deep copy.
3. Exceptions in actions are swallowed into the session state: our action wrapper records them in
   our own channel, and the session state is checked after every bundle; either fails the run.
4. A false "already observed" (32-bit message hash) is retried with a salt field, never dropped.
5. `post_batch` loses data: facts go one by one.
6. MessageNotHandledException means no rule reads that message: skipped by design. The host
   (`durable_host._apply`) reads durable_rules' answer code instead of catching the exception,
   which encoded every such message as JSON a second time (half of matching a stream event).
7. Negation fires eagerly: every state rule starts with its own trigger, asserted after the bundle.
   The trigger is a fact, not an event: an event is consumed by the first match it completes
   (measured: a posted trigger yielded one match where a bundle held two violating accounts).
8. Limits are checked by the compiler before anything is registered.
9. One session ("0") for every bundle, emptied (facts retracted) when the bundle is done, so memory
   stays flat; `delete_state` itself crashed the process here, and so did evicting sessions from
   durable_rules' state cache (`durable_host.SESSION`). The caller's sid names the bundle in logs.
10. Threads: the host never starts durable's background dispatcher, so every action runs inside
    the `assert_fact` call that caused it, on the worker's one thread.
11. No durable timers: deadlines come from the calendar service.
12. Actions only record matches; they never write engine state.
13. (found here) The C core read past a join-test sequence (`reduceExpressionSequence`, events.c:
    a failing `$and` test skips to END starting one element too far) and segfaulted inside
    `assert_fact` whenever the memory after the sequence held no END marker: about 95 worker
    crashes per run of the scenario cases, a few bundles crashing every time. The cause is
    guarded in the lowering (`Lowerer.guard_sequence`: a sentinel join test that always holds
    ends every join sequence; measured after: 0 crashes in three runs of every scenario). As
    defence in depth durable_rules still runs in a supervised worker process: a crash kills only
    the worker, which is restarted, and the bundle re-evaluated from scratch in a fresh worker;
    if the whole bundle keeps crashing it is evaluated rule by rule (one small ruleset per rule,
    still durable_rules); if that crashes too the run fails loudly (EngineFailure). The scenario
    tests fail on any worker crash. The live stream's process matches in its own interpreter
    (`durable_inline`) and is itself the supervised process: its parent replaces it with one that
    matches here, on a worker, and sends it every batch left unanswered (`engine.stream_process`).
14. (pipelining) `submit` sends a bundle to the worker and returns at once, so the caller can go on
    (the live stream parses and stores the next batch) while the worker matches; `Pending.result`
    collects the matches. At most one request is ever in flight on the pipes (a second submit, or
    any other use of the worker, first reads the earlier reply and keeps it for its owner), so
    neither side can block writing while the other is blocked writing too. A worker that crashed
    on a submitted bundle counts as that bundle's first attempt: the rest of the attempts, and the
    rule-by-rule fallback, are the synchronous path's.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from engine.errors import EngineFailure, ErrorDetail
from engine.rules.backends import Match
from engine.rules.compiler.lower import durable_aliases
from engine.rules.compiler.model import CompiledRuleset

#: A worker is recycled after registering this many rulesets: durable_rules cannot unregister one,
#: and its C core was seen to crash once many rulesets had accumulated in one process.
MAX_RULESETS_PER_WORKER = 40
#: Fresh workers tried for a whole bundle, then for each rule of it alone, before the run is void.
ATTEMPTS_WHOLE = 4
ATTEMPTS_PER_RULE = 4
MAX_ATTEMPTS = ATTEMPTS_WHOLE + ATTEMPTS_PER_RULE


class _Worker:
    """One durable_rules worker process and the rulesets registered in it."""

    def __init__(self) -> None:
        # a plain child process (not multiprocessing's spawn, which re-imports the parent's
        # __main__: under pytest that would start pytest again) talking pickles over its pipes
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.rules.backends.durable_host"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.writer = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self.reader = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()
        self.registered: set[str] = set()
        self.outstanding: Pending | None = None

    def alive(self) -> bool:
        return self.process.poll() is None

    def drain(self) -> None:
        """Read the reply to the request in flight, if any, and hand it to its Pending."""
        pending, self.outstanding = self.outstanding, None
        if pending is None:
            return
        try:
            pending.reply = self.reader.recv()
        except (EOFError, OSError):
            pending.crashed = True
            raise

    def call(self, *request: Any) -> Any:
        self.drain()
        self.writer.send(request)
        return _unpack(self.reader.recv())

    def stop(self) -> None:
        try:
            self.call("stop")
        except (EOFError, OSError, BrokenPipeError):
            pass
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.writer.close()
        self.reader.close()


def _unpack(reply: Any) -> Any:
    status, *rest = reply
    if status == "ok":
        return rest[0]
    code, message, reasons = rest
    raise EngineFailure(message, [ErrorDetail(reason=r) for r in reasons], code=code)


_LOCK = threading.RLock()
_WORKER: _Worker | None = None
_FAIL_ACTION: str | None = None
_CRASH_PLAN: dict[str, Any] = {"prefix": None, "workers": 0}
CRASHES = {"count": 0}


def _worker() -> _Worker:
    global _WORKER
    if _WORKER is not None and _WORKER.outstanding is not None:
        try:
            _WORKER.drain()  # the reply is kept for its Pending; the pipes are free again
        except (EOFError, OSError):
            CRASHES["count"] += 1
            _discard_worker()
    if _WORKER is None or not _WORKER.alive():
        _WORKER = _Worker()
        planted = host_plant()
        if planted is not None:
            _WORKER.call("fail", planted)
    return _WORKER


def host_plant() -> str | None:
    """What a new durable_rules host (a worker, or a stream process matching in its own interpreter)
    is to have planted, for tests (see `plant_failure` and `plant_crash`); takes one planned crash."""
    with _LOCK:
        if _CRASH_PLAN["workers"] > 0:
            _CRASH_PLAN["workers"] -= 1
            return "!segv:" + str(_CRASH_PLAN["prefix"])
        return _FAIL_ACTION


def _discard_worker() -> None:
    global _WORKER
    if _WORKER is not None:
        if _WORKER.outstanding is not None:
            _WORKER.outstanding.crashed = True
            _WORKER.outstanding = None
        try:
            _WORKER.process.kill()
            _WORKER.process.wait(timeout=5)
        except Exception:  # noqa: BLE001 - it is already gone (or will be reaped by init)
            pass
        finally:  # the pipes are ours whatever became of the process: up to 8 crash retries a bundle
            for end in (_WORKER.writer, _WORKER.reader):
                with contextlib.suppress(OSError):
                    end.close()
        _WORKER = None


def forget_worker() -> None:
    """In a forked process: the worker (and its pipes) inherited from the parent stay the parent's.

    The next use starts this process's own worker. The inherited pipe ends are closed here, so the
    parent's worker still sees its input end when the parent closes it; the lock is new, in case
    another thread of the parent held it at the fork.
    """
    global _WORKER, _LOCK
    inherited, _WORKER = _WORKER, None
    _LOCK = threading.RLock()
    if inherited is not None:
        inherited.writer.close()
        inherited.reader.close()


def start_worker() -> None:
    """Start this process's worker now, if none runs, so that its interpreter boots while the caller
    does other work (the stream process calls this before its first batch arrives)."""
    with _LOCK:
        _worker()


@atexit.register
def shutdown() -> None:
    global _WORKER
    with _LOCK:
        if _WORKER is not None:
            _WORKER.stop()
            _WORKER = None


def action_aliases(ruleset: CompiledRuleset) -> dict[str, tuple[str, ...]]:
    """Each action's pattern aliases as durable_rules names them, for the host's match recorder."""
    out = {}
    for rule in ruleset.rules:
        for v in rule.variants:
            names = durable_aliases(v)
            out[f"{rule.id}|{v.name}"] = tuple(names[p.alias] for p in v.patterns if not p.negated)
    return out


def original_matches(ruleset: CompiledRuleset, matches: list[Match]) -> list[Match]:
    """Matches as the host recorded them, with the rule's own aliases instead of durable_rules' names."""
    back: dict[str, dict[str, str]] = {}
    for rule in ruleset.rules:
        for v in rule.variants:
            back[f"{rule.id}|{v.name}"] = {short: alias for alias, short in durable_aliases(v).items()}
    return [
        Match(m.rule_id, m.variant, tuple(sorted((back[f"{m.rule_id}|{m.variant}"][a], fid) for a, fid in m.bindings)))
        for m in matches
    ]


@dataclass
class _Bundle:
    ruleset: CompiledRuleset
    rule_ids: frozenset[str]
    sid: str
    facts: list[dict[str, Any]]
    triggers: list[dict[str, Any]]


class Pending:
    """Bundles submitted to the worker in one request; `result()` collects their matches.

    Until then the request is in flight and the caller is free; anything else that needs the
    worker first reads the reply into `reply` (or marks the request `crashed`), so `result()`
    works whenever it is called, from any thread, and always exactly once per bundle's evaluation.
    """

    def __init__(self, bundles: list[_Bundle]) -> None:
        self.bundles = bundles
        self.reply: Any = None
        self.crashed = False
        self._worker: _Worker | None = None
        self._done: list[list[Match]] | None = None
        self._error: EngineFailure | None = None

    def result(self) -> list[list[Match]]:
        """The matches of each submitted bundle, in order; raises EngineFailure as `evaluate` does."""
        with _LOCK:
            if self._error is not None:
                raise self._error
            if self._done is not None:
                return self._done
            worker = self._worker
            if worker is not None and worker.outstanding is self:
                try:
                    worker.drain()
                except (EOFError, OSError):
                    CRASHES["count"] += 1
                    _discard_worker()
            self._worker = None
            try:
                if self.reply is not None and not self.crashed:
                    reply, self.reply = self.reply, None
                    found: list[list[Match]] = _unpack(reply)
                    self._done = [original_matches(b.ruleset, m) for b, m in zip(self.bundles, found, strict=True)]
                else:  # the worker died on this request: the rest of the attempts, synchronously
                    self._done = [
                        _evaluate(b.ruleset, b.rule_ids, b.sid, b.facts, b.triggers, tried=1) for b in self.bundles
                    ]
            except EngineFailure as exc:
                self._error = exc
                raise
            return self._done


class DurableBackend:
    name = "durable"

    def warm_up(self) -> None:
        """Boot the worker now, ahead of the first bundle (see `start_worker`)."""
        start_worker()

    def evaluate(
        self,
        ruleset: CompiledRuleset,
        rule_ids: frozenset[str],
        sid: str,
        facts: list[dict[str, Any]],
        triggers: list[dict[str, Any]],
    ) -> list[Match]:
        with _LOCK:
            return _evaluate(ruleset, rule_ids, sid, facts, triggers, tried=0)

    def submit(self, bundles: list[tuple[CompiledRuleset, frozenset[str], str, list[dict[str, Any]],
                                         list[dict[str, Any]]]]) -> Pending:
        """Send bundles (ruleset, rule ids, sid, facts, triggers) to the worker without waiting.

        Registration happens here, synchronously (it is once per ruleset per worker). The matches
        are the same as `evaluate` would give for each bundle; collect them with `result()`.
        """
        pending = Pending([_Bundle(*b) for b in bundles])
        with _LOCK:
            try:
                worker = _worker()
                for b in pending.bundles:
                    name = b.ruleset.durable_name
                    if name not in worker.registered and len(worker.registered) >= MAX_RULESETS_PER_WORKER:
                        worker.stop()
                        _discard_worker()
                        worker = _worker()
                for b in pending.bundles:
                    name = b.ruleset.durable_name
                    if name not in worker.registered:
                        worker.call("register", name, b.ruleset.durable_definition, action_aliases(b.ruleset))
                        worker.registered.add(name)
                worker.writer.send(("evaluate_many", [(b.ruleset.durable_name, b.rule_ids, b.sid, b.facts,
                                                       b.triggers) for b in pending.bundles]))
                worker.outstanding = pending
                pending._worker = worker
            except (EOFError, OSError):
                CRASHES["count"] += 1
                _discard_worker()
                pending.crashed = True
        return pending


def _evaluate(
    ruleset: CompiledRuleset,
    rule_ids: frozenset[str],
    sid: str,
    facts: list[dict[str, Any]],
    triggers: list[dict[str, Any]],
    *,
    tried: int,
) -> list[Match]:
    """Evaluate one bundle with crash supervision; `tried` whole-bundle attempts already crashed."""
    whole = _attempt(
        ruleset.durable_name,
        ruleset.durable_definition,
        action_aliases(ruleset),
        rule_ids,
        sid,
        facts,
        triggers,
        ATTEMPTS_WHOLE - tried,
    )
    if whole is not None:
        return original_matches(ruleset, whole)
    # the whole bundle kept crashing: one ruleset per rule (smaller networks), still durable_rules
    out: list[Match] = []
    aliases = action_aliases(ruleset)
    for rule_id in sorted(rule_ids):
        definition = {k: v for k, v in ruleset.durable_definition.items() if k.split("|")[0] == rule_id}
        if not definition:
            continue
        found = _attempt(
            f"{ruleset.durable_name}/{rule_id}",
            definition,
            aliases,
            frozenset({rule_id}),
            sid,
            facts,
            [t for t in triggers if t["rule"] == rule_id],
            ATTEMPTS_PER_RULE,
        )
        if found is None:
            raise EngineFailure(
                "durable_rules crashed on this bundle every time, whole and rule by rule; the run is void",
                [ErrorDetail(reason=f"bundle {sid} of {ruleset.durable_name}, rule {rule_id}")],
            )
        out.extend(found)
    return original_matches(ruleset, out)


def _attempt(
    name: str,
    definition: dict[str, Any],
    aliases: dict[str, tuple[str, ...]],
    rule_ids: frozenset[str],
    sid: str,
    facts: list[dict[str, Any]],
    triggers: list[dict[str, Any]],
    attempts: int,
) -> list[Match] | None:
    """Evaluate in the worker, replacing a crashed worker; None when every attempt crashed."""
    for _ in range(attempts):
        worker = _worker()
        if name not in worker.registered and len(worker.registered) >= MAX_RULESETS_PER_WORKER:
            worker.stop()
            _discard_worker()
            worker = _worker()
        try:
            if name not in worker.registered:
                worker.call("register", name, definition, aliases)
                worker.registered.add(name)
            result: list[Match] = worker.call("evaluate", name, rule_ids, sid, facts, triggers)
            return result
        except (EOFError, OSError, BrokenPipeError):
            CRASHES["count"] += 1
            _discard_worker()
    return None



def worker_peak_rss_mb() -> float | None:
    """The live worker's peak resident memory in MB (Linux /proc), for benchmarks; None without one."""
    worker = _WORKER
    if worker is None:
        return None
    try:
        for line in open(f"/proc/{worker.process.pid}/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None

def plant_failure(action_prefix: str | None) -> None:
    """Make actions whose name starts with `action_prefix` raise inside the worker (tests only)."""
    global _FAIL_ACTION
    with _LOCK:
        _FAIL_ACTION = action_prefix
        _worker().call("fail", action_prefix)


def plant_crash(action_prefix: str, workers: int) -> None:
    """Make the next `workers` durable_rules hosts started (worker processes, or stream processes
    matching in their own interpreter) segfault on that action (tests only)."""
    with _LOCK:
        _discard_worker()
        _CRASH_PLAN.update(prefix=action_prefix, workers=workers)


def action_threads() -> tuple[int, list[int]]:
    """(the worker's main thread, the threads actions ran on) - all actions run on the first."""
    with _LOCK:
        result: tuple[int, list[int]] = _worker().call("threads")
        return result
