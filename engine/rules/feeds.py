"""One read of a streamed record type, handed to several derivations running in threads.

Used by the sweep (`shared_scan`) for the light derivations over the access log, encounters and AI
outputs, and by the derive process for the heavy ones: each reader gets every batch through a small
bounded queue, so memory stays a few batches per reader, and the records' scratch memos (an access
event's instant and account) are computed once for all of them. A derivation may read other
streamed types directly beside its shared one (the snooping alerts read the care links first).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from engine.errors import EngineFailure, ErrorDetail
from engine.rules.derive import Derivation, DeriveContext, DerivedFact, RecordView

__all__ = ["BATCH", "read_shared"]

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


def read_shared(
    record_type: str,
    jobs: list[tuple[int, Derivation]],
    ctx: DeriveContext,
    sources: Mapping[str, Iterable[RecordView]],
    stream: Callable[[str], Iterable[RecordView]],
    tap: Callable[[list[RecordView]], None] | None = None,
) -> dict[int, list[DerivedFact]]:
    """Run `jobs` in threads over one read of `record_type` (`stream(record_type)`), each job's other
    inputs taken from `sources` (looked up once per job); `tap` also gets every batch."""
    abort = threading.Event()
    out: dict[int, list[DerivedFact]] = {}
    errors: dict[int, BaseException] = {}
    feeds: list[_Feed] = []
    threads: list[threading.Thread] = []
    for i, d in jobs:
        feed = _Feed(d.name, record_type, abort)
        inputs: dict[str, Any] = {t: (feed if t == record_type else sources[t]) for t in d.inputs}

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

    def hand(batch: list[RecordView]) -> None:
        if tap is not None:
            tap(batch)
        for feed in feeds:
            feed.offer(batch)

    try:
        batch: list[RecordView] = []
        for view in stream(record_type):
            batch.append(view)
            if len(batch) >= BATCH:
                hand(batch)
                batch = []
        if batch:
            hand(batch)
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
