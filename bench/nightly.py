"""The nightly sweep as a practice runs it: applied to the findings store (findings opened, kept and
resolved with the evidence that cleared them, SOP tasks opened and closed), on the large practice,
against the same sweep not applied (`persist=False`, what `bench.sweep` times) in the same run.

    python -m bench.nightly [SCALE] [SIZE]     # default: 1 large

Steps: generate the practice, import it with the clock a week and a day before the anchor, then,
each with the clock at its instant: the first sweep a week before the anchor (every finding opens),
the next day's sweep not applied (the reference), and the next day's sweep applied. Prints one JSON
line per step; `store_s` is what applying the next day's sweep cost beyond evaluating it.

Why: `bench.sweep` never applies a run, so it could not see that a sweep resolving 511 findings
after a re-import took 667.6 s, not 45.6 s (matching each finding against every record recorded
since; fixed in the twenty-second session).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from engine import clock, pipeline
from engine import db as dbmod

ANCHOR = dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC)
FIRST = ANCHOR - dt.timedelta(days=7)
NEXT = FIRST + dt.timedelta(days=1)


def _sweep(engine: Any, when: dt.datetime, *, persist: bool) -> dict[str, Any]:
    started = time.perf_counter()
    with clock.frozen(when), dbmod.unit_of_work(engine) as s:
        out = pipeline.evaluate(s, org_id="bench", as_of=when, actor="bench", trigger="schedule", persist=persist)
    row: dict[str, Any] = {"as_of": when.isoformat(), "applied": persist,
                           "seconds": round(time.perf_counter() - started, 1),
                           "violations": len(out.result.violations)}
    if out.diff is not None:
        row.update(opened=len(out.diff.opened), resolved=len(out.diff.resolved), persisted=len(out.diff.persisted))
    if out.tasks:
        row.update(tasks_created=out.tasks.get("created"), tasks_closed=out.tasks.get("closed"))
    return row


def main(scale: float = 1.0, size: str = "large") -> list[dict[str, Any]]:
    from engine.demo.generator import write_practice

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        write_practice(out=data, size=size, seed=1, anchor=ANCHOR.date(), scale=scale)
        engine = dbmod.make_engine(f"sqlite:///{tmp}/nightly.db")
        dbmod.init_db(engine)
        started = time.perf_counter()
        with clock.frozen(FIRST - dt.timedelta(days=1)), dbmod.unit_of_work(engine) as s:
            report = pipeline.ingest_files(s, org_id="bench", paths=sorted(data.glob("*.ndjson")), actor="bench",
                                           stream=False)
        rows.append({"size": size, "scale": scale, "records": report.total,
                     "import_s": round(time.perf_counter() - started, 1)})
        print(json.dumps(rows[-1]), flush=True)
        for when, persist in ((FIRST, True), (NEXT, False), (NEXT, True)):
            rows.append(_sweep(engine, when, persist=persist))
            print(json.dumps(rows[-1]), flush=True)
        engine.dispose()
    reference, applied = rows[-2]["seconds"], rows[-1]["seconds"]
    rows.append({"next_day_applied_s": applied, "next_day_reference_s": reference,
                 "store_s": round(applied - reference, 1)})
    print(json.dumps(rows[-1]), flush=True)
    return rows


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0, sys.argv[2] if len(sys.argv) > 2 else "large")
