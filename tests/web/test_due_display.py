"""How pages show when something falls due: a local date as written, an hour deadline with its time,
in its establishment's local time with the zone's abbreviation.

An hour deadline (HIPAA-SEC-TERM-004: 24 hours after a 17:00 PST departure) passes at 17:00 local
the next day, 01:00 UTC the day after: the findings list had shown that UTC date alone, and its task
page said "end of day" in Los Angeles, seven hours after it went overdue. Then it showed "2026-12-03
01:00 UTC" among local dates, and a list sorted by due date read "2026-11-16 01:00 UTC, 2026-11-15,
2026-11-15": in order by instant, not to the eye. The stored value stays in each <time>'s datetime."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from engine import clock
from engine.db import unit_of_work
from engine.findings.tables import FindingRow
from engine.rules import calendar
from engine.tasks.tables import TaskRow
from engine.web.render import _due, _due_text, _task_due, _task_due_short
from tests.web.test_findings_pages import GRANTED, finding_of

LA = "America/Los_Angeles"
#: 17:00 on 3 March in Chicago (E1, the establishment of EP1), 4 March in UTC
HOUR = "2026-03-03T23:00:00Z"


def test_a_findings_due_shows_an_hour_deadline_in_its_local_time() -> None:
    assert _due_text("2026-12-02") == "2026-12-02"
    assert _due_text("2026-12-03T01:00:00Z", LA) == "2026-12-02 17:00 PST"
    assert _due_text("2026-07-03T00:00:00Z", LA) == "2026-07-02 17:00 PDT"
    assert _due_text("2026-12-03T01:00:00Z") == "2026-12-03 01:00 UTC"  # no zone known: UTC, named
    assert _due_text(None) == "—"
    assert _due("2026-12-03T01:00:00Z", LA) == '<time datetime="2026-12-03T01:00:00Z">2026-12-02 17:00 PST</time>'
    assert _due("2026-12-02", LA) == '<time datetime="2026-12-02">2026-12-02</time>'


def test_a_task_says_end_of_day_only_for_a_day_deadline() -> None:
    day = dt.date(2026, 12, 2)
    by_day = SimpleNamespace(due=day, due_at=calendar.end_of_local_day(day, LA), tz=LA)
    assert _task_due(by_day) == f"2026-12-02 (end of day, {LA})"
    assert _task_due_short(by_day) == '<time datetime="2026-12-02">2026-12-02</time>'
    by_hour = SimpleNamespace(due=day, due_at=dt.datetime(2026, 12, 3, 1, tzinfo=dt.UTC), tz=LA)
    assert _task_due(by_hour) == f"2026-12-02 17:00 PST ({LA})"
    assert _task_due_short(by_hour) == '<time datetime="2026-12-03T01:00:00Z">2026-12-02 17:00 PST</time>'


def _hour_deadline(web: dict[str, Any]) -> str:
    """EP1's finding and its task made due at HOUR (an hour deadline); the finding's id."""
    fid = finding_of(web, "EP1").id
    with unit_of_work(web["engine"]) as s:
        s.execute(update(FindingRow).where(FindingRow.id == fid).values(due=HOUR))
        s.execute(update(TaskRow).where(TaskRow.finding_id == fid).values(
            due=dt.date(2026, 3, 3), due_at=dt.datetime(2026, 3, 3, 23, tzinfo=dt.UTC)))
    return str(fid)


def test_the_findings_list_and_a_finding_show_an_hour_deadline_in_local_time(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    fid = _hour_deadline(web)
    c = web_client("officer")
    shown = f'<time datetime="{HOUR}">2026-03-03 17:00 CST</time>'
    with clock.frozen(GRANTED):
        listed = c.get("/ui/findings?sort=due&state=").text
        page = c.get(f"/ui/findings/{fid}").text
    assert shown in listed and "UTC</td>" not in listed
    assert '<time datetime="2026-' in listed.replace(shown, "")  # the day deadlines, in <time> too
    assert f"due <strong>{shown}</strong>" in page
    assert "an hour deadline its local time with the zone named" in page  # the footer


def test_the_dashboard_and_task_list_show_an_hour_deadline_in_local_time(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    _hour_deadline(web)
    c = web_client("officer")
    shown = '<time datetime="2026-03-03T23:00:00Z">2026-03-03 17:00 CST</time>'
    with clock.frozen(GRANTED):
        dashboard = c.get("/ui/dashboard").text
        tasks = c.get("/ui/tasks?view=overdue").text
    assert f"due {shown}" in dashboard
    assert shown in tasks
