"""Which credential of a chain (holder, kind, jurisdiction) the dashboard's expiry panel judges is the
one the credentialing rules judge (`latest`): a license renewed as one without an expiry never lapses
for the rules, so its old record must not be listed as expiring either."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.web import dashboard
from tests.web.conftest import ORG

NOW = dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC)


def _expiries_table(html: str) -> str:
    start = html.index('id="expiries"')
    return html[start:html.index("</table>", start)]


def test_a_license_superseded_by_one_without_expiry_is_not_expiring(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    records = [{"type": "person", "id": "P7", "first_name": "Cara", "last_name": "Lee"},
               # lapses 31 March (21 days), but was replaced on 1 March by a license with no end date
               {"type": "credential", "id": "LIC-OLD", "person_id": "P7", "kind": "STATE_LICENSE",
                "jurisdiction": "IL", "issued_at": "2024-04-01T00:00:00-05:00",
                "expires_at": "2026-03-31T00:00:00-05:00"},
               {"type": "credential", "id": "LIC-NEW", "person_id": "P7", "kind": "STATE_LICENSE",
                "jurisdiction": "il", "issued_at": "2026-03-01T00:00:00-06:00"},
               # another state's chain of the same holder still lapses, and is still listed
               {"type": "credential", "id": "LIC-WI", "person_id": "P7", "kind": "STATE_LICENSE",
                "jurisdiction": "WI", "issued_at": "2024-04-01T00:00:00-05:00",
                "expires_at": "2026-04-30T00:00:00-05:00"}]
    with clock.frozen(NOW), unit_of_work(web["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test", stream=False)
    dashboard._expiry_cache.clear()
    with clock.frozen(NOW):
        text = web_client("officer").get("/ui/dashboard").text
        with unit_of_work(web["engine"]) as s:
            listed = dashboard.expiries(s, org_id=ORG, limit=None)
    table = _expiries_table(text)
    assert "LIC-OLD" not in table and "LIC-NEW" not in table
    assert [e.credential_id for e in listed.items] == ["C1", "LIC-WI"] and listed.total == 2
    assert "90 days <span class=\"muted small\">(2)</span>" in text
    row = next(r for r in table.split("<tr>") if "LIC-WI" in r)
    assert "Cara Lee" in row and "2026-04-30" in row and ">51<" in row.replace(" ", "")  # 10 March -> 30 April


def test_a_renewal_imported_now_is_off_the_list_at_the_next_view(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """The list had been kept five minutes whatever changed: a renewal imported after a view was still
    listed as expiring on the next one."""
    dashboard._expiry_cache.clear()
    lapsing = {"type": "credential", "id": "LIC-R1", "person_id": "P7", "kind": "DEA", "jurisdiction": "IL",
               "issued_at": "2023-04-01T00:00:00-05:00", "expires_at": "2026-03-31T00:00:00-05:00"}
    with clock.frozen(NOW), unit_of_work(web["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[lapsing], actor="test", source="test", stream=False)
    with clock.frozen(NOW):
        assert "LIC-R1" in _expiries_table(web_client("officer").get("/ui/dashboard").text)
    renewal = {**lapsing, "id": "LIC-R2", "issued_at": "2026-03-09T00:00:00-05:00",
               "expires_at": "2029-03-31T00:00:00-05:00"}
    with clock.frozen(NOW + dt.timedelta(minutes=1)), unit_of_work(web["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[renewal], actor="test", source="test", stream=False)
    with clock.frozen(NOW + dt.timedelta(minutes=2)):
        assert "LIC-R1" not in _expiries_table(web_client("officer").get("/ui/dashboard").text)


def test_a_record_id_with_slashes_and_dots_links_to_its_own_history(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    """Jinja's urlencode leaves `/` alone: an id `../../x` made a link that left /ui/records (the
    security pass); each id is one encoded path segment."""
    dashboard._expiry_cache.clear()
    odd = {"type": "credential", "id": "../../ui/audit", "person_id": "P7", "kind": "DEA", "jurisdiction": "IL",
           "issued_at": "2023-04-01T00:00:00-05:00", "expires_at": "2026-03-31T00:00:00-05:00"}
    with clock.frozen(NOW), unit_of_work(web["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[odd], actor="test", source="test", stream=False)
    client = web_client("officer")
    with clock.frozen(NOW):
        table = _expiries_table(client.get("/ui/dashboard").text)
        assert 'href="/ui/records/credential/%2E%2E%2F%2E%2E%2Fui%2Faudit"' in table
        shown = client.get("/ui/records/credential/%2E%2E%2F%2E%2E%2Fui%2Faudit")
    assert shown.status_code == 200 and "../../ui/audit" in shown.text
