"""`make bench`: every benchmark, figures printed against their references in the same run.

    stream: raw durable_rules vs Vigil's full streaming path on the same rules and events
    nightly: the large practice's next-day sweep applied to the findings store, against the same
             sweep not applied
    machine: a bare dict lookup at the large practice's 1x and 10x table sizes, and the sweep growth
             it implies (the reference for "time grows no faster than the data")
    sweep:  the large synthetic practice at 1x and 10x (BENCH_SCALES to change), every scale
            imported first, then per backend 1x, 10x and 1x again, one after the other; then each
            backend's growth beside the machine's
"""

from __future__ import annotations

import json
import os
from typing import Any

from bench import machine, nightly, stream, sweep


def main() -> None:
    print("== stream (events/s; target: Vigil at least half the raw durable_rules rate)")
    stream.main(int(os.environ.get("BENCH_EVENTS", "50000")))
    print("== nightly (the next day's sweep applied to the store, against the same sweep not applied)")
    nightly.main()
    scales = [float(x) for x in os.environ.get("BENCH_SCALES", "1,10").split(",")]
    print("== machine (ns per lookup at the 1x and 10x table sizes; the sweep growth they imply)")
    reference = machine.main(scales=(min(scales), max(scales))) if len(scales) > 1 else None
    print("== sweep (seconds and peak RSS per backend; targets: large practice < 60 s and < 2 GB)")
    rows = sweep.alternating(scales, ["python", "durable"])
    if reference is not None:
        print("== growth (each backend's sweep at the largest scale against the smallest, beside the machine's)")
        print(json.dumps(growth(rows, reference)))


def growth(rows: list[dict[str, Any]], reference: dict[str, Any]) -> dict[str, Any]:
    """Each backend's sweep seconds at the largest scale over the smallest (the mean of its runs at
    each: `sweep.alternating` sweeps the smallest before and after the largest), with the data's
    growth and the growth a sweep of bare lookups would show on this machine (`bench.machine`)."""
    out: dict[str, Any] = {"expected_sweep_growth": reference["expected_sweep_growth"]}
    for backend in sorted({r["backend"] for r in rows}):
        mine = [r for r in rows if r["backend"] == backend]
        lo, hi = min(r["scale"] for r in mine), max(r["scale"] for r in mine)
        small = [r for r in mine if r["scale"] == lo]
        large = [r for r in mine if r["scale"] == hi]
        out[backend] = {"sweep_growth": round(_mean(large, "sweep_s") / _mean(small, "sweep_s"), 1),
                        "data_growth": round(large[0]["records"] / small[0]["records"], 1),
                        "sweep_s": [r["sweep_s"] for r in mine]}
    return out


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    return sum(float(r[key]) for r in rows) / len(rows)


if __name__ == "__main__":
    main()
