"""Request dependencies: the database session (one transaction per request), the caller, and the
permission every route must declare (`require(...)`; `public()` for the few open routes)."""

from __future__ import annotations

import types
import typing
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine import filter_values, json_codec
from engine.audit import service as audit_service
from engine.auth import service as auth_service
from engine.auth.roles import Permission, allowed
from engine.auth.schemas import Principal
from engine.db import unit_of_work
from engine.errors import AuthenticationError, ErrorDetail, InputError, PermissionDeniedError

SESSION_COOKIE = "vigil_session"


def get_session(request: Request) -> Iterator[Session]:
    with unit_of_work(request.app.state.engine) as session:
        yield session


def _credentials(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def current_principal(request: Request, session: Session = Depends(get_session, scope="function")) -> Principal:
    # a GET writes a session's last use (at most once a minute, for the idle timeout); a POST does
    # not, so a form that checks a password (its own short transaction) never waits on this one's.
    # A request that may write holds its token FOR SHARE until it commits, so a revoke waits for its
    # writes and none lands after the revoke (`resolve_token`); a read takes no lock
    reads = request.method in ("GET", "HEAD")
    principal = _signed(request, session, touch=reads, for_write=not reads)
    if session.dirty:  # that last use, committed now (nothing else is in this transaction yet): the
        session.commit()  # request must not hold SQLite's write lock while its page is built
    request.state.principal = principal
    return principal


def _signed(request: Request, session: Session, *, touch: bool, for_write: bool) -> Principal:
    """Who sent the request, by its token or session cookie: AuthenticationError without good
    credentials, PermissionDeniedError for a cookie-signed write from another site's page."""
    token = _credentials(request)
    if not token:
        raise AuthenticationError("sign in, or send an API token as 'Authorization: Bearer ...'",
                                  code="auth.required")
    principal = auth_service.resolve_token(session, token=token, touch=touch, for_write=for_write)
    if principal.via == "session" and request.method not in _SAFE_METHODS and _cross_site(request):
        raise PermissionDeniedError(
            "a request signed by the browser session cookie must come from this site's own pages; a script "
            "sends an API token (Authorization: Bearer ...)", code="permission_denied.cross_site")
    return principal


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _cross_site(request: Request) -> bool:
    """Whether a cookie-signed request came from another site's page (the browser says where from in
    Origin, else Referer): the web forms carry a CSRF token, the REST API relies on this, so a page
    elsewhere cannot make a signed-in officer's browser post a comment or a waiver. A request that
    names no origin (curl, a script) is not a browser's cross-site request."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin == "null"
    from urllib.parse import urlsplit

    theirs = urlsplit(origin)
    return (theirs.scheme, theirs.netloc) != (request.url.scheme, request.url.netloc)


def require(permission: Permission) -> Callable[..., AsyncIterator[Principal]]:
    """A dependency that admits callers whose role has `permission`.

    For a request signed with an API token, every audit entry the request writes names the token
    (`via_token` in its payload, `engine.audit.service.acting_with_token`), reset when the request
    ends. A web session's entries do not: sessions are listed nowhere and their issue is not in
    the trail, so their id would lead nowhere. The dependency is async so that the value is set in
    the request's own context, which the route's thread copies (one set in a sync dependency stays
    in that dependency's thread)."""

    async def dependency(principal: Principal = Depends(current_principal)) -> AsyncIterator[Principal]:
        _admit(principal, permission)
        with audit_service.acting_with_token(principal.token_id if principal.via == "token" else None):
            yield principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def _admit(principal: Principal, permission: Permission) -> None:
    """PermissionDeniedError unless the caller's role holds `permission` (an auditor, with a grant)."""
    if not allowed(principal.role, permission):
        raise PermissionDeniedError(f"role {principal.role} may not {permission.value}", code="permission_denied")
    if principal.role == "auditor" and principal.grant is None:
        raise PermissionDeniedError("this auditor has no grant in force", code="permission_denied.no_grant")


def refusal(request: Request) -> AuthenticationError | PermissionDeniedError | None:
    """The 401 or 403 the matched route's `require(...)` would answer this request, or None (a
    public route, or a caller it admits). Blocking: it may read the caller's token.

    For a request refused before the route's dependencies ran: FastAPI reads and parses the body
    first, so a body that is not JSON, or one a multipart parser cannot read, had been answered 422
    to a caller not signed in, or signed in without the permission (staff told what was wrong with a
    comment they may not make). The error handlers ask this first (`engine.api.errors`)."""
    route = request.scope.get("route")
    permission = route_permission(route) if route is not None else None
    if permission is None or permission == "public":
        return None
    try:
        principal = getattr(request.state, "principal", None)
        if principal is None:
            with unit_of_work(request.app.state.engine) as session:
                principal = _signed(request, session, touch=False, for_write=False)
        _admit(principal, Permission(permission))
    except (AuthenticationError, PermissionDeniedError) as exc:
        return exc
    except SQLAlchemyError:  # a database that does not answer now: the input's own 422 is still true
        return None
    return None


def public() -> Callable[..., None]:
    def dependency() -> None:
        return None

    dependency.permission = "public"  # type: ignore[attr-defined]
    return dependency


def api_routes(app: Any) -> list[Any]:
    """Every APIRoute of the app, including those of included routers (FastAPI includes lazily)."""
    from fastapi.routing import APIRoute

    out: list[Any] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for r in routes:
            if isinstance(r, APIRoute):
                out.append((prefix, r))
            elif hasattr(r, "include_context"):
                ctx = r.include_context
                walk(list(ctx.included_router.routes), prefix + ctx.prefix)
            elif hasattr(r, "routes"):
                walk(list(r.routes), prefix + getattr(r, "path", ""))

    walk(list(app.routes), "")
    return out


def route_permission(route: Any) -> str | None:
    """The permission a route declared (for the route x role matrix test)."""
    dependant = getattr(route, "dependant", None)
    for dep in dependant.dependencies if dependant is not None else []:
        perm = getattr(dep.call, "permission", None)
        if perm is not None:
            return str(perm)
    return None


_QUERY_NAMES: dict[int, frozenset[str]] = {}
_LIST_NAMES: dict[int, frozenset[str]] = {}


def reject_unknown_query(request: Request) -> None:
    """Refuse a query parameter the route does not take (422 naming it and the ones it does):
    `GET /tasks?assignee=P1` (the filter is `owner`) answered every task, as if filtered. So are
    one given empty and one given twice (unless declared a list): each read as something else;
    and one naming more values than a filter takes (`engine.filter_values.MAX_FILTER_VALUES`).
    The web UI's pages (/ui) are left alone; they read forms, not filters."""
    route = request.scope.get("route")
    if route is None or not request.query_params or request.url.path == "/ui" or request.url.path.startswith("/ui/"):
        return
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    # the sign-in check first: a 422 listing the parameters a route takes had told anyone who
    # asked, signed in or not (the route's own dependency says the same 401 otherwise)
    signed_in_first(request)
    names = _QUERY_NAMES.get(id(route))
    if names is None:
        names = _QUERY_NAMES[id(route)] = frozenset(_query_names(dependant))
    unknown = sorted(set(request.query_params) - names)
    if unknown:
        takes = ", ".join(sorted(names)) or "none"
        raise InputError(f"unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
                         [ErrorDetail(reason=f"not a parameter of {route.path}; it takes: {takes}", field=name)
                          for name in unknown], code="input.unknown_parameter")
    empty = sorted({name for name, value in request.query_params.multi_items() if not value.replace(",", "").strip()})
    if empty:  # `framework=` (a script's unset variable) had listed every framework's findings, `severity=,` none
        raise InputError(f"query parameter{'s' if len(empty) > 1 else ''} given empty: {', '.join(empty)}",
                         [ErrorDetail(reason="empty: give a value, or leave the parameter out", field=name)
                          for name in empty], code="input.empty_parameter")
    lists = _LIST_NAMES.get(id(route))
    if lists is None:
        lists = _LIST_NAMES[id(route)] = frozenset(_query_names(dependant, lists_only=True))
    given = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({name for name in given if given.count(name) > 1} - lists)
    if repeated:  # `?framework=hipaa&framework=osha` had kept the last value alone, silently
        raise InputError(f"query parameter{'s' if len(repeated) > 1 else ''} given more than once: "
                         f"{', '.join(repeated)}",
                         [ErrorDetail(reason="give it once; for several values separate them with commas "
                                             "(framework=hipaa,osha)", field=name) for name in repeated],
                         code="input.repeated_parameter")
    # one cap for every list filter (engine.filter_values): 1000 subjects had failed in SQLite as a
    # "database busy" 503 that a client retried for ever
    too_many = [problem for name in sorted(set(given))
                if (problem := filter_values.too_many(name, request.query_params.getlist(name))) is not None]
    if too_many:
        crowded = ", ".join(str(p.field) for p in too_many)
        raise InputError(f"too many values in query parameter{'s' if len(too_many) > 1 else ''} {crowded} "
                         f"(at most {filter_values.MAX_FILTER_VALUES} each)", too_many, code="input.too_many_values")


def signed_in_first(request: Request) -> None:
    """401 for a request to a route that is not public and carries no credentials at all, before a
    check of its input runs: what a route takes is told to those signed in only. (Whether the
    credentials are good is the route's own `require(...)`.)"""
    route = request.scope.get("route")
    if route is not None and route_permission(route) != "public" and not _credentials(request):
        raise AuthenticationError("sign in, or send an API token as 'Authorization: Bearer ...'",
                                  code="auth.required")


async def reject_repeated_keys(request: Request) -> None:
    """Refuse a JSON body that gives a key twice in one object (422 naming each, as `body.<path>.<key>`).

    The parser keeps the last value and drops the first without a word: `{"text": "a", "text": "b"}`
    on a comment stored "b" as if "a" had never been sent, while `POST /records` refused the same
    mistake by name. Checked here, in one place, for every route that reads a JSON body; a route
    that names the place in its own words (`/records`, by record index) marks its own check with
    `names_repeated_keys`. The sign-in check comes first (`signed_in_first`)."""
    route = request.scope.get("route")
    field = getattr(route, "body_field", None)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if route is None or field is None or field.field_info.media_type != "application/json" \
            or not (media == "application/json" or media.endswith("+json")):
        return
    if any(getattr(dep.call, "names_repeated_keys", False) for dep in route.dependant.dependencies):
        return
    signed_in_first(request)
    try:
        repeated = json_codec.repeated_keys(await request.body())
    except RecursionError:  # nested past what the parser follows: FastAPI's own parse says so
        return
    if repeated:
        raise InputError(
            f"{len(repeated)} repeated key{'' if len(repeated) == 1 else 's'} in the JSON body; nothing was done",
            [ErrorDetail(reason=f"the key {key!r} is given twice in one object; send each field once",
                         field=".".join(str(p) for p in ("body", *path, key))) for path, key in repeated])


def _is_list(annotation: Any) -> bool:
    """A list, tuple or set annotation, optional or not (`list[str] | None`)."""
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return origin in (typing.Union, types.UnionType) and any(_is_list(a) for a in typing.get_args(annotation))


def _query_names(dependant: Any, *, lists_only: bool = False) -> set[str]:
    """The query parameters a route reads, its dependencies' included (with `lists_only`, those
    declared as lists, which may be given more than once)."""
    names = {p.alias for p in dependant.query_params
             if not lists_only or _is_list(p.field_info.annotation)}
    for sub in dependant.dependencies:
        names |= _query_names(sub, lists_only=lists_only)
    return names
