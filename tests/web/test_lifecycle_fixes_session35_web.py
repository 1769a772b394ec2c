"""Closing a finding about an event from the finding's page and through the REST API, with the
permission that marks false positives (findings.update: officers and admins)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine import clock, pipeline
from engine.auth import service as auth
from engine.db import unit_of_work
from tests import factories as f
from tests.web.conftest import AS_OF, ORG
from tests.web.test_actions import act, finding_of

LATER = AS_OF + dt.timedelta(hours=1)


def _with_an_export(web: dict[str, Any]) -> str:
    """An export of a chart (DEMO-EXPORT-002, an event rule) evaluated an hour after the fixture's run."""
    with clock.frozen(LATER), unit_of_work(web["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.access("AE-1", "U1", "PT1", "2026-03-09T10:00:00-06:00",
                                                                  action="export")],
                                actor="test", source="test", stream=False)
        pipeline.evaluate(s, org_id=ORG, as_of=LATER, actor="test")
    return str(finding_of(web, "AE-1").id)


def _bearer(web: dict[str, Any], role: str) -> dict[str, str]:
    with unit_of_work(web["engine"]) as s:
        user = auth.get_user(s, username=role)
        token = auth.issue_token(s, user_id=user.id, name="t", ttl=dt.timedelta(hours=1), actor="t").token
    return {"Authorization": f"Bearer {token}"}


def test_an_event_finding_is_closed_from_its_page_and_reopened_by_mistake(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    fid = _with_an_export(web)
    page = f"/ui/findings/{fid}"
    officer = web_client("officer")
    assert f'action="{page}/close"' in officer.get(page).text
    deadline_page = f"/ui/findings/{finding_of(web, 'EP1').id}"
    assert f'action="{deadline_page}/close"' not in officer.get(deadline_page).text  # a condition that still holds
    assert f'action="{page}/close"' not in web_client("liaison").get(page).text

    r = act(officer, f"{page}/close", page, reason="")
    assert r.status_code == 303 and "Please check the form: Reason: required." in officer.get(page).text
    r = act(officer, f"{page}/close", page, reason="export recalled, patient told")
    assert r.status_code == 303
    shown = officer.get(page).text
    assert "Finding closed" in shown and "by user:officer: export recalled, patient told" in shown
    closed = finding_of(web, "AE-1")
    assert closed.state == "resolved" and closed.resolved_by_run is None
    assert f'action="{page}/reopen"' in shown and f'action="{page}/close"' not in shown
    assert act(officer, f"{page}/reopen", page, reason="closed the wrong one").status_code == 303
    assert finding_of(web, "AE-1").state == "open"


def test_the_api_closes_an_event_finding_for_an_officer_only(web: dict[str, Any]) -> None:
    fid = _with_an_export(web)
    client = TestClient(web["app"])
    url = f"/findings/{fid}/close"
    assert client.post(url, headers=_bearer(web, "liaison"), json={"reason": "x"}).status_code == 403
    blank = client.post(url, headers=_bearer(web, "officer"), json={"reason": " "})
    assert blank.status_code == 422
    deadline = finding_of(web, "EP1").id
    refused = client.post(f"/findings/{deadline}/close", headers=_bearer(web, "officer"), json={"reason": "done"})
    assert refused.status_code == 409 and refused.json()["code"] == "conflict.finding_not_finished"
    with clock.frozen(LATER):
        done = client.post(url, headers=_bearer(web, "officer"), json={"reason": "export recalled"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["state"], body["resolved_by_run"], body["history"][-1]["reason"]) == (
        "resolved", None, "export recalled")
