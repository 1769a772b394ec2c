"""Full sweeps of the synthetic practice on each backend, at several sizes.

For each scale: generate the practice (`vigil demo-data --size large --scale K`), import it into a
fresh SQLite database (timed, peak RSS), then evaluate every ruleset as of the anchor on each
backend in a child process (timed, peak RSS from the child's rusage). Prints one JSON line each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VIGIL = [sys.executable, "-m", "engine.cli.main"]
ANCHOR = "2026-11-30"
AS_OF = "2026-11-30T17:00:00Z"


def _child(cmd: list[str]) -> tuple[float, float, str]:
    """Run a command; return (seconds, peak RSS in MB of that child, stdout).

    The peak is that child's own (`wait4`): `RUSAGE_CHILDREN` gives the largest of every child
    waited for so far, so a later, smaller step read as large as the biggest one before it.
    """
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_RULESETS_DIR"}  # the shipped rulesets
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{stderr[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024, stdout


def run_scale(scale: float, backends: list[str], size: str = "large") -> list[dict[str, object]]:
    """Generate and import the practice at `scale` into a temporary database, then sweep it once on
    each backend; one JSON line each."""
    with tempfile.TemporaryDirectory() as tmp:
        base = build(scale, Path(tmp), size)
        return [sweep_row(base, backend) for backend in backends]


def alternating(scales: list[float], backends: list[str], size: str = "large") -> list[dict[str, object]]:
    """Every scale generated and imported first, then per backend each scale swept from the smallest
    up, and the smallest again, one after the other.

    Why: this machine's speed swings by a third within the hour (the same 1x sweep took 23.8 s and
    41.1 s in one afternoon), and `run_scale` one scale after the other puts the 10x generation and
    import (15 minutes) between the 1x and 10x sweeps, so their ratio said as much about the machine
    as about the sweep (8.4x and 10.5x in one such run; 11.9x to 15.3x back to back). The growth is
    judged on sweeps close in time: the largest against the smallest runs on either side of it."""
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        built = [build(k, Path(tmp) / f"x{k:g}", size) for k in sorted(scales)]
        for backend in backends:
            rows += [sweep_row(base, backend) for base in (built + built[:1] if len(built) > 1 else built)]
    return rows


def build(scale: float, where: Path, size: str = "large") -> dict[str, Any]:
    """Generate the practice at `scale` into `where` and import it into a SQLite database there
    (timed, peak RSS); the practice's figures and the database's URL (`db`)."""
    data = where / "data"
    gen_s, _, _ = _child(VIGIL + ["demo-data", "--size", size, "--seed", "1", "--anchor", ANCHOR,
                                  "--scale", str(scale), "--out", str(data)])
    files = sorted(str(p) for p in data.glob("*.ndjson"))
    lines = sum(sum(1 for _ in open(f)) for f in files)
    db = f"sqlite:///{where}/sweep.db"
    imp_s, imp_mb, _ = _child(VIGIL + ["import", *files, "--db", db, "--org", "bench", "--json"])
    for f in files:  # the database holds it now (10x: 4 GB of NDJSON)
        os.remove(f)
    base = {"size": size, "scale": scale, "records": lines, "generate_s": round(gen_s, 1), "import_s": round(imp_s, 1),
            "import_records_per_s": round(lines / imp_s), "import_peak_rss_mb": round(imp_mb)}
    print(json.dumps(base), flush=True)
    return {**base, "db": db}


def sweep_row(base: dict[str, Any], backend: str) -> dict[str, object]:
    """One sweep of a built practice on `backend`, as the JSON line printed."""
    result = sweep_db(base["db"], backend)
    row = {
        "size": base["size"],
        "scale": base["scale"],
        "backend": backend,
        "records": base["records"],
        "sweep_s": result["seconds"],
        "records_per_s": round(base["records"] / max(result["seconds"], 1e-9)),
        "peak_rss_mb": result["rss_mb"],
        "worker_peak_rss_mb": result["worker_rss_mb"] or None,  # durable_rules' worker process
        # the derive process (heavy derivations): its peak counts pages shared with the
        # sweep since the fork; its private memory at the end is what it adds
        "derive_peak_rss_mb": result["derive_rss_mb"] or None,
        "derive_private_mb": result["derive_private_mb"] or None,
        "derive_cpu_s": result["derive_cpu_s"] or None,
        "violations": result["violations"],
        "events": result["counts"].get("events"),
        "bundles": result["counts"].get("bundles"),
    }
    print(json.dumps(row), flush=True)
    return row


def sweep_db(db: str, backend: str) -> dict[str, Any]:
    """One sweep of the practice in `db` (org `bench`) as of the anchor, in a child process: its
    violations, counts, seconds, CPU seconds of that process (since it started, every thread), peak
    RSS, and the durable_rules worker's and derive process's figures (`python -m bench.sweep --db
    URL [BACKENDS]` runs this alone, on a database already imported)."""
    code = (
        "import datetime as dt, json, resource, time;"
        "from engine import db, pipeline;"
        f"e=db.make_engine({db!r}); t=time.perf_counter();"
        "s=db.session_factory(e)();"
        f"a=dt.datetime.fromisoformat({AS_OF!r}.replace('Z','+00:00'));"
        f"r=pipeline.evaluate(s, org_id='bench', as_of=a, actor='bench', backend={backend!r},"
        " persist=False).result;"
        "from engine.rules.backends import durable;"
        "from engine.rules import shared_scan;"
        "d=shared_scan.child_memory_mb() or {};"
        "print(json.dumps({'violations': len(r.violations), 'counts': r.counts,"
        " 'seconds': round(time.perf_counter()-t, 2), 'own_cpu_s': round(time.process_time(), 2),"
        " 'rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024),"
        " 'worker_rss_mb': round(durable.worker_peak_rss_mb() or 0),"
        " 'derive_rss_mb': round(d.get('peak_rss_mb', 0)),"
        " 'derive_private_mb': round(d.get('private_mb', 0)),"
        " 'derive_cpu_s': {k[6:]: v for k, v in d.items() if k.startswith('cpu_s:')}}))"
    )
    _, _, stdout = _child([sys.executable, "-c", code])
    return dict(json.loads(stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--db":
        for name in (sys.argv[3].split(",") if len(sys.argv) > 3 else ["python", "durable"]):
            print(json.dumps({"db": sys.argv[2], "backend": name, **sweep_db(sys.argv[2], name)}), flush=True)
    else:
        scales = [float(x) for x in (sys.argv[1].split(",") if len(sys.argv) > 1 else ["1", "10"])]
        for k in scales:
            run_scale(k, ["python", "durable"])
