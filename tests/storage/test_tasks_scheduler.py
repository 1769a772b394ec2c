"""The scheduler: jobs are idempotent per period and resumable after a crash (both databases), and two
real scheduler processes against one PostgreSQL never both run jobs (advisory lock, with failover)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, func, select, text

from engine import clock, pipeline, scheduler
from engine.audit.tables import AuditEntryRow
from engine.db import unit_of_work
from engine.tasks import jobs
from engine.tasks.tables import JobRunRow, NotificationRow, TaskEscalationRow, TaskRow
from tests import factories as f
from tests.conftest import PG_URL, REPO, make_test_engine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
T = dt.datetime.fromisoformat
ORG = "clinic-s"


@pytest.fixture(autouse=True)
def _policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)


def _counts(engine: Engine) -> tuple[int, ...]:
    with unit_of_work(engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0
                     for t in (TaskRow, TaskEscalationRow, NotificationRow, AuditEntryRow))


def test_the_nightly_sweep_and_checks_run_once_per_period(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.establishment(), f.episode("EP1", "P1",
                                "2026-02-01T09:00:00-06:00")], actor="t", source="t", stream=False)
    rt = scheduler.Runtime(engine=engine, orgs=[ORG])
    with clock.frozen(T("2026-03-05T07:30:00+00:00")):  # 01:30 in Chicago: before the 02:00 sweep
        first = scheduler.run_all_once(rt)
    assert [o.job for o in first] == ["waivers", "recurrence", "escalation", "digest", "notify"]
    assert _counts(engine)[0] == 0
    with clock.frozen(T("2026-03-05T08:10:00+00:00")):  # 02:10 local: the sweep opens the finding and its task
        second = scheduler.run_all_once(rt)
        after = _counts(engine)
        again = scheduler.run_all_once(rt)  # the same periods fired twice: nothing more happens
    assert [(o.job, o.ran) for o in second] == [("sweep", True), ("waivers", True), ("recurrence", True),
                                                ("escalation", True), ("digest", True), ("notify", True)]
    assert second[0].summary["tasks"]["created"] == 1 and second[3].summary["steps"] == 1  # opened overdue
    assert after[:2] == (1, 1)
    assert [o.reason for o in again] == ["done"] * 6 and _counts(engine) == after
    with clock.frozen(T("2026-03-05T09:10:00+00:00")):  # the next hour: only hourly checks, and they find nothing
        later = scheduler.run_all_once(rt)
    assert [(o.job, o.ran) for o in later] == [("sweep", False), ("waivers", True), ("recurrence", True),
                                               ("escalation", True), ("digest", True), ("notify", True)]
    assert _counts(engine) == after


def test_a_crashed_run_is_resumed_after_its_lease_and_a_live_one_is_left_alone(engine: Engine) -> None:
    calls: list[str] = []
    at = T("2026-03-05T12:00:00+00:00")
    with unit_of_work(engine) as s:
        s.add(JobRunRow(job="escalation", period="x:1", state="running", owner="dead:1", takeovers=0,
                        started_at=at - dt.timedelta(hours=1), lease_until=at - dt.timedelta(minutes=1), summary={}))
        s.add(JobRunRow(job="escalation", period="x:2", state="running", owner="alive:2", takeovers=0,
                        started_at=at, lease_until=at + dt.timedelta(minutes=29), summary={}))
    with clock.frozen(at):
        resumed = jobs.run_once(engine, job="escalation", period="x:1", body=lambda: calls.append("1") or {"n": 1})
        left = jobs.run_once(engine, job="escalation", period="x:2", body=lambda: calls.append("2") or {})
        twice = jobs.run_once(engine, job="escalation", period="x:1", body=lambda: calls.append("1b") or {})
    assert (resumed.reason, left.reason, twice.reason) == ("ran", "running", "done") and calls == ["1"]
    runs = {r["period"]: r for r in jobs.list_job_runs(engine, job="escalation")}
    assert runs["x:1"]["takeovers"] == 1 and runs["x:1"]["owner"] == jobs.owner_id() and runs["x:1"]["state"] == "done"


def test_a_run_that_outlived_its_lease_leaves_the_record_of_the_run_that_took_it_over(engine: Engine) -> None:
    """A body ran past its lease; another process took the period over and finished it. The first
    run's end had overwritten the second's record (its state, summary and time)."""
    at = T("2026-03-05T12:00:00+00:00")

    def slow_body() -> dict[str, Any]:
        later = at + jobs.DEFAULT_LEASE + dt.timedelta(minutes=1)
        with clock.frozen(later):  # meanwhile, another scheduler finds the lease gone and runs the period
            with unit_of_work(engine) as s:
                row = s.scalars(select(JobRunRow).where(JobRunRow.period == "x:slow")).one()
                row.owner, row.takeovers, row.started_at = "other:9", row.takeovers + 1, later
                row.lease_until = later + jobs.DEFAULT_LEASE
            with unit_of_work(engine) as s:
                row = s.scalars(select(JobRunRow).where(JobRunRow.period == "x:slow")).one()
                row.state, row.finished_at, row.summary = "done", later, {"by": "other"}
        return {"by": "me"}

    with clock.frozen(at):
        outcome = jobs.run_once(engine, job="escalation", period="x:slow", body=slow_body)
    assert (outcome.ran, outcome.reason) == (True, "taken_over")
    run = jobs.list_job_runs(engine, job="escalation")[0]
    assert (run["owner"], run["state"], run["summary"], run["takeovers"]) == ("other:9", "done", {"by": "other"}, 1)


def test_the_leader_lock_admits_one_holder_at_a_time(engine: Engine) -> None:
    first, second = scheduler.LeaderLock(engine), scheduler.LeaderLock(engine)
    try:
        assert first.try_acquire() and first.alive()
        assert not second.try_acquire()  # PostgreSQL: advisory lock; SQLite: flock beside the database file
        first.release()
        assert second.try_acquire() and not first.try_acquire()
    finally:
        first.release()
        second.release()


# -- two real processes on PostgreSQL ----------------------------------------------------------------

@pytest.fixture
def pg_engine(tmp_path: Path) -> Iterator[Engine]:
    yield from make_test_engine("postgresql", tmp_path)


def _spawn(url: str, seconds: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "VIGIL_POLICIES_DIR": str(FIXTURES / "policies"),
           "VIGIL_RULESETS_DIR": str(FIXTURES / "rulesets")}
    cmd = [sys.executable, "-m", "engine.cli.main", "scheduler", "run", "--db", url, "--org", ORG, "--tick", "0.5",
           "--for", str(seconds), "--poll", "0.1", "--only", "recurrence,escalation,notify"]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


class _Reader:
    """Collects a scheduler process' JSON events on a thread."""

    def __init__(self, proc: subprocess.Popen[str]):
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.events.append(json.loads(line))

    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events if e["event"] != "job"]


def _until(predicate: Any, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the schedulers")


def test_two_scheduler_processes_on_postgresql_never_run_the_same_job(pg_engine: Engine) -> None:
    with pg_engine.connect() as conn:
        schema = conn.execute(text("select current_schema()")).scalar_one()
    url = f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"
    procs = [_spawn(url, 4.5), _spawn(url, 4.5)]
    readers = [_Reader(p) for p in procs]
    try:
        _until(lambda: sorted(r.kinds()[:1] for r in readers) == [["leader"], ["standby"]])
        leader, standby = sorted(readers, key=lambda r: r.kinds()[0] != "leader")
        time.sleep(1.0)  # both alive: only the leader works
        leader.proc.send_signal(signal.SIGKILL)  # it crashes; its connection, and with it the lock, goes
        leader.proc.wait(timeout=10)
        _until(lambda: "leader" in standby.kinds())
        standby.proc.wait(timeout=30)
        standby.thread.join(timeout=5)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert standby.proc.returncode == 0 and standby.kinds() == ["standby", "leader", "stopped"]
    runs = jobs.list_job_runs(pg_engine)
    by_a = [r for r in runs if r["owner"] == leader.events[0]["owner"]]
    by_b = [r for r in runs if r["owner"] == standby.events[0]["owner"]]
    assert by_a and by_b and len(by_a) + len(by_b) == len(runs)
    assert len({(r["job"], r["period"]) for r in runs}) == len(runs)
    # never both at once: everything B ran started after A's last run began (B was a standby until A died)
    assert max(r["started_at"] for r in by_a) < min(r["started_at"] for r in by_b)
    ran = [(e["job"], e["period"]) for r in readers for e in r.events if e["event"] == "job" and e["ran"]]
    assert len(ran) == len(set(ran))  # no (job, period) ran twice, across both processes
    with pg_engine.connect() as conn:
        stored = conn.execute(text("select id from apscheduler_jobs order by id")).scalars().all()
    assert stored == ["escalation", "notify", "recurrence"]  # the job store lives in the database


@pytest.mark.parametrize(("option", "value"), [("tick", 0.0), ("tick", -1.0), ("tick", float("nan")),
                                               ("poll", 0.0), ("poll", float("inf")), ("duration", -5.0)])
def test_the_scheduler_service_refuses_a_period_that_is_not_above_zero(engine: Engine, option: str,
                                                                      value: float) -> None:
    """Not only the CLI: a tick of 0 once made every job due at every poll, a loop that ignored SIGTERM."""
    with pytest.raises(ValueError, match=rf"^{option} must be a finite number of seconds above 0"):
        scheduler.run(engine, orgs=["acme"], **{option: value})  # type: ignore[arg-type]


def test_a_run_once_in_which_a_job_failed_says_so_in_its_exit_code(engine: Engine,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`vigil scheduler run --once` from cron: a job that raised (a deadlock, a full disk) was reported
    in a JSON line but the run still exited 0, so the cron job looked fine. The other jobs still run."""
    def broken(*args: Any, **kw: Any) -> dict[str, Any]:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(jobs, "escalation_job", broken)
    events: list[dict[str, Any]] = []
    with clock.frozen(T("2026-03-05T08:10:00+00:00")):
        code = scheduler.run(engine, orgs=[ORG], once=True, report=events.append)
        assert scheduler.run(engine, orgs=[ORG], once=True, names=["recurrence"], report=events.append) == 0
    assert code == 1
    failed = [e for e in events if e["event"] == "job_failed"]
    assert [(e["job"], e["org"], e["error"]) for e in failed] == [("escalation", ORG, "RuntimeError: the disk is full")]
    assert [e["job"] for e in events if e["event"] == "job"] == ["sweep", "waivers", "recurrence", "digest", "notify",
                                                               "recurrence"]


def test_a_practice_whose_zone_cannot_be_read_does_not_stop_the_nightly_sweep_of_the_others(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The nightly sweep reads each practice's zone before its run: one that raised there had ended
    the job for every practice in that tick, although a failing practice must not stop the others."""
    real_zone = scheduler._org_zone

    def zone(rt: scheduler.Runtime, org_id: str) -> str:
        if org_id == "broken":
            raise RuntimeError("the records could not be read")
        return real_zone(rt, org_id)

    monkeypatch.setattr(scheduler, "_org_zone", zone)
    events: list[dict[str, Any]] = []
    with clock.frozen(T("2026-03-05T08:10:00+00:00")):
        code = scheduler.run(engine, orgs=["broken", ORG], once=True, names=["sweep"], report=events.append)
    assert code == 1
    assert [(e["org"], e["error"]) for e in events if e["event"] == "job_failed"] == [
        ("broken", "RuntimeError: the records could not be read")]
    assert [(e["job"], e["period"].split(":")[0], e["ran"]) for e in events if e["event"] == "job"] == [
        ("sweep", ORG, True)]


def test_a_scheduler_for_one_practice_delivers_only_that_practices_messages(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ops probe: one started with --org south had delivered east's notifications too."""
    from engine.tasks import notify
    from engine.tasks.policy import load_escalation

    monkeypatch.setenv("VIGIL_WEBHOOK_URL", "http://127.0.0.1:9/hook")  # nothing listens: each try fails
    with clock.frozen(T("2026-03-05T12:00:00+00:00")):
        with unit_of_work(engine) as s:
            for org in (ORG, "clinic-east"):
                notify.enqueue(s, org_id=org, key="test:1", kind="test", persons=[], subject="s", body="b",
                               payload={}, policy=load_escalation(), channels=["webhook"])
        outcomes = scheduler.run_all_once(scheduler.Runtime(engine=engine, orgs=[ORG]), names=["notify"])
    assert [(o.job, o.period.split(":")[0], o.summary["retry"]) for o in outcomes] == [("notify", ORG, 1)]
    with unit_of_work(engine) as s:
        tried = dict(s.execute(select(NotificationRow.org_id, NotificationRow.attempts)).tuples().all())
    assert tried == {ORG: 1, "clinic-east": 0}
