"""One mapping from Vigil errors to HTTP: RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import VigilError

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, code: str, errors: list[dict[str, Any]] | None = None,
            instance: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": f"https://vigil.invalid/problems/{code}", "title": title, "status": status,
                            "detail": detail, "code": code}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install(app: FastAPI) -> None:
    @app.exception_handler(VigilError)
    async def vigil_error(request: Request, exc: VigilError) -> JSONResponse:
        response = problem(exc.http_status, type(exc).__name__, exc.message, exc.code,
                           [d.to_dict() for d in exc.details], str(request.url.path))
        if exc.http_status == 401:  # RFC 9110: a 401 names the scheme that would succeed
            response.headers["WWW-Authenticate"] = 'Bearer realm="vigil"'
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg", "")}
                  for e in exc.errors()]
        return problem(422, "RequestValidationError", "the request does not match the schema", "input.request",
                       errors, str(request.url.path))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        """The safety net: a failure nobody mapped is still a problem body, not plain text. It says
        nothing of the failure itself (that goes to the server log, as Starlette re-raises it)."""
        return problem(500, "InternalServerError", "the server failed to handle this request; it has been logged, "
                       "and retrying will not help until it is fixed", "server.unexpected", None,
                       str(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, "HTTPError", str(exc.detail), f"http.{exc.status_code}", None,
                       str(request.url.path))
