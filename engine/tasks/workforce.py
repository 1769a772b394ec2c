"""Who has left the practice, as the records say: nobody who has left is given work.

policies/roles.yaml names each role's holder by person id and is changed by hand, often late. A
safety lead whose employment ended on 1 December went on receiving the site's new tasks, its daily
digest and "escalated to you" mail, and `tasks assign` accepted them without a word. The records
know better: a person whose every employment episode has ended by the instant has left. A person
with no episode at all (a consultant roles.yaml names, or records not imported yet) is taken as
present, as is one with an episode still running or one starting later (a rehire): nothing says
they are gone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from engine import clock
from engine.records.fields import stored_instant

if TYPE_CHECKING:
    from engine.tasks.policy import RolePolicy


@dataclass(frozen=True)
class Workforce:
    """What the employment episodes say at an instant, from one read of them: everyone they name,
    who has left (with when, in their site's zone), and where each person still there works."""

    named: set[str]
    left: dict[str, dt.datetime]
    sites: dict[str, str]  # person -> establishment of their latest episode begun and not ended


def departures(session: Session, *, org_id: str, as_of: dt.datetime) -> dict[str, dt.datetime]:
    """person id -> when their last employment ended, for each person who has left by `as_of`."""
    return workforce_at(session, org_id=org_id, as_of=as_of).left


def episode_people(session: Session, *, org_id: str,
                   as_of: dt.datetime) -> tuple[set[str], dict[str, dt.datetime]]:
    """Everyone some employment episode names (workforce the records know, with or without a `person`
    record), and of them who has left by `as_of` with when."""
    found = workforce_at(session, org_id=org_id, as_of=as_of)
    return found.named, found.left


def workforce_at(session: Session, *, org_id: str, as_of: dt.datetime,
                 zones: dict[str, str] | None = None) -> Workforce:
    """The episodes read once for who is named, who has left and where the others work (`zones`:
    the establishments' zones, when the caller has them already)."""
    from engine.records import service as records_service
    from engine.tasks import store

    as_of = clock.ensure_utc(as_of)
    zones = store.establishment_zones(session, org_id=org_id) if zones is None else zones
    named: set[str] = set()
    ended: dict[str, dt.datetime] = {}
    present: set[str] = set()
    latest: dict[str, tuple[dt.datetime, str]] = {}
    for _rid, _version, data in records_service.iter_record_data(
            session, org_id=org_id, record_type="employment_episode"):
        person = str(data.get("person_id") or "")
        if not person:
            continue
        named.add(person)
        written = stored_instant(data.get("end_at"))  # validated on import: only parsed here
        site = data.get("establishment_id")
        # the instant in the episode's site's zone, so that its day is the local one (`left_on`)
        end = None if written is None else clock.ensure_utc(written).astimezone(ZoneInfo(store.zone_of(zones, site)))
        if end is None or end > as_of:
            present.add(person)
            start = stored_instant(data.get("start_at"))
            begun = None if start is None else clock.ensure_utc(start)
            if site and begun is not None and begun <= as_of and (person not in latest or begun > latest[person][0]):
                latest[person] = (begun, str(site))
        elif person not in ended or end > ended[person]:
            ended[person] = end
    return Workforce(named=named, left={p: end for p, end in ended.items() if p not in present},
                     sites={p: site for p, (_, site) in latest.items()})


def left_on(end: dt.datetime) -> str:
    """"left on 2026-12-01": how a history line or an error names a departure: the day the last
    episode ended where it was (`workforce_at` gives the instant in the site's zone; C7). It had
    been the UTC day, so a Denver lead who left at 17:00 on 14 December "left on 2026-12-15"."""
    return f"left on {end.date().isoformat()}"


def hand_over_departed(session: Session, *, org_id: str, roles: RolePolicy, actor: str) -> int:
    """Give each open task owned by someone who has left (by person id, or by the username of a user
    linked to them) to whoever now holds its SOP role at its site; returns how many moved. A task
    whose role nobody present holds stays where it is: the escalation chain still reaches the
    managers above its owner."""
    from sqlalchemy import select

    from engine.auth import people
    from engine.tasks import store
    from engine.tasks.tables import TaskRow

    if not roles.departed:
        return 0
    person_of = people.linked_persons(session, org_id=org_id)
    gone_owners = {p for p in roles.departed} | {u for u, p in person_of.items() if p in roles.departed}
    moved = 0
    for row in session.scalars(select(TaskRow).where(
            TaskRow.org_id == org_id, TaskRow.state == "open", TaskRow.owner.in_(sorted(gone_owners)))
            .order_by(TaskRow.id)):
        before = str(row.owner)
        left = roles.gone(person_of.get(before, before))
        now_holds = roles.resolve(row.owner_role, row.establishment_id)
        if now_holds.person is None or now_holds.person in (before, person_of.get(before)):
            continue
        row.owner, row.owner_via = now_holds.person, now_holds.via[:200]
        again = "; escalation starts over with the new owner" if store.restart_escalation(row) else ""
        store.record_event(session, row, actor=actor, kind="reassigned",
                           reason=f"{before} -> {now_holds.person}: {before} {left}; {now_holds.via}{again}")
        store.audit(session, org_id=org_id, actor=actor, action="task.reassign", entity_id=row.id,
                    payload={"from": before, "to": now_holds.person, "reason": f"{before} {left}"})
        moved += 1
    return moved


def refusal(session: Session, *, org_id: str, name: str) -> str | None:
    """Why work cannot be given to `name` (a person id, or a user's username) because they have left,
    or None: an assignment by hand is held to the same test as one by role."""
    from engine.auth import people

    person = people.linked_persons(session, org_id=org_id).get(name, name)
    end = departures(session, org_id=org_id, as_of=clock.now()).get(person)
    if end is None:
        return None
    who = person if person == name else f"{name} ({person})"
    return (f"{who} {left_on(end)} (their last employment episode ended {end.isoformat()}): work given to them "
            "would sit with no one; give it to someone at the practice now")
