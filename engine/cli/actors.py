"""Who `--actor` names on a command that acts: one reading for `vigil tasks` and `vigil findings`.

A user (by username, or by the person their account stands for) is recorded as `user:<name>`, as
the API and the web record them, so one audit query finds everything they did however they did it;
a `cli:` label stands for the operator; any other name is refused (`input.actor`) rather than
written into a history as if such a user had acted. What the actor may then do is the command's
question (`engine.cli.tasks`: staff on their own tasks; `finding_actor`: a permission).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.auth import people
from engine.auth.roles import Permission, allowed
from engine.auth.tables import UserRow
from engine.errors import ErrorDetail, InputError


@dataclass(frozen=True)
class Named:
    """`--actor` read: as it is recorded, and the user behind it (None: a label or a person with no account)."""

    recorded: str
    user: UserRow | None
    label: bool = False


def named(session: Session, *, org_id: str, who: str) -> Named:
    """`who` as the organization knows it, or `InputError` naming what it could have been."""
    if who.startswith("cli:"):
        return Named(who, None, label=True)
    kind = people.kind_of(session, org_id=org_id, name=who)
    if kind not in ("user", "person"):
        raise InputError(f"--actor {who!r} is nobody in this organization", [ErrorDetail(
            reason=f"{who!r} is not a user or a person of this organization; give a username or a person id "
                   f"(e.g. {people.examples(session, org_id=org_id, roles=False)}), or a label written "
                   f"cli:{who} for work done on someone's behalf", field="--actor")], code="input.actor")
    user = session.scalars(select(UserRow).where(UserRow.org_id == org_id, (UserRow.username == who) | (
        UserRow.person_id == who)).order_by(UserRow.username)).first()
    return Named(who if user is None else f"user:{user.username}", user)


def finding_actor(session: Session, *, org_id: str, who: str, permission: Permission) -> str:
    """The actor a findings command records for `--actor who`: a user whose role grants `permission`,
    or a `cli:` label. A person with no account has no role to act on findings with, and staff may
    not (findings.update is the officer's), as the API would answer them 403."""
    actor = named(session, org_id=org_id, who=who)
    if actor.label:
        return actor.recorded
    if actor.user is None:
        raise InputError(f"--actor {who!r} cannot act on findings", [ErrorDetail(
            reason=f"{who} has no user account: findings are acted on by users whose role allows it "
                   f"({permission.value}); give their username, or cli:{who} for work done on their behalf",
            field="--actor")], code="input.actor")
    if not actor.user.active:  # as on the tasks commands (`people.cannot_act`): their sign-in is off
        raise InputError(f"--actor {who!r} cannot act on findings", [ErrorDetail(
            reason=f"{actor.user.username} is switched off and can no longer sign in: give the user who acts now",
            field="--actor")], code="input.actor")
    if not allowed(actor.user.role, permission):
        raise InputError(f"--actor {who!r} cannot act on findings", [ErrorDetail(
            reason=f"{actor.user.username}'s role ({actor.user.role}) does not allow {permission.value}",
            field="--actor")], code="input.actor")
    return actor.recorded
