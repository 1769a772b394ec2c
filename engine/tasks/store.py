"""Row-level helpers shared by the task use cases: identities, history, audit, rows -> schemas,
and the zones of establishments. Nothing here is called from outside engine/tasks."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.db import in_chunks, utc
from engine.errors import ErrorDetail
from engine.rules import calendar
from engine.rules.state_zones import establishment_tz, practice_zone
from engine.tasks.errors import TaskNotFound
from engine.tasks.schemas import (
    ChecklistItem,
    Task,
    TaskAttachment,
    TaskEscalation,
    TaskEvent,
    TaskNote,
    TaskViewer,
)
from engine.tasks.tables import TaskAttachmentRow, TaskEscalationRow, TaskEventRow, TaskNoteRow, TaskRow


def task_id(org_id: str, key: str) -> str:
    """Deterministic id of a task's origin within an org (a retried create lands on the same id)."""
    return "T-" + hashlib.sha256(f"{org_id}|{key}".encode()).hexdigest()[:16]


def audit(session: Session, *, org_id: str, actor: str, action: str, entity_id: str,
          payload: dict[str, Any], entity_type: str = "task") -> None:
    from engine.audit import service as audit_service

    audit_service.append(session, org_id=org_id, actor=actor, action=action, entity_type=entity_type,
                         entity_id=entity_id, payload=payload)


def restart_escalation(row: TaskRow) -> bool:
    """Start a new escalation cycle for a task that has climbed its chain and now has a new owner:
    the new owner gets their first day before anyone is told again (steps count from the cycle's
    start). Without it a task handed on after its third step was never chased again. Returns
    whether a new cycle began."""
    if row.state != "open" or row.escalation_level == 0:
        return False
    row.cycle += 1
    row.cycle_started_at = clock.now()
    row.escalation_level = 0
    return True


def record_event(session: Session, row: TaskRow, *, actor: str, kind: str, to_state: str | None = None,
                 reason: str | None = None, at: dt.datetime | None = None) -> None:
    """Append a history entry and move the state (when `to_state` is given). The entry keeps the
    task's owner and due as they are once it happened (callers change them first), so the task can
    be shown as it stood at any instant."""
    at = at or clock.now()
    session.add(TaskEventRow(task_id=row.id, at=at, actor=actor, kind=kind,
                             from_state=row.state if to_state is not None else None, to_state=to_state,
                             reason=reason, owner=row.owner, due=row.due, due_at=row.due_at))
    if to_state is not None:
        row.state = to_state
    row.updated_at = at


def insert_once(session: Session, row: object) -> bool:
    """Insert a row whose unique key makes it idempotent; False if it already existed (savepoint)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
        return True
    except sa_exc.IntegrityError:
        return False


def load(session: Session, *, org_id: str, task_id: str, viewer: TaskViewer | None = None) -> TaskRow:
    """A task row the viewer may see; any other is reported as not found (no leak)."""
    row = session.get(TaskRow, task_id)
    return _visible(row, org_id=org_id, task_id=task_id, viewer=viewer)


def load_for_change(session: Session, *, org_id: str, task_id: str, viewer: TaskViewer | None = None) -> TaskRow:
    """`load` for a change: once the organization's writers are held (`hold`), as it stands then."""
    hold(session, org_id)
    row = session.get(TaskRow, task_id, populate_existing=True)
    return _visible(row, org_id=org_id, task_id=task_id, viewer=viewer)


def hold(session: Session, org_id: str) -> None:
    """Wait for the organization's other writers and keep them waiting until this transaction ends
    (the audit chain's lock, `engine.findings.lifecycle.hold`): a change taking its task's row
    first deadlocked with the escalation job, which holds the lock and then updates task rows."""
    from engine.audit import service as audit_service

    audit_service.hold_chain(session, org_id)


def _visible(row: TaskRow | None, *, org_id: str, task_id: str, viewer: TaskViewer | None) -> TaskRow:
    if row is None or row.org_id != org_id or (viewer is not None and not viewer.admits(row.owner)):
        raise TaskNotFound(f"no task {task_id}", [ErrorDetail(reason="unknown task", record_id=task_id)])
    return row


def establishment_zones(session: Session, *, org_id: str) -> dict[str, str]:
    """Establishment id -> IANA zone, from the record store."""
    from engine.records import service as records_service

    zones: dict[str, str] = {}
    for rec in records_service.iter_records(session, org_id=org_id, types=["establishment"]):
        zones[rec.id] = establishment_tz(rec.data) or ""
    return zones


def practice_label(session: Session, *, org_id: str) -> str:
    """How a message names the practice: its organization record's name and the org id, or the id
    alone. Read once per session (a run queues many messages)."""
    cache: dict[str, str] = session.info.setdefault("vigil.practice_label", {})
    if org_id not in cache:
        from engine.records import service as records_service

        name = next((str(rec.data.get("name") or "") for rec in
                     records_service.iter_records(session, org_id=org_id, types=["organization"])), "")
        cache[org_id] = f"{name} ({org_id})" if name and name != org_id else org_id
    return cache[org_id]


def default_zone(zones: dict[str, str]) -> str:
    """The org's zone where no establishment is named, as the rules judged it (`practice_zone`)."""
    return practice_zone(zones.values())


def zone_of(zones: dict[str, str], establishment_id: str | None) -> str:
    if establishment_id and zones.get(establishment_id):
        return zones[establishment_id]
    return default_zone(zones)


def owns_any(session: Session, *, org_id: str, owner: str) -> bool:
    """Whether some task of the org is owned by `owner` (a person id or a username)."""
    found = select(TaskRow.id).where(TaskRow.org_id == org_id, TaskRow.owner == owner).limit(1)
    return session.scalar(found) is not None


def is_overdue(row: TaskRow, now: dt.datetime) -> bool:
    return row.state == "open" and now >= utc(row.due_at)


def local_today(tz: str, now: dt.datetime) -> dt.date:
    """A task's today: the date of `now` in the task's own zone (`TaskRow.tz`), the zone its `due` is
    a date of and whose end of that day is its `due_at` (C7: never UTC's date)."""
    return calendar.local_date(now, tz)


def end_of_day(day: dt.date, tz: str) -> dt.datetime:
    return calendar.end_of_local_day(day, tz)


def to_task(row: TaskRow, *, session: Session | None = None, detail: bool = False,
            now: dt.datetime | None = None) -> Task:
    now = now or clock.now()
    done = row.state == "done"  # a task reopened before its completion was cleared on reopening kept it
    task = Task(
        id=row.id, org_id=row.org_id, kind=row.kind,  # type: ignore[arg-type]
        finding_id=row.finding_id, sop=row.sop, title=row.title, body=row.body,
        checklist=[ChecklistItem.model_validate(i) for i in row.checklist], owner=row.owner,
        owner_role=row.owner_role, owner_via=row.owner_via, establishment_id=row.establishment_id, tz=row.tz,
        due=row.due, due_at=utc(row.due_at), state=row.state,  # type: ignore[arg-type]
        close_reason=row.close_reason, severity=row.severity, period_start=row.period_start,
        overdue=is_overdue(row, now), escalation_level=row.escalation_level, cycle=row.cycle,
        created_at=utc(row.created_at), updated_at=utc(row.updated_at),
        completed_at=utc(row.completed_at) if done else None, completed_by=row.completed_by if done else None,
        confirmed_at=utc(row.confirmed_at) if done else None,
    )
    if detail and session is not None:
        task.notes = [TaskNote(id=n.id, at=utc(n.at), actor=n.actor, text=n.text) for n in session.scalars(
            select(TaskNoteRow).where(TaskNoteRow.task_id == row.id).order_by(TaskNoteRow.id))]
        task.attachments = [to_attachment(a) for a in session.scalars(
            select(TaskAttachmentRow).where(TaskAttachmentRow.task_id == row.id).order_by(TaskAttachmentRow.id))]
        task.escalations = [TaskEscalation(cycle=e.cycle, step=e.step, target=e.target, person=e.person,
                                           at=utc(e.at), scheduled_for=e.scheduled_for) for e in session.scalars(
            select(TaskEscalationRow).where(TaskEscalationRow.task_id == row.id)
            .order_by(TaskEscalationRow.cycle, TaskEscalationRow.step))]
        task.history = [TaskEvent(at=utc(e.at), actor=e.actor, kind=e.kind, from_state=e.from_state,
                                  to_state=e.to_state, reason=e.reason) for e in session.scalars(
            select(TaskEventRow).where(TaskEventRow.task_id == row.id).order_by(TaskEventRow.id))]
    return task


def events_by_task(session: Session, *, task_ids: list[str], known_at: dt.datetime) -> dict[str, list[TaskEventRow]]:
    """The history entries made by `known_at` of each of the given tasks, oldest first, by task id.

    One statement per `engine.db.IN_CHUNK` tasks: the packet builder read them one task at a time (1,492
    statements for a credentialing packet)."""
    out: dict[str, list[TaskEventRow]] = {}
    for chunk in in_chunks(task_ids):
        for ev in session.scalars(select(TaskEventRow).where(TaskEventRow.task_id.in_(chunk),
                                                             TaskEventRow.at <= known_at)
                                  .order_by(TaskEventRow.task_id, TaskEventRow.id)):
            out.setdefault(ev.task_id, []).append(ev)
    return out


def attachments_by_task(session: Session, *, task_ids: list[str],
                        known_at: dt.datetime) -> dict[str, list[TaskAttachmentRow]]:
    """The attachments made by `known_at` of each of the given tasks, in attachment order, by task id
    (one statement per `engine.db.IN_CHUNK` tasks, as `events_by_task`)."""
    out: dict[str, list[TaskAttachmentRow]] = {}
    for chunk in in_chunks(task_ids):
        for att in session.scalars(select(TaskAttachmentRow).where(TaskAttachmentRow.task_id.in_(chunk),
                                                                   TaskAttachmentRow.attached_at <= known_at)
                                   .order_by(TaskAttachmentRow.task_id, TaskAttachmentRow.id)):
            out.setdefault(att.task_id, []).append(att)
    return out


def to_attachment(a: TaskAttachmentRow) -> TaskAttachment:
    return TaskAttachment(id=a.id, task_id=a.task_id, sha256=a.sha256, size=a.size, media_type=a.media_type,
                          filename=a.filename, attached_by=a.attached_by, attached_at=utc(a.attached_at), note=a.note)


def add_note(session: Session, row: TaskRow, *, actor: str, text: str, at: dt.datetime | None = None) -> TaskNoteRow:
    note = TaskNoteRow(task_id=row.id, at=at or clock.now(), actor=actor, text=text)
    session.add(note)
    return note
