"""The derive process: heavy derivations in a forked process on the other core, fed through a spool.

Why a process: derivations are Python and share one GIL in threads; on a large practice the
snooping alerts and training-before-first-access are about half of a sweep's work. Why a fork: the
process inherits the records the sweep already holds and the derivation context without sending
them. Why a spool file: the parent appends each streamed batch to a temp file and sends only its
place over the pipe, so it never waits on the child (through a plain pipe it stalled whenever the
child's reader thread waited for the GIL), and a derivation can read its streams in any order.
Derivations whose last streamed type is the same share one read of it here (`feeds.read_shared`,
`_groups`): the access log is unpickled once, and each event's instant and account are resolved
once for its three derivations; the screenings are read once for theirs.
`shared_scan.start_derivations` decides what runs here.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
import pickle
import struct
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import IO, NoReturn, TypeVar

from engine import forked, heap
from engine.errors import EngineFailure, ErrorDetail
from engine.rules.derive import Derivation, DeriveContext, DerivedFact, DeriveFn, RecordView
from engine.rules.feeds import read_shared

_T = TypeVar("_T")

#: Memory figures of the last derive process, for benchmarks.
_LAST_CHILD_MEMORY: list[dict[str, float]] = []


#: The GIL's switch interval in the derive process (Python's default: 5 ms).
SWITCH_INTERVAL_S = 0.05

_PLACE = struct.Struct("<IQQ")  # type (index), offset and size of one batch in the spool file
_ENDED = (1 << 64) - 1  # size of the place that ends a type


def child_memory_mb() -> dict[str, float] | None:
    """The last derive process's peak resident and final private memory in MB (Linux), the CPU
    seconds of each derivation it ran (`cpu_s:<name>`, its thread's) and of the whole process
    (`cpu_s:total`, reading the spool included); None if none ran."""
    return _LAST_CHILD_MEMORY[-1] if _LAST_CHILD_MEMORY else None


def can_fork() -> bool:
    """Whether this platform can fork (Linux, macOS); elsewhere heavy derivations run in threads."""
    return "fork" in multiprocessing.get_all_start_methods()


class DeriveProcess:
    """A forked process running the heavy derivations.

    The streamed records go through a spool file, not the pipe: the parent appends pickled batches
    of `(id, version, data)` tuples (about 135 bytes an access event) and sends only each batch's
    type and place in the file; so the parent never waits for this process, whose derivations
    catch up while the parent goes on with its own work (through a pipe, the parent stalled
    whenever the child's reading thread waited for its turn at the GIL), and a derivation can
    read its streams in any order. Child to parent, once: ("ok", {index: facts}, memory figures)
    or ("error", exception or its text, traceback text).
    """

    def __init__(self, process: BaseProcess, conn: Connection, spool: IO[bytes], types: list[str]) -> None:
        self.process = process
        self.conn = conn
        self.spool = spool
        self.types = types
        self._fed = 0
        self._offset = 0

    @classmethod
    def start(cls, jobs: list[tuple[int, Derivation]], ctx: DeriveContext, memory: Mapping[str, list[RecordView]],
              types: list[str]) -> DeriveProcess:
        mp = multiprocessing.get_context("fork")
        parent_end, child_end = mp.Pipe(duplex=True)
        spool = tempfile.TemporaryFile(prefix="vigil-derive-")
        process = mp.Process(target=_child_main, args=(child_end, spool.fileno(), jobs, ctx, memory, types,
                                                       os.getpid(), parent_end), name="vigil-derive", daemon=True)
        with heap.frozen():  # the inherited heap stays out of the child's collections (and so is not copied)
            process.start()
        child_end.close()
        return cls(process, parent_end, spool, types)

    def feed(self, record_type: str, read: Callable[[Callable[[list[RecordView]], None]], _T]) -> _T:
        """Spool one streamed type for the process: `read(tap)` reads the stream once (running
        whatever else reads it here) and hands every batch to `tap`."""
        assert record_type == self.types[self._fed], "each spooled type is read once, in the order given"
        self._fed += 1
        kind = self._fed - 1

        def tap(views: list[RecordView]) -> None:
            data = pickle.dumps([(v.id, v.version, v.data) for v in views], pickle.HIGHEST_PROTOCOL)
            self.spool.write(data)
            self.spool.flush()
            self.conn.send_bytes(_PLACE.pack(kind, self._offset, len(data)))
            self._offset += len(data)

        try:
            got = read(tap)
            self.conn.send_bytes(_PLACE.pack(kind, 0, _ENDED))
            return got
        except (BrokenPipeError, ConnectionResetError, EOFError):
            self.collect()  # the process died or gave up: its answer says why
            raise self._lost() from None
        except BaseException:
            self.stop()
            raise

    def collect(self) -> dict[int, list[DerivedFact]]:
        try:
            status, payload, extra = pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            self.stop()
            raise self._lost() from None
        self.stop()
        if status == "ok":
            _LAST_CHILD_MEMORY.append(extra)
            return dict(payload)
        raise_error_reply(payload, extra, "a derivation failed in the derive process")

    def stop(self) -> None:
        self.conn.close()
        self.spool.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    def _lost(self) -> EngineFailure:
        return EngineFailure(
            f"the derive process stopped without an answer (exit code {self.process.exitcode}); the run is void",
            [ErrorDetail(reason=f"derivations over {', '.join(self.types)}")],
        )


class _Spool:
    """The child's side of the spool: batch places per type as they arrive, readable by any
    number of readers in any order."""

    def __init__(self, fd: int, types: list[str]) -> None:
        self.fd = fd
        self.types = types
        self.places: list[list[tuple[int, int]]] = [[] for _ in types]
        self.ended = [False] * len(types)
        self.failed: BaseException | None = None
        self.changed = threading.Condition()

    def receive(self, conn: Connection) -> None:
        """Take every place off the pipe as it arrives (so the pipe never fills)."""
        try:
            while not all(self.ended):
                kind, offset, size = _PLACE.unpack(conn.recv_bytes())
                with self.changed:
                    if size == _ENDED:
                        self.ended[kind] = True
                    else:
                        self.places[kind].append((offset, size))
                    self.changed.notify_all()
        except BaseException as exc:
            with self.changed:
                self.failed = exc
                self.changed.notify_all()

    def read(self, record_type: str) -> Iterator[RecordView]:
        kind = self.types.index(record_type)
        places, i = self.places[kind], 0
        while True:
            with self.changed:
                while i >= len(places) and not self.ended[kind] and self.failed is None:
                    self.changed.wait()
                if i >= len(places):
                    if self.ended[kind]:
                        return
                    raise EngineFailure(f"the derive process lost its {record_type} input: {self.failed}")
                offset, size = places[i]
            i += 1
            for record_id, version, data in pickle.loads(os.pread(self.fd, size, offset)):
                yield RecordView(record_type, record_id, version, data)


def _child_main(conn: Connection, spool_fd: int, jobs: list[tuple[int, Derivation]], ctx: DeriveContext,
                memory: Mapping[str, list[RecordView]], types: list[str], parent_pid: int,
                parent_end: Connection) -> None:
    forked.guard(parent_pid, parent_end)
    try:
        # No cyclic garbage collection here: the derivations build large structures that live until
        # the end, and the collector kept re-scanning them (a quarter of the snooping alerts' time at
        # 3x the large practice, and a growing share with size). Reference counting still frees
        # everything acyclic, and this process ends when its answer is sent.
        gc.disable()
        # Threads here (the spool's reader, the feeder, one per derivation) hand over batches of
        # 2,000 records, so each can run a whole batch without being asked for the GIL every 5 ms:
        # at 1x the process's CPU went from 27.2-27.6 s to 24.6-26.0 s with 50 ms (200 ms: 25.9-26.2).
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        spool = _Spool(spool_fd, types)
        threading.Thread(target=spool.receive, args=(conn,), name="derive:spool", daemon=True).start()
        figures: dict[str, float] = {}
        timed = [(i, dataclasses.replace(d, fn=_timed(d, figures))) for i, d in jobs]
        sources = _Sources(memory, spool)
        out: dict[int, list[DerivedFact]] = {}
        for shared, group in _groups(timed, memory, types):
            if shared is not None:
                # one read for the group (unpickled once; for the access log, an event's instant and
                # account resolved once for all three derivations)
                out.update(read_shared(shared, group, ctx, sources, spool.read))
            else:
                for i, d in group:
                    out[i] = list(d.fn(ctx, {t: sources[t] for t in d.inputs}))
        figures["cpu_s:total"] = round(time.process_time(), 2)  # every thread of this process since the fork
        figures.update(_own_memory_mb())
        conn.send_bytes(pickle.dumps(("ok", out, figures), pickle.HIGHEST_PROTOCOL))
    except BaseException as exc:
        conn.send_bytes(error_reply(exc))
    finally:
        conn.close()


class _Sources(Mapping[str, Iterable[RecordView]]):
    """A derivation's inputs in the derive process: the inherited records, or a fresh read of a
    spooled type each time one is asked for (each reader gets its own)."""

    def __init__(self, memory: Mapping[str, list[RecordView]], spool: _Spool) -> None:
        self.memory = memory
        self.spool = spool

    def __getitem__(self, record_type: str) -> Iterable[RecordView]:
        if record_type in self.memory:
            return self.memory[record_type]
        if record_type in self.spool.types:
            return self.spool.read(record_type)
        raise KeyError(record_type)

    def __iter__(self) -> Iterator[str]:
        return iter([*self.memory, *(t for t in self.spool.types if t not in self.memory)])

    def __len__(self) -> int:
        return len(list(iter(self)))


def _groups(jobs: list[tuple[int, Derivation]], memory: Mapping[str, list[RecordView]],
            types: list[str]) -> list[tuple[str | None, list[tuple[int, Derivation]]]]:
    """The jobs grouped by the last spooled type each reads, in the order the spool brings those
    types; each group's shared type, or None for a job alone (which reads its streams itself).

    The jobs of a group share one read of that type: the access log's three, and the screenings'
    three. Groups run one after the other, each as its type arrives, so none waits for a type the
    spool brings later while an earlier one piles up.
    """
    grouped: dict[str, list[tuple[int, Derivation]]] = {}
    for i, d in jobs:
        streamed = [t for t in types if t in d.inputs and t not in memory]
        grouped.setdefault(streamed[-1] if streamed else "", []).append((i, d))
    order = sorted(grouped, key=lambda t: types.index(t) if t in types else -1)
    return [(t if t and len(grouped[t]) > 1 else None, grouped[t]) for t in order]


def _timed(d: Derivation, figures: dict[str, float]) -> DeriveFn:
    """`d.fn`, noting the CPU seconds of the thread that runs it as `cpu_s:<name>`."""

    def run(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
        started = time.thread_time()
        yield from d.fn(ctx, inputs)
        figures[f"cpu_s:{d.name}"] = round(time.thread_time() - started, 2)

    return run


def raise_error_reply(payload: object, text: object, what: str) -> NoReturn:
    """Raise what `error_reply` sent: the exception itself, or an EngineFailure with its text."""
    if isinstance(payload, BaseException):
        raise payload
    raise EngineFailure(f"{what}: {payload}", [ErrorDetail(reason=str(text)[-2000:])])


def error_reply(exc: BaseException) -> bytes:
    """A forked process's answer that it failed: ("error", the exception itself, its traceback),
    or its text when the exception cannot make the trip (it does not pickle, or not back)."""
    text = traceback.format_exc()
    try:
        message = pickle.dumps(("error", exc, text), pickle.HIGHEST_PROTOCOL)
        pickle.loads(message)
    except Exception:
        message = pickle.dumps(("error", f"{type(exc).__name__}: {exc}", text))
    return message


def _own_memory_mb() -> dict[str, float]:
    """This process's peak resident memory and its private memory now (MB, Linux; 0 elsewhere).

    The peak counts the pages shared with the parent since the fork; the private figure is what
    this process adds to the machine's use."""
    out = {"peak_rss_mb": 0.0, "private_mb": 0.0}
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                out["peak_rss_mb"] = int(line.split()[1]) / 1024
        for line in open("/proc/self/smaps_rollup", encoding="ascii"):
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                out["private_mb"] += int(line.split()[1]) / 1024
    except OSError:
        pass
    return out
