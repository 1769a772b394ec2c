"""REST routes for tasks: every route declares a TASKS_* permission; staff see and act on their own tasks
only; completion, notes, checklist, multipart evidence upload and download, reassignment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from engine import clock, pipeline
from engine.api import errors
from engine.api.deps import route_permission
from engine.api.routes import tasks as task_routes
from engine.auth import service as auth
from engine.auth.schemas import UserIn
from engine.db import unit_of_work
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ORG = "clinic-api"
PDF = b"%PDF-1.4\n% test evidence\n"


@pytest.fixture
def api(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(tmp_path / "evidence"))
    tokens = {}
    with unit_of_work(sqlite_engine) as s:
        for name, role, person in (("officer", "officer", None), ("hr1", "staff", "P-HR1"),
                                   ("hr2", "staff", "P-HR2"), ("liaison", "liaison", None)):
            user = auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
                username=name, password=f"{name}-password!", role=role, person_id=person))
            tokens[name] = auth.issue_token(s, user_id=user.id, name="t", ttl=dt.timedelta(days=1), actor="t").token
        pipeline.ingest_records(s, org_id=ORG, records=[
            f.establishment(), f.establishment("E2"), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
            f.episode("EP2", "P2", "2026-02-01T09:00:00-06:00", est="E2")], actor="t", source="t", stream=False)
    with clock.frozen(dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)), unit_of_work(sqlite_engine) as s:
        pipeline.evaluate(s, org_id=ORG, as_of=clock.now(), actor="t")
    app = FastAPI()
    errors.install(app)
    app.state.engine = sqlite_engine
    app.include_router(task_routes.router)
    yield {"client": TestClient(app), "tokens": tokens, "app": app}


def _h(api: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api['tokens'][who]}"}


def test_every_task_route_declares_a_tasks_permission(api: dict[str, Any]) -> None:
    perms = {(tuple(sorted(r.methods)), r.path): route_permission(r) for r in task_routes.router.routes}
    assert len(perms) == 8 and all(p is not None and p.startswith("tasks.") for p in perms.values())
    assert perms[(("POST",), "/tasks/{task_id}/assign")] == "tasks.manage"


def test_staff_see_and_act_on_their_own_tasks_only(api: dict[str, Any]) -> None:
    c = api["client"]
    everyone = c.get("/tasks", headers=_h(api, "officer")).json()
    mine = c.get("/tasks", headers=_h(api, "hr1")).json()
    assert everyone["total"] == 2 and [t["owner"] for t in mine["items"]] == ["P-HR1"]
    other = next(t for t in everyone["items"] if t["owner"] == "P-HR2")
    assert {"id", "finding_id", "title", "owner", "due", "state"} <= set(other)
    assert c.get(f"/tasks/{other['id']}", headers=_h(api, "hr1")).status_code == 404
    assert c.post(f"/tasks/{other['id']}/complete", headers=_h(api, "hr1"), json={}).status_code == 404
    assert c.post(f"/tasks/{other['id']}/notes", headers=_h(api, "hr1"), json={"text": "x"}).status_code == 404
    assert c.get("/tasks", headers=_h(api, "liaison")).status_code == 403
    assert c.post(f"/tasks/{other['id']}/assign", headers=_h(api, "hr2"), json={"owner": "P-HR2"}).status_code == 403
    moved = c.post(f"/tasks/{other['id']}/assign", headers=_h(api, "officer"), json={"owner": "P-HR1"})
    assert moved.status_code == 200 and moved.json()["owner"] == "P-HR1"
    assert c.get("/tasks", headers=_h(api, "hr1")).json()["total"] == 2


def test_complete_note_check_attach_and_download(api: dict[str, Any]) -> None:
    c = api["client"]
    task = c.get("/tasks", headers=_h(api, "hr1")).json()["items"][0]
    url = f"/tasks/{task['id']}"
    checked = c.post(f"{url}/checklist/0", headers=_h(api, "hr1"), json={"done": True}).json()
    assert checked["checklist"][0]["done"] and checked["checklist"][0]["done_by"] == "user:hr1"
    assert c.post(f"{url}/notes", headers=_h(api, "hr1"), json={"text": "booked"}).status_code == 201
    up = c.post(f"{url}/attachments", headers=_h(api, "hr1"), data={"note": "certificate"},
                files={"file": ("certificate.png", PDF, "image/png")})  # name and claimed type both lie
    assert up.status_code == 201, up.text
    att = up.json()
    assert att["media_type"] == "application/pdf" and att["attached_by"] == "user:hr1" and att["size"] == len(PDF)
    down = c.get(f"{url}/attachments/{att['sha256']}", headers=_h(api, "hr1"))
    assert down.status_code == 200 and down.content == PDF and down.headers["content-type"] == "application/pdf"
    assert c.get(f"{url}/attachments/{'0' * 64}", headers=_h(api, "hr1")).status_code == 404
    done = c.post(f"{url}/complete", headers=_h(api, "hr1"), json={"note": "done"})
    assert done.status_code == 200 and done.json()["state"] == "done"
    again = c.post(f"{url}/complete", headers=_h(api, "hr1"), json={})
    assert again.status_code == 409 and again.json()["code"] == "conflict.task_transition"
    detail = c.get(url, headers=_h(api, "officer")).json()
    assert [n["text"] for n in detail["notes"]] == ["booked", "done"]
    assert [a["sha256"] for a in detail["attachments"]] == [att["sha256"]]
