"""At a phone's width (375 px) the page itself never scrolls sideways: the dashboard had scrolled to
515 px (its heat table and trend cut off), a task page by 16 px, and on the auditor portal the
packets' Download column sat off-screen inside a table scrolled sideways. A wide table may scroll
inside its own box, but the auditor's Download link is reachable without any sideways scrolling."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import page_sized, shot
from tests.browser.pages import LoginPage, TaskPage

pytestmark = pytest.mark.browser

PHONE = 375
WIDTH = "document.documentElement.scrollWidth"


@pytest.fixture
def phone(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    with page_sized(browser, server, PHONE, 740) as page:
        yield page


def _fits(page: Any, where: str) -> None:
    width = page.evaluate(WIDTH)
    wide = page.evaluate(f"""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > {PHONE} + 0.5 && !e.closest('.table-wrap')
                && !e.closest('details:not([open])'))
        .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' '
                         + Math.round(e.getBoundingClientRect().right))""")
    assert width <= PHONE, f"{where} scrolls sideways to {width} px at {PHONE} px; too wide: {wide}"


def test_the_dashboard_and_a_task_page_fit_a_phone(phone: Any) -> None:
    LoginPage(phone).sign_in("officer")
    phone.goto("/ui/dashboard")
    expect(phone.get_by_role("heading", name="Compliance dashboard")).to_be_visible()
    _fits(phone, "the dashboard")
    expect(phone.locator("#heat")).to_be_visible()
    shot(phone, "phone-dashboard")
    phone.goto("/ui/tasks?view=open")
    _fits(phone, "the task list")
    phone.locator("#tasks-table tbody tr").first.locator("a").first.click()
    expect(phone.get_by_role("heading", name=re.compile("^SOP checklist"))).to_be_visible()
    _fits(phone, "a task page")
    shot(phone, "phone-task")
    phone.goto("/ui/findings")
    _fits(phone, "the findings list")
    phone.locator("#findings-table tbody tr").first.locator("td:nth-child(2) a").click()
    expect(phone.get_by_role("heading", name="Why it fired")).to_be_visible()
    _fits(phone, "a finding page")


LONG_NAME = ("Fire_extinguisher_annual_inspection_certificate_SanDiego_Clinic_2026_signed_by_facilities_manager"
             "_final_v3.pdf")
LONG_URL = "https://intranet.example.org/facilities/inspections/2026/sandiego/extinguisher/certificate-final-v3-signed.pdf"


def test_long_file_names_and_links_wrap_on_a_task_page(phone: Any, server: dict[str, Any]) -> None:
    """A phone's file name of 120 characters and a link pasted into a note had widened a staff
    member's task page to 869 px (and a note's link alone to 547 px); they wrap, as the history does."""
    LoginPage(phone).sign_in("staff")
    phone.goto("/ui/tasks?view=open")
    phone.locator("#tasks-table tbody tr").last.locator("td:nth-child(2) a").click()
    expect(phone.get_by_role("heading", name=re.compile("^SOP checklist"))).to_be_visible()
    evidence = server["tmp"] / LONG_NAME
    evidence.write_bytes(b"%PDF-1.4\n% certificate\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    TaskPage(phone).attach(str(evidence), note=LONG_URL)
    expect(phone.get_by_role("status")).to_contain_text(f"Attached {LONG_NAME}")
    _fits(phone, "a task page with a long file name")
    phone.get_by_label("Add a note").fill(f"See {LONG_URL}")
    phone.get_by_role("button", name="Add note").click()
    expect(phone.get_by_role("status")).to_have_text("Note added.")
    expect(phone.locator("#attachments")).to_contain_text(LONG_NAME)
    _fits(phone, "a task page with a link in a note")
    shot(phone, "phone-task-long-names")


def test_long_links_and_names_wrap_on_a_finding_page(phone: Any) -> None:
    LoginPage(phone).sign_in("officer")
    phone.goto("/ui/findings?state=open")
    phone.locator("#findings-table tbody tr").nth(1).locator("td:nth-child(2) a").click()
    expect(phone.get_by_role("heading", name="Why it fired")).to_be_visible()
    phone.get_by_label("Comment").fill(f"Certificate: {LONG_URL}")
    phone.get_by_role("button", name="Add comment").click()
    expect(phone.get_by_role("status")).to_have_text("Comment added.")
    _fits(phone, "a finding page with a link in a comment")
    phone.locator("#ack-reason").fill(LONG_URL + LONG_URL)
    phone.get_by_role("button", name="Acknowledge").click()
    expect(phone.get_by_role("status")).to_have_text("Finding acknowledged.")
    _fits(phone, "a finding page with a link in its history")


def test_the_auditor_reaches_the_download_link_on_a_phone(phone: Any, server: dict[str, Any]) -> None:
    LoginPage(phone).sign_in("auditor")
    expect(phone).to_have_url(re.compile(r"/ui/audit$"))
    _fits(phone, "the auditor portal")
    link = phone.locator("#packets").get_by_role("link", name=re.compile(f"Download {server['packet']['id']}"))
    expect(link).to_be_visible()
    box = link.bounding_box()  # where it is with nothing scrolled sideways, the page's or the table's
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE, box
    shot(phone, "phone-auditor-portal")
    with phone.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".zip")


def test_a_misspelt_rule_or_framework_is_said_on_the_demo_findings_list(phone: Any) -> None:
    LoginPage(phone).sign_in("officer")
    for query, said in (("rule=HIPAA-SEC-TERM-04", "HIPAA-SEC-TERM-04"), ("framework=nope", "nope"),
                        ("establishment=NOPE-9", "NOPE-9")):
        phone.goto(f"/ui/findings?{query}")
        alert = phone.get_by_role("alert")
        expect(alert).to_contain_text("can match no finding")
        expect(alert).to_contain_text(said)
        expect(phone.get_by_role("heading", name=re.compile(r"^0 findings"))).to_have_count(0)


def test_the_officers_other_pages_fit_a_phone(phone: Any) -> None:
    """The rulesets list had its versions table unwrapped (498 px)."""
    LoginPage(phone).sign_in("officer")
    for path in ("/ui/rulesets", "/ui/params", "/ui/audit/trail", "/ui/audit", "/ui/tasks",
                 "/ui/rulesets/hipaa/2026.1.0", "/ui/rulesets/hipaa/diff?from=2026.1.0&to=2026.2.0",
                 "/ui/findings?state=&limit=200", "/ui/rulesets/hipaa/checks"):
        response = phone.goto(path)
        assert response is not None and response.status == 200, path
        _fits(phone, path)


def test_a_wide_table_names_the_columns_out_of_sight(phone: Any) -> None:
    """On a phone the findings list showed Severity, Finding and Subject, with nothing to say that
    Status, Due and State were off to the right; a line above the table names them, and follows the
    scroll."""
    LoginPage(phone).sign_in("officer")
    phone.goto("/ui/findings")
    hint = phone.locator(".scroll-hint").first
    expect(hint).to_be_visible()
    expect(hint).to_contain_text(re.compile(r"scroll right for .*Due"))
    shot(phone, "phone-findings-hint")
    phone.locator(".table-wrap").first.evaluate("box => box.scrollTo(box.scrollWidth, 0)")
    expect(hint).not_to_contain_text("scroll right")
    expect(hint).to_contain_text(re.compile(r"left for Severity"))
    _fits(phone, "the findings list with its hint")


def test_a_table_that_fits_has_no_hint(browser: Any, server: dict[str, Any]) -> None:
    with page_sized(browser, server, 1366, 900) as page:
        LoginPage(page).sign_in("officer")
        page.goto("/ui/findings")
        expect(page.locator("#findings-table")).to_be_visible()
        expect(page.locator(".scroll-hint").first).to_be_hidden()
