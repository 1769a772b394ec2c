"""Task dates a mutation probe found untested: escalation steps counted in working days, and the
local due date of a task opened from an hour-window finding."""

from __future__ import annotations

import datetime as dt

from engine.findings.schemas import Finding
from engine.tasks import escalation
from engine.tasks.schemas import EscalationPolicy
from engine.tasks.sync import due_of
from engine.tasks.tables import TaskRow

D = dt.date
T = dt.datetime.fromisoformat


def test_escalation_steps_in_working_days_skip_the_weekend() -> None:
    # Due Friday 4 Dec 2026: step 0 (the owner) is the day after, Saturday; steps 1 and 2 are
    # 2 and 4 working days after that Saturday on US-FEDERAL: Tuesday 8 and Thursday 10 December.
    task = TaskRow(due=D(2026, 12, 4), tz="America/New_York", cycle_started_at=T("2026-11-20T15:00:00+00:00"))
    policy = EscalationPolicy(chain=["owner", "practice_manager", "compliance_officer"], step_interval_days=2,
                              working_days=True, calendar="US-FEDERAL")
    assert escalation.step_dates(task, policy) == [D(2026, 12, 5), D(2026, 12, 8), D(2026, 12, 10)]
    # in calendar days the same chain is 5, 7 and 9 December
    calendar_days = policy.model_copy(update={"working_days": False})
    assert escalation.step_dates(task, calendar_days) == [D(2026, 12, 5), D(2026, 12, 7), D(2026, 12, 9)]


def _finding(due: str, establishment: str = "E-LA") -> Finding:
    at = T("2026-03-07T12:00:00+00:00")
    return Finding(id="F-1", org_id="o", rule_id="R-1", framework="hipaa", ruleset_version="1.0.0", title="t",
                   citation="c", severity="high", advisory=False, kind="violation", subject_type="incident",
                   subject_id="I-1", occurrence_key="", establishment_id=establishment, status="due_soon", due=due,
                   message="m", evidence=[], facts={}, sop="SOP-T", state="open", opened_at=at, opened_by_run=None,
                   resolved_at=None, resolved_by_run=None, last_seen_run=None, updated_at=at)


def test_an_hour_window_finding_gives_the_task_the_sites_local_due_date() -> None:
    # 03:00 UTC on 8 March 2026 is 19:00 on 7 March in Los Angeles (PST): the task is due the 7th,
    # and overdue from the deadline instant itself.
    due, due_at = due_of(_finding("2026-03-08T03:00:00Z"), tz="America/Los_Angeles",
                         as_of=T("2026-03-07T12:00:00+00:00"), default_days=7)
    assert due == D(2026, 3, 7)
    assert due_at == T("2026-03-08T03:00:00+00:00")
