"""The dashboard focused on one establishment: a site manager's counts, work and expiries for their
site, links that keep the site, every site still listed to compare, and a site the viewer cannot
see refused rather than shown as empty."""

from __future__ import annotations

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

AS_OF = dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC)


def _section(text: str, marker: str) -> str:
    start = text.index(marker)
    return text[start:text.index("</table>", start)]


def test_focusing_on_a_site_counts_that_site_only(web_client: Callable[[str], TestClient]) -> None:
    dashboard._expiry_cache.clear()
    client = web_client("officer")
    with clock.frozen(AS_OF):
        everything = client.get("/ui/dashboard").text
        east = client.get("/ui/dashboard?establishment=E2")
        main = client.get("/ui/dashboard?establishment=E1").text
    assert 'aria-label="3 high demo findings"' in _section(everything, 'id="heat"')
    assert east.status_code == 200
    assert "Compliance dashboard: East clinic" in east.text and 'id="focus-note"' in east.text
    assert 'aria-label="1 high demo findings"' in _section(east.text, 'id="heat"')
    assert 'aria-label="2 high demo findings"' in _section(main, 'id="heat"')
    # the numbers lead to lists of the same site
    assert 'href="/ui/findings?framework=demo&amp;severity=high&amp;state=open%2Cacknowledged&amp;establishment=E2"' \
        in east.text
    assert 'href="/ui/findings?status=overdue&amp;establishment=E2"' in east.text
    # every site is still listed, the focused one marked, each name focusing the dashboard on it
    table = _section(east.text, 'id="by-establishment"')
    assert 'aria-current="true"' in table and 'href="/ui/dashboard?establishment=E1"' in table
    # the credential expiring belongs to a holder working at E1
    assert 'id="expiries"' in main and "Ana Diaz" in _section(main, 'id="expiries"')
    assert "No credential expires in the next 90 days." in east.text


def test_the_site_picker_lists_every_site_and_keeps_the_choice(web_client: Callable[[str], TestClient]) -> None:
    text = web_client("officer").get("/ui/dashboard?establishment=E2").text
    assert 'id="d-establishment"' in text and '<option value="E2" selected>East clinic</option>' in text


def test_a_site_the_viewer_cannot_see_is_refused(web_client: Callable[[str], TestClient]) -> None:
    r = web_client("officer").get("/ui/dashboard?establishment=NOPE")
    assert r.status_code == 422
    assert "NOPE" in r.text and "E1, E2" in r.text


def test_the_organization_wide_count_leads_to_the_findings_of_no_establishment(
        web: dict[str, Any], web_client: Callable[[str], TestClient]) -> None:
    # a contractor's episode names no site: the untrained-hire finding about it is organization-wide
    contractor = {"type": "employment_episode", "id": "EP9", "person_id": "P9", "start_at": "2026-02-03T09:00:00-06:00",
                  "phi_access_required": True}
    with clock.frozen(AS_OF), unit_of_work(web["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[contractor], actor="test", source="test", stream=False)
        pipeline.evaluate(s, org_id=ORG, as_of=AS_OF, actor="test")
    client = web_client("officer")
    with clock.frozen(AS_OF):
        table = _section(client.get("/ui/dashboard").text, 'id="by-establishment"')
        link = re.search(r'<a href="(/ui/findings\?org_wide=1[^"]*)" aria-label="(\d+) open findings tied to no '
                         r'establishment"', table)
        assert link, table
        listed = client.get(link.group(1).replace("&amp;", "&"))
    assert listed.status_code == 200 and 'id="f-org-wide" name="org_wide" value="1" checked' in listed.text
    assert re.search(rf">\s*{link.group(2)} findings?\s", listed.text)
    cells = re.findall(r'<td class="small">([^<]*)</td>', listed.text)
    assert int(link.group(2)) > 0 and set(cells) == {"org-wide"} and len(cells) == int(link.group(2))
    assert re.search(r'<a href="/ui/findings\?establishment=E1[^"]*" aria-label="\d+ open findings at ', table)


def _listed_count(client: TestClient, href: str) -> int:
    """How many findings the list at `href` says it holds."""
    page = client.get(href.replace("&amp;", "&"))
    assert page.status_code == 200, page.text
    found = re.search(r">\s*(\d+) findings?\s", page.text)
    return int(found.group(1)) if found else len(re.findall(r'<tr>\s*<td', page.text.split("<tbody>")[1]))


@pytest.mark.parametrize("site", [None, "E1"])
def test_every_total_and_overdue_number_links_to_its_list(web_client: Callable[[str], TestClient],
                                                          site: str | None) -> None:
    """The heat table's Total column, its "All" row and the by-establishment Overdue column had been
    plain numbers, though the caption says each number links to the list: each now does, to a list
    of as many findings as it counts."""
    dashboard._expiry_cache.clear()
    client = web_client("officer")
    with clock.frozen(AS_OF):
        text = client.get("/ui/dashboard" + (f"?establishment={site}" if site else "")).text
        heat, by_site = _section(text, 'id="heat"'), _section(text, 'id="by-establishment"')
        totals = re.findall(r'<td class="num"><a href="([^"]+)" aria-label="[^"]*"><strong>(\d+)</strong></a></td>',
                            heat)
        rows = heat.count('<tr><th scope="row"><a ')
        assert len(totals) == rows + len(re.findall(r"<th scope=\"col\" class=\"num\">", heat)), heat
        overdue = re.findall(r'<a href="([^"]+)" aria-label="(\d+) overdue findings [^"]*">', by_site)
        assert len(overdue) == by_site.count('<th scope="row">'), by_site
        assert any(int(n) for _, n in totals) and any(int(n) for _, n in overdue)
        for href, count in [*totals, *overdue]:
            assert _listed_count(client, href) == int(count), (href, count)
