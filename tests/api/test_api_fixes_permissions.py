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
