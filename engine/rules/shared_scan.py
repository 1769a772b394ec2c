"""Run several derivations over one read of a large record stream, on both cores when it pays.

Four HIPAA derivations read every access event, three read every encounter or AI output. Read
from storage once per derivation, a large practice's 1.6 million access events were decoded five
times per sweep. Here each derivation that reads exactly one streamed type runs in its own thread,
fed batches of that stream through a small bounded queue, while the calling thread reads the
stream once and hands every batch to each reader (`feeds.read_shared`). Memory stays bounded (a few
batches per reader).

Threads share one GIL, so on a large practice the derivations declared `heavy` (snooping alerts,
training before first access, access after termination: about half of a sweep's work; and the
three readers of the exclusion screenings, to even out the two processes) run in a forked process
instead (see `start_derivations`), fed from the same single read through a spool file.

Derivations are plain generator functions that iterate their inputs wherever they like; a
derivation that never reads its stream (e.g. no service accounts to check) simply finishes and is
skipped by the feeder. A derivation that tries to read a streamed input twice fails loudly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from engine.rules.derive import Derivation, DeriveContext, DerivedFact, RecordView
from engine.rules.derive_process import DeriveProcess, can_fork, child_memory_mb
from engine.rules.feeds import BATCH, read_shared

__all__ = ["BATCH", "DerivationRun", "child_memory_mb", "run_derivations", "start_derivations"]

def run_derivations(
    derivations: list[Derivation],
    ctx: DeriveContext,
    memory: Mapping[str, list[RecordView]],
    stream: Callable[[str], Iterable[RecordView]],
    *,
    fork: bool = False,
) -> list[tuple[Derivation, list[DerivedFact]]]:
    """Each derivation's facts, in the order given (see `start_derivations`)."""
    return start_derivations(derivations, ctx, memory, stream, fork=fork).results()


def start_derivations(
    derivations: list[Derivation],
    ctx: DeriveContext,
    memory: Mapping[str, list[RecordView]],
    stream: Callable[[str], Iterable[RecordView]],
    *,
    fork: bool = False,
) -> DerivationRun:
    """Start the derivations; `results()` on the answer gives each one's facts, in the order given.

    `memory` holds the record types already loaded; anything else is a stream opened with
    `stream(type)`, at most once per type here. Derivations that read two or more streamed types
    read them directly (which cannot deadlock), unless they go to the derive process.

    With `fork`, derivations declared `heavy` (snooping alerts, training, termination, exclusion
    duties, credential monitoring and PSV items) that stream a type (not held in `memory`) run in a
    forked process, on the other core: this call reads the types they stream once, spools them
    for that process and meanwhile runs the other derivations over the same streams here, then
    returns while the process still works, so the caller can build facts; `results()` runs the
    remaining derivations and then collects the process's facts. The process inherits `memory`
    and `ctx` (fork), reads the streamed records as plain tuples and sends back the facts; the
    results are the same as without `fork` (tested).
    """
    heavy = [i for i, d in enumerate(derivations) if d.heavy and any(t not in memory for t in d.inputs)]
    if not (fork and heavy and can_fork()):
        heavy = []
    by_type: dict[str, list[int]] = {}
    for i, d in enumerate(derivations):
        streamed = [t for t in d.inputs if t not in memory]
        if len(streamed) == 1 and i not in heavy:
            by_type.setdefault(streamed[0], []).append(i)
    run = DerivationRun(derivations, ctx, memory, stream, by_type, in_child=set(heavy))
    if heavy:
        # in the order the heavy derivations list their inputs (and so read them): each type is
        # spooled whole before the next, and a derivation waiting for a type listed later idles
        spooled = list(dict.fromkeys(t for i in heavy for t in derivations[i].inputs if t not in memory))
        child = run.child = DeriveProcess.start([(i, derivations[i]) for i in heavy], ctx, memory, spooled)
        for record_type in spooled:
            light = [(i, derivations[i]) for i in by_type.pop(record_type, [])]
            read = functools.partial(read_shared, record_type, light, ctx, memory, stream)
            run.done.update(child.feed(record_type, read))
    return run


@dataclass
class DerivationRun:
    """Derivations started by `start_derivations`; `results()` finishes them (once)."""

    derivations: list[Derivation]
    ctx: DeriveContext
    memory: Mapping[str, list[RecordView]]
    stream: Callable[[str], Iterable[RecordView]]
    #: streamed type -> the derivations (indexes) that read it and no other streamed type
    by_type: dict[str, list[int]]
    #: the derivations (indexes) run in the derive process, whose facts `remote()` collects
    in_child: set[int] = field(default_factory=set)
    child: DeriveProcess | None = None
    #: facts of the derivations already run (beside the process, over the streams they share)
    done: dict[int, list[DerivedFact]] = field(default_factory=dict)
    _local: dict[int, list[DerivedFact]] | None = None
    _remote: dict[int, list[DerivedFact]] | None = None

    def results(self) -> list[tuple[Derivation, list[DerivedFact]]]:
        """Every derivation's facts, in the order given (waits for the derive process)."""
        results = {**self.local(), **self.remote()}
        return [(d, results[i]) for i, d in enumerate(self.derivations)]

    def local(self) -> dict[int, list[DerivedFact]]:
        """The facts of the derivations run in this process (run now, once), by index."""
        if self._local is not None:
            return self._local
        derivations, ctx, memory, stream = self.derivations, self.ctx, self.memory, self.stream

        def alone(d: Derivation) -> list[DerivedFact]:
            return list(d.fn(ctx, {t: memory[t] if t in memory else stream(t) for t in d.inputs}))

        results = dict(self.done)
        grouped = {i for indexes in self.by_type.values() for i in indexes} | self.in_child | set(self.done)
        for i, d in enumerate(derivations):
            if i not in grouped:
                results[i] = alone(d)
        for record_type in sorted(self.by_type):
            indexes = self.by_type[record_type]
            if len(indexes) == 1:
                results[indexes[0]] = alone(derivations[indexes[0]])
            else:
                results.update(read_shared(record_type, [(i, derivations[i]) for i in indexes], ctx, memory, stream))
        self._local = results
        return results

    def remote(self) -> dict[int, list[DerivedFact]]:
        """The facts of the derivations in the derive process (waits for it), by index."""
        if self.child is None:
            return {}
        if self._remote is None:
            self._remote = self.child.collect()
        return self._remote

    def close(self) -> None:
        """Stop the derive process if its facts were never collected: a sweep that failed before
        `remote()` had left the forked child, its spool and its pipe to the garbage collector
        (paused during a sweep), the child blocked sending its answer."""
        if self.child is not None and self._remote is None:
            self.child.stop()
