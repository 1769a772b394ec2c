"""Who policies/roles.yaml gives each role to, checked against the practice's own people.

Why: roles.yaml names role holders by person id (or username) and ships holding the demo
practice's ids. A new practice that had not rewritten it had every task of a fresh evaluation owned
by P-0002 and P-0003, people it does not have, and nobody was told: the tasks sat with no one and
their mail went nowhere. A holder the practice has no `person` record, employment episode or user for is therefore
named wherever work is handed out from the roles (`vigil tasks roles`, the warnings of an
evaluation). The assignment itself is unchanged: a person not imported yet is a normal state for a
while, and the warning says what to do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from engine import clock
from engine.tasks.policy import load_roles, policies_dir
from engine.tasks.workforce import episode_people, left_on


@dataclass(frozen=True)
class Holder:
    """One line of roles.yaml: `role` at `establishment` ("*": every one) goes to `holder`."""

    role: str
    establishment: str
    holder: str
    standing: str  # "present", "left on 2026-12-01", or "not on file"
    name: str | None  # the person's name as their record gives it, when there is one
    site_known: bool = True  # False: `establishment` names no establishment of the practice

    @property
    def on_file(self) -> bool:
        return self.standing != NOT_ON_FILE


NOT_ON_FILE = "not on file"


def role_holders(session: Session, *, org_id: str, as_of: dt.datetime | None = None,
                 directory: Path | str | None = None) -> list[Holder]:
    """Every role holder roles.yaml names (the fallback role first), with where they stand at `as_of`."""
    from engine.auth import people
    from engine.records import service as records_service

    policy = load_roles(directory)
    named = sorted({person for table in policy.roles.values() for person in table.values()})
    employed, left = episode_people(session, org_id=org_id, as_of=clock.ensure_utc(as_of or clock.now()))
    known = people.on_file(session, org_id=org_id, names=named) | (employed & set(named))
    person_of = people.linked_persons(session, org_id=org_id)
    persons = {rid: data for rid, _, data in records_service.iter_record_data_by_ids(
        session, org_id=org_id, record_type="person", ids=sorted({person_of.get(n, n) for n in named}))}
    sites = {rid for rid, _, _ in records_service.iter_record_data(session, org_id=org_id,
                                                                   record_type="establishment")}
    holders: list[Holder] = []
    order = sorted(policy.roles, key=lambda role: (role != policy.fallback_role, role))
    for role in order:
        for where, holder in sorted(policy.roles[role].items(), key=lambda kv: (kv[0] != "*", kv[0])):
            person = person_of.get(holder, holder)
            if holder not in known:
                standing = NOT_ON_FILE
            elif person in left:
                standing = left_on(left[person])
            else:
                standing = "present"
            data = persons.get(person) or {}
            name = " ".join(str(data[k]) for k in ("first_name", "last_name") if data.get(k)) or None
            holders.append(Holder(role, where, holder, standing, name, site_known=where == "*" or where in sites))
    return holders


def not_on_file_lines(holders: list[Holder], *, org_id: str, directory: Path | str | None = None) -> list[str]:
    """One warning per holder the practice has no record or user of, naming the roles they hold;
    then one per site roles.yaml names that is no establishment of the practice (its lines are
    never used: a typo there sends the site's work to the "*" holder), and one when the fallback
    role, where every role nobody holds ends, has no holder at all."""
    roles: dict[str, list[str]] = {}
    for h in holders:
        if not h.on_file:
            where = "" if h.establishment == "*" else f" at {h.establishment}"
            roles.setdefault(h.holder, []).append(f"{h.role}{where}")
    path = policies_dir(directory) / "roles.yaml"
    unknown_sites = sorted({h.establishment for h in holders if not h.site_known})
    sites = [f"{path} names the site {site}, which is no establishment of {org_id}: its lines are never used "
             "(the \"*\" holder gets that work); write an establishment id" for site in unknown_sites]
    fallback = load_roles(directory).fallback_role
    backstops = [h for h in holders if h.role == fallback]
    nobody = [] if backstops else [
        f"{path} gives the fallback role {fallback}, where the work of every role nobody holds goes, to nobody: "
        "such tasks are left unassigned"]
    if backstops and all(h.standing.startswith("left on") for h in backstops):  # session 48: opened unowned, unsaid
        gone = ", ".join(f"{h.holder} {h.standing}" for h in backstops)
        nobody.append(f"{path} gives the fallback role {fallback}, where the work of every role nobody present "
                      f"holds goes, only to people who have left ({gone}): such tasks are left unassigned; name "
                      "who holds it now")
    return [f"{path} gives {', '.join(held)} to {holder}, whom {org_id}'s records and users do not know: tasks of "
            f"{'that role' if len(held) == 1 else 'those roles'} go to no one here. Put the id of the person "
            f"who holds {'it' if len(held) == 1 else 'them'} in roles.yaml (vigil tasks roles lists every "
            "holder; docs/tasks.md, 'Your practice's roles')"
            for holder, held in sorted(roles.items())] + sites + nobody
