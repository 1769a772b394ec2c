"""The OpenAPI description as the API really answers: every error is an RFC 9457 problem document,
and how to authenticate is stated, so a client generated from it handles 401/403/404/409/422.

Why written out here: FastAPI documents only 200 and its own 422 shape (`HTTPValidationError`),
while `engine.api.errors` answers every error as `application/problem+json` with `errors` naming
the field, record or line. A client generated from the default document expected the wrong body.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from engine.api.deps import SESSION_COOKIE, api_routes, route_permission
from engine.auth.roles import PERMISSION_NOTES, ROLES, Permission, allowed

PROBLEM_MEDIA = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `errors` lists every problem found (all at once, never the first only).",
    "required": ["type", "title", "status", "detail", "code", "errors"],
    "properties": {
        "type": {"type": "string", "format": "uri", "examples": ["https://vigil.invalid/problems/input.request"]},
        "title": {"type": "string", "description": "a short summary of the kind of problem, e.g. Invalid input, "
                  "Not found, Forbidden (`code` says which problem exactly)"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "what went wrong, in a sentence"},
        "code": {"type": "string", "description": "stable machine-readable code, e.g. permission_denied"},
        "instance": {"type": "string", "description": "the request path"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemDetail"}},
    },
}

DETAIL_SCHEMA: dict[str, Any] = {
    "title": "ProblemDetail",
    "type": "object",
    "description": "One problem: where (any of field, record_type, record_id, file, line, index) and why.",
    "required": ["reason"],
    "properties": {
        "reason": {"type": "string"},
        "field": {"type": "string"},
        "record_type": {"type": "string"},
        "record_id": {"type": "string"},
        "file": {"type": "string"},
        "line": {"type": "integer"},
        "index": {"type": "integer"},
    },
    "additionalProperties": True,
}

#: status -> when it is answered (the description each operation gets)
ERRORS = {
    401: "not signed in, or the token or session has expired or been revoked",
    403: "signed in, but the role (or an auditor's grant) does not allow this",
    404: "no such resource, or one outside the caller's scope",
    409: "the resource is not in a state that allows this (e.g. an invalid finding transition), or another "
         "request changed the same data at the same moment (`conflict.concurrent`: retry)",
    413: "the body is over this route's limit (`input.too_large`), with or without a Content-Length: send less "
         "in one request",
    422: "the request or its records are invalid: every problem is listed in `errors` (a body that cannot be "
         "read at all, JSON or multipart, too: it is never a 400)",
    503: "the database is busy or unreachable (`Retry-After`); nothing was changed: retry",
}


def install(app: FastAPI) -> None:
    """Replace the app's OpenAPI document builder (called once the routers are included)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(app)
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def describe(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"], schemas["ProblemDetail"] = PROBLEM_SCHEMA, DETAIL_SCHEMA
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer",
                       "description": "an API token (POST /tokens from a signed-in session)"},
        "sessionCookie": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                          "description": "the web session set by POST /auth/login"},
    }
    # by the document's path: `{id}` where the route says `{id:path}`
    permissions = {(method, prefix + route.path_format): route_permission(route)
                   for prefix, route in api_routes(app) for method in route.methods}
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            permission = permissions.get((method.upper(), path))
            is_public = permission == "public"
            _state_permission(op, permission)
            # a route may name its own credentials (`openapi_extra`): the session-only ones
            op.setdefault("security", [] if is_public else [{"bearerAuth": []}, {"sessionCookie": []}])
            statuses = {422} if is_public else {401, 403, 422}
            if "{" in path:
                statuses.add(404)
            if method in ("post", "put", "patch", "delete"):
                statuses.add(409)  # a state that refuses it, or a concurrent write of the same rows
            statuses.add(503)
            if "requestBody" in op:
                statuses.add(413)
            for status in sorted(statuses | _own_errors(op)):
                said = op["responses"].get(str(status), {}).get("description")
                if status == 413 and not said:
                    said = _too_large(path)
                op["responses"][str(status)] = {
                    "description": said if said and said != FASTAPI_422 else ERRORS[status],
                    "content": {PROBLEM_MEDIA: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
    return doc


def _too_large(path: str) -> str:
    """A route's 413, with its own limit (`engine.api.body_limit`): 1 MB for a comment had read as
    the 200 MB of an upload, or as no limit at all (413 was not declared)."""
    from engine.api.app import MAX_BODY_BYTES  # the app builds this document: loaded by then
    from engine.api.body_limit import limit_for

    size = limit_for(path, MAX_BODY_BYTES) / 2**20
    return (f"the body is over this route's limit of {size:g} MB (`input.too_large`), with or without a "
            "Content-Length: send less in one request")


#: the description FastAPI gives the 422 it documents on its own (replaced by `ERRORS[422]`)
FASTAPI_422 = "Validation Error"


def _own_errors(op: dict[str, Any]) -> set[int]:
    """The error statuses a route declared itself (`responses={404: {"description": ...}}`), each
    answered as a problem document with the route's own description."""
    return {int(code) for code in op["responses"] if code.isdigit() and int(code) >= 400}


def _state_permission(op: dict[str, Any], permission: str | None) -> None:
    """Say the permission an operation needs, from the route's own `require(...)`: as `x-permission`
    for a client to read and at the end of its description with the roles that hold it (the same
    table docs/api.md prints: `permission_table`)."""
    if permission is None:
        return
    op["x-permission"] = permission
    said = op.get("description", "").rstrip()
    op["description"] = f"{said}\n\n{_permission_said(permission)}".lstrip()


def _permission_said(permission: str) -> str:
    if permission == "public":
        return "**Permission:** none (public)."
    roles = ", ".join(role for role in ROLES if allowed(role, Permission(permission)))
    return f"**Permission:** `{permission}` (roles: {roles})."


def permission_table(app: FastAPI) -> str:
    """docs/api.md's role table, as Markdown: each permission, the roles that hold it
    (`engine.auth.roles.ROLE_PERMISSIONS`), what it allows and the operations of the OpenAPI
    document that ask for it (their `x-permission`, from each route's `require(...)`).
    tests/api/test_api_fixes_permissions.py compares it with the page, so the page cannot drift
    from the code."""
    operations: dict[str, list[str]] = {}
    for path, ops in app.openapi().get("paths", {}).items():
        for method, op in ops.items():
            if isinstance(op, dict) and "x-permission" in op:
                operations.setdefault(op["x-permission"], []).append(f"`{method.upper()} {path}`")
    lines = ["| permission | " + " | ".join(ROLES) + " | allows | operations |",
             "|---|" + "---|" * len(ROLES) + "---|---|"]
    for permission in Permission:
        marks = " | ".join("yes" if allowed(role, permission) else "-" for role in ROLES)
        ops = ", ".join(sorted(operations.get(permission.value, []))) or "-"
        lines.append(f"| `{permission.value}` | {marks} | {PERMISSION_NOTES[permission]} | {ops} |")
    public = ", ".join(sorted(operations.get("public", []))) or "-"
    everyone = " | ".join("yes" for _ in ROLES)
    lines.append(f"| none (public) | {everyone} | anyone, signed in or not | {public} |")
    return "\n".join(lines) + "\n"
