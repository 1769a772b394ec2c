"""Run several derivations over one read of a large record stream.

Four HIPAA derivations read every access event, three read every encounter or AI output. Read
from storage once per derivation, a large practice's 1.6 million access events were decoded five
times per sweep. Here each derivation that reads exactly one streamed type runs in its own thread,
fed batches of that stream through a small bounded queue, while the calling thread reads the
stream once and hands every batch to each reader. Memory stays bounded (a few batches per reader);
the GIL means no parallel speed-up is sought, only the single read.

Derivations are plain generator functions that iterate their inputs wherever they like; a
derivation that never reads its stream (e.g. no service accounts to check) simply finishes and is
skipped by the feeder. A derivation that tries to read a streamed input twice fails loudly.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from engine.errors import EngineFailure, ErrorDetail
from engine.rules.derive import Derivation, DeriveContext, DerivedFact, RecordView

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
) -> list[tuple[Derivation, list[DerivedFact]]]:
    """Each derivation's facts, in the order given; every streamed type is read at most once here.

    `memory` holds the small record types already loaded; anything else is a stream opened with
    `stream(type)`. Derivations that read two or more streamed types (none today) read them
    directly, which cannot deadlock.
    """
    results: dict[int, list[DerivedFact]] = {}
    by_type: dict[str, list[int]] = {}
    for i, d in enumerate(derivations):
        streamed = [t for t in d.inputs if t not in memory]
        if len(streamed) == 1:
            by_type.setdefault(streamed[0], []).append(i)
        else:
            results[i] = list(d.fn(ctx, {t: memory[t] if t in memory else stream(t) for t in d.inputs}))
    for record_type in sorted(by_type):
        indexes = by_type[record_type]
        if len(indexes) == 1:
            d = derivations[indexes[0]]
            results[indexes[0]] = list(d.fn(ctx, {t: memory[t] if t in memory else stream(t) for t in d.inputs}))
            continue
        results.update(_shared(record_type, [(i, derivations[i]) for i in indexes], ctx, memory, stream))
    return [(d, results[i]) for i, d in enumerate(derivations)]


def _shared(
    record_type: str,
    jobs: list[tuple[int, Derivation]],
    ctx: DeriveContext,
    memory: Mapping[str, list[RecordView]],
    stream: Callable[[str], Iterable[RecordView]],
) -> dict[int, list[DerivedFact]]:
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
                for feed in feeds:
                    feed.offer(batch)
                batch = []
        if batch:
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
