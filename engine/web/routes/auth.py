"""Signing in and out of the web UI, and each role's landing page.

The login form calls the same service functions as POST /auth/login (authenticate, then a session
token in the `vigil_session` cookie); failed attempts count toward the same lock-out, and an
auditor with no grant in force is refused on the form with the reason, as the API's 403 says it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from engine.api.deps import SESSION_COOKIE, public
from engine.auth import service as auth_service
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.errors import AuthenticationError, ErrorDetail, InputError
from engine.web.deps import action, page, public_action, web_session
from engine.web.render import page as render
from engine.web.render import redirect, safe_next

router = APIRouter()

LANDING = {"admin": "/ui/dashboard", "officer": "/ui/dashboard", "liaison": "/ui/rulesets",
           "auditor": "/ui/audit", "staff": "/ui/tasks"}


@router.get("/login", dependencies=[Depends(public())])
def login_form(request: Request, next: str | None = Query(None, max_length=2000)) -> Response:
    return render(request, "auth/login.html", principal=None, title="Sign in", next=safe_next(next), error=None,
                  username="")


@router.post("/login", dependencies=[Depends(public_action())])
def login(request: Request, username: str = Form(..., max_length=120), password: str = Form(..., max_length=200),
          next: str = Form("/ui/", max_length=2000),
          session: Session = Depends(web_session, scope="function")) -> Response:
    try:
        user = auth_service.authenticate(session, username=username, password=password)
    except (AuthenticationError, auth_service.SignInBusy, auth_service.NoGrantSignIn) as exc:
        return render(request, "auth/login.html", principal=None, title="Sign in", next=safe_next(next),
                      error=exc.message, username=username, status=exc.http_status)
    issued = auth_service.issue_token(session, user_id=user.id, name="web session", ttl=auth_service.SESSION_TTL,
                                      kind="session", actor=f"user:{user.username}")
    response = redirect(safe_next(next))
    response.set_cookie(SESSION_COOKIE, issued.token, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https", max_age=int(auth_service.SESSION_TTL.total_seconds()))
    return response


@router.post("/logout")
def logout(request: Request, principal: Principal = Depends(action(Permission.SELF)),
           session: Session = Depends(web_session, scope="function")) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token and principal.via == "session":
        auth_service.end_session(session, token=token)  # the token stops working now
    response = redirect("/ui/login", flash="You are signed out.", kind="info")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account/password")
def password_form(request: Request, principal: Principal = Depends(page(Permission.SELF))) -> Response:
    return render(request, "account/password.html", principal=principal, title="Change your password",
                  error=None, field=None)


@router.post("/account/password")
def change_password(request: Request, current_password: str = Form(..., max_length=200),
                    new_password: str = Form(..., max_length=200), confirm_password: str = Form(..., max_length=200),
                    principal: Principal = Depends(action(Permission.SELF)),
                    session: Session = Depends(web_session, scope="function")) -> Response:
    """The same service as POST /me/password; a refusal shows the form again with what to fix."""
    try:
        if new_password != confirm_password:
            raise InputError("the two new passwords differ", [ErrorDetail(
                reason="type the same new password twice", field="confirm_password")])
        auth_service.change_password(session, user_id=principal.user.id, current_password=current_password,
                                     new_password=new_password, keep_token=request.cookies.get(SESSION_COOKIE),
                                     actor=principal.actor)
    except InputError as exc:
        field = exc.details[0].field if exc.details else None
        reason = exc.details[0].reason if exc.details else ""
        label = {"current_password": "Current password", "new_password": "New password",
                 "confirm_password": "New password again"}.get(field or "", "")
        message = f"{label}: {reason}" if label and reason else exc.message
        return render(request, "account/password.html", principal=principal, title="Change your password",
                      error=message, field=field, status=422)
    return redirect("/ui/", flash="Your password is changed. Your other sessions and API tokens have ended.")


@router.get("/")
def home(principal: Principal = Depends(page(Permission.SELF))) -> Response:
    """Each role starts where its work is."""
    return redirect(LANDING.get(principal.role, "/ui/findings"))
