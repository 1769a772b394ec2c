"""The dashboard's "due in the next 14 days" work: counted by the tasks service over every task, not
over a page of 50, and with each task's horizon in its own zone, the way the tasks domain judges it
overdue (at 03:30Z on 5 March it is still 4 March in Chicago, so the 14 days end on the 18th there).

The tasks come from the demo ruleset's untrained new hires (due 30 days from the start, found 7 days
ahead): the hires are evaluated on 12 March so that all of their tasks exist, and the dashboard is
read at NOW, before those due dates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.tasks import service as tasks_service
from engine.web import dashboard
from tests import factories as f
from tests.web.conftest import ORG

#: 21:30 on 4 March in Chicago (E1) and 22:30 in New York (E2), already 5 March in UTC
NOW = dt.datetime(2026, 3, 5, 3, 30, tzinfo=dt.UTC)
EVALUATED = dt.datetime(2026, 3, 12, 15, tzinfo=dt.UTC)
#: the shared practice's tasks due soon at NOW: EP2's (E1, due 4 March, overdue only once that day
#: ends in Chicago) and EP3's (E2, due 7 March); EP1's (due 3 March) is overdue
SHARED = 2
HEADING = re.compile(r"Due in the next (\d+) days <span class=\"muted small\">\((\d+)\)</span>")


def _hire(n: int, due: dt.date, est: str = "E1") -> dict[str, Any]:
    """A new hire at `est` whose training (and so its task) is due on `due`, a local date."""
    start = due - dt.timedelta(days=30)
    offset = "-06:00" if est == "E1" else "-05:00"
    return f.episode(f"EPS{n:03d}", f"PS{n:03d}", f"{start.isoformat()}T09:00:00{offset}", est=est)


def _evaluate(web: dict[str, Any], hires: list[dict[str, Any]]) -> None:
    with clock.frozen(EVALUATED), unit_of_work(web["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=hires, actor="test", source="test", stream=False)
        pipeline.evaluate(s, org_id=ORG, as_of=EVALUATED, actor="test")


def _due_soon(html: str) -> tuple[int, int, list[str]]:
    """(the days the heading names, the count it shows, the task ids listed under it)."""
    found = HEADING.search(html)
    assert found, html[:2000]
    rest = html[found.end():]
    listed = rest[:rest.index("</section>")]
    return int(found.group(1)), int(found.group(2)), re.findall(r'href="/ui/tasks/([^"]+)"', listed)


def _task_of(web: dict[str, Any], episode_id: str) -> str:
    with unit_of_work(web["engine"]) as s:
        items = tasks_service.list_tasks(s, org_id=ORG, limit=1000).items
    return next(t.id for t in items if t.title.endswith(episode_id))


def test_every_task_due_soon_is_counted_not_a_page_of_them(web: dict[str, Any],
                                                           web_client: Callable[[str], TestClient]) -> None:
    # 60 hires at E1 due 5 to 18 March, the last of the 14 days in Chicago
    days = [dt.date(2026, 3, 5) + dt.timedelta(days=i % 14) for i in range(60)]
    _evaluate(web, [_hire(i, day) for i, day in enumerate(days)])
    client = web_client("officer")
    with clock.frozen(NOW):
        everywhere = client.get("/ui/dashboard")
        main = client.get("/ui/dashboard?establishment=E1")
    assert everywhere.status_code == main.status_code == 200
    days_named, total, listed = _due_soon(everywhere.text)
    assert (days_named, total) == (dashboard.DUE_SOON_DAYS, 60 + SHARED)  # not the 50 of one page
    assert len(listed) == 10  # the soonest ten, the count saying how many more there are
    assert _due_soon(main.text)[1] == 60 + 1  # E1's: the hires and EP2's
    assert "Nothing due" not in everywhere.text


def test_the_horizon_is_each_tasks_local_day_not_utcs(web: dict[str, Any],
                                                     web_client: Callable[[str], TestClient]) -> None:
    # due tomorrow in Chicago (5 March, already today in UTC): due soon; due 19 March in Chicago:
    # the 15th local day, though the 14th counted from UTC's date
    _evaluate(web, [_hire(1, dt.date(2026, 3, 5)), _hire(2, dt.date(2026, 3, 19)),
                    _hire(3, dt.date(2026, 3, 18), est="E2"), _hire(4, dt.date(2026, 3, 19), est="E2")])
    tomorrow, beyond = _task_of(web, "EPS001"), _task_of(web, "EPS002")
    last_day_east, beyond_east = _task_of(web, "EPS003"), _task_of(web, "EPS004")
    client = web_client("officer")
    with clock.frozen(NOW):
        everywhere = client.get("/ui/dashboard").text
        main = client.get("/ui/dashboard?establishment=E1").text
    _, total, listed = _due_soon(everywhere)
    assert total == SHARED + 2 and len(listed) == total
    assert tomorrow in listed and last_day_east in listed
    assert beyond not in listed and beyond_east not in listed
    _, total, listed = _due_soon(main)
    assert total == 2 and tomorrow in listed and beyond not in listed  # EP2's and tomorrow's


def test_the_heading_names_the_horizon_the_count_uses(web: dict[str, Any], web_client: Callable[[str], TestClient],
                                                      monkeypatch: Any) -> None:
    # a week's horizon: 4 to 11 March in Chicago; the hire due on the 12th is left out, and so is
    # everything the heading would otherwise still call "the next 14 days"
    monkeypatch.setattr(dashboard, "DUE_SOON_DAYS", 7)
    _evaluate(web, [_hire(1, dt.date(2026, 3, 11)), _hire(2, dt.date(2026, 3, 12))])
    inside, outside = _task_of(web, "EPS001"), _task_of(web, "EPS002")
    with clock.frozen(NOW):
        days_named, total, listed = _due_soon(web_client("officer").get("/ui/dashboard").text)
    assert (days_named, total) == (7, SHARED + 1)
    assert inside in listed and outside not in listed
