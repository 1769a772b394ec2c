"""The liaison's web pages: draft a version, preview its impact, publish it with an effective date
(a refusal keeps the typed YAML and lists every problem), withdraw a version, schedule a parameter
change; and the roles that may not do so do not see the forms."""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine import clock
from tests.web.conftest import FIXTURES, csrf_of

NOW = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def liaison_web(web: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    web["root"] = Path(os.environ["VIGIL_RULESETS_DIR"])
    with clock.frozen(NOW):
        yield web


def post(client: TestClient, url: str, page: str, **form: str) -> Any:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={"csrf_token": token, **form}, headers={"referer": f"http://testserver{page}"},
                       follow_redirects=False)


def test_a_draft_is_previewed_then_published(liaison_web: dict[str, Any],
                                            web_client: Callable[[str], TestClient]) -> None:
    c = web_client("liaison")
    page = c.get("/ui/rulesets/draft?from=demo/2.0.0")
    # the draft starts as the next version, ready to edit
    assert page.status_code == 200 and "framework: demo" in page.text and "version: 2.1.0" in page.text
    # in force from today, with no end: the window of 2.0.0 (from 2026-07-01) had been kept, and a
    # version started from one with an end had been previewed, then refused as dated in the past
    assert "effective_from: 2026-11-30" in page.text and "effective_to" not in page.text
    text = (liaison_web["root"] / "demo" / "demo-2.0.0.yaml").read_text().replace("version: 2.0.0",
                                                                                  "version: 3.0.0")
    # a shorter training window opens the finding of EP2 (started 2 Feb) on today's records
    shorter = text.replace("new_hire_days: {type: int, unit: days, default: 10",
                           "new_hire_days: {type: int, unit: days, default: 1")
    preview = post(c, "/ui/rulesets/draft", "/ui/rulesets/draft", text=shorter, do="preview")
    assert preview.status_code == 200 and 'id="impact"' in preview.text, preview.text[:2000]
    assert "demo 3.0.0 on today" in preview.text and 'id="draft-effect"' in preview.text
    assert "2026-11-30 15:00 UTC" in preview.text  # no effective date typed: today
    # its own date (2.0.0's, July) is before publishing could date it: previewed from today, and said
    assert "effective_from 2026-07-01 is before 2026-11-30, the first day a version can take effect" in preview.text
    # the effective date typed in is the day previewed (the liaison probe: it had previewed today)
    dated = post(c, "/ui/rulesets/draft", "/ui/rulesets/draft", text=shorter, do="preview",
                 effective_from="2027-01-01")
    assert dated.status_code == 200 and "2027-01-01 00:00 UTC" in dated.text, dated.text[:2000]
    assert not (liaison_web["root"] / "demo" / "demo-3.0.0.yaml").exists()
    done = post(c, "/ui/rulesets/draft", "/ui/rulesets/draft", text=text, do="publish", effective_from="2027-01-01")
    assert done.status_code == 303 and done.headers["location"] == "/ui/rulesets/demo/3.0.0"
    shown = c.get(done.headers["location"]).text
    assert "Published demo 3.0.0, in force from 2027-01-01, replacing 2.0.0" in shown and "scheduled" in shown
    assert "judged by the new version" in shown  # how many scenario cases tested the version itself
    assert b"effective_from: 2027-01-01" in (liaison_web["root"] / "demo" / "demo-3.0.0.yaml").read_bytes()
    listing = c.get("/ui/rulesets").text
    assert "<td>scheduled</td>" in listing and '<span class="ok">in force</span>' in listing


def test_a_refused_publication_keeps_the_yaml_and_lists_the_problems(
        liaison_web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    c = web_client("liaison")
    text = (liaison_web["root"] / "demo" / "demo-2.0.0.yaml").read_text().replace(
        "sop: SOP-DEMO", "sop: SOP-MISSING").replace("version: 2.0.0", "version: 3.0.0")
    r = post(c, "/ui/rulesets/draft", "/ui/rulesets/draft", text=text, do="publish", effective_from="2020-01-01")
    assert r.status_code == 422 and 'id="draft-problems"' in r.text
    assert "is before today" in r.text
    assert "SOP-MISSING" in r.text  # the typed text is still in the textarea
    r = post(c, "/ui/rulesets/draft", "/ui/rulesets/draft", text=text, do="publish", effective_from="2027-01-01")
    assert r.status_code == 422 and "SOP SOP-MISSING has no template" in r.text
    assert not (liaison_web["root"] / "demo" / "demo-3.0.0.yaml").exists()


def test_a_scheduled_version_is_withdrawn_from_its_page(liaison_web: dict[str, Any],
                                                       web_client: Callable[[str], TestClient]) -> None:
    c = web_client("liaison")
    text = (liaison_web["root"] / "demo" / "demo-2.0.0.yaml").read_text().replace("version: 2.0.0", "version: 3.0.0")
    assert post(c, "/ui/rulesets/draft", "/ui/rulesets/draft", text=text, do="publish",
                effective_from="2027-01-01").status_code == 303
    page = "/ui/rulesets/demo/3.0.0"
    assert 'id="withdraw"' in c.get(page).text
    r = post(c, f"{page}/withdraw", page, reason="the state postponed it")
    assert r.status_code == 303
    shown = c.get(r.headers["location"]).text
    assert "Withdrew demo 3.0.0 from 2026-11-30. 3.0.0 never takes effect." in shown
    assert "the state postponed it" in shown
    # withdrawn before its first day, it has judged nothing: the withdrawal can still be moved until then
    assert "<summary>Move the withdrawal to another day</summary>" in shown
    assert "effective 2027-01-01 – withdrawn before it took effect" in " ".join(shown.split())
    assert "in force never" not in shown and "It never takes effect; the file is kept as it was published" in shown
    listed = " ".join(c.get("/ui/rulesets").text.split())
    assert "2027-01-01 – withdrawn before it took effect" in listed  # the list had said "open"
    # the refusal of a second move to the same day names the day it takes effect: its first day
    r = post(c, f"{page}/withdraw", page, reason="again", on="2026-11-30")
    assert "it takes effect on 2027-01-01" in c.get(r.headers["location"]).text
    # the only version in force cannot be withdrawn: refused, back on the page with the reason
    r = post(c, "/ui/rulesets/demo/2.0.0/withdraw", "/ui/rulesets/demo/2.0.0", reason="x")
    assert r.status_code == 303 and "would leave no demo ruleset in force" in c.get(r.headers["location"]).text


def test_a_version_withdrawn_from_a_later_day_shows_that_day_as_its_end(
        liaison_web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """Its page had said "effective 2027-01-01 – open" under a withdrawal from 2027-06-01; a withdrawal
    still to come is moved from the same page."""
    c = web_client("liaison")
    text = (liaison_web["root"] / "demo" / "demo-2.0.0.yaml").read_text().replace("version: 2.0.0", "version: 3.0.0")
    assert post(c, "/ui/rulesets/draft", "/ui/rulesets/draft", text=text, do="publish",
                effective_from="2027-01-01").status_code == 303
    page = "/ui/rulesets/demo/3.0.0"
    assert post(c, f"{page}/withdraw", page, reason="the state narrowed it", on="2027-06-01").status_code == 303
    shown = " ".join(c.get(page).text.split())
    assert "effective 2027-01-01 – 2027-06-01 <span class=\"small muted\">(withdrawn)</span>" in shown
    listed = " ".join(c.get("/ui/rulesets").text.split())
    assert "2027-01-01 – 2027-06-01 <span class=\"small muted\">(withdrawn)</span>" in listed  # had said "open"
    # not in effect yet: the page offers to move it, and withdrawing again moves it
    assert "<summary>Move the withdrawal to another day</summary>" in shown
    r = post(c, f"{page}/withdraw", page, reason="the state moved it up", on="2027-03-01")
    assert r.status_code == 303
    shown = " ".join(c.get(r.headers["location"]).text.split())
    assert "Moved the withdrawal of demo 3.0.0 from 2027-06-01 to 2027-03-01." in shown
    assert "effective 2027-01-01 – 2027-03-01 <span class=\"small muted\">(withdrawn)</span>" in shown


def test_a_parameter_change_is_scheduled_from_the_parameters_page(
        liaison_web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    c = web_client("liaison")
    assert 'id="change-demo"' in c.get("/ui/params").text
    r = post(c, "/ui/params", "/ui/params", framework="demo", name="new_hire_days", value="5",
             effective_from="2026-12-15", approved_by="Dr. Rivera", reason="policy 4.2")
    assert r.status_code == 303
    shown = c.get(r.headers["location"]).text
    assert "demo.new_hire_days: 10 -&gt; 5 from 2026-12-15." in shown
    assert 'id="scheduled-demo"' in shown and "Dr. Rivera" in shown
    r = post(c, "/ui/params", "/ui/params", framework="demo", name="new_hire_days", value="five",
             approved_by="a", reason="r")
    assert r.status_code == 303 and "'five' is not a whole number" in html.unescape(c.get(r.headers["location"]).text)


def test_the_parameters_page_lists_each_scheduled_change_with_who_approved_it_and_why(
        liaison_web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """docs/rulesets.md: the page shows changes already scheduled, as `params list` and GET /params do."""
    c = web_client("liaison")
    r = post(c, "/ui/params", "/ui/params", framework="demo", name="new_hire_days", value="5",
             effective_from="2026-12-15", approved_by="Dr. Rivera", reason="policy 4.2")
    assert r.status_code == 303
    page = c.get("/ui/params").text
    table = page[page.index('id="scheduled-demo"'):]
    row = re.sub(r"<[^>]+>", "|", table[table.index("<tbody>"):table.index("</tbody>")])
    assert [cell for cell in row.split("|") if cell.strip()] == [
        "new_hire_days", "5", "2026-12-15", "Dr. Rivera", "policy 4.2"]


def test_a_refused_parameter_change_says_its_reason_once(
        liaison_web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """Probe: the flash said the reason twice, the second time nested in parentheses."""
    c = web_client("liaison")
    r = post(c, "/ui/params", "/ui/params", framework="demo", name="new_hire_days", value="-4",
             approved_by="a", reason="r")
    assert r.status_code == 303 and r.headers["location"] == "/ui/params"
    shown = c.get(r.headers["location"]).text
    flash = re.search(r'class="flash flash-error"[^>]*>(.*?)</', shown, re.S)
    assert flash, shown[:3000]
    assert flash.group(1).strip() == ("new_hire_days was not changed: New value: -4 is below the smallest value "
                                      "allowed, 0 (days) (Days to train a new hire)")  # by the form's labels
    r = post(c, "/ui/params", "/ui/params", framework="demo", name="new_hire_days", value="5",
             effective_from="2020-01-01", approved_by="a", reason="r")
    flash = re.search(r'class="flash flash-error"[^>]*>(.*?)</', c.get(r.headers["location"]).text, re.S)
    assert flash and flash.group(1).strip().startswith("new_hire_days was not changed: From: 2020-01-01 "
                                                       "is before today (2026-11-30)")


def test_the_parameters_page_names_the_problems_of_values_the_rules_cannot_take(
        liaison_web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """Probe: the page showed `new_hire_days: seven` as in force and ignored an unknown parameter,
    with no warning, while `vigil evaluate` refused the file. It shows the problems instead."""
    path = Path(os.environ["VIGIL_PRACTICE_PARAMS"])
    path.write_text("params:\n  demo: {new_hire_days: seven, bogus_param: 3}\n", encoding="utf-8")
    for role in ("liaison", "auditor"):
        r = web_client(role).get("/ui/params")
        assert r.status_code == 422
        panel = r.text[r.text.index('id="params-problems"'):]
        panel = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", panel[:panel.index("</section>")])).split())
        assert f"{path}, field demo.bogus_param : unknown parameter 'bogus_param' for ruleset demo" in panel
        assert f"{path}, field demo.new_hire_days : parameter new_hire_days: 'seven' is not a whole number" in panel
        assert r.text.count("seven") == 1  # in the problem named, not as a value in force
        assert 'id="pp-demo"' not in r.text and 'id="change-demo"' not in r.text


@pytest.mark.parametrize("role", ["officer", "auditor", "staff"])
def test_only_those_who_may_publish_see_the_forms(liaison_web: dict[str, Any],
                                                  web_client: Callable[[str], TestClient], role: str) -> None:
    c = web_client(role)
    version = c.get("/ui/rulesets/demo/2.0.0")
    params = c.get("/ui/params")
    if role == "officer":  # every permission but users.manage
        assert 'id="withdraw"' in version.text and 'id="change-demo"' in params.text
        return
    assert 'id="withdraw"' not in version.text and 'id="change-demo"' not in params.text
    assert c.get("/ui/rulesets/draft").status_code == 403


def test_the_rulesets_page_orders_versions_by_number_and_drafts_from_one_not_withdrawn(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """Probe 16: the selectors read 2026.1.0, 2.0, 7.0, 3.0; "New version from" offered a withdrawn version."""
    root = Path(os.environ["VIGIL_RULESETS_DIR"]) / "demo"
    text = (root / "demo-2.0.0.yaml").read_text(encoding="utf-8")
    for version, start in (("10.0.0", "2027-01-01"), ("3.0.0", "2026-12-01")):
        (root / f"demo-{version}.yaml").write_text(text.replace("version: 2.0.0", f"version: {version}").replace(
            "effective_from: 2026-07-01", f"effective_from: {start}"), encoding="utf-8")
    (root / "withdrawals.yaml").write_text(
        "withdrawals:\n  - {version: 10.0.0, 'on': 2026-12-15, reason: typo, by: t, at: '2026-11-30T00:00:00Z'}\n",
        encoding="utf-8")
    page = web_client("liaison").get("/ui/rulesets").text
    options = re.findall(r'<select id="to-demo" name="to">(.*?)</select>', page, re.S)[0]
    assert re.findall(r'value="([0-9.]+)"', options) == ["1.0.0", "2.0.0", "3.0.0", "10.0.0"]
    assert "New version from 3.0.0" in page


def test_a_draft_started_after_todays_sweep_starts_the_next_day(liaison_web: dict[str, Any],
                                                                 web_client: Callable[[str], TestClient]) -> None:
    """Session 46's liaison pass: the draft page filled in today, which publishing refuses once an
    evaluation has judged today; it fills in the first day publishing takes, as `params set` does."""
    from engine import db, pipeline

    with db.unit_of_work(liaison_web["engine"]) as s:
        pipeline.evaluate(s, org_id="clinic-a", as_of=NOW, actor="test", frameworks=["demo"])
    page = web_client("liaison").get("/ui/rulesets/draft?from=demo/2.0.0")
    assert page.status_code == 200 and "effective_from: 2026-12-01" in page.text
