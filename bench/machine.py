"""What this machine's memory does to per-record work as a practice grows: the reference for the 10x
target (sweep time grows no faster than the data).

    python -m bench.machine [LOOKUPS]     # default: 1,000,000, the large practice's access log

A sweep's heavy derivations do, per access event, a handful of lookups of an id just read from the
record (the patient, the account, the patient's care links) in tables holding every patient or
account of the practice. Their algorithms do the same work per event at any size (bench/README.md,
eleventh session); what grows with the practice is only how large those tables are. So this times
the bare step, nothing of Vigil's: a dict of the large practice's patients (`SIZES["large"]`, at
1x and at 10x), each entry a small dict as a record's data is, looked up with the same number of
freshly made id strings at each size, drawn at random as the access log draws its patients;
then the same lookups in key order, as a log read grouped by patient would make them (at 1x each
patient comes up about 17 times in a row, at 10x about twice: the figures say what ordering buys at
each size, not a growth).

Printed: ns per lookup at each size, their growth from 1x to 10x (`lookup_growth`, the median of
three rounds, each round's beside it), and
`expected_sweep_growth` = 10 x that growth, what a sweep made of such lookups takes at 10x against
1x however its code is written. `make bench` prints it before the sweeps it bounds.
"""

from __future__ import annotations

import json
import random
import sys
import time
from typing import Any

from engine import heap
from engine.demo.world import SIZES


def lookup_ns(table_size: int, lookups: int, *, in_key_order: bool = False, seed: int = 1) -> float:
    """Nanoseconds per lookup of a fresh id string in a dict of `table_size` record-like entries."""
    with heap.collector_paused():  # as in a sweep
        table = {_patient_id(i): {"id": _patient_id(i), "last_name": f"N{i}", "vip": False} for i in range(table_size)}
        rng = random.Random(seed)
        draws = [rng.randrange(table_size) for _ in range(lookups)]
        if in_key_order:
            draws.sort()
        probes = [_patient_id(i) for i in draws]  # made apart from the table's keys, as a parsed record's are
        hits = 0
        started = time.perf_counter()
        for probe in probes:
            entry = table.get(probe)
            if entry is not None and entry["vip"] is False:
                hits += 1
        elapsed = time.perf_counter() - started
    if hits != lookups:
        raise RuntimeError(f"{lookups - hits} lookups missed")  # every probe names a patient
    return elapsed / lookups * 1e9


def _patient_id(i: int) -> str:
    return f"PT-{i:07d}"


def main(lookups: int = 1_000_000, *, scales: tuple[float, float] = (1, 10), rounds: int = 3) -> dict[str, Any]:
    """Time the lookups at both sizes `rounds` times, alternating (this machine's speed swings by a
    third within minutes); the growth printed is the median round's, every round's beside it."""
    small, large = (round(SIZES["large"].patients * k) for k in scales)
    pairs = [(lookup_ns(small, lookups), lookup_ns(large, lookups)) for _ in range(rounds)]
    growths = [big / little for little, big in pairs]
    median = sorted(range(rounds), key=lambda i: growths[i])[rounds // 2]
    ordered_small = lookup_ns(small, lookups, in_key_order=True)
    ordered_large = lookup_ns(large, lookups, in_key_order=True)
    out = {
        "lookups": lookups,
        "table_sizes": [small, large],
        "random_ns": [round(x) for x in pairs[median]],
        "lookup_growth": round(growths[median], 2),
        "lookup_growth_rounds": [round(g, 2) for g in growths],
        "expected_sweep_growth": round(growths[median] * scales[1] / scales[0], 1),
        "key_order_ns": [round(ordered_small), round(ordered_large)],
    }
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
