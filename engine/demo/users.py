"""The demo's sign-ins: one user per role, with a password anyone reading the README knows.

They live with the synthetic practice, not in the auth domain: a deployment's auth service has no
business holding accounts with well-known passwords, and only `vigil demo` (and the browser tests,
which sign in as the demo's users) should be able to make them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from engine import clock
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from engine.errors import NotFoundError
from engine.tasks.policy import load_roles

#: (username, role): one sign-in per role, each with the password `password_of` gives.
DEMO_USERS = [("admin", "admin"), ("officer", "officer"), ("liaison", "liaison"), ("auditor", "auditor"),
              ("staff", "staff")]
#: Demo users who are a person of the practice, by the SOP role (policies/roles.yaml) whose person
#: their account is linked to: tasks are owned by person ids, so an officer linked to nobody had an
#: empty "My tasks" though the compliance officer's person owns more of the SOP tasks than anyone.
PEOPLE = {"officer": "compliance_officer"}
#: The staff user is the HR and practice manager of the synthetic practice (its first person).
STAFF_PERSON = "P-0001"
#: How long the demo auditor's grant lasts.
GRANT_DAYS = 90


def password_of(role: str) -> str:
    """The demo password of a role's user (README, `make demo`'s printout)."""
    return f"{role}-demo-pass"


def ensure_demo_users(session: Session, *, org_id: str) -> list[dict[str, str]]:
    """Create whichever demo users are missing (an account already there is left as it is) and give
    the auditor a HIPAA grant of this year so far if they hold none; each user as the demo prints
    it, with the person id their account is linked to ("person", blank for none)."""
    roles = load_roles()
    for username, role in DEMO_USERS:
        try:
            auth.get_user(session, username=username)
            continue
        except NotFoundError:
            pass
        person = roles.person_for(PEOPLE[username], None) if username in PEOPLE else None
        if role == "staff":
            person = STAFF_PERSON
        auth.create_user(session, org_id=org_id, actor="demo", data=UserIn(
            username=username, password=password_of(role), role=role, display_name=f"Demo {role}",
            person_id=person))
    auditor = auth.get_user(session, username="auditor")
    if auth.active_grant(session, user_id=auditor.id) is None:
        now = clock.now()
        auth.grant_auditor(session, username="auditor", actor="demo", data=GrantIn(
            framework="hipaa", window_from=now.date().replace(month=1, day=1), window_to=now.date(),
            expires_at=now + dt.timedelta(days=GRANT_DAYS)))
    people = {u.username: u.person_id or "" for u in auth.list_users(session, org_id=org_id)}
    return [{"username": username, "password": password_of(role), "role": role, "person": people.get(username, "")}
            for username, role in DEMO_USERS]
