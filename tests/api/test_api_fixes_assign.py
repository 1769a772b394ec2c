"""Work goes only to someone whose role can do it: a task given to a liaison answered 200, and the
liaison then got 403 "role liaison may not tasks.read" opening it; a finding given to a liaison
(who may not findings.update) was accepted too. The API and the CLI refuse it as they refuse an
auditor, saying what the role lacks."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

import engine.cli.findings  # noqa: F401  (registers the commands)
import engine.cli.tasks  # noqa: F401
from engine.auth import people
from engine.auth.roles import ROLES, Permission, allowed
from engine.cli.app import app as cli
from tests.api import test_input_hardening
from tests.api.conftest import ORG, headers

world = test_input_hardening.world  # the fixture: a finding of EP1 and its task


def test_a_task_is_not_given_to_a_liaison_who_could_never_open_it(world: dict[str, Any]) -> None:
    c, h, task = world["client"], world["h"], world["task"]
    r = c.post(f"/tasks/{task['id']}/assign", headers=h, json={"owner": "liaison"})
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == "owner" and r.json()["code"] == "input.owner"
    assert "liaison is a liaison, whose role may not open tasks or work on tasks" in error["reason"], error
    assert "(admin, officer, staff)" in error["reason"]
    assert c.get(f"/tasks/{task['id']}", headers=h).json()["owner"] == task["owner"]  # unchanged
    assert c.post(f"/tasks/{task['id']}/assign", headers=h, json={"owner": "staff"}).status_code == 200


def test_a_finding_is_not_given_to_a_liaison_but_is_to_staff_through_its_task(world: dict[str, Any]) -> None:
    c, h, fnd, task = world["client"], world["h"], world["finding"], world["task"]
    r = c.post(f"/findings/{fnd['id']}/assign", headers=h, json={"assignee": "liaison"})
    assert r.status_code == 422 and r.json()["code"] == "input.assignee", r.text
    reason = r.json()["errors"][0]["reason"]
    assert "may not act on findings, nor open tasks or work on tasks" in reason, reason
    assert c.get(f"/findings/{fnd['id']}", headers=h).json()["assignee"] is None
    assert c.get(f"/tasks/{task['id']}", headers=h).json()["owner"] == task["owner"]  # its task did not move
    # staff act on a finding through its tasks, which move to them
    assert c.post(f"/findings/{fnd['id']}/assign", headers=h, json={"assignee": "staff"}).status_code == 200
    assert c.get(f"/tasks/{task['id']}", headers=headers(world, "staff")).json()["owner"] == "staff"


def test_the_person_a_liaisons_account_stands_for_is_refused_too(world: dict[str, Any]) -> None:
    """A user and the person they are linked to are one owner (docs/tasks.md)."""
    from engine.auth import service as auth
    from engine.auth.schemas import UserIn
    from engine.db import unit_of_work

    with unit_of_work(world["engine"]) as s:
        auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
            username="rl", password="rl-password-long", role="liaison", person_id="P-MGR"))
    r = world["client"].post(f"/tasks/{world['task']['id']}/assign", headers=world["h"], json={"owner": "P-MGR"})
    assert r.status_code == 422 and "rl is a liaison" in r.json()["errors"][0]["reason"], r.text


@pytest.mark.parametrize("command", [["tasks", "assign"], ["findings", "assign"]])
def test_the_cli_refuses_the_same(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                  command: list[str]) -> None:
    monkeypatch.setenv("VIGIL_ORG", ORG)
    target = world["task"]["id"] if command[0] == "tasks" else world["finding"]["id"]
    result = CliRunner(env={"COLUMNS": "250"}).invoke(
        cli, [*command, target, "liaison", "--db", world["engine"].url.render_as_string(hide_password=False)])
    assert result.exit_code == 2, result.output
    assert "liaison is a liaison, whose role may not" in " ".join(result.output.split()), result.output


def test_who_can_do_the_work_follows_the_role_table() -> None:
    """From ROLE_PERMISSIONS, not a list of role names: a role that gains tasks.update can own tasks."""
    for role in ROLES:
        task = allowed(role, Permission.TASKS_READ) and allowed(role, Permission.TASKS_UPDATE)
        finding = task or allowed(role, Permission.FINDINGS_UPDATE)
        assert people.can_do(role, "task") is (task and role != "auditor"), role
        assert people.can_do(role, "finding") is (finding and role != "auditor"), role
    assert [r for r in ROLES if people.can_do(r, "task")] == ["admin", "officer", "staff"]
    assert not people.can_do("liaison", "finding") and not people.can_do("auditor", "finding")


def _policies_with(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, extra: str) -> None:
    """The fixture policies with `extra` roles added to roles.yaml."""
    import shutil
    from pathlib import Path

    src = Path(test_input_hardening.FIXTURES / "policies")
    dst = tmp_path / "policies-role"
    shutil.copytree(src, dst)
    (dst / "roles.yaml").write_text((src / "roles.yaml").read_text(encoding="utf-8") + extra, encoding="utf-8")
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(dst))


def test_a_finding_given_to_a_role_held_by_nobody_there_is_refused(world: dict[str, Any], tmp_path: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Given to a role, the open task goes to the role's holder at the establishment (E1); a role with
    nobody at E1 had left the finding with the role and the task with its old owner: refused instead."""
    _policies_with(tmp_path, monkeypatch, "  dpo: {E2: P-DPO}\n")
    c, h, fnd, task = world["client"], world["h"], world["finding"], world["task"]
    r = c.post(f"/findings/{fnd['id']}/assign", headers=h, json={"assignee": "dpo"})
    assert r.status_code == 422 and r.json()["code"] == "input.assignee", r.text
    assert "gives the role dpo to nobody at establishment E1" in r.json()["errors"][0]["reason"], r.text
    assert c.get(f"/findings/{fnd['id']}", headers=h).json()["assignee"] is None  # nothing half-done
    assert c.get(f"/tasks/{task['id']}", headers=h).json()["owner"] == task["owner"]


def test_the_cli_hands_the_task_to_the_roles_holder(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_ORG", ORG)
    result = CliRunner(env={"COLUMNS": "250"}).invoke(cli, [
        "findings", "assign", world["finding"]["id"], "role:safety_lead",
        "--db", world["engine"].url.render_as_string(hide_password=False)])
    assert result.exit_code == 0, result.output
    moved = world["client"].get(f"/tasks/{world['task']['id']}", headers=world["h"]).json()
    assert moved["owner"] == "P-SAFE" and moved["owner_via"].startswith("reassigned by"), moved
    assert moved["history"][-1]["kind"] == "reassigned", moved["history"]


def test_findings_are_found_by_whom_they_are_assigned_to(world: dict[str, Any]) -> None:
    """Large-practice probe (session 42): `/findings?assignee=P-0002` was a 422 and the web page
    ignored it, listing every finding."""
    c, h, fnd = world["client"], world["h"], world["finding"]

    def ids(value: str) -> list[str]:
        r = c.get("/findings", headers=h, params={"assignee": value})
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["items"]]

    assert ids("none") == [fnd["id"]] and ids("staff") == []
    assert fnd["id"] in c.get("/ui/findings", headers=h, params={"assignee": "none"}).text
    assert c.post(f"/findings/{fnd['id']}/assign", headers=h, json={"assignee": "staff"}).status_code == 200
    assert ids("staff") == [fnd["id"]] and ids("none") == [] and ids("staff,officer") == [fnd["id"]]
    refused = c.get("/findings", headers=h, params={"assignee": "nobody-at-all"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "assignee", refused.text
    page = c.get("/ui/findings", headers=h, params={"assignee": "none"})
    assert page.status_code == 200 and fnd["id"] not in page.text



def test_state_all_means_every_state_as_the_cli_says_it(world: dict[str, Any]) -> None:
    """A PostgreSQL parity pass (session 42): `GET /findings?state=all` was a 422 while `vigil findings
    list --state all` listed every state."""
    c, h = world["client"], world["h"]
    every = c.get("/findings", headers=h).json()["total"]
    assert c.get("/findings", headers=h, params={"state": "all"}).json()["total"] == every
