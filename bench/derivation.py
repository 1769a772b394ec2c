"""Time one derivation alone over a practice already imported, in one thread, nothing else running.

    python -m bench.derivation sqlite:///practice.db hipaa.access_alerts
    python -m bench.derivation sqlite:///practice.db hipaa.access_alerts --limit 1000000 --read-only

Why: in a sweep the heavy derivations share a process and its cores with everything else, and a
figure for one of them moves with whatever ran beside it. Here the records it does not stream
are loaded first (not timed), as the sweep holds them (the care links too, which a sweep reads
from its spool instead: the peak RSS is the larger for it, 9.1 GB for the alerts at 10x); then
the derivation runs over its streamed type read from the database (`--limit`: only the first N
records of it), with the cyclic collector paused as in a sweep. `--read-only` times reading that
stream and nothing else, the part of the figure that is the database's. Prints the CPU seconds,
wall seconds, facts and peak RSS as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import resource
import time
from collections.abc import Iterable
from typing import Any

from bench.sweep import AS_OF
from engine import db, heap, pipeline
from engine.rules import runner
from engine.rules.derive import DERIVATIONS, DeriveContext, RecordView, load_families

#: Types every sweep holds (zones come from them), whatever the derivation reads.
HELD = ("organization", "establishment", "employment_episode", "person")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db", help="database URL of an imported practice (org 'bench' unless --org)")
    parser.add_argument("derivation", help="registered name, e.g. hipaa.access_alerts")
    parser.add_argument("--org", default="bench")
    parser.add_argument("--as-of", default=AS_OF)
    parser.add_argument("--stream", default="access_event", help="the type read from the database as it runs")
    parser.add_argument("--limit", type=int, help="only the first N records of the streamed type")
    parser.add_argument("--read-only", action="store_true", help="time reading the stream alone")
    args = parser.parse_args()
    print(json.dumps(run(args.db, args.derivation, org=args.org, as_of=args.as_of, streamed=args.stream,
                         limit=args.limit, read_only=args.read_only)))


def run(url: str, name: str, *, org: str = "bench", as_of: str = AS_OF, streamed: str = "access_event",
        limit: int | None = None, read_only: bool = False) -> dict[str, Any]:
    load_families()
    found = [d for _, d in DERIVATIONS if d.name == name]
    if not found:
        raise SystemExit(f"no derivation {name!r}; registered: {', '.join(sorted(d.name for _, d in DERIVATIONS))}")
    derivation = found[0]
    instant = dt.datetime.fromisoformat(as_of)
    with db.unit_of_work(db.make_engine(url)) as session, heap.collector_paused():
        source = pipeline.StoreSource(session, org)
        memory, ctx = held(source, derivation.inputs, instant, streamed)
        stream: Iterable[RecordView] = source.iter_type(streamed)
        if limit is not None:
            stream = itertools.islice(stream, limit)
        inputs = {t: memory[t] if t in memory else stream for t in derivation.inputs}
        cpu, wall = time.process_time(), time.perf_counter()
        facts = None if read_only else sum(1 for _ in derivation.fn(ctx, inputs))
        records = sum(1 for _ in stream) if read_only else None
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"derivation": name, "read_only": read_only, "limit": limit, "facts": facts,
            "records_read": records, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def held(source: pipeline.StoreSource, inputs: Iterable[str], instant: dt.datetime,
         streamed: str) -> tuple[dict[str, list[RecordView]], DeriveContext]:
    """The records of `inputs` and `HELD` but the streamed type, loaded as a sweep holds them,
    and the derivations' context a sweep builds over them."""
    memory = {t: list(source.iter_type(t)) for t in sorted(set(inputs) | set(HELD)) if t != streamed}
    _, _, ctx = runner.derive_setup(memory, pipeline.compile_in_force(instant), instant)
    return memory, ctx


if __name__ == "__main__":
    main()
