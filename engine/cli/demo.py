"""`vigil demo`: set up a synthetic practice end to end (what `make demo` runs).

Generates the small practice, imports it into the embedded SQLite database, replays the weekly
sweeps of the past weeks and evaluates every ruleset as of now, creates one user per role (when
accounts exist) and the evidence packet of the demo auditor's window, prints a summary and where to
look, then serves the web UI and API (unless --no-serve).

Why replay: a practice meets Vigil after it has been sweeping for a while. Evaluated once, the demo
showed a trend of one point, no finding resolved by a later run and no task closed by one. The
records are imported as of the first replayed sweep and each sweep runs with the clock at its own
instant, in order, applied to the findings store as the nightly sweep would have applied it, so
findings, tasks and the audit trail carry the dates they would have had (a task opened eight weeks
ago is overdue today), and today's findings are the ones a single evaluation as of now gives. The
one liberty: the records, events to come included, are on file from the first sweep on (a
`--known-at` look at those weeks sees them all).

Run again into the same database, the demo keeps the practice it set up and evaluates it as of now.
Generated again for a later day, the practice's access events would differ under the same ids, and
events are immutable: the second `make demo` failed with thousands of "already imported with
different content" errors.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from engine.cli.app import app, console, emit_json, err_console, run
from engine.cli.common import json_flag, open_database, out_dir
from engine.cli.demo_data import DEMO_SEED

DEMO_ORG = "demo"
#: Where the demo sets up its practice unless --db names another.
DEMO_DB = "sqlite:///./vigil.db"
#: Weekly sweeps replayed before today's by default: two months of trend.
REPLAY_WEEKS = 8


@app.command("demo")
def demo(
    no_serve: bool = typer.Option(False, "--no-serve", help="set up and print a summary, do not serve"),
    db: str | None = typer.Option(None, "--db", help="database to set up (default sqlite:///./vigil.db, even when "
                                                     "$DATABASE_URL is set: the demo writes a synthetic practice)"),
    data_dir: Path = typer.Option(Path("var/demo-data"), "--data", help="where the synthetic practice is written"),
    seed: int = typer.Option(DEMO_SEED, "--seed", help="random seed of the synthetic practice"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to serve on"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="port to serve on"),
    weeks: int = typer.Option(REPLAY_WEEKS, "--weeks", min=0, max=52,
                              help="weekly sweeps of the past weeks replayed before today's (the dashboard's trend); "
                                   "only into a new database"),
    as_json: bool = json_flag("print the summary as JSON"),
) -> None:
    """Generate, import and evaluate the synthetic practice, then serve the UI."""
    from engine import clock, pipeline
    from engine import db as dbmod
    from engine.records import service as records_service

    url = db or DEMO_DB
    elsewhere = os.environ.get("DATABASE_URL")
    if db is None and elsewhere and not _same_database(elsewhere, DEMO_DB) and not as_json:
        # the demo's synthetic practice never goes into the database the shell names unless asked;
        # said, because `vigil serve` or `findings list` run next in this shell would open that one
        err_console.print(f"DATABASE_URL names another database; the demo sets up its own, {url} (in "
                          f"{Path.cwd()}): give --db \"$DATABASE_URL\" to set up that one, or --db {url} to the "
                          "commands you run next", highlight=False, markup=False, soft_wrap=True)

    def body() -> dict[str, Any]:
        if not no_serve:  # before the set-up, not after it
            importlib.import_module("engine.cli.serve").check_listen(host, port)
        engine = open_database(url, must_exist=False)
        out_dir(data_dir, "--data")
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("VIGIL_ORG", DEMO_ORG)
        with dbmod.unit_of_work(engine) as session:
            on_file = records_service.count_records(session, org_id=DEMO_ORG)
        if on_file:  # set up before: kept as generated then (its events cannot change), evaluated as of now
            instants, records, imported = [clock.now()], on_file, 0
        else:
            generator = importlib.import_module("engine.demo.generator")
            generator.write_practice(out=data_dir, size="small", seed=seed, anchor=clock.today_in("America/New_York"))
            instants = sweep_instants(clock.now(), weeks)
            with clock.frozen(instants[0]), dbmod.unit_of_work(engine) as session:
                report = pipeline.ingest_files(session, org_id=DEMO_ORG, paths=sorted(data_dir.glob("*.ndjson")),
                                               actor="demo", stream=False)
            records, imported = report.total, report.created
        for instant in _progress(instants, show=not as_json):
            with clock.frozen(instant), dbmod.unit_of_work(engine) as session:
                outcome = pipeline.evaluate(session, org_id=DEMO_ORG, as_of=instant, actor="demo", trigger="demo")
        users = _demo_users(engine)
        packet = None if on_file else _auditor_packet(engine)
        counts = Counter(v.framework for v in outcome.result.violations)
        return {
            "database": url, "org": DEMO_ORG, "records": records, "imported": imported, "existing": bool(on_file),
            "run": outcome.run.id if outcome.run else None, "runs": len(instants),
            "findings": len(outcome.result.violations), "by_framework": dict(sorted(counts.items())),
            "rules_firing": len({v.rule_id for v in outcome.result.violations}),
            "users": users, "packet": packet, "url": f"http://{host}:{port}/",
        }

    summary = run(body)
    if as_json:
        emit_json(summary)
    else:
        table = Table("framework", "findings", title=f"Demo practice evaluated (run {summary['run']})")
        for fw, n in summary["by_framework"].items():
            table.add_row(fw, str(n))
        console.print(table)
        if summary["existing"]:
            console.print(f"The demo practice already in {summary['database']} ({summary['records']} records), "
                          f"evaluated as of now: {summary['findings']} findings from {summary['rules_firing']} rules. "
                          f"Delete the database for a new one.")
        else:
            console.print(f"{summary['records']} records imported into {summary['database']}; "
                          f"{summary['findings']} findings from {summary['rules_firing']} rules "
                          f"({summary['runs'] - 1} weekly sweeps replayed, then today's).")
        if summary["packet"]:
            console.print(f"Evidence packet {summary['packet']} built for the auditor's window (audit portal).",
                          highlight=False)
        for u in summary["users"]:
            person = f", person {u['person']}" if u.get("person") else ""
            console.print(f"  login [bold]{u['username']}[/] / {u['password']}  ({u['role']}{person})", highlight=False)
    if not no_serve:
        serve = importlib.import_module("engine.cli.serve")
        console.print(f"Serving the UI at http://{host}:{port}/ and the API docs at http://{host}:{port}/docs")
        serve.serve_app(host=host, port=port, db=url)


def _same_database(one: str, other: str) -> bool:
    """Whether two URLs name one database: for SQLite, one file however its path is written
    (sqlite:////tmp/x/vigil.db run in /tmp/x is ./vigil.db)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        first, second = make_url(one), make_url(other)
    except ArgumentError:
        return one == other
    if first.get_backend_name() == second.get_backend_name() == "sqlite" and first.database and second.database:
        return Path(first.database).resolve() == Path(second.database).resolve()
    return first == second


def sweep_instants(now: dt.datetime, weeks: int) -> list[dt.datetime]:
    """The replayed weekly sweeps' instants, oldest first, then `now` (elapsed weeks: instants, not
    wall-clock times, so a daylight-saving change in between moves nothing)."""
    return [now - dt.timedelta(weeks=k) for k in range(weeks, 0, -1)] + [now]


def _progress(instants: list[dt.datetime], *, show: bool) -> Iterator[dt.datetime]:
    """`instants`, with a progress bar on a terminal (each sweep takes a second or two)."""
    if not show or not err_console.is_terminal:
        yield from instants
        return
    with Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), console=err_console,
                  transient=True) as bar:
        task = bar.add_task("sweeps", total=len(instants))
        for instant in instants:
            yield instant
            bar.advance(task)


def _auditor_packet(engine: Any) -> str | None:
    """Build the evidence packet of the demo auditor's grant (framework and window) into the packet
    store, as an officer would from the audit page, so the auditor's portal has one to download and
    verify; its id, or None when there is no auditor with a grant."""
    from engine import db as dbmod
    from engine.auth import service as auth
    from engine.errors import NotFoundError
    from engine.packet_sources import DatabaseSources
    from engine.packets import service as packets

    with dbmod.unit_of_work(engine) as session:
        try:
            auditor = auth.get_user(session, username="auditor")
        except NotFoundError:
            return None
        grant = auth.active_grant(session, user_id=auditor.id)
        if grant is None:
            return None
        request = packets.PacketRequest.model_validate(
            {"framework": grant.framework, "from": grant.window_from, "to": grant.window_to})
        return packets.build_stored(session, org_id=DEMO_ORG, request=request, actor="demo",
                                    sources=DatabaseSources()).id


def _demo_users(engine: Any) -> list[dict[str, str]]:
    """One user per role (`engine.demo.users`), each with the person id their account is linked to."""
    from engine import db as dbmod
    from engine.demo.users import ensure_demo_users

    with dbmod.unit_of_work(engine) as session:
        return ensure_demo_users(session, org_id=DEMO_ORG)
