"""REST basics: authentication, problem details, import, evaluate, findings, auditor scope."""

from __future__ import annotations

import base64
import datetime as dt
import json
import multiprocessing
from typing import Any

import pytest

from engine import clock, stream_process
from tests import factories as f
from tests.api.conftest import headers

#: a waiver ends within 366 days of its start; these tests run on the real clock
SOON = (clock.now() + dt.timedelta(days=180)).strftime("%Y-%m-%dT00:00:00Z")


def test_only_health_login_and_openapi_answer_anonymously(api: dict[str, Any]) -> None:
    c = api["client"]
    assert c.get("/health").status_code == 200
    assert c.get("/openapi.json").status_code == 200
    r = c.get("/findings")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "auth.required"


def test_login_sets_a_session_and_failed_logins_are_limited(api: dict[str, Any]) -> None:
    c = api["client"]
    assert c.post("/auth/login", json={"username": "officer", "password": "officer-password"}).status_code == 200
    assert c.get("/me").json()["user"]["role"] == "officer"
    for _ in range(5):
        assert c.post("/auth/login", json={"username": "staff", "password": "nope"}).status_code == 401
    r = c.post("/auth/login", json={"username": "staff", "password": "staff-password"})
    assert r.status_code == 401 and r.json()["code"] == "auth.locked"


def test_the_api_reads_json_only_as_json_so_a_cross_site_form_cannot_sign_in(api: dict[str, Any]) -> None:
    c = api["client"]
    body = b'{"username": "officer", "password": "officer-password"}'
    for media in ("text/plain", "application/x-www-form-urlencoded"):  # what a form on another site may send
        r = c.post("/auth/login", content=body, headers={"content-type": media})
        assert r.status_code == 422 and "set-cookie" not in r.headers
        assert r.json()["errors"] == [{"field": "body", "reason": "send the body as JSON with Content-Type: "
                                       f"application/json (this request said {media})"}]
    assert c.get("/me").status_code == 401


def test_a_json_body_sent_with_no_content_type_is_told_to_say_it_is_json(api: dict[str, Any]) -> None:
    """The black-box pass: it had been "Input should be a valid dictionary or object to extract fields from"."""
    r = api["client"].post("/tokens", headers=headers(api, "officer"),
                           content=b'{"name": "x", "days": 5}')
    assert r.status_code == 422 and "content-type" not in r.request.headers, r.text
    assert r.json()["errors"] == [{"field": "body", "reason": "send the body as JSON with Content-Type: "
                                                             "application/json (this request gave no Content-Type)"}]


def test_import_evaluate_and_read_findings(api: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "officer")
    bad = c.post(
        "/records",
        headers=h,
        json={"records": [{"type": "employment_episode", "id": "EP1", "start_at": "2026-02-01T09:00:00"}]},
    )
    assert bad.status_code == 422 and "offset" in bad.json()["errors"][0]["reason"]
    ok = c.post(
        "/records",
        headers=h,
        json={"records": [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")]},
    )
    assert ok.status_code == 200, ok.text
    run = c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T00:00:00Z"})
    assert run.status_code == 201, run.text
    # the run it answers is the run as stored (its diff had been {} beside GET's counts)
    stored = c.get(f"/evaluations/{run.json()['run']['id']}", headers=h).json()
    assert run.json()["run"] == stored and stored["diff"]["opened"] == 1, stored
    page = c.get("/findings", headers=h, params={"framework": "demo"}).json()
    assert page["total"] == 1 and page["items"][0]["rule_id"] == "DEMO-TRN-001"
    fid = page["items"][0]["id"]
    detail = c.get(f"/findings/{fid}", headers=h).json()
    assert detail["facts"]["deadline"]["due"] == "2026-03-03"
    assert c.post(f"/findings/{fid}/acknowledge", headers=h, json={}).json()["state"] == "acknowledged"
    conflict = c.post(f"/findings/{fid}/acknowledge", headers=h, json={})
    assert conflict.status_code == 409
    waived = c.post(
        f"/findings/{fid}/waive",
        headers=h,
        json={"ends_at": SOON, "reason": "leave", "approver": "CMO"},
    )
    assert waived.status_code == 201, waived.text
    retry = c.post(f"/findings/{fid}/waive", headers=h,
                   json={"ends_at": SOON, "reason": "leave", "approver": "CMO"})
    assert (retry.status_code, retry.json()["id"]) == (200, waived.json()["id"])  # a retry, as POST /waivers
    assert c.get(f"/findings/{fid}", headers=h).json()["state"] == "waived"
    assert c.get("/records/employment_episode/EP1/history", headers=h).json()[0]["version"] == 1
    # staff may not read findings; the auditor reads only the granted framework
    assert c.get("/findings", headers=headers(api, "staff")).status_code == 403
    assert c.get("/findings", headers=headers(api, "auditor")).json()["total"] == 1


def test_logout_revokes_the_session_token(api: dict[str, Any]) -> None:
    c = api["client"]
    assert c.post("/auth/login", json={"username": "officer", "password": "officer-password"}).status_code == 200
    token = c.cookies.get("vigil_session")
    assert c.post("/auth/logout").status_code == 204
    c.cookies.set("vigil_session", token)  # replaying the old cookie
    assert c.get("/me").status_code == 401


def test_a_large_import_through_the_api_streams_its_events_in_a_stream_process(
    api: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,200 events: a full first batch, so the stream process is forked from the server's thread."""
    started: list[object] = []
    start = stream_process.StreamProcess.start
    monkeypatch.setattr(stream_process.StreamProcess, "start",
                        classmethod(lambda cls, matcher: started.append(matcher) or start(matcher)))
    c, h = api["client"], headers(api, "officer")
    assert c.post("/records", headers=h, json={"records": [f.establishment()]}).status_code == 200
    events = [f.access(f"AE{i:05d}", f"u{i % 7}", f"PT{i % 13}", f"2026-11-01T{i // 3600:02d}:{i // 60 % 60:02d}:"
                       f"{i % 60:02d}Z", "export" if i % 100 == 0 else "view") for i in range(1200)]
    ok = c.post("/records", headers=h, json={"records": events})
    assert ok.status_code == 200, ok.text
    assert len(started) == 1
    page = c.get("/findings", headers=h, params={"rule": "DEMO-EXPORT-002", "limit": 100}).json()
    assert sorted(i["subject_id"] for i in page["items"]) == [e["id"] for e in events[::100]]
    assert not multiprocessing.active_children()  # the stream process ended with the import


def test_evaluating_an_unknown_framework_is_a_422_that_names_the_known_ones(api: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "officer")
    r = c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T00:00:00Z", "frameworks": ["demo", "dmeo"]})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "frameworks" and "'dmeo'" in r.json()["errors"][0]["reason"]


def test_half_a_surrogate_pair_in_a_posted_record_is_a_422_not_a_crash(api: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "officer")
    body = b'{"records": [{"type": "person", "id": "P1", "dob": "2020-0\\ud83c"}]}'  # JSON allows the escape
    r = c.post("/records", headers={**h, "Content-Type": "application/json"}, content=body)
    assert r.status_code == 422, r.text
    assert "unpaired UTF-16 surrogate" in r.json()["errors"][0]["reason"]


@pytest.mark.parametrize("query, field", [({"severity": "urgent"}, "severity"), ({"state": "open,closed"}, "state"),
                                          ({"status": "late"}, "status")])
def test_a_finding_filter_value_that_cannot_match_is_a_422(api: dict[str, Any], query: dict[str, str],
                                                          field: str) -> None:
    r = api["client"].get("/findings", headers=headers(api, "officer"), params=query)
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == field and "values are:" in error["reason"]



def test_records_take_a_bare_array_or_an_object_as_the_contract_says(api: dict[str, Any]) -> None:
    """CONTRACT.md: "JSON: an array of records, or {"records": [...]}" (as the upload route and the CLI)."""
    c, h = api["client"], headers(api, "officer")
    bare = c.post("/records", headers=h, json=[f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")])
    assert bare.status_code == 200, bare.text
    assert bare.json()["created"] == 2
    wrapped = c.post("/records", headers=h, json={"records": [f.establishment()]})
    assert wrapped.status_code == 200 and wrapped.json()["unchanged"] == 1
    bad = c.post("/records", headers=h, json=[{"type": "employment_episode", "id": "EP2",
                                               "start_at": "2026-02-01T09:00:00"}])
    assert bad.status_code == 422 and "offset" in bad.json()["errors"][0]["reason"]


@pytest.mark.parametrize("body", [5, "records", {"record": []}, {}])
def test_a_records_body_of_another_shape_is_a_422_that_says_what_to_send(api: dict[str, Any], body: Any) -> None:
    r = api["client"].post("/records", headers=headers(api, "officer"), json=body)
    assert r.status_code == 422, r.text
    reasons = " ".join(e["reason"] for e in r.json()["errors"])
    assert "JSON array of records" in reasons and '{"records": [...]}' in reasons, r.text


@pytest.mark.parametrize("body", [[1], {"records": [1]}])
def test_a_bad_item_in_either_shape_is_named_where_it_is(api: dict[str, Any], body: Any) -> None:
    r = api["client"].post("/records", headers=headers(api, "officer"), json=body)
    assert r.status_code == 422, r.text
    assert [(e["index"], e["reason"]) for e in r.json()["errors"]] == [
        (0, "a record must be a JSON object, got the number 1")]


def test_records_that_are_no_list_are_named_where_they_are(api: dict[str, Any]) -> None:
    r = api["client"].post("/records", headers=headers(api, "officer"), json={"records": 3})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.records", r.text


def test_a_null_item_is_refused_with_every_other_records_problems(api: dict[str, Any]) -> None:
    """Probe: `[{...}, null, {... bad dob}]` was a 422 naming only the null (pydantic's "Input should be
    a valid dictionary"); the bad dob after it was never checked (docs/api.md: every problem found)."""
    body = [{"type": "person", "id": "API-1"}, None, {"type": "person", "id": "API-2", "dob": "2026-02-29"}]
    r = api["client"].post("/records", headers=headers(api, "officer"), json=body)
    assert r.status_code == 422, r.text
    assert [(e["index"], e.get("record_id"), e["reason"]) for e in r.json()["errors"]] == [
        (1, None, "a record must be a JSON object, got null"),
        (2, "API-2", "no such date: '2026-02-29'")]


def test_the_openapi_document_shows_both_shapes_of_a_records_body(api: dict[str, Any]) -> None:
    doc = api["client"].get("/openapi.json").json()
    body = doc["paths"]["/records"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    while "$ref" in body:
        body = doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    shapes = body.get("anyOf") or body.get("oneOf")
    assert shapes and {s.get("type") for s in shapes} == {"array", "object"}, body
    as_object = next(s for s in shapes if s.get("type") == "object")
    assert as_object["required"] == ["records"] and as_object["properties"]["records"]["type"] == "array"


def test_an_auditors_token_ends_with_the_grant(api: dict[str, Any]) -> None:
    import datetime as dt

    from engine import clock
    from engine.auth import service as auth
    from engine.auth.schemas import GrantIn, UserIn
    from engine.db import unit_of_work
    from tests.api.conftest import ORG

    ends = (clock.now() + dt.timedelta(days=10)).replace(microsecond=0)
    with unit_of_work(api["engine"]) as s:
        user = auth.create_user(s, org_id=ORG, actor="test",
                                data=UserIn(username="aud2", password="aud2-password", role="auditor"))
        auth.grant_auditor(s, username="aud2", actor="test", data=GrantIn(
            framework="demo", window_from=dt.date(2026, 1, 1), window_to=dt.date(2026, 12, 31), expires_at=ends))
        first = auth.issue_token(s, user_id=user.id, name="t", ttl=dt.timedelta(days=90), actor="test")
    assert first.expires_at == ends and first.note is not None and "grant ends" in first.note
    c = _signed_in(api, "aud2")
    r = c.post("/tokens", json={"name": "long", "days": 366})
    assert r.status_code == 201, r.text
    body = r.json()
    assert dt.datetime.fromisoformat(body["expires_at"]) == ends  # capped, and the response says why
    assert ends.isoformat() in body["note"] and "366 days" in body["note"]
    listed = api["client"].get("/tokens", headers={"Authorization": f"Bearer {body['token']}"}).json()
    assert all(dt.datetime.fromisoformat(t["expires_at"]) <= ends for t in listed)
    short = c.post("/tokens", json={"name": "short", "days": 1})
    assert short.status_code == 201 and short.json()["note"] is None  # within the grant: as asked
    officer = _signed_in(api, "officer").post("/tokens", json={"name": "long", "days": 366}).json()
    assert officer["note"] is None
    assert dt.datetime.fromisoformat(officer["expires_at"]) > clock.now() + dt.timedelta(days=365)


def _signed_in(api: dict[str, Any], username: str) -> Any:
    """A client of its own holding a web session of `username` (password `<username>-password`)."""
    from fastapi.testclient import TestClient

    client = TestClient(api["app"])
    signed = client.post("/auth/login", json={"username": username, "password": f"{username}-password"})
    assert signed.status_code == 200, signed.text
    return client


def test_a_token_cannot_issue_tokens_so_revoking_it_ends_what_it_gave(api: dict[str, Any]) -> None:
    c = api["client"]
    r = c.post("/tokens", headers=headers(api, "officer"), json={"name": "child", "days": 366})
    assert r.status_code == 403 and r.json()["code"] == "auth.token_issues_token", r.text
    assert "POST /auth/login" in r.json()["title"] + r.text
    assert _signed_in(api, "officer").post("/tokens", json={"name": "script"}).status_code == 201


def test_an_admin_revokes_anyones_token_and_switches_a_user_off(api: dict[str, Any]) -> None:
    c, admin = api["client"], headers(api, "admin")
    issued = _signed_in(api, "officer").post("/tokens", json={"name": "laptop"}).json()
    mine = {"Authorization": f"Bearer {issued['token']}"}
    listed = c.get("/users/officer/tokens", headers=admin).json()
    assert issued["id"] in [t["id"] for t in listed] and all("token" not in t for t in listed)
    assert c.get("/users/officer/tokens", headers=headers(api, "officer")).status_code == 403
    # another non-admin cannot even see that the token exists
    assert c.delete(f"/tokens/{issued['id']}", headers=headers(api, "liaison")).status_code == 404
    assert c.get("/me", headers=mine).status_code == 200
    assert c.delete(f"/tokens/{issued['id']}", headers=admin).status_code == 204
    assert c.get("/me", headers=mine).status_code == 401
    assert c.get("/me", headers=headers(api, "officer")).status_code == 200
    # switched off: every token and session stops at once, and signing in is refused
    session = _signed_in(api, "officer")
    off = c.post("/users/officer/deactivate", headers=admin)
    assert off.status_code == 200 and off.json()["active"] is False
    assert c.get("/me", headers=headers(api, "officer")).status_code == 401
    assert session.get("/me").status_code == 401
    assert c.post("/auth/login", json={"username": "officer", "password": "officer-password"}).status_code == 401
    assert c.post("/users/admin/deactivate", headers=admin).status_code == 422  # not yourself
    assert c.post("/users/officer/activate", headers=admin).json()["active"] is True
    assert c.get("/me", headers=headers(api, "officer")).status_code == 401  # revoked tokens stay revoked
    assert _signed_in(api, "officer").get("/me").status_code == 200
    actions = [e["action"] for e in c.get("/audit/entries", headers=admin, params={"limit": 50}).json()]
    assert {"user.deactivate", "user.activate", "token.revoke"} <= set(actions)


def test_an_auditor_sees_the_file_a_cited_record_came_from_not_where_it_lay(api: dict[str, Any],
                                                                             tmp_path: Any) -> None:
    import json

    from engine import pipeline
    from engine.db import unit_of_work
    from tests.api.conftest import ORG

    path = tmp_path / "server" / "imports" / "people.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps([f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")]))
    with unit_of_work(api["engine"]) as s:
        pipeline.ingest_files(s, org_id=ORG, paths=[path], actor="test", stream=False)
    c, officer = api["client"], headers(api, "officer")
    assert c.post("/evaluations", headers=officer, json={"as_of": "2026-03-10T00:00:00Z"}).status_code == 201
    (finding,) = c.get("/findings", headers=officer).json()["items"]
    cited = {role: c.get(f"/findings/{finding['id']}/records", headers=headers(api, role)).json()
             for role in ("officer", "auditor")}
    sources = {role: {r["source"] for r in records} for role, records in cited.items()}
    assert sources == {"officer": {str(path)}, "auditor": {"people.json"}}


def test_the_openapi_document_describes_errors_and_authentication_as_answered(api: dict[str, Any]) -> None:
    """A client generated from /openapi.json must expect problem documents and know how to sign in."""
    import json

    c = api["client"]
    doc = c.get("/openapi.json").json()
    assert set(doc["components"]["securitySchemes"]) == {"bearerAuth", "sessionCookie"}
    text = json.dumps(doc)
    assert "HTTPValidationError" not in text
    for ref in set(__import__("re").findall(r'"\$ref": "#/components/schemas/([^"]+)"', text)):
        assert ref in doc["components"]["schemas"], ref
    findings = doc["paths"]["/findings"]["get"]
    assert findings["security"] and {"401", "403", "422"} <= set(findings["responses"])
    assert "application/problem+json" in findings["responses"]["403"]["content"]
    assert {"404", "409"} <= set(doc["paths"]["/findings/{finding_id}/acknowledge"]["post"]["responses"])
    # as answered (faces probe): a waiver asked again is a 200, a username taken a 409, a busy database a 503
    assert {"200", "201"} <= set(doc["paths"]["/waivers"]["post"]["responses"])
    assert {"409", "503"} <= set(doc["paths"]["/users"]["post"]["responses"])
    assert doc["paths"]["/health"]["get"]["security"] == [] and "401" not in doc["paths"]["/health"]["get"]["responses"]
    # and the answers are what it says: a problem document, and a 401 names the scheme
    r = c.get("/findings", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"].startswith("application/problem+json") and r.json()["code"]
    assert r.json()["errors"] == []  # the documented shape whatever the status (the docs probe: a 401 had none)


def test_a_query_parameter_the_route_does_not_take_is_refused_not_ignored(api: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "officer")
    r = c.get("/tasks", headers=h, params={"assignee": "P-NOPE"})  # the filter is `owner`
    assert r.status_code == 422 and r.json()["code"] == "input.unknown_parameter", r.text
    (problem,) = r.json()["errors"]
    assert problem["field"] == "assignee" and "owner" in problem["reason"]
    known = c.get("/tasks", headers=h, params={"owner": "P-NOPE"})  # a parameter it takes: checked as a filter
    assert known.status_code == 422 and known.json()["errors"][0]["field"] == "owner", known.text
    assert c.get("/findings", headers=h, params={"limit": 5}).status_code == 200  # declared ones still work


def test_findings_filter_by_subject_as_findings_name_it_or_by_its_id(api: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "officer")
    records = [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")]
    assert c.post("/records", headers=h, json={"records": records}).status_code == 200
    assert c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T00:00:00Z"}).status_code == 201
    (finding,) = c.get("/findings", headers=h).json()["items"]
    named = f"{finding['subject_type']}/{finding['subject_id']}"
    for subject in (named, finding["subject_id"], f"person/X,{named}"):
        assert c.get("/findings", headers=h, params={"subject": subject}).json()["total"] == 1, subject
    assert c.get("/findings", headers=h, params={"subject": "incident/EP1"}).json()["total"] == 0


def test_findings_sort_by_severity_or_due_and_a_cursor_keeps_to_its_order(api: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "officer")
    records = [f.establishment()] + [f.episode(f"EP{i}", f"P{i}", "2026-02-01T09:00:00-06:00") for i in range(3)]
    assert c.post("/records", headers=h, json={"records": records}).status_code == 200
    assert c.post("/evaluations", headers=h, json={"as_of": "2026-03-10T00:00:00Z"}).status_code == 201
    for sort in ("newest", "severity", "due"):
        page = c.get("/findings", headers=h, params={"sort": sort, "limit": 2})
        assert page.status_code == 200 and page.json()["total"] == 3, page.text
        rest = c.get("/findings", headers=h, params={"sort": sort, "limit": 2, "cursor": page.json()["next_cursor"]})
        assert len({x["id"] for x in page.json()["items"] + rest.json()["items"]}) == 3
    cursor = c.get("/findings", headers=h, params={"sort": "due", "limit": 1}).json()["next_cursor"]
    other = c.get("/findings", headers=h, params={"sort": "severity", "cursor": cursor})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "cursor", other.text
    unknown = c.get("/findings", headers=h, params={"sort": "worst"})
    assert unknown.status_code == 422 and "sort" in unknown.text, unknown.text
    # the tasks list's cursor ([due date, task id]) had read as the findings list's first form: a 200
    # with an empty page, which a script takes for the end of the list; and the other way round
    tasks = c.get("/tasks", headers=h, params={"limit": 1}).json()["next_cursor"]
    assert tasks
    for sort in (None, "due"):
        wrong = c.get("/findings", headers=h, params={"cursor": tasks} | ({"sort": sort} if sort else {}))
        assert wrong.status_code == 422 and "not a cursor this list gave out" in wrong.text, wrong.text
    found = c.get("/findings", headers=h, params={"limit": 1}).json()["next_cursor"]
    assert c.get("/tasks", headers=h, params={"cursor": found}).status_code == 422


@pytest.mark.parametrize("sort, after", [
    ("severity", [None, "2026-12-07T12:54:19+00:00", "F-x"]),
    ("severity", [{}, "2026-12-07T12:54:19+00:00", "F-x"]),
    ("severity", [10**30, "2026-12-07T12:54:19+00:00", "F-x"]),
    ("severity", [True, "2026-12-07T12:54:19+00:00", "F-x"]),
    ("due", [0, [1], "2026-12-07T12:54:19+00:00", "F-x"]),
    ("due", ["0", "2026-12-01", "2026-12-07T12:54:19+00:00", "F-x"]),
])
def test_a_forged_cursor_is_a_422_not_a_500(api: dict[str, Any], sort: str, after: list[Any]) -> None:
    """Session 48's REST pass: a cursor whose keys had the wrong types (a null rank, 10**30, a list)
    reached the database and answered 500; so did one nested a thousand deep, in both lists."""
    c, h = api["client"], headers(api, "officer")
    forged = base64.urlsafe_b64encode(json.dumps({"sort": sort, "after": after}).encode()).decode()
    r = c.get("/findings", headers=h, params={"sort": sort, "cursor": forged})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor", r.text


def test_a_deeply_nested_cursor_is_a_422_in_both_lists(api: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "officer")
    deep = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode()
    for path in ("/findings", "/tasks"):
        r = c.get(path, headers=h, params={"cursor": deep})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor", (path, r.text)


def test_a_cookie_signed_request_from_another_site_is_refused(api: dict[str, Any]) -> None:
    """A page elsewhere could make a signed-in officer's browser post to the API with their cookie."""
    browser = _signed_in(api, "officer")
    evil = {"Origin": "http://evil.example"}
    r = browser.post("/evaluations", json={"as_of": "2026-03-10T00:00:00Z"}, headers=evil)
    assert r.status_code == 403 and r.json()["code"] == "permission_denied.cross_site", r.text
    assert browser.get("/me", headers=evil).status_code == 200  # reading is not what CSRF abuses
    home = {"Origin": str(browser.base_url).rstrip("/")}
    assert browser.post("/tokens", json={"name": "mine"}, headers=home).status_code == 201
    bearer = {**headers(api, "officer"), **evil}  # a script's token is not a browser's ambient credential
    assert api["client"].post("/evaluations", json={"as_of": "2026-03-10T00:00:00Z"}, headers=bearer).status_code != 403


@pytest.mark.parametrize("prefix, suffix", [("[", "]"), ('{"records": [', "]}")])
def test_a_field_given_twice_is_refused_at_its_record_and_nothing_is_imported(
        api: dict[str, Any], prefix: str, suffix: str) -> None:
    """As the file import: a parser keeps the last value, so P-2 would silently become P-3."""
    c, h = api["client"], headers(api, "officer")
    body = (prefix + '{"type": "establishment", "id": "E9", "name": "North", "state": "IL", "tz": "America/Chicago"},'
            '{"type": "person", "id": "P-2", "id": "P-3", "first_name": "Ana", "last_name": "Diaz",'
            ' "extra": {"a": 1, "a": 2}}' + suffix).encode()
    r = c.post("/records", headers={**h, "Content-Type": "application/json"}, content=body)
    assert r.status_code == 422, r.text
    # and the record's other problems with them (a person has no field `extra`), as a file import says them
    assert [(e["index"], e["field"]) for e in r.json()["errors"]] == [(1, "id"), (1, "extra.a"), (1, "extra")]
    assert "given twice" in r.json()["errors"][0]["reason"]
    assert c.get("/records/establishment/E9", headers=h).status_code == 404


@pytest.mark.parametrize("base, secure", [("http://testserver", False), ("https://testserver", True)])
def test_the_session_cookie_is_secure_over_https(api: dict[str, Any], base: str, secure: bool) -> None:
    """A session token sent back over plain HTTP could be read on the way: over HTTPS the cookie says Secure."""
    from fastapi.testclient import TestClient

    client = TestClient(api["client"].app, base_url=base)
    r = client.post("/auth/login", json={"username": "officer", "password": "officer-password"})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "path=/" in cookie
    assert ("; secure" in cookie) is secure


def test_revoking_an_auditors_last_grant_ends_their_tokens_for_good(api: dict[str, Any]) -> None:
    """Left alive, the token answered 403 'no grant', then worked again with the next grant given."""
    client = api["client"]
    admin = {"Authorization": f"Bearer {api['tokens']['admin']}"}
    auditor = {"Authorization": f"Bearer {api['tokens']['auditor']}"}
    assert client.get("/me", headers=auditor).status_code == 200
    second = client.post("/users/auditor/grants", headers=admin, json={
        "framework": "demo", "window_from": "2026-01-01", "window_to": "2026-12-31",
        "expires_at": f.grant_expiry().isoformat()})
    assert second.status_code == 201, second.text
    from sqlalchemy import select

    from engine.auth import service as auth
    from engine.auth.tables import GrantRow, UserRow
    from engine.db import unit_of_work

    with unit_of_work(api["engine"]) as s:
        grants = list(s.scalars(select(GrantRow.id)))
    assert len(grants) == 2, grants
    # the new grant replaced the first, and the token made for the first ended with it
    assert client.get("/me", headers=auditor).status_code == 401
    with unit_of_work(api["engine"]) as s:
        user_id = s.scalar(select(UserRow.id).where(UserRow.username == "auditor"))
        auditor = {"Authorization": "Bearer " + auth.issue_token(
            s, user_id=user_id, name="t2", ttl=dt.timedelta(days=1), actor="t").token}
    assert client.get("/me", headers=auditor).status_code == 200
    first = next(g for g in grants if g != second.json()["id"])
    assert client.delete(f"/grants/{first}", headers=admin).status_code == 409  # superseded already
    assert client.delete(f"/grants/{second.json()['id']}", headers=admin).status_code == 204
    assert client.get("/me", headers=auditor).status_code == 401
    again = client.post("/users/auditor/grants", headers=admin, json={
        "framework": "demo", "window_from": "2026-01-01", "window_to": "2026-12-31",
        "expires_at": f.grant_expiry().isoformat()})
    assert again.status_code == 201, again.text
    assert client.get("/me", headers=auditor).status_code == 401  # a new grant revives no old token


def test_an_anonymous_caller_is_asked_to_sign_in_before_anything_about_the_query(api: dict[str, Any]) -> None:
    """A 422 listing the parameters a route takes had answered callers with no credentials."""
    c = api["client"]
    for path in ("/users?x=1", "/findings?framework=", "/tasks?owner=a&owner=b"):
        r = c.get(path)
        assert r.status_code == 401 and r.json()["code"] == "auth.required", (path, r.text)
        assert "it takes" not in r.text
    assert c.get("/health?x=1").status_code == 422  # a public route still checks its query


def test_an_import_names_references_to_records_the_practice_does_not_hold(api: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "officer")
    ok = c.post("/records", headers=h, json={"records": [f.training("T1", "P-404", "2026-01-05T15:00:00Z")]})
    assert ok.status_code == 200, ok.text
    (warning,) = ok.json()["unknown_references"]
    assert (warning["record_id"], warning["field"], warning["names_id"]) == ("T1", "person_id", "P-404")
    assert "names person 'P-404'" in warning["reason"]


def test_the_records_a_finding_cites_are_paged_and_counted(api: dict[str, Any]) -> None:
    """Large-practice probe (session 42): a measure finding citing 12,501 cases listed 200 of them with
    no word of the rest, one query per record."""
    from types import SimpleNamespace

    from engine import pipeline
    from engine.db import unit_of_work
    from tests.api.conftest import ORG

    episodes = [f.episode(f"EP{i}", f"P{i}", "2026-02-01T09:00:00-06:00") for i in range(5)]
    with unit_of_work(api["engine"]) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.establishment(), *episodes], actor="t", source="t",
                                stream=False)
        many = SimpleNamespace(evidence=[{"type": "employment_episode", "id": f"EP{i}", "version": 1}
                                         for i in (4, 2, 0, 3, 1)] + [{"type": "person", "id": "NOBODY"}])
        page, total = pipeline.cited_records(s, org_id=ORG, finding_id="-", finding=many, offset=1, limit=3)
    assert [r.id for r in page] == ["EP2", "EP0", "EP3"] and total == 6  # in the order cited
    c, officer = api["client"], headers(api, "officer")
    assert c.post("/evaluations", headers=officer, json={"as_of": "2026-03-10T00:00:00Z"}).status_code == 201
    finding = c.get("/findings", headers=officer).json()["items"][0]
    first = c.get(f"/findings/{finding['id']}/records", headers=officer, params={"limit": 1})
    assert first.status_code == 200 and first.headers["X-Total-Count"] == str(len(finding["evidence"]))
    assert len(first.json()) == 1
    assert c.get(f"/findings/{finding['id']}/records", headers=officer, params={"limit": 0}).status_code == 422
