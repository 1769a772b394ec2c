"""CSRF protection for the web UI's forms: a double-submit token.

Every rendered page puts a random token in a cookie (`vigil_csrf`, SameSite=Strict, HttpOnly) and
in a hidden `csrf_token` field of each form; a POST is refused (403) unless the two match. Another
site can make the browser send the cookie, but cannot read it to put it in the form.

Requests authenticated by `Authorization: Bearer` carry no ambient credential a third-party page
could ride on, so they are not asked for the token (scripts use the REST API that way anyway).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.responses import Response

from engine.errors import PermissionDeniedError

COOKIE = "vigil_csrf"
FIELD = "csrf_token"
TOKEN_BYTES = 32


def token_for(request: Request) -> tuple[str, bool]:
    """The browser's token, or a new one (second value True when the cookie must be set)."""
    existing = request.cookies.get(COOKIE)
    if existing and 20 <= len(existing) <= 128:
        return existing, False
    return secrets.token_urlsafe(TOKEN_BYTES), True


def set_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(COOKIE, token, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def bearer(request: Request) -> bool:
    return request.headers.get("authorization", "").lower().startswith("bearer ")


async def verify(request: Request) -> None:
    """Refuse a form POST whose `csrf_token` field does not match the cookie."""
    if bearer(request):
        return
    cookie = request.cookies.get(COOKIE) or ""
    submitted = ""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(FIELD)
        submitted = value if isinstance(value, str) else ""
    if not cookie or not submitted or not hmac.compare_digest(cookie.encode(), submitted.encode()):
        raise PermissionDeniedError("the form's security token is missing or stale; reload the page and try again",
                                    code="permission_denied.csrf")
