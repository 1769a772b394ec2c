"""GET /reports/ita-300a and /reports/qpp: who may read them, an auditor's grant, and the bodies."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from engine import clock
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.db import unit_of_work
from tests.api.conftest import ORG, headers
from tests.conftest import REPO
from tests.factories import grant_expiry
from tests.storage.test_reports import NOW, RECORDS, TIN


@pytest.fixture
def rep(api: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The report practice with the shipped rulesets, and three more auditors: osha 2025 (every
    establishment), osha E2 only, cms 2025."""
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(REPO / "rulesets"))
    with clock.frozen(NOW):
        r = api["client"].post("/records", headers=headers(api, "officer"), json={"records": RECORDS})
        assert r.status_code == 200, r.text
        with unit_of_work(api["engine"]) as s:
            for name, framework, ests in (("aud_osha", "osha", None), ("aud_e2", "osha", ["E2"]),
                                          ("aud_cms", "cms", None)):
                user = auth.create_user(s, org_id=ORG, actor="t", data=UserIn(
                    username=name, password=f"{name}-password", role="auditor"))
                auth.grant_auditor(s, username=name, actor="t", data=GrantIn(
                    framework=framework, window_from=dt.date(2025, 1, 1), window_to=dt.date(2025, 12, 31),
                    establishments=ests, expires_at=grant_expiry()))
                api["tokens"][name] = auth.issue_token(s, user_id=user.id, name="t", ttl=dt.timedelta(days=1),
                                                       actor="t").token
    return api


def _get(api: dict[str, Any], role: str, path: str, **params: Any) -> Any:
    with clock.frozen(NOW):
        return api["client"].get(path, headers=headers(api, role), params=params)


def test_officer_and_admin_read_both_reports(rep: dict[str, Any]) -> None:
    for role in ("officer", "admin"):
        r = _get(rep, role, "/reports/ita-300a", year=2025)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["establishment_ids"] == ["E1", "E2"] and body["ready"] is False and body["notes"]
        assert [n["establishment_id"] for n in body["notes"] if "Forms 300 and 301 is owed" in n["reason"]] == ["E2"]
        assert [row["establishment_name"] for row in csv.DictReader(io.StringIO(body["csv"]))] == [
            "Clinic E1", "Clinic E2"]
        r = _get(rep, role, "/reports/qpp", year=2025, tin=TIN)
        assert r.status_code == 200 and r.json()["submission"]["taxpayerIdentificationNumber"] == TIN
    r = _get(rep, "officer", "/reports/ita-300a", year=2025, format="csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.startswith("establishment_name,ein,company_name,")


@pytest.mark.parametrize("role", ["staff", "liaison"])
def test_staff_and_liaison_are_refused(rep: dict[str, Any], role: str) -> None:
    assert _get(rep, role, "/reports/ita-300a", year=2025).status_code == 403
    assert _get(rep, role, "/reports/qpp", year=2025, tin=TIN).status_code == 403


def _outside(r: Any) -> list[dict[str, Any]]:
    """The errors of a 403 `permission_denied.outside_grant`, the answer findings and packets give too."""
    assert r.status_code == 403 and r.json()["code"] == "permission_denied.outside_grant", r.text
    return list(r.json()["errors"])


def test_an_auditor_reads_only_the_granted_framework_window_and_establishments(rep: dict[str, Any]) -> None:
    """Outside the grant the answer had been a 404 "no osha report for 2025" whose errors said "outside
    the audit grant", where the findings and packets answer 403 `permission_denied.outside_grant`."""
    framework, window = _outside(_get(rep, "auditor", "/reports/ita-300a", year=2025))  # granted: demo, from 2026
    assert framework == {"reason": "the report is of osha, outside your grant (demo)"}  # the route has no framework
    assert window["field"] == "year" and window["reason"].startswith("2025 is outside your audit window (")
    _outside(_get(rep, "auditor", "/reports/qpp", year=2025, tin=TIN))
    r = _get(rep, "aud_osha", "/reports/ita-300a", year=2025)
    assert r.status_code == 200 and r.json()["establishment_ids"] == ["E1", "E2"]
    (window,) = _outside(_get(rep, "aud_osha", "/reports/ita-300a", year=2024))  # outside the window
    assert window["field"] == "year" and window["reason"].startswith("2024 is outside your audit window (")
    _outside(_get(rep, "aud_osha", "/reports/qpp", year=2025, tin=TIN))
    r = _get(rep, "aud_e2", "/reports/ita-300a", year=2025)
    assert r.status_code == 200 and r.json()["establishment_ids"] == ["E2"] and "Clinic E1" not in r.text
    assert _outside(_get(rep, "aud_e2", "/reports/ita-300a", year=2025, establishment="E1")) == [
        {"reason": "your grant names E2", "field": "establishment"}]
    assert _get(rep, "aud_cms", "/reports/qpp", year=2025, tin=TIN).status_code == 200
    _outside(_get(rep, "aud_cms", "/reports/ita-300a", year=2025))


def test_bad_input_is_422(rep: dict[str, Any]) -> None:
    for path, params in (("/reports/ita-300a", {"year": 2025, "establishment": "NOPE"}),
                         ("/reports/ita-300a", {"year": 2030}), ("/reports/ita-300a", {}),
                         ("/reports/qpp", {"year": 2025, "tin": "12-3"}), ("/reports/qpp", {"year": 2024, "tin": TIN})):
        r = _get(rep, "officer", path, **params)
        assert r.status_code == 422, (path, params, r.text)


def test_a_performance_year_before_mips_is_422_naming_year(rep: dict[str, Any]) -> None:
    r = _get(rep, "officer", "/reports/qpp", year=2016, tin=TIN)
    assert r.status_code == 422, r.text
    assert "MIPS" in r.text and [e.get("field") for e in r.json().get("errors", [])] == ["year"]
