"""Sign in and out, who am I, and personal API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from engine.api.deps import SESSION_COOKIE, get_session, public, require
from engine.auth import service as auth_service
from engine.auth.roles import Permission, allowed
from engine.auth.schemas import IssuedToken, PasswordChange, Principal, TokenInfo, User
from engine.errors import NotFoundError, PermissionDeniedError
from engine.json_body import JsonBody

router = APIRouter(tags=["auth"])


class LoginIn(JsonBody):
    username: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=1, max_length=200)


class TokenIn(JsonBody):
    name: str = Field(min_length=1, max_length=200, examples=["nightly export script"])
    days: int = Field(default=90, ge=1, le=366, description="lifetime in days")


class Me(BaseModel):
    user: User
    grant: dict[str, object] | None = None


@router.post("/auth/login", response_model=Me, dependencies=[Depends(public())], responses={
    401: {"description": "wrong username or password, or an account switched off (`auth.invalid_credentials`); "
                         "an account locked after five failed logins (`auth.locked`)"},
    403: {"description": "an auditor's right password while no grant of theirs is in force (`auth.no_grant`): the "
                         "detail says whether the last grant ended or was revoked, and when, or that none was "
                         "ever given; an admin gives a new one"}})
def login(body: LoginIn, request: Request, response: Response,
          session: Session = Depends(get_session, scope="function")) -> Me:
    """Check the password and start a web session (cookie, Secure when the request came over HTTPS, as
    the login form's). Failed logins are rate limited."""
    user = auth_service.authenticate(session, username=body.username, password=body.password)
    issued = auth_service.issue_token(session, user_id=user.id, name="web session", ttl=auth_service.SESSION_TTL,
                                      kind="session", actor=f"user:{user.username}")
    response.set_cookie(SESSION_COOKIE, issued.token, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https", max_age=int(auth_service.SESSION_TTL.total_seconds()))
    grant = auth_service.active_grant(session, user_id=user.id)
    return Me(user=user, grant=grant.model_dump(mode="json") if grant else None)


#: the session cookie is the only credential a route so marked takes: the OpenAPI document names it alone
SESSION_ONLY: dict[str, Any] = {"security": [{"sessionCookie": []}]}


@router.post("/auth/logout", status_code=204, openapi_extra=SESSION_ONLY, responses={
    403: {"description": "sent with an API token (`auth.token_logout`): a token is ended with `DELETE /tokens/{id}` "
                         "(`vigil users revoke-token`), not by signing out"}})
def logout(request: Request, response: Response, principal: Principal = Depends(require(Permission.SELF)),
           session: Session = Depends(get_session, scope="function")) -> Response:
    """End the web session: its token is revoked, not only the cookie dropped. An API token is not
    a session: signing out with one had answered 204 and left the token working, so it is refused
    with the way to end it."""
    if principal.via != "session":
        raise PermissionDeniedError(
            "POST /auth/logout ends a web session, not an API token: the token still works; end it with "
            "DELETE /tokens/{id} (its id from GET /tokens) or `vigil users revoke-token TOKEN_ID`",
            code="auth.token_logout")
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        auth_service.end_session(session, token=token)
    response.delete_cookie(SESSION_COOKIE)
    response.status_code = 204
    return response


@router.get("/me", response_model=Me)
def me(principal: Principal = Depends(require(Permission.SELF))) -> Me:
    return Me(user=principal.user, grant=principal.grant.model_dump(mode="json") if principal.grant else None)


@router.post("/me/password", response_model=User, openapi_extra=SESSION_ONLY, responses={
    403: {"description": "sent with an API token (`auth.token_changes_password`): sign in and change it from that "
                         "session"}})
def change_password(body: PasswordChange, request: Request, principal: Principal = Depends(require(Permission.SELF)),
                    session: Session = Depends(get_session, scope="function")) -> User:
    """Change your own password, giving the current one; only from a signed-in session (a leaked
    API token must not be a way to take the account). Your other sessions and every API token you
    hold end; this session goes on. A wrong current password counts toward the login lock."""
    if principal.via != "session":
        raise PermissionDeniedError(
            "an API token cannot change the password: sign in with POST /auth/login and change it from that "
            "session", code="auth.token_changes_password")
    return auth_service.change_password(session, user_id=principal.user.id, current_password=body.current_password,
                                        new_password=body.new_password, keep_token=request.cookies.get(SESSION_COOKIE),
                                        actor=principal.actor)


@router.post("/tokens", response_model=IssuedToken, status_code=201, openapi_extra=SESSION_ONLY, responses={
    403: {"description": "sent with an API token (`auth.token_issues_token`): a token cannot issue tokens"}})
def create_token(body: TokenIn, principal: Principal = Depends(require(Permission.SELF)),
                 session: Session = Depends(get_session, scope="function")) -> IssuedToken:
    """Issue an API token for scripts; it is shown once and stored hashed. Only from a signed-in
    session (`POST /auth/login`): a token may not issue tokens, or a leaked one could mint a
    successor that outlives its own revocation."""
    if principal.via != "session":
        raise PermissionDeniedError(
            "an API token cannot issue tokens: sign in with POST /auth/login and issue it from that session",
            code="auth.token_issues_token")
    return auth_service.issue_token(session, user_id=principal.user.id, name=body.name,
                                    ttl=dt.timedelta(days=body.days), actor=principal.actor)


@router.get("/tokens", response_model=list[TokenInfo])
def list_tokens(principal: Principal = Depends(require(Permission.SELF)),
                session: Session = Depends(get_session, scope="function")) -> list[TokenInfo]:
    return auth_service.list_tokens(session, user_id=principal.user.id)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, principal: Principal = Depends(require(Permission.SELF)),
                 session: Session = Depends(get_session, scope="function")) -> Response:
    """Revoke one of your tokens; an admin may revoke any token of a user of the practice."""
    owner = auth_service.token_owner(session, token_id=token_id)
    mine = owner is not None and owner.id == principal.user.id
    as_admin = (owner is not None and owner.org_id == principal.org_id
                and allowed(principal.role, Permission.USERS_MANAGE))
    if not (mine or as_admin):
        raise NotFoundError(f"no token {token_id}")
    auth_service.revoke_token(session, token_id=token_id, actor=principal.actor)
    return Response(status_code=204)
