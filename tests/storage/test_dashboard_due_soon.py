"""The dashboard's due-soon work counted by the tasks service (`list_due_soon`) on SQLite and
PostgreSQL: every task's horizon is its own zone's today + N days, one COUNT over all of them.

At 03:30Z on 5 March it is 21:30 on the 4th in Chicago (E1) and 13:30 on the 5th in Guam (E2), so the
next 14 days run to the 18th at E1 and to the 19th at E2; a task due on the 4th is not overdue yet
at E1 (the day has not ended there) and is at E2.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from engine import clock, pipeline
from engine.auth import service as auth
from engine.auth.schemas import Principal, UserIn
from engine.db import unit_of_work
from engine.tasks import service as tasks
from engine.tasks.schemas import TaskViewer
from engine.web import dashboard
from tests import factories as f

ORG = "clinic-a"
NOW = dt.datetime(2026, 3, 5, 3, 30, tzinfo=dt.UTC)
EVALUATED = dt.datetime(2026, 3, 12, 15, tzinfo=dt.UTC)  # every hire below is found by then (7 days ahead)
SITES = {"E1": "-06:00", "E2": "+10:00"}


pytestmark = pytest.mark.usefixtures("fixture_rules_and_policies")


def _hire(est: str, due: dt.date) -> dict[str, str]:
    """A new hire at `est` whose training task is due on `due` there (30 days after the start)."""
    start = due - dt.timedelta(days=30)
    name = f"{est}-{due.strftime('%m%d')}"
    return f.episode(name, f"P-{name}", f"{start.isoformat()}T09:00:00{SITES[est]}", est=est)


@pytest.fixture
def world(engine: Engine) -> dict[str, str]:
    """Episode id -> task id, for hires at both sites due on the 4th, 18th and 19th of March."""
    records = [f.establishment("E1"), f.establishment("E2", tz="Pacific/Guam", state="GU", name="Guam clinic")]
    records += [_hire(est, dt.date(2026, 3, day)) for est in SITES for day in (4, 18, 19)]
    with clock.frozen(EVALUATED), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test", stream=False)
        pipeline.evaluate(s, org_id=ORG, as_of=EVALUATED, actor="test")
        auth.create_user(s, org_id=ORG, actor="test", data=UserIn(username="officer", password="officer-password",
                                                                    role="officer"))
    with unit_of_work(engine) as s:
        made = {t.title.rsplit(" ", 1)[-1]: t.id for t in tasks.list_tasks(s, org_id=ORG).items}
    assert len(made) == 6, made
    return made


def test_each_task_is_due_soon_by_its_own_days(engine: Engine, world: dict[str, str]) -> None:
    with clock.frozen(NOW), unit_of_work(engine) as s:
        soon = tasks.list_due_soon(s, org_id=ORG, within_days=14)
        first = tasks.list_due_soon(s, org_id=ORG, within_days=14, limit=1)
        site = tasks.list_due_soon(s, org_id=ORG, within_days=14, establishment_id="E1")
        theirs = tasks.list_due_soon(s, org_id=ORG, within_days=14,
                                     viewer=TaskViewer(actor="user:hr2", owners=frozenset({"P-HR2"})))
        nothing = tasks.list_due_soon(s, org_id=ORG, within_days=14, viewer=TaskViewer(actor="x", owners=frozenset()))
    ids = {name: world[name] for name in ("E1-0304", "E1-0318", "E2-0318", "E2-0319")}
    assert soon.total == 4 and {t.id for t in soon.items} == set(ids.values())  # not E1's 19th, not E2's 4th
    assert [(t.due, t.id) for t in soon.items] == sorted((t.due, t.id) for t in soon.items)  # soonest first
    assert first.total == 4 and [t.id for t in first.items] == [world["E1-0304"]]
    assert site.total == 2 and {t.id for t in site.items} == {world["E1-0304"], world["E1-0318"]}
    assert theirs.total == 2 and {t.id for t in theirs.items} == {world["E2-0318"], world["E2-0319"]}
    assert nothing.total == 0 and nothing.items == []


def test_the_dashboard_shows_the_services_count(engine: Engine, world: dict[str, str]) -> None:
    with clock.frozen(NOW), unit_of_work(engine) as s:
        officer = Principal(user=auth.get_user(s, username="officer"))
        view = dashboard.build(s, officer)
        main = dashboard.build(s, officer, establishment="E1")
    assert view.due_soon_tasks is not None and main.due_soon_tasks is not None
    assert view.due_soon_tasks.total == 4 and len(view.due_soon_tasks.items) == 4  # not E1's 19th
    assert main.due_soon_tasks.total == 2
    assert view.due_soon_days == dashboard.DUE_SOON_DAYS  # what the heading names
