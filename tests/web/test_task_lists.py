"""The task lists narrowed to one establishment: a manager of two sites sees one site's tasks, the
filter survives switching lists, and a site the org does not have is refused, not shown as "no tasks"."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine.auth import people
from engine.db import unit_of_work
from engine.tasks import service as tasks_service
from tests.web.conftest import ORG

ROW = re.compile(r'<tr>\s*<td>.*?</tr>', re.S)


def _sites_listed(html: str) -> list[str]:
    """The establishment cell of each task row."""
    return [re.findall(r'<td class="small">([^<]*)</td>', row)[-1] for row in ROW.findall(html.split("<tbody>")[1])]


def test_the_open_list_narrows_to_one_establishment(web: dict[str, Any],
                                                    web_client: Callable[[str], TestClient]) -> None:
    client = web_client("officer")
    everything = client.get("/ui/tasks?view=open")
    assert everything.status_code == 200
    assert sorted(set(_sites_listed(everything.text))) == ["E1", "E2"]
    assert 'id="t-establishment"' in everything.text and ">East clinic</option>" in everything.text

    east = client.get("/ui/tasks?view=open&establishment=E2")
    assert east.status_code == 200
    assert _sites_listed(east.text) == ["E2"]
    with unit_of_work(web["engine"]) as s:
        expected = [t.id for t in tasks_service.list_tasks(s, org_id=ORG).items if t.establishment_id == "E2"]
    assert expected and all(f"/ui/tasks/{tid}" in east.text for tid in expected)
    assert '<option value="E2" selected>' in east.text
    # switching lists keeps the site
    assert 'href="/ui/tasks?view=overdue&amp;establishment=E2"' in east.text


def test_an_unknown_establishment_is_refused_with_a_reason(web_client: Callable[[str], TestClient]) -> None:
    r = web_client("officer").get("/ui/tasks?view=open&establishment=NOPE")
    assert r.status_code == 200 and "These filters can match no task" in r.text  # said above the list, form kept
    assert "NOPE" in r.text and "is not an establishment of this organization" in r.text


def test_staff_filtering_their_own_tasks_see_only_theirs(web_client: Callable[[str], TestClient]) -> None:
    client = web_client("staff")
    assert _sites_listed(client.get("/ui/tasks?view=mine").text) == ["E1", "E1"]
    assert _sites_listed(client.get("/ui/tasks?view=mine&establishment=E1").text) == ["E1", "E1"]
    elsewhere = client.get("/ui/tasks?view=mine&establishment=E2")
    assert elsewhere.status_code == 200 and "No tasks here." in elsewhere.text


def test_a_reassigned_tasks_owner_cell_says_who_reassigned_it(web: dict[str, Any],
                                                               web_client: Callable[[str], TestClient]) -> None:
    """The Owner cell had shown the new owner over the old owner's SOP role ("P-0003 / it admin"); it
    says what the task page says: who reassigned it."""
    with unit_of_work(web["engine"]) as s:
        task = tasks_service.list_tasks(s, org_id=ORG).items[0]
        linked = people.linked_persons(s, org_id=ORG)  # a user and their person are one owner: not a change
        new_owner = next(u for u in ("staff", "officer") if task.owner not in (u, linked.get(u)))
        tasks_service.reassign_task(s, org_id=ORG, task_id=task.id, owner=new_owner, actor="user:officer")
    html = web_client("officer").get("/ui/tasks?view=open").text
    (row,) = [r for r in ROW.findall(html.split("<tbody>")[1]) if f"/ui/tasks/{task.id}\"" in r]
    owner_cell = re.findall(r'<td class="small">(.*?)</td>', row, re.S)[0]
    assert new_owner in owner_cell and "reassigned by user:officer" in owner_cell, owner_cell
    assert task.owner_role.replace("_", " ") not in owner_cell, owner_cell
    detail = web_client("officer").get(f"/ui/tasks/{task.id}").text
    assert "(reassigned by user:officer)" in detail
