"""A refused form, as the server renders it (C2 of the accessibility probe): the message at the top of the
page is a focus target, so that vigil.js can move focus to the field it names or to the message; the
draft page, which knows which field it refused, marks it and moves focus to its problems (or to the
preview of its impact) without any script. What vigil.js does with a refusal is checked in a browser
(tests/browser/test_a11y_narrow.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine import clock
from tests.web.test_a11y_pages import Node, dom
from tests.web.test_findings_pages import GRANTED, act, finding_of
from tests.web.test_liaison_pages import post
from tests.web.test_task_steps import _staff_task


def _refusal(page: Node) -> Node:
    box = page.by_id("refusal")
    assert box.attrs.get("tabindex") == "-1", box.attrs
    (alert,) = box.find_all("div", role="alert")
    assert "flash-error" in alert.classes()
    return box


def _refused_waiver(web: dict[str, Any], web_client: Callable[[str], TestClient]) -> Node:
    """The finding's page after an officer's waiver with a blank reason was refused."""
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    with clock.frozen(GRANTED):
        assert act(c, f"{page}/waive", page, reason="   ", approver="CMO", until="2026-04-30",
                   scope="subject").status_code == 303
        return dom(c.get(page).text)


def test_a_refused_waiver_comes_back_with_its_message_focusable(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    shown = _refused_waiver(web, web_client)
    assert "a waiver needs a reason" in _refusal(shown).text()
    # the field the message names is found by its label (vigil.js), and the others by what they declare
    reason = shown.by_id("waive-reason")
    label = next(n for n in shown.find_all("label") if n.attrs.get("for") == "waive-reason")
    assert label.text() == "Reason" and "data-refusal-name" not in reason.attrs
    assert shown.by_id("waive-approver").attrs["data-refusal-name"].split("|") == ["Approved by", "approver"]


def test_a_refusal_names_the_fields_it_refuses_by_their_form_names(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """vigil.js had only the message's wording to find the field by; the error's own field now rides
    along (data-fields), and the wording is the fallback."""
    shown = _refused_waiver(web, web_client)
    named = _refusal(shown).attrs.get("data-fields", "").split()
    form_names = {n.attrs.get("name") for n in shown.walk() if n.tag in ("input", "textarea", "select")}
    assert named and set(named) <= form_names and "reason" in named


def test_a_success_is_a_status_not_a_focus_target(web: dict[str, Any],
                                                    web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    with clock.frozen(GRANTED):
        assert act(c, f"{page}/comment", page, text="looked at it").status_code == 303
        shown = dom(c.get(page).text)
    assert not shown.find_all(id="refusal")
    (status,) = [n for n in shown.walk() if "flash-success" in n.classes()]
    assert status.attrs.get("role") == "status"


def test_every_finding_task_and_liaison_field_is_named_as_its_refusals_name_it(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """A field's label, or its data-refusal-name, is what a refusal calls it: the words of
    engine/web/errors.py's field labels ("Note", "Approved by", "Until") and of the routes' messages."""
    officer, liaison = web_client("officer"), web_client("liaison")
    fid = finding_of(web, "EP1").id
    with clock.frozen(GRANTED):
        finding = dom(officer.get(f"/ui/findings/{fid}").text)
        task = dom(officer.get(f"/ui/tasks/{_staff_task(web).id}").text)
        params = dom(liaison.get("/ui/params").text)
    expected = {"ack-reason": "Reason", "assignee": "Assign to|assigned to", "waive-approver": "Approved by|approver",
                "waive-until": "Until|run through", "fp-reason": "Reason"}
    for ident, names in expected.items():
        assert finding.by_id(ident).attrs.get("data-refusal-name") == names, ident
    on_task = {"note-text": "Note|Add a note", "complete-note": "Note", "ev-file": "File|choose a file"}
    for ident, names in on_task.items():
        assert task.by_id(ident).attrs.get("data-refusal-name") == names, ident
    for ident, names in {"pc-demo-value": "New value", "pc-demo-from": "From"}.items():
        assert params.by_id(ident).attrs.get("data-refusal-name") == names, ident


DRAFT = "/ui/rulesets/draft"


def test_a_refused_draft_marks_its_text_and_takes_focus(web: dict[str, Any],
                                                        web_client: Callable[[str], TestClient]) -> None:
    c = web_client("liaison")
    with clock.frozen(GRANTED):
        refused = post(c, DRAFT, DRAFT, text="framework: [unclosed", do="preview")
    assert refused.status_code == 422
    page = dom(refused.text)
    problems = page.by_id("draft-problems")
    assert problems.attrs.get("tabindex") == "-1" and "autofocus" in problems.attrs
    text = page.by_id("draft-text")
    assert text.attrs.get("aria-invalid") == "true" and text.attrs.get("aria-describedby") == "draft-problems"
    assert "aria-invalid" not in page.by_id("draft-from").attrs


def test_a_draft_with_a_wrong_date_marks_the_date_not_the_text(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    c = web_client("liaison")
    with clock.frozen(GRANTED):
        refused = post(c, DRAFT, DRAFT, text="framework: demo", effective_from="2026-13-40", do="preview")
    page = dom(refused.text)
    date = page.by_id("draft-from")
    assert date.attrs.get("aria-invalid") == "true"
    assert date.attrs.get("aria-describedby") == "draft-problems draft-from-help"
    assert "aria-invalid" not in page.by_id("draft-text").attrs
    assert "autofocus" in page.by_id("draft-problems").attrs


def test_a_previewed_draft_moves_focus_to_its_impact(web: dict[str, Any],
                                                     web_client: Callable[[str], TestClient]) -> None:
    c = web_client("liaison")
    with clock.frozen(GRANTED):
        area = dom(c.get(f"{DRAFT}?from=demo/2.0.0").text).by_id("draft-text")
        start = "".join(part for part in area.children if isinstance(part, str))
        previewed = post(c, DRAFT, DRAFT, text=start, do="preview")
    assert previewed.status_code == 200, previewed.text[:2000]
    impact = dom(previewed.text).by_id("impact")
    assert impact.attrs.get("tabindex") == "-1" and "autofocus" in impact.attrs
    assert impact.attrs.get("aria-labelledby") == "impact-h"
