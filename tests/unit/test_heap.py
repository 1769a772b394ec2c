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
