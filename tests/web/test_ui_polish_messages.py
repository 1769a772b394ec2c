"""What the pages say, probed in a browser and found wanting:

- a waiver's end reads one way everywhere: the form's "until 2027-01-31" is "through 2027-01-31 (UTC)"
  in the finding's history and in the form's refusals (they had said 2027-02-01T00:00:00+00:00),
  while the stored end and the audit payload keep the instant;
- a waiver is time-boxed: at most 366 days from its start, on the form and in the service;
- a deadline on the date the facts name is said once ("due on 2026-11-28, 2026-11-28 (...)");
- the audit trail shows payloads as written (`patient's`, not `patient\\u0027s`), still escaped;
- completing a task with steps unticked says how many, as its history does;
- an unknown rule, framework or establishment on the findings list is explained, with no "0 findings";
- a refused form speaks plainly ("Until: not a valid date", not pydantic's words).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from engine import clock
from engine.audit import service as audit_service
from engine.db import unit_of_work
from engine.errors import InputError
from engine.findings import lifecycle, waiver_checks
from engine.findings.schemas import WaiverIn
from engine.findings.tables import FindingRow
from engine.tasks import service as tasks_service
from engine.tasks.schemas import TaskFilter
from engine.web.render import _deadline_math
from tests.web.conftest import ORG
from tests.web.conftest import flash_of as _flash
from tests.web.test_findings_pages import GRANTED, act, finding_of

UTC = dt.UTC


# -- 1: a waiver's end, as the form took it ---------------------------------------------------------------


def test_the_history_names_the_last_day_of_a_waiver_as_the_card_does(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    with clock.frozen(GRANTED):
        assert act(c, f"{page}/waive", page, reason="on leave", approver="CMO", until="2026-04-30",
                   scope="subject").status_code == 303
        text = html.unescape(c.get(page).text)
    finding = finding_of(web, "EP1")
    (waived,) = [e for e in finding.history if e.to_state == "waived"]
    assert waived.reason == (f"waiver {finding.waiver_id} from {GRANTED.astimezone(UTC).isoformat()} "
                             "through 2026-04-30 (UTC), approved by CMO: on leave")
    assert "the end of 2026-04-30 (UTC)" in text and "through 2026-04-30 (UTC), approved by CMO: on leave" in text
    assert "2026-05-01T00:00:00" not in text
    with unit_of_work(web["engine"]) as s:
        entries = audit_service.list_entries(s, org_id=ORG, limit=1000)
    (created,) = [e for e in entries if e.action == "waiver.create"]
    assert created.payload["ends_at"] == "2026-05-01T00:00:00+00:00"  # the stored instant, unchanged
    (applied,) = [e for e in entries if e.action == "finding.waive"]
    assert applied.payload["reason"] == waived.reason


def test_an_end_already_past_is_named_as_the_day_entered(web: dict[str, Any],
                                                           web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    with clock.frozen(GRANTED):  # 2026-03-11 12:00 UTC: the end of 2026-03-10 is past
        act(c, f"{page}/waive", page, reason="on leave", approver="CMO", until="2026-03-10", scope="subject")
        said = _flash(c.get(page).text)
    assert "through 2026-03-10 (UTC)" in said and "already" in said, said
    assert "2026-03-11T00:00:00" not in said
    assert finding_of(web, "EP1").state == "open"


def test_an_end_that_is_no_midnight_keeps_its_instant() -> None:
    assert waiver_checks.end_text(dt.datetime(2027, 2, 1, tzinfo=UTC)) == "through 2027-01-31 (UTC)"
    assert waiver_checks.end_text(dt.datetime(2027, 2, 1, 12, 30, tzinfo=UTC)) == "until 2027-02-01T12:30:00+00:00"
    east = dt.timezone(dt.timedelta(hours=5))  # midnight in UTC, whatever zone it was written in
    assert waiver_checks.end_text(dt.datetime(2027, 2, 1, 5, tzinfo=east)) == "through 2027-01-31 (UTC)"


# -- 2: a waiver is time-boxed ----------------------------------------------------------------------------


def test_the_service_refuses_a_waiver_longer_than_366_days_naming_the_latest_end(web: dict[str, Any]) -> None:
    fid = finding_of(web, "EP1").id
    with clock.frozen(GRANTED), unit_of_work(web["engine"]) as s, pytest.raises(InputError) as refused:
        lifecycle.waive(s, org_id=ORG, actor="test", finding_id=fid, data=WaiverIn(
            reason="on leave", approver="CMO", ends_at=dt.datetime(2099, 1, 1, tzinfo=UTC)))
    (detail,) = refused.value.details
    assert detail.field == "ends_at" and "366 days" in detail.reason
    assert "2027-03-12T12:00:00+00:00" in detail.reason and "through 2027-03-11 (UTC)" in detail.reason
    with clock.frozen(GRANTED), unit_of_work(web["engine"]) as s:  # 366 days to the second is allowed
        lifecycle.waive(s, org_id=ORG, actor="test", finding_id=fid, data=WaiverIn(
            reason="on leave", approver="CMO", ends_at=GRANTED + dt.timedelta(days=366)))
    assert finding_of(web, "EP1").state == "waived"


def test_a_later_start_moves_the_latest_end(web: dict[str, Any]) -> None:
    fid = finding_of(web, "EP1").id
    starts = GRANTED + dt.timedelta(days=30)
    with clock.frozen(GRANTED), unit_of_work(web["engine"]) as s, pytest.raises(InputError) as refused:
        lifecycle.waive(s, org_id=ORG, actor="test", finding_id=fid, data=WaiverIn(
            reason="on leave", approver="CMO", starts_at=starts, ends_at=starts + dt.timedelta(days=367)))
    assert (starts + dt.timedelta(days=366)).isoformat() in refused.value.details[0].reason


def test_the_form_offers_and_takes_366_days_at_most(web: dict[str, Any],
                                                      web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    with clock.frozen(GRANTED):
        text = c.get(page).text
        assert 'min="2026-03-11" max="2027-03-11"' in text and "through 2027-03-11 at the latest" in text
        r = act(c, f"{page}/waive", page, reason="forever", approver="CMO", until="2027-03-12", scope="subject")
        assert r.status_code == 303 and r.headers["location"] == page
        said = _flash(c.get(page).text)
    assert "2027-03-12" in said and "through 2027-03-11 (UTC) at the latest" in said and "366" in said
    assert finding_of(web, "EP1").state == "open"
    with clock.frozen(GRANTED):
        assert act(c, f"{page}/waive", page, reason="a year", approver="CMO", until="2027-03-11",
                   scope="subject").status_code == 303
    assert finding_of(web, "EP1").state == "waived"


# -- 3: a due date said once ------------------------------------------------------------------------------

TWICE = ("due on 2026-11-28, 2026-11-28 (America/Denver): the date the rule's own facts name (see why it "
         "fired)")


def test_a_deadline_on_the_facts_own_date_is_said_once(web: dict[str, Any],
                                                        web_client: Callable[[str], TestClient]) -> None:
    assert _deadline_math({"explanation": TWICE}) == (
        "due on 2026-11-28 (America/Denver): the date the rule's own facts name (see why it fired)")
    anchored = "due on 2026-11-28, 2026-11-28 (America/Denver; anchor 2026-11-28T09:00:00-07:00): the date"
    assert _deadline_math({"explanation": anchored}) == (
        "due on 2026-11-28 (America/Denver; anchor 2026-11-28T09:00:00-07:00): the date")
    sums = "2026-02-01 (America/Chicago) + 30 calendar days = 2026-03-03"
    assert _deadline_math({"explanation": sums}) == sums
    assert _deadline_math({"due": "2026-03-03"}) == "due 2026-03-03"
    fid = finding_of(web, "EP1").id
    with unit_of_work(web["engine"]) as s:
        row = s.get(FindingRow, fid)
        assert row is not None
        row.facts = {**row.facts, "deadline": {**row.facts["deadline"], "explanation": TWICE}}
    text = html.unescape(web_client("officer").get(f"/ui/findings/{fid}").text)
    shown = re.search(r'<p id="deadline-math">(.*?)</p>', text, re.S)
    assert shown and shown.group(1).startswith("due on 2026-11-28 (America/Denver): "), shown


# -- 4: audit payloads as written -------------------------------------------------------------------------


def test_audit_payloads_show_apostrophes_and_accents_and_stay_escaped(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    said = "the patient's chart, café <script>alert(1)</script> & \"more\""
    with unit_of_work(web["engine"]) as s:
        audit_service.append(s, org_id=ORG, actor="tester", action="probe.note", entity_type="probe",
                             entity_id="X1", payload={"text": said})
    raw = web_client("officer").get("/ui/audit/trail?action=probe").text
    pre = re.search(r'<pre class="small">(.*?)</pre>', raw, re.S)
    assert pre is not None
    assert "\\u0027" not in pre.group(1) and "\\u00e9" not in pre.group(1) and "\\u003c" not in pre.group(1)
    assert "<script>" not in raw and "&lt;script&gt;alert(1)&lt;/script&gt;" in pre.group(1)
    assert json.loads(html.unescape(pre.group(1))) == {"text": said}


# -- 5: completing with steps unticked --------------------------------------------------------------------


def test_completing_with_steps_unticked_says_so(web: dict[str, Any],
                                                web_client: Callable[[str], TestClient]) -> None:
    with unit_of_work(web["engine"]) as s:
        tasks = tasks_service.list_tasks(s, org_id=ORG, filters=TaskFilter(owner="P-HR1")).items
    first, second = tasks[0], tasks[1]
    c = web_client("staff")
    page = f"/ui/tasks/{first.id}"
    assert act(c, f"{page}/complete", page, note="").status_code == 303
    n = len(first.checklist)
    assert n >= 2
    assert _flash(c.get(page).text).startswith(
        f"Task completed; {n} of {n} checklist steps were not ticked.")
    page = f"/ui/tasks/{second.id}"
    for step in range(1, n + 1):
        act(c, f"{page}/check", page, step=str(step), done="true")
    assert act(c, f"{page}/complete", page, note="").status_code == 303
    said = _flash(c.get(page).text)
    assert said.startswith("Task completed.") and "not ticked" not in said
    # as the CLI says it: the next run may reopen it (it had promised only a confirmation)
    assert said.endswith("The next evaluation confirms it, or reopens it if the finding is still there.")


# -- 7: a filter that can match nothing -------------------------------------------------------------------


@pytest.mark.parametrize(("query", "named"), [("rule=DEMO-TRN-01", "DEMO-TRN-01"), ("framework=nope", "nope"),
                                              ("establishment=E9", "E9"), ("severity=bogus", "bogus")])
def test_an_unknown_filter_value_is_explained_not_counted(
        web: dict[str, Any], web_client: Callable[[str], TestClient], query: str, named: str) -> None:
    r = web_client("officer").get(f"/ui/findings?{query}")
    assert r.status_code == 200
    alert = re.search(r'<div class="flash flash-error" role="alert">(.*?)</div>', r.text, re.S)
    assert alert and "can match no finding" in alert.group(1) and named in html.unescape(alert.group(1))
    assert "0 findings" not in r.text and "No findings match these filters" not in r.text


# -- 8: refused forms in plain words ----------------------------------------------------------------------


def test_a_refused_form_names_its_fields_plainly(web: dict[str, Any],
                                                 web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    act(c, f"{page}/waive", page, reason="on leave", approver="CMO", until="2026-13-01", scope="subject")
    assert _flash(c.get(page).text) == "Please check the form: Until: not a valid date."
    act(c, f"{page}/waive", page, approver="CMO", until="2026-04-30", scope="subject")
    assert _flash(c.get(page).text) == "Please check the form: Reason: required."
    act(c, f"{page}/comment", page)
    assert _flash(c.get(page).text) == "Please check the form: Comment: required."
    act(c, "/ui/tasks/T-none/note", page)  # refused before any task is read: it comes back to the page it was on
    assert _flash(c.get(page).text) == "Please check the form: Note: required."


def test_a_refused_transition_is_said_in_the_pages_words(web: dict[str, Any],
                                                         web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    assert act(c, f"{page}/acknowledge", page).status_code == 303
    act(c, f"{page}/acknowledge", page)
    assert _flash(c.get(page).text) == "this finding is already acknowledged"
    with clock.frozen(GRANTED):
        assert act(c, f"{page}/waive", page, reason="on leave", approver="CMO", until="2026-04-30",
                   scope="subject").status_code == 303
    act(c, f"{page}/false-positive", page, reason="contractor")
    said = _flash(c.get(page).text)
    assert said.startswith("cannot mark a waived finding as a false positive"), said
    assert "false_positive" not in said
    with unit_of_work(web["engine"]) as s:
        assert s.scalar(select(FindingRow.state).where(FindingRow.id == fid)) == "waived"
