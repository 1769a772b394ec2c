"""Run several derivations over one read of a large record stream, on both cores when it pays.

Four HIPAA derivations read every access event, three read every encounter or AI output. Read
from storage once per derivation, a large practice's 1.6 million access events were decoded five
times per sweep. Here each derivation that reads exactly one streamed type runs in its own thread,
fed batches of that stream through a small bounded queue, while the calling thread reads the
stream once and hands every batch to each reader. Memory stays bounded (a few batches per reader).

Threads share one GIL, so on a large practice the derivations declared `heavy` (snooping alerts,
training before first access: about half of a sweep's work) run in a forked process instead (see
`start_derivations`), fed from the same single read through a spool file.

Derivations are plain generator functions that iterate their inputs wherever they like; a
derivation that never reads its stream (e.g. no service accounts to check) simply finishes and is
skipped by the feeder. A derivation that tries to read a streamed input twice fails loudly.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import EngineFailure, ErrorDetail
from engine.rules.derive import Derivation, DeriveContext, DerivedFact, RecordView
from engine.rules.derive_process import DeriveProcess, can_fork, child_memory_mb

__all__ = ["BATCH", "DerivationRun", "child_memory_mb", "run_derivations", "start_derivations"]

BATCH = 2000
_WAIT_S = 0.05
_END = None


class _Feed:
    """One derivation's view of a shared stream: batches arrive through a bounded queue."""

    def __init__(self, name: str, record_type: str, abort: threading.Event) -> None:
        self.name = name
        self.record_type = record_type
        self.queue: queue.Queue[list[RecordView] | None] = queue.Queue(maxsize=4)
        self.finished = threading.Event()
        self.abort = abort
        self.opened = False

    def __iter__(self) -> Iterator[RecordView]:
        if self.opened:
            raise EngineFailure(
                f"derivation {self.name} read its {self.record_type} input twice; a shared stream is read once",
                [ErrorDetail(reason=f"iterate {self.record_type} once in {self.name}")],
            )
        self.opened = True
        while True:
            try:
                batch = self.queue.get(timeout=_WAIT_S)
            except queue.Empty:
                if self.abort.is_set():
                    raise EngineFailure(f"reading {self.record_type} failed; derivation {self.name} stopped") from None
                continue
            if batch is _END:
                return
            yield from batch

    def offer(self, batch: list[RecordView] | None) -> None:
        """Hand a batch over, waiting while the reader is busy; dropped once it has finished."""
        while not self.finished.is_set():
            try:
                self.queue.put(batch, timeout=_WAIT_S)
                return
            except queue.Full:
                continue


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

    With `fork`, derivations declared `heavy` (snooping alerts, training before first access) run in a
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
            read = functools.partial(_shared, record_type, light, ctx, memory, stream)
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
                results.update(_shared(record_type, [(i, derivations[i]) for i in indexes], ctx, memory, stream))
        self._local = results
        return results

    def remote(self) -> dict[int, list[DerivedFact]]:
        """The facts of the derivations in the derive process (waits for it), by index."""
        if self.child is None:
            return {}
        if self._remote is None:
            self._remote = self.child.collect()
        return self._remote


def _shared(
    record_type: str,
    jobs: list[tuple[int, Derivation]],
    ctx: DeriveContext,
    memory: Mapping[str, list[RecordView]],
    stream: Callable[[str], Iterable[RecordView]],
    tap: Callable[[list[RecordView]], None] | None = None,
) -> dict[int, list[DerivedFact]]:
    """Run `jobs` in threads over one read of `record_type`; `tap` also gets every batch."""
    abort = threading.Event()
    out: dict[int, list[DerivedFact]] = {}
    errors: dict[int, BaseException] = {}
    feeds: list[_Feed] = []
    threads: list[threading.Thread] = []
    for i, d in jobs:
        feed = _Feed(d.name, record_type, abort)
        inputs: dict[str, Any] = {t: (feed if t == record_type else memory[t]) for t in d.inputs}

        def work(i: int = i, d: Derivation = d, inputs: dict[str, Any] = inputs, feed: _Feed = feed) -> None:
            try:
                out[i] = list(d.fn(ctx, inputs))
            except BaseException as exc:  # re-raised in the calling thread below
                errors[i] = exc
            finally:
                feed.finished.set()

        feeds.append(feed)
        threads.append(threading.Thread(target=work, name=f"derive:{d.name}", daemon=True))
    for t in threads:
        t.start()
    try:
        batch: list[RecordView] = []
        for view in stream(record_type):
            batch.append(view)
            if len(batch) >= BATCH:
                if tap is not None:
                    tap(batch)
                for feed in feeds:
                    feed.offer(batch)
                batch = []
        if batch:
            if tap is not None:
                tap(batch)
            for feed in feeds:
                feed.offer(batch)
        for feed in feeds:
            feed.offer(_END)
    except BaseException:
        abort.set()
        raise
    finally:
        for t in threads:
            t.join()
    for i, _ in jobs:
        if i in errors:
            raise errors[i]
    return out
