"""A form's outcome is shown where the person is looking, in a real browser (black-box report D1, D3, D4):

- a refused form's reason is next to the field it names and on the screen with it: on a 375 px phone
  the page scrolled to the file input of a refused upload while the message stayed at the top, off
  the screen, and the person saw their form as they had left it; at a laptop's size a blank comment
  on a finding was refused the same way, its message 760 px above the window;
- a form sent after the session had ended says on the sign-in page what was not done, and after
  signing in again (the same user) the form is filled in as it was, saying it was not saved; another
  user signing in in the same tab sees none of it;
- a task's "« Tasks" link goes back to the list view and site the person came from.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from engine import clock
from tests.browser.conftest import page_sized, shot
from tests.browser.pages import FindingPage, LoginPage

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    with page_sized(browser, server, 375, 740) as page:
        yield page


@pytest.fixture
def laptop(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    with page_sized(browser, server, 1280, 800) as page:
        yield page


def _on_screen(page: Any, selector: str) -> None:
    """`selector`'s element lies wholly inside the window, as it is scrolled."""
    box = page.locator(selector).evaluate(
        "e => { const r = e.getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight]; }")
    top, bottom, height = box
    assert 0 <= top and bottom <= height, f"{selector} is at {top:.0f}..{bottom:.0f} px, the window {height} px high"


def _open_staff_task(page: Any) -> None:
    LoginPage(page).sign_in("staff")
    page.goto("/ui/tasks?view=open")
    page.locator("#tasks-table tbody tr").last.locator("td:nth-child(2) a").click()
    expect(page.get_by_role("heading", name=re.compile("^SOP checklist"))).to_be_visible()


def test_a_refused_upload_says_why_beside_the_file_on_a_phone(phone: Any, server: dict[str, Any]) -> None:
    _open_staff_task(phone)
    empty = server["tmp"] / "empty.pdf"
    empty.write_bytes(b"")
    phone.get_by_label(re.compile("^Attach a file")).set_input_files(str(empty))
    phone.locator("#ev-note").fill("the inspection certificate")
    phone.get_by_role("button", name="Upload evidence").click()
    refusal = phone.locator("#refusal")
    expect(refusal.get_by_role("alert")).to_contain_text("the file is empty")
    field = phone.locator("#ev-file")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "refusal")
    assert phone.evaluate("window.scrollY") > 0, "the form is below the fold: the page should have scrolled to it"
    _on_screen(phone, "#refusal")
    _on_screen(phone, "#ev-file")
    # the message sits between the field's label and the field, inside the form
    assert field.evaluate("f => f.previousElementSibling && f.previousElementSibling.id") == "refusal"
    expect(phone.locator("#ev-note")).to_have_value("the inspection certificate")
    shot(phone, "phone-refused-upload")


def test_a_refused_comment_says_why_beside_the_comment(laptop: Any) -> None:
    LoginPage(laptop).sign_in("officer")
    laptop.goto("/ui/findings?state=open")
    laptop.locator("#findings-table tbody tr").first.locator("td:nth-child(2) a").click()
    expect(laptop.get_by_role("heading", name="Why it fired")).to_be_visible()
    laptop.get_by_label("Comment").fill("   ")
    laptop.get_by_role("button", name="Add comment").click()
    expect(laptop.locator("#refusal").get_by_role("alert")).to_contain_text("a comment needs text")
    expect(laptop.get_by_label("Comment")).to_be_focused()
    _on_screen(laptop, "#refusal")
    _on_screen(laptop, "#comment-text")


def _sign_out_elsewhere(page: Any) -> None:
    """Sign out in a second tab of the same browser: the first tab's session has ended, as after the
    idle timeout, while its page still shows the form."""
    other = page.context.new_page()
    other.goto("/ui/")
    other.get_by_role("button", name="Sign out").click()
    expect(other.get_by_role("status")).to_have_text("You are signed out.")
    other.close()


def _sign_in_here(page: Any, username: str) -> None:
    """Sign in on the sign-in page the browser is on (keeping its `next`)."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"{username}-demo-pass")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _waive_after_the_session_ended(page: Any) -> str:
    """Fill the waiver of an open finding, end the session, send it; the finding page's path."""
    LoginPage(page).sign_in("officer")
    page.goto("/ui/findings?state=open")
    page.locator("#findings-table tbody tr").nth(2).locator("td:nth-child(2) a").click()
    expect(page.get_by_role("heading", name="Why it fired")).to_be_visible()
    path = page.evaluate("location.pathname")
    until = (clock.now().date() + dt.timedelta(days=30)).isoformat()
    _sign_out_elsewhere(page)
    FindingPage(page).waive(reason="New badge reader is on order; the desk checks IDs by hand until then",
                            approver="Dr. Alice Smith, Privacy Officer", until=until)
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))
    expect(page.get_by_role("alert")).to_have_text(
        "Your session had ended, so the waiver was not granted. Sign in again, then send it again.")
    return str(path)


def test_a_waiver_sent_after_the_session_ended_comes_back_filled_in(new_page: Any) -> None:
    page = new_page
    path = _waive_after_the_session_ended(page)
    shot(page, "session-ended-sign-in")
    _sign_in_here(page, "officer")
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    assert FindingPage(page).state() != "waived"
    notice = page.locator("#unsent")
    expect(notice).to_have_attribute("role", "status")
    expect(notice).to_contain_text("Not saved yet: your session had ended when you sent this.")
    expect(page.locator("#waive-reason")).to_have_value(
        "New badge reader is on order; the desk checks IDs by hand until then")
    expect(page.get_by_label("Approved by")).to_have_value("Dr. Alice Smith, Privacy Officer")
    expect(page.locator("#waive-reason")).to_be_focused()
    _on_screen(page, "#unsent")
    shot(page, "session-ended-restored")
    page.reload()  # said once: the form is not filled in again
    expect(page.locator("#unsent")).to_have_count(0)
    expect(page.get_by_label("Approved by")).to_have_value("")


def test_another_user_signing_in_in_that_tab_sees_nothing_of_it(new_page: Any) -> None:
    page = new_page
    path = _waive_after_the_session_ended(page)
    _sign_in_here(page, "admin")
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    expect(page.locator("#unsent")).to_have_count(0)
    expect(page.locator("#waive-reason")).to_have_value("")
    expect(page.get_by_label("Approved by")).to_have_value("")


def test_a_task_leads_back_to_the_task_list_as_it_was_filtered(new_page: Any) -> None:
    page = new_page
    LoginPage(page).sign_in("officer")
    page.goto("/ui/tasks?view=open")
    sites = [v for v in page.locator("#t-establishment option").evaluate_all("os => os.map(o => o.value)") if v]
    for site in sites:
        page.goto(f"/ui/tasks?view=open&establishment={site}")
        if page.locator("#tasks-table tbody tr").count():
            break
    else:
        pytest.fail("no establishment has open tasks")
    page.locator("#tasks-table tbody tr").first.locator("td:nth-child(2) a").click()
    expect(page.get_by_role("heading", name=re.compile("^SOP checklist"))).to_be_visible()
    page.get_by_role("link", name="« Tasks").click()
    expect(page).to_have_url(re.compile(rf"/ui/tasks\?view=open&establishment={site}$"))
    expect(page.get_by_role("link", name="All open")).to_have_attribute("aria-current", "page")
    expect(page.get_by_label("Establishment")).to_have_value(site)
