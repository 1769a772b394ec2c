"""Scheduled work of the tasks domain, and the job ledger that makes any job run once per period.

`run_once(engine, job=, period=, body=)` claims (job, period) in the `job_run` table before doing
anything: a period that is done, or being run by a live process (its lease has not expired), is
skipped. A run whose process died keeps its row with an expired lease; the next claim takes it
over and runs the body again, which is safe because every body here is idempotent on its own
(unique task keys, unique escalation steps, unique notification keys, leased deliveries). Time is
read through engine.clock only, so tests drive it.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.db import unit_of_work, utc
from engine.tasks import escalation, notify, recurrence, store
from engine.tasks.policy import load_escalation
from engine.tasks.tables import JobRunRow

DEFAULT_LEASE = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class JobOutcome:
    job: str
    period: str
    ran: bool
    reason: str  # ran | taken_over | done | running | lost_race | failed
    summary: dict[str, Any]


def owner_id() -> str:
    """This process (host:pid), recorded on every job run it makes."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_once(engine: Engine, *, job: str, period: str, body: Callable[[], dict[str, Any]],
             lease: dt.timedelta = DEFAULT_LEASE) -> JobOutcome:
    """Run `body` for (job, period) unless that period is done or another live process holds it."""
    claim = _claim(engine, job=job, period=period, lease=lease)
    if claim != "claimed":
        return JobOutcome(job, period, False, claim, {})
    try:
        summary = body()
    except Exception as exc:
        _finish(engine, job=job, period=period, state="failed", summary={"error": f"{type(exc).__name__}: {exc}"})
        raise
    if not _finish(engine, job=job, period=period, state="done", summary=summary):
        return JobOutcome(job, period, True, "taken_over", summary)
    return JobOutcome(job, period, True, "ran", summary)


def _claim(engine: Engine, *, job: str, period: str, lease: dt.timedelta) -> str:
    now = clock.now()
    me = owner_id()
    with unit_of_work(engine) as session:
        stmt = select(JobRunRow).where(JobRunRow.job == job, JobRunRow.period == period)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = session.scalars(stmt).first()
        if row is None:
            fresh = JobRunRow(job=job, period=period, state="running", owner=me, takeovers=0, started_at=now,
                              lease_until=now + lease, summary={})
            return "claimed" if store.insert_once(session, fresh) else "lost_race"
        if row.state == "done":
            return "done"
        if row.state == "running" and utc(row.lease_until) > now:
            return "running"
        row.state, row.owner, row.takeovers = "running", me, row.takeovers + 1  # a dead or failed run: resume it
        row.started_at, row.lease_until = now, now + lease
        return "claimed"


def _finish(engine: Engine, *, job: str, period: str, state: str, summary: dict[str, Any]) -> bool:
    """Record how the run ended, if the row is still this process's. A run that outlived its lease
    may have been taken over by another process; the later run's record stands (the first to
    finish had overwritten it: "failed" over "done", or the reverse)."""
    with unit_of_work(engine) as session:
        stmt = select(JobRunRow).where(JobRunRow.job == job, JobRunRow.period == period)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = session.scalars(stmt).one()
        if row.owner != owner_id() or row.state != "running":
            return False
        row.state, row.finished_at, row.summary = state, clock.now(), summary
        return True


def list_job_runs(engine: Engine, *, job: str | None = None) -> list[dict[str, Any]]:
    with unit_of_work(engine) as session:
        stmt = select(JobRunRow)
        if job:
            stmt = stmt.where(JobRunRow.job == job)
        return [{"job": r.job, "period": r.period, "state": r.state, "owner": r.owner, "takeovers": r.takeovers,
                 "started_at": utc(r.started_at), "finished_at": utc(r.finished_at), "summary": r.summary}
                for r in session.scalars(stmt.order_by(JobRunRow.started_at, JobRunRow.id))]


def last_finished(session: Session, *, job: str, org_id: str) -> dt.datetime | None:
    """When the scheduler last finished `job` for the org (its periods are "<org>:<period>"), or None."""
    found = session.scalar(select(func.max(JobRunRow.finished_at)).where(
        JobRunRow.job == job, JobRunRow.period.startswith(f"{org_id}:", autoescape=True)))
    return utc(found)


# -- the job bodies (each one org, one transaction, idempotent) -----------------------------------

def recurrence_job(engine: Engine, *, org_id: str, policies: Path | str | None = None) -> dict[str, Any]:
    with unit_of_work(engine) as session:
        return recurrence.run_recurrence(session, org_id=org_id, as_of=clock.now(), policies=policies)


def escalation_job(engine: Engine, *, org_id: str, policies: Path | str | None = None) -> dict[str, Any]:
    with unit_of_work(engine) as session:
        return escalation.run_escalations(session, org_id=org_id, as_of=clock.now(), policies=policies)


def digest_job(engine: Engine, *, org_id: str, policies: Path | str | None = None) -> dict[str, Any]:
    with unit_of_work(engine) as session:
        added = notify.send_digests(session, org_id=org_id, as_of=clock.now(), policy=load_escalation(policies))
    return {"queued": added}


def notify_job(engine: Engine, *, org_id: str, policies: Path | str | None = None) -> dict[str, Any]:
    return notify.deliver_due(engine, policy=load_escalation(policies), org_id=org_id)
