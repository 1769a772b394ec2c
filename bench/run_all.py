"""`make bench`: every benchmark, figures printed against their references in the same run.

    stream: raw durable_rules vs Vigil's full streaming path on the same rules and events
    nightly: the large practice's next-day sweep applied to the findings store, against the same
             sweep not applied
    sweep:  the large synthetic practice on each backend at 1x and 10x (BENCH_SCALES to change)
"""

from __future__ import annotations

import os

from bench import nightly, stream, sweep


def main() -> None:
    print("== stream (events/s; target: Vigil at least half the raw durable_rules rate)")
    stream.main(int(os.environ.get("BENCH_EVENTS", "50000")))
    print("== nightly (the next day's sweep applied to the store, against the same sweep not applied)")
    nightly.main()
    print("== sweep (seconds and peak RSS per backend; targets: large practice < 60 s and < 2 GB)")
    for k in [float(x) for x in os.environ.get("BENCH_SCALES", "1,10").split(",")]:
        sweep.run_scale(k, ["python", "durable"])


if __name__ == "__main__":
    main()
