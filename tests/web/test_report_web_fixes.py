"""Web UI faults a tester's black-box pass found (2026-12-07), each with the page's fix:

- a stale "Revoke waiver" form names the waiver it was shown for, and is refused once the finding is
  under another one (it had revoked a waiver granted since, which its user never saw);
- revoking a site-wide waiver says how many findings reopened (it said "the finding is open again"
  when two had), and the waiver card says when a waiver covers the whole site;
- a refused parameter change names the form's fields by their labels and marks them (the browser
  test puts the reason beside the field): "New value: 'twelve' is not a number", not
  "hipaa.access_revoke_hours: expected number, got str"; `1e9`, which YAML 1.1 reads as text, says
  so; a date that is none says "From: ... is not a date" (it said "effective_from", "on");
- a new password that is the current one is refused; the field a refusal names takes focus; a blank
  "New password again" is called that (it was "Confirm password");
- messages in the page's words, not the code's or pydantic's: an unknown `expiring`, an empty
  `view=` (the default list, not an error page), a role that may not act on findings, a page
  address edited by hand;
- a finding's history shows the instants in its words as the page shows instants (a waiver's start
  read "2026-12-07T15:08:36.984756+00:00").
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.findings import lifecycle
from engine.findings import service as findings_service
from engine.findings.schemas import WaiverIn
from tests.web.conftest import FIXTURES, ORG, csrf_of, login
from tests.web.conftest import flash_of as _flash
from tests.web.test_findings_pages import GRANTED, act, finding_of, waive_now

UTC = dt.UTC
LATER = GRANTED + dt.timedelta(hours=1)


# -- 1: a stale revoke form ---------------------------------------------------------------------------------


def test_a_stale_revoke_form_does_not_revoke_a_waiver_granted_since(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    first = waive_now(web, "EP1", dt.datetime(2026, 4, 30, tzinfo=UTC))
    c = web_client("officer")
    with clock.frozen(LATER):
        shown = c.get(page).text
    assert f'name="waiver_id" value="{first}"' in shown  # the form names the waiver on its card
    with clock.frozen(LATER), unit_of_work(web["engine"]) as s:  # meanwhile, in another tab
        pipeline.revoke_waiver(s, org_id=ORG, waiver_id=first, actor="user:officer", reason="wrong terms")
        second = lifecycle.waive(s, org_id=ORG, actor="user:officer", finding_id=fid, data=WaiverIn(
            reason="new terms", approver="CMO", ends_at=dt.datetime(2026, 5, 31, tzinfo=UTC))).id
    with clock.frozen(LATER + dt.timedelta(minutes=5)):
        r = act(c, f"{page}/revoke-waiver", page, reason="stale revoke", waiver_id=first)
        said = _flash(c.get(page).text)
    assert r.status_code == 303 and r.headers["location"] == page
    assert f"waiver {first} no longer waives finding {fid}: it is under {second} now" in said
    with unit_of_work(web["engine"]) as s:
        waiver = next(w for w in findings_service.list_waivers(s, org_id=ORG) if w.id == second)
    assert waiver.revoked_at is None and finding_of(web, "EP1").waiver_id == second


# -- 4: a site-wide waiver, revoked -------------------------------------------------------------------------


def test_revoking_a_site_wide_waiver_says_how_many_findings_reopened(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    fid, other = finding_of(web, "EP1").id, finding_of(web, "EP2").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    with clock.frozen(GRANTED):
        assert act(c, f"{page}/waive", page, reason="site closed for refit", approver="CMO", until="2026-04-30",
                   scope="establishment").status_code == 303
    waiver_id = finding_of(web, "EP1").waiver_id
    assert waiver_id and finding_of(web, "EP2").waiver_id == waiver_id
    with clock.frozen(LATER):
        card = html.unescape(re.sub(r"<[^>]+>", "", c.get(f"/ui/findings/{other}").text))
        assert "Coversthe whole site E1: every finding of DEMO-TRN-001 there (2 findings waived now)" in card
        assert act(c, f"{page}/revoke-waiver", page, reason="refit cancelled",
                   waiver_id=waiver_id).status_code == 303
        said = _flash(c.get(page).text)
    assert f"Waiver {waiver_id} revoked; this finding and 1 more it waived are open again: {other}." in said
    assert finding_of(web, "EP2").state == "open"


def test_the_revoke_message_names_what_reopened_and_what_another_waiver_keeps() -> None:
    from engine.web.routes.findings import reopened_words

    assert reopened_words(["F-1"], "F-1") == "the finding is open again"
    assert reopened_words(["F-1", "F-2", "F-3"], "F-2") == "this finding and 2 more it waived are open again: F-1, F-3"
    assert reopened_words(["F-3"], "F-2") == ("1 finding it waived is open again: F-3; this finding stays waived: "
                                              "another waiver in force covers it")
    assert reopened_words([], "F-2") == "this finding stays waived: another waiver in force covers it"


# -- 2: a refused parameter change, by the form's labels ---------------------------------------------------

NOW = dt.datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@pytest.fixture
def liaison_now(web: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    with clock.frozen(NOW):
        yield web


def _refusal_box(text: str) -> tuple[str, str]:
    """The refusal's words and the fields it names to the page's script (data-fields)."""
    found = re.search(r'<div id="refusal"[^>]*?(?: data-fields="([^"]*)")?>', text)
    assert found, "no refusal on the page"
    return _flash(text), found.group(1) or ""


@pytest.mark.parametrize("form, said, fields", [
    ({"value": "five"}, "new_hire_days was not changed: New value: 'five' is not a whole number", "value"),
    ({"value": "1e9"}, "New value: '1e9' was read as text, not a number (a number with an exponent needs a point "
                       "and a sign, as in 1.0e+9): write it in full, 1000000000", "value"),
    ({"value": "5", "effective_from": "2026-02-31"}, "From: '2026-02-31' is not a date (write it as YYYY-MM-DD)",
     "effective_from"),
    ({"value": "5", "effective_from": "2026-01-05"}, "new_hire_days was not changed: From: 2026-01-05 is before "
                                                     "today (2026-11-30)", "effective_from"),
])
def test_a_refused_parameter_change_names_the_fields_by_their_labels(
        liaison_now: dict[str, Any], web_client: Callable[[str], TestClient], form: dict[str, str], said: str,
        fields: str) -> None:
    c = web_client("liaison")
    r = act(c, "/ui/params", "/ui/params", framework="demo", name="new_hire_days", approved_by="Dr. Rivera",
            reason="policy 4.2", **form)
    assert r.status_code == 303 and r.headers["location"] == "/ui/params"  # the top, not 5,800 px below it
    text, named = _refusal_box(c.get("/ui/params").text)
    assert said in text and named == fields
    assert "effective_from" not in text and "expected" not in text and "got str" not in text


def test_a_withdrawal_from_a_date_that_is_none_says_from(liaison_now: dict[str, Any],
                                                          web_client: Callable[[str], TestClient]) -> None:
    c = web_client("liaison")
    page = "/ui/rulesets/demo/2.0.0"
    r = act(c, f"{page}/withdraw", page, reason="typo", on="2026-02-31")
    assert r.status_code == 303
    text, named = _refusal_box(c.get(page).text)
    assert text == "From: '2026-02-31' is not a date (write it as YYYY-MM-DD)" and named == "on"


# -- 3: password change ---------------------------------------------------------------------------------------


def _change_password(client: TestClient, **fields: str) -> Any:
    token = csrf_of(client.get("/ui/account/password").text)
    return client.post("/ui/account/password", data={"csrf_token": token, **fields}, follow_redirects=False,
                       headers={"referer": "http://testserver/ui/account/password"})


def test_the_current_password_is_refused_as_the_new_one_and_the_field_takes_focus(web: dict[str, Any]) -> None:
    client, other = login(web["app"], "staff"), login(web["app"], "staff")
    r = _change_password(client, current_password="staff-password", new_password="staff-password",
                         confirm_password="staff-password")
    assert r.status_code == 422
    assert "New password: the same as your current password; choose a different one" in html.unescape(r.text)
    field = re.search(r'<input id="new_password"[^>]*>', r.text)
    assert field and 'aria-invalid="true"' in field.group(0) and "autofocus" in field.group(0)
    assert other.get("/ui/tasks", follow_redirects=False).status_code == 200  # no session ended
    for _ in range(6):  # the right password: no guess toward the login lock
        assert _change_password(client, current_password="staff-password", new_password="staff-password",
                                confirm_password="staff-password").status_code == 422
    login(web["app"], "staff")  # unchanged, and not locked
    r = _change_password(client, current_password="wrong-password", new_password="a-new-passphrase",
                         confirm_password="a-new-passphrase")
    field = re.search(r'<input id="current_password"[^>]*>', r.text)
    assert r.status_code == 422 and field and "autofocus" in field.group(0)


def test_blank_new_passwords_are_called_by_their_labels(web: dict[str, Any]) -> None:
    client = login(web["app"], "officer")
    r = _change_password(client, current_password="officer-password", new_password="", confirm_password="")
    assert r.status_code == 303
    said, named = _refusal_box(client.get(r.headers["location"]).text)
    assert said == "Please check the form: New password: required; New password again: required."
    assert named == "new_password confirm_password"


# -- 5: the page's words ---------------------------------------------------------------------------------------


def test_an_address_with_an_unknown_choice_names_the_choices_and_an_empty_one_is_the_default(
        web_client: Callable[[str], TestClient]) -> None:
    c = web_client("officer")
    r = c.get("/ui/dashboard?expiring=bogus")
    assert r.status_code == 422 and "Credentials expiring: not one of the choices offered: all" in r.text
    assert "Input should be" not in r.text
    assert c.get("/ui/dashboard?expiring=").status_code == 200
    mine = c.get("/ui/tasks")
    empty = c.get("/ui/tasks?view=")
    assert empty.status_code == 200 and "<title>My tasks" in empty.text and "<title>My tasks" in mine.text
    r = c.get("/ui/tasks?view=bogus")
    assert r.status_code == 422 and "View: not one of the choices offered: mine, overdue, open, done, closed" in r.text


def test_a_finding_given_to_a_liaison_is_refused_in_words(web: dict[str, Any],
                                                          web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    assert act(c, f"{page}/assign", page, assignee="liaison").status_code == 303
    said = _flash(c.get(page).text)
    assert "liaison is a liaison, whose role may not act on findings, nor open tasks or work on tasks" in said
    assert "findings.update" not in said and "tasks.read" not in said


@pytest.mark.parametrize("address", ["/ui/findings?cursor=not-a-cursor", "/ui/tasks?view=open&cursor=not-a-cursor"])
def test_a_page_address_edited_by_hand_says_to_start_again(web_client: Callable[[str], TestClient],
                                                          address: str) -> None:
    text = html.unescape(web_client("officer").get(address).text)
    assert "the address names a page of this list that the list did not give out" in text
    assert "next_cursor" not in text


# -- 7: instants in a history ---------------------------------------------------------------------------------


def test_a_waivers_history_shows_its_start_as_the_page_shows_instants(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    fid = finding_of(web, "EP1").id
    page = f"/ui/findings/{fid}"
    c = web_client("officer")
    with clock.frozen(dt.datetime(2026, 3, 11, 15, 8, 36, 984756, tzinfo=UTC)):
        assert act(c, f"{page}/waive", page, reason="on leave", approver="CMO", until="2026-04-30",
                   scope="subject").status_code == 303
        text = html.unescape(c.get(page).text)
    history = text[text.index('id="hist-h"'):]
    assert "from 2026-03-11 15:08 UTC through 2026-04-30 (UTC), approved by CMO: on leave" in history
    assert "T15:08:36" not in history


def test_a_local_time_in_history_words_stays_as_written() -> None:
    """Only the services' UTC instants are shown as the page shows instants: a local time a record
    gave, shown in UTC, could name another day than the one it was written for."""
    from engine.web.render import _instants_in

    said = _instants_in("waived from 2026-12-07T15:08:36.984756+00:00; due 2026-12-10T23:59:59-05:00")
    assert said == "waived from 2026-12-07 15:08 UTC; due 2026-12-10T23:59:59-05:00"
