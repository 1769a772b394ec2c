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

PROBLEM_MEDIA = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `errors` lists every problem found (all at once, never the first only).",
    "required": ["type", "title", "status", "detail", "code", "errors"],
    "properties": {
        "type": {"type": "string", "format": "uri", "examples": ["https://vigil.invalid/problems/input.request"]},
        "title": {"type": "string", "description": "the error class, e.g. InputError, PermissionDeniedError"},
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
    422: "the request or its records are invalid: every problem is listed in `errors`",
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
    public = {(method, prefix + route.path) for prefix, route in api_routes(app)
              for method in route.methods if route_permission(route) == "public"}
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            is_public = (method.upper(), path) in public
            op["security"] = [] if is_public else [{"bearerAuth": []}, {"sessionCookie": []}]
            statuses = [422] if is_public else [401, 403, 422]
            if "{" in path:
                statuses.append(404)
            if method in ("post", "put", "patch", "delete"):
                statuses.append(409)  # a state that refuses it, or a concurrent write of the same rows
            statuses.append(503)
            for status in sorted(statuses):
                op["responses"][str(status)] = {
                    "description": ERRORS[status],
                    "content": {PROBLEM_MEDIA: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
    return doc
