"""Reading and writing accounts, shared by the sign-in (`login`) and the rest of the domain (`service`)."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.auth.schemas import User
from engine.auth.tables import UserRow
from engine.errors import NotFoundError


def audit_user(
    session: Session, *, org_id: str, actor: str, action: str, entity_id: str, payload: dict[str, object]
) -> None:
    from engine.audit import service as audit

    audit.append(
        session, org_id=org_id, actor=actor, action=action, entity_type="user", entity_id=entity_id, payload=payload
    )


def to_user(row: UserRow) -> User:
    return User(
        id=row.id,
        org_id=row.org_id,
        username=row.username,
        role=row.role,
        display_name=row.display_name,
        person_id=row.person_id,
        active=row.active,
    )


def find_user(session: Session, username: str, *, org_id: str | None = None) -> UserRow | None:
    """The account a typed name means: the one spelt so, else the one whose name differs only in
    case (usernames are unique ignoring case), so `Alice` signs in and is managed as `alice`. With
    `org_id` an account of another org is none."""
    row = session.scalar(select(UserRow).where(UserRow.username == username))
    if row is None:
        alike = session.scalars(select(UserRow).where(func.lower(UserRow.username) == username.lower()).limit(2)).all()
        row = alike[0] if len(alike) == 1 else None
    return None if row is None or (org_id is not None and row.org_id != org_id) else row


def user_row(session: Session, *, username: str, org_id: str | None) -> UserRow:
    row = find_user(session, username, org_id=org_id)
    if row is None:
        raise NotFoundError(f"no user {username!r}")
    return row


def hash_secret(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
