"""The Data gaps page: the records the rules pass over raise no finding, so without it an officer who
missed the import's warnings would never see them. Linked from the navigation for the roles that read
records, each row linking to the record's history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine import pipeline
from engine.db import unit_of_work
from tests.web.conftest import ORG


def _plant(web: dict[str, Any]) -> None:
    records = [{"type": "screening", "id": "X/1", "person_id": None, "source": "LEIE",
                "checked_at": "2026-01-05T15:00:00Z", "result": "excluded"},
               {"type": "incident", "id": "I-7", "establishment_id": "E1", "discovered_at": None},
               {"type": "training_record", "id": "T-9", "person_id": "P-404", "course": "BBP",
                "completed_at": "2026-01-05T15:00:00Z"}]
    with unit_of_work(web["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test", stream=False)


def test_the_page_lists_each_gap_with_a_link_to_the_record(web: dict[str, Any],
                                                          web_client: Callable[[str], TestClient]) -> None:
    _plant(web)
    page = web_client("officer").get("/ui/records/gaps")
    assert page.status_code == 200, page.text[:500]
    text = page.text
    assert 'href="/ui/records/gaps" aria-current="page">Data gaps</a>' in text
    assert "No date the deadlines count from (1)" in text
    assert "Missing or unknown field the rules need, or dates in the wrong order (1)" in text
    assert 'href="/ui/records/incident/I-7"' in text and 'href="/ui/records/screening/X%2F1"' in text
    assert "screening &#39;X/1&#39; has no person_id: the excluded it found is raised against no one" in text
    # the shared practice's episodes EP2 and EP3 and credential C2 name persons P2 and P3, not held
    assert "An id naming no record held (3)" in text and '<span class="mono">P-404</span>' in text
    assert 'href="/ui/records/training_record/T-9"' in text
    assert "None." not in text


def test_an_empty_list_says_none(web_client: Callable[[str], TestClient]) -> None:
    text = web_client("liaison").get("/ui/records/gaps").text
    assert text.count("<p class=\"muted\">None.</p>") == 2  # no undated nor incomplete record
    assert "An id naming no record held (2)" in text


def test_only_the_roles_that_read_records_see_it(web_client: Callable[[str], TestClient]) -> None:
    for role in ("admin", "officer", "liaison"):
        client = web_client(role)
        assert 'href="/ui/records/gaps"' in client.get("/ui/findings").text, role
        assert client.get("/ui/records/gaps").status_code == 200, role
    for role in ("auditor", "staff"):
        client = web_client(role)
        assert 'href="/ui/records/gaps"' not in client.get("/ui/findings").text, role
        assert client.get("/ui/records/gaps").status_code == 403, role


def test_a_record_type_narrows_the_page(web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    _plant(web)
    client = web_client("officer")
    text = client.get("/ui/records/gaps?type=screening").text
    assert '<option value="screening" selected>' in text and "1 record (screening) checked" in text
    assert 'href="/ui/records/screening/X%2F1"' in text and "I-7" not in text and "P-404" not in text
    assert client.get("/ui/records/gaps?type=patient").status_code == 422
