"""The forms: CSRF refusal, each finding action end to end (form -> lifecycle -> redirect -> page),
task work by a staff member, list filters and keyset pages, and the auditor's scope."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine import clock, pipeline
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.db import unit_of_work
from engine.findings import service as findings_service
from engine.findings.schemas import FindingFilter
from engine.packets import service as packet_service
from engine.packets.verify import verify_packet
from engine.tasks import service as tasks_service
from engine.tasks.schemas import TaskFilter
from tests.factories import grant_expiry
from tests.web.conftest import ORG, csrf_of, login


def finding_of(web: dict[str, Any], subject: str) -> Any:
    with unit_of_work(web["engine"]) as s:
        found = findings_service.list_findings(s, org_id=ORG, filters=FindingFilter(subject_id=subject)).items[0]
        return findings_service.get_finding(s, org_id=ORG, finding_id=found.id)


def act(client: TestClient, url: str, page: str, **form: str) -> Any:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={"csrf_token": token, **form}, headers={"referer": f"http://testserver{page}"},
                       follow_redirects=False)


def test_forms_without_the_csrf_token_are_refused(web: dict[str, Any],
                                                 web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    officer = web_client("officer")
    officer.get(f"/ui/findings/{fid}")
    for data in ({}, {"csrf_token": "forged-token-value-from-another-site"}):
        r = officer.post(f"/ui/findings/{fid}/acknowledge", data=data, follow_redirects=False)
        assert r.status_code == 403 and "permission_denied.csrf" in r.text
    assert finding_of(web, "EP1").state == "open"
    anon = TestClient(web["app"])
    r = anon.post("/ui/login", data={"username": "officer", "password": "officer-password"})
    assert r.status_code == 403 and "vigil_session" not in anon.cookies


def test_a_token_from_another_browser_does_not_pass(web: dict[str, Any],
                                                    web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    victim, attacker = web_client("officer"), web_client("liaison")
    stolen = csrf_of(attacker.get("/ui/findings").text)
    victim.get(f"/ui/findings/{fid}")
    r = victim.post(f"/ui/findings/{fid}/acknowledge", data={"csrf_token": stolen}, follow_redirects=False)
    assert r.status_code == 403


def test_a_form_token_planted_in_the_cookie_does_not_pass_and_each_sign_in_has_its_own(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """Whoever can set a cookie for the site (a sibling subdomain, plain HTTP) must not choose the
    token the forms need: signed in, the token is the session's, not the cookie's."""
    fid = finding_of(web, "EP1").id
    victim = web_client("officer")
    signed_in_token = csrf_of(victim.get(f"/ui/findings/{fid}").text)
    victim.cookies.set("vigil_csrf", "attacker-chosen-token-0123456789")
    r = victim.post(f"/ui/findings/{fid}/acknowledge", data={"csrf_token": "attacker-chosen-token-0123456789"},
                    follow_redirects=False)
    assert r.status_code == 403 and "permission_denied.csrf" in r.text
    assert finding_of(web, "EP1").state == "open"
    again = web_client("officer")  # another sign-in of the same user: another token
    assert csrf_of(again.get(f"/ui/findings/{fid}").text) != signed_in_token
    r = victim.post(f"/ui/findings/{fid}/acknowledge", data={"csrf_token": signed_in_token}, follow_redirects=False)
    assert r.status_code == 303 and finding_of(web, "EP1").state == "acknowledged"


def test_the_login_form_posts_whether_or_not_a_session_began_since_it_was_shown(web: dict[str, Any]) -> None:
    client = TestClient(web["app"])
    form = csrf_of(client.get("/ui/login").text)
    for _ in range(2):  # the second time, a session cookie is already there
        r = client.post("/ui/login", data={"username": "officer", "password": "officer-password", "csrf_token": form},
                        follow_redirects=False)
        assert r.status_code == 303, r.text[:300]


def test_scripts_with_an_api_token_need_no_csrf_token(web: dict[str, Any]) -> None:
    fid = finding_of(web, "EP1").id
    with unit_of_work(web["engine"]) as s:
        user = auth.get_user(s, username="officer")
        token = auth.issue_token(s, user_id=user.id, name="t", ttl=dt.timedelta(hours=1), actor="t").token
    r = TestClient(web["app"]).post(f"/ui/findings/{fid}/acknowledge", headers={"Authorization": f"Bearer {token}"},
                                    follow_redirects=False)
    assert r.status_code == 303 and finding_of(web, "EP1").state == "acknowledged"


def test_acknowledge_assign_comment_reopen_and_false_positive(web: dict[str, Any],
                                                              web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    r = act(c, f"{page}/acknowledge", page, reason="seen")
    assert r.status_code == 303 and r.headers["location"] == page
    shown = c.get(page).text
    assert "Finding acknowledged." in shown and "state-acknowledged" in shown
    assert "Finding acknowledged." not in c.get(page).text  # the message shows once
    assert act(c, f"{page}/assign", page, assignee="P-HR1").status_code == 303
    assert act(c, f"{page}/comment", page, text="HR says the course is booked").status_code == 303
    assert act(c, f"{page}/reopen", page, reason="not yet").status_code == 303
    assert act(c, f"{page}/false-positive", page, reason="contractor, not workforce").status_code == 303
    f = finding_of(web, "EP1")
    assert f.state == "false_positive" and f.assignee == "P-HR1"
    kinds = [(e.kind, e.to_state, e.actor) for e in f.history]
    assert ("comment", None, "user:officer") in kinds and ("assign", None, "user:officer") in kinds
    assert [k[1] for k in kinds if k[0] == "transition"] == ["open", "acknowledged", "open", "false_positive"]
    text = c.get(page).text
    assert "HR says the course is booked" in text and "contractor, not workforce" in text


def test_refused_actions_come_back_with_the_reason(web: dict[str, Any],
                                                  web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP2").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    r = act(c, f"{page}/false-positive", page, reason="")
    assert r.status_code == 303 and r.headers["location"] == page
    assert "Please check the form: Reason: required." in c.get(page).text  # as the other forms say it
    assert act(c, f"{page}/acknowledge", page).status_code == 303
    r = act(c, f"{page}/acknowledge", page)  # already acknowledged: a conflict, shown on the page
    assert r.status_code == 303 and "this finding is already acknowledged" in c.get(page).text
    r = act(c, f"{page}/waive", page, reason="ok", approver="CMO")  # no date: the form is incomplete
    assert r.status_code == 303 and "Please check the form: Until: required." in c.get(page).text
    r = act(c, f"{page}/waive", page, reason="ok", approver="CMO", until="1767225600")  # session 48: a number
    assert r.status_code == 303 and "not a number" in c.get(page).text
    assert finding_of(web, "EP2").state == "acknowledged"


def test_waive_with_reason_approver_and_until(web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    with clock.frozen(dt.datetime(2026, 3, 11, 12, tzinfo=dt.UTC)):
        r = act(c, f"{page}/waive", page, reason="on leave until April", approver="Dr. Chen (CMO)",
                until="2026-04-30", scope="subject")
    assert r.status_code == 303
    f = finding_of(web, "EP1")
    assert f.state == "waived" and f.waiver_id
    with unit_of_work(web["engine"]) as s:
        waiver = next(w for w in findings_service.list_waivers(s, org_id=ORG) if w.id == f.waiver_id)
    assert waiver.ends_at == dt.datetime(2026, 5, 1, tzinfo=dt.UTC) and waiver.approver == "Dr. Chen (CMO)"
    assert waiver.subject_id == "EP1" and waiver.created_by == "user:officer"
    with clock.frozen(dt.datetime(2026, 3, 11, 13, tzinfo=dt.UTC)):  # in force: before its end
        text = c.get(page).text
    assert "Waiver in force" in text and "on leave until April" in text


def test_a_waiver_is_revoked_from_the_finding_page_with_a_reason(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    with clock.frozen(dt.datetime(2026, 3, 11, 12, tzinfo=dt.UTC)):
        act(c, f"{page}/waive", page, reason="on leave until April", approver="CMO", until="2026-04-30",
            scope="subject")
    with clock.frozen(dt.datetime(2026, 3, 11, 13, tzinfo=dt.UTC)):  # in force: before its end
        assert "Revoke this waiver now" in c.get(page).text
        assert "Revoke this waiver now" not in web_client("liaison").get(page).text
    assert act(web_client("liaison"), f"{page}/revoke-waiver", page, reason="nope").status_code == 403
    waiver_id = finding_of(web, "EP1").waiver_id
    with clock.frozen(dt.datetime(2026, 3, 12, 12, tzinfo=dt.UTC)):
        r = act(c, f"{page}/revoke-waiver", page, reason="approval withdrawn", waiver_id=waiver_id)
    assert r.status_code == 303
    f = finding_of(web, "EP1")
    assert f.state == "open" and f.waiver_id is None
    text = c.get(page).text
    assert "approval withdrawn" in text and "Waiver in force" not in text
    r = act(c, f"{page}/revoke-waiver", page, reason="again", waiver_id=waiver_id)  # refused, shown on the page
    assert r.status_code == 303 and "it is under no waiver now" in c.get(page).text


def test_liaison_may_read_but_not_act_and_the_forms_are_not_offered(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("liaison")
    text = c.get(page).text
    assert "Why it fired" in text and "Act on this finding" not in text
    assert act(c, f"{page}/acknowledge", page).status_code == 403
    assert act(c, f"{page}/waive", page, reason="x", approver="y", until="2026-04-30").status_code == 403
    assert finding_of(web, "EP1").state == "open"


def test_the_detail_explains_why_it_fired(web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    f = finding_of(web, "EP1")
    text = web_client("officer").get(f"/ui/findings/{f.id}").text
    assert "DEMO-TRN-001" in text and "test 1(a)" in text and "1.0.0" in text
    assert f.facts["deadline"]["explanation"] in text.replace("&#39;", "'")
    assert 'href="/ui/records/employment_episode/EP1?version=1"' in text
    assert 'href="/ui/rulesets/demo/1.0.0/rules/DEMO-TRN-001"' in text
    history = web_client("officer").get("/ui/records/employment_episode/EP1?version=1").text
    assert "2026-02-01T09:00:00-06:00" in history and "used by the finding" in history


def test_findings_filters_and_keyset_pages(web_client: Callable[[str], TestClient]) -> None:
    c = web_client("officer")
    everything = c.get("/ui/findings?state=").text
    assert "3 findings" in everything
    east = c.get("/ui/findings?establishment=E2").text
    assert "1 finding<" in east.replace(" ", "").replace("\n", "") or "1 finding\n" in east
    seen = []
    url = "/ui/findings?state=&limit=1"
    last = url
    while url:
        last = url
        text = c.get(url).text
        seen += re.findall(r'href="/ui/findings/(F-[0-9a-f]+)"', text)
        nxt = re.search(r'href="(/ui/findings\?[^"]*cursor=[^"]+)" rel="next"', text)
        url = nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert len(seen) == 3 and len(set(seen)) == 3
    back, url = [], last
    while url:  # and back again, page by page, from the last page
        text = c.get(url).text
        back += re.findall(r'href="/ui/findings/(F-[0-9a-f]+)"', text)
        prev = re.search(r'href="(/ui/findings\?[^"]*)" rel="prev"', text)
        url = prev.group(1).replace("&amp;", "&") if prev else ""
    assert back == seen[::-1]
    assert "No findings match" in c.get("/ui/findings?severity=low").text


def test_auditor_sees_only_the_grant(web: dict[str, Any]) -> None:
    fid = finding_of(web, "EP1").id
    with unit_of_work(web["engine"]) as s:
        auth.create_user(s, org_id=ORG, actor="test", data=UserIn(username="auditor2", password="auditor2-password",
                                                                  role="auditor"))
        auth.grant_auditor(s, username="auditor2", actor="test", data=GrantIn(
            framework="demo", window_from=dt.date(2025, 1, 1), window_to=dt.date(2025, 12, 31),
            expires_at=grant_expiry()))
    inside = login(web["app"], "auditor")
    assert inside.get(f"/ui/findings/{fid}").status_code == 200
    outside = login(web["app"], "auditor2")
    r = outside.get(f"/ui/findings/{fid}")
    assert r.status_code == 404 and "no finding" in r.text
    assert "0 findings" in outside.get("/ui/findings?state=").text
    assert outside.get("/ui/rulesets/hipaa/2026.1.0").status_code == 404


def test_staff_work_a_task_through_to_completion(web: dict[str, Any],
                                                 web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    with unit_of_work(web["engine"]) as s:
        task = tasks_service.list_tasks(s, org_id=ORG, filters=TaskFilter(finding_id=fid)).items[0]
        other = tasks_service.list_tasks(s, org_id=ORG, filters=TaskFilter(owner="P-HR2")).items[0]
    c = web_client("staff")
    mine = c.get("/ui/tasks").text
    assert task.id in mine and other.id not in mine
    assert c.get(f"/ui/tasks/{other.id}").status_code == 404
    page = f"/ui/tasks/{task.id}"
    text = c.get(page).text
    assert "SOP checklist" in text and "Book the training" in text
    assert act(c, f"{page}/check", page, step="1", done="true").status_code == 303
    token = csrf_of(c.get(page).text)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = c.post(f"{page}/evidence", data={"csrf_token": token, "note": "certificate"},
               files={"file": ("certificate.pdf", pdf, "application/pdf")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert act(c, f"{page}/note", page, text="booked for Friday").status_code == 303
    assert act(c, f"{page}/complete", page, note="trained").status_code == 303
    with unit_of_work(web["engine"]) as s:
        done = tasks_service.get_task(s, org_id=ORG, task_id=task.id)
    assert done.state == "done" and done.completed_by == "user:staff" and done.checklist[0].done
    assert [a.filename for a in done.attachments] == ["certificate.pdf"]
    text = c.get(page).text
    assert "certificate.pdf" in text and "booked for Friday" in text and "Mark task complete" not in text
    assert act(c, f"{page}/complete", page).status_code == 303  # a second completion is refused, and said so
    assert "cannot complete a task that is done" in c.get(page).text


def test_liaison_diff_and_rule_pages(web_client: Callable[[str], TestClient]) -> None:
    c = web_client("liaison")
    text = c.get("/ui/rulesets/demo/diff?from=1.0.0&to=2.0.0").text
    assert 'id="diff-table"' in text and "new_hire_days" in text and "default 30 → 10" in text
    assert '<del class="chg">3</del>' in text and '<ins class="chg">1</ins>' in text
    assert c.get("/ui/rulesets/demo/diff?from=1.0.0&to=9.9.9").status_code == 404
    rule = c.get("/ui/rulesets/demo/2.0.0/rules/DEMO-TRN-001").text
    # the rule's text is the same in 1.0.0, but the default of the parameter it uses went 30 -> 10:
    # not "same as this version" (the web pass), and the diff is a link away
    assert "episode.start_at" in rule and "params.new_hire_days" in rule and "same as this version" not in rule
    assert ('<a href="/ui/rulesets/demo/diff?from=1.0.0&amp;to=2.0.0">the same rule, with its parameters changed '
            '(diff)</a>') in rule
    checks = c.get("/ui/rulesets/demo/checks").text
    assert "Validation" in checks and "Run the scenario tests" in checks
    assert "new_hire_days" in c.get("/ui/params").text


def test_dashboard_numbers_match_the_lists(web_client: Callable[[str], TestClient]) -> None:
    text = web_client("officer").get("/ui/dashboard").text
    heat = text[text.index('id="heat"'):text.index("</table>", text.index('id="heat"'))]
    assert 'aria-label="3 high demo findings"' in heat
    assert "East clinic" in text and 'id="overdue-tasks"' in text or "Nothing overdue" in text
    assert "Trend of open findings" in text and "<svg" in text


def test_liaison_runs_the_scenario_tests(web: dict[str, Any], tmp_path: Any,
                                        monkeypatch: Any) -> None:
    import shutil

    from tests.web.conftest import FIXTURES

    rulesets = tmp_path / "rulesets"
    shutil.copytree(FIXTURES / "rulesets", rulesets)
    (rulesets / "demo" / "tests").mkdir()
    (rulesets / "demo" / "tests" / "new-hire.yaml").write_text(
        "name: a new hire is trained within 30 days\n"
        "rules: [DEMO-TRN-001]\n"
        "records:\n"
        "  - {type: establishment, id: E1, tz: America/Chicago, state: IL}\n"
        "  - {type: employment_episode, id: EP1, person_id: P1, establishment_id: E1,"
        " start_at: '2026-02-01T09:00:00-06:00'}\n"
        "cases:\n"
        "  - as_of: '2026-03-10T00:00:00Z'\n"
        "    expect: [{rule_id: DEMO-TRN-001, subject: employment_episode/EP1, state: overdue}]\n"
        "  - as_of: '2026-01-20T00:00:00Z'\n"
        "    expect: [{rule_id: DEMO-TRN-001, subject: employment_episode/EP1, state: overdue}]\n")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(rulesets))
    c = login(web["app"], "liaison")
    page = "/ui/rulesets/demo/checks"
    assert "Not run yet" in c.get(page).text
    r = act(c, page, page)
    assert r.status_code == 303
    text = c.get(r.headers["location"]).text
    assert "Scenarios: 1 passed, 1 failed" in text
    assert 'id="scenario-results"' in text and "tests/new-hire.yaml" in text and "missing finding" in text
    (rulesets / "demo" / "tests" / "new-hire.yaml").write_text("name: changed\nrecords: []\ncases: []\n")
    assert "Not run yet" in c.get(page).text  # results are for the files they ran on


def test_dashboard_lists_credentials_about_to_expire(web_client: Callable[[str], TestClient]) -> None:
    from engine.web import dashboard

    dashboard._expiry_cache.clear()
    client = web_client("officer")
    with clock.frozen(dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC)):
        text = client.get("/ui/dashboard").text
    table = text[text.index('id="expiries"'):text.index("</table>", text.index('id="expiries"'))]
    assert "Ana Diaz" in table and "BLS" in table and "ACLS" not in table
    # valid through 1 April in the holder's zone, as the credentialing rules count: 22 local days from 10 March
    assert 'href="/ui/records/credential/C1"' in table and ">22<" in table.replace(" ", "")
    assert "Credentials expiring" not in web_client("auditor").get("/ui/dashboard").text  # no records.read


def test_dashboard_expiries_follow_the_rules_validity_not_the_raw_expiry(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """A renewed credential's old record is not listed beside its successor; an end_of_month card
    printed 1 May is valid to the 31st; a card that lapsed yesterday is not 'expiring'."""
    from engine.web import dashboard

    more = [{"type": "person", "id": "P2", "first_name": "Ben", "last_name": "Ode"},
            {"type": "credential", "id": "L-OLD", "person_id": "P2", "kind": "STATE_LICENSE", "jurisdiction": "il",
             "issued_at": "2024-04-01T00:00:00-05:00", "expires_at": "2026-03-31T00:00:00-05:00"},
            {"type": "credential", "id": "L-NEW", "person_id": "P2", "kind": "STATE_LICENSE", "jurisdiction": "IL",
             "issued_at": "2026-03-01T00:00:00-06:00", "expires_at": "2028-03-31T00:00:00-05:00"},
            {"type": "credential", "id": "PALS-1", "person_id": "P2", "kind": "PALS",
             "expires_at": "2026-05-01T00:00:00-05:00", "expiry_rule": "end_of_month"},
            {"type": "credential", "id": "ACLS-GONE", "person_id": "P2", "kind": "ACLS",
             "expires_at": "2026-03-09T12:00:00-05:00"}]
    with clock.frozen(dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC)), unit_of_work(web["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=more, actor="test", source="test", stream=False)
    dashboard._expiry_cache.clear()
    with clock.frozen(dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC)):
        text = web_client("officer").get("/ui/dashboard").text
    table = text[text.index('id="expiries"'):text.index("</table>", text.index('id="expiries"'))]
    assert "L-OLD" not in table and "L-NEW" not in table  # renewed: its successor runs to 2028
    assert "ACLS-GONE" not in table  # lapsed on 9 March
    row = next(r for r in table.split("<tr>") if "PALS-1" in r)
    assert "2026-05-31" in row and ">82<" in row.replace(" ", "")  # 10 March -> 31 May


def test_an_officer_builds_a_packet_from_the_portal_and_the_auditor_downloads_it(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    officer = web_client("officer")
    assert 'id="build-packet"' in officer.get("/ui/audit").text
    r = act(officer, "/ui/audit/packets", "/ui/audit", framework="demo", **{"from": "2026-01-01", "to": "2026-06-30"},
            as_of="2026-06-30T12:00", establishment="")
    assert r.status_code == 303 and r.headers["location"] == "/ui/audit"
    page = officer.get("/ui/audit").text
    built = re.search(r"Packet ([0-9a-z-]+) built", page)
    assert built is not None, page
    packet_id = built.group(1)
    assert page.count(packet_id) >= 2  # the message and the list
    with unit_of_work(web["engine"]) as s:
        (info,) = packet_service.list_packets(s, org_id=ORG)
    assert info.id == packet_id and info.framework == "demo"
    assert info.as_of == dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)  # the form's time is UTC
    auditor = web_client("auditor")
    portal = auditor.get("/ui/audit").text
    assert 'id="build-packet"' not in portal
    # without Vigil: the packet's own how-to, with standard tools (auditor pass, 7 December)
    without = portal.split('id="verify-without-vigil"', 1)[1].split("</li>", 1)[0]
    assert "data/VERIFY.txt" in without and all(tool in without for tool in ("bagit.py", "openssl", "python3"))
    download = auditor.get(f"/packets/{packet_id}/download")
    assert download.status_code == 200 and download.content[:2] == b"PK"
    target = web["tmp"] / "got.zip"
    target.write_bytes(download.content)
    assert verify_packet(target).ok


def test_a_bad_packet_form_says_what_to_fix_and_builds_nothing(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    officer = web_client("officer")
    r = act(officer, "/ui/audit/packets", "/ui/audit", framework="demo", **{"from": "2025-12-31", "to": "2025-01-01"})
    assert r.status_code == 303
    assert "the period ends before it starts" in officer.get(r.headers["location"]).text
    r = act(officer, "/ui/audit/packets", "/ui/audit", framework="demo", **{"from": "1970-01-01", "to": "2025-01-01"})
    assert "dates must fall between 1980 and 2099" in officer.get(r.headers["location"]).text
    auditor = web_client("auditor")
    token = csrf_of(auditor.get("/ui/audit").text)
    r = auditor.post("/ui/audit/packets", data={"csrf_token": token, "framework": "demo", "from": "2025-01-01",
                                               "to": "2025-12-31"}, follow_redirects=False)
    assert r.status_code == 403
    with unit_of_work(web["engine"]) as s:
        assert packet_service.list_packets(s, org_id=ORG) == []


def test_the_dashboard_says_when_nothing_escalates_overdue_tasks(web: dict[str, Any],
                                                                 web_client: Callable[[str], TestClient]) -> None:
    """Web pass: with no scheduler running, overdue tasks sat at escalation level 0 and no page said
    why; the dashboard now says when the scheduler last escalated, once that is over an hour ago."""
    from engine import clock
    from engine.db import unit_of_work
    from engine.tasks.tables import JobRunRow
    from tests.web.conftest import ORG

    officer = web_client("officer")
    text = officer.get("/ui/dashboard").text
    assert 'id="overdue-tasks"' in text  # the fixture has overdue work
    assert "it has not escalated anything yet" in text and "vigil scheduler run" in text
    now = clock.now()
    with unit_of_work(web["engine"]) as s:
        s.add(JobRunRow(job="escalation", period=f"{ORG}:1", state="done", owner="t", takeovers=0,
                        started_at=now - dt.timedelta(hours=3), lease_until=now,
                        finished_at=now - dt.timedelta(hours=3), summary={}))
        s.add(JobRunRow(job="escalation", period="other-org:1", state="done", owner="t", takeovers=0,
                        started_at=now, lease_until=now, finished_at=now, summary={}))  # not this org's
    assert "it last escalated" in officer.get("/ui/dashboard").text
    with unit_of_work(web["engine"]) as s:
        s.add(JobRunRow(job="escalation", period=f"{ORG}:2", state="done", owner="t", takeovers=0,
                        started_at=now, lease_until=now, finished_at=now, summary={}))
    assert 'id="escalation-idle"' not in officer.get("/ui/dashboard").text  # running: nothing to say
