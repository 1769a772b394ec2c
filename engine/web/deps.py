"""The web UI's permission declarations, on top of the API's: `page(P)` for a GET that renders,
`action(P)` for a form POST (permission first, then the CSRF token), `public_action()` for the login
form. Each carries `.permission`, so the route x role matrix test reads them like `require(P)`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from engine.api.deps import get_session, public, require
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.web import csrf


def web_session(session: Session = Depends(get_session, scope="function")) -> Session:
    """The page's unit of work. Used with `scope="function"`, it commits when the route returns and
    before the response leaves: a browser follows a form's redirect at once, and the next page must
    see what the form changed (with the default request scope the commit races that request).

    It is the transaction the caller was resolved in (`current_principal`'s), not one of its own: a
    form POST holds its session token FOR SHARE there until it commits (`resolve_token`), so that a
    revoke waits for the form's writes. In a second transaction the form's writes were not covered,
    and sign-out (an update of that very row) waited on its own request's lock for ever."""
    return session


def page(permission: Permission) -> Callable[..., AsyncIterator[Principal]]:
    """A page is readable by the roles that hold `permission` (the same check as the API)."""
    return require(permission)


def action(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A state-changing form POST: the caller must hold `permission` and send the CSRF token."""
    allowed = require(permission)

    async def dependency(request: Request, principal: Principal = Depends(allowed)) -> Principal:
        await csrf.verify(request)
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def public_action() -> Callable[..., Awaitable[None]]:
    """An open form POST (the login form): no session needed, but the CSRF token is."""
    open_route = public()

    async def dependency(request: Request, _: None = Depends(open_route)) -> None:
        await csrf.verify(request, open_form=True)

    dependency.permission = "public"  # type: ignore[attr-defined]
    return dependency
