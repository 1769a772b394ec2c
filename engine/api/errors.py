"""One mapping from Vigil errors to HTTP: RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import http
import logging
import re
import sys
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from engine import errors as vigil_errors
from engine.api import deps
from engine.errors import VigilError
from engine.registry import UnknownNameError

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


#: Each problem's `title`, a short summary of its kind (RFC 9457 3.1.3), by the Vigil error's class:
#: the first of an error's classes (its own, then its bases) listed here. A status with no class
#: listed (a 405 from the router) is titled by its HTTP reason phrase.
TITLES: dict[type[VigilError], str] = {
    vigil_errors.RecordValidationError: "Invalid records",
    vigil_errors.ImportFormatError: "Unreadable file",
    vigil_errors.InputError: "Invalid input",
    vigil_errors.RulesetError: "Invalid ruleset",
    vigil_errors.NotFoundError: "Not found",
    vigil_errors.InvalidTransition: "Not allowed in this state",
    vigil_errors.ConflictError: "Conflict",
    vigil_errors.PermissionDeniedError: "Forbidden",
    vigil_errors.AuthenticationError: "Authentication required",
    vigil_errors.IntegrityError: "Integrity check failed",
    vigil_errors.UnavailableError: "Service unavailable",
    vigil_errors.DatabaseSchemaError: "Database schema mismatch",
    vigil_errors.EngineFailure: "Evaluation failed",
    UnknownNameError: "Unknown name",
}
#: the title of a request that does not match its route's schema (body, query or path)
INVALID_REQUEST = "Invalid request"


def title_of(exc: VigilError) -> str:
    """The problem title for a Vigil error: its class's summary (`TITLES`), else its status's."""
    for cls in type(exc).__mro__:
        if cls in TITLES:
            return TITLES[cls]  # type: ignore[index]
    return status_title(exc.http_status)


def status_title(status: int) -> str:
    """"Not Found", "Method Not Allowed": the HTTP reason phrase, for a problem no Vigil error raised."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _reason(request: Request, error: Mapping[str, Any], document: Any = None) -> str:
    """What to fix. A JSON body sent under another media type (a form, text/plain) is not read as
    JSON, which is also what keeps a cross-site form from posting to the API; pydantic then calls
    the whole body "not a valid dictionary", which sends the client looking at its fields.

    A route whose body is not JSON says what it does take (`_other_body`): the rulesets' YAML text,
    an upload's multipart parts. Told to send JSON, a client had sent it and been told it was not
    valid JSON; an upload sent raw had heard only that `body.file` was required."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    taken = _route_body(request)
    loc = tuple(error.get("loc", ()))
    if taken is not None and loc[:1] == ("body",) and not _is_json(taken.media_type):
        advice = _other_body(taken, error, media)
        if advice is not None:
            return advice
    if loc == ("body",) and not _is_json(media):  # with no Content-Type, FastAPI reads no JSON either
        said = f"this request said {media}" if media else "this request gave no Content-Type"
        return f"send the body as JSON with Content-Type: application/json ({said})"
    if _unparsed_body(error):
        return _json_problem(error, document)
    return str(error.get("msg", "")).removeprefix("Value error, ")  # a validator's own words


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _route_body(request: Request) -> Any:
    """The body parameter (field info: media type, description) of the route the request matched;
    None for a route that reads no body."""
    field = getattr(request.scope.get("route"), "body_field", None)
    return None if field is None else field.field_info


def _other_body(taken: Any, error: Mapping[str, Any], media: str) -> str | None:
    """What a route that reads no JSON wants instead, for an error about its body: multipart parts
    for an upload, text for a ruleset's YAML (never "send JSON"). None: the error's own words say it
    (a multipart part that is there but wrong, a web form's field)."""
    loc = tuple(error.get("loc", ()))
    said = f"this request said {media}" if media else "this request gave no Content-Type"
    if taken.media_type == "multipart/form-data":
        if "Expected UploadFile" in str(error.get("msg", "")) and len(loc) >= 2:
            # a text field (or a part with no filename) where a file belongs: Starlette reads it as a
            # string, and its words were "Expected UploadFile, received: <class 'str'>"
            return (f"the part named {loc[1]} must be a file, sent with a filename (curl -F '{loc[1]}=@FILE'), "
                    "not a text field")
        if error.get("type") != "missing" or len(loc) != 2:
            return None
        if media != "multipart/form-data":
            return f"send the body as multipart/form-data with a part named {loc[1]} ({said})"
        return f"a part named {loc[1]} is required in the multipart/form-data body"
    if taken.media_type == "application/x-www-form-urlencoded":
        return None
    what = taken.description or "the body"
    if _is_json(media):
        return f"send {what} as text with Content-Type: {taken.media_type}, not as JSON ({said})"
    if error.get("type") == "missing":
        return f"the body is empty: send {what} as text (Content-Type: {taken.media_type})"
    if error.get("type") == "string_unicode":
        return f"not UTF-8 text: send {what} as UTF-8 text (Content-Type: {taken.media_type})"
    return str(error.get("msg", ""))


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


def _unparsable(exc: StarletteHTTPException) -> str | None:
    """Why FastAPI could not read a JSON body, behind its 400 "There was an error parsing the body"
    (which says nothing of why, and lists nothing): a body that is not UTF-8 text names the first
    byte that is not; one nested deeper than the parser follows (`[[[[...]]]]`, a recursion error
    in the standard library's decoder) says so, and so does one holding a number of more digits than
    Python reads (4,300: `int()` raises a ValueError). Every 400 is such a body (FastAPI's and
    Starlette's parsers raise no other), so each is said, at worst in the parser's words: a client
    hears one status, 422, for a body it must mend. None for any other status."""
    cause = exc.__cause__
    if exc.status_code != 400:
        return None
    if isinstance(cause, UnicodeDecodeError):
        return f"not UTF-8 text at byte {cause.start}: send JSON as UTF-8"
    if isinstance(cause, RecursionError):
        return (f"not valid JSON: arrays and objects nested too deeply to read (the parser follows fewer than "
                f"{sys.getrecursionlimit()} levels): nest them less deeply")
    if type(cause) is ValueError:  # int() past Python's int-string limit, the one plain ValueError of json.loads
        digits = _DIGITS.search(str(cause))
        number = f"a number of {int(digits.group(1)):,} digits" if digits else "a number of thousands of digits"
        return (f"not valid JSON: {number}, more than can be read (at most {sys.get_int_max_str_digits():,} "
                "digits); no field takes a number near that size")
    said = str(exc.detail).strip().rstrip(".")
    return _unreadable_multipart(exc) or f"the body could not be read: {said[:1].lower() + said[1:]}"


#: how Python's int() says the length of a number past its int-string limit
_DIGITS = re.compile(r"value has (\d+) digits")


def _unreadable_multipart(exc: StarletteHTTPException) -> str | None:
    """Why a multipart body could not be read, behind Starlette's bare 400: its own words ("Missing
    boundary in multipart."), or for "Invalid multipart data." the parser's, on the exception it was
    raised from (a file name of 5,000 characters: "Maximum header size exceeded", which the client
    can act on)."""
    context = exc.__context__
    if not isinstance(context, MultiPartException):
        return None
    said = str(context.__cause__ or context.message).strip()
    hint = ("; a part's headers, its file name among them, must be shorter: shorten the file name"
            if "header size" in said.lower() else "")
    return f"the multipart/form-data body could not be read: {said}{hint}"


def install(app: FastAPI) -> None:
    @app.exception_handler(VigilError)
    async def vigil_error(request: Request, exc: VigilError) -> JSONResponse:
        response = problem(exc.http_status, title_of(exc), exc.message, exc.code,
                           [d.to_dict() for d in exc.details], str(request.url.path))
        if exc.http_status == 401:  # RFC 9110: a 401 names the scheme that would succeed
            response.headers["WWW-Authenticate"] = 'Bearer realm="vigil"'
        if exc.http_status == 503:  # a moment's condition (too many sign-ins at once): say when to retry
            response.headers["Retry-After"] = RETRY_AFTER
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        refused = await run_in_threadpool(deps.refusal, request)  # who may send it comes before what is wrong with it
        if refused is not None:
            return await vigil_error(request, refused)
        errors = [{"field": _field(e), "reason": _reason(request, e, exc.body)} for e in exc.errors()]
        return problem(422, INVALID_REQUEST, "the request does not match the schema", "input.request",
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
            return problem(500, status_title(500), "the request needs a database statement larger than the "
                           "database accepts; nothing was changed, and retrying will not help: narrow the request "
                           "(fewer values, a smaller batch)", "server.database_limit", None, str(request.url.path))
        log.warning("%s %s answered 503: %s: %s", request.method, request.url.path, type(cause).__name__, said)
        response = problem(503, status_title(503), "the database is busy or unreachable; nothing was changed: "
                           "retry in a few seconds", "unavailable.database", None, str(request.url.path))
        response.headers["Retry-After"] = RETRY_AFTER
        return response

    @app.exception_handler(DatabaseIntegrityError)
    async def concurrent_change(request: Request, exc: DatabaseIntegrityError) -> JSONResponse:
        """Another request wrote the same rows at the same moment (the checks that refuse a duplicate
        ran before it committed): nothing of this request was kept, and a retry sees its work."""
        return problem(409, status_title(409), "another request changed the same data at the same moment; nothing was "
                       "changed: retry", "conflict.concurrent", None, str(request.url.path))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        """The safety net: a failure nobody mapped is still a problem body, not plain text. It says
        nothing of the failure itself (that goes to the server log, as Starlette re-raises it)."""
        return problem(500, status_title(500), "the server failed to handle this request; it has been logged, "
                       "and retrying will not help until it is fixed", "server.unexpected", None,
                       str(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        unparsable = _unparsable(exc)
        refused = await run_in_threadpool(deps.refusal, request) if unparsable is not None else None
        if refused is not None:
            return await vigil_error(request, refused)
        if unparsable is not None:
            return problem(422, INVALID_REQUEST, "the request does not match the schema", "input.request",
                           [{"field": "body", "reason": unparsable}], str(request.url.path))
        response = problem(exc.status_code, status_title(exc.status_code), str(exc.detail), f"http.{exc.status_code}",
                           None, str(request.url.path))
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


#: A face's own answer to a refusal made before routing (`refusal`): the web UI's pages under /ui
#: (set by `engine.web.app.install`); None answers with a problem document.
RefusalHook = Callable[[Request, int, str, str, list[dict[str, Any]]], Awaitable[Response | None]]


async def refusal(request: Request, status: int, title: str, detail: str, code: str,
                  details: list[dict[str, Any]] | None = None) -> Response:
    """The answer to a request refused by a middleware (a body over the limit, text no database
    stores): the face's own when it has one (a page under /ui: a browser had been shown a bare JSON
    document, with no way back), else a problem document."""
    hook: RefusalHook | None = getattr(request.app.state, "ui_refusal", None) if "app" in request.scope else None
    if hook is not None:
        answered = await hook(request, status, detail, code, details or [])
        if answered is not None:
            return answered
    return problem(status, title, detail, code, details, str(request.scope.get("path") or "") or None)
