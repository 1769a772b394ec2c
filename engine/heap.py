"""The cyclic garbage collector during Vigil's long runs (imports, sweeps, forks).

Why: Python's collector now and then makes a full pass over every container object alive, and in
a process that has imported pydantic, SQLAlchemy, Jinja2 and the compiled rulesets that is hundreds
of thousands of objects that will live until the process ends.

- `frozen()`, for an import: an import of access events keeps enough objects alive for a batch to
  trigger such a pass every few batches; measured on 50k events, a quarter of the import's CPU
  (30 -> 23 us an event with the heap frozen). Frozen objects stay out of every pass; objects made
  during the run are still collected as usual. A forked child keeps the frozen heap it inherited,
  which also keeps its collector from touching (and so copying) the parent's pages.
  While frozen, the youngest generation is also collected only after `YOUNG_THRESHOLD` more
  container objects are alive than at its last pass, not Python's default 700: one import batch
  keeps thousands alive until it is written (1,000 records, each a dict, a model and its parts),
  so at 700 the collector made 590 young and 53 middle passes over a 50k-event import that found
  almost nothing (3,400 objects), 6% of the importer's CPU and 3% of the stream process's (which
  inherits the setting when it is forked). Cyclic garbage still triggers a pass once that many
  objects of it build up, so memory stays bounded.
- `collector_paused()`, for a sweep: a sweep holds every record of the practice it reads until it
  ends, so each full pass scans a heap that keeps growing (49 passes in a sweep of the large
  practice, 10 of its 48 CPU seconds; more passes, each larger, at 10x). Its structures hold no
  cycles worth collecting (same peak memory with the collector paused), and reference counting
  still frees everything else.

Frozen objects are not collected, nor is anything while the collector is paused, so both end with
the last run that asked for them (uses nest and may overlap in threads; they are counted).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()
_DEPTH = 0
#: Net new container objects that trigger a pass over the youngest generation while frozen.
YOUNG_THRESHOLD = 20_000
_THRESHOLDS: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def frozen() -> Iterator[None]:
    """Keep every object alive now out of the collector's passes, and pass over young objects
    less often, until the block ends."""
    global _DEPTH, _THRESHOLDS
    with _LOCK:
        if _DEPTH == 0:
            _THRESHOLDS = gc.get_threshold()
            gc.set_threshold(max(YOUNG_THRESHOLD, _THRESHOLDS[0]), *_THRESHOLDS[1:])
        _DEPTH += 1
        gc.freeze()
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                gc.unfreeze()
                gc.set_threshold(*_THRESHOLDS)


_PAUSED = 0
_WAS_ENABLED = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection (in this whole process) until the block ends."""
    global _PAUSED, _WAS_ENABLED
    with _LOCK:
        if _PAUSED == 0:
            _WAS_ENABLED = gc.isenabled()
            gc.disable()
        _PAUSED += 1
    try:
        yield
    finally:
        with _LOCK:
            _PAUSED -= 1
            if _PAUSED == 0 and _WAS_ENABLED:
                gc.enable()
