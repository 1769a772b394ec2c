"""The liaison's writes over REST: publish a version with an effective date, withdraw one, roll a
framework back, change a practice parameter; each recorded in the audit trail, each refusal a 4xx
that says what to fix and writes nothing."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import clock
from tests.api.conftest import headers

NOW = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SCENARIO = """\
name: a new hire untrained after 30 days
framework: demo
records:
  - {type: establishment, id: E1, tz: America/Chicago}
  - {type: employment_episode, id: EP1, person_id: P1, establishment_id: E1, start_at: "2026-02-01T09:00:00-06:00"}
cases:
  - as_of: "2026-03-10T12:00:00Z"
    expect:
      - {rule_id: DEMO-TRN-001, subject: employment_episode/EP1, state: overdue, due: "2026-03-03"}
"""


@pytest.fixture
def liaison(api: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))  # SOP-DEMO's template
    root = Path(os.environ["VIGIL_RULESETS_DIR"])
    api["root"] = root
    api["draft"] = (root / "demo" / "demo-2.0.0.yaml").read_text(encoding="utf-8").replace(
        "version: 2.0.0", "version: 3.0.0")
    with clock.frozen(NOW):
        yield api


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def publish(api: dict[str, Any], text: str, role: str = "liaison", **params: str) -> Any:
    return api["client"].post("/rulesets/publish", headers=headers(api, role) | {"Content-Type": "text/plain"},
                              content=text.encode(), params=params)


def entries(api: dict[str, Any]) -> list[dict[str, Any]]:
    return api["client"].get("/audit/entries", headers=headers(api, "officer"), params={"limit": 50}).json()


def test_a_liaison_publishes_a_version_for_a_later_day(liaison: dict[str, Any]) -> None:
    c = liaison["client"]
    r = publish(liaison, liaison["draft"], effective_from="2027-01-01")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["version"], body["effective_from"], body["replaces"]) == ("3.0.0", "2027-01-01", "2.0.0")
    assert (liaison["root"] / "demo" / "demo-3.0.0.yaml").is_file() and body["path"] == "demo/demo-3.0.0.yaml"
    assert all(not v["path"].startswith("/") for v in c.get("/rulesets", headers=headers(liaison, "auditor")).json())
    listed = {v["version"]: v["status"] for v in c.get("/rulesets", headers=headers(liaison, "liaison")).json()}
    assert listed == {"1.0.0": "ended", "2.0.0": "in force", "3.0.0": "scheduled"}
    last = entries(liaison)[-1]
    assert (last["action"], last["entity_id"], last["actor"]) == ("ruleset.published", "demo@3.0.0", "user:liaison")
    assert last["payload"]["sha256"] == body["sha256"]


@pytest.mark.parametrize("change, query, status, text", [
    (("version: 3.0.0", "version: 2.0.0"), {"effective_from": "2027-01-01"}, 422, "is not above demo 2.0.0"),
    (("", ""), {"effective_from": "2026-11-29"}, 422, "is before today"),
    (("within: {days: params.new_hire_days}", "within: {days: params.nope}"), {}, 422, "unknown parameter"),
    (("sop: SOP-DEMO", "sop: SOP-NOWHERE"), {}, 422, "SOP SOP-NOWHERE has no template"),
    (("framework: demo", "framework: [demo"), {}, 422, "not valid YAML"),
])
def test_a_refused_publication_is_a_422_naming_the_problem_and_writes_nothing(
        liaison: dict[str, Any], change: tuple[str, str], query: dict[str, str], status: int, text: str) -> None:
    before = files(liaison["root"])
    draft = liaison["draft"].replace(*change) if change[0] else liaison["draft"]
    r = publish(liaison, draft, **(query or {"effective_from": "2026-12-01"}))
    assert r.status_code == status, r.text
    assert text in str(r.json()), r.json()
    assert files(liaison["root"]) == before
    assert not [e for e in entries(liaison) if e["action"].startswith("ruleset.")]


def test_withdraw_and_rollback(liaison: dict[str, Any]) -> None:
    c = liaison["client"]
    assert publish(liaison, liaison["draft"], effective_from="2027-01-01").status_code == 201
    r = c.post("/rulesets/demo/3.0.0/withdraw", headers=headers(liaison, "liaison"),
               json={"reason": "the state delayed the rule"})
    assert r.status_code == 200, r.text
    assert r.json()["never_in_force"] is True and r.json()["restores"] == "2.0.0"
    again = c.post("/rulesets/demo/3.0.0/withdraw", headers=headers(liaison, "liaison"), json={"reason": "x"})
    assert again.status_code == 409 and "already withdrawn" in again.json()["detail"]
    # 2.0.0 is the only version in force today: rolling it back would leave nothing
    last = c.post("/rulesets/demo/rollback", headers=headers(liaison, "liaison"), json={"reason": "bad"})
    assert last.status_code == 409 and last.json()["code"] == "ruleset.withdraw.last"
    assert c.post("/rulesets/demo/9.9.9/withdraw", headers=headers(liaison, "liaison"),
                  json={"reason": "x"}).status_code == 404
    assert c.post("/rulesets/demo/rollback", headers=headers(liaison, "liaison"), json={}).status_code == 422
    assert [e["action"] for e in entries(liaison) if e["action"].startswith("ruleset.")] == [
        "ruleset.published", "ruleset.withdrawn"]
    status = {v["version"]: v for v in c.get("/rulesets", headers=headers(liaison, "auditor")).json()}
    assert status["3.0.0"]["status"] == "withdrawn"
    assert status["3.0.0"]["withdrawal_reason"] == "the state delayed the rule"


def test_a_withdrawal_still_to_come_moves_to_another_day(liaison: dict[str, Any]) -> None:
    c, who = liaison["client"], headers(liaison, "liaison")
    assert publish(liaison, liaison["draft"], effective_from="2027-01-01").status_code == 201
    url = "/rulesets/demo/3.0.0/withdraw"
    assert c.post(url, headers=who, json={"reason": "typed 2099", "on": "2099-01-01"}).status_code == 200
    r = c.post(url, headers=who, json={"reason": "meant 2029", "on": "2029-01-01"})
    assert r.status_code == 200, r.text
    assert (r.json()["on"], r.json()["moved_from"], r.json()["restores"]) == ("2029-01-01", "2099-01-01", "2.0.0")
    moves = [e for e in entries(liaison) if e["action"] == "ruleset.withdrawn"]
    assert [e["payload"]["moved_from"] for e in moves] == [None, "2099-01-01"]
    status = {v["version"]: v for v in c.get("/rulesets", headers=who).json()}
    assert status["3.0.0"]["withdrawn_on"] == "2029-01-01" and status["3.0.0"]["withdrawal_reason"] == "meant 2029"
    same = c.post(url, headers=who, json={"reason": "again", "on": "2029-01-01"})
    assert same.status_code == 409 and same.json()["code"] == "ruleset.withdraw.again"


def test_a_practice_parameter_changes_from_a_day_on(liaison: dict[str, Any]) -> None:
    c = liaison["client"]
    url = "/params/demo/new_hire_days"
    r = c.put(url, headers=headers(liaison, "liaison"), json={"value": 5, "effective_from": "2026-12-15",
                                                             "approved_by": "Dr. Rivera", "reason": "policy 4.2"})
    assert r.status_code == 200, r.text
    assert (r.json()["before"], r.json()["value"]) == (10, 5)
    rows = c.get("/params", headers=headers(liaison, "liaison"), params={"framework": "demo"}).json()
    assert [(p["name"], p["value"], p["source"]) for p in rows] == [("new_hire_days", 10, "default")]
    assert rows[0]["scheduled"][0] | {} == {"value": 5, "starts": "2026-12-15", "approved_by": "Dr. Rivera",
                                           "reason": "policy 4.2", "version": None}  # a practice value
    later = c.get("/params", headers=headers(liaison, "auditor"), params={"on": "2026-12-15"}).json()
    assert [(p["name"], p["value"], p["since"]) for p in later] == [("new_hire_days", 5, "2026-12-15")]
    assert entries(liaison)[-1]["action"] == "parameter.changed"
    for body, status, text in (
        ({"value": "five", "approved_by": "a", "reason": "r"}, 422, "'five' is not a whole number"),
        ({"value": 5, "approved_by": "a", "reason": "r", "effective_from": "2026-01-01"}, 422, "before today"),
        ({"value": 5, "reason": "r"}, 422, "approved_by"),
    ):
        bad = c.put(url, headers=headers(liaison, "liaison"), json=body)
        assert bad.status_code == status and text in bad.text, bad.text
    assert c.put("/params/demo/nope", headers=headers(liaison, "liaison"),
                 json={"value": 5, "approved_by": "a", "reason": "r"}).status_code == 404
    assert c.get("/params", headers=headers(liaison, "auditor"), params={"framework": "hipaa"}).status_code == 404


def test_every_problem_of_a_parameter_change_is_said_at_once(liaison: dict[str, Any]) -> None:
    """The black-box pass: a day in the past was the only problem said of `{"value": -5,
    "effective_from": "2020-01-01"}`; the value no version takes was told only once the day was mended."""
    r = liaison["client"].put("/params/demo/new_hire_days", headers=headers(liaison, "liaison"),
                              json={"value": "five", "effective_from": "2020-01-01", "approved_by": " ", "reason": "r"})
    assert r.status_code == 422 and r.json()["code"] == "params.refused", r.text
    assert [e["field"] for e in r.json()["errors"]] == ["effective_from", "approved_by", "value"]
    assert "'five' is not a whole number" in r.json()["errors"][2]["reason"]


def test_params_are_a_422_naming_every_problem_when_the_rules_cannot_take_the_practice_values(
        liaison: dict[str, Any]) -> None:
    """Probe: GET /params listed `new_hire_days: seven` as the value in force and ignored an unknown
    parameter, while `vigil evaluate` refused the file. Each is now a problem naming the file and the key."""
    c = liaison["client"]
    path = Path(os.environ["VIGIL_PRACTICE_PARAMS"])
    path.write_text("params:\n  demo: {new_hire_days: seven, bogus_param: 3}\n", encoding="utf-8")
    for role, query in (("liaison", {}), ("liaison", {"framework": "demo"}), ("auditor", {"on": "2026-12-15"})):
        r = c.get("/params", headers=headers(liaison, role), params=query)
        assert r.status_code == 422, r.text
        assert [(e["file"], e["field"], e["reason"]) for e in r.json()["errors"]] == [
            (str(path), "demo.bogus_param", "unknown parameter 'bogus_param' for ruleset demo"),
            (str(path), "demo.new_hire_days", "parameter new_hire_days: 'seven' is not a whole number")]
    path.write_text("params:\n  demo: {new_hire_days: 7}\n", encoding="utf-8")
    rows = c.get("/params", headers=headers(liaison, "liaison")).json()
    assert [(p["name"], p["value"], p["source"]) for p in rows] == [("new_hire_days", 7, "practice")]


def test_only_the_liaison_officer_and_admin_publish(liaison: dict[str, Any]) -> None:
    for role, status in (("staff", 403), ("auditor", 403)):
        assert publish(liaison, liaison["draft"], role=role, effective_from="2027-01-01").status_code == status
    assert not (liaison["root"] / "demo" / "demo-3.0.0.yaml").exists()


def test_a_change_in_force_from_a_day_already_judged_is_refused_naming_the_runs(liaison: dict[str, Any]) -> None:
    """Probe 16 #3: a version published and rolled back on one day left that day's runs irreproducible
    (the same as-of gave other findings); a parameter change is chosen by day the same way."""
    c, h = liaison["client"], headers(liaison, "liaison")
    officer = headers(liaison, "officer")
    assert c.post("/records", headers=officer, json={"records": [
        {"type": "establishment", "id": "E1", "name": "Main", "tz": "America/Chicago"}]}).status_code == 200
    today = publish(liaison, liaison["draft"], effective_from="2026-11-30")  # no run as of today yet
    assert today.status_code == 201, today.text
    run = c.post("/evaluations", headers=officer, json={"as_of": "2026-11-30T14:00:00Z"})
    assert run.status_code == 201, run.text
    run_id = run.json()["run"]["id"]
    assert run.json()["run"]["rulesets"][0]["version"] == "3.0.0"
    before = files(liaison["root"])
    four = liaison["draft"].replace("version: 3.0.0", "version: 4.0.0")
    for r in (publish(liaison, four, effective_from="2026-11-30"),
              c.post("/rulesets/demo/3.0.0/withdraw", headers=h, json={"reason": "bad rule", "on": "2026-11-30"}),
              c.put("/params/demo/new_hire_days", headers=h,
                    json={"value": 5, "approved_by": "a", "reason": "r", "effective_from": "2026-11-30"})):
        assert r.status_code == 422, r.text
        assert run_id in r.text and "choose 2026-12-01 or later" in r.text
    assert files(liaison["root"]) == before
    # a forecast (held, not applied) does not hold a later day back
    assert c.post("/evaluations", headers=officer, json={"as_of": "2026-12-20T00:00:00Z"}).status_code == 201
    later = c.post("/rulesets/demo/3.0.0/withdraw", headers=h, json={"reason": "bad rule", "on": "2026-12-01"})
    assert later.status_code == 200, later.text
    assert (later.json()["never_in_force"], later.json()["restores"]) == (False, "2.0.0")


def test_validate_and_preview_check_sop_templates_as_publish_does(liaison: dict[str, Any]) -> None:
    """Probe 16 #5: `POST /rulesets/validate` said ok and preview ran for a draft naming no SOP template."""
    c, h = liaison["client"], headers(liaison, "liaison") | {"Content-Type": "text/plain"}
    bad = liaison["draft"].replace("sop: SOP-DEMO", "sop: SOP-NOWHERE").encode()
    report = c.post("/rulesets/validate", headers=h, content=bad).json()
    assert report["ok"] is False and "SOP SOP-NOWHERE has no template" in str(report["problems"])
    assert c.post("/rulesets/validate", headers=h, content=liaison["draft"].encode()).json()["ok"] is True
    preview = c.post("/rulesets/preview", headers=h, content=bad)
    assert preview.status_code == 422 and "SOP SOP-NOWHERE has no template" in preview.text


def test_publish_names_every_problem_at_once(liaison: dict[str, Any]) -> None:
    """Probe 16 #13: the date and version problems were named, the draft's own only on the next attempt."""
    draft = liaison["draft"].replace("version: 3.0.0", "version: 2.0.0").replace("sop: SOP-DEMO", "sop: SOP-NOWHERE")
    r = publish(liaison, draft, effective_from="2026-11-01")
    assert r.status_code == 422
    said = str(r.json()["errors"])
    for text in ("is before today", "is not above demo 2.0.0", "SOP SOP-NOWHERE has no template"):
        assert text in said, text


@pytest.mark.parametrize("body, said", [
    ("null", "mapping"),
    ("framework: demo\nframework: demo\n", "twice"),
])
def test_publish_on_a_day_names_the_drafts_own_problem_first(liaison: dict[str, Any], body: str, said: str) -> None:
    """Session 48's REST pass: with `effective_from` given, a draft of `null` or with a key given
    twice was told only that it needs one top-level `effective_from:` line."""
    r = publish(liaison, body, effective_from="2099-01-01")
    assert r.status_code == 422 and said in r.text and "to set the date on" not in r.text, r.text


def test_a_version_or_framework_too_long_for_a_file_name_is_refused_not_a_500(liaison: dict[str, Any]) -> None:
    """Session 48's REST pass: a version whose last part had 300 digits passed validation and then
    failed publishing with "File name too long" (500); a 256-character framework name did on checks."""
    c, h = liaison["client"], headers(liaison, "liaison")
    draft = liaison["draft"].replace("version: 3.0.0", "version: 3.0." + "9" * 300)
    r = publish(liaison, draft, effective_from="2099-01-01")
    assert r.status_code == 422 and "each at most 9 digits" in r.text, r.text
    report = c.post("/rulesets/validate", headers=h, content=draft.encode()).json()
    assert report["ok"] is False and "each at most 9 digits" in str(report["problems"])
    for method in (c.get, c.post):
        assert method("/rulesets/" + "x" * 256 + "/checks", headers=h).status_code == 404


def test_the_liaison_runs_a_frameworks_scenario_tests_over_rest(liaison: dict[str, Any]) -> None:
    """Probe 16 #10: the scenario tests ran only from the CLI and the web UI."""
    c, h = liaison["client"], headers(liaison, "liaison")
    (liaison["root"] / "demo" / "tests").mkdir(exist_ok=True)
    (liaison["root"] / "demo" / "tests" / "train.yaml").write_text(SCENARIO, encoding="utf-8")
    before = c.get("/rulesets/demo/checks", headers=h)
    assert before.status_code == 200, before.text
    assert before.json()["validation"]["ok"] is True and before.json()["scenarios"] is None
    ran = c.post("/rulesets/demo/checks", headers=h)
    assert ran.status_code == 200, ran.text
    scenarios = ran.json()["scenarios"]
    assert scenarios["error"] is None and scenarios["passed"] >= 1 and scenarios["failed"] == 0
    assert c.get("/rulesets/demo/checks", headers=h).json()["scenarios"]["passed"] == scenarios["passed"]
    assert c.post("/rulesets/demo/checks", headers=headers(liaison, "staff")).status_code == 403
    assert c.get("/rulesets/nope/checks", headers=h).status_code == 404


def test_a_scenario_file_that_cannot_run_fails_its_own_line_and_the_others_run(liaison: dict[str, Any]) -> None:
    """A scenario with a key the format does not know had stopped the child runner: the checks page
    said "the scenario runner stopped" with a traceback, and no case was reported."""
    c, h = liaison["client"], headers(liaison, "liaison")
    tests = liaison["root"] / "demo" / "tests"
    tests.mkdir(exist_ok=True)
    (tests / "a_bad.yaml").write_text(SCENARIO.replace("cases:", "severty: low\ncases:", 1), encoding="utf-8")
    (tests / "train.yaml").write_text(SCENARIO, encoding="utf-8")
    ran = c.post("/rulesets/demo/checks", headers=h)
    assert ran.status_code == 200, ran.text
    scenarios = ran.json()["scenarios"]
    assert scenarios["error"] is None and scenarios["failed"] == 1 and scenarios["passed"] >= 1
    bad = next(case for case in scenarios["cases"] if not case["ok"])
    assert bad["scenario"] == "demo/tests/a_bad.yaml"
    said = " ".join(bad["problems"])
    assert "severty" in said and str(liaison["root"]) not in said
