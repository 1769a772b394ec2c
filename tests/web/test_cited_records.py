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


def test_a_long_evidence_list_stops_with_a_link_to_the_rest(
        web: dict[str, Any], web_client: Callable[[str], TestClient], monkeypatch: Any) -> None:
    """A measure rule's finding cites every case of its year (12,501 on the large practice): the
    page had listed them all, 2.3 MB of HTML. It lists EVIDENCE_SHOWN and links to the whole list."""
    import re

    from engine.web.routes import findings as finding_pages

    with unit_of_work(web["engine"]) as s:
        finding = findings_service.list_findings(s, org_id=ORG, filters=FindingFilter(subject_id="EP1")).items[0]
    many = finding.evidence + [{"type": "person", "id": f"P-{i}", "version": 1} for i in range(4)]
    total = len(many)
    real_get = findings_service.get_finding
    monkeypatch.setattr(findings_service, "get_finding",
                        lambda *a, **kw: real_get(*a, **kw).model_copy(update={"evidence": many}))
    monkeypatch.setattr(finding_pages, "EVIDENCE_SHOWN", 1)
    client = web_client("officer")

    def listed(text: str) -> int:
        section = text.split("<h3>Evidence records", 1)[1].split("</ul>", 1)[0]
        return len(re.findall(r"<li>", section))

    short = client.get(f"/ui/findings/{finding.id}").text
    assert listed(short) == 1 and f"<span class=\"small muted\">({total})</span>" in short
    assert f"and {total - 1} more records cited" in short
    assert f'href="/ui/findings/{finding.id}?evidence=all">list all {total}</a>' in short
    assert listed(client.get(f"/ui/findings/{finding.id}?evidence=all").text) == total
    assert client.get(f"/ui/findings/{finding.id}?evidence=some").status_code == 422
