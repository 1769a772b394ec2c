"""The role -> permission matrix is written down where a client reads it: docs/api.md's table,
generated from engine/auth/roles.py and the routes (checked here, so it cannot drift), and each
OpenAPI operation's `x-permission`, from the route's own `require(...)`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine.api.deps import api_routes, route_permission
from engine.api.openapi import permission_table
from engine.auth.roles import PERMISSION_NOTES, ROLES, Permission, allowed

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
TABLE = re.compile(r"<!-- permission-table: [^\n]*-->\n\n(.*?)<!-- end permission-table -->", re.S)


def test_the_docs_table_is_the_role_table_and_the_routes(api: dict[str, Any]) -> None:
    found = TABLE.search(DOC.read_text(encoding="utf-8"))
    assert found, "docs/api.md has no generated permission table"
    expected = permission_table(api["app"])
    assert found.group(1) == expected, f"docs/api.md's permission table is stale; paste this in its place:\n{expected}"


def test_the_table_marks_each_role_as_the_role_table_does(api: dict[str, Any]) -> None:
    rows = {line.split(" | ")[0].strip("| `"): line.split(" | ")[1:1 + len(ROLES)]
            for line in permission_table(api["app"]).splitlines()[2:]}
    for permission in Permission:
        assert rows[permission.value] == ["yes" if allowed(r, permission) else "-" for r in ROLES], permission
    assert set(PERMISSION_NOTES) == set(Permission)


def test_every_operation_states_the_permission_its_route_requires(api: dict[str, Any]) -> None:
    doc = api["client"].get("/openapi.json").json()
    stated = {(m.upper(), p): op.get("x-permission") for p, ops in doc["paths"].items() for m, op in ops.items()}
    checked = 0
    for prefix, route in api_routes(api["app"]):
        for method in route.methods - {"HEAD", "OPTIONS"}:
            key = (method, prefix + route.path_format)
            if key in stated:
                assert stated[key] == route_permission(route), key
                checked += 1
    assert checked == len(stated) >= 40
    waive = doc["paths"]["/findings/{finding_id}/waive"]["post"]
    assert waive["description"].endswith("**Permission:** `findings.waive` (roles: admin, officer).")
    assert doc["paths"]["/health"]["get"]["description"].endswith("**Permission:** none (public).")


def test_a_body_that_cannot_be_read_is_answered_after_who_may_send_it(api: dict[str, Any]) -> None:
    """The black-box pass: FastAPI parses a body before the route's `require(...)` runs, so a broken
    JSON body was a 422 for anyone (staff, who may not comment, told what was wrong with their
    comment; an anonymous caller too). Every route that reads a body answers 401, then 403, first."""
    from fastapi.testclient import TestClient

    from tests.api.conftest import headers

    c = TestClient(api["app"])
    checked = 0
    for prefix, route in api_routes(api["app"]):
        field, permission = route.body_field, route_permission(route)
        if field is None or permission in (None, "public") or prefix.startswith("/ui"):
            continue  # the web UI's forms answer with pages of their own
        url = prefix + re.sub(r"\{[^}:]+(:path)?\}", "x-probe", route.path_format)
        multipart = field.field_info.media_type == "multipart/form-data"
        kind = "multipart/form-data" if multipart else "application/json"  # no boundary / cut short: unreadable
        for method in route.methods:
            answers = {role: c.request(method, url, content=b'{"text": ',
                                       headers={"content-type": kind} | (headers(api, role) if role else {}))
                       for role in (None, *ROLES)}
            assert answers[None].status_code == 401, (method, url, answers[None].text)
            for role in ROLES:  # the fixture's auditor holds a grant
                expected = 422 if allowed(role, Permission(permission)) else 403
                assert answers[role].status_code == expected, (role, method, url, answers[role].text)
            checked += 1
    assert checked >= 25


def test_a_broken_body_is_still_its_422_when_the_database_does_not_answer(api: dict[str, Any],
                                                                           monkeypatch: Any) -> None:
    """Who the caller is is asked of the database; when it does not answer, the body's own 422 stands
    (an error inside the error handler would be a bare 500)."""
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import OperationalError

    from engine.auth import service as auth_service
    from tests.api.conftest import headers

    def unanswered(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(auth_service, "resolve_token", unanswered)
    r = TestClient(api["app"]).post("/findings/F-x/comments", content=b'{"text": ',
                                    headers=headers(api, "officer") | {"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body", r.text
