"""A task follows its finding as the finding changes, on SQLite and PostgreSQL (black-box probe of the
lifecycle): a deadline met late is history, so its done task holds; a due date moved later climbs
the escalation chain again; a finding that turns critical raises the critical alert it would have
raised had it opened critical."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.tasks import escalation, notify
from engine.tasks import service as tasks
from engine.tasks.schemas import Task
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
T = dt.datetime.fromisoformat
ORG = "clinic-a"
START = "2026-02-01T09:00:00-06:00"  # training due 2026-03-03 local (30 days, C1)


@pytest.fixture(autouse=True)
def _policies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The fixture rulesets, with DEMO-TRN-001 reporting a late completion and going critical once overdue."""
    shutil.copytree(FIXTURES / "rulesets", tmp_path / "rulesets")
    path = tmp_path / "rulesets" / "demo" / "demo-1.0.0.yaml"
    path.write_text(path.read_text().replace(
        "      warn: {days: 7}\n",
        "      warn: {days: 7}\n      late: true\n"
        "      severity: {overdue: critical, due_soon: medium, late: medium}\n",
        1))
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(tmp_path / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)


def _import(engine: Engine, records: list[dict]) -> None:
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test", stream=False)


def _evaluate(engine: Engine, as_of: str) -> dict[str, int]:
    with clock.frozen(T(as_of)), unit_of_work(engine) as s:
        result = pipeline.evaluate(s, org_id=ORG, as_of=T(as_of), actor="test")
    assert result.tasks is not None
    return result.tasks


def _task(engine: Engine) -> Task:
    with unit_of_work(engine) as s:
        (item,) = tasks.list_tasks(s, org_id=ORG).items
        return tasks.get_task(s, org_id=ORG, task_id=item.id)


def _escalate(engine: Engine, at: str) -> int:
    with clock.frozen(T(at)), unit_of_work(engine) as s:
        return escalation.run_escalations(s, org_id=ORG, as_of=T(at))["steps"]


def test_a_task_done_for_a_deadline_met_late_holds_instead_of_reopening_every_day(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")  # overdue
    _import(engine, [f.training("TR1", "P1", "2026-03-06T09:00:00-06:00")])  # trained three days late
    _evaluate(engine, "2026-03-06T18:00:00+00:00")
    task = _task(engine)
    with clock.frozen(T("2026-03-07T13:00:00+00:00")), unit_of_work(engine) as s:
        tasks.complete_task(s, org_id=ORG, task_id=task.id, actor="user:hr1", note="late training documented")
    for day in ("2026-03-08", "2026-03-09", "2026-03-10"):
        counts = _evaluate(engine, f"{day}T12:00:00+00:00")
        assert counts["reopened"] == 0, day
    task = _task(engine)
    assert task.state == "done" and task.cycle == 0 and task.confirmed_at is not None
    assert "met late" in (task.history[-1].reason or "")
    assert _escalate(engine, "2026-03-12T12:00:00+00:00") == 0


def test_a_due_date_moved_later_climbs_the_escalation_chain_again(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-02-25T12:00:00+00:00")
    for at in ("2026-03-04T18:00:00+00:00", "2026-03-06T18:00:00+00:00", "2026-03-08T18:00:00+00:00"):
        assert _escalate(engine, at) == 1
    assert _task(engine).escalation_level == 3
    # the start was entered wrong: a month later, so the training is due 2 April
    _import(engine, [f.episode("EP1", "P1", "2026-03-03T09:00:00-06:00")])
    counts = _evaluate(engine, "2026-03-27T12:00:00+00:00")  # inside the new warning window
    task = _task(engine)
    assert counts["due_changed"] == 1 and task.due.isoformat() == "2026-04-02"
    assert task.cycle == 1 and task.escalation_level == 0 and "starts over" in (task.history[-1].reason or "")
    assert _escalate(engine, "2026-04-02T18:00:00+00:00") == 0  # not late yet
    assert _escalate(engine, "2026-04-03T18:00:00+00:00") == 1  # the owner again, on the new date
    assert [(e.cycle, e.step) for e in _task(engine).escalations if e.cycle == 1] == [(1, 0)]


def test_a_finding_that_turns_critical_alerts_at_once_and_the_task_says_critical(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    first = _evaluate(engine, "2026-02-25T12:00:00+00:00")  # due soon: medium
    assert first["notified"] == 0 and _task(engine).severity == "medium"
    turned = _evaluate(engine, "2026-03-05T12:00:00+00:00")  # overdue: critical
    task = _task(engine)
    assert task.severity == "critical" and turned["notified"] >= 1
    assert any(h.kind == "severity_changed" and "medium -> critical" in (h.reason or "") for h in task.history)
    with unit_of_work(engine) as s:
        sent = notify.list_notifications(s, org_id=ORG, key_prefix="critical:")
    assert {n.recipient for n in sent} == {"P-HR1", "P-CO"}
    again = _evaluate(engine, "2026-03-06T12:00:00+00:00")
    assert again["notified"] == 0  # said once


def test_a_waiver_that_runs_out_reopens_its_task_with_the_finding(engine: Engine) -> None:
    """Scheduler probe: the quarter-hourly waiver job reopened the finding, but its task stayed closed
    ("finding waived") until the night's sweep, so nobody was chased for it."""
    from engine import scheduler
    from engine.findings.schemas import WaiverIn

    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-03-10T00:00:00+00:00")
    finding_id = _task(engine).finding_id
    assert finding_id is not None
    with clock.frozen(T("2026-03-10T01:00:00+00:00")), unit_of_work(engine) as s:
        pipeline.waive(s, org_id=ORG, actor="officer", finding_id=finding_id,
                       data=WaiverIn(ends_at=T("2026-03-10T10:00:00+00:00"), reason="on leave", approver="CMO"))
    assert _task(engine).state == "closed"
    rt = scheduler.Runtime(engine=engine, orgs=[ORG])
    with clock.frozen(T("2026-03-10T10:05:00+00:00")):
        (done,) = scheduler.run_all_once(rt, ["waivers"])
    assert done.summary == {"reopened": [finding_id]}
    assert _task(engine).state == "open"
