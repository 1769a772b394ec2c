"""`vigil demo-data`: write a synthetic multi-site medical group as NDJSON (see engine.demo)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from engine import clock
from engine.cli.app import app, console, emit_json, run
from engine.cli.common import finite, json_flag, out_dir, parse_date
from engine.errors import InputError

MAX_SCALE = 1000.0
#: the practice `vigil demo` sets up, and `vigil demo-data` writes unless told another seed: the
#: README's `vigil demo-data --out var/demo-data` had written seed 7's practice over the demo's files
DEMO_SEED = 1


@app.command("demo-data")
def demo_data_cmd(
    out: Annotated[Path, typer.Option("--out", help="Directory for <type>.ndjson, planted.json, manifest.json.")],
    size: Annotated[str, typer.Option("--size", help="small (~100 staff, ~12k access events) or large.")] = "small",
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same arguments give byte-identical files "
                                                      "(default: the demo's practice).")] = DEMO_SEED,
    anchor: Annotated[
        str | None,
        typer.Option("--anchor", help="The 'today' the data are built around (YYYY-MM-DD); default: today (New York)."),
    ] = None,
    scale: Annotated[float, typer.Option(
        "--scale", help=f"Multiply workforce, patients and events (a number > 0, at most {MAX_SCALE:g}).")] = 1.0,
    as_json: bool = json_flag("Print a machine-readable summary."),
) -> None:
    """Generate a deterministic synthetic practice with planted compliance problems."""
    from engine.demo import generate

    def body() -> None:
        if size not in ("small", "large"):
            raise InputError(f"--size must be small or large, not {size!r}", code="input.size")
        finite(scale, "--scale", high=MAX_SCALE)
        day = parse_date(anchor, "--anchor") if anchor is not None else clock.today_in("America/New_York")
        assert day is not None
        out_dir(out, "--out")
        started = time.perf_counter()
        result = generate(out, size=size, seed=seed, anchor=day, scale=scale)
        elapsed = time.perf_counter() - started
        total = sum(result.counts.values())
        total_bytes = sum(result.bytes.values())
        if as_json:
            emit_json({"out": str(out), "anchor": day.isoformat(), "as_of": result.manifest["as_of"],
                       "records": total, "bytes": total_bytes, "planted": result.planted,
                       "seconds": round(elapsed, 2), "counts": result.counts})
            return
        console.print(
            f"{total:,} records ({total_bytes / 1e6:,.1f} MB) in {elapsed:.1f} s -> {out}; "
            f"{result.planted} planted cases (planted.json), anchor {day}, evaluate --as-of "
            f"{result.manifest['as_of']}",
            highlight=False,
        )

    run(body)
