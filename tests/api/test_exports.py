"""`GET /findings/export.csv` and `GET /tasks/export.csv`: the list a compliance officer filtered, as
a CSV download; an auditor gets the grant's findings (pseudonymised where the grant says so), staff
their own tasks; a filter that can never match is the list's 422; and `GET /tasks?severity=`."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from httpx import Response

from engine import clock
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.db import unit_of_work
from engine.findings import export as findings_export
from engine.tasks import export as tasks_export
from tests import factories as f
from tests.api.conftest import ORG, headers

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def practice(api: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Two sites: three untrained new hires (high) and two record exports naming patients PT1 and PT2
    (medium), each with its SOP task; two more auditors: `auditor_e1` (site E1 only) and `pseudo`
    (patients pseudonymised)."""
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)
    c, officer = api["client"], headers(api, "officer")
    with clock.frozen(NOW):
        records = [f.establishment("E1"), f.establishment("E2", tz="America/New_York", state="NY"),
                   f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
                   f.episode("EP2", "P2", "2026-02-02T09:00:00-06:00"),
                   f.episode("EP3", "P3", "2026-02-05T09:00:00-05:00", est="E2"),
                   f.access("AE1", "U1", "PT1", "2026-03-02T10:00:00-06:00", action="export"),
                   f.access("AE2", "U2", "PT2", "2026-03-03T10:00:00-06:00", action="export")]
        assert c.post("/records", headers=officer, json={"records": records}).status_code == 200
        for name, grant in (("auditor_e1", {"establishments": ["E1"]}), ("pseudo", {"phi": "pseudonymised"})):
            with unit_of_work(api["engine"]) as s:
                user = auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
                    username=name, password=f"{name}-password", role="auditor"))
                auth.grant_auditor(s, username=name, actor="test", data=GrantIn(
                    framework="demo", window_from=dt.date(2026, 1, 1), window_to=dt.date(2026, 12, 31),
                    expires_at=f.grant_expiry(), **grant))
                api["tokens"][name] = auth.issue_token(  # type: ignore[index]
                    s, user_id=user.id, name="t", ttl=dt.timedelta(days=1), actor="t").token
        run = c.post("/evaluations", headers=officer, json={"as_of": NOW.isoformat()})
        assert run.status_code == 201, run.text
    return api


def _get(api: dict[str, Any], role: str, path: str, **params: str) -> Response:
    with clock.frozen(NOW):
        return api["client"].get(path, headers=headers(api, role), params=params)  # type: ignore[no-any-return]


def _rows(r: Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    return list(csv.DictReader(io.StringIO(r.text, newline="")))


def _ids(api: dict[str, Any], role: str, path: str, **params: str) -> list[str]:
    r = _get(api, role, path, limit="1000", **params)
    assert r.status_code == 200, r.text
    return [x["id"] for x in r.json()["items"]]


def test_the_findings_csv_is_a_download_of_the_filtered_list(practice: dict[str, Any]) -> None:
    r = _get(practice, "officer", "/findings/export.csv")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="findings-clinic-a-2026-03-10.csv"'
    assert r.headers["cache-control"] == "no-store"
    assert r.text.startswith(",".join(findings_export.COLUMNS) + "\r\n")
    assert [x["id"] for x in _rows(r)] == _ids(practice, "officer", "/findings") and len(_rows(r)) == 5
    for params in ({"severity": "high", "sort": "due"}, {"establishment": "E2"}, {"org_wide": "true"},
                   {"state": "all", "sort": "severity"},
                   {"subject": "access_event/AE1,EP2", "rule": "DEMO-EXPORT-002"}):
        expected = _ids(practice, "officer", "/findings", **params)
        assert expected, params
        assert [x["id"] for x in _rows(_get(practice, "officer", "/findings/export.csv", **params))] == expected, params


@pytest.mark.parametrize("params", [{"severity": "urgent"}, {"state": "open,closed"}, {"establishment": "E9"},
                                    {"sort": "oldest"}, {"org_wide": "true", "establishment": "E1"},
                                    {"framework": ""}, {"severity": "high", "rule": "NOPE-1"}])
def test_a_filter_the_list_refuses_the_export_refuses_the_same_way(practice: dict[str, Any],
                                                                   params: dict[str, str]) -> None:
    listed = _get(practice, "officer", "/findings", **params)
    exported = _get(practice, "officer", "/findings/export.csv", **params)
    assert listed.status_code == exported.status_code == 422, exported.text
    assert exported.headers["content-type"].startswith("application/problem+json")
    said = exported.json()
    assert (said["detail"], said["errors"]) == (listed.json()["detail"], listed.json()["errors"])


def test_the_export_has_no_pages(practice: dict[str, Any]) -> None:
    for params in ({"limit": "10"}, {"cursor": "x"}):
        r = _get(practice, "officer", "/findings/export.csv", **params)
        assert r.status_code == 422 and r.json()["code"] == "input.unknown_parameter", r.text


def test_an_auditor_exports_the_grant_only(practice: dict[str, Any]) -> None:
    rows = _rows(_get(practice, "auditor_e1", "/findings/export.csv", state="all"))
    assert {r["establishment_id"] for r in rows} == {"E1"} and len(rows) == 2
    assert [r["id"] for r in rows] == _ids(practice, "auditor_e1", "/findings", state="all")
    refused = _get(practice, "auditor_e1", "/findings/export.csv", establishment="E2")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied.outside_grant"
    assert _get(practice, "staff", "/findings/export.csv").status_code == 403


def test_a_pseudonymised_auditor_exports_no_patient_identifier(practice: dict[str, Any]) -> None:
    rows = _rows(_get(practice, "pseudo", "/findings/export.csv", rule="DEMO-EXPORT-002"))
    listed = _get(practice, "pseudo", "/findings", rule="DEMO-EXPORT-002").json()["items"]
    assert [r["message"] for r in rows] == [x["message"] for x in listed]
    assert len(rows) == 2 and all("PSN-" in r["message"] for r in rows)
    text = _get(practice, "pseudo", "/findings/export.csv").text
    assert "PT1" not in text and "PT2" not in text
    clear = _rows(_get(practice, "auditor", "/findings/export.csv", rule="DEMO-EXPORT-002"))
    assert {r["message"] for r in clear} == {"U1 exported PT1.", "U2 exported PT2."}  # phi: full, as stored


def test_the_tasks_csv_is_the_filtered_list_and_staff_get_their_own(practice: dict[str, Any]) -> None:
    r = _get(practice, "officer", "/tasks/export.csv")
    assert r.headers["content-disposition"] == 'attachment; filename="tasks-clinic-a-2026-03-10.csv"'
    assert r.text.startswith(",".join(tasks_export.COLUMNS) + "\r\n")
    assert [x["id"] for x in _rows(r)] == _ids(practice, "officer", "/tasks") and len(_rows(r)) == 5
    for params in ({"severity": "high"}, {"severity": "high", "overdue": "true"}, {"owner": "P-HR1,P-CO"},
                   {"establishment": "E2", "state": "open"}):
        expected = _ids(practice, "officer", "/tasks", **params)
        assert expected, params
        assert [x["id"] for x in _rows(_get(practice, "officer", "/tasks/export.csv", **params))] == expected
    assert {x["severity"] for x in _get(practice, "officer", "/tasks", severity="high").json()["items"]} == {"high"}

    assert _rows(_get(practice, "staff", "/tasks/export.csv")) == []  # `staff` owns nothing yet
    task = _ids(practice, "officer", "/tasks", owner="P-HR2")[0]
    with clock.frozen(NOW):
        given = practice["client"].post(f"/tasks/{task}/assign", headers=headers(practice, "officer"),
                                        json={"owner": "staff"})
    assert given.status_code == 200, given.text
    assert [x["id"] for x in _rows(_get(practice, "staff", "/tasks/export.csv"))] == [task]
    mine = _get(practice, "staff", "/tasks/export.csv", owner="P-HR1")
    assert mine.status_code == 422 and "is not you" in mine.json()["errors"][0]["reason"]
    assert _get(practice, "auditor", "/tasks/export.csv").status_code == 403


def test_a_task_severity_the_list_refuses_the_export_refuses_the_same_way(practice: dict[str, Any]) -> None:
    listed = _get(practice, "officer", "/tasks", severity="high,urgent")
    exported = _get(practice, "officer", "/tasks/export.csv", severity="high,urgent")
    assert listed.status_code == exported.status_code == 422
    (error,) = exported.json()["errors"]
    assert error["field"] == "severity" and error["reason"].startswith("'urgent' is not a task severity")
    assert exported.json()["errors"] == listed.json()["errors"]


def test_the_openapi_document_states_the_exports(practice: dict[str, Any]) -> None:
    paths = practice["client"].get("/openapi.json").json()["paths"]
    for path, permission in (("/findings/export.csv", "findings.read"), ("/tasks/export.csv", "tasks.read")):
        op = paths[path]["get"]
        assert op["x-permission"] == permission and f"`{permission}`" in op["description"]
        assert list(op["responses"]["200"]["content"]) == ["text/csv"]
    names = {p["name"] for p in paths["/findings/export.csv"]["get"]["parameters"]}
    assert names == {p["name"] for p in paths["/findings"]["get"]["parameters"]} - {"limit", "cursor"}
    names = {p["name"] for p in paths["/tasks/export.csv"]["get"]["parameters"]}
    assert "severity" in names and names == {p["name"] for p in paths["/tasks"]["get"]["parameters"]} - {
        "limit", "cursor"}
