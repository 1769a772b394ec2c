"""Reading and writing accounts, shared by the sign-in (`login`) and the rest of the domain (`service`)."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
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


def user_row(session: Session, *, username: str, org_id: str | None) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.username == username))
    if row is None or (org_id is not None and row.org_id != org_id):
        raise NotFoundError(f"no user {username!r}")
    return row


def hash_secret(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
