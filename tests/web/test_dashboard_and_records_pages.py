"""Found by a black-box probe of the officer's pages: the credential-expiry panel cut at 12 rows
without saying so, a record's history answering an unknown ?version= with the versions it has, the
404 page offering "Sign in" to someone signed in, and HEAD answered 405 by every page."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.web import dashboard
from tests.web.conftest import ORG

NOW = dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC)


def _expiry_rows(html: str) -> list[str]:
    start = html.index('id="expiries"')
    table = html[start:html.index("</table>", start)]
    return re.findall(r'href="/ui/records/credential/([^"]+)"', table)


@pytest.fixture
def many_expiring(web: dict[str, Any]) -> list[str]:
    """Twenty more credentials lapsing 23 to 80 days out (plus C1 from the shared practice: 21 in
    all; their holders have no person record, so they are listed by id), and a renewed CLIA
    certificate whose old record lapses in April (left out: its successor runs to 2028)."""
    more: list[dict[str, Any]] = [{"type": "person", "id": "P9", "first_name": "Lab", "last_name": "Lead"}]
    ids = []
    for i in range(20):
        day = dt.date(2026, 4, 2) + dt.timedelta(days=3 * i)
        ids.append(f"CX{i:02d}")
        more.append({"type": "credential", "id": f"CX{i:02d}", "person_id": f"PX{i:02d}", "kind": "BLS",
                     "expires_at": f"{day.isoformat()}T00:00:00-05:00"})
    more += [{"type": "credential", "id": "R-OLD", "person_id": "P9", "kind": "CLIA",
              "issued_at": "2024-04-01T00:00:00-05:00", "expires_at": "2026-04-15T00:00:00-05:00"},
             {"type": "credential", "id": "R-NEW", "person_id": "P9", "kind": "CLIA",
              "issued_at": "2026-03-01T00:00:00-06:00", "expires_at": "2028-04-15T00:00:00-05:00"}]
    with clock.frozen(NOW), unit_of_work(web["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=more, actor="test", source="test", stream=False)
    dashboard._expiry_cache.clear()
    return ids


def test_the_expiry_panel_says_how_many_it_leaves_out_and_lists_them_on_request(
        many_expiring: list[str], web_client: Callable[[str], TestClient]) -> None:
    client = web_client("officer")
    with clock.frozen(NOW):
        text = client.get("/ui/dashboard").text
        shown = _expiry_rows(text)
        assert len(shown) == dashboard.EXPIRY_ROWS and shown[0] == "C1"  # the soonest first
        assert "90 days <span class=\"muted small\">(21)</span>" in text
        assert "12 of 21 shown" in text and 'href="/ui/dashboard?expiring=all#exp-h"' in text
        everything = client.get("/ui/dashboard?expiring=all")
        assert everything.status_code == 200
        listed = _expiry_rows(everything.text)
        assert listed == ["C1", *many_expiring] and "R-OLD" not in listed  # all 21, the renewed chain left out
        assert "12 of 21" not in everything.text and "All 21 shown" in everything.text
        assert client.get("/ui/dashboard?expiring=some").status_code == 422


def test_a_short_expiry_list_is_not_said_to_be_cut(web_client: Callable[[str], TestClient]) -> None:
    dashboard._expiry_cache.clear()
    with clock.frozen(NOW):
        text = web_client("officer").get("/ui/dashboard").text
    assert _expiry_rows(text) == ["C1"] and "(1)</span>" in text
    assert 'id="expiries-more"' not in text


def test_a_version_the_record_never_had_is_not_found(web_client: Callable[[str], TestClient]) -> None:
    client = web_client("officer")
    r = client.get("/ui/records/credential/C1?version=99")
    assert r.status_code == 404, r.text[:300]
    assert "credential C1 has no version 99; it has version 1" in r.text
    assert 'id="versions"' not in r.text  # not the history, as if v1 were v99
    assert client.get("/ui/records/credential/C1?version=1").status_code == 200
    assert client.get("/ui/records/credential/C1").status_code == 200


def test_the_404_page_shows_a_signed_in_user_their_navigation(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    r = web_client("officer").get("/ui/no-such-page")
    assert r.status_code == 404
    assert 'href="/ui/dashboard"' in r.text and 'href="/ui/findings"' in r.text and "Sign out" in r.text
    assert 'href="/ui/login"' not in r.text and "Back to your start page" in r.text
    anon = TestClient(web["app"]).get("/ui/no-such-page")
    assert anon.status_code == 404 and 'href="/ui/login"' in anon.text and "Sign out" not in anon.text
    stale = TestClient(web["app"], cookies={"vigil_session": "not-a-session"}).get("/ui/no-such-page")
    assert stale.status_code == 404 and 'href="/ui/login"' in stale.text


@pytest.mark.parametrize("path", ["/ui/dashboard", "/ui/findings", "/ui/records/credential/C1",
                                  "/ui/static/vigil.css", "/ui/no-such-page"])
def test_head_answers_as_get_without_a_body(web_client: Callable[[str], TestClient], path: str) -> None:
    client = web_client("officer")
    with clock.frozen(NOW):  # the footer's "rendered at" minute must not change the length
        got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code != 405
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == got.headers["content-length"]


def test_head_follows_the_pages_rules_and_leaves_the_api_alone(web: dict[str, Any]) -> None:
    anon = TestClient(web["app"])
    r = anon.head("/ui/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login?") and r.content == b""
    assert anon.head("/", follow_redirects=False).status_code == 303
    assert anon.head("/health").status_code == 200  # the one API route a probe checks with curl -I


def test_head_sends_no_body_down_the_wire(web: dict[str, Any]) -> None:
    """The test client drops a HEAD response's body itself; the app must not send one to a server that doesn't."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "HEAD", "scheme": "http",
             "path": "/ui/login", "raw_path": b"/ui/login", "root_path": "", "query_string": b"",
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    # a thread of its own: another test of the session (the browser's sync API) may hold a running loop here
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, web["app"](scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 200 and int(dict(start["headers"])[b"content-length"]) > 0
    assert b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body") == b""


def test_a_records_history_marks_only_values_that_changed_not_offsets() -> None:
    from engine.records.schemas import StoredRecord
    from engine.web.routes.records import version_views

    def version(n: int, **data: Any) -> StoredRecord:
        return StoredRecord(type="baa", id="B-1", version=n, data={"type": "baa", "id": "B-1", **data},
                            content_hash=str(n), recorded_at=NOW, actor="t", source="t", establishment_id=None)

    views = version_views([version(1, effective_at="2026-03-07T21:00:00-08:00", clauses=["a"], vendor_id="V"),
                           version(2, effective_at="2026-03-08T05:00:00Z", clauses=["b"])])
    assert [(v.changed, v.removed) for v in views] == [([], []), (["clauses"], ["vendor_id"])]


def test_of_two_cards_valid_through_the_same_day_the_later_issued_is_listed(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    # 08:00 in Chicago (14:00Z) was issued after 08:30 in New York (13:30Z), though "08:30" sorts later
    cards = [{"type": "credential", "id": "A-NY", "person_id": "P8", "kind": "ACLS",
              "issued_at": "2026-01-05T08:30:00-05:00", "expires_at": "2026-04-20T00:00:00-05:00"},
             {"type": "credential", "id": "A-CHI", "person_id": "P8", "kind": "ACLS",
              "issued_at": "2026-01-05T08:00:00-06:00", "expires_at": "2026-04-20T00:00:00-05:00"}]
    with clock.frozen(NOW), unit_of_work(web["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=cards, actor="test", source="test", stream=False)
    dashboard._expiry_cache.clear()
    with clock.frozen(NOW):
        rows = _expiry_rows(web_client("officer").get("/ui/dashboard").text)
    assert "A-CHI" in rows and "A-NY" not in rows
