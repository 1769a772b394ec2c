"""Throughput of the live event stream: raw durable_rules vs Vigil's full streaming path.

Rules: bench/rulesets (20 event rules over access_event).

(a) raw: the same compiled event rules, facts built in advance, asserted straight into
    durable_rules in this process in bundles of 1,000 (the same session handling Vigil uses, no
    worker process) - the matcher alone, as Vigil drives it (`durable_host.evaluate`, which talks
    to durable_rules' C core without the package's Python wrapper);
(a') raw through durable_rules' own Python API (`Host.assert_fact`, `Host.retract_fact`), the
    package as its documentation shows it used: the same facts, bundles and emptied session. Its
    wrapper raises an exception for every fact no rule reads, so it is slower than (a); the ratio
    against it is printed beside the one against (a), which is the stricter reference;
(b) vigil: the same events as an NDJSON file through `pipeline.ingest_files` (parse, validate,
    store with history in SQLite, derive facts, hold back those no event rule's own conditions
    admit, match the rest on durable_rules, persist findings).
(i) import only: (b) without the stream (`stream=False`): parse, validate, store with history, and
    nothing matched. Not a reference the target names, but the ceiling of (b): the stream adds its
    work to the import's, so (b)/(a) cannot exceed (i)/(a), printed beside it.
(f) the import's floor: the least work any import that validates and stores these events must do,
    and nothing else: read each line (orjson), validate a batch of 1,000 against the contract's
    model at once (pydantic's fastest path), write each canonical text and its SHA-256, insert the
    batch with the import's own INSERT (`ingest._insert_versions`), one transaction. None of the
    import's checks (a key given twice, versions already stored, which line is wrong), no audit
    entry, no stream. The rows it stores hash as the import's do (tested). Printed as (f)/(a) and
    its CPU per event. Why: for (b) to run at half of (a), the importing process (its stream process
    has the other core) has twice (a)'s time per event (`raw_us_per_event`) for all of its work,
    and (f) says how much of that budget the bare minimum already takes.
(a) and (b) alternate for several rounds (BENCH_ROUNDS, 3 by default): (a), (b), (a), (b), ... (a).
Each round's ratio is (b) against the mean of the (a) runs on either side of it, and the figure
printed is the median round (with every round's ratio beside it): on a shared machine the speed
swings by a third within minutes, and one pair of runs can land on either side of a target.
Printed: events/s for each, the ratios, and the CPU time per event of (b) in the importing process
and in the process it started (the stream process, which matches on durable_rules itself).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from durable.engine import MessageNotHandledException
from pydantic import TypeAdapter
from sqlalchemy import func, select

from engine import clock, db, heap, pipeline
from engine.records import ingest
from engine.records.contract_core import AccessEvent
from engine.records.tables import record_version
from engine.rules.backends import durable_host
from engine.rules.backends.durable import action_aliases
from engine.rules.catalog import compile_in_force
from engine.rules.derive import RecordView
from engine.rules.facts import FactBuilder, Zones
from engine.rules.facttypes import all_fact_types

BENCH_RULESETS = str(Path(__file__).parent / "rulesets")

AS_OF = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
ACTIONS = ["view"] * 90 + ["print"] * 5 + ["edit"] * 4 + ["export"]


def make_events(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    out = []
    for i in range(n):
        at = start + dt.timedelta(seconds=i * 2)
        out.append(
            {
                "type": "access_event",
                "id": f"AE-{i:08d}",
                "system_id": "SYS-EHR",
                "user_id": f"u{rng.randrange(400)}",
                "patient_id": f"PT-{rng.randrange(20000):05d}",
                "at": at.isoformat().replace("+00:00", "Z"),
                "action": rng.choice(ACTIONS),
                "break_glass": rng.random() < 0.001,
            }
        )
    return out


def reference() -> list[dict[str, Any]]:
    return [
        {"type": "organization", "id": "ORG-1", "name": "Bench Clinic", "states": ["IL"]},
        {
            "type": "establishment",
            "id": "E-1",
            "name": "Main",
            "state": "IL",
            "tz": "America/Chicago",
            "naics": "621111",
            "holiday_calendar": "US-FEDERAL",
        },
        {"type": "system", "id": "SYS-EHR", "name": "EHR", "stores_ephi": True, "audit_logging_enabled": True},
    ]


def _compiled_facts(events: list[dict[str, Any]]) -> tuple[list[Any], list[dict[str, Any]]]:
    """The event rulesets in force and the events' facts, built in advance for the raw runs."""
    rulesets = [rs for rs in compile_in_force(AS_OF) if any(r.event for r in rs.rules)]
    builder = FactBuilder(rulesets, all_fact_types(), AS_OF, Zones({}, {}, "America/Chicago"))
    return rulesets, [builder.record(RecordView(e["type"], e["id"], 1, e))[0][0] for e in events]


def raw_rate(events: list[dict[str, Any]]) -> tuple[float, int]:
    rulesets, facts = _compiled_facts(events)
    for rs in rulesets:  # the matcher alone, in this process (no worker, no IPC)
        durable_host.register(rs.durable_name, rs.durable_definition, action_aliases(rs))
    with heap.frozen():  # as the import runs: the collector skips the heap there is already
        return _match_raw(rulesets, facts)


def raw_api_rate(events: list[dict[str, Any]]) -> tuple[float, int]:
    """Events/s of (a'): the same facts through durable_rules' own `Host` API, in a host of its own."""
    rulesets, facts = _compiled_facts(events)
    api_host = durable_host.new_host()
    for rs in rulesets:
        api_host.binding = action_aliases(rs)  # read as the actions are bound, as `durable_host.register` does
        api_host.set_rulesets({rs.durable_name: copy.deepcopy(rs.durable_definition)})
        api_host.binding = {}
    matches = 0
    with heap.frozen():
        started = time.perf_counter()
        for rs in rulesets:
            for i in range(0, len(facts), 1000):
                held = []
                for n, fact in enumerate(facts[i : i + 1000]):
                    message = dict(fact, id=f"m{n}", sid="0")
                    try:
                        api_host.assert_fact(rs.durable_name, message)
                        held.append(message)
                    except MessageNotHandledException:
                        pass
                matches += len(api_host.recorded.pop((rs.durable_name, "0"), []))
                for message in reversed(held):
                    api_host.retract_fact(rs.durable_name, message)
        return len(facts) / (time.perf_counter() - started), matches


def _match_raw(rulesets: list[Any], facts: list[dict[str, Any]]) -> tuple[float, int]:
    matches = 0
    started = time.perf_counter()
    for rs in rulesets:
        ids = frozenset(r.id for r in rs.rules if r.event)
        for i in range(0, len(facts), 1000):
            matches += len(durable_host.evaluate(rs.durable_name, ids, f"raw#{i}", facts[i : i + 1000], []))
    return len(facts) / (time.perf_counter() - started), matches


def vigil_rate(events: list[dict[str, Any]], *, stream: bool = True) -> tuple[float, int, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = _ndjson(events, Path(tmp))
        engine = db.make_engine(f"sqlite:///{tmp}/bench.db")
        db.init_db(engine)
        with clock.frozen(AS_OF), db.unit_of_work(engine) as s:
            pipeline.ingest_records(s, org_id="bench", records=reference(), actor="bench", source="bench", stream=False)
        started, cpu = time.perf_counter(), _cpu()
        with clock.frozen(AS_OF), db.unit_of_work(engine) as s:
            pipeline.ingest_files(s, org_id="bench", paths=[path], actor="bench", stream=stream)
        elapsed = time.perf_counter() - started
        spent = [round((after - before) / len(events) * 1e6, 1) for before, after in zip(cpu, _cpu(), strict=True)]
        from engine.findings.tables import FindingRow

        with db.unit_of_work(engine) as s:
            found = s.scalar(select(func.count()).select_from(FindingRow)) or 0
        engine.dispose()
    return len(events) / elapsed, found, spent


def _ndjson(events: list[dict[str, Any]], where: Path) -> Path:
    """The events as the NDJSON file (b), (i) and (f) read: the same bytes for each."""
    path = where / "access_event.ndjson"
    with path.open("w") as fh:
        for e in events:
            fh.write(json.dumps(e) + "\n")
    return path


def floor_row(raw: dict[str, Any]) -> ingest.WrittenVersion:
    """The version (f) stores for a valid event: its canonical text (sorted keys; an event generated
    here has nothing the canonical form changes) and that text's SHA-256, as the import computes them."""
    text = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(text).hexdigest()
    return ingest.WrittenVersion(raw["type"], raw["id"], 1, raw, digest, AS_OF, "bench", "floor", None, text.decode())


def floor_rate(events: list[dict[str, Any]]) -> tuple[float, int, float]:
    """(f): events/s, rows stored and CPU us per event of the import's floor (see the module's doc)."""
    batch_model = TypeAdapter(list[AccessEvent])
    with tempfile.TemporaryDirectory() as tmp:
        path = _ndjson(events, Path(tmp))
        engine = db.make_engine(f"sqlite:///{tmp}/floor.db")
        db.init_db(engine)

        def store(session: Any, raws: list[dict[str, Any]]) -> None:
            batch_model.validate_python(raws)  # raises on an invalid event: the floor stores valid ones only
            ingest._insert_versions(session, "bench", [floor_row(raw) for raw in raws])

        started, cpu = time.perf_counter(), time.process_time()
        with db.unit_of_work(engine) as s, path.open("rb") as lines:
            pending: list[dict[str, Any]] = []
            for line in lines:
                pending.append(orjson.loads(line))
                if len(pending) == ingest.BATCH_SIZE:
                    store(s, pending)
                    pending = []
            if pending:
                store(s, pending)
        elapsed, spent = time.perf_counter() - started, time.process_time() - cpu
        with db.unit_of_work(engine) as s:
            stored = s.scalar(select(func.count()).select_from(record_version)) or 0
        engine.dispose()
    return len(events) / elapsed, stored, round(spent / len(events) * 1e6, 1)


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process and of its ended children (the stream process)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


@contextlib.contextmanager
def _bench_rulesets() -> Iterator[None]:
    """The 20 bench event rules, for this benchmark only (a sweep run after it reads the real ones)."""
    before = os.environ.get("VIGIL_RULESETS_DIR")
    os.environ["VIGIL_RULESETS_DIR"] = BENCH_RULESETS
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("VIGIL_RULESETS_DIR", None)
        else:
            os.environ["VIGIL_RULESETS_DIR"] = before


def main(n: int, rounds: int | None = None) -> dict[str, Any]:
    rounds = rounds or int(os.environ.get("BENCH_ROUNDS", "3"))
    events = make_events(n)
    raws: list[float] = []
    apis: list[float] = []
    runs: list[tuple[float, int, list[float]]] = []
    imports: list[tuple[float, int, list[float]]] = []
    floors: list[tuple[float, int, float]] = []
    with _bench_rulesets():
        raw, raw_matches = raw_rate(events)
        raws.append(raw)
        api, api_matches = raw_api_rate(events)
        apis.append(api)
        for _ in range(rounds):
            runs.append(vigil_rate(events))
            imports.append(vigil_rate(events, stream=False))
            floors.append(floor_rate(events))
            raws.append(raw_rate(events)[0])
            apis.append(raw_api_rate(events)[0])
    ratios = [vig / ((raws[i] + raws[i + 1]) / 2) for i, (vig, _, _) in enumerate(runs)]
    api_ratios = [vig / ((apis[i] + apis[i + 1]) / 2) for i, (vig, _, _) in enumerate(runs)]
    import_ratios = [imp / ((raws[i] + raws[i + 1]) / 2) for i, (imp, _, _) in enumerate(imports)]
    floor_ratios = [f[0] / ((raws[i] + raws[i + 1]) / 2) for i, f in enumerate(floors)]
    median = sorted(range(rounds), key=lambda i: ratios[i])[rounds // 2]
    vig, found, (main_cpu, children_cpu) = runs[median]
    out = {
        "events": n,
        "rounds": rounds,
        "raw_durable_events_per_s": round((raws[median] + raws[median + 1]) / 2),
        "raw_runs": [round(r) for r in raws],
        "vigil_stream_events_per_s": round(vig),
        "vigil_runs": [round(r[0]) for r in runs],
        "ratio_vigil_over_raw": round(ratios[median], 3),
        "ratio_rounds": [round(r, 3) for r in ratios],
        "raw_durable_api_events_per_s": round((apis[median] + apis[median + 1]) / 2),
        "ratio_vigil_over_raw_api": round(api_ratios[median], 3),
        "ratio_api_rounds": [round(r, 3) for r in api_ratios],
        "import_only_events_per_s": round(imports[median][0]),
        "import_only_runs": [round(r[0]) for r in imports],
        "ratio_import_only_over_raw": round(import_ratios[median], 3),
        "ratio_import_only_rounds": [round(r, 3) for r in import_ratios],
        "import_only_cpu_us_per_event": imports[median][2][0],
        "import_only_findings": max(r[1] for r in imports),  # 0: nothing was matched
        "floor_events_per_s": round(floors[median][0]),
        "floor_runs": [round(f[0]) for f in floors],
        "ratio_floor_over_raw": round(floor_ratios[median], 3),
        "ratio_floor_rounds": [round(r, 3) for r in floor_ratios],
        "floor_cpu_us_per_event": floors[median][2],
        "floor_rows": min(f[1] for f in floors),
        "raw_us_per_event": round(1e6 / ((raws[median] + raws[median + 1]) / 2), 1),
        "vigil_cpu_us_per_event_importer": main_cpu,
        "vigil_cpu_us_per_event_stream_processes": children_cpu,
        "raw_matches": raw_matches,
        "raw_api_matches": api_matches,
        "vigil_findings": min(r[1] for r in runs),
        "vigil_findings_max": max(r[1] for r in runs),
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
