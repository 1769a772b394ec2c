"""The findings pages as an officer uses them: pages of the list that keep every filter they were
given, the waiver form (a date that cannot be used, what a waiver waived), a waiver that has ended
before any job reopened its finding, and links only to records that have a history page."""

from __future__ import annotations

import datetime as dt
import html
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine import clock
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.db import unit_of_work
from engine.findings import lifecycle
from engine.findings import service as findings_service
from engine.findings.schemas import FindingFilter, WaiverIn
from engine.findings.tables import FindingRow
from tests.factories import grant_expiry
from tests.web.conftest import ORG, csrf_of, login

GRANTED = dt.datetime(2026, 3, 11, 12, tzinfo=dt.UTC)
NEXT = re.compile(r'href="(/ui/findings\?[^"]*)" rel="next"')
PREV = re.compile(r'href="(/ui/findings\?[^"]*)" rel="prev"')


def finding_of(web: dict[str, Any], subject: str) -> Any:
    with unit_of_work(web["engine"]) as s:
        found = findings_service.list_findings(s, org_id=ORG, filters=FindingFilter(subject_id=subject,
                                                                                     state="")).items[0]
        return findings_service.get_finding(s, org_id=ORG, finding_id=found.id)


def waive_now(web: dict[str, Any], subject: str, ends_at: dt.datetime) -> str:
    """Waive the finding of `subject` for its subject through the service, as of GRANTED; the waiver's id."""
    fid = finding_of(web, subject).id
    with clock.frozen(GRANTED), unit_of_work(web["engine"]) as s:
        return lifecycle.waive(s, org_id=ORG, actor="test", finding_id=fid, data=WaiverIn(
            reason="on leave", approver="CMO", ends_at=ends_at)).id


def act(client: TestClient, url: str, page: str, **form: str) -> Any:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={"csrf_token": token, **form}, headers={"referer": f"http://testserver{page}"},
                       follow_redirects=False)


def link(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text)
    return html.unescape(found.group(1)) if found else None


def query_of(url: str) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query, keep_blank_values=True)


def test_next_and_previous_keep_state_any_and_see_the_waived_findings(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    waived = finding_of(web, "EP1").id
    waive_now(web, "EP1", dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    c = web_client("officer")
    url: str | None = "/ui/findings?state=&limit=1"
    seen: list[str] = []
    pages: list[str] = []
    while url:
        pages.append(url)
        text = c.get(url).text
        assert "3 findings" in text, url
        assert '<option value="" selected>any</option>' in text, url  # the State box still says "any"
        seen += re.findall(r'href="/ui/findings/(F-[0-9a-f]+)"', text)
        url = link(NEXT, text)
    assert len(pages) == 3 and len(set(seen)) == 3 and waived in seen
    assert all(query_of(u)["state"] == [""] and query_of(u)["limit"] == ["1"] for u in pages)
    back: list[str] = []
    url = pages[-1]
    while url:
        text = c.get(url).text
        assert "3 findings" in text, url
        back += re.findall(r'href="/ui/findings/(F-[0-9a-f]+)"', text)
        url = link(PREV, text)
        assert url is None or query_of(url)["state"] == [""]
    assert back == seen[::-1]


def test_page_links_keep_every_filter(web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    first = finding_of(web, "EP1")
    filters = {"framework": "demo", "severity": first.severity, "state": "open", "status": first.status,
               "establishment": "E1", "rule": first.rule_id, "subject": "EP1,EP2", "sort": "due", "limit": "1"}
    assert finding_of(web, "EP2").status == first.status
    c = web_client("officer")
    text = c.get("/ui/findings?" + urllib.parse.urlencode(filters)).text
    assert "2 findings" in text and "nearest due date first" in text
    assert '<option value="due" selected>' in text
    nxt = link(NEXT, text)
    assert nxt is not None
    assert {k: v[0] for k, v in query_of(nxt).items() if k not in ("cursor", "n")} == filters
    text = c.get(nxt).text
    assert "2 findings" in text and link(NEXT, text) is None
    prev = link(PREV, text)
    assert prev is not None and {k: v[0] for k, v in query_of(prev).items()} == filters


def test_a_date_the_waiver_cannot_end_on_is_refused_on_the_form(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """The last day offered is the last one a time-boxed waiver (366 days) granted now can run through;
    a date past it, the calendar's last day included (its midnight after is no date), is refused."""
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    with clock.frozen(GRANTED):
        text = c.get(page).text
        assert re.search(r'id="waive-until" name="until" type="date" required value="[0-9-]+" '
                         r'min="2026-03-11" max="2027-03-11"', text)
        r = act(c, f"{page}/waive", page, reason="forever", approver="CMO", until="9999-12-31", scope="subject")
    assert r.status_code == 303 and r.headers["location"] == page
    text = c.get(page).text
    assert "flash-error" in text and "9999-12-31" in text and "2027-03-11" in text
    assert finding_of(web, "EP1").state == "open"
    with clock.frozen(GRANTED):  # the last day that can be used still works
        r = act(c, f"{page}/waive", page, reason="a year", approver="CMO", until="2027-03-11", scope="subject")
    assert r.status_code == 303 and finding_of(web, "EP1").state == "waived"
    assert "Waiver in force" in c.get(page).text


def test_the_flash_says_how_many_findings_the_waiver_waives(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    c = web_client("officer")
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    with clock.frozen(GRANTED):
        assert act(c, f"{page}/waive", page, reason="site closed", approver="CMO", until="2026-04-30",
                   scope="establishment").status_code == 303
    waiver = finding_of(web, "EP1").waiver_id
    assert waiver and finding_of(web, "EP2").waiver_id == waiver and finding_of(web, "EP3").state == "open"
    text = c.get(page).text
    both = ", ".join(sorted([fid, finding_of(web, "EP2").id]))  # named, not only counted (the reports probe)
    assert f"Waiver {waiver} granted through 2026-04-30: it waives 2 findings of DEMO-TRN-001 at E1: {both}." in text
    one = finding_of(web, "EP3").id
    page = f"/ui/findings/{one}"
    with clock.frozen(GRANTED):
        assert act(c, f"{page}/waive", page, reason="on leave", approver="CMO", until="2026-04-30",
                   scope="subject").status_code == 303
    waiver = finding_of(web, "EP3").waiver_id
    assert f"Waiver {waiver} granted through 2026-04-30: it waives this finding." in c.get(page).text


def test_a_waiver_past_its_end_is_not_shown_in_force(web: dict[str, Any],
                                                      web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    waive_now(web, "EP1", dt.datetime(2026, 3, 20, tzinfo=dt.UTC))
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    with clock.frozen(dt.datetime(2026, 3, 19, 23, tzinfo=dt.UTC)):
        text = c.get(page).text
    assert "Waiver in force" in text and "Revoke this waiver now" in text and "Waiver ended" not in text
    with clock.frozen(dt.datetime(2026, 3, 20, 0, 5, tzinfo=dt.UTC)):
        text = c.get(page).text
    assert "Waiver in force" not in text and "Revoke this waiver now" not in text
    assert "Waiver ended 2026-03-20" in text
    assert "the finding reopens at the next evaluation or waiver check" in text
    assert finding_of(web, "EP1").state == "waived"  # the page changed nothing


def test_only_record_types_link_to_a_record_history(web: dict[str, Any],
                                                     web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    with unit_of_work(web["engine"]) as s:
        row = s.get(FindingRow, fid)
        assert row is not None
        row.facts = {**row.facts, "year": {"type": "cms_mips_year", "id": "2026", "score": 71},
                     "issue": {"type": "hipaa_account_issue", "id": "P1/orphan", "kind": "orphan"}}
    text = web_client("officer").get(f"/ui/findings/{fid}").text
    assert 'href="/ui/records/employment_episode/EP1?version=1"' in text
    assert "/ui/records/cms_mips_year" not in text and "/ui/records/hipaa_account_issue" not in text
    assert "cms_mips_year 2026" in text and "hipaa_account_issue P1/orphan" in text
    assert "71" in text and "orphan" in text


def test_an_auditor_granted_some_establishments_is_offered_only_those(
        web: dict[str, Any]) -> None:
    with unit_of_work(web["engine"]) as s:
        auth.create_user(s, org_id=ORG, actor="test", data=UserIn(username="east-auditor", password="east-password",
                                                                  role="auditor"))
        auth.grant_auditor(s, username="east-auditor", actor="test", data=GrantIn(
            framework="demo", window_from=dt.date(2026, 1, 1), window_to=dt.date(2026, 12, 31),
            establishments=["E2"], expires_at=grant_expiry()))
    page = login(web["app"], "east-auditor", "east-password").get("/ui/findings").text
    box = page[page.index('id="f-establishment"'):]
    box = box[:box.index("</select>")]
    assert 'value="E2"' in box and 'value="E1"' not in box
    # the officer is offered every establishment
    officer = login(web["app"], "officer").get("/ui/findings").text
    assert 'value="E1"' in officer[officer.index('id="f-establishment"'):]


def test_a_finding_s_tasks_name_the_zone_their_due_date_is_local_to(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """The footer says times are UTC unless a zone is named: a task's local due date names its zone."""
    fid = finding_of(web, "EP1").id
    page = web_client("officer").get(f"/ui/findings/{fid}").text
    assert "(end of day, America/Chicago)" in page and "due dates are local dates of their establishment" in page


def test_a_filter_that_can_match_nothing_is_said_on_the_list_page_with_the_form_kept(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """A typo in the Rule field replaced the page with a bare 422 page, the form gone; a rule id in
    lower case matched nothing (probe 25)."""
    rule = finding_of(web, "EP1").rule_id
    c = web_client("officer")
    lower = c.get("/ui/findings?" + urllib.parse.urlencode({"rule": rule.lower(), "state": ""}))
    assert lower.status_code == 200 and "0 findings" not in lower.text and f'value="{rule}"' in lower.text
    assert "can match no finding" not in lower.text
    typo = c.get("/ui/findings?" + urllib.parse.urlencode({"rule": rule + "X", "framework": "demo"}))
    assert typo.status_code == 200, typo.text
    assert 'role="alert"' in typo.text and "can match no finding" in typo.text and f"{rule}X" in typo.text
    assert 'id="f-rule"' in typo.text and '<option value="demo" selected' in typo.text


def test_a_waived_findings_deadline_status_is_shown_quiet(web: dict[str, Any],
                                                          web_client: Callable[[str], TestClient]) -> None:
    """A red "overdue" beside "waived" read as work still owed (probe 25)."""
    fid = finding_of(web, "EP1").id
    c = web_client("officer")
    assert 'class="status status-settled"' not in c.get(f"/ui/findings/{fid}").text
    waive_now(web, "EP1", dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    text = c.get(f"/ui/findings/{fid}").text
    assert 'class="status status-settled"' in text
    assert "the end of 2026-12-31 (UTC)" in text  # the last day, as the form asked for it


def test_the_waiver_form_names_what_else_each_scope_would_waive(web: dict[str, Any]) -> None:
    """A waiver is the rule for the subject (or site): waiving one finding waives the rule's others
    in that scope. A new-practice pass waived "logs kept 365 days" and so "audit logging disabled"
    (high) with it, told only by the answer. The form now says it before the button."""
    mine, other = finding_of(web, "EP1"), finding_of(web, "EP2")  # the same rule, both at E1
    assert (mine.rule_id, mine.establishment_id) == (other.rule_id, other.establishment_id)
    with clock.frozen(GRANTED):
        page = login(web["app"], "officer").get(f"/ui/findings/{mine.id}").text
    said = {m.group(1): " ".join(html.unescape(re.sub(r"<[^>]+>", "", m.group(2))).split())
            for m in re.finditer(r'<span id="waive-also-(\w+)"[^>]*>(.*?)</span>', page, re.S)}
    assert said["subject"] == ": this finding only"
    assert said["establishment"].startswith(f": this finding and 1 more of the rule, waived with it: {other.id} (")
    assert 'aria-describedby="waive-also-establishment"' in page
    with clock.frozen(GRANTED):
        liaison = login(web["app"], "liaison").get(f"/ui/findings/{mine.id}").text  # no waive form, no lookup
    assert "waive-also-" not in liaison


def test_state_all_lists_every_state_as_the_api_and_cli_read_it(web: dict[str, Any]) -> None:
    """Black-box pass: /ui/findings?state=all said "'all' is not a state", where GET /findings and
    `vigil findings list --state all` list every state; the web's own "any" is `state=`."""
    waive_now(web, "EP1", dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    with clock.frozen(GRANTED):
        client = login(web["app"], "officer")
        every, empty = client.get("/ui/findings?state=all"), client.get("/ui/findings?state=")
    assert every.status_code == 200 and "is not a state" not in every.text
    assert finding_of(web, "EP1").id in every.text
    listed = re.findall(r'href="/ui/findings/(F-[^"?#]+)"', every.text)
    assert listed and listed == re.findall(r'href="/ui/findings/(F-[^"?#]+)"', empty.text)
