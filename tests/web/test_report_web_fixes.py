"""Web UI faults a tester's black-box pass found (2026-12-07), each with the page's fix:

- a stale "Revoke waiver" form names the waiver it was shown for, and is refused once the finding is
  under another one (it had revoked a waiver granted since, which its user never saw).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.findings import lifecycle
from engine.findings import service as findings_service
from engine.findings.schemas import WaiverIn
from tests.web.conftest import ORG
from tests.web.test_findings_pages import GRANTED, act, finding_of, waive_now

UTC = dt.UTC
LATER = GRANTED + dt.timedelta(hours=1)


def _flash(text: str) -> str:
    found = re.search(r'<div class="flash flash-\w+" role="\w+">(.*?)</div>', text, re.S)
    assert found, "no message on the page"
    return html.unescape(found.group(1))


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
