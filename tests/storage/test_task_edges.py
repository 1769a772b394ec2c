"""Task boundaries a mutation probe found untested: a recurring period due on the day its series is
first scheduled is opened, and a task is overdue from its `due_at` instant itself, in the list filter
as in each task's own `overdue`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from engine import clock
from engine.db import unit_of_work, utc
from engine.tasks import recurrence, store
from engine.tasks import service as tasks
from engine.tasks.schemas import TaskFilter
from engine.tasks.tables import TaskRow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
T = dt.datetime.fromisoformat
ORG = "clinic-edges"


@pytest.fixture(autouse=True)
def _policies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.setenv("VIGIL_WEBHOOK_URL", "http://127.0.0.1:9/hook")


def _recur(engine: Engine, at: str) -> dict[str, int]:
    with clock.frozen(T(at)), unit_of_work(engine) as s:
        return recurrence.run_recurrence(s, org_id=ORG, as_of=T(at))


def _annual(engine: Engine, at: dt.datetime, overdue: bool | None = None) -> list[tuple[str, bool]]:
    with clock.frozen(at), unit_of_work(engine) as s:
        page = tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(sop="SOP-ANNUAL-REVIEW", overdue=overdue))
    return [(t.due.isoformat(), t.overdue) for t in page.items]


def test_a_period_due_on_the_day_its_series_is_first_scheduled_is_opened(engine: Engine) -> None:
    # SOP-ANNUAL-REVIEW: yearly from 29 Feb 2028, due 30 days later (30 March). Vigil first runs on
    # 30 March (New York): the period is due today, not before the series existed, so it opens.
    _recur(engine, "2028-03-30T16:00:00+00:00")
    assert _annual(engine, T("2028-03-30T16:00:00+00:00")) == [("2028-03-30", False)]


def test_a_task_is_overdue_from_its_due_at_instant_in_the_filter_and_the_task(engine: Engine) -> None:
    _recur(engine, "2028-02-29T16:00:00+00:00")  # opens the period due 30 March 2028
    with unit_of_work(engine) as s:
        row = s.scalars(select(TaskRow).where(TaskRow.org_id == ORG, TaskRow.sop == "SOP-ANNUAL-REVIEW")).one()
        due_at = utc(row.due_at)
        assert due_at == store.end_of_day(row.due, row.tz)
    assert due_at == T("2028-03-31T04:00:00+00:00")  # the end of 30 March in New York (EDT)
    before = due_at - dt.timedelta(microseconds=1)
    assert _annual(engine, before) == [("2028-03-30", False)]
    assert _annual(engine, before, overdue=True) == []
    assert _annual(engine, before, overdue=False) == [("2028-03-30", False)]
    # at due_at exactly: overdue, and the filter agrees with the task's own flag (store.is_overdue)
    assert _annual(engine, due_at) == [("2028-03-30", True)]
    assert _annual(engine, due_at, overdue=True) == [("2028-03-30", True)]
    assert _annual(engine, due_at, overdue=False) == []
