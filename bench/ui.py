"""UI render time on the large synthetic practice: the median of ~30 requests each to the findings
list and the dashboard (signed in as the officer), against the 300 ms target; and, with no target,
a filtered findings list and the Data gaps page (which reads every record of the checked types).

    python -m bench.ui                      # generate, import and evaluate the large practice first
    python -m bench.ui --db sqlite:///x.db  # reuse a prepared database (org `bench`)
    python -m bench.ui --keep var/bench-ui  # prepare into a folder and keep it for the next run

Preparing is `vigil demo-data --size large`, `vigil import` and two `vigil evaluate --db` runs four
weeks apart (so the dashboard's trend has two points); it takes a while (about 35 minutes here,
most of it in the two evaluations). The requests go through the whole ASGI stack in process
(routing, session, services, Jinja2), one after another; the first three are warm-ups and not
counted (`first_ms` is the very first, caches cold). Prints one JSON line per page, then the verdict.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VIGIL = [sys.executable, "-m", "engine.cli.main"]
ANCHOR = "2026-11-30"
RUNS = ("2026-11-02T17:00:00Z", "2026-11-30T17:00:00Z")
ORG = "bench"
TARGET_MS = 300.0


def _run(cmd: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def prepare(folder: Path) -> str:
    """Generate, import and evaluate the large practice into folder/ui.db; returns the URL."""
    data = folder / "data"
    db = f"sqlite:///{folder / 'ui.db'}"
    secs = _run(VIGIL + ["demo-data", "--size", "large", "--seed", "1", "--anchor", ANCHOR, "--out", str(data)])
    print(json.dumps({"step": "generate", "seconds": round(secs, 1)}), flush=True)
    files = sorted(str(p) for p in data.glob("*.ndjson"))
    secs = _run(VIGIL + ["import", *files, "--db", db, "--org", ORG, "--json"])
    print(json.dumps({"step": "import", "seconds": round(secs, 1)}), flush=True)
    for as_of in RUNS:
        secs = _run(VIGIL + ["evaluate", "--db", db, "--org", ORG, "--as-of", as_of, "--json"])
        print(json.dumps({"step": f"evaluate {as_of}", "seconds": round(secs, 1)}), flush=True)
    return db


def _client(db: str) -> Any:
    import re

    from fastapi.testclient import TestClient

    from engine import db as dbmod
    from engine.api.app import create_app
    from engine.demo.users import ensure_demo_users

    engine = dbmod.make_engine(db)
    with dbmod.unit_of_work(engine) as s:
        ensure_demo_users(s, org_id=ORG)
    client = TestClient(create_app(engine))
    page = client.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post("/ui/login", data={"username": "officer", "password": "officer-demo-pass",
                                       "csrf_token": token.group(1)}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    return client


def measure(client: Any, path: str, n: int, warmup: int = 3) -> dict[str, Any]:
    times: list[float] = []
    first = 0.0
    size = 0
    for i in range(warmup + n):
        started = time.perf_counter()
        r = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if r.status_code != 200:
            raise SystemExit(f"GET {path}: {r.status_code}\n{r.text[:1000]}")
        size = len(r.content)
        if i == 0:
            first = elapsed
        if i >= warmup:
            times.append(elapsed)
    times.sort()
    return {"page": path, "requests": n, "median_ms": round(statistics.median(times), 1),
            "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1), "min_ms": round(times[0], 1),
            "max_ms": round(times[-1], 1), "first_ms": round(first, 1), "bytes": size, "target_ms": TARGET_MS,
            "ok": statistics.median(times) < TARGET_MS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a prepared database URL (org 'bench'); default: prepare one")
    parser.add_argument("--keep", type=Path, help="prepare into this folder and keep it")
    parser.add_argument("-n", type=int, default=30, help="requests per page (default 30)")
    args = parser.parse_args(argv)
    tmp = None
    db = args.db
    if db is None:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            db = prepare(args.keep)
        else:
            tmp = tempfile.TemporaryDirectory()
            db = prepare(Path(tmp.name))
    try:
        client = _client(db)
        total = client.get("/findings", params={"limit": 1}).json()["total"]
        print(json.dumps({"findings": total, "database": db}), flush=True)
        results = [measure(client, "/ui/findings", args.n), measure(client, "/ui/dashboard", args.n)]
        extra = [measure(client, "/ui/findings?state=&severity=high,critical&limit=100", max(5, args.n // 3)),
                 measure(client, "/ui/records/gaps", max(5, args.n // 3))]  # reads every checked record
        for r in results + extra:
            print(json.dumps(r), flush=True)
        ok = all(r["ok"] for r in results)
        print(f"UI render medians: findings list {results[0]['median_ms']} ms, dashboard {results[1]['median_ms']} ms "
              f"(target < {TARGET_MS:.0f} ms): {'OK' if ok else 'OVER TARGET'}")
        return 0 if ok else 1
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
