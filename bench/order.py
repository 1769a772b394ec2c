"""Time a derivation over the access log read in different orders: what locality is worth.

    python -m bench.order sqlite:///practice.db hipaa.access_alerts,hipaa.training_duties log,patient,log

Why: the access-log derivations do the same work per event at any size, yet cost half as much
again per event at 10x the large practice as at 1x, because the tables they look each event up in
(600,000 patients, 15,000 users at 10x) no longer fit the CPU's cache (`bench.machine`). Whether an
order of the log that keeps those lookups together would pay, and how much, is measured here
before anyone restructures a derivation around it (bench/README.md, twenty-fourth session).

The records a derivation does not stream are loaded first, as `bench.derivation` does. The access
log is then read once and kept as one pickle per event, so that every order hands the derivation
freshly made records, as the derive process's spool does. Orders: `log` (as stored, by id),
`patient` (by patient, then id), `user` (by system and user id, then id), `user_patient`. Each
(order, derivation) prints the CPU seconds of the derivation alone, one JSON line each; list an
order twice to see the machine drift. Not timed: loading and sorting. Memory: the held records
plus about 200 bytes an event (12 GB at 10x the large practice).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pickle
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench.derivation import held
from bench.sweep import AS_OF
from engine import db, heap, pipeline
from engine.rules.derive import DERIVATIONS, Derivation, DeriveContext, RecordView, load_families

#: An access event as kept here: its patient, its (system, user), its id, and its pickled record.
Kept = tuple[str, str, str, bytes]

ORDERS: dict[str, Callable[[Kept], Any] | None] = {
    "log": None,
    "patient": lambda e: (e[0], e[2]),
    "user": lambda e: (e[1], e[2]),
    "user_patient": lambda e: (e[1], e[0], e[2]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db", help="database URL of an imported practice (org 'bench' unless --org)")
    parser.add_argument("derivations", help="registered names, comma-separated, e.g. hipaa.access_alerts")
    parser.add_argument("orders", help=f"comma-separated, of {', '.join(ORDERS)}; repeat one to see drift")
    parser.add_argument("--org", default="bench")
    parser.add_argument("--as-of", default=AS_OF)
    args = parser.parse_args()
    run(args.db, args.derivations.split(","), args.orders.split(","), org=args.org, as_of=args.as_of)


def run(url: str, names: list[str], orders: list[str], *, org: str = "bench", as_of: str = AS_OF,
        ) -> list[dict[str, Any]]:
    """Each (order, derivation)'s CPU seconds and facts, printed as it is measured."""
    unknown = [o for o in orders if o not in ORDERS]
    if unknown:
        raise SystemExit(f"no order {', '.join(unknown)}; known: {', '.join(ORDERS)}")
    load_families()
    found = {d.name: d for _, d in DERIVATIONS if d.name in names}
    missing = [n for n in names if n not in found]
    if missing:
        raise SystemExit(f"no derivation {', '.join(missing)}")
    derivations = [found[n] for n in names]
    instant = dt.datetime.fromisoformat(as_of)
    rows: list[dict[str, Any]] = []
    with db.unit_of_work(db.make_engine(url)) as session, heap.collector_paused():
        source = pipeline.StoreSource(session, org)
        memory, ctx = held(source, [t for d in derivations for t in d.inputs], instant, "access_event")
        log = [(str(v.data.get("patient_id")), f"{v.data.get('system_id')}\x00{v.data.get('user_id')}", v.id,
                pickle.dumps((v.id, v.version, v.data), pickle.HIGHEST_PROTOCOL))
               for v in source.iter_type("access_event")]
        for order in orders:
            key = ORDERS[order]
            events = log if key is None else sorted(log, key=key)
            for d in derivations:
                rows.append(_timed(d, ctx, memory, events, order))
                print(json.dumps(rows[-1]), flush=True)
    return rows


def _timed(d: Derivation, ctx: DeriveContext, memory: dict[str, list[RecordView]], events: list[Kept],
           order: str) -> dict[str, Any]:
    def fresh() -> Iterator[RecordView]:
        loads = pickle.loads
        for kept in events:
            record_id, version, data = loads(kept[3])
            yield RecordView("access_event", record_id, version, data)

    inputs = {t: fresh() if t == "access_event" else memory[t] for t in d.inputs}
    cpu = time.process_time()
    facts = sum(1 for _ in d.fn(ctx, inputs))
    return {"order": order, "derivation": d.name, "events": len(events), "facts": facts,
            "cpu_s": round(time.process_time() - cpu, 2)}


if __name__ == "__main__":
    main()
