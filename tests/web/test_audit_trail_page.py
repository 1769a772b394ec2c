"""The audit trail page: entries newest first with filters and older pages for officers, the
chain's check for anyone who may open it, and nothing of the entries for an auditor."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from engine.audit import service as audit_service
from engine.db import unit_of_work
from tests.web.conftest import ORG


def _rows(html: str) -> list[tuple[str, str]]:
    """(org_seq, action) of each entry shown."""
    table = html[html.index('id="audit-entries"'):]
    return re.findall(r'<td class="num">(\d+)</td>.*?<td class="mono small">([^<]+)</td>', table, re.S)


def test_officers_read_the_entries_newest_first_filter_them_and_page_back(
        web: dict[str, Any], web_client: Callable[[str], TestClient], monkeypatch: Any) -> None:
    c = web_client("officer")  # first: signing in is an entry too (auth.login)
    with unit_of_work(web["engine"]) as s:
        for i in range(7):
            audit_service.append(s, org_id=ORG, actor="tester", action="probe.step", entity_type="probe",
                                 entity_id=f"X{i}", payload={"i": i})
        total = audit_service.chain_head(s, org_id=ORG).entries
    page = c.get("/ui/audit/trail")
    assert page.status_code == 200 and f"{total:,}" in page.text
    shown = _rows(page.text)
    assert [int(n) for n, _ in shown] == sorted((int(n) for n, _ in shown), reverse=True)
    assert shown[0] == (str(total), "probe.step")
    monkeypatch.setattr("engine.web.routes.audit.TRAIL_PAGE", 3)
    first = c.get("/ui/audit/trail?action=probe&actor=tester")
    assert [a for _, a in _rows(first.text)] == ["probe.step"] * 3
    older = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert older is not None and "action=probe" in older.group(1) and "actor=tester" in older.group(1)
    second = c.get(older.group(1).replace("&amp;", "&"))
    assert [int(n) for n, _ in _rows(second.text)] == [total - 3, total - 4, total - 5]
    assert "Newest entries" in second.text
    one = c.get("/ui/audit/trail?entity=probe/X2")
    assert len(_rows(one.text)) == 1 and "&#34;i&#34;: 2" in one.text  # payloads are text, escaped as such
    assert "No entries match" in c.get("/ui/audit/trail?actor=nobody").text
    assert "No entries match" in c.get("/ui/audit/trail?entity=probe/X99").text  # a known kind: just none
    # API pass: a misspelt action or kind answered "no entries", read as "nothing of the kind happened"
    typo = c.get("/ui/audit/trail?action=probe.stpe&entity=prob/X2")
    assert typo.status_code == 200 and 'id="filter-problems"' in typo.text and "No entries match" not in typo.text
    assert "no entry has the action &#39;probe.stpe&#39;" in typo.text and "probe" in typo.text
    assert "no entry is about a &#39;prob&#39;" in typo.text and 'value="probe.stpe"' in typo.text  # the form kept


def test_verifying_says_intact_or_names_where_the_chain_breaks(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    c = web_client("officer")
    assert 'id="chain-verdict"' not in c.get("/ui/audit/trail").text  # only on request
    intact = c.get("/ui/audit/trail?verify=1").text
    assert "Intact: all" in intact
    with web["engine"].begin() as conn:  # tamper beneath the application, past its append-only guard
        conn.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))
        triggers = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))]
        for name in triggers:
            conn.execute(text(f'DROP TRIGGER "{name}"'))
        conn.execute(text("UPDATE audit_entries SET actor = 'someone else' WHERE org_seq = 2"))
    broken = c.get("/ui/audit/trail?verify=1").text
    assert "Broken." in broken and "entry #2" in broken


def test_an_auditor_may_check_the_chain_but_reads_no_entry(web_client: Callable[[str], TestClient]) -> None:
    c = web_client("auditor")
    page = c.get("/ui/audit/trail?verify=1&actor=officer")
    assert page.status_code == 200 and "Intact: all" in page.text
    assert 'id="audit-entries"' not in page.text and "audit-trail excerpt" in page.text
    refused = c.get("/audit/entries")  # nor through the API, with the same browser session
    assert refused.status_code == 403 and refused.json()["code"].startswith("permission_denied"), refused.text


LEAKED, OTHER = "TK-0123456789ab", "TK-ba9876543210"


def test_the_token_filter_shows_only_what_that_api_token_wrote_and_pages_back(
        web: dict[str, Any], web_client: Callable[[str], TestClient], monkeypatch: Any) -> None:
    c = web_client("officer")
    with unit_of_work(web["engine"]) as s:
        for i, token in enumerate([LEAKED, OTHER, LEAKED, None, LEAKED, OTHER, LEAKED]):
            with audit_service.acting_with_token(token):
                audit_service.append(s, org_id=ORG, actor="user:admin", action="probe.step", entity_type="probe",
                                     entity_id=f"X{i}", payload={"i": i})
    form = c.get("/ui/audit/trail").text
    assert '<label for="a-token">API token</label>' in form and 'name="token"' in form
    monkeypatch.setattr("engine.web.routes.audit.TRAIL_PAGE", 3)
    first = c.get("/ui/audit/trail", params={"token": LEAKED})
    assert first.status_code == 200, first.text[:500]
    assert f'name="token" value="{LEAKED}"' in first.text  # the form keeps the filter
    assert [a for _, a in _rows(first.text)] == ["probe.step"] * 3
    assert re.findall(r"&#34;i&#34;: (\d)", first.text) == ["6", "4", "2"]
    assert first.text.count(f"&#34;via_token&#34;: &#34;{LEAKED}&#34;") == 3 and OTHER not in first.text
    older = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert older is not None and f"token={LEAKED}" in older.group(1)
    second = c.get(older.group(1).replace("&amp;", "&")).text
    assert re.findall(r"&#34;i&#34;: (\d)", second) == ["0"] and 'rel="next"' not in second
    assert "No entries match" in c.get("/ui/audit/trail", params={"token": "TK-000000000000"}).text


def test_a_token_filter_that_names_no_token_is_refused_in_words(web_client: Callable[[str], TestClient]) -> None:
    page = web_client("officer").get("/ui/audit/trail", params={"token": "vgl_secret-pasted-here"})
    assert page.status_code == 422 and "API token: not an API token&#39;s id" in page.text, page.text[:800]
    # said above the list with the form kept (web pass: the whole page had been "Cannot do that"), and
    # the value, perhaps a pasted secret, not echoed in the message
    assert 'id="filter-problems"' in page.text and 'id="a-token"' in page.text
    said = page.text[page.text.index('id="filter-problems"'):]
    assert "vgl_secret-pasted-here" not in said[:said.index("</div>")]  # the forms keep it; the message does not


def test_an_auditor_reads_no_entry_by_token_either(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    with unit_of_work(web["engine"]) as s, audit_service.acting_with_token(LEAKED):
        audit_service.append(s, org_id=ORG, actor="user:admin", action="probe.step", entity_type="probe",
                             entity_id="X1", payload={"secret": "other framework"})
    page = web_client("auditor").get("/ui/audit/trail", params={"token": LEAKED})
    assert page.status_code == 200 and 'id="audit-entries"' not in page.text and "other framework" not in page.text
