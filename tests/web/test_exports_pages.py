"""The findings and tasks pages' "Download CSV" links carry the page's filters and download the list
on screen; the tasks page filters by owner (managers) and severity across views and pages, and
pages back as well as forward."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.db import unit_of_work
from engine.tasks import service as tasks_service
from engine.web.routes import tasks as task_pages
from tests.web.conftest import ORG

ROW = re.compile(r"<tr>\s*<td>.*?</tr>", re.S)


def _href(page: str, anchor_id: str) -> str:
    found = re.search(rf'<a href="([^"]+)"[^>]*id="{anchor_id}"', page)
    assert found, f"no #{anchor_id} link on the page"
    return html.unescape(found.group(1))


def _csv(client: TestClient, url: str) -> list[dict[str, str]]:
    r = client.get(url)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith('attachment; filename="')
    assert r.content.startswith(b"\xef\xbb\xbf")  # the UTF-8 byte order mark: Excel reads the file as UTF-8
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))


def _listed(page: str, kind: str) -> list[str]:
    """The ids the page's table links to, in its order."""
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(rf'href="/ui/{kind}/([^"]+)"', body)


def test_the_findings_download_is_the_filtered_list(web_client: Callable[[str], TestClient]) -> None:
    client = web_client("officer")
    page = client.get("/ui/findings?severity=high&sort=due&limit=25").text
    url = _href(page, "findings-export")
    assert url.startswith("/ui/findings/export.csv?") and "severity=high" in url and "sort=due" in url
    assert "limit=" not in url and "state=open%2Cacknowledged" in url  # the list's default, said
    rows = _csv(client, url)
    assert rows and [r["id"] for r in rows] == _listed(page, "findings")
    assert {r["severity"] for r in rows} == {"high"}
    every = client.get("/ui/findings?state=").text  # "any state": kept as given, not the default
    assert [r["id"] for r in _csv(client, _href(every, "findings-export"))] == _listed(every, "findings")


def test_an_auditor_downloads_the_grant_and_staff_nothing(web_client: Callable[[str], TestClient]) -> None:
    auditor = web_client("auditor")
    page = auditor.get("/ui/findings").text
    rows = _csv(auditor, _href(page, "findings-export"))
    assert [r["id"] for r in rows] == _listed(page, "findings") and {r["framework"] for r in rows} == {"demo"}
    assert web_client("staff").get("/ui/findings/export.csv").status_code == 403
    refused = web_client("officer").get("/ui/findings/export.csv?severity=urgent")
    assert refused.status_code == 422 and "&#39;urgent&#39; is not a severity" in refused.text


def test_managers_filter_tasks_by_owner_and_severity_across_views(web: dict[str, Any],
                                                                  web_client: Callable[[str], TestClient]) -> None:
    client = web_client("officer")
    page = client.get("/ui/tasks?view=open").text
    assert 'id="t-owner"' in page and 'id="t-severity"' in page
    assert '<option value="P-HR1">' in page  # who owns tasks, offered by name where there is one
    mine = client.get("/ui/tasks?view=open&owner=P-HR1&severity=high").text
    with unit_of_work(web["engine"]) as s:
        expected = [t.id for t in tasks_service.list_tasks(s, org_id=ORG).items
                    if t.owner == "P-HR1" and t.severity == "high" and t.state == "open"]
    assert expected and _listed(mine, "tasks") == expected
    assert '<option value="P-HR1" selected>' in mine and '<option value="high" selected>' in mine
    # switching lists keeps both filters, and so does the download
    assert 'href="/ui/tasks?view=overdue&amp;owner=P-HR1&amp;severity=high"' in mine
    rows = _csv(client, _href(mine, "tasks-export"))
    assert [r["id"] for r in rows] == expected and {r["owner"] for r in rows} == {"P-HR1"}
    # a filter that can match nothing is said above the list, the form kept as typed (it had been a
    # whole 422 page, the filters lost), as on the findings page
    refused = client.get("/ui/tasks?view=open&severity=urgent&owner=P-HR1")
    assert refused.status_code == 200 and "These filters can match no task" in refused.text
    assert "&#39;urgent&#39; is not a task severity" in refused.text
    assert '<option value="urgent" selected>' in refused.text and '<option value="P-HR1" selected>' in refused.text
    assert "No tasks here." not in refused.text


def test_my_tasks_drop_an_owner_filter_rather_than_carry_it(web_client: Callable[[str], TestClient]) -> None:
    """Black-box pass: "My tasks" with owner=P-HR1 listed the officer's own tasks while its links and
    its download still named P-HR1."""
    page = web_client("officer").get("/ui/tasks?view=mine&owner=P-HR1&severity=high").text
    assert "owner=P-HR1" not in page and 'id="t-owner"' not in page
    assert 'href="/ui/tasks?view=open&amp;severity=high"' in page  # the other filters go along
    assert "My tasks are your own: choose another list to see the tasks of P-HR1." in page  # said, not silent


def test_staff_see_no_owner_filter_and_download_their_own_tasks(web_client: Callable[[str], TestClient]) -> None:
    client = web_client("staff")
    page = client.get("/ui/tasks?view=open&owner=P-HR2").text  # the owner filter is a manager's: ignored
    assert 'id="t-owner"' not in page and 'id="t-severity"' in page
    # and the page says so (it had shown their own list without a word; GET /tasks answers a 422)
    assert "You see your own tasks only, so the owner filter (P-HR2) is not applied." in page
    assert "owner filter" not in client.get("/ui/tasks?view=open&owner=P-HR1").text  # their own: nothing to say
    rows = _csv(client, _href(page, "tasks-export"))
    assert rows and {r["owner"] for r in rows} == {"P-HR1"} and [r["id"] for r in rows] == _listed(page, "tasks")
    assert [r["id"] for r in _csv(client, "/ui/tasks/export.csv?view=open&owner=P-HR2")] == [r["id"] for r in rows]


def test_the_tasks_pages_go_back_as_well_as_forward(web_client: Callable[[str], TestClient],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(task_pages, "PAGE_SIZE", 1)
    client = web_client("officer")
    first = client.get("/ui/tasks?view=open&severity=high").text
    assert "Previous page" not in first and "First page" not in first
    seen = _listed(first, "tasks")
    pages = [first]
    while 'rel="next"' in pages[-1]:
        nxt = html.unescape(re.search(r'<a href="([^"]+)" rel="next"', pages[-1]).group(1))  # type: ignore[union-attr]
        assert "severity=high" in nxt and "view=open" in nxt
        pages.append(client.get(nxt).text)
        seen += _listed(pages[-1], "tasks")
    assert len(pages) == 3 and len(seen) == len(set(seen)) == 3  # the last page goes back by a cursor
    for before, page in zip(pages, pages[1:], strict=False):
        back = html.unescape(re.search(r'<a href="([^"]+)" rel="prev"', page).group(1))  # type: ignore[union-attr]
        assert "severity=high" in back and _listed(client.get(back).text, "tasks") == _listed(before, "tasks")
        assert "« First page" in page


def test_the_task_list_names_owners_as_its_owner_filter_does(web: dict[str, Any],
                                                            web_client: Callable[[str], TestClient]) -> None:
    """Web pass: the list showed P-HR1 where its Owner filter offered "Hana Ro (P-HR1)"."""
    from engine import pipeline
    from engine.db import unit_of_work
    from tests.web.conftest import ORG

    with unit_of_work(web["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[{"type": "person", "id": "P-HR1", "first_name": "Hana",
                                                         "last_name": "Ro"}], actor="t", source="t", stream=False)
    page = web_client("officer").get("/ui/tasks?view=open").text
    assert "Hana Ro (P-HR1)</option>" in page  # the filter
    rows = page[page.index("<tbody"):page.index("</tbody>")]
    assert "Hana Ro (P-HR1)<br>" in rows and ">P-HR1<br>" not in rows
