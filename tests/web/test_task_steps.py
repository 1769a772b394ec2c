"""A task's page speaks of steps 1..N everywhere: the checklist form, its errors, the escalation card
(as the history does); and a refused upload names the refused type once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine import clock
from engine.db import unit_of_work
from engine.tasks import escalation
from engine.tasks import service as tasks_service
from engine.tasks.schemas import Task, TaskFilter
from tests.web.conftest import AS_OF, ORG, csrf_of
from tests.web.test_actions import act


def _staff_task(web: dict[str, Any]) -> Task:
    with unit_of_work(web["engine"]) as s:
        return tasks_service.list_tasks(s, org_id=ORG, filters=TaskFilter(owner="P-HR1")).items[0]


def test_the_checklist_form_and_its_errors_number_steps_from_1(web: dict[str, Any],
                                                                 web_client: Callable[[str], TestClient]) -> None:
    """Probe: `no checklist step 99 (0..4)` while the page numbers the steps 1..5."""
    task = _staff_task(web)
    c = web_client("staff")
    page = f"/ui/tasks/{task.id}"
    html = c.get(page).text
    assert '<input type="hidden" name="step" value="1">' in html and 'name="index"' not in html
    ticked = act(c, f"{page}/check", page, step="3", done="true")
    assert ticked.status_code == 303 and ticked.headers["location"].endswith("#step-3")
    with unit_of_work(web["engine"]) as s:
        assert [i.done for i in tasks_service.get_task(s, org_id=ORG, task_id=task.id).checklist] == [
            False, False, True]
    assert "Step 3 marked done." in c.get(page).text
    assert act(c, f"{page}/check", page, step="9", done="true").status_code == 303
    assert "no checklist step 9 (the steps are 1..3)" in c.get(page).text


def test_the_escalation_card_numbers_steps_as_the_history_does(web: dict[str, Any],
                                                                web_client: Callable[[str], TestClient]) -> None:
    """Probe: the card said `step 0 -> owner` while the history said `step 1 of 3`."""
    task = _staff_task(web)
    with clock.frozen(AS_OF), unit_of_work(web["engine"]) as s:
        assert escalation.run_escalations(s, org_id=ORG, as_of=AS_OF)["steps"] >= 1
    html = web_client("officer").get(f"/ui/tasks/{task.id}").text
    card = html[html.index('id="esc-h"'):html.index('id="th-h"')]
    assert "step 1 → " in card and "step 0" not in card
    assert "step 1 of 3 -&gt; owner" in html


def test_a_refused_executable_names_its_type_once(web: dict[str, Any],
                                                  web_client: Callable[[str], TestClient]) -> None:
    """Probe: `executable content (application/x-msdownload) is not kept as evidence (application/x-msdownload)`."""
    task = _staff_task(web)
    c = web_client("staff")
    page = f"/ui/tasks/{task.id}"
    r = c.post(f"{page}/evidence", data={"csrf_token": csrf_of(c.get(page).text), "note": ""},
               files={"file": ("invoice.pdf", b"MZ\x90\x00" * 8, "application/pdf")},
               headers={"referer": f"http://testserver{page}"}, follow_redirects=False)
    assert r.status_code == 303
    html = c.get(page).text
    assert "executable content is not kept as evidence" in html and html.count("application/x-msdownload") == 1
