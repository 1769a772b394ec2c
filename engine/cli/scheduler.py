"""`vigil scheduler run`: the nightly sweep, recurrence, escalation, digests and notification delivery."""

from __future__ import annotations

import os

import typer

from engine.cli.app import app, err_console, run
from engine.cli.common import org_or_default

scheduler_app = typer.Typer(help="The scheduler: sweeps, recurring tasks, escalations, notifications.",
                            no_args_is_help=True)
app.add_typer(scheduler_app, name="scheduler")


def _orgs(orgs: list[str] | None) -> list[str]:
    if orgs:
        return orgs
    env = os.environ.get("VIGIL_ORGS")
    return [o.strip() for o in env.split(",") if o.strip()] if env else [org_or_default(None)]


@scheduler_app.command("run")
def run_scheduler(once: bool = typer.Option(False, "--once", help="run every job once now, then exit"),
                  org: list[str] = typer.Option(None, "--org", help="practice to serve (repeat; default VIGIL_ORGS)"),
                  only: str = typer.Option(None, "--only", help="comma-separated jobs: sweep,recurrence,escalation,"
                                                                "digest,notify"),
                  tick: float = typer.Option(None, "--tick", help="fire every job every N seconds (testing, demos)"),
                  duration: float = typer.Option(None, "--for", help="stop after N seconds"),
                  poll: float = typer.Option(5.0, "--poll", help="seconds between leadership checks"),
                  db: str = typer.Option(None, "--db")) -> None:
    """Run the scheduler in the foreground; with several processes on PostgreSQL one leads, the rest wait.

    Prints one JSON line per event (leader, standby, job, stopped)."""
    from engine import db as dbmod
    from engine import scheduler

    def body() -> int:
        engine = dbmod.make_engine(db)
        dbmod.init_db(engine)
        return scheduler.run(engine, orgs=_orgs(org), once=once, tick=tick, duration=duration, poll=poll,
                             names=[n.strip() for n in only.split(",")] if only else None)

    try:
        code = run(body)
    except ValueError as exc:
        err_console.print(f"[bold red]error[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None
    if code:
        raise typer.Exit(code=code)
