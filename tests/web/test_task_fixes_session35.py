"""Session 35 task fixes on the task page: a step ticked from a page loaded earlier is left as the
first person ticked it, and the message says so; each evidence link downloads under its own name."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine.db import unit_of_work
from engine.tasks import service as tasks_service
from engine.tasks.schemas import Task, TaskFilter
from tests.web.conftest import ORG, csrf_of
from tests.web.test_actions import act


def _staff_task(web: dict[str, Any]) -> Task:
    with unit_of_work(web["engine"]) as s:
        return tasks_service.list_tasks(s, org_id=ORG, filters=TaskFilter(owner="P-HR1")).items[0]


def test_a_step_ticked_again_from_an_older_page_keeps_its_first_ticker(web: dict[str, Any],
                                                                        web_client: Callable[[str], TestClient]
                                                                        ) -> None:
    """Probe: staff ticked step 1, then the officer's older page ticked it again: done_by became
    user:officer and the history said "step 1 done" twice."""
    task = _staff_task(web)
    page = f"/ui/tasks/{task.id}"
    staff, officer = web_client("staff"), web_client("officer")
    older = csrf_of(officer.get(page).text)  # the officer's page, loaded before staff ticked
    assert act(staff, f"{page}/check", page, step="1", done="true").status_code == 303
    again = officer.post(f"{page}/check", data={"csrf_token": older, "step": "1", "done": "true"},
                         headers={"referer": f"http://testserver{page}"}, follow_redirects=False)
    assert again.status_code == 303
    assert "Step 1 was already done (by user:staff, " in officer.get(page).text
    assert act(officer, f"{page}/check", page, step="2", done="false").status_code == 303
    assert "Step 2 was already not done; nothing changed." in officer.get(page).text
    with unit_of_work(web["engine"]) as s:
        shown = tasks_service.get_task(s, org_id=ORG, task_id=task.id)
    assert shown.checklist[0].done_by == "user:staff"
    assert [h.reason[:11] for h in shown.history if h.kind == "checked" and h.reason] == ["step 1 done"]


def test_each_evidence_link_downloads_under_its_own_name(web: dict[str, Any],
                                                         web_client: Callable[[str], TestClient]) -> None:
    """Probe: the same bytes attached as a.txt and b.html: b.html's link answered filename="a.txt"."""
    task = _staff_task(web)
    with unit_of_work(web["engine"]) as s:
        atts = [tasks_service.attach_evidence(s, org_id=ORG, task_id=task.id, actor="user:staff",
                                              stream=io.BytesIO(b"same bytes\n"), filename=name)
                for name in ("a.txt", "b.html")]
    staff = web_client("staff")
    html = staff.get(f"/ui/tasks/{task.id}").text
    for att in atts:
        link = f"/tasks/{task.id}/attachments/{att.id}"
        assert f'href="{link}"' in html
        down = staff.get(link)
        assert down.status_code == 200 and f'filename="{att.filename}"' in down.headers["content-disposition"]
    by_hash = staff.get(f"/tasks/{task.id}/attachments/{atts[0].sha256}")  # links made before ids still work
    assert by_hash.status_code == 200 and 'filename="a.txt"' in by_hash.headers["content-disposition"]
    assert staff.get(f"/tasks/{task.id}/attachments/999999").status_code == 404
    for unknown in ("9" * 40, "\u00b2", "-1"):
        assert staff.get(f"/tasks/{task.id}/attachments/{unknown}").status_code == 404, unknown
