"""Several derivations over one read of a streamed record type (engine/rules/shared_scan.py)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pytest

from engine.errors import EngineFailure
from engine.rules import derive_process
from engine.rules.derive import Derivation, DeriveContext, DerivedFact, RecordView
from engine.rules.derive_process import SWITCH_INTERVAL_S, DeriveProcess
from engine.rules.shared_scan import BATCH, child_memory_mb, run_derivations

CTX = DeriveContext(as_of=dt.datetime(2026, 6, 1, tzinfo=dt.UTC), params={}, tz_of=lambda v: "UTC",
                    establishments={})
EVENTS = [RecordView("access_event", f"AE-{i:06d}", 1, {"n": i}) for i in range(BATCH * 3 + 17)]
PEOPLE = [RecordView("person", "P1", 1, {})]


def _derivation(name: str, fn) -> Derivation:  # type: ignore[no-untyped-def]
    return Derivation(name=name, inputs=("person", "access_event"), output=name, fields={}, fn=fn,
                      family="person", reference=False, event=False, doc="", example="")


def _total(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    total = sum(int(v.data["n"]) for v in inputs["access_event"])
    yield DerivedFact("t", "total", {"total": total}, [], "person:P1")


def _odd(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    for v in inputs["access_event"]:
        if int(v.data["n"]) % 1000 == 1:
            yield DerivedFact("t", v.id, {}, [], "person:P1")


def _never_reads(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    yield DerivedFact("t", "nothing", {}, [], "person:P1")


class _Store:
    def __init__(self, fail_at: int | None = None) -> None:
        self.opened: list[str] = []
        self.fail_at = fail_at

    def stream(self, record_type: str) -> Iterator[RecordView]:
        self.opened.append(record_type)
        for i, v in enumerate(EVENTS):
            if i == self.fail_at:
                raise RuntimeError("storage went away")
            yield v


def test_each_derivation_gets_the_whole_stream_read_once_in_order() -> None:
    store = _Store()
    derivations = [_derivation("a", _total), _derivation("b", _never_reads), _derivation("c", _odd)]
    results = run_derivations(derivations, CTX, {"person": PEOPLE}, store.stream)
    assert store.opened == ["access_event"]
    assert [d.name for d, _ in results] == ["a", "b", "c"]
    assert results[0][1][0].data["total"] == sum(range(len(EVENTS)))
    assert [f.id for f in results[2][1]] == [v.id for v in EVENTS if int(v.data["n"]) % 1000 == 1]
    # the same facts as reading the stream once per derivation
    alone = [list(d.fn(CTX, {"person": PEOPLE, "access_event": iter(EVENTS)})) for d in derivations]
    assert [r for _, r in results] == alone


def test_a_derivation_that_reads_its_stream_twice_fails_loudly() -> None:
    def twice(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
        list(inputs["access_event"])
        list(inputs["access_event"])
        yield from ()

    with pytest.raises(EngineFailure, match="twice"):
        run_derivations([_derivation("a", _total), _derivation("b", twice)], CTX, {"person": PEOPLE},
                        _Store().stream)


def _broken(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    for v in inputs["access_event"]:
        if v.id == "AE-000100":
            raise ValueError("bad derivation")
    yield from ()


@pytest.mark.parametrize("fork", [False, True], ids=["threads", "derive process"])
def test_an_error_in_a_derivation_or_in_the_read_reaches_the_caller_as_itself(fork: bool) -> None:
    b = _heavy("b", _broken) if fork else _derivation("b", _broken)
    with pytest.raises(ValueError, match="bad derivation"):
        run_derivations([_derivation("a", _total), b], CTX, {"person": PEOPLE}, _Store().stream, fork=fork)
    with pytest.raises(RuntimeError, match="storage went away"):
        run_derivations([_derivation("a", _total), _derivation("b", _odd)], CTX, {"person": PEOPLE},
                        _Store(fail_at=BATCH + 5).stream)


# ---- heavy derivations in the derive process (fork) ----------------------------------------------

CARE = [RecordView("care_link", f"CL-{i:04d}", 1, {"n": i}) for i in range(BATCH + 3)]


def _heavy(name: str, fn, inputs: tuple[str, ...] = ("person", "access_event")) -> Derivation:  # type: ignore[no-untyped-def]
    return Derivation(name=name, inputs=inputs, output=name, fields={}, fn=fn, family="person", heavy=True)


def _where(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    total = sum(int(v.data["n"]) for v in inputs["access_event"])
    yield DerivedFact("t", "where", {"pid": os.getpid(), "total": total}, [("person", "P1", 1)], "person:P1")


def _care_then_events(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    care = [v.id for v in inputs["care_link"]]
    events = [v.id for v in inputs["access_event"]]
    yield DerivedFact("t", "both", {"care": len(care), "events": len(events), "last": events[-1]}, [], "person:P1")


class _Streams:
    def __init__(self, fail_at: int | None = None) -> None:
        self.opened: list[str] = []
        self.fail_at = fail_at

    def stream(self, record_type: str) -> Iterator[RecordView]:
        self.opened.append(record_type)
        for i, v in enumerate(EVENTS if record_type == "access_event" else CARE):
            if i == self.fail_at:
                raise RuntimeError("storage went away")
            yield v


def test_heavy_derivations_run_in_another_process_with_the_same_results() -> None:
    derivations = [_derivation("a", _total), _heavy("h", _where), _derivation("c", _odd),
                   _heavy("both", _care_then_events, ("person", "care_link", "access_event"))]
    streams = _Streams()
    forked = run_derivations(derivations, CTX, {"person": PEOPLE}, streams.stream, fork=True)
    assert streams.opened == ["access_event", "care_link"]  # each streamed type read once
    plain = run_derivations(derivations, CTX, {"person": PEOPLE}, _Streams().stream)
    assert forked[1][1][0].data["pid"] != os.getpid()  # the heavy one ran elsewhere
    assert plain[1][1][0].data["pid"] == os.getpid()
    for (_, a), (_, b) in zip(forked, plain, strict=True):
        assert [(f.id, {k: v for k, v in f.data.items() if k != "pid"}, f.sources, f.bundle_key) for f in a] == [
            (f.id, {k: v for k, v in f.data.items() if k != "pid"}, f.sources, f.bundle_key) for f in b]
    assert forked[3][1][0].data == {"care": len(CARE), "events": len(EVENTS), "last": EVENTS[-1].id}
    memory = child_memory_mb()
    assert memory is not None and memory["peak_rss_mb"] > 0


def test_a_derive_process_that_dies_voids_the_run() -> None:
    def dies(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
        for _ in inputs["access_event"]:
            os._exit(3)
        yield from ()

    with pytest.raises(EngineFailure, match="stopped without an answer"):
        run_derivations([_derivation("a", _total), _heavy("b", dies)], CTX, {"person": PEOPLE},
                        _Streams().stream, fork=True)


def test_a_failed_read_while_spooling_stops_the_derive_process() -> None:
    started: list[Any] = []
    real_start = DeriveProcess.start

    def spy(*args: Any) -> Any:
        child = real_start(*args)
        started.append(child)
        return child

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(DeriveProcess, "start", spy)
        with pytest.raises(RuntimeError, match="storage went away"):
            run_derivations([_derivation("a", _total), _heavy("b", _where)], CTX, {"person": PEOPLE},
                            _Streams(fail_at=BATCH + 5).stream, fork=True)
    (child,) = started
    assert not child.process.is_alive()


_SPOOL_READS: dict[str, int] = {}


def _spool_reads(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    n = sum(1 for _ in inputs["access_event"])
    yield DerivedFact("t", "reads", {"events": n, "reads": dict(_SPOOL_READS)}, [], "person:P1")


def test_heavy_derivations_that_stream_one_type_share_one_read_of_the_spool() -> None:
    real_read = derive_process._Spool.read

    def counted(self: Any, record_type: str) -> Iterator[RecordView]:
        _SPOOL_READS[record_type] = _SPOOL_READS.get(record_type, 0) + 1
        return real_read(self, record_type)

    derivations = [_heavy("h1", _spool_reads), _heavy("h2", _spool_reads),
                   _heavy("both", _care_then_events, ("person", "care_link", "access_event"))]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(derive_process._Spool, "read", counted)  # inherited by the forked process
        forked = run_derivations(derivations, CTX, {"person": PEOPLE}, _Streams().stream, fork=True)
    assert _SPOOL_READS == {}  # counted in the derive process only
    reads = [f.data for _, facts in forked[:2] for f in facts]
    assert all(r["events"] == len(EVENTS) for r in reads)
    # by the time the later of the two finished, every read had started: the log once, for all three
    assert max(r["reads"].get("access_event", 0) for r in reads) == 1
    assert forked[2][1][0].data == {"care": len(CARE), "events": len(EVENTS), "last": EVENTS[-1].id}
    memory = child_memory_mb()
    assert memory is not None and {"cpu_s:h1", "cpu_s:h2", "cpu_s:both", "cpu_s:total"} <= set(memory)


def _care_reads(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    n = sum(1 for _ in inputs["care_link"])
    yield DerivedFact("t", "care", {"links": n, "reads": dict(_SPOOL_READS)}, [], "person:P1")


def test_heavy_derivations_share_one_read_of_each_type_they_stream_last() -> None:
    """The derive process groups its jobs by the last spooled type each reads: the two over care
    links share one read of them, the two over the log one read of it, whatever order they come in."""
    real_read = derive_process._Spool.read

    def counted(self: Any, record_type: str) -> Iterator[RecordView]:
        _SPOOL_READS[record_type] = _SPOOL_READS.get(record_type, 0) + 1
        return real_read(self, record_type)

    derivations = [_heavy("e1", _spool_reads), _heavy("c1", _care_reads, ("person", "care_link")),
                   _derivation("light", _total), _heavy("e2", _spool_reads),
                   _heavy("c2", _care_reads, ("person", "care_link"))]
    streams = _Streams()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(derive_process._Spool, "read", counted)  # inherited by the forked process
        forked = run_derivations(derivations, CTX, {"person": PEOPLE}, streams.stream, fork=True)
    assert sorted(streams.opened) == ["access_event", "care_link"]  # each type read from storage once
    care = [f.data for i in (1, 4) for f in forked[i][1]]
    assert [c["links"] for c in care] == [len(CARE)] * 2
    assert max(c["reads"].get("care_link", 0) for c in care) == 1
    events = [f.data for i in (0, 3) for f in forked[i][1]]
    assert [e["events"] for e in events] == [len(EVENTS)] * 2
    assert max(e["reads"].get("access_event", 0) for e in events) == 1
    assert forked[2][1][0].data == {"total": sum(range(len(EVENTS)))}  # the light one, here
    plain = run_derivations(derivations, CTX, {"person": PEOPLE}, _Streams().stream)
    assert [[f.id for f in facts] for _, facts in plain] == [[f.id for f in facts] for _, facts in forked]


def _switch_interval(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    n = sum(1 for _ in inputs["access_event"])
    yield DerivedFact("t", "switch", {"events": n, "interval": sys.getswitchinterval()}, [], "person:P1")


def test_the_derive_process_lets_its_threads_run_a_batch_before_switching() -> None:
    mine = sys.getswitchinterval()
    ((_, facts),) = run_derivations([_heavy("sw", _switch_interval)], CTX, {"person": PEOPLE}, _Streams().stream,
                                    fork=True)
    assert facts[0].data == {"events": len(EVENTS), "interval": pytest.approx(SWITCH_INTERVAL_S)}
    assert sys.getswitchinterval() == mine != SWITCH_INTERVAL_S  # this process keeps its own
