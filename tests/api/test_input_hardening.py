"""Bad input over REST is a 4xx problem body naming the field, never a bare 500, and a value that can
never match or apply is refused instead of answering an empty 200 or being stored (sweep A1-A5, A7)."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine import clock
from tests import factories as f
from tests.api.conftest import headers

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NAIVE, PAST_Y10K, BEFORE_Y1 = "2027-01-01T00:00:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+05:00"
BAD_INSTANTS = [NAIVE, PAST_Y10K, BEFORE_Y1]
#: a waiver ends within 366 days of its start (a waiver is time-boxed); these tests run on the real clock
SOON = (clock.now() + dt.timedelta(days=180)).strftime("%Y-%m-%dT00:00:00Z")
GOOD = {"ends_at": SOON, "reason": "on leave", "approver": "CMO"}


@pytest.fixture
def world(api: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The api fixture with records (establishment E1, person P1 employed since February) evaluated
    on 10 March 2026: one finding (DEMO-TRN-001 for EP1) and its task, owned through roles.yaml."""
    for name, value in (("VIGIL_POLICIES_DIR", FIXTURES / "policies"), ("VIGIL_EVIDENCE_DIR", tmp_path / "evidence"),
                        ("VIGIL_PACKET_DIR", tmp_path / "packets"), ("VIGIL_KEY_DIR", tmp_path / "keys")):
        monkeypatch.setenv(name, str(value))
    c, h = api["client"], headers(api, "officer")
    records = [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
               {"type": "person", "id": "P1", "first_name": "Ana", "last_name": "Diaz"}]
    assert c.post("/records", headers=h, json={"records": records}).status_code == 200
    assert c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T00:00:00Z"}).status_code == 201
    (finding,) = c.get("/findings", headers=h).json()["items"]
    (task,) = c.get("/tasks", headers=h).json()["items"]
    yield {**api, "h": h, "finding": finding, "task": task}


def _fields(r: Any) -> list[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return [e.get("field") for e in r.json().get("errors", [])]


# -- A1: instants without an offset or outside the calendar are 422s naming the field ----------------------


@pytest.mark.parametrize("value", BAD_INSTANTS)
@pytest.mark.parametrize("name", ["ends_at", "starts_at"])
def test_a_waiver_instant_without_offset_or_out_of_range_is_a_422(world: dict[str, Any], name: str,
                                                                  value: str) -> None:
    c, h, fnd = world["client"], world["h"], world["finding"]
    body = {**GOOD, name: value}
    assert name in _fields(c.post(f"/findings/{fnd['id']}/waive", headers=h, json=body))
    standalone = {**body, "rule_id": fnd["rule_id"], "subject_type": fnd["subject_type"],
                  "subject_id": fnd["subject_id"]}
    assert name in _fields(c.post("/waivers", headers=h, json=standalone))


@pytest.mark.parametrize("value", BAD_INSTANTS)
def test_a_grant_expiry_without_offset_or_out_of_range_is_a_422(world: dict[str, Any], value: str) -> None:
    body = {"framework": "demo", "window_from": "2026-01-01", "window_to": "2026-12-31", "expires_at": value}
    r = world["client"].post("/users/auditor/grants", headers=headers(world, "admin"), json=body)
    assert _fields(r) == ["expires_at"]


@pytest.mark.parametrize("body, field", [({"as_of": PAST_Y10K}, "as_of"), ({"as_of": BEFORE_Y1}, "as_of"),
                                         ({"known_at": PAST_Y10K}, "known_at"),
                                         ({"as_of": "9999-12-31T00:00:00Z"}, "as_of")])
def test_an_evaluation_instant_out_of_range_is_a_422(world: dict[str, Any], body: dict[str, str], field: str) -> None:
    assert _fields(world["client"].post("/evaluations", headers=world["h"], json=body)) == [field]


def test_a_record_read_as_of_an_instant_out_of_range_is_a_422(world: dict[str, Any]) -> None:
    r = world["client"].get("/records/person/P1", headers=world["h"], params={"as_of": PAST_Y10K})
    assert _fields(r) == ["as_of"]


@pytest.mark.parametrize("value", ["now", "yesterday", "2026-12-07 at nine"])
def test_an_instant_in_words_is_told_the_form_wanted(world: dict[str, Any], value: str) -> None:
    """The black-box pass: `as_of=now` had been told "Input should be a valid datetime or date, input
    is too short", though a date, which that does not rule out, is refused too."""
    c, h = world["client"], world["h"]
    said = f"{value!r} is not an ISO 8601 instant: give a date and a time with an offset, e.g. 2026-12-07T09:00:00Z " \
           "(UTC) or 2026-12-07T09:00:00-05:00 (the establishment's)"
    r = c.get("/records/person/P1", headers=h, params={"as_of": value})
    assert _fields(r) == ["query.as_of"] and r.json()["errors"][0]["reason"] == said
    r = c.post(f"/findings/{world['finding']['id']}/waive", headers=h, json={**GOOD, "ends_at": value})
    assert _fields(r) == ["body.ends_at"] and r.json()["errors"][0]["reason"] == said
    assert c.get("/records/person/P1", headers=h, params={"as_of": "2099-12-07T09:00:00Z"}).status_code == 200


def test_a_number_is_not_read_as_seconds_since_1970(world: dict[str, Any]) -> None:
    body = {"framework": "demo", "window_from": "2026-01-01", "window_to": "2026-12-31", "expires_at": 12345}
    r = world["client"].post("/users/auditor/grants", headers=headers(world, "admin"), json=body)
    assert _fields(r) == ["body.expires_at"] and "seconds since 1970" in r.json()["errors"][0]["reason"]


def test_a_number_is_not_read_as_a_day_either(world: dict[str, Any]) -> None:
    """Session 48's REST pass: a grant's window, a parameter's first day, a withdrawal's day and
    `?on=` took 1767225600 as 1 January 2026 (and `on=0` as 1970-01-01, answering an empty list)."""
    c, admin = world["client"], headers(world, "admin")
    body = {"framework": "demo", "window_from": 1767225600, "window_to": "1782864000",
            "expires_at": "2027-01-01T00:00:00Z"}
    r = c.post("/users/auditor/grants", headers=admin, json=body)
    assert _fields(r) == ["body.window_from", "body.window_to"], r.text
    assert "not a number" in r.json()["errors"][0]["reason"]
    r = c.get("/params", headers=admin, params={"on": "0"})
    assert _fields(r) == ["query.on"], r.text
    r = c.post("/packets", headers=admin, json={"framework": "demo", "from": 20260101, "to": "2026-12-31"})
    assert _fields(r) == ["body.from"], r.text
    r = c.post("/packets", headers=admin, json={"framework": "demo", "from": "2026-01-01", "to": "2026-12-31",
                                                 "as_of": 1767225600})
    assert _fields(r) == ["body.as_of"] and "seconds since 1970" in r.text, r.text
    r = c.put("/params/demo/x", headers=admin, json={"value": 1, "effective_from": 1814400000,
                                                      "approved_by": "A", "reason": "r"})
    assert _fields(r) == ["body.effective_from"], r.text
    r = c.post("/rulesets/demo/rollback", headers=admin, json={"reason": "r", "on": 0})
    assert r.status_code == 422 and "not a number" in r.text, r.text


def test_an_unexpected_failure_is_a_json_problem_not_plain_text(world: dict[str, Any],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from engine.findings import service as findings_service

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(findings_service, "list_waivers", broken)
    r = TestClient(world["app"], raise_server_exceptions=False).get("/waivers", headers=world["h"])
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "server.unexpected" and "boom" not in r.text


# -- A2: filters that can never match ----------------------------------------------------------------------


@pytest.mark.parametrize("param", ["framework", "establishment", "rule"])
def test_a_finding_filter_naming_nothing_is_a_422(world: dict[str, Any], param: str) -> None:
    c, h = world["client"], world["h"]
    assert _fields(c.get("/findings", headers=h, params={param: "bogus"})) == [param]
    good = {"framework": "demo", "establishment": "E1", "rule": "DEMO-TRN-001"}[param]
    assert c.get("/findings", headers=h, params={param: good}).json()["total"] == 1


@pytest.mark.parametrize(("value", "said"), [
    ("persn/EP1", "'persn/EP1': 'persn' is not a type of subject (did you mean person?); "),
    ("a/b/c", "'a/b/c': 'a' is not a type of subject; "),
    ("employment_episode/", "'employment_episode/' names no id: "),
    ("/EP1", "'/EP1' names no type: "),
])
@pytest.mark.parametrize("path", ["/findings", "/findings/export.csv"])
def test_a_subject_filter_of_no_subjects_form_is_a_422_saying_the_form(world: dict[str, Any], value: str,
                                                                       said: str, path: str) -> None:
    """The black-box pass: `subject` was never checked, and `persn/P-0043`, `person/` or `a/b/c`
    answered an empty 200, read as "no findings" where every other filter says what is wrong."""
    c, h = world["client"], world["h"]
    r = c.get(path, headers=h, params={"subject": f"EP1,{value}"})
    assert _fields(r) == ["subject"]
    assert r.json()["errors"][0]["reason"] == said + "write a subject as type/id (person/P-0001) or its id alone " \
                                                     "(P-0001)"


def test_a_subject_filter_takes_type_and_id_or_an_id_alone(world: dict[str, Any]) -> None:
    c, h, fnd = world["client"], world["h"], world["finding"]
    for value in (f"{fnd['subject_type']}/{fnd['subject_id']}", fnd["subject_id"]):
        assert c.get("/findings", headers=h, params={"subject": value}).json()["total"] == 1, value
    for value in ("person/P-404", "P-404"):  # a subject no finding is about (yet): no findings, not a mistake
        assert c.get("/findings", headers=h, params={"subject": value}).json()["total"] == 0, value


@pytest.mark.parametrize("param", ["framework", "severity", "state", "status", "establishment", "rule", "subject"])
@pytest.mark.parametrize("value", ["", ",", " "])
def test_an_empty_finding_filter_is_a_422_not_every_finding(world: dict[str, Any], param: str, value: str) -> None:
    """`framework=` (a script's unset variable) had listed every framework, and `severity=,` nothing."""
    c, h = world["client"], world["h"]
    r = c.get("/findings", headers=h, params={param: value})
    assert r.status_code == 422 and _fields(r) == [param], r.text
    assert "empty" in r.json()["errors"][0]["reason"]


@pytest.mark.parametrize("param", ["state", "kind", "owner", "sop", "finding", "establishment"])
def test_an_empty_task_filter_is_a_422_not_every_task(world: dict[str, Any], param: str) -> None:
    c, h = world["client"], world["h"]
    r = c.get("/tasks", headers=h, params={param: ""})
    assert r.status_code == 422 and _fields(r) == [param], r.text


def test_a_query_parameter_given_twice_is_a_422_not_the_last_value(world: dict[str, Any]) -> None:
    """`framework=hipaa&framework=osha` had answered OSHA's findings alone; `limit=1&limit=2` two."""
    c, h = world["client"], world["h"]
    r = c.get("/findings?framework=demo&framework=demo&limit=1&limit=2", headers=h)
    assert r.status_code == 422 and sorted(_fields(r)) == ["framework", "limit"], r.text
    assert "comma" in r.json()["errors"][0]["reason"]
    assert c.get("/tasks?state=open&state=done", headers=h).status_code == 422
    assert c.get("/findings?framework=demo&limit=1", headers=h).status_code == 200


def test_an_auditor_asking_beyond_the_grant_is_told_so(world: dict[str, Any], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import shutil

    root = tmp_path / "rulesets"
    shutil.copytree(os.environ["VIGIL_RULESETS_DIR"], root)
    (root / "other").mkdir()
    text = (root / "demo" / "demo-1.0.0.yaml").read_text(encoding="utf-8")
    (root / "other" / "other-1.0.0.yaml").write_text(text.replace("framework: demo", "framework: other", 1)
                                                     .replace("DEMO-", "OTHER-"), encoding="utf-8")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(root))
    c, auditor = world["client"], headers(world, "auditor")  # the grant is for framework demo
    for params in ({"framework": "other"}, {"rule": "OTHER-TRN-001"}):
        r = c.get("/findings", headers=auditor, params=params)
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "permission_denied.outside_grant" and "grant" in r.json()["errors"][0]["reason"]
    assert c.get("/findings", headers=auditor, params={"framework": "demo"}).json()["total"] == 1


@pytest.mark.parametrize("param", ["state", "kind", "owner", "sop", "finding", "establishment"])
def test_a_task_filter_naming_nothing_is_a_422(world: dict[str, Any], param: str) -> None:
    c, h, task = world["client"], world["h"], world["task"]
    assert _fields(c.get("/tasks", headers=h, params={param: "bogus"})) == [param]
    good = {"state": "open", "kind": "finding", "owner": task["owner"], "sop": task["sop"],
            "finding": task["finding_id"], "establishment": "E1"}[param]
    assert c.get("/tasks", headers=h, params={param: good}).json()["total"] == 1


# -- A3: writes that can never apply -----------------------------------------------------------------------


@pytest.mark.parametrize("extra, field", [
    ({"rule_id": "NOPE-1", "subject_type": "employment_episode", "subject_id": "EP1"}, "rule_id"),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "bogus", "subject_id": "EP1"}, "subject_type"),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "employment_episode", "subject_id": "EP-NOPE"}, "subject_id"),
    ({"rule_id": "DEMO-TRN-001", "establishment_id": "EST-NOPE"}, "establishment_id"),
    ({"rule_id": "DEMO-TRN-001", "subject_id": "EP1"}, "subject_type"),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "employment_episode", "subject_id": "EP1", "establishment_id": "E1"},
     "establishment_id"),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "employment_episode", "subject_id": "EP1", "reason": "     "},
     "reason"),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "employment_episode", "subject_id": "EP1", "approver": "   "},
     "approver"),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "employment_episode", "subject_id": "EP1",
      "starts_at": "2020-01-01T00:00:00Z"}, "starts_at"),
    ({"rule_id": "DEMO-TRN-001", "subject_type": "employment_episode", "subject_id": "EP1",
      "ends_at": "2020-01-01T00:00:00Z"}, "ends_at"),
])
def test_a_waiver_that_could_never_apply_is_refused(world: dict[str, Any], extra: dict[str, str], field: str) -> None:
    c, h = world["client"], world["h"]
    assert field in _fields(c.post("/waivers", headers=h, json={**GOOD, **extra}))
    assert c.get("/waivers", headers=h).json() == []


def test_a_sound_waiver_is_granted_and_a_subject_known_only_from_records_will_do(world: dict[str, Any]) -> None:
    c, h = world["client"], world["h"]
    later = (clock.now() + dt.timedelta(hours=1)).isoformat()
    r = c.post("/waivers", headers=h, json={**GOOD, "rule_id": "DEMO-TRN-001", "subject_type": "employment_episode",
                                            "subject_id": " EP1 ", "starts_at": later, "reason": "  on leave  "})
    assert r.status_code == 201, r.text
    assert (r.json()["subject_id"], r.json()["reason"]) == ("EP1", "on leave")
    assert c.post("/waivers", headers=h, json={**GOOD, "rule_id": "DEMO-TRN-001",
                                               "establishment_id": "E1"}).status_code == 201


def test_the_same_waiver_asked_twice_is_made_once(world: dict[str, Any]) -> None:
    """A client that retries a POST must not stack waivers: revoking one would leave the other in force."""
    c, h = world["client"], world["h"]
    body = {**GOOD, "rule_id": "DEMO-TRN-001", "subject_type": "employment_episode", "subject_id": "EP1"}
    first = c.post("/waivers", headers=h, json=body)
    again = c.post("/waivers", headers=h, json={**body, "subject_id": " EP1 "})  # the same, once trimmed
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["id"] == first.json()["id"]
    waived = [f["id"] for f in c.get("/findings?state=waived", headers=h).json()["items"]]
    assert waived and first.json()["findings"] == again.json()["findings"] == sorted(waived)  # what it reaches
    other = c.post("/waivers", headers=h, json={**body, "reason": "another reason"})  # other terms, same scope
    assert other.status_code == 409 and other.json()["code"] == "conflict.waiver_overlaps", other.text
    assert f"revoke {first.json()['id']} first" in other.json()["errors"][0]["reason"]
    ids = [w["id"] for w in c.get("/waivers", headers=h).json()]
    assert ids == [first.json()["id"]]
    revoked = c.post(f"/waivers/{first.json()['id']}/revoke", headers=h, json={"reason": "ended early"})
    assert revoked.status_code == 200 and revoked.json()["findings"] == []
    assert c.post("/waivers", headers=h, json=body).json()["id"] != first.json()["id"]  # a new one after revoking


@pytest.mark.parametrize("extra, field", [({"subject_type": "xxx"}, "subject_type"),
                                          ({"subject_type": "   "}, "subject_type"),
                                          ({"establishment_id": "EST-NOPE"}, "establishment_id"),
                                          ({"reason": "   x  "}, "reason")])
def test_waiving_a_finding_for_something_else_is_refused(world: dict[str, Any], extra: dict[str, str],
                                                         field: str) -> None:
    c, h, fnd = world["client"], world["h"], world["finding"]
    assert field in _fields(c.post(f"/findings/{fnd['id']}/waive", headers=h, json={**GOOD, **extra}))
    assert c.get(f"/findings/{fnd['id']}", headers=h).json()["state"] == "open"
    r = c.post(f"/findings/{fnd['id']}/waive", headers=h, json={**GOOD, "establishment_id": "E1"})
    assert r.status_code == 201 and r.json()["establishment_id"] == "E1" and r.json()["subject_id"] is None


@pytest.mark.parametrize("extra, field", [({"framework": "bogus"}, "framework"), ({"framework": ""}, "framework"),
                                          ({"framework": "   "}, "framework"),
                                          ({"establishments": ["bogus"]}, "establishments[0]"),
                                          ({"establishments": []}, "establishments"),
                                          ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
                                          ({"window_from": "2026-12-31", "window_to": "2026-01-01"}, "window_to")])
def test_a_grant_that_could_never_show_anything_is_refused(world: dict[str, Any], extra: dict[str, Any],
                                                           field: str) -> None:
    body = {"framework": "demo", "window_from": "2026-01-01", "window_to": "2026-12-31",
            "expires_at": f.grant_expiry().isoformat(), **extra}
    assert field in _fields(world["client"].post("/users/auditor/grants", headers=headers(world, "admin"), json=body))


def test_a_grant_names_each_establishment_once_and_a_display_name_is_bounded(world: dict[str, Any]) -> None:
    """Session 48's REST pass: one site a thousand times was stored as given; a display name of
    100,000 characters reached a 200-character column (a 500 on PostgreSQL)."""
    c, admin = world["client"], headers(world, "admin")
    body = {"framework": "demo", "window_from": "2026-01-01", "window_to": "2026-12-31",
            "expires_at": f.grant_expiry().isoformat(), "establishments": ["E1"] * 1000}
    assert _fields(c.post("/users/auditor/grants", headers=admin, json=body)) == ["body.establishments"]
    r = c.post("/users/auditor/grants", headers=admin, json={**body, "establishments": ["E1"] * 3})
    assert r.status_code == 201 and r.json()["establishments"] == ["E1"], r.text
    user = {"username": "nurse9", "password": "long-enough-pass", "role": "staff", "display_name": "N" * 100_000}
    assert _fields(c.post("/users", headers=admin, json=user)) == ["body.display_name"]
    assert c.post("/users", headers=admin, json={**user, "display_name": "N" * 200}).status_code == 201


def test_a_user_is_a_person_of_the_org_or_no_one(world: dict[str, Any]) -> None:
    c, admin = world["client"], headers(world, "admin")
    body = {"username": "nurse1", "password": "long-enough-pass", "role": "staff"}
    assert _fields(c.post("/users", headers=admin, json={**body, "person_id": "P-NOPE"})) == ["person_id"]
    assert _fields(c.post("/users", headers=admin, json={**body, "person_id": "  "})) == ["person_id"]
    assert c.post("/users", headers=admin, json={**body, "person_id": "P1"}).status_code == 201  # a record
    assert c.post("/users", headers=admin, json={**body, "username": "hr1", "person_id": "P-HR1"}).status_code == 201


def test_an_unknown_role_is_named_with_every_other_refused_field(world: dict[str, Any]) -> None:
    c, admin = world["client"], headers(world, "admin")
    r = c.post("/users", headers=admin, json={"username": "x", "password": "short", "role": "boss"})
    assert r.status_code == 422 and _fields(r) == ["body.username", "body.password", "body.role"], r.text
    assert r.json()["errors"][2]["reason"] == "unknown role 'boss': one of admin, officer, liaison, auditor, staff"


def test_an_assignee_or_owner_is_somebody(world: dict[str, Any]) -> None:
    c, h, fnd, task = world["client"], world["h"], world["finding"], world["task"]
    assert _fields(c.post(f"/findings/{fnd['id']}/assign", headers=h, json={"assignee": "nobody-at-all"})) == [
        "assignee"]
    for who in ("P1", "officer", "hr_manager", "role:compliance_officer", "P-HR1"):
        r = c.post(f"/findings/{fnd['id']}/assign", headers=h, json={"assignee": f" {who} "})
        assert r.status_code == 200 and r.json()["assignee"] == who, r.text
    assert _fields(c.post(f"/tasks/{task['id']}/assign", headers=h, json={"owner": "nobody-at-all"})) == ["owner"]
    r = c.post(f"/tasks/{task['id']}/assign", headers=h, json={"owner": "practice_manager"})
    assert _fields(r) == ["owner"] and "P-MGR" in r.json()["errors"][0]["reason"]  # a role: who holds it
    for who in ("P1", "staff", "P-MGR"):
        r = c.post(f"/tasks/{task['id']}/assign", headers=h, json={"owner": who})
        assert r.status_code == 200 and r.json()["owner"] == who, r.text
    # a username in another case is the user, as signing in takes it (session 48: "nobody" before)
    r = c.post(f"/findings/{fnd['id']}/assign", headers=h, json={"assignee": "OFFICER"})
    assert r.status_code == 200 and r.json()["assignee"] == "officer", r.text
    r = c.post(f"/tasks/{task['id']}/assign", headers=h, json={"owner": "Staff"})
    assert r.status_code == 200 and r.json()["owner"] == "staff", r.text
    # and so is a filter by it (session 48's review: assigning took `STAFF`, filtering refused it)
    r = c.get("/findings", headers=h, params={"assignee": "OFFICER"})
    assert r.status_code == 200 and [x["id"] for x in r.json()["items"]] == [fnd["id"]], r.text
    r = c.get("/tasks", headers=h, params={"owner": "STAFF"})
    assert r.status_code == 200 and task["id"] in [x["id"] for x in r.json()["items"]], r.text


def test_a_finding_given_to_a_person_takes_its_open_task_along(world: dict[str, Any]) -> None:
    """The assignee must see the work in their task list; a role cannot own a task, so it goes to the
    role's holder at the finding's establishment (practice_manager anywhere: P-MGR), with a history entry.
    The SOP's own role (hr_manager at E1) already gave the task to P-HR1."""
    c, h, fnd, task = world["client"], world["h"], world["finding"], world["task"]
    owner = task["owner"]
    assert owner == "P-HR1"
    assert c.post(f"/findings/{fnd['id']}/assign", headers=h, json={"assignee": "practice_manager"}).status_code == 200
    held = c.get(f"/tasks/{task['id']}", headers=h).json()
    assert held["owner"] == "P-MGR", held  # a role: its holder at E1
    assert any(e["kind"] == "reassigned" and "P-MGR" in (e.get("reason") or "") for e in held["history"]), held
    assert c.post(f"/findings/{fnd['id']}/assign", headers=h, json={"assignee": "P1"}).status_code == 200
    moved = c.get(f"/tasks/{task['id']}", headers=h).json()
    assert moved["owner"] == "P1" and moved["owner"] != owner
    assert [t["id"] for t in c.get("/tasks", headers=h, params={"owner": "P1"}).json()["items"]] == [task["id"]]


def test_blank_reasons_and_names_are_refused(world: dict[str, Any]) -> None:
    c, h, fnd = world["client"], world["h"], world["finding"]
    assert _fields(c.post(f"/findings/{fnd['id']}/false-positive", headers=h, json={"reason": "  "})) == ["reason"]
    assert c.get(f"/findings/{fnd['id']}", headers=h).json()["state"] == "open"
    session = TestClient(world["app"])  # tokens are issued from a signed-in session
    assert session.post("/auth/login", json={"username": "officer", "password": "officer-password"}).status_code == 200
    assert _fields(session.post("/tokens", json={"name": "   "})) == ["name"]
    assert [t["name"] for t in c.get("/tokens", headers=h).json()] == ["t"]  # the fixture's own


@pytest.mark.parametrize("name", ["x\u0007y", "build\u001b[2J", "\u202eexport"])
def test_a_token_name_holding_a_control_character_is_refused(world: dict[str, Any], name: str) -> None:
    """The black-box pass: `{"name": "x\u0007y"}` was a token named with a BEL, which GET /tokens and
    `vigil users tokens` then printed to whoever listed them."""
    session = TestClient(world["app"])
    assert session.post("/auth/login", json={"username": "officer", "password": "officer-password"}).status_code == 200
    r = session.post("/tokens", json={"name": name, "days": 30})
    assert _fields(r) == ["name"] and "control character" in r.json()["errors"][0]["reason"]
    assert [t["name"] for t in session.get("/tokens").json()] == ["t"]  # the fixture's own alone


@pytest.mark.parametrize("extra, field", [({"establishment": "EST-NOPE"}, "establishment"),
                                          ({"as_of": "2026-01-01T00:00:00Z"}, "as_of"),
                                          ({"as_of": "2098-01-01T00:00:00Z"}, "as_of")])
def test_a_packet_of_a_scope_that_holds_nothing_is_refused(world: dict[str, Any], extra: dict[str, str],
                                                           field: str) -> None:
    body = {"framework": "demo", "from": "2026-01-01", "to": "2026-12-31", **extra}
    assert _fields(world["client"].post("/packets", headers=world["h"], json=body)) == [field]
    assert world["client"].get("/packets", headers=world["h"]).json() == []


def test_every_problem_of_a_packet_request_is_said_at_once(world: dict[str, Any]) -> None:
    """The black-box pass: a period ending before it starts was the only problem said, the unknown
    framework and establishment waiting for the next attempt (docs/api.md: all at once)."""
    body = {"framework": "nope", "from": "2026-01-01", "to": "2025-01-01", "establishment": "EST-NOPE"}
    r = world["client"].post("/packets", headers=world["h"], json=body)
    assert _fields(r) == ["to", "framework", "establishment"]
    assert r.json()["errors"][0]["reason"] == "2025-01-01 is before from (2026-01-01): the period ends on or after " \
                                              "its first day"
    assert world["client"].get("/packets", headers=world["h"]).json() == []


def test_an_empty_import_says_it_imported_nothing_and_no_server_path_leaks(world: dict[str, Any]) -> None:
    c, h = world["client"], world["h"]
    r = c.post("/records/import", headers=h, files={"file": ("people.ndjson", b"", "application/x-ndjson")})
    assert r.status_code == 200 and r.json()["total"] == 0
    assert r.json()["warnings"] == ["people.ndjson holds no records: nothing was imported"]
    assert r.json()["sources"] == ["people.ndjson"]
    bad = c.post("/records/import", headers=h, files={"file": ("x.json", b"{", "application/json")})
    assert bad.status_code == 422 and bad.json()["errors"][0]["file"] == "x.json" and "/tmp" not in bad.text


@pytest.mark.parametrize("depth", [1000, 5000])
def test_a_file_nested_too_deep_is_a_422_naming_the_file(world: dict[str, Any], depth: int) -> None:
    """Session 48's REST pass: a JSON file of `[` a thousand deep passed orjson's limit, then the
    standard library (or the float check) ran out of recursion: a 500."""
    c, h = world["client"], world["h"]
    deep = b"[" * depth + b"]" * depth
    for name in ("person.json", "person.ndjson"):
        r = c.post("/records/import", headers=h, files={"file": (name, deep, "application/json")})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["file"] == name and "nested too deep" in r.text, r.text


def test_connectors_upload_through_the_api_as_through_the_cli(world: dict[str, Any]) -> None:
    """PRODUCT: records come in "through the API, the CLI ... and connectors (FHIR AuditEvent, OIG LEIE file)"."""
    from tests.conftest import SHARED

    c, h = world["client"], world["h"]
    fhir = (SHARED / "formats" / "fhir" / "auditevent-r4-balp-patientread-example.json").read_bytes()
    r = c.post("/records/import", headers=h, params={"format": "fhir"},
               files={"file": ("audit.json", fhir, "application/fhir+json")})
    assert r.status_code == 200 and r.json()["counts"]["access_event"]["created"] == 1, r.text
    leie = (SHARED / "formats" / "leie" / "leie-UPDATED-format-example.csv").read_bytes()
    r = c.post("/records/import", headers=h, params={"format": "leie", "checked_at": "2026-03-10T12:00:00Z"},
               files={"file": ("UPDATED.csv", leie, "text/csv")})
    assert r.status_code == 200, r.text
    (screening,) = c.get("/records/screening/LEIE-20260310T120000Z-P1/history", headers=h).json()
    assert screening["source"] == "UPDATED.csv"  # as sent, not where the server held it
    # without checked_at, the same file sent twice the same day is one screening (session 46's records
    # pass: dated to the microsecond, each upload had written every person's screening again)
    first, again = (c.post("/records/import", headers=h, params={"format": "leie"},
                           files={"file": ("UPDATED.csv", leie, "text/csv")}) for _ in range(2))
    assert first.status_code == again.status_code == 200, first.text
    assert again.json()["created"] == 0 and again.json()["unchanged"] == first.json()["created"] > 0, again.text
    r = c.post("/records/import", headers=h, params={"format": "json", "checked_at": "2026-03-10T12:00:00Z"},
               files={"file": ("x.json", b"[]", "application/json")})
    assert _fields(r) == ["checked_at"]
    r = c.post("/records/import", headers=h, params={"format": "leie", "type": "person"},
               files={"file": ("UPDATED.csv", leie, "text/csv")})
    assert _fields(r) == ["type"] and "type does not apply to format=leie" in r.text  # the CLI refuses it too


# -- A4, A5 ------------------------------------------------------------------------------------------------


def test_verifying_a_non_zip_names_the_upload_not_a_server_path(world: dict[str, Any]) -> None:
    r = world["client"].post("/packets/verify", headers=world["h"],
                             files={"file": ("mine.zip", b"not a zip", "application/zip")})
    assert r.status_code == 422 and r.json()["detail"].startswith("mine.zip: not a readable zip file"), r.text
    assert "/tmp" not in r.text and "packet.zip:" not in r.text  # packet.zip was the server's name for it


def test_empty_evidence_is_refused(world: dict[str, Any]) -> None:
    c, h, task = world["client"], world["h"], world["task"]
    r = c.post(f"/tasks/{task['id']}/attachments", headers=h, files={"file": ("e.pdf", b"", "application/pdf")})
    assert _fields(r) == ["file"] and r.json()["code"] == "evidence.empty"
    assert c.get(f"/tasks/{task['id']}", headers=h).json()["attachments"] == []


def test_evidence_named_in_any_script_downloads_under_its_name(world: dict[str, Any]) -> None:
    """HTTP headers are Latin-1: a name such as 报告.txt failed every download of the file (500)."""
    c, h, task = world["client"], world["h"], world["task"]
    for name, ascii_name in (("报告 “final”.txt", "__ _final_.txt"), ("plain.txt", "plain.txt")):
        up = c.post(f"/tasks/{task['id']}/attachments", headers=h, files={"file": (name, name.encode(), "text/plain")})
        assert up.status_code == 201, up.text
        down = c.get(f"/tasks/{task['id']}/attachments/{up.json()['sha256']}", headers=h)
        assert down.status_code == 200 and down.content == name.encode()
        disposition = down.headers["content-disposition"]
        assert f'filename="{ascii_name}"' in disposition
        if name != ascii_name:  # the name itself, for every current browser (RFC 8187)
            assert urllib.parse.unquote(disposition.split("filename*=UTF-8''")[1]) == name
        else:
            assert "filename*" not in disposition


def test_a_method_a_route_does_not_take_is_a_405_naming_those_it_takes(world: dict[str, Any]) -> None:
    c, h = world["client"], world["h"]
    r = c.put("/findings", headers=h)
    assert r.status_code == 405 and r.headers["allow"] == "GET", r.headers
    assert r.headers["content-type"].startswith("application/problem+json")
    page = c.delete("/ui/findings", headers=h)
    assert page.status_code == 405 and "GET" in page.headers["allow"]


# -- A7 ----------------------------------------------------------------------------------------------------


def test_evaluating_the_database_before_its_first_record_is_refused(world: dict[str, Any]) -> None:
    c, h = world["client"], world["h"]
    r = c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T00:00:00Z", "known_at": "2020-01-01T00:00:00Z"})
    assert _fields(r) == ["known_at"] and r.json()["code"] == "input.before_first_record"
    assert c.get(f"/findings/{world['finding']['id']}", headers=h).json()["state"] == "open"  # nothing resolved


def test_evaluating_when_no_ruleset_is_in_force_is_refused(world: dict[str, Any]) -> None:
    r = world["client"].post("/evaluations", headers=world["h"], json={"as_of": "2020-01-01T00:00:00Z",
                                                                      "frameworks": ["demo"]})
    assert _fields(r) == ["as_of"] and r.json()["code"] == "input.nothing_in_force"


def test_a_liaison_previews_a_draft_over_rest(world: dict[str, Any]) -> None:
    """POST /rulesets/preview: the findings a draft would open and close; a draft that does not validate is a 422."""
    from pathlib import Path

    c = world["client"]
    liaison = headers(world, "liaison")
    demo = (Path(__file__).resolve().parents[1] / "fixtures" / "rulesets" / "demo" / "demo-1.0.0.yaml").read_text()
    draft = demo.replace("version: 1.0.0", "version: 1.1.0").replace("within: {days: params.new_hire_days}",
                                                                     "within: {days: 60}")
    r = c.post("/rulesets/preview", headers={**liaison, "Content-Type": "text/plain"}, content=draft,
               params={"as_of": "2026-03-10T12:00:00Z"})
    assert r.status_code == 200, r.text
    assert [i["finding_id"] for i in r.json()["would_close"]] == [world["finding"]["id"]]
    assert r.json()["would_open"] == [] and r.json()["version"] == "1.1.0"
    bad = c.post("/rulesets/preview", headers={**liaison, "Content-Type": "text/plain"},
                 content=demo.replace("{{ episode.person_id }}", "{{ episod.person_id }}"))
    assert bad.status_code == 422 and "episod" in bad.text


def test_revoking_a_waiver_needs_a_reason_reopens_its_finding_and_happens_once(world: dict[str, Any]) -> None:
    c, h, fnd = world["client"], world["h"], world["finding"]
    waiver = c.post(f"/findings/{fnd['id']}/waive", headers=h, json=GOOD).json()
    assert c.get(f"/findings/{fnd['id']}", headers=h).json()["state"] == "waived"
    assert "body.reason" in _fields(c.post(f"/waivers/{waiver['id']}/revoke", headers=h, json={"reason": "x"}))
    assert "reason" in _fields(c.post(f"/waivers/{waiver['id']}/revoke", headers=h, json={"reason": "   x  "}))
    missing = c.post("/waivers/W-nope/revoke", headers=h, json={"reason": "mistake"})
    assert missing.status_code == 404 and "W-nope" in missing.text
    r = c.post(f"/waivers/{waiver['id']}/revoke", headers=h, json={"reason": "granted by mistake"})
    assert r.status_code == 200, r.text
    assert (r.json()["revoke_reason"], r.json()["revoked_by"]) == ("granted by mistake", "user:officer")
    assert c.get(f"/findings/{fnd['id']}", headers=h).json()["state"] == "open"
    again = c.post(f"/waivers/{waiver['id']}/revoke", headers=h, json={"reason": "granted by mistake"})
    assert again.status_code == 409 and "already revoked" in again.text


def _body_models(app: Any) -> list[tuple[str, type]]:
    from fastapi.routing import APIRoute
    from pydantic import BaseModel

    from engine.api.deps import api_routes

    out = []
    for prefix, route in api_routes(app):
        assert isinstance(route, APIRoute)
        for param in route.dependant.body_params:
            annotation = getattr(param.field_info, "annotation", None)
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                out.append((f"{sorted(route.methods)[0]} {prefix}{route.path}", annotation))
    return out


def test_every_json_body_refuses_fields_it_does_not_know(api: dict[str, Any]) -> None:
    """Probe 16 #8: `{"reason": ..., "onn": "2027-01-01"}` withdrew a version today, the misspelt day dropped."""
    models = _body_models(api["app"])
    assert len(models) >= 15
    loose = [f"{route}: {model.__name__}" for route, model in models if model.model_config.get("extra") != "forbid"]
    assert not loose, f"body models that drop unknown fields: {loose}"


def test_a_misspelt_field_is_a_422_naming_it(world: dict[str, Any]) -> None:
    c, h = world["client"], world["h"]
    r = c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T00:00:00Z", "framwork": ["demo"]})
    assert r.status_code == 422 and "framwork" in r.text


def test_each_finding_a_waiver_waives_is_named_in_the_audit_trail(world: dict[str, Any]) -> None:
    """Revoking named every finding it reopened; granting named none it waived."""
    c, h, fnd = world["client"], world["h"], world["finding"]
    made = c.post("/waivers", headers=h, json={**GOOD, "rule_id": "DEMO-TRN-001", "establishment_id": "E1"}).json()
    entries = c.get("/audit/entries", headers=h, params={"limit": 20}).json()
    waived = [e for e in entries if e["action"] == "finding.waive"]
    assert [(e["entity_id"], e["payload"]["waiver_id"]) for e in waived] == [(fnd["id"], made["id"])]


def test_work_is_not_given_to_an_auditor_or_a_user_switched_off(world: dict[str, Any]) -> None:
    """An auditor only reads: a finding assigned to one (and its task, reassigned with it) sat unseen."""
    c, h, fnd, task = world["client"], world["h"], world["finding"], world["task"]
    r = c.post(f"/findings/{fnd['id']}/assign", headers=h, json={"assignee": "auditor"})
    assert r.status_code == 422 and "read-only" in r.json()["errors"][0]["reason"], r.text
    r = c.post(f"/tasks/{task['id']}/assign", headers=h, json={"owner": "auditor"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "owner", r.text
    assert c.post("/users/staff/deactivate", headers=headers(world, "admin")).status_code == 200
    r = c.post(f"/findings/{fnd['id']}/assign", headers=h, json={"assignee": "staff"})
    assert r.status_code == 422 and "switched off" in r.json()["errors"][0]["reason"], r.text
    assert c.post(f"/findings/{fnd['id']}/assign", headers=h, json={"assignee": "officer"}).status_code == 200


def test_a_findings_task_follows_a_waiver_or_false_positive_at_once(world: dict[str, Any]) -> None:
    """The task stayed open and overdue, its owner chased, until the next evaluation (probe 25)."""
    c, h, fnd, task = world["client"], world["h"], world["finding"], world["task"]

    def task_state() -> str:
        return str(c.get(f"/tasks/{task['id']}", headers=h).json()["state"])

    assert task_state() == "open"
    assert c.post(f"/findings/{fnd['id']}/false-positive", headers=h,
                  json={"reason": "trained at the previous employer"}).status_code == 200
    assert task_state() == "closed"
    assert c.post(f"/findings/{fnd['id']}/reopen", headers=h, json={"reason": "no certificate"}).status_code == 200
    assert task_state() == "open"
    waiver = c.post(f"/findings/{fnd['id']}/waive", headers=h, json=GOOD).json()
    assert task_state() == "closed"
    revoked = c.post(f"/waivers/{waiver['id']}/revoke", headers=h, json={"reason": "approval withdrawn"})
    assert revoked.status_code == 200
    assert task_state() == "open"


def test_an_evaluation_of_every_framework_names_each_one_not_in_force(world: dict[str, Any], tmp_path: Path) -> None:
    """POST /evaluations of every framework runs on those in force and says which were left out and
    when they are in force; the answer had been silent (only the CLI said it, on stderr)."""
    demo = (FIXTURES / "rulesets" / "demo" / "demo-1.0.0.yaml").read_text()
    later = (demo.replace("framework: demo", "framework: later").replace("DEMO-", "LATER-")
             .replace("effective_from: 2026-01-01", "effective_from: 2030-01-01")
             .replace("effective_to: 2026-07-01", "effective_to: null"))
    (tmp_path / "api-rulesets" / "later").mkdir()
    (tmp_path / "api-rulesets" / "later" / "later-1.0.0.yaml").write_text(later)
    c, h = world["client"], world["h"]
    every = c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T12:00:00Z"})
    assert every.status_code == 201, every.text
    assert [r["id"] for r in every.json()["run"]["rulesets"]] == ["demo"]
    (said,) = _not_about_roles(every.json()["warnings"])
    assert said.startswith("no later ruleset is in force on 2026-03-10 (the UTC date of as_of), so later was not "
                           "judged: later ") and "2030-01-01" in said, said
    named = c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T12:00:00Z", "frameworks": ["demo"]})
    assert named.status_code == 201 and _not_about_roles(named.json()["warnings"]) == [], named.text


def _not_about_roles(warnings: list[str]) -> list[str]:
    """The warnings but those naming the shipped roles.yaml's demo people, whom this practice lacks."""
    return [w for w in warnings if "roles.yaml" not in w]


def test_a_task_filter_too_long_for_a_file_name_is_a_422_not_a_500(world: dict[str, Any]) -> None:
    """Security probe (session 42): `GET /tasks?sop=AAAA...` (5,000 characters) was a 500, from
    'File name too long' while looking for the SOP's template."""
    c, h = world["client"], world["h"]
    assert _fields(c.get("/tasks", headers=h, params={"sop": "A" * 5000})) == ["sop"]
