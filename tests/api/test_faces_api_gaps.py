"""REST answers for what the probes found: audit paging bounded, every run reachable, a record's
history with the fields each version changed, and no server path in a ruleset's 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine

from engine.audit import service as audit_service
from engine.audit.schemas import AuditQuery
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.db import unit_of_work
from engine.errors import InputError
from tests import factories as f
from tests.api.conftest import ORG, headers
from tests.web.conftest import login

TOO_BIG = 2**63  # one past the largest seq a 64-bit column holds


# --- 1: `before` on the audit trail ---------------------------------------------------------------------


def test_audit_entries_before_past_the_largest_seq_is_a_422_naming_before(api: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "officer")
    r = c.get("/audit/entries", headers=h, params={"before": str(TOO_BIG)})
    assert r.status_code == 422, r.text
    assert [e.get("field") for e in r.json()["errors"]] == ["query.before"], r.json()
    assert c.get("/audit/entries", headers=h, params={"before": str(TOO_BIG - 1)}).status_code == 200


def test_the_audit_trail_page_refuses_a_before_past_the_largest_seq(api: dict[str, Any]) -> None:
    c = login(api["app"], "officer")
    r = c.get("/ui/audit/trail", params={"before": str(TOO_BIG)})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert c.get("/ui/audit/trail", params={"before": str(TOO_BIG - 1)}).status_code == 200


def test_the_audit_service_refuses_a_before_past_the_largest_seq(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        audit_service.append(s, org_id=ORG, actor="t", action="probe.step", entity_type="probe", entity_id="X")
    with unit_of_work(engine) as s:
        with pytest.raises(InputError) as caught:
            audit_service.entries_page(s, org_id=ORG, where=AuditQuery(before=TOO_BIG))
        assert caught.value.details[0].field == "before"
        page = audit_service.entries_page(s, org_id=ORG, where=AuditQuery(before=TOO_BIG - 1))
        assert [e.action for e in page.items] == ["probe.step"]


# --- 2: every run can be reached --------------------------------------------------------------------------


def _runs(api: dict[str, Any], days: list[int]) -> None:
    c, h = api["client"], headers(api, "officer")
    assert c.post("/records", headers=h, json=[f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")]
                  ).status_code == 200
    for day in days:
        r = c.post("/evaluations", headers=h, json={"as_of": f"2026-03-{day:02d}T12:00:00Z"})
        assert r.status_code == 201, r.text


def _pages(api: dict[str, Any], role: str, limit: int) -> list[str]:
    c, h = api["client"], headers(api, role)
    seen: list[str] = []
    page = c.get("/evaluations", headers=h, params={"limit": limit}).json()
    while page:
        seen += [r["id"] for r in page]
        r = c.get("/evaluations", headers=h, params={"limit": limit, "before": page[-1]["id"]})
        assert r.status_code == 200, r.text
        page = r.json()
    return seen


def test_evaluations_page_with_limit_and_before_so_every_run_is_reached(api: dict[str, Any]) -> None:
    _runs(api, [2, 3, 4, 5, 6])
    c, h = api["client"], headers(api, "officer")
    every = c.get("/evaluations", headers=h, params={"limit": 1000}).json()
    assert len(every) == 5
    assert len(c.get("/evaluations", headers=h).json()) == 5  # the default (50) holds them all
    assert _pages(api, "officer", 2) == [r["id"] for r in every]
    assert _pages(api, "auditor", 2) == [r["id"] for r in every]  # the grant covers them all
    for params in ({"limit": 0}, {"limit": 1001}, {"before": "R-nope"}, {"before": ""}):
        r = c.get("/evaluations", headers=h, params=params)
        assert r.status_code == 422, (params, r.text)
        fields = {str(e.get("field")).removeprefix("query.") for e in r.json()["errors"]}
        assert fields == {next(iter(params))}, r.json()


def test_an_auditors_cursor_outside_the_grant_is_no_cursor(api: dict[str, Any]) -> None:
    _runs(api, [2, 10])
    with unit_of_work(api["engine"]) as s:
        user = auth.create_user(s, org_id=ORG, actor="test",
                                data=UserIn(username="aud2", password="aud2-password-x", role="auditor"))
        auth.grant_auditor(s, username="aud2", actor="test", data=GrantIn(
            framework="demo", window_from=dt.date(2026, 3, 1), window_to=dt.date(2026, 3, 5),
            expires_at=f.grant_expiry()))
        token = auth.issue_token(s, user_id=user.id, name="t", ttl=dt.timedelta(days=1), actor="t").token
    c, h = api["client"], {"Authorization": f"Bearer {token}"}
    every = c.get("/evaluations", headers=headers(api, "officer")).json()
    outside = next(r["id"] for r in every if r["as_of"].startswith("2026-03-10"))
    inside = next(r["id"] for r in every if r["as_of"].startswith("2026-03-02"))
    assert [r["id"] for r in c.get("/evaluations", headers=h).json()] == [inside]
    refused, unknown = (c.get("/evaluations", headers=h, params={"before": run}) for run in (outside, "R-nope"))
    assert refused.status_code == unknown.status_code == 422
    assert refused.json()["errors"][0]["reason"] == unknown.json()["errors"][0]["reason"]  # the same answer


# --- 3: a record's history says which fields each version changed --------------------------------------------


def test_record_history_gives_the_fields_each_version_changed(api: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "officer")
    first = f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")
    assert c.post("/records", headers=h, json=[f.establishment(), first]).status_code == 200
    assert c.post("/records", headers=h, json=[{**first, "start_at": "2026-02-02T09:00:00-06:00"}]
                  ).status_code == 200
    history = c.get("/records/employment_episode/EP1/history", headers=h)
    assert history.status_code == 200, history.text
    assert [(v["version"], v["changed"]) for v in history.json()] == [(1, []), (2, ["start_at"])]


# --- 4: a ruleset's checks name frameworks, not the server's folders -------------------------------------------


def test_checks_of_an_unknown_framework_are_a_404_naming_the_known_ones_without_a_path(api: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "liaison")
    for method in ("get", "post"):
        r = getattr(c, method)("/rulesets/nope/checks", headers=h)
        assert r.status_code == 404, r.text
        said = str({k: v for k, v in r.json().items() if k != "instance"})  # the instance is the request's URL
        assert "demo" in said and "rulesets/" not in said and "/tmp" not in said, said
    assert c.get("/rulesets/demo/checks", headers=h).status_code == 200
