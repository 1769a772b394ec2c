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
    assert len(perms) == 9 and all(p is not None and p.startswith("tasks.") for p in perms.values())
    assert perms[(("GET",), "/tasks/export.csv")] == "tasks.read"
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
    checked = c.post(f"{url}/steps/1", headers=_h(api, "hr1"), json={"done": True}).json()
    assert checked["checklist"][0]["done"] and checked["checklist"][0]["done_by"] == "user:hr1"
    assert c.post(f"{url}/notes", headers=_h(api, "hr1"), json={"text": "booked"}).status_code == 201
    up = c.post(f"{url}/attachments", headers=_h(api, "hr1"), data={"note": "certificate"},
                files={"file": ("certificate.png", PDF, "image/png")})  # name and claimed type both lie
    assert up.status_code == 201, up.text
    att = up.json()
    assert att["media_type"] == "application/pdf" and att["attached_by"] == "user:hr1" and att["size"] == len(PDF)
    down = c.get(f"{url}/attachments/{att['sha256']}", headers=_h(api, "hr1"))
    assert down.status_code == 200 and down.content == PDF and down.headers["content-type"] == "application/pdf"
    # opened in a browser, an attachment runs nothing (a security pass, session 42)
    assert down.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert c.get(f"{url}/attachments/{'0' * 64}", headers=_h(api, "hr1")).status_code == 404
    done = c.post(f"{url}/complete", headers=_h(api, "hr1"), json={"note": "done"})
    assert done.status_code == 200 and done.json()["state"] == "done"
    again = c.post(f"{url}/complete", headers=_h(api, "hr1"), json={})
    assert again.status_code == 409 and again.json()["code"] == "conflict.task_transition"
    detail = c.get(url, headers=_h(api, "officer")).json()
    assert [n["text"] for n in detail["notes"]] == ["booked", "done"]
    assert [a["sha256"] for a in detail["attachments"]] == [att["sha256"]]


def test_the_owner_filter_takes_a_username_as_well_as_a_person_id(api: dict[str, Any]) -> None:
    """Probe: `owner=staff` found nothing although staff (person P-0001) owned 18 tasks."""
    c = api["client"]
    by_person = c.get("/tasks", headers=_h(api, "officer"), params={"owner": "P-HR1"}).json()
    by_name = c.get("/tasks", headers=_h(api, "officer"), params={"owner": "hr1"}).json()
    assert by_name["total"] == by_person["total"] == 1 and by_name["items"] == by_person["items"]
    both = c.get("/tasks", headers=_h(api, "officer"), params={"owner": "hr1,P-HR2"}).json()
    assert sorted(t["owner"] for t in both["items"]) == ["P-HR1", "P-HR2"]
    assert "username" in c.get("/openapi.json").json()["paths"]["/tasks"]["get"]["parameters"][1]["description"]


def test_checklist_steps_are_numbered_from_1(api: dict[str, Any]) -> None:
    """Probe: an error said `no checklist step 99 (0..4)` while the page numbers the steps 1..5."""
    c = api["client"]
    task = c.get("/tasks", headers=_h(api, "hr1")).json()["items"][0]
    url = f"/tasks/{task['id']}"
    assert [i["step"] for i in task["checklist"]] == [1, 2, 3]
    ticked = c.post(f"{url}/steps/3", headers=_h(api, "hr1")).json()
    assert [i["done"] for i in ticked["checklist"]] == [False, False, True]
    assert ticked["history"][-1]["reason"].startswith("step 3 done: ")
    untick = c.post(f"{url}/steps/3", headers=_h(api, "hr1"), json={"done": False}).json()
    assert not untick["checklist"][2]["done"]
    beyond = c.post(f"{url}/steps/4", headers=_h(api, "hr1"))
    assert beyond.status_code == 422 and beyond.json()["detail"] == "no checklist step 4"
    assert beyond.json()["errors"] == [{"field": "step", "reason": "the steps are 1..3"}]
    assert c.post(f"{url}/steps/0", headers=_h(api, "hr1")).status_code == 422
    assert c.post(f"{url}/checklist/0", headers=_h(api, "hr1")).status_code == 404  # the 0-based route is gone
    doc = c.get("/openapi.json").json()["paths"]["/tasks/{task_id}/steps/{step}"]["post"]
    step = next(p for p in doc["parameters"] if p["name"] == "step")
    assert "1..N" in step["description"] and step["schema"]["minimum"] == 1


def test_an_executable_attachment_is_refused_naming_its_type_once(api: dict[str, Any]) -> None:
    """Probe: `executable content (application/x-msdownload) is not kept as evidence (application/x-msdownload)`."""
    c = api["client"]
    task = c.get("/tasks", headers=_h(api, "hr1")).json()["items"][0]
    r = c.post(f"/tasks/{task['id']}/attachments", headers=_h(api, "hr1"),
               files={"file": ("invoice.pdf", b"MZ\x90\x00" * 8, "application/pdf")})
    problem = r.json()
    assert r.status_code == 422 and problem["code"] == "evidence.type_refused"
    assert (problem["detail"] + str(problem["errors"])).count("application/x-msdownload") == 1


def test_a_username_that_is_a_persons_id_needs_the_link_to_that_person(api: dict[str, Any],
                                                                       sqlite_engine: Engine) -> None:
    """Tasks are owned by a person id or a username: an unlinked account named after a person would
    see and act on all of that person's tasks."""
    from engine.errors import InputError

    with unit_of_work(sqlite_engine) as s, pytest.raises(InputError, match="is the id of a person") as refused:
        auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
            username="P-HR2", password="p1-password-long!", role="staff"))
    assert refused.value.details[0].field == "username"
    with unit_of_work(sqlite_engine) as s:
        user = auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
            username="P-HR2", password="p1-password-long!", role="staff", person_id="P-HR2"))
        assert user.person_id == "P-HR2"


def test_usernames_are_told_apart_without_case_and_none_reads_as_a_persons_id(sqlite_engine: Engine,
                                                                              api: dict[str, Any]) -> None:
    """Probe: 'OFFICER' was created beside 'officer', and 'p-hr2' beside person P-HR2: work given to
    the look-alike went to another account. An existing username is 'taken' before anything else."""
    from engine.errors import ConflictError, InputError

    def add(username: str, person_id: str | None = None) -> Any:
        with unit_of_work(sqlite_engine) as s:
            return auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
                username=username, password="a-long-password-9!", role="staff", person_id=person_id))

    with pytest.raises(ConflictError, match="user 'OFFICER' exists as 'officer'") as taken:
        add("OFFICER")
    assert taken.value.details[0].field == "username" and "without regard to case" in taken.value.details[0].reason
    with pytest.raises(ConflictError, match="user 'hr1' exists\n"):
        add("hr1", person_id="P-HR1")
    with pytest.raises(InputError, match="username 'p-hr2' reads as person P-HR2") as like:
        add("p-hr2")
    assert like.value.details[0].field == "username"
    assert add("p-hr2", person_id="P-HR2").person_id == "P-HR2"  # theirs, linked: allowed


def test_two_files_in_one_attachment_request_are_refused_and_neither_is_kept(api: dict[str, Any]) -> None:
    """A repeated part had been bound to the last one: one file stored, the other lost, 201."""
    c = api["client"]
    task = c.get("/tasks", headers=_h(api, "hr1")).json()["items"][0]
    url = f"/tasks/{task['id']}/attachments"
    two = c.post(url, headers=_h(api, "hr1"), files=[("file", ("a.pdf", PDF, "application/pdf")),
                                                     ("file", ("b.pdf", PDF + b"b", "application/pdf"))])
    assert two.status_code == 422, two.text
    assert two.json()["errors"][0]["field"] == "file" and "2 times" in two.json()["errors"][0]["reason"]
    assert c.get(f"/tasks/{task['id']}", headers=_h(api, "hr1")).json()["attachments"] == []


def test_a_username_another_practice_holds_is_taken_without_naming_it(sqlite_engine: Any) -> None:
    """Ops probe: north's admin learnt from "user 'bob' exists" that south has a bob, while GET
    /users/bob/tokens answered 404 "no user"."""
    from engine.errors import ConflictError

    for org, name in (("south", "bob"), ("north", "BOB")):
        try:
            with unit_of_work(sqlite_engine) as s:
                auth.create_user(s, org_id=org, actor="test", data=UserIn(
                    username=name, password="a-long-password-9!", role="staff"))
        except ConflictError as exc:
            assert org == "north" and str(exc).startswith("username 'BOB' is taken")
            assert "bob" not in str(exc).replace("BOB", "") and "exists" not in str(exc)
            return
    raise AssertionError("north's BOB was created beside south's bob")
