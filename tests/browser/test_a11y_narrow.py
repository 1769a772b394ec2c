"""The accessibility probe's defects, in a real browser (Chromium, the demo practice):

- at 320 CSS px (1.4.10, reflow) no page scrolls sideways: the dashboard had, by 34-44 px, its
  expiries table outside any scroll box; wide tables scroll inside their own box, which takes
  keyboard focus only while it has something to scroll;
- the dashboard's KPI tiles are links, found by their names;
- the rule page's parameters fit their column at a laptop's width (the Meaning column was cut off);
- a refused form moves focus to the field its message names, or to the message; the draft page
  moves focus to its preview;
- the full SHA-256 of a packet is reachable from the keyboard.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import page_sized
from tests.browser.pages import LoginPage

pytestmark = pytest.mark.browser

NARROW = 320
SCROLLS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


@pytest.fixture
def narrow(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    with page_sized(browser, server, NARROW, 640) as page:
        yield page


def _fits(page: Any, where: str) -> None:
    scroll, client = page.evaluate(SCROLLS)
    wide = page.evaluate(f"""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > {client} + 0.5 && !e.closest('.table-wrap')
                && !e.closest('details:not([open])'))
        .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className)""")
    assert scroll <= client, f"{where} scrolls sideways: {scroll} > {client} px; too wide: {wide}"


KPIS = [r"^\d+ open findings$", r"^\d+ overdue$", r"^\d+ due soon$", r"^\d+ overdue tasks$"]


def test_the_dashboard_fits_320_px_and_its_kpi_tiles_are_links(narrow: Any) -> None:
    LoginPage(narrow).sign_in("officer")
    narrow.goto("/ui/dashboard")
    sites = [v for v in narrow.locator("#d-establishment option").evaluate_all("os => os.map(o => o.value)") if v]
    assert sites
    for url in ["/ui/dashboard", "/ui/dashboard?expiring=all", *(f"/ui/dashboard?establishment={s}" for s in sites),
                f"/ui/dashboard?establishment={sites[0]}&expiring=all"]:
        narrow.goto(url)
        expect(narrow.get_by_role("heading", name=re.compile("^Compliance dashboard"))).to_be_visible()
        _fits(narrow, url)
        for name in KPIS:
            tile = narrow.get_by_role("link", name=re.compile(name))
            expect(tile).to_have_count(1)
            expect(tile).to_have_class("kpi")
    narrow.get_by_role("link", name=re.compile(KPIS[1])).click()
    expect(narrow).to_have_url(re.compile(r"/ui/findings\?status=overdue"))


@pytest.mark.parametrize("role", ["officer", "liaison", "auditor", "admin", "staff"])
def test_no_page_scrolls_sideways_at_320_px(narrow: Any, role: str) -> None:
    """Every page a role reaches from its navigation, and one of each kind of page linked from those."""
    LoginPage(narrow).sign_in(role)
    start = [narrow.url.split(narrow.url.split("/ui")[0])[1]]
    start += narrow.locator("nav[aria-label=Main] a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    seen: set[str] = set()
    kinds: set[str] = set()
    todo = list(dict.fromkeys(start + ["/ui/rulesets/draft"] if role == "liaison" else start))
    while todo and len(seen) < 40:
        url = todo.pop(0)
        kind = re.sub(r"\?.*|[A-Z]+-[\w-]+|\d[\w.-]*", "N", url)
        if url in seen or kind in kinds or "/download" in url:
            continue
        seen.add(url)
        kinds.add(kind)
        response = narrow.goto(url)
        if response is None or response.status >= 400 or "text/html" not in response.headers.get("content-type", ""):
            continue
        _fits(narrow, f"{role} {url}")
        todo += [h for h in narrow.locator("main a[href^='/ui/']:not([download])").evaluate_all(
            "as => as.map(a => a.getAttribute('href'))") if h not in seen]
    assert len(seen) >= 3, seen


def test_a_table_that_scrolls_is_a_keyboard_stop_and_one_that_fits_is_not(narrow: Any) -> None:
    LoginPage(narrow).sign_in("officer")
    narrow.goto("/ui/findings")
    box = narrow.get_by_role("region", name="Findings matching the filters")
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")
    expect(box).to_have_attribute("tabindex", "0")
    box.focus()
    narrow.keyboard.press("ArrowRight")
    narrow.wait_for_function("() => document.activeElement.scrollLeft > 0")
    narrow.set_viewport_size({"width": 1366, "height": 768})
    narrow.goto("/ui/dashboard")
    fits = narrow.get_by_role("region", name="Open and overdue findings per establishment")
    assert fits.evaluate("b => b.scrollWidth <= b.clientWidth")
    expect(fits).not_to_have_attribute("tabindex", "0")


def test_a_rules_parameters_are_not_cut_off_at_a_laptops_width(new_page: Any) -> None:
    LoginPage(new_page).sign_in("liaison")
    new_page.goto("/ui/rulesets/hipaa/2026.1.0/rules/HIPAA-SEC-RA-001")
    box = new_page.get_by_role("region", name=re.compile("^Parameters HIPAA-SEC-RA-001 names"))
    expect(box).to_be_visible()
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth"), "the table is wider than its column"
    meaning = box.get_by_role("columnheader", name="Meaning")
    assert box.evaluate("(b, m) => m.getBoundingClientRect().right <= b.getBoundingClientRect().right + 0.5",
                        meaning.element_handle())


def _first_open_finding(page: Any) -> None:
    page.goto("/ui/findings?state=open")
    page.locator("#findings-table tbody tr").first.locator("td:nth-child(2) a").click()
    expect(page.get_by_role("heading", name="Why it fired")).to_be_visible()


def test_a_refused_waiver_puts_focus_back_on_its_reason(new_page: Any) -> None:
    page = new_page
    LoginPage(page).sign_in("officer")
    _first_open_finding(page)
    page.get_by_label("Reason", exact=True).first.fill("   ")
    page.get_by_label("Approved by").fill("CMO")
    page.get_by_role("button", name="Waive").click()
    expect(page.locator("#refusal .flash-error")).to_contain_text("a waiver needs a reason")
    reason = page.locator("#waive-reason")
    expect(reason).to_be_focused()
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_attribute("aria-describedby", "refusal")
    expect(page.locator("#waive-approver")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#waive-approver")).to_have_value("CMO")  # kept for the round trip, as before


def test_a_refusal_whose_form_is_not_known_takes_focus_itself(new_page: Any) -> None:
    """A form sent without its submit event (so vigil.js did not note it) comes back with the
    message focused: the page cannot say which field it refused."""
    page = new_page
    LoginPage(page).sign_in("officer")
    _first_open_finding(page)
    page.locator("#assignee").fill("   ")
    with page.expect_navigation():
        page.locator("#assignee").evaluate("el => el.form.submit()")
    expect(page.locator("#refusal")).to_be_focused()
    expect(page.locator("#assignee")).not_to_have_attribute("aria-invalid", "true")


def test_a_previewed_draft_moves_focus_to_its_impact(new_page: Any) -> None:
    page = new_page
    LoginPage(page).sign_in("liaison")
    page.goto("/ui/rulesets/draft?from=osha/2026.1.0")
    page.get_by_role("button", name="Preview impact").click()
    expect(page.locator("#impact")).to_be_focused()
    page.locator("#draft-text").fill("framework: [unclosed")
    page.get_by_role("button", name="Preview impact").click()
    expect(page.locator("#draft-problems")).to_be_focused()
    expect(page.locator("#draft-text")).to_have_attribute("aria-invalid", "true")


def test_a_packets_full_hash_is_reachable_from_the_keyboard(new_page: Any, server: dict[str, Any]) -> None:
    page = new_page
    LoginPage(page).sign_in("auditor")
    digest = server["packet"]["sha256"]
    full = page.locator("#packets").get_by_text(digest, exact=True)
    expect(full).to_be_hidden()
    summary = page.locator("#packets details.hash summary").first
    summary.focus()
    page.keyboard.press("Enter")
    expect(full).to_be_visible()
