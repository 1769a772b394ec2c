"""Every route declares a permission, and every role gets exactly what the role table allows.

The expected outcome comes from one table (engine.auth.roles.ROLE_PERMISSIONS): a role without the
route's permission gets 403; a role with it never gets 401/403. A new route without `require(...)`
or `public()` fails the first test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute

from engine.api.deps import api_routes, route_permission
from engine.auth.roles import ROLE_PERMISSIONS, Permission
from tests.api.conftest import ROLES, headers

OPEN_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _routes(app: Any) -> list[tuple[str, APIRoute]]:
    return api_routes(app)


def test_every_route_declares_a_permission(api: dict[str, Any]) -> None:
    routes = _routes(api["app"])
    assert len(routes) >= 25
    missing = [f"{sorted(r.methods)} {p}{r.path}" for p, r in routes if route_permission(r) is None]
    assert not missing, f"routes without require(...) or public(): {missing}"


def _cases(app: Any) -> list[tuple[str, str, str]]:
    out = []
    for prefix, r in _routes(app):
        perm = route_permission(r)
        if perm == "public":
            continue
        for method in sorted(r.methods - {"HEAD", "OPTIONS"}):
            out.append((method, prefix + r.path, str(perm)))
    return out


def test_role_by_route_matrix(api: dict[str, Any]) -> None:
    client, app = api["client"], api["app"]
    failures = []
    cases = _cases(app)
    assert len(cases) >= 20
    for method, path, perm in cases:
        url = re.sub(r"\{[^}]+\}", "x-probe", path)
        for role in ROLES:
            may = Permission(perm) in ROLE_PERMISSIONS[role]
            resp = client.request(method, url, headers=headers(api, role), json={})
            if may and resp.status_code in (401, 403):
                failures.append(f"{role} {method} {path}: {resp.status_code} but the table allows {perm}")
            if not may and resp.status_code != 403:
                failures.append(f"{role} {method} {path}: {resp.status_code}, expected 403 ({perm} not granted)")
            if resp.status_code >= 500:
                failures.append(f"{role} {method} {path}: server error {resp.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("method, path", [("GET", "/findings"), ("POST", "/evaluations"), ("GET", "/me")])
def test_anonymous_callers_are_refused(api: dict[str, Any], method: str, path: str) -> None:
    resp = api["client"].request(method, path, json={})
    assert resp.status_code == 401 and resp.json()["code"] == "auth.required"
