"""A form sent after the session had ended (the idle timeout, signed out in another tab) does nothing,
and the sign-in page says what was not done: it had said only "Your session has ended; sign in
again.", and back on the page the form was empty with nothing saying the waiver had not been granted
(black-box report D3). The refusal comes from the sign-in check, before the CSRF check: nothing runs.
What was typed comes back after signing in through vigil.js (tests/browser/test_forms_where_you_look.py),
which knows who is signed in from the page (`data-user`)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine import clock
from engine.api.deps import SESSION_COOKIE
from engine.auth import service as auth_service
from engine.db import unit_of_work
from engine.tasks import service as tasks_service
from engine.web.errors import session_ended
from tests.web.conftest import ORG, csrf_of
from tests.web.test_findings_pages import GRANTED, finding_of
from tests.web.test_task_steps import _staff_task


def _end_session(web: dict[str, Any], client: TestClient) -> None:
    with unit_of_work(web["engine"]) as s:
        auth_service.end_session(s, token=str(client.cookies.get(SESSION_COOKIE)))


def _send_late(web: dict[str, Any], client: TestClient, page: str, url: str, **form: str) -> str:
    """Load `page`, end the session, send the form to `url`; the sign-in page it leads to."""
    token = csrf_of(client.get(page).text)
    _end_session(web, client)
    r = client.post(url, data={"csrf_token": token, **form}, headers={"referer": f"http://testserver{page}"},
                    follow_redirects=False)
    assert r.status_code == 303
    target = urllib.parse.urlsplit(r.headers["location"])
    assert target.path == "/ui/login" and urllib.parse.parse_qs(target.query)["next"] == [page]
    return str(client.get(r.headers["location"]).text)


def test_a_waiver_sent_after_the_session_ended_says_it_was_not_granted(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    finding = finding_of(web, "EP1")
    page = f"/ui/findings/{finding.id}"
    with clock.frozen(GRANTED):
        shown = _send_late(web, web_client("officer"), page, f"{page}/waive", reason="compensating control",
                           approver="Dr. Alice Smith", until="2026-04-30", scope="subject")
    assert "Your session had ended, so the waiver was not granted. Sign in again, then send it again." in shown
    assert 'role="alert"' in shown and "data-user" not in shown  # nobody is signed in on the sign-in page
    assert finding_of(web, "EP1").state == finding.state != "waived"


def test_a_note_sent_after_the_session_ended_says_it_was_not_saved(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    task = _staff_task(web)
    page = f"/ui/tasks/{task.id}"
    shown = _send_late(web, web_client("staff"), page, f"{page}/note", text="called the vendor")
    assert "Your session had ended, so your note was not saved." in shown
    with unit_of_work(web["engine"]) as s:
        assert not tasks_service.get_task(s, org_id=ORG, task_id=task.id).notes


@pytest.mark.parametrize(("path", "said"), [
    ("/ui/findings/F-1/comment", "your comment was not saved"),
    ("/ui/findings/F-1/revoke-waiver", "the waiver was not revoked"),
    ("/ui/tasks/T-1/evidence", "the file was not attached"),
    ("/ui/tasks/T-1/complete", "the task was not marked complete"),
    ("/ui/rulesets/hipaa/2026.1.0/withdraw", "the version was not withdrawn"),
    ("/ui/somewhere/new", "what you sent was not saved"),
])
def test_each_form_says_what_it_did_not_do(path: str, said: str) -> None:
    assert session_ended(path) == f"Your session had ended, so {said}. Sign in again, then send it again."


def test_a_page_names_who_is_signed_in_for_the_forms_script(web_client: Callable[[str], TestClient]) -> None:
    """vigil.js puts a form typed before the session ended back only for the same user."""
    assert '<body data-user="staff">' in web_client("staff").get("/ui/tasks").text
