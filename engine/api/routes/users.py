"""Users and auditor grants (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from engine.api.deps import SESSION_COOKIE, get_session, require
from engine.auth import service as auth_service
from engine.auth.roles import Permission
from engine.auth.schemas import Grant, GrantIn, PasswordReset, Principal, TokenInfo, Unlocked, User, UserIn
from engine.errors import NotFoundError

router = APIRouter(tags=["users"])


@router.post("/users", response_model=User, status_code=201)
def create_user(body: UserIn, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                session: Session = Depends(get_session, scope="function")) -> User:
    return auth_service.create_user(session, org_id=principal.org_id, data=body, actor=principal.actor)


@router.get("/users", response_model=list[User])
def list_users(principal: Principal = Depends(require(Permission.USERS_MANAGE)),
               session: Session = Depends(get_session, scope="function")) -> list[User]:
    return auth_service.list_users(session, org_id=principal.org_id)


@router.get("/users/{username}/tokens", response_model=list[TokenInfo])
def user_tokens(username: str, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                session: Session = Depends(get_session, scope="function")) -> list[TokenInfo]:
    """A user's API tokens (never the secrets), so an admin can revoke one with `DELETE /tokens/{id}`."""
    user = _user_of_practice(session, principal, username)
    return auth_service.list_tokens(session, user_id=user.id)


@router.post("/users/{username}/deactivate", response_model=User)
def deactivate(username: str, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
               session: Session = Depends(get_session, scope="function")) -> User:
    """Switch a user off: no sign-in, and every token and session they hold is revoked now."""
    return auth_service.set_active(session, org_id=principal.org_id, username=username, active=False,
                                   actor=principal.actor, acting_user_id=principal.user.id)


@router.post("/users/{username}/activate", response_model=User)
def activate(username: str, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
             session: Session = Depends(get_session, scope="function")) -> User:
    """Switch a user back on (their old tokens stay revoked: they sign in and issue new ones)."""
    return auth_service.set_active(session, org_id=principal.org_id, username=username, active=True,
                                   actor=principal.actor)


@router.post("/users/{username}/password", response_model=User)
def reset_password(username: str, body: PasswordReset, request: Request,
                   principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                   session: Session = Depends(get_session, scope="function")) -> User:
    """Set a user's password (a forgotten one): every web session and API token they hold ends now.
    In the audit trail as `user.password_reset`, without the password."""
    keep = request.cookies.get(SESSION_COOKIE) if principal.via == "session" else None
    return auth_service.reset_password(session, username=username, password=body.password, actor=principal.actor,
                                       org_id=principal.org_id, keep_token=keep)


@router.post("/users/{username}/unlock", response_model=Unlocked)
def unlock(username: str, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
           session: Session = Depends(get_session, scope="function")) -> Unlocked:
    """Clear a user's failed logins, so an account locked after 5 of them signs in again now (`auth.unlock`
    in the audit trail; the attempts stay on record)."""
    return auth_service.unlock_user(session, username=username, actor=principal.actor, org_id=principal.org_id)


def _user_of_practice(session: Session, principal: Principal, username: str) -> User:
    user = auth_service.get_user(session, username=username)
    if user.org_id != principal.org_id:
        raise NotFoundError(f"no user {username!r}")
    return user


@router.post("/users/{username}/grants", response_model=Grant, status_code=201)
def grant(username: str, body: GrantIn, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
          session: Session = Depends(get_session, scope="function")) -> Grant:
    """Give an auditor read-only access to one framework and audit window, until `expires_at`."""
    return auth_service.grant_auditor(session, username=username, data=body, actor=principal.actor,
                                      org_id=principal.org_id)


@router.get("/users/{username}/grants", response_model=list[Grant])
def grants(username: str, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
           session: Session = Depends(get_session, scope="function")) -> list[Grant]:
    """Every grant the auditor was given, newest first: the one in force (not revoked, not expired),
    and those that ended (`revoked_at`, including grants a newer one superseded, or `expires_at`)."""
    return auth_service.list_grants(session, username=username, org_id=principal.org_id)


@router.delete("/grants/{grant_id}", status_code=204)
def revoke_grant(grant_id: str, principal: Principal = Depends(require(Permission.USERS_MANAGE)),
                 session: Session = Depends(get_session, scope="function")) -> Response:
    auth_service.revoke_grant(session, grant_id=grant_id, actor=principal.actor, org_id=principal.org_id)
    return Response(status_code=204)
