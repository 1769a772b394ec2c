"""`vigil scheduler run`: the nightly sweep, waiver expiries, recurrence, escalation, digests, delivery."""

from __future__ import annotations

import os
from typing import Any

import typer

from engine.cli import tables
from engine.cli.app import app, console, emit_json, err_console, run
from engine.cli.common import (
    ORG_HELP,
    DbOption,
    cli_actor,
    finite,
    iso_z,
    json_flag,
    known_orgs,
    open_database,
    open_org,
    org_exists,
    org_or_default,
    org_to_write,
    require_org,
)
from engine.errors import ErrorDetail, InputError

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
                  db: str = DbOption,
                  as_json: bool = json_flag("print one JSON line per event: what it prints anyway, as a log for "
                                            "machines; the flag is taken so that a script may say so")) -> None:
    """Run the scheduler in the foreground; with several processes on PostgreSQL one leads, the rest wait.

    Prints one JSON line per event (leader, standby, job, stopped)."""
    del as_json  # JSON lines with or without it: a scheduler's output is read by log collectors
    from engine import scheduler

    def body() -> int:
        from engine.cli.serve import settings_in_use

        settings_in_use()  # as `vigil serve`: a mistyped policies folder had run with none
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
                             names=_jobs_named(only))

    try:
        code = run(body)
    except ValueError as exc:
        err_console.print(f"[bold red]error[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None
    if code:
        raise typer.Exit(code=code)


NOTIFICATION_STATES = ("pending", "sending", "sent", "failed", "skipped")


@scheduler_app.command("notifications")
def notifications(
    state: str = typer.Option(None, "--state", help=f"only these: {', '.join(NOTIFICATION_STATES)}"),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="how many, newest first (1-1000)"),
    org: str = typer.Option(None, "--org", help=ORG_HELP),
    db: str = DbOption,
    as_json: bool = json_flag("print them as JSON"),
) -> None:
    """List the notifications (mail and webhook) with their state, attempts and last error: a failed
    one is given up after the policy's retries; `vigil scheduler resend` sends it again."""
    from engine.db import unit_of_work
    from engine.tasks import notify

    def body() -> tuple[list[Any], int]:
        if state is not None and state not in NOTIFICATION_STATES:
            raise InputError(f"unknown state {state!r}", [ErrorDetail(
                reason=f"one of {', '.join(NOTIFICATION_STATES)}", field="--state")], code="input.choice")
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            every = notify.list_notifications(s, org_id=org_id, state=state)
            return every[::-1][:limit], len(every)

    items, total = run(body)
    if as_json:
        emit_json([n.model_dump(mode="json", exclude={"body", "payload"}) for n in items])
        return
    # "50 notification(s)" of 97 failed had read as all of them (the operations pass)
    shown = f"{len(items)} of {total} notifications" if total > len(items) else f"{total} notification(s)"
    listing = tables.table(tables.keep("id\ncreated"), tables.keep("kind\nchannel"), tables.keep("to\nstate"),
                           tables.squeeze("subject\nlast error"), title=f"{shown}, newest first")
    for n in items:
        listing.add_row(tables.stacked(n.id, iso_z(n.created_at.replace(microsecond=0))),
                        tables.stacked(n.kind, n.channel), tables.stacked(n.recipient, f"{n.state} ({n.attempts})"),
                        tables.stacked(n.subject, n.last_error or ""))
    console.print(listing)
    if total > len(items):
        console.print(f"{total - len(items)} older not shown: --limit {min(total, 1000)}"
                      + (" (1000 at most; --state narrows them)" if total > 1000 else ""), highlight=False)


@scheduler_app.command("resend")
def resend(
    ids: list[str] = typer.Argument(None, metavar="[NOTIFICATION_ID]...", help="failed notifications to send again",
                                    show_default=False),
    all_failed: bool = typer.Option(False, "--failed", help="every failed notification of the practice"),
    org: str = typer.Option(None, "--org", help=ORG_HELP),
    db: str = DbOption,
    as_json: bool = json_flag("print the ids queued again as JSON"),
) -> None:
    """Queue failed notifications again (after an outage longer than the retries): the next delivery
    tries each once more; each resend is in the audit trail."""
    from engine.db import unit_of_work
    from engine.tasks import notify

    def body() -> list[str]:
        if bool(ids) == all_failed:
            raise InputError("name the notifications to send again, or give --failed for all", [ErrorDetail(
                reason="give NOTIFICATION_IDs or --failed, not both and not neither", field="--failed")],
                code="input.option")
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            return notify.resend(s, org_id=org_id, ids=None if all_failed else list(ids), actor=cli_actor())

    queued = run(body)
    if as_json:
        emit_json(queued)
        return
    console.print(f"{len(queued)} notification(s) queued again; the scheduler's delivery sends them",
                  highlight=False)


def _jobs_named(only: str | None) -> list[str] | None:
    """The jobs `--only` names, or None when it is not given (every job). Given but naming none
    (`--only ""`, a script's empty $JOBS) is bad input: it had run every job, the sweep included."""
    if only is None:
        return None
    names = [n.strip() for n in only.split(",") if n.strip()]
    if not names:
        from engine.scheduler import JOBS

        raise ValueError(f"--only names no job: give one or more of {', '.join(JOBS)}, comma-separated")
    return names
