"""One mapping from Vigil errors to HTTP: RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import VigilError

log = logging.getLogger("vigil.api")

PROBLEM = "application/problem+json"
#: seconds a 503 asks the client to wait before retrying
RETRY_AFTER = "5"


def problem(status: int, title: str, detail: str, code: str, errors: list[dict[str, Any]] | None = None,
            instance: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": f"https://vigil.invalid/problems/{code}", "title": title, "status": status,
                            "detail": detail, "code": code}
    if instance:
        body["instance"] = instance
    body["errors"] = errors or []  # always there (docs/api.md): a client reads one shape, whatever the status
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _reason(request: Request, error: Mapping[str, Any], document: Any = None) -> str:
    """What to fix. A JSON body sent under another media type (a form, text/plain) is not read as
    JSON, which is also what keeps a cross-site form from posting to the API; pydantic then calls
    the whole body "not a valid dictionary", which sends the client looking at its fields."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if tuple(error.get("loc", ())) == ("body",) and media and media != "application/json" \
            and not media.endswith("+json"):
        return f"send the body as JSON with Content-Type: application/json (this request said {media})"
    if _unparsed_body(error):
        return _json_problem(error, document)
    return str(error.get("msg", "")).removeprefix("Value error, ")  # a validator's own words


def _field(error: Mapping[str, Any]) -> str:
    """Where the problem is: `body.ends_at`; a body that is not JSON at all is `body` (FastAPI puts
    the character offset of the parse error after it, which read as a field named "9")."""
    loc = tuple(error.get("loc", ()))
    if _unparsed_body(error):
        return "body"
    return ".".join(str(p) for p in loc)


def _unparsed_body(error: Mapping[str, Any]) -> bool:
    """Whether the error is FastAPI's for a body that does not parse as JSON: ("body", offset)."""
    loc = tuple(error.get("loc", ()))
    return error.get("type") == "json_invalid" and len(loc) == 2 and loc[0] == "body" and isinstance(loc[1], int)


def _json_problem(error: Mapping[str, Any], document: Any) -> str:
    """"not valid JSON: unterminated string starting at line 1 column 10": the decoder's own words
    and the place, counted as editors count it, where FastAPI said "JSON decode error" at `body.9`."""
    said = str((error.get("ctx") or {}).get("error") or "").strip() or "cannot be read"
    said = said[:1].lower() + said[1:].removesuffix(" at")  # "Unterminated string starting at"
    pos = tuple(error.get("loc", ()))[1] if _unparsed_body(error) else None
    if not isinstance(pos, int) or not isinstance(document, str):
        return f"not valid JSON: {said}"
    line = document.count("\n", 0, pos) + 1
    column = pos - document.rfind("\n", 0, pos)  # rfind is -1 on the first line: columns count from 1
    return f"not valid JSON: {said} at line {line} column {column}"


def _undecodable(exc: StarletteHTTPException) -> UnicodeDecodeError | None:
    """The decoding failure behind FastAPI's 400 "There was an error parsing the body", if that is
    what it was: a JSON body that is not UTF-8 text (FastAPI says nothing of why, and lists nothing)."""
    cause = exc.__cause__
    return cause if exc.status_code == 400 and isinstance(cause, UnicodeDecodeError) else None


def install(app: FastAPI) -> None:
    @app.exception_handler(VigilError)
    async def vigil_error(request: Request, exc: VigilError) -> JSONResponse:
        response = problem(exc.http_status, type(exc).__name__, exc.message, exc.code,
                           [d.to_dict() for d in exc.details], str(request.url.path))
        if exc.http_status == 401:  # RFC 9110: a 401 names the scheme that would succeed
            response.headers["WWW-Authenticate"] = 'Bearer realm="vigil"'
        if exc.http_status == 503:  # a moment's condition (too many sign-ins at once): say when to retry
            response.headers["Retry-After"] = RETRY_AFTER
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e), "reason": _reason(request, e, exc.body)} for e in exc.errors()]
        return problem(422, "RequestValidationError", "the request does not match the schema", "input.request",
                       errors, str(request.url.path))

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(request: Request, exc: OperationalError | PoolTimeout) -> JSONResponse:
        """The database is locked by another writer, or unreachable, or every pooled connection is in
        use (SQLAlchemy's pool timeout): a moment's condition, so a 503 that says to retry (the
        safety net's 500 said retrying would not help). Nothing of the request was kept: its unit
        of work rolled back. The cause goes to the server log: a deadlock or a lost connection had
        left the operator nothing to go on but the client's 503.

        Not every OperationalError is a moment's condition: a statement over one of the database's
        own limits (`database_limit`) fails the same way every time, so it is a 500 that says so,
        not a 503 a client retries for ever."""
        cause = getattr(exc, "orig", None) or exc
        said = " | ".join(line.strip() for line in str(cause).splitlines() if line.strip())
        if database_limit(cause):
            log.error("%s %s answered 500: %s: %s", request.method, request.url.path, type(cause).__name__, said)
            return problem(500, "InternalServerError", "the request needs a database statement larger than the "
                           "database accepts; nothing was changed, and retrying will not help: narrow the request "
                           "(fewer values, a smaller batch)", "server.database_limit", None, str(request.url.path))
        log.warning("%s %s answered 503: %s: %s", request.method, request.url.path, type(cause).__name__, said)
        response = problem(503, "ServiceUnavailable", "the database is busy or unreachable; nothing was changed: "
                           "retry in a few seconds", "unavailable.database", None, str(request.url.path))
        response.headers["Retry-After"] = RETRY_AFTER
        return response

    @app.exception_handler(DatabaseIntegrityError)
    async def concurrent_change(request: Request, exc: DatabaseIntegrityError) -> JSONResponse:
        """Another request wrote the same rows at the same moment (the checks that refuse a duplicate
        ran before it committed): nothing of this request was kept, and a retry sees its work."""
        return problem(409, "Conflict", "another request changed the same data at the same moment; nothing was "
                       "changed: retry", "conflict.concurrent", None, str(request.url.path))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        """The safety net: a failure nobody mapped is still a problem body, not plain text. It says
        nothing of the failure itself (that goes to the server log, as Starlette re-raises it)."""
        return problem(500, "InternalServerError", "the server failed to handle this request; it has been logged, "
                       "and retrying will not help until it is fixed", "server.unexpected", None,
                       str(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        undecodable = _undecodable(exc)
        if undecodable is not None:
            return problem(422, "RequestValidationError", "the request does not match the schema", "input.request",
                           [{"field": "body", "reason": f"not UTF-8 text at byte {undecodable.start}: send JSON as "
                                                        "UTF-8"}], str(request.url.path))
        response = problem(exc.status_code, "HTTPError", str(exc.detail), f"http.{exc.status_code}", None,
                           str(request.url.path))
        response.headers.update(exc.headers or {})  # a 405's Allow (RFC 9110 15.5.6 requires it)
        return response


#: SQLite's words for a statement beyond one of its limits (sqlite3 gives no error code for them)
_SQLITE_LIMITS = ("too large", "too many", "too big", "too complex", "parser stack overflow")
#: psycopg's own refusal of a statement with more parameters than the protocol carries
_CLIENT_LIMITS = ("number of parameters must be between",)


def database_limit(cause: BaseException) -> bool:
    """Whether a database error is a statement over one of the database's limits, which fails the
    same way however often it is retried: SQLite's expression tree deeper than 1000 or more bound
    variables than it takes, PostgreSQL's class 54 (program limit exceeded: a statement too complex,
    too many columns or arguments). A lock, a deadlock, a serialization failure, a lost or refused
    connection are not: they pass, and stay a 503."""
    sqlstate = str(getattr(cause, "sqlstate", "") or "")
    if sqlstate:
        return sqlstate.startswith("54")
    said = str(cause).lower()
    if type(cause).__module__ == "sqlite3":
        return any(words in said for words in _SQLITE_LIMITS)
    return any(words in said for words in _CLIENT_LIMITS)


def attachment(filename: str) -> str:
    """A Content-Disposition header that names a download `filename`, whatever its characters.

    HTTP header values are Latin-1: a name such as `报告.txt` written as is failed the response
    (500, and the file could never be downloaded). RFC 6266: an ASCII `filename` for old clients
    (the name with what it cannot hold replaced) and `filename*` (RFC 8187, UTF-8) with the name
    itself, which every current browser prefers."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "download"
    if ascii_name == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}"
