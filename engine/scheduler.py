"""The scheduler face: APScheduler 3 inside the service runs the nightly sweep per practice, the
waiver expiries, the recurrence and escalation checks, the daily digests and notification delivery (with retries).

    leader election   PostgreSQL: a session-level advisory lock on a dedicated connection, keyed
                      by database and schema; a process that does not get it waits as a standby
                      and takes over when the leader's connection goes (crash, kill, network).
                      SQLite (embedded, one host): an exclusive file lock beside the database.
    job store         APScheduler's SQLAlchemyJobStore in the same database (table apscheduler_jobs);
                      fixed job ids with replace_existing, so restarts do not add jobs.
    idempotency       every firing goes through engine.tasks.jobs.run_once, one row per
                      (job, org:period): a second firing of a period, a second process or a
                      resumed crash changes nothing more.
    time              the jobs read engine.clock only; APScheduler's own wall clock only decides
                      when to wake up.

A sweep is this face calling engine.pipeline.evaluate, the same function the CLI and REST call.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, text

from engine import clock
from engine.tasks import jobs

JOB_TABLE = "apscheduler_jobs"


@dataclass(frozen=True)
class JobSpec:
    """A scheduled job, run for each practice the scheduler serves: how often."""

    name: str
    every: dt.timedelta
    daily_at_hour: int | None = None  # run once a local day from this hour on (the nightly sweep)


JOBS: dict[str, JobSpec] = {
    "sweep": JobSpec("sweep", dt.timedelta(hours=1), daily_at_hour=2),
    "waivers": JobSpec("waivers", dt.timedelta(minutes=15)),
    "recurrence": JobSpec("recurrence", dt.timedelta(hours=1)),
    "escalation": JobSpec("escalation", dt.timedelta(minutes=15)),
    "digest": JobSpec("digest", dt.timedelta(hours=1)),
    # each practice's own: a scheduler started for one practice had sent every practice's mail
    "notify": JobSpec("notify", dt.timedelta(minutes=1)),
}


@dataclass
class Runtime:
    """What the job functions need; set by `run` (APScheduler pickles only a job's name)."""

    engine: Engine
    orgs: list[str]
    tick: float | None = None
    policies: Path | str | None = None
    report: Callable[[dict[str, Any]], None] = lambda event: None
    outcomes: list[jobs.JobOutcome] = field(default_factory=list)
    anytime: bool = False  # --once: a daily job runs whatever the hour
    failures: int = 0  # jobs that raised for some practice (reported as job_failed)


_runtime: Runtime | None = None


# -- leader election -------------------------------------------------------------------------------

class LeaderLock:
    """Exactly one scheduler per database: a PostgreSQL advisory lock, or a file lock for SQLite."""

    def __init__(self, engine: Engine, name: str = "vigil.scheduler"):
        self.engine = engine
        self.name = name
        self._conn: Connection | None = None
        self._file: Any = None

    def key(self, conn: Connection) -> int:
        where = conn.execute(text("select current_database() || '/' || current_schema()")).scalar_one()
        digest = hashlib.sha256(f"{self.name}:{where}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            try:
                got = bool(conn.execute(text("select pg_try_advisory_lock(:k)"), {"k": self.key(conn)}).scalar_one())
                conn.commit()  # the lock is the session's, not the transaction's: end the transaction
            except Exception:
                conn.close()
                raise
            if not got:
                conn.close()
                return False
            self._conn = conn
            return True
        return self._lock_file()

    def _lock_file(self) -> bool:
        import fcntl

        database = self.engine.url.database
        if not database or database == ":memory:":
            self._file = True
            return True
        handle = open(f"{database}.scheduler.lock", "a+")  # noqa: SIM115 - held for the process' life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    @property
    def held(self) -> bool:
        return self._conn is not None or self._file is not None

    def alive(self) -> bool:
        """Is the lock still ours? (PostgreSQL: the connection holding it still answers.)"""
        if self._conn is None:
            return self._file is not None
        try:
            self._conn.execute(text("select 1"))
            self._conn.commit()
            return True
        except Exception:
            return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(text("select pg_advisory_unlock_all()"))
                self._conn.commit()
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._file is not None and self._file is not True:
            self._file.close()
        self._file = None


# -- job bodies ------------------------------------------------------------------------------------

def period_of(spec: JobSpec, now: dt.datetime, *, tz: str, tick: float | None, anytime: bool = False) -> str | None:
    """The period a firing at `now` belongs to (None: not yet time today, for a daily job, unless `anytime`)."""
    if tick:
        return str(int(now.timestamp() // tick))
    if spec.daily_at_hour is not None:
        local = now.astimezone(ZoneInfo(tz))
        if local.hour < spec.daily_at_hour and not anytime:
            return None
        return local.date().isoformat()
    step = int(spec.every.total_seconds())
    start = int(now.timestamp()) // step * step
    return dt.datetime.fromtimestamp(start, dt.UTC).strftime("%Y-%m-%dT%H:%M")


def _sweep(rt: Runtime, org_id: str) -> dict[str, Any]:
    from engine import pipeline
    from engine.db import unit_of_work

    with unit_of_work(rt.engine) as session:
        result = pipeline.evaluate(session, org_id=org_id, as_of=clock.now(), actor="system:scheduler",
                                   trigger="schedule")
    diff = result.diff.model_dump() if result.diff is not None else {}
    # roles.yaml giving work to someone the practice lacks: a warning line each, as escalation's
    return {"run_id": result.run.id if result.run else None,
            "diff": {k: len(v) for k, v in diff.items()}, "tasks": result.tasks or {}} | (
        {"warnings": result.warnings} if result.warnings else {})


def _expire_waivers(rt: Runtime, org_id: str) -> dict[str, Any]:
    from engine import pipeline
    from engine.db import unit_of_work

    with unit_of_work(rt.engine) as session:
        reopened = pipeline.expire_waivers(session, org_id=org_id, at=clock.now(), actor="system:scheduler")
    return {"reopened": reopened}


def _org_zone(rt: Runtime, org_id: str) -> str:
    from engine.db import unit_of_work
    from engine.tasks import store

    with unit_of_work(rt.engine) as session:
        return store.default_zone(store.establishment_zones(session, org_id=org_id))


def run_job(name: str) -> list[jobs.JobOutcome]:
    """The APScheduler target (referenced by name, so the job store can persist it)."""
    rt = _runtime
    if rt is None:
        raise RuntimeError("the scheduler runtime is not set (engine.scheduler.run sets it)")
    return run_spec(rt, JOBS[name])


def run_spec(rt: Runtime, spec: JobSpec) -> list[jobs.JobOutcome]:
    now = clock.now()
    out: list[jobs.JobOutcome] = []
    bodies: list[tuple[str, str | None, Callable[[], dict[str, Any]]]] = []
    for org in rt.orgs:
        try:  # the practice's zone is read from its records: that can fail too, for this practice only
            tz = _org_zone(rt, org) if spec.daily_at_hour is not None else "UTC"
        except Exception as exc:
            _failed(rt, spec, org, None, exc)
            continue
        bodies.append((org, period_of(spec, now, tz=tz, tick=rt.tick, anytime=rt.anytime),
                       _body(rt, spec.name, org)))
    for org, period, body in bodies:
        if period is None:
            continue
        try:
            outcome = jobs.run_once(rt.engine, job=spec.name, period=f"{org}:{period}", body=body)
        except Exception as exc:  # a failing practice must not stop the others
            _failed(rt, spec, org, period, exc)
            continue
        out.append(outcome)
        rt.outcomes.append(outcome)
        rt.report({"event": "job", "job": spec.name, "period": outcome.period, "ran": outcome.ran,
                   "reason": outcome.reason, "owner": jobs.owner_id(), "summary": outcome.summary})
        for warning in outcome.summary.get("warnings", []):  # work that reaches no one: said on its own line
            rt.report({"event": "warning", "job": spec.name, "org": org, "period": outcome.period,
                       "warning": warning})
    return out


def _failed(rt: Runtime, spec: JobSpec, org: str, period: str | None, exc: Exception) -> None:
    rt.failures += 1
    rt.report({"event": "job_failed", "job": spec.name, "org": org, "period": period,
               "error": f"{type(exc).__name__}: {exc}"})


#: What each job of `JOBS` does for one practice (`tests/unit/test_scheduler_jobs.py` holds the two
#: to the same names): a table, where an if-chain beside `JOBS` had to be kept in step by hand.
BODIES: dict[str, Callable[[Runtime, str], dict[str, Any]]] = {
    "sweep": _sweep,
    "waivers": _expire_waivers,
    "recurrence": lambda rt, org: jobs.recurrence_job(rt.engine, org_id=org, policies=rt.policies),
    "escalation": lambda rt, org: jobs.escalation_job(rt.engine, org_id=org, policies=rt.policies),
    "digest": lambda rt, org: jobs.digest_job(rt.engine, org_id=org, policies=rt.policies),
    "notify": lambda rt, org: jobs.notify_job(rt.engine, org_id=org, policies=rt.policies),
}


def _body(rt: Runtime, name: str, org: str) -> Callable[[], dict[str, Any]]:
    run = BODIES[name]
    return lambda: run(rt, org)


def run_all_once(rt: Runtime, names: list[str] | None = None) -> list[jobs.JobOutcome]:
    """Fire every job (or those named) once, now, in a fixed order: sweep first, delivery last."""
    out: list[jobs.JobOutcome] = []
    for name in names or list(JOBS):
        out.extend(run_spec(rt, JOBS[name]))
    return out


# -- the service loop ------------------------------------------------------------------------------

def _make_scheduler(rt: Runtime, names: list[str]) -> Any:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    store = SQLAlchemyJobStore(engine=rt.engine, tablename=JOB_TABLE)
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=dt.UTC,
                                    job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 600})
    scheduler.start(paused=True)
    for job in scheduler.get_jobs():
        if job.id not in names:
            job.remove()  # a job left from another configuration
    for name in names:
        every = dt.timedelta(seconds=rt.tick) if rt.tick else JOBS[name].every
        scheduler.add_job("engine.scheduler:run_job", IntervalTrigger(seconds=every.total_seconds()), args=[name],
                          id=name, name=name, replace_existing=True, next_run_time=_first_run())
    scheduler.resume()
    return scheduler


def _first_run() -> dt.datetime:
    return dt.datetime.fromtimestamp(time.time(), dt.UTC)  # noqa: TID251 - APScheduler's wake-up, not job logic


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum: int, _frame: Any) -> None:
        stop.set()

    for s in previous:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run(engine: Engine, *, orgs: list[str], once: bool = False, tick: float | None = None,
        duration: float | None = None, poll: float = 5.0, names: list[str] | None = None,
        policies: Path | str | None = None, report: Callable[[dict[str, Any]], None] | None = None,
        stop: threading.Event | None = None) -> int:
    """Run the scheduler (blocking). Returns 0; for `once`, 1 when a job failed for some practice (its
    `job_failed` event says why: a cron line or a script had read 0 as "all done") and 3 when another
    process is the leader.

    Without `stop` it runs in the foreground and SIGTERM/SIGINT end it. With `stop` it runs beside
    something else that owns the signals (`vigil serve --scheduler`: uvicorn in the main thread) and
    ends when that event is set; signal handlers can only be set from the main thread anyway."""
    global _runtime
    _check_seconds(tick=tick, duration=duration, poll=poll)
    names = names or list(JOBS)
    unknown = sorted(set(names) - set(JOBS))
    if unknown:
        raise ValueError(f"unknown jobs: {', '.join(unknown)} (known: {', '.join(JOBS)})")
    rt = Runtime(engine=engine, orgs=orgs, tick=tick, policies=policies, report=report or _print, anytime=once)
    _runtime = rt
    lock = LeaderLock(engine)
    owned = stop is None
    stop = stop if stop is not None else threading.Event()
    deadline = time.perf_counter() + duration if duration else None
    with _stop_on_signals(stop) if owned else contextlib.nullcontext():
        if once:
            if not lock.try_acquire():
                rt.report({"event": "standby", "owner": jobs.owner_id(), "reason": "another process is the leader"})
                return 3
            try:
                rt.report({"event": "leader", "owner": jobs.owner_id()})
                run_all_once(rt, names)
            finally:
                lock.release()
            return 1 if rt.failures else 0
        announced = False
        while not lock.try_acquire():
            if not announced:
                rt.report({"event": "standby", "owner": jobs.owner_id()})
                announced = True
            if stop.wait(poll) or (deadline and time.perf_counter() >= deadline):
                return 0
        rt.report({"event": "leader", "owner": jobs.owner_id()})
        scheduler = _make_scheduler(rt, names)
        code = 0
        try:
            while not stop.wait(poll):
                if deadline and time.perf_counter() >= deadline:
                    break
                if not lock.alive():
                    rt.report({"event": "lost_lock", "owner": jobs.owner_id()})
                    code = 1
                    break
        finally:
            scheduler.shutdown(wait=True)
            lock.release()
            rt.report({"event": "stopped", "owner": jobs.owner_id()})
        return code


def _check_seconds(**values: float | None) -> None:
    """Refuse a period that is not a finite number of seconds above zero.

    The CLI checks its options first, but this is the service every caller goes through: a tick of
    zero or less made every job due at every poll (a busy loop that ignored SIGTERM), and a NaN poll
    made `Event.wait` raise deep inside the loop.
    """
    for name, value in values.items():
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number of seconds above 0, not {value!r}")


def _print(event: dict[str, Any]) -> None:
    event = {"at": clock.now().isoformat(), "pid": os.getpid(), **event}
    sys.stdout.write(json.dumps(event, default=str) + "\n")
    sys.stdout.flush()
