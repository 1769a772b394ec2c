"""How the web UI shows errors: the same VigilError -> status mapping as the API, as pages.

The API's handlers (engine.api.errors) stay in charge of every path outside /ui; under /ui:
- not signed in (401): to the login page, coming back afterwards;
- a refused form (409/422, or a form missing a field): back to the page it came from, with the
  message shown there, so nothing typed elsewhere on the page is lost to an error screen;
- anything else (403, 404, ...): an error page with the same message the API would give, with the
  navigation of whoever is signed in (an address no route matches ran no dependency that read the
  session, so the page reads it itself).
"""

from __future__ import annotations

import inspect
import re
import urllib.parse
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from engine.api.deps import SESSION_COOKIE
from engine.auth import service as auth_service
from engine.auth.schemas import Principal
from engine.db import unit_of_work
from engine.errors import AuthenticationError, VigilError
from engine.web.render import PREFIX, page, redirect, safe_next


def is_ui(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def _back(request: Request) -> str:
    referer = request.headers.get("referer", "")
    parts = urllib.parse.urlsplit(referer)
    if referer and parts.netloc and parts.netloc != request.url.netloc:
        return "/ui/"
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_next(target, default=safe_next(request.url.path.rsplit("/", 1)[0]))


#: What a form did not do when it arrived after the session had ended, by the last part of its path.
_NOT_DONE = {"waive": "the waiver was not granted", "revoke-waiver": "the waiver was not revoked",
             "comment": "your comment was not saved", "note": "your note was not saved",
             "evidence": "the file was not attached", "check": "the checklist step was not changed",
             "complete": "the task was not marked complete", "acknowledge": "the finding was not acknowledged",
             "assign": "nothing was assigned", "false-positive": "the finding was not marked as a false positive",
             "reopen": "the finding was not reopened", "password": "your password was not changed",
             "packets": "no packet was built", "checks": "the checks were not run",
             "withdraw": "the version was not withdrawn", "params": "no parameter was changed",
             "draft": "the draft was not previewed or published"}


def session_ended(path: str) -> str:
    """Why a form sent after the session had ended did nothing, and what to do: it had said only
    "Your session has ended; sign in again.", and back on the page after signing in the form was
    empty with nothing saying the waiver had not been granted. The refusal comes from the sign-in
    check, before the CSRF check and before anything is done."""
    if path.rstrip("/").endswith("/logout"):
        return "Your session had already ended: you are signed out."
    not_done = _NOT_DONE.get(path.rstrip("/").rsplit("/", 1)[-1], "what you sent was not saved")
    return f"Your session had ended, so {not_done}. Sign in again, then send it again."


def _ended_kind(path: str) -> str:
    return "info" if path.rstrip("/").endswith("/logout") else "error"


def _login_redirect(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/ui/login?" + urllib.parse.urlencode({"next": here if request.method == "GET" else _back(request)})
    if request.method == "GET":
        return redirect(target)
    return redirect(target, flash=session_ended(request.url.path), kind=_ended_kind(request.url.path))


def _signed_in(request: Request) -> Principal | None:
    """Who the session cookie names, or None: for error pages of requests whose route never read it."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        with unit_of_work(request.app.state.engine) as session:
            return auth_service.resolve_token(session, token=token)
    except AuthenticationError:
        return None


async def error_page(request: Request, *, status: int, title: str, message: str, code: str,
                     details: list[dict[str, Any]] | None = None) -> Response:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        principal = await run_in_threadpool(_signed_in, request)
    return page(request, "errors/error.html", principal=principal, status=status, title=title,
                message=message, code=code, details=details or [])


#: How the forms' fields are labelled on the pages, for the few whose name is not their label.
_FIELD_LABELS = {"until": "Until", "approver": "Approved by", "approved_by": "Approved by", "assignee": "Assign to",
                 "step": "Checklist step", "file": "File", "from": "Period from", "to": "Period to",
                 "as_of": "As of", "redact_phi": "Redact patient identifiers", "scope": "Covers",
                 "effective_from": "Effective from", "on": "From", "value": "New value", "name": "Parameter",
                 "token": "API token", "waiver_id": "Waiver", "current_password": "Current password",
                 "new_password": "New password", "confirm_password": "New password again",
                 "expiring": "Credentials expiring"}
#: `text` is the comment on a finding, the note on a task, the YAML of a draft ruleset
_TEXT_LABELS = {"comment": "Comment", "note": "Note", "draft": "Ruleset YAML"}


#: `from` and `to` are a packet's period, but a ruleset diff's versions ("Period from" named the wrong form)
_DIFF_LABELS = {"from": "From version", "to": "To version"}


def _label(request: Request, field: str) -> str:
    if field in _DIFF_LABELS and request.url.path.rstrip("/").endswith("/diff"):
        return _DIFF_LABELS[field]
    if field == "text":
        return next((v for k, v in _TEXT_LABELS.items() if request.url.path.rstrip("/").endswith(k)), "Text")
    return _FIELD_LABELS.get(field, field.replace("_", " ").capitalize() if field else "The form")


def _problem(error: dict[str, Any]) -> str:
    """What is wrong with one field, in plain words rather than pydantic's ("Field required", "Input
    should be a valid date or datetime, month value is outside expected range of 1-12")."""
    kind, ctx = str(error.get("type", "")), error.get("ctx") or {}
    if kind == "missing":
        return "required"
    if kind.startswith(("date_", "datetime_")):
        return "not a valid date"
    if kind.startswith("int_"):
        return "not a whole number"
    if kind.startswith("bool_"):
        return "not yes or no"
    if kind == "string_too_long":
        return f"too long (at most {ctx.get('max_length')} characters)"
    if kind == "string_too_short":
        return f"too short (at least {ctx.get('min_length')} characters)"
    if kind in ("string_pattern_mismatch", "literal_error"):
        return "not one of the choices offered" + _choices(str(ctx.get("pattern") or ctx.get("expected") or ""))
    if kind in ("greater_than_equal", "greater_than"):
        return f"at least {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"at most {ctx.get('le', ctx.get('lt'))}"
    return str(error.get("msg", "not valid")).removeprefix("Value error, ")


#: a field's choices as its pattern lists them: "^(mine|overdue|open)$", "^(all)?$"
_CHOICES = re.compile(r"\^\(([\w|-]+)\)\??\$")


def _choices(pattern: str) -> str:
    """": all", ": mine, overdue, open": what a choice field takes, from its pattern or pydantic's
    `expected` ("'all'"), for an address typed or edited by hand. Nothing when it cannot be read."""
    found = _CHOICES.fullmatch(pattern)
    if found:
        return ": " + ", ".join(found.group(1).split("|"))
    quoted = re.findall(r"'([^']+)'", pattern)
    return ": " + ", ".join(quoted) if quoted else ""


def plain_reason(request: Request, error: dict[str, Any]) -> str:
    """"Until: not a valid date", "Reason: required": a refused form's field by its label on the page."""
    loc = [str(p) for p in error.get("loc", ())[1:]]
    return f"{_label(request, loc[0] if loc else '')}: {_problem(error)}"


#: a page's position (`cursor`) no list gave out, in the words of someone who follows a list's links
#: (the API's "pass next_cursor or prev_cursor as it came" names its own fields)
_BAD_PAGE = ("the address names a page of this list that the list did not give out (edited, or cut short): "
             "start again from the first page")


def list_problems(exc: VigilError) -> list[str]:
    """What a list page says above its table when its filters or page are refused: each reason, in
    the page's words rather than the API's."""
    return [_BAD_PAGE if d.field == "cursor" else d.reason for d in exc.details if d.reason] or [exc.message]


def _titles(status: int) -> str:
    return {403: "Not allowed", 404: "Not found", 409: "Conflict", 422: "Cannot do that", 401: "Sign in"}.get(
        status, "Something went wrong")


async def _delegate(handler: Any, request: Request, exc: Exception) -> Response:
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    assert isinstance(result, Response)
    return result


async def ui_refusal(request: Request, status: int, message: str, code: str,
                     details: list[dict[str, Any]]) -> Response | None:
    """A page for a request under /ui refused before routing (`engine.api.errors.refusal`): a form
    goes back where it came from with the refusal, as any refused form does; a page asked for is
    the error page. Outside /ui: None, the API's problem document."""
    if not is_ui(request):
        return None
    said = ("What was sent is larger than this form takes: nothing was saved. Make the file smaller, or split it."
            if code == "input.too_large" else message[:1].upper() + message[1:] + ": nothing was saved.")
    if request.method == "POST":
        return redirect(_back(request), flash=said, kind="error",
                        fields=[str(d["field"]) for d in details if d.get("field")])
    return await error_page(request, status=status, title=_titles(status), message=said, code=code, details=details)


def install(app: FastAPI) -> None:
    """Wrap the API's exception handlers so that /ui paths answer with pages; answer HEAD there."""
    app.state.ui_refusal = ui_refusal
    api_vigil = app.exception_handlers[VigilError]
    api_validation = app.exception_handlers[RequestValidationError]
    api_http = app.exception_handlers[StarletteHTTPException]

    async def vigil_error(request: Request, exc: Exception) -> Response:
        if not is_ui(request):
            return await _delegate(api_vigil, request, exc)
        assert isinstance(exc, VigilError)
        if isinstance(exc, AuthenticationError):
            return _login_redirect(request)
        details = [d.to_dict() for d in exc.details]
        if request.method == "POST" and exc.http_status in (409, 422):
            extra = "; ".join(str(d.get("reason")) for d in details if d.get("reason"))
            return redirect(_back(request), flash=exc.message + (f" ({extra})" if extra else ""), kind="error",
                            fields=[str(d["field"]) for d in details if d.get("field")])
        return await error_page(request, status=exc.http_status, title=_titles(exc.http_status), message=exc.message,
                          code=exc.code, details=details)

    async def validation_error(request: Request, exc: Exception) -> Response:
        if not is_ui(request):
            return await _delegate(api_validation, request, exc)
        assert isinstance(exc, RequestValidationError)
        reasons = [plain_reason(request, e) for e in exc.errors()]
        if request.method == "POST":
            return redirect(_back(request), flash="Please check the form: " + "; ".join(reasons) + ".", kind="error",
                            fields=[str(e["loc"][-1]) for e in exc.errors() if len(e.get("loc", ())) > 1])
        return await error_page(request, status=422, title=_titles(422), message="The address has invalid parameters.",
                          code="input.request", details=[{"reason": r} for r in reasons])

    async def http_error(request: Request, exc: Exception) -> Response:
        if not is_ui(request):
            return await _delegate(api_http, request, exc)
        assert isinstance(exc, StarletteHTTPException)
        message = "There is no such page." if exc.status_code == 404 else str(exc.detail)
        page = await error_page(request, status=exc.status_code, title=_titles(exc.status_code), message=message,
                                code=f"http.{exc.status_code}")
        page.headers.update(exc.headers or {})  # a 405's Allow
        return page

    app.add_exception_handler(VigilError, vigil_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
