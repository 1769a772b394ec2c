"""CSRF protection for the web UI's forms: a token bound to the browser's session.

Signed in, every form carries a token derived from the session cookie (an HMAC keyed by the
session token, which is HttpOnly and never shown): a POST is refused (403) unless its
`csrf_token` field is that token. Another site can make the browser send the cookie, but can
neither read it nor compute the token from it; and since the token changes with each sign-in, a
token planted or read before it is worth nothing after. (A plain double-submit cookie was used
before: whoever could plant a `vigil_csrf` cookie, from a sibling subdomain or over plain HTTP,
could pick the token the form had to carry.)

Signed out (the login form), a random token in a cookie (`vigil_csrf`, SameSite=Strict,
HttpOnly) must match the form's field: the double submit, all there is before a session exists.

Requests authenticated by `Authorization: Bearer` carry no ambient credential a third-party page
could ride on, so they are not asked for the token (scripts use the REST API that way anyway).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from starlette.responses import Response

from engine.api.deps import SESSION_COOKIE
from engine.errors import PermissionDeniedError

COOKIE = "vigil_csrf"
FIELD = "csrf_token"
TOKEN_BYTES = 32


def token_for(request: Request) -> tuple[str, bool]:
    """The token this browser's forms carry (second value True when the cookie must be set)."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return _bound(session), False
    existing = request.cookies.get(COOKIE)
    if existing and 20 <= len(existing) <= 128:
        return existing, False
    return secrets.token_urlsafe(TOKEN_BYTES), True


def set_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(COOKIE, token, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def bearer(request: Request) -> bool:
    return request.headers.get("authorization", "").lower().startswith("bearer ")


async def verify(request: Request, *, open_form: bool = False) -> None:
    """Refuse a form POST whose `csrf_token` field is not this browser's token. `open_form`: a form
    anyone may post (the login form), which may have been rendered before the session began, so
    the double-submit cookie's token is taken there too."""
    if bearer(request):
        return
    session = request.cookies.get(SESSION_COOKIE)
    expected = [_bound(session)] if session else []
    if open_form or not session:
        expected.append(request.cookies.get(COOKIE) or "")
    submitted = ""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(FIELD)
        submitted = value if isinstance(value, str) else ""
    if not submitted or not any(e and hmac.compare_digest(e.encode(), submitted.encode()) for e in expected):
        raise PermissionDeniedError("the form's security token is missing or stale; reload the page and try again",
                                    code="permission_denied.csrf")


def _bound(session_token: str) -> str:
    """The form token of one session: not the session token, and nothing without it."""
    return hmac.new(session_token.encode(), b"vigil form token", hashlib.sha256).hexdigest()
