"""A finding's page shows each cited record as it was at the cited version, to every reader of the
finding, the auditor included (who holds no records.read and so gets no link to the records pages)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine.db import unit_of_work
from engine.findings import service as findings_service
from engine.findings.schemas import FindingFilter
from tests.web.conftest import ORG


def test_the_finding_page_shows_the_cited_records(web: dict[str, Any],
                                                  web_client: Callable[[str], TestClient]) -> None:
    with unit_of_work(web["engine"]) as s:
        fid = findings_service.list_findings(s, org_id=ORG, filters=FindingFilter(subject_id="EP1")).items[0].id
    for role in ("auditor", "officer"):
        text = web_client(role).get(f"/ui/findings/{fid}").text
        assert 'class="cited"' in text and "2026-02-01T09:00:00-06:00" in text, role
        assert ('href="/ui/records/employment_episode/EP1' in text) is (role == "officer")


def test_the_subject_links_to_its_record_for_those_who_may_read_records(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    with unit_of_work(web["engine"]) as s:
        finding = findings_service.list_findings(s, org_id=ORG, filters=FindingFilter(subject_id="EP1")).items[0]
    link = f'<a href="/ui/records/{finding.subject_type}/EP1">{finding.subject_type}/EP1</a>'
    assert link in web_client("officer").get(f"/ui/findings/{finding.id}").text
    assert link not in web_client("auditor").get(f"/ui/findings/{finding.id}").text
