"""Who work can be given to: an org's users, its people, and the SOP roles its people hold.

A finding's assignee, a task's owner and the person a user account stands for each name someone
who is to act. A name that is nobody ("nobody-at-all", a typo) would be stored and shown, and the
work would sit with no one; so each is checked against what the org knows:

- a **user**: the username of an account of the org;
- a **person**: a `person` record of the org, or a person policies/roles.yaml gives a role to (the
  practice's person ids, which may be named there before the records are imported: tasks are owned
  through it), or the person a user of the org is linked to (whose tasks that user sees);
- a **role**: a role of policies/roles.yaml (`security_officer`, or `role:security_officer`).

What each field admits is decided by its service: a finding may be assigned to a role, a task is
owned by someone who can open it (a user or a person), a user account stands for a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.auth.roles import ROLES, Permission, allowed
from engine.auth.tables import UserRow

Kind = Literal["user", "person", "role"]
#: what is being given: a task to own, or a finding to act on
Work = Literal["task", "finding"]
ROLE_PREFIX = "role:"


@dataclass(frozen=True)
class Directory:
    """The roles of policies/roles.yaml and the people it names (role -> people)."""

    roles: dict[str, list[str]]

    @property
    def people(self) -> set[str]:
        return {p for holders in self.roles.values() for p in holders}

    def holders(self, role: str) -> list[str]:
        return self.roles.get(role.removeprefix(ROLE_PREFIX), [])

    def is_role(self, name: str) -> bool:
        return name.removeprefix(ROLE_PREFIX) in self.roles


def directory() -> Directory:
    """roles.yaml as a directory; a missing or broken file names no one (the tasks domain reports it)."""
    from engine.errors import VigilError
    from engine.tasks.policy import load_roles

    try:
        policy = load_roles()
    except VigilError:
        return Directory(roles={})
    roles = {role: sorted(set(table.values())) for role, table in policy.roles.items()}
    roles.setdefault(policy.fallback_role, [])
    return Directory(roles=roles)


def linked_persons(session: Session, *, org_id: str) -> dict[str, str]:
    """username -> the person id that user's account stands for, for every linked user of the org: a
    user and their person are one owner (docs/tasks.md), so work given to either reaches the same
    person, by the same address."""
    rows = session.execute(select(UserRow.username, UserRow.person_id).where(
        UserRow.org_id == org_id, UserRow.person_id.is_not(None)))
    return {str(username): str(person) for username, person in rows}


class Names:
    """How a message names a person: "Dana Reyes (P-0003)", from the org's `person` record, read once
    per id. Why: mail had named everyone by id alone, and staff reading "Owner: P-0003" had to look
    themselves up. An id with no record or no name is shown as the id; None as `nobody`."""

    def __init__(self, session: Session, *, org_id: str, nobody: str = "-") -> None:
        self._session, self._org_id, self._nobody = session, org_id, nobody
        self._known: dict[str, str] = {}

    def __call__(self, person: str | None) -> str:
        if not person:
            return self._nobody
        if person not in self._known:
            from engine.records import service as records_service

            name = person
            for _rid, _v, data in records_service.iter_record_data_by_ids(
                    self._session, org_id=self._org_id, record_type="person", ids=[person]):
                full = " ".join(str(data[k]) for k in ("first_name", "last_name") if data.get(k))
                name = f"{full} ({person})" if full else person
            self._known[person] = name
        return self._known[person]


def person_ids(session: Session, *, org_id: str, ids: list[str]) -> set[str]:
    """Which of `ids` are people of the org: `person` records, or people roles.yaml names."""
    from engine.records import service as records_service

    wanted = sorted({i for i in ids if i})
    if not wanted:
        return set()
    found = {rid for rid, _v, _d in records_service.iter_record_data_by_ids(
        session, org_id=org_id, record_type="person", ids=wanted)}
    return found | (set(wanted) & directory().people)


def on_file(session: Session, *, org_id: str, names: list[str]) -> set[str]:
    """Which of `names` the org itself knows: `person` records, usernames and the person ids users
    stand for; unlike `person_ids`, a name only roles.yaml gives is not counted (that is the question
    `engine.tasks.holders` asks of roles.yaml)."""
    from engine.records import service as records_service

    wanted = sorted({n for n in names if n})
    if not wanted:
        return set()
    found = {rid for rid, _v, _d in records_service.iter_record_data_by_ids(
        session, org_id=org_id, record_type="person", ids=wanted)}
    found |= set(session.scalars(select(UserRow.username).where(UserRow.org_id == org_id,
                                                                UserRow.username.in_(wanted))))
    found |= {str(p) for p in session.scalars(select(UserRow.person_id).where(UserRow.org_id == org_id,
                                                                              UserRow.person_id.in_(wanted)))}
    return found


def names_someone(session: Session, *, org_id: str, name: str) -> bool:
    """Whether `name` already stands for somebody tasks can be owned by: a person of the org, or the
    owner of a task (an episode's person with no `person` record owns their tasks by id alone)."""
    from engine.tasks import store as task_store

    if person_ids(session, org_id=org_id, ids=[name]):
        return True
    return task_store.owns_any(session, org_id=org_id, owner=name)


def person_like(session: Session, *, org_id: str, name: str) -> str | None:
    """A person id of the org that `name` differs from only in case ('p-0001' for P-0001), or None:
    read aloud or typed in a hurry, the two name one person, and work given to the one would go to
    an account that is not theirs."""
    from engine.records import service as records_service

    if name in person_ids(session, org_id=org_id, ids=[name]):
        return None  # the same id, not a look-alike
    folded = name.casefold()
    for pid in sorted(directory().people):
        if pid.casefold() == folded:
            return pid
    found = records_service.ids_ignoring_case(session, org_id=org_id, record_type="person", name=name)
    return found[0] if found else None


def as_stored(session: Session, *, org_id: str, name: str) -> str:
    """`name` as the org's records spell it: a username typed in another case (`STAFF`) is the
    user's (`staff`), since usernames are unique ignoring case and sign in so; anything else (a
    person id, a role, an exact username) is kept as given. Assigning work to `STAFF` had been
    refused as "nobody in this organization"."""
    from engine.auth.rows import find_user

    if kind_of(session, org_id=org_id, name=name) is not None:
        return name
    user = find_user(session, name, org_id=org_id)
    return user.username if user is not None else name


def kind_of(session: Session, *, org_id: str, name: str) -> Kind | None:
    """What `name` is in the org: a user, a person, a role, or nothing (None)."""
    user = session.scalar(select(UserRow.id).where(UserRow.org_id == org_id, UserRow.username == name))
    if user is not None:
        return "user"
    linked = session.scalar(select(UserRow.id).where(UserRow.org_id == org_id, UserRow.person_id == name).limit(1))
    if linked is not None or person_ids(session, org_id=org_id, ids=[name]):
        return "person"
    if directory().is_role(name):
        return "role"
    return None


#: What a user's role must allow for work given to them to be theirs to do: any one of the sets, whole.
#: A task is opened and completed (tasks.read, tasks.update); a finding is acted on itself
#: (findings.read, findings.update) or through its SOP tasks, which move to its assignee
#: (`engine.pipeline.assign_finding`), so staff may be given one and a liaison may not.
WORK_NEEDS: dict[Work, tuple[frozenset[Permission], ...]] = {
    "task": (frozenset({Permission.TASKS_READ, Permission.TASKS_UPDATE}),),
    "finding": (frozenset({Permission.FINDINGS_READ, Permission.FINDINGS_UPDATE}),
                frozenset({Permission.TASKS_READ, Permission.TASKS_UPDATE})),
}


def cannot_act(session: Session, *, org_id: str, name: str, work: Work) -> str | None:
    """Why the user `name` (by username or linked person) cannot be given `work`, or None: an auditor
    only reads, a role without the permissions the work needs (a liaison given a task: 403 on
    opening it) never sees it, and a user switched off no longer signs in. Work given to any of them
    would sit unseen."""
    for user in session.scalars(select(UserRow).where(
            UserRow.org_id == org_id, (UserRow.username == name) | (UserRow.person_id == name))):
        if user.role == "auditor":
            return f"{user.username} is an auditor, with read-only access: give the work to the practice's own people"
        if not can_do(user.role, work):
            return (f"{user.username} is a {user.role}, whose role may not {_lacking(user.role, work)}: they could "
                    f"never open or complete this {work}; give it to one of the practice's people whose role "
                    f"may ({', '.join(r for r in ROLES if can_do(r, work))})")
        if not user.active:
            return f"{user.username} is switched off and can no longer sign in"
    return None


def can_do(role: str, work: Work) -> bool:
    """Whether `role` holds every permission of one of the ways to do `work` (an auditor never does)."""
    return role != "auditor" and any(all(allowed(role, p) for p in needs) for needs in WORK_NEEDS[work])


#: What each permission the work needs lets a person do, in the words of the people who assign work:
#: the refusal had said "whose role may not findings.update, nor tasks.read and tasks.update".
_DOING = {Permission.FINDINGS_READ: "read findings", Permission.FINDINGS_UPDATE: "act on findings",
          Permission.TASKS_READ: "open tasks", Permission.TASKS_UPDATE: "work on tasks"}


def _lacking(role: str, work: Work) -> str:
    """"open tasks or work on tasks": what the role lacks of each way to do the work ("..., nor ...")."""
    return ", nor ".join(" or ".join(_DOING[p] for p in sorted(needs) if not allowed(role, p))
                         for needs in WORK_NEEDS[work])


def examples(session: Session, *, org_id: str, roles: bool = True) -> str:
    """A few names that would do, for an error message: a username, a person (and a role)."""
    user = session.scalar(select(UserRow.username).where(UserRow.org_id == org_id).order_by(UserRow.username))
    d = directory()
    person = min(d.people, default=None)
    role = min(d.roles, default=None) if roles else None
    shown = [f"username {user!r}" if user else None, f"person {person!r}" if person else None,
             f"role {role!r}" if role else None]
    return ", ".join(x for x in shown if x)
