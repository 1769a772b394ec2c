"""What the API answers is what its OpenAPI document declares (statuses, credentials, media types),
signing out with an API token is refused rather than answered 204 with the token still working,
and a report outside an auditor's grant is not found without blaming a parameter the route lacks."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from engine.api.deps import api_routes, route_permission
from tests.api.conftest import ROLES, headers


def _doc(api: dict[str, Any]) -> dict[str, Any]:
    return dict(api["client"].get("/openapi.json").json())


def _signed_in(api: dict[str, Any], role: str) -> TestClient:
    client = TestClient(api["app"])
    assert client.post("/auth/login", json={"username": role, "password": f"{role}-password"}).status_code == 200
    return client


# -- POST /auth/logout with a token -------------------------------------------------------------------


def test_signing_out_with_an_api_token_is_refused_and_says_how_to_end_it(api: dict[str, Any]) -> None:
    c, h = api["client"], headers(api, "officer")
    r = c.post("/auth/logout", headers=h)
    assert r.status_code == 403 and r.json()["code"] == "auth.token_logout", r.text
    assert "DELETE /tokens/{id}" in r.json()["detail"] and "vigil users revoke-token" in r.json()["detail"]
    assert c.get("/me", headers=h).status_code == 200  # as the answer says: the token still works


def test_signing_out_a_session_still_ends_it(api: dict[str, Any]) -> None:
    browser = _signed_in(api, "officer")
    assert browser.get("/me").status_code == 200
    cookie = browser.cookies.get("vigil_session")
    assert browser.post("/auth/logout").status_code == 204
    assert api["client"].get("/me", cookies={"vigil_session": cookie}).status_code == 401


# -- reports outside an auditor's grant ----------------------------------------------------------------


def test_a_report_of_another_framework_is_refused_as_outside_the_grant(api: dict[str, Any]) -> None:
    """The fixture's auditor holds a demo grant: the ITA 300A (osha) and QPP (cms) are outside it. The
    answer is the findings' and packets' 403 (it had been a 404 saying "outside the audit grant")."""
    c, h = api["client"], headers(api, "auditor")
    for path, params, framework in (("/reports/ita-300a", {"year": "2026"}, "osha"),
                                    ("/reports/qpp", {"year": "2026", "tin": "847102935"}, "cms")):
        r = c.get(path, headers=h, params=params)
        assert r.status_code == 403, r.text
        body = r.json()
        assert body["code"] == "permission_denied.outside_grant" and body["title"] == "Forbidden"
        assert body["detail"] == f"the {framework} report for 2026 is outside your grant"
        assert body["errors"] == [{"reason": f"the report is of {framework}, outside your grant (demo)"}], body
        assert c.get(path, headers=headers(api, "officer"), params=params).status_code != 403  # no grant


# -- the OpenAPI document's declarations ---------------------------------------------------------------


def test_the_documented_statuses_security_and_media_types(api: dict[str, Any]) -> None:
    paths = _doc(api)["paths"]
    login = paths["/auth/login"]["post"]
    assert "401" in login["responses"] and "auth.invalid_credentials" in login["responses"]["401"]["description"]
    assert "application/problem+json" in login["responses"]["401"]["content"]
    for path in ("/reports/ita-300a", "/reports/qpp"):
        assert "permission_denied.outside_grant" in paths[path]["get"]["responses"]["403"]["description"], path
    for path, code in (("/tokens", "auth.token_issues_token"), ("/me/password", "auth.token_changes_password"),
                       ("/auth/logout", "auth.token_logout")):
        op = paths[path]["post"]
        assert op["security"] == [{"sessionCookie": []}], path
        assert code in op["responses"]["403"]["description"], path
    assert paths["/tokens"]["get"]["security"] == [{"bearerAuth": []}, {"sessionCookie": []}]
    assert paths["/health"]["get"]["security"] == []
    download = paths["/packets/{packet_id}/download"]["get"]["responses"]["200"]
    assert list(download["content"]) == ["application/zip"]


def test_bodies_declare_their_413_csv_and_downloads_their_types_and_no_route_a_400(api: dict[str, Any]) -> None:
    """API pass: 413 was answered but declared nowhere, nor the ITA 300A's CSV schema; attachment
    downloads said `*/*`; and a 400 some bodies got was declared by no route."""
    paths = _doc(api)["paths"]
    bodies = 0
    for path, ops in paths.items():
        for method, op in ops.items():
            assert "400" not in op["responses"], (method, path)
            if "requestBody" in op:
                bodies += 1
                said = op["responses"]["413"]["description"]
                size = "200 MB" if path in ("/records", "/records/import", "/packets/verify",
                                            "/tasks/{task_id}/attachments") \
                    else "16 MB" if path.startswith("/rulesets/") else "1 MB"
                assert f"limit of {size} (`input.too_large`)" in said, (method, path, said)
    assert bodies >= 30
    report = paths["/reports/ita-300a"]["get"]["responses"]["200"]["content"]
    assert report["text/csv"] == {"schema": {"type": "string"}} and "application/json" in report
    download = paths["/tasks/{task_id}/attachments/{ref}"]["get"]["responses"]["200"]["content"]
    assert "*/*" not in download and {"application/pdf", "image/jpeg", "text/plain"} <= set(download)


def test_a_body_over_the_limit_is_a_declared_413_on_every_route_that_takes_one(
        api: dict[str, Any], monkeypatch: Any) -> None:
    from engine.api import app as app_module

    c, paths = api["client"], _doc(api)["paths"]
    monkeypatch.setattr(app_module, "MAX_BODY_BYTES", 10)
    for prefix, route in api_routes(api["app"]):
        path = prefix + route.path_format
        for method in route.methods:
            op = paths.get(path, {}).get(method.lower())
            if op is None or "requestBody" not in op:
                continue
            r = c.request(method, re.sub(r"\{[^}]+\}", "x-probe", path), headers=headers(api, "admin"),
                          json={"padding": "x" * 100})
            assert r.status_code == 413 and "413" in op["responses"], (method, path, r.status_code)


def test_what_each_route_answers_a_role_is_declared(api: dict[str, Any]) -> None:
    """The role x route probe of tests/api/test_route_matrix.py, each answer's status looked up in
    the operation's declared responses: a status a route answers but does not declare fails."""
    c, paths = api["client"], _doc(api)["paths"]
    undeclared: list[str] = []
    probes = 0
    for prefix, route in api_routes(api["app"]):
        path = prefix + route.path_format
        if path not in paths:
            continue
        url = re.sub(r"\{[^}]+\}", "x-probe", path)
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            declared = set(paths[path][method.lower()]["responses"])
            callers = [None] if route_permission(route) == "public" else [None, *ROLES]
            for role in callers:
                r = c.request(method, url, headers=headers(api, role) if role else {}, json={})
                probes += 1
                if str(r.status_code) not in declared:
                    undeclared.append(f"{role} {method} {path}: {r.status_code} {r.text[:120]} "
                                      f"(declared {sorted(declared)})")
    assert probes >= 200
    assert not undeclared, "\n".join(undeclared)


def test_a_wrong_password_and_a_token_on_session_only_routes_answer_as_declared(api: dict[str, Any]) -> None:
    c, paths = api["client"], _doc(api)["paths"]
    answers = {
        ("/auth/login", "post"): c.post("/auth/login", json={"username": "officer", "password": "wrong-password"}),
        ("/tokens", "post"): c.post("/tokens", headers=headers(api, "officer"), json={"name": "x"}),
        ("/me/password", "post"): c.post("/me/password", headers=headers(api, "officer"), json={
            "current_password": "officer-password", "new_password": "another-password-1"}),
        ("/reports/ita-300a", "get"): c.get("/reports/ita-300a", headers=headers(api, "auditor"),
                                            params={"year": "2026"}),
    }
    for (path, method), r in answers.items():
        assert r.status_code in (401, 403, 404), (path, r.text)
        assert str(r.status_code) in paths[path][method]["responses"], (path, r.status_code)


def test_the_waiver_examples_name_a_subject_type_their_rule_reports(api: dict[str, Any]) -> None:
    """API pass: WaiverIn's examples paired HIPAA-SEC-TERM-004 with employment_episode, which the
    waiver checks refuse ("reports its subjects as account"): sent as given, the example failed."""
    from pathlib import Path

    from engine.findings import known

    props = _doc(api)["components"]["schemas"]["WaiverIn"]["properties"]
    rule, subject_type = props["rule_id"]["examples"][0], props["subject_type"]["examples"][0]
    shipped = known.ruleset_index(Path(__file__).resolve().parents[2] / "rulesets")
    assert subject_type in shipped.rules[rule].subject_types, (rule, subject_type)


def test_the_operations_that_need_a_reason_say_so(api: dict[str, Any]) -> None:
    """API pass: the body of false-positive reads as optional, and a missing reason is a 422."""
    paths = _doc(api)["paths"]
    for action in ("false-positive", "close"):
        assert "`reason` is required" in paths[f"/findings/{{finding_id}}/{action}"]["post"]["description"], action
    assert "required" not in paths["/findings/{finding_id}/acknowledge"]["post"]["description"]


def test_a_findings_history_says_lists_leave_it_empty(api: dict[str, Any]) -> None:
    """API pass: list items carry `history: []` beside a detail with five events, and nothing said so."""
    history = _doc(api)["components"]["schemas"]["Finding"]["properties"]["history"]
    assert "a list leaves it empty" in history["description"] and "GET /findings/{id}" in history["description"]
