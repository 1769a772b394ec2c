"""`vigil scheduler run`: the nightly sweep, waiver expiries, recurrence, escalation, digests, delivery."""

from __future__ import annotations

import os
from typing import Any

import typer

from engine.cli.app import app, err_console, run
from engine.cli.common import (
    DbOption,
    finite,
    known_orgs,
    open_database,
    org_exists,
    org_or_default,
    org_to_write,
    require_org,
)

MAX_POLL = 3600.0
MAX_TICK = 86400.0

scheduler_app = typer.Typer(help="The scheduler: sweeps, recurring tasks, escalations, notifications.",
                            no_args_is_help=True)
app.add_typer(scheduler_app, name="scheduler")


def orgs_named(orgs: list[str] | None) -> list[str] | None:
    """The practices named by --org or VIGIL_ORGS; None when neither names one (see `org_to_write`)."""
    if orgs:
        return [org_or_default(o) for o in orgs]  # an empty --org is refused
    env = os.environ.get("VIGIL_ORGS")
    named = [o.strip() for o in env.split(",") if o.strip()] if env else []
    return named or None


def held_org(engine: Any, name: str, option: str) -> str:
    """A practice the scheduler is told to serve: one the database holds, or any name while it holds
    none yet (a practice being set up, whose recurring tasks may start before its first import)."""
    if org_exists(engine, name) or not known_orgs(engine):
        return name
    return require_org(engine, name, option)  # refused, listing the practices it holds


ONCE_HELP = ("run every job once now, then exit; a job runs at most once a period, so a sweep run now is that "
             "day's sweep (the 02:00 one then finds it done)")


@scheduler_app.command("run")
def run_scheduler(once: bool = typer.Option(False, "--once", help=ONCE_HELP),
                  org: list[str] = typer.Option(None, "--org", help="practice to serve (repeat; default: $VIGIL_ORGS, "
                                                    "$VIGIL_ORG, the database's only one, else 'default'; "
                                                    "several and none named is refused)"),
                  only: str = typer.Option(None, "--only", help="comma-separated jobs: sweep,waivers,recurrence,"
                                                                "escalation,digest,notify"),
                  tick: float = typer.Option(None, "--tick", help="fire every job every N seconds, 0 < N <= "
                                                                   f"{MAX_TICK:g} (testing, demos)"),
                  duration: float = typer.Option(None, "--for", help="stop after N seconds, N > 0 (default: run "
                                                                     "until stopped)"),
                  poll: float = typer.Option(5.0, "--poll", help=f"seconds between leadership checks, more than 0 "
                                                                 f"and at most {MAX_POLL:g}"),
                  db: str = DbOption) -> None:
    """Run the scheduler in the foreground; with several processes on PostgreSQL one leads, the rest wait.

    Prints one JSON line per event (leader, standby, job, stopped)."""
    from engine import scheduler

    def body() -> int:
        finite(tick, "--tick", high=MAX_TICK)
        finite(duration, "--for")
        finite(poll, "--poll", high=MAX_POLL)
        orgs = orgs_named(org)
        # the loop looks at the clock once per poll: a shorter --for would overrun to the next poll
        every = min(poll, duration) if duration is not None else poll
        engine = open_database(db, must_exist=False)
        # a named practice must be one the database holds: a typo had been swept as a new, empty
        # practice (a run and a year of recurring tasks for nobody) while the real one went unswept
        orgs = [held_org(engine, o, "--org" if org else "VIGIL_ORGS") for o in orgs] if orgs else None
        # none named: VIGIL_ORG, else the database's only practice (after `vigil demo`), else 'default'
        orgs = orgs or [org_to_write(engine, None)]
        return scheduler.run(engine, orgs=orgs, once=once, tick=tick, duration=duration, poll=every,
                             names=[n.strip() for n in only.split(",")] if only else None)

    try:
        code = run(body)
    except ValueError as exc:
        err_console.print(f"[bold red]error[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None
    if code:
        raise typer.Exit(code=code)
