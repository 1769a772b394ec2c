"""Each role's main job, end to end in Chromium against a real server: the officer reviews and
waives a finding, builds an evidence packet and finds a record the rules pass over; a staff member
completes a task with an attachment; the liaison reads a diff of two ruleset versions; the auditor
downloads a packet and cannot open a finding outside the grant. A screenshot of each main page is written to
tests/artifacts/."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from engine import clock
from tests.browser.conftest import NEW_HIPAA, shot
from tests.browser.pages import DashboardPage, FindingPage, FindingsPage, LoginPage, TaskPage

pytestmark = pytest.mark.browser


def test_officer_reviews_and_waives_a_finding(new_page: Any) -> None:
    page = new_page
    LoginPage(page).sign_in("officer")
    expect(page).to_have_url(re.compile(r"/ui/dashboard$"))
    dash = DashboardPage(page)
    shot(page, "officer-dashboard")
    high = dash.heat_count("HIPAA", "high")
    assert high > 0
    expect(page.locator(".chart svg[role=img]")).to_be_visible()
    expect(page.locator("#expiries tbody tr").first).to_be_visible()
    dash.open_cell("HIPAA", "high")
    expect(page.get_by_role("heading", name=re.compile(rf"^{high} findings?"))).to_be_visible()
    expect(page.get_by_label("Framework")).to_have_value("hipaa")
    shot(page, "officer-findings")
    page.get_by_label("View name").fill("HIPAA high")
    page.get_by_role("button", name="Save view").click()
    expect(page.locator("[data-views-list]")).to_contain_text("HIPAA high")
    page.goto("/ui/findings")
    page.locator("[data-views-list]").get_by_role("link", name="HIPAA high").click()
    expect(page.get_by_label("Framework")).to_have_value("hipaa")
    expect(page.get_by_label("Severity")).to_have_value("high")
    title = FindingsPage(page).open_first()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("heading", name="Why it fired")).to_be_visible()
    expect(page.get_by_role("heading", name="The records and the values the rule used")).to_be_visible()
    shot(page, "officer-finding")
    finding = FindingPage(page)
    finding.comment("Reviewed with the privacy officer.")
    until = (clock.now().date() + dt.timedelta(days=30)).isoformat()  # the form takes today on
    finding.waive(reason="Compensating control in place until the new system goes live",
                  approver="Dr. Chen, CMO", until=until)
    expect(page.get_by_role("status")).to_contain_text(f"granted through {until}")
    assert finding.state() == "waived"
    expect(page.get_by_role("heading", name="Waiver in force")).to_be_visible()
    history = page.locator("ol.history")
    expect(history).to_contain_text("Reviewed with the privacy officer.")
    expect(history).to_contain_text("Compensating control in place")
    shot(page, "officer-finding-waived")
    evidence = page.locator("section", has=page.get_by_role("heading", name="The records and the values the rule used"))
    evidence.locator("ul.plain a").first.click()
    expect(page.locator("#versions")).to_be_visible()
    shot(page, "officer-record-history")


def test_a_refused_form_comes_back_with_what_was_typed(new_page: Any) -> None:
    """The waive form came back empty after the server refused a blank reason: approver and date
    had to be typed again (probe 25)."""
    page = new_page
    LoginPage(page).sign_in("officer")
    page.goto("/ui/findings")
    FindingsPage(page).open_first()
    until = (clock.now().date() + dt.timedelta(days=30)).isoformat()
    FindingPage(page).waive(reason="   ", approver="Dr. Chen, CMO", until=until)
    expect(page.locator(".flash-error")).to_contain_text("reason")
    expect(page.get_by_label("Approved by")).to_have_value("Dr. Chen, CMO")
    expect(page.get_by_label("Until (end of the day, UTC)")).to_have_value(until)
    page.reload()  # only the round trip of a refusal brings them back
    expect(page.get_by_label("Approved by")).to_have_value("")


def test_a_finding_leads_back_to_the_list_as_it_was_filtered(new_page: Any) -> None:
    page = new_page
    LoginPage(page).sign_in("officer")
    page.goto("/ui/findings?framework=hipaa&sort=severity")
    FindingsPage(page).open_first()
    page.get_by_role("link", name="« Findings").click()
    expect(page).to_have_url(re.compile(r"/ui/findings\?framework=hipaa&sort=severity$"))
    expect(page.get_by_label("Framework")).to_have_value("hipaa")


def test_the_keyboard_reaches_everything_with_a_visible_focus(new_page: Any) -> None:
    page = new_page
    LoginPage(page).sign_in("officer")
    page.goto("/ui/findings")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["x"] >= 0  # the skip link shows itself when focused
    outline = skip.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id")
    assert focused == "f-framework"  # from the skip link straight to the first filter
    page.keyboard.press("Tab")
    expect(page.get_by_label("Severity")).to_be_focused()
    labels = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(e => e.type !== 'hidden' && !e.closest('[hidden]'))
        .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)""")
    assert labels == [], f"form fields without a label: {labels}"


def test_staff_completes_a_task_with_an_attachment(new_page: Any, server: dict[str, Any]) -> None:
    page = new_page
    LoginPage(page).sign_in("staff")
    expect(page).to_have_url(re.compile(r"/ui/tasks$"))
    expect(page.get_by_role("link", name="My tasks")).to_have_attribute("aria-current", "page")
    shot(page, "staff-my-tasks")
    page.locator("#tasks-table tbody tr").first.locator("td:nth-child(2) a").click()
    expect(page.get_by_role("heading", name=re.compile("^SOP checklist"))).to_be_visible()
    shot(page, "staff-task")
    task = TaskPage(page)
    steps = page.locator("ol.checklist li").count()
    assert steps >= 1
    task.tick_step(1)
    evidence = server["tmp"] / "sign-in-sheet.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% training sign-in sheet\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    task.attach(str(evidence), note="signed sheet")
    expect(page.get_by_role("status")).to_contain_text("Attached sign-in-sheet.pdf")
    expect(page.locator("#attachments")).to_contain_text("sign-in-sheet.pdf")
    task.complete("Done; sheet attached.")
    expect(page.get_by_role("status")).to_contain_text("Task completed")
    expect(page.locator("p.row .state").first).to_have_text("done")
    expect(page.get_by_role("button", name="Mark task complete")).to_have_count(0)
    shot(page, "staff-task-done")
    with page.expect_download() as download:
        page.locator("#attachments a").first.click()
    assert download.value.suggested_filename == "sign-in-sheet.pdf"


def test_liaison_views_a_diff_of_two_ruleset_versions(new_page: Any) -> None:
    page = new_page
    LoginPage(page).sign_in("liaison")
    expect(page).to_have_url(re.compile(r"/ui/rulesets$"))
    shot(page, "liaison-rulesets")
    section = page.locator("section", has=page.get_by_role("heading", name=re.compile("^HIPAA")))
    section.get_by_label("Compare", exact=True).select_option("2026.1.0")
    section.get_by_label("with", exact=True).select_option(NEW_HIPAA)
    section.get_by_role("button", name="Show diff").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"2026.1.0 → {NEW_HIPAA}")
    summary = page.locator("#diff-summary")
    expect(summary).to_contain_text("HIPAA-SEC-RA-001")
    expect(summary).to_contain_text("ra_max_age_days")
    table = page.locator("#diff-table")
    expect(table.locator("del.chg").first).to_be_visible()
    expect(table.locator("ins.chg", has_text="180").first).to_be_visible()
    shot(page, "liaison-diff")
    summary.get_by_role("link", name="HIPAA-SEC-RA-001").click()
    expect(page.get_by_role("heading", name="Scenario tests covering it")).to_be_visible()
    expect(page.locator("body")).to_contain_text("within 180 days")
    shot(page, "liaison-rule")
    page.goto("/ui/params")
    expect(page.get_by_role("heading", name=re.compile("^Parameters in force"))).to_be_visible()
    shot(page, "liaison-params")
    page.goto("/ui/rulesets/hipaa/checks")
    expect(page.locator("#validation")).to_be_visible()
    shot(page, "liaison-checks")


def test_officer_builds_an_evidence_packet_from_the_portal(new_page: Any) -> None:
    page = new_page
    LoginPage(page).sign_in("officer")
    page.goto("/ui/audit")
    form = page.locator("#build-packet")
    form.get_by_label("Framework").select_option("hipaa")
    form.get_by_label("Period from").fill("2026-04-01")
    form.get_by_label("Period to").fill("2026-06-30")
    form.get_by_label("Redact patient identifiers (PHI)").check()
    shot(page, "officer-packet-form")
    form.get_by_role("button", name="Build packet").click()
    expect(page).to_have_url(re.compile(r"/ui/audit$"))
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Packet hipaa-20260401-20260630-\w+ built"))
    row = page.locator("#packets tbody tr", has_text="hipaa-20260401-20260630")
    expect(row).to_contain_text("PHI redacted")
    with page.expect_download() as download:
        row.get_by_role("link", name=re.compile("Download")).click()
    with zipfile.ZipFile(download.value.path()) as z:
        assert any(n.endswith("bagit.txt") for n in z.namelist())
    shot(page, "officer-packet-built")


def test_officer_sorts_the_worst_first_and_checks_the_audit_trail(new_page: Any) -> None:
    page = new_page
    LoginPage(page).sign_in("officer")
    page.goto("/ui/findings")
    page.get_by_label("Order").select_option("severity")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name=re.compile("most severe first"))).to_be_visible()
    ranks = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    cells = page.locator("#findings-table tbody tr td:first-child").all_inner_texts()
    shown = [ranks[t.strip().lower()] for t in cells]
    assert shown and shown == sorted(shown)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail").click()
    expect(page).to_have_url(re.compile(r"/ui/audit/trail$"))
    expect(page.locator("#audit-entries tbody tr").first).to_be_visible()
    page.get_by_label("Action").fill("user")
    page.get_by_role("button", name="Apply").click()
    actions = page.locator("#audit-entries tbody tr td:nth-child(4)").all_inner_texts()
    assert actions and all(a.strip().startswith("user.") for a in actions)
    page.get_by_role("button", name="Verify the chain").click()
    expect(page.locator("#chain-verdict")).to_contain_text("Intact")
    shot(page, "officer-audit-trail")


def test_auditor_downloads_a_packet_and_cannot_open_a_finding_outside_the_grant(
        new_page: Any, server: dict[str, Any]) -> None:
    page = new_page
    packet = server["packet"]
    LoginPage(page).sign_in("auditor")
    expect(page).to_have_url(re.compile(r"/ui/audit$"))
    expect(page.get_by_role("note")).to_contain_text("Read-only audit access: hipaa")
    fingerprint = page.locator("#fingerprint").inner_text()
    assert fingerprint == packet["fingerprint"]
    shot(page, "auditor-portal")
    with page.expect_download() as download:
        page.locator("#packets").get_by_role("link", name=re.compile(f"Download {packet['id']}")).click()
    path = download.value.path()
    data = open(path, "rb").read()
    assert hashlib.sha256(data).hexdigest() == packet["sha256"]
    with zipfile.ZipFile(path) as z:
        assert any(n.endswith("bagit.txt") for n in z.namelist())
    page.goto("/ui/findings?state=")
    frameworks = page.locator("#f-framework option").all_inner_texts()
    assert frameworks == ["any", "HIPAA"]
    assert page.locator("#findings-table tbody tr").count() > 0
    shot(page, "auditor-findings")
    outside = _finding_outside_grant(server)
    response = page.goto(f"/ui/findings/{outside}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    shot(page, "auditor-outside-grant")
    assert page.goto("/ui/dashboard?x").status in (200,)  # scoped: only the granted framework
    expect(page.locator("#heat tbody tr")).to_have_count(1)
    assert page.goto("/ui/tasks").status == 403


def _finding_outside_grant(server: dict[str, Any]) -> str:
    with httpx.Client(base_url=server["base"], timeout=30) as c:
        c.post("/auth/login", json={"username": "officer", "password": "officer-demo-pass"})
        items = c.get("/findings", params={"framework": "osha", "limit": 1}).json()["items"]
    assert items, "the practice has no OSHA finding to try"
    return str(items[0]["id"])


def test_liaison_previews_publishes_and_withdraws_a_version(new_page: Any) -> None:
    """PRODUCT, liaison: see a draft's impact on today's records, publish it with an effective date,
    roll it back. (Runs last: it adds hipaa 2026.3.0, withdrawn, to the shared server.)"""
    page = new_page
    LoginPage(page).sign_in("liaison")
    section = page.locator("section", has=page.get_by_role("heading", name=re.compile("^HIPAA")))
    section.get_by_role("link", name=f"New version from {NEW_HIPAA}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Draft a ruleset version")
    text = page.locator("#draft-text").input_value()
    assert "version: 2026.3.0" in text and f"version: {NEW_HIPAA}" not in text  # numbered as the next version
    page.get_by_role("button", name="Preview impact").click()
    impact = page.locator("#impact")
    expect(impact).to_contain_text("hipaa 2026.3.0 on today's records")
    expect(impact).to_contain_text("would open")
    shot(page, "liaison-draft-preview")
    page.get_by_label("Effective from").fill("2099-01-01")
    page.get_by_role("button", name="Publish").click()
    expect(page).to_have_url(re.compile(r"/ui/rulesets/hipaa/2026\.3\.0$"))
    expect(page.locator("body")).to_contain_text("Published hipaa 2026.3.0, in force from 2099-01-01")
    shot(page, "liaison-published")
    page.locator("#withdraw summary").click()
    page.get_by_label("Reason").fill("published by mistake")
    page.get_by_role("button", name="Withdraw 2026.3.0").click()
    expect(page.locator("body")).to_contain_text("2026.3.0 never takes effect.")
    expect(page.locator("body")).to_contain_text("published by mistake")


def test_a_site_manager_focuses_the_dashboard_on_one_establishment(new_page: Any) -> None:
    page = new_page
    LoginPage(page).sign_in("officer")
    picker = page.get_by_label("Establishment", exact=True)
    options = picker.locator("option").all()
    assert len(options) > 2  # "all establishments" and every site
    site_id, site_name = options[1].get_attribute("value"), options[1].inner_text().strip()
    picker.select_option(site_id)
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"/ui/dashboard\?establishment={site_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Compliance dashboard: {site_name}")
    expect(page.locator("#by-establishment tr[aria-current=true]")).to_contain_text(site_name)
    shown = int(page.locator(".kpi").first.locator("strong").inner_text())
    shot(page, "officer-dashboard-site")
    page.locator(".kpi").first.click()
    expect(page.get_by_label("Establishment", exact=True)).to_have_value(str(site_id))
    expect(page.get_by_role("heading", name=re.compile(rf"^{shown} findings?"))).to_be_visible()
    cells = page.locator("#findings-table tbody tr td:nth-child(4)").all_inner_texts()
    assert cells and {c.strip() for c in cells} == {site_id}


def test_officer_finds_a_record_the_rules_pass_over_and_opens_it(new_page: Any, server: dict[str, Any]) -> None:
    """A vaccination record imported with no person raises no finding; the Data gaps page is where the
    officer sees it, says what is lost, and leads to the record."""
    with httpx.Client(base_url=server["base"], timeout=60) as c:
        assert c.post("/auth/login", json={"username": "officer", "password": "officer-demo-pass"}).status_code == 200
        r = c.post("/records", json={"records": [{"type": "hepb_vaccination", "id": "HBV-GAP-1", "person_id": None,
                                                  "offered_at": "2026-01-05T15:00:00Z"}]})
        assert r.status_code == 200, r.text
        assert [w["record_id"] for w in r.json()["incomplete_records"]] == ["HBV-GAP-1"]
    page = new_page
    LoginPage(page).sign_in("officer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Data gaps").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Data gaps")
    row = page.locator("#incomplete tbody tr", has_text="HBV-GAP-1")
    expect(row).to_contain_text("OSHA-BBP-HEPB-008 and PEP-010 cannot count it as any person's vaccination record")
    shot(page, "officer-data-gaps")
    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/ui/records/hepb_vaccination/HBV-GAP-1$"))
    expect(page.locator("#versions")).to_contain_text("offered_at")
