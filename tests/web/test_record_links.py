"""A cited record's link on a finding's page encodes its id, as the other record links do (the
injection probe: an id holding '?' or '#' gave a link to another address)."""

from __future__ import annotations

from typing import Any

from engine import clock, pipeline
from engine.db import unit_of_work
from tests import factories as f
from tests.web.conftest import AS_OF, ORG, login


def _finding_page_citing(web: dict[str, Any], episode_id: str) -> tuple[Any, str]:
    """An officer's client and the page of the finding whose evidence is the episode `episode_id`."""
    with clock.frozen(AS_OF), unit_of_work(web["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.episode(episode_id, "P9", "2026-02-01T09:00:00-06:00")],
                                actor="test", source="test", stream=False)
        pipeline.evaluate(s, org_id=ORG, as_of=AS_OF, actor="test")
    officer = login(web["app"], "officer")
    listing = officer.get("/ui/findings", params={"rule": "DEMO-TRN-001"}).text
    ids = [part.split('"')[0] for part in listing.split('href="/ui/findings/')[1:]]
    (page,) = [p for p in (officer.get(f"/ui/findings/{i}").text for i in ids if i.startswith("F-")) if episode_id in p]
    return officer, page


def test_an_evidence_record_link_encodes_the_id(web: dict[str, Any]) -> None:
    _, page = _finding_page_citing(web, "EP?x=1#frag")
    assert "/ui/records/employment_episode/EP%3Fx%3D1%23frag?version=1" in page
    assert 'href="/ui/records/employment_episode/EP?x=1#frag' not in page


def test_a_record_whose_id_holds_a_slash_opens_from_its_link(web: dict[str, Any]) -> None:
    """Ids are any string (CONTRACT.md), and exports hold ids like "2026/EP-7": the link on a
    finding's page led to a 404, as did the API's record and history."""
    officer, page = _finding_page_citing(web, "2026/EP-7")
    assert "/ui/records/employment_episode/2026%2FEP-7?version=1" in page  # one segment: the id's `/` encoded
    for link in ("/ui/records/employment_episode/2026%2FEP-7", "/ui/records/employment_episode/2026/EP-7"):
        opened = officer.get(link, params={"version": 1})
        assert opened.status_code == 200 and "2026/EP-7" in opened.text
