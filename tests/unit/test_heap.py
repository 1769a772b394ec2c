"""engine.heap: nested and overlapping runs leave the collector as they found it."""

from __future__ import annotations

import gc

from engine import heap


def test_frozen_heap_is_unfrozen_when_the_last_run_ends() -> None:
    assert gc.get_freeze_count() == 0
    with heap.frozen():
        outer = gc.get_freeze_count()
        assert outer > 0
        with heap.frozen():
            keep = [object() for _ in range(10)]
            assert gc.get_freeze_count() >= outer
        assert gc.get_freeze_count() >= outer  # the inner run ending does not unfreeze the outer one's heap
    assert gc.get_freeze_count() == 0 and keep


def test_frozen_runs_collect_young_objects_less_often_and_restore_the_thresholds() -> None:
    before = gc.get_threshold()
    with heap.frozen():
        assert gc.get_threshold() == (max(heap.YOUNG_THRESHOLD, before[0]), *before[1:])
        with heap.frozen():
            assert gc.get_threshold()[0] == max(heap.YOUNG_THRESHOLD, before[0])
        assert gc.get_threshold()[0] == max(heap.YOUNG_THRESHOLD, before[0])  # the outer run still holds it
    assert gc.get_threshold() == before


def test_cyclic_garbage_made_while_frozen_is_still_collected_without_being_asked() -> None:
    collected = []

    class Node:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            collected.append(1)

    with heap.frozen():
        for _ in range(3 * heap.YOUNG_THRESHOLD):  # each a cycle only the collector can free
            Node()
        assert collected  # a pass ran on its own once enough of it built up


def test_a_paused_collector_resumes_after_the_last_run() -> None:
    assert gc.isenabled()
    with heap.collector_paused():
        assert not gc.isenabled()
        with heap.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with heap.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failing_run_still_resumes_the_collector() -> None:
    try:
        with heap.collector_paused(), heap.frozen():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert gc.get_threshold()[0] < heap.YOUNG_THRESHOLD
