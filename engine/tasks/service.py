"""Tasks use cases: sync with findings, list (and count what is due soon), show, complete, check off,
note, attach evidence, reassign; and what the packet builder reads (tasks with evidence as of an
instant, evidence bytes by hash).

Every function takes the session first and keyword arguments, never commits, and records history
plus an audit entry for each change. `viewer` narrows what a caller sees and may act on (staff:
their own tasks); a task outside it does not exist for them (NotFound, no leak).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, get_args

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from engine import clock, storable_text
from engine.db import in_chunks, utc
from engine.errors import ErrorDetail, InputError, invalid_cursor
from engine.rules import calendar
from engine.tasks import evidence, filenames, store, templates, workforce
from engine.tasks.errors import EvidenceTypeRefused, PolicyError, TaskNotFound, TaskTransitionRefused
from engine.tasks.schemas import (
    Task,
    TaskAttachment,
    TaskFilter,
    TaskKind,
    TaskPage,
    TaskSeverity,
    TaskState,
    TaskViewer,
)
from engine.tasks.tables import TaskAttachmentRow, TaskRow

#: the values of the severity filter, the most severe first (a recurring task has none: a severity
#: filter leaves it out)
SEVERITIES: tuple[str, ...] = get_args(TaskSeverity)

__all__ = [
    "add_note", "attach_evidence", "check_item", "check_step", "complete_task", "filtered", "get_attachment",
    "get_task", "list_due_soon", "list_tasks", "open_evidence", "packet_tasks", "reassign_task", "sync_from_findings",
    "task_owners", "tasks_for_packet",
]


def sync_from_findings(session: Session, *, org_id: str, actor: str, as_of: dt.datetime,
                       policies: Path | str | None = None, fell_back: list[str] | None = None) -> dict[str, int]:
    """Called by the pipeline after every persisted evaluation: see engine.tasks.sync."""
    from engine.tasks import sync

    return sync.sync_from_findings(session, org_id=org_id, actor=actor, as_of=as_of, policies=policies,
                                   fell_back=fell_back)


# -- reading ---------------------------------------------------------------------------------------

def list_tasks(session: Session, *, org_id: str, filters: TaskFilter | None = None, viewer: TaskViewer | None = None,
               limit: int = 100, cursor: str | None = None) -> TaskPage:
    """Tasks by due date (then id), keyset-paged; staff viewers see their own only."""
    if not 1 <= limit <= 1000:
        raise InputError("limit must be between 1 and 1000", [ErrorDetail(reason=str(limit), field="limit")])
    now = clock.now()
    stmt = filtered(session, org_id=org_id, filters=filters, viewer=viewer, now=now)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    has_prev, prev_cursor = False, None
    if cursor:
        due, tid = _decode_cursor(cursor)
        # the page before: up to `limit` rows up to the cursor, read backwards; the row above those,
        # if any, is its cursor (none: it is the first page), as findings page (docs/api.md)
        above = list(session.scalars(stmt.where(or_(TaskRow.due < due, and_(TaskRow.due == due, TaskRow.id <= tid)))
                                     .order_by(TaskRow.due.desc(), TaskRow.id.desc()).limit(limit + 1)))
        has_prev = bool(above)
        prev_cursor = _encode_cursor(above[limit]) if len(above) > limit else None
        stmt = stmt.where(or_(TaskRow.due > due, and_(TaskRow.due == due, TaskRow.id > tid)))
    rows = list(session.scalars(stmt.order_by(TaskRow.due, TaskRow.id).limit(limit + 1)))
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return TaskPage(items=[store.to_task(r, now=now) for r in rows[:limit]], total=total, next_cursor=next_cursor,
                    has_prev=has_prev, prev_cursor=prev_cursor)


def filtered(session: Session, *, org_id: str, filters: TaskFilter | None = None, viewer: TaskViewer | None = None,
             now: dt.datetime) -> Select[TaskRow]:
    """The statement selecting the org's tasks that `filters` admit and `viewer` may see, unordered,
    after `_check_filters` (a value that can never match is refused); `now` decides what is overdue.
    What a page of `list_tasks` and the CSV export (`engine.tasks.export`) both read."""
    f = filters or TaskFilter()
    if f.owner:  # `STAFF` is the user `staff`, as signing in and assigning take it
        from engine.auth import people

        f = f.model_copy(update={"owner": ",".join(
            people.as_stored(session, org_id=org_id, name=o) for o in f.owner.split(","))})
    _check_filters(session, org_id=org_id, f=f, viewer=viewer)
    stmt = select(TaskRow).where(TaskRow.org_id == org_id)
    owners = _same_people(session, org_id=org_id, text=f.owner)
    for column, value in (("state", f.state), ("owner", owners), ("kind", f.kind), ("sop", f.sop),
                          ("finding_id", f.finding_id), ("establishment_id", f.establishment_id),
                          ("severity", f.severity)):
        if value:
            stmt = stmt.where(getattr(TaskRow, column).in_(value.split(",")))
    if f.overdue is True:
        stmt = stmt.where(TaskRow.state == "open", TaskRow.due_at <= now)
    elif f.overdue is False:
        stmt = stmt.where(or_(TaskRow.state != "open", TaskRow.due_at > now))
    if viewer is not None and viewer.owners is not None:
        stmt = stmt.where(TaskRow.owner.in_(sorted(viewer.owners)))
    return stmt


def task_owners(session: Session, *, org_id: str) -> list[str]:
    """Everyone who owns some task of the org (person ids and usernames, as the tasks hold them),
    sorted: what a manager picks from to see one person's tasks (the web tasks page's Owner)."""
    return sorted(session.scalars(select(TaskRow.owner).where(TaskRow.org_id == org_id,
                                                              TaskRow.owner.is_not(None)).distinct()))


def list_due_soon(session: Session, *, org_id: str, within_days: int, establishment_id: str | None = None,
                  viewer: TaskViewer | None = None, limit: int = 10) -> TaskPage:
    """Open tasks not overdue yet and due within `within_days` of today, today being the task's own:
    all of them counted (`total`), the soonest `limit` listed (by due date, then id).

    A task's `due` is a local date in its own zone (`TaskRow.tz`, its establishment's), and it turns
    overdue when that day ends there (`store.is_overdue`), so "within N days" is judged the same way:
    from `store.local_today` in that zone. A horizon counted from UTC's date reached one day too far
    every evening in the Americas, and a count made from a page of rows stopped at the page. The
    zones are the few the organization's tasks are written in: one condition each, in one COUNT.
    """
    if within_days < 0:
        raise InputError("within_days must not be negative", [ErrorDetail(reason=str(within_days),
                                                                          field="within_days")])
    if not 1 <= limit <= 1000:
        raise InputError("limit must be between 1 and 1000", [ErrorDetail(reason=str(limit), field="limit")])
    _check_filters(session, org_id=org_id, f=TaskFilter(establishment_id=establishment_id), viewer=viewer)
    now = clock.now()
    stmt = select(TaskRow).where(TaskRow.org_id == org_id, TaskRow.state == "open", TaskRow.due_at > now)
    if establishment_id:
        stmt = stmt.where(TaskRow.establishment_id == establishment_id)
    if viewer is not None and viewer.owners is not None:
        stmt = stmt.where(TaskRow.owner.in_(sorted(viewer.owners)))
    zones = sorted(session.scalars(stmt.with_only_columns(TaskRow.tz).distinct()))
    if not zones:
        return TaskPage(items=[], total=0)
    stmt = stmt.where(or_(*(and_(TaskRow.tz == tz,
                                 TaskRow.due <= calendar.add_days(store.local_today(tz, now), within_days))
                            for tz in zones)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(TaskRow.due, TaskRow.id).limit(limit))
    return TaskPage(items=[store.to_task(r, now=now) for r in rows], total=total)


def _same_people(session: Session, *, org_id: str, text: str | None) -> str | None:
    """The owner filter's values, each with the other name of the same person: a task is owned by a
    person id (roles.yaml) or by a username (a reassignment may give it one), and staff see both as
    theirs (TaskViewer), so `owner=staff` must find what P-0001 owns, and the other way round."""
    wanted = {v for v in (text or "").split(",") if v}
    if not wanted:
        return text
    from engine.auth import service as auth_service

    names = set(wanted)
    for user in auth_service.list_users(session, org_id=org_id):
        if user.person_id and wanted & {user.username, user.person_id}:
            names |= {user.username, user.person_id}
    return ",".join(sorted(names))


def _check_filters(session: Session, *, org_id: str, f: TaskFilter, viewer: TaskViewer | None = None) -> None:
    """A filter value that can never match would answer "no tasks", which reads as "nothing to do":
    refused, every one at once. `state`, `kind` and `severity` take their values only; an owner, SOP, finding or
    establishment must be one the org has (a user or person; an SOP template; a finding; an
    establishment record), or else be on some task of the org (so a value that matches is never
    refused, whatever the policies and records say now).

    A viewer who sees their own tasks only (staff) is answered about people and findings from those
    tasks alone: an owner must be one of their own names, a finding on one of their tasks. Judged
    against the whole practice, "not a user" against an empty list told staff which accounts,
    people and findings exist. The practice's sites and SOP templates are no secret to its staff:
    judged as for anyone (another site is an empty list, not an error)."""
    from engine.auth import people
    from engine.findings import service as findings_service

    def values(text: str | None) -> list[str]:
        return [v for v in (text or "").split(",") if v.strip()]

    problems = [ErrorDetail(reason=f"{v!r} is not a task {name}; the {name} values are: {', '.join(allowed)}",
                            field=name)
                for name, allowed in (("state", get_args(TaskState)), ("kind", get_args(TaskKind)),
                                      ("severity", SEVERITIES))
                for v in values(getattr(f, name)) if v not in allowed]

    named: list[tuple[str, str, Any, Callable[[list[str]], set[str]], str]] = [
        ("owner", f.owner or "", TaskRow.owner,
         lambda vs: {v for v in vs if people.kind_of(session, org_id=org_id, name=v) in ("user", "person")},
         "is not a user or a person of this organization"),
        ("sop", f.sop or "", TaskRow.sop, lambda vs: {v for v in vs if _sop_exists(v)},
         "is not an SOP template (policies/sops/<SOP>.md)"),
        ("finding", f.finding_id or "", TaskRow.finding_id,
         lambda vs: findings_service.finding_ids(session, org_id=org_id, ids=vs),
         "is not a finding of this organization"),
        ("establishment", f.establishment_id or "", TaskRow.establishment_id,
         lambda vs: _establishments(session, org_id=org_id, ids=vs), "is not an establishment of this organization"),
    ]
    mine = viewer.owners if viewer is not None else None
    for name, text, column, exists, why in named:
        wanted = sorted(set(values(text)))
        if not wanted:
            continue
        stmt = select(column).where(TaskRow.org_id == org_id, column.in_(wanted))
        private = mine is not None and name in ("owner", "finding")
        if private:
            stmt = stmt.where(TaskRow.owner.in_(sorted(mine or ())))
        on_tasks = set(session.scalars(stmt.distinct()))
        rest = [v for v in wanted if v not in on_tasks]
        if not private:
            found = exists(rest) if rest else set()
        elif name == "owner":
            found, why = set((mine or frozenset()) & set(rest)), "is not you: you see your own tasks only"
        else:
            found, why = set(), "is not on any of your tasks"
        problems += [ErrorDetail(reason=f"{v!r} {why}", field=name) for v in rest if v not in found]
    if problems:
        raise InputError(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} with the filters", problems)


def _sop_exists(sop_id: str) -> bool:
    try:
        return templates.sop_path(sop_id).is_file()
    except PolicyError:  # not even an SOP id
        return False


def _establishments(session: Session, *, org_id: str, ids: list[str]) -> set[str]:
    from engine.records import service as records_service

    return {rid for rid, _v, _d in records_service.iter_record_data_by_ids(
        session, org_id=org_id, record_type="establishment", ids=ids)}


def get_task(session: Session, *, org_id: str, task_id: str, viewer: TaskViewer | None = None) -> Task:
    """One task with its checklist, notes, attachments, escalations and history."""
    row = store.load(session, org_id=org_id, task_id=task_id, viewer=viewer)
    return store.to_task(row, session=session, detail=True)


def _encode_cursor(row: TaskRow) -> str:
    return base64.urlsafe_b64encode(json.dumps([row.due.isoformat(), row.id]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[dt.date, str]:
    try:
        due, tid = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(tid, str) or not tid.startswith("T-") or "\x00" in tid or len(tid) > 512:
            raise ValueError("not a tasks cursor")  # another list's, or forged (PostgreSQL refuses NUL)
        return dt.date.fromisoformat(due), str(tid)
    except (ValueError, TypeError, RecursionError):  # RecursionError: `[[[...]]]` nested deep
        raise invalid_cursor() from None


# -- acting ----------------------------------------------------------------------------------------

def after_completion(task: Task) -> str:
    """What happens to a completed task next, as the faces say it: a finding's task waits for the
    next evaluation; a recurring one is done for its period (there is no finding to confirm it: the
    CLI and the web had promised a confirmation that never came)."""
    if task.finding_id is not None:
        return "the next evaluation confirms it, or reopens it if the finding is still there"
    period = f" (from {task.period_start.isoformat()})" if task.period_start else ""
    return f"done for its period{period}; the next period's task opens when that period begins"


def complete_task(session: Session, *, org_id: str, task_id: str, actor: str, viewer: TaskViewer | None = None,
                  note: str | None = None) -> Task:
    """Mark an open task done; for a finding's task, the next evaluation confirms it or reopens it.

    Steps left unticked do not block the completion (a step may not apply this time), but the
    history and the audit trail say which, so an auditor reading the task does not take an
    incomplete checklist for a complete one."""
    row = store.load_for_change(session, org_id=org_id, task_id=task_id, viewer=viewer)
    if row.state != "open":
        raise TaskTransitionRefused(f"cannot complete a task that is {row.state}",
                                    [ErrorDetail(reason="only open tasks can be completed", record_id=task_id)])
    now = clock.now()
    unticked = [i + 1 for i, item in enumerate(row.checklist or []) if not item.get("done")]
    said = note
    if unticked:
        # "with ...": after the history's "completed", "3 of 4 checklist steps not ticked" had read as
        # three steps completed
        steps = (f"with {len(unticked)} of {len(row.checklist)} checklist steps unticked: "
                 f"{', '.join(map(str, unticked))}")
        said = f"{note} [{steps}]" if note else steps
    row.completed_at, row.completed_by, row.confirmed_at = now, actor, None
    store.record_event(session, row, actor=actor, kind="completed", to_state="done", reason=said, at=now)
    if note:
        store.add_note(session, row, actor=actor, text=note, at=now)
    store.audit(session, org_id=org_id, actor=actor, action="task.complete", entity_id=row.id,
                payload={"note": note, "finding_id": row.finding_id, "unticked_steps": unticked})
    session.flush()
    return store.to_task(row, session=session, detail=True)


def check_item(session: Session, *, org_id: str, task_id: str, step: int, actor: str, done: bool = True,
               viewer: TaskViewer | None = None) -> Task:
    """Tick (or untick) one checklist step. Steps are numbered 1..N on every face (the page, the
    history, the CLI, REST), so `step` is that number, not a list index."""
    return check_step(session, org_id=org_id, task_id=task_id, step=step, actor=actor, done=done, viewer=viewer)[0]


def check_step(session: Session, *, org_id: str, task_id: str, step: int, actor: str, done: bool = True,
               viewer: TaskViewer | None = None) -> tuple[Task, bool]:
    """`check_item`, and whether the step changed (False: it was already so, and nothing is written).

    A step already ticked keeps who ticked it and when: a second tick from a page loaded earlier
    (another person's, or a double click) had overwritten `done_by` and added a second "done" to the
    history; unticking a step not ticked had likewise recorded "not done" again and again."""
    row = store.load_for_change(session, org_id=org_id, task_id=task_id, viewer=viewer)
    if row.state != "open":
        raise TaskTransitionRefused(f"the checklist of a {row.state} task is closed")
    items = [dict(i) for i in row.checklist]
    if not 1 <= step <= len(items):
        why = f"the steps are 1..{len(items)}" if items else "this task has no checklist steps"
        raise InputError(f"no checklist step {step}", [ErrorDetail(reason=why, field="step")])
    item = items[step - 1]
    if bool(item.get("done")) == done:
        return store.to_task(row, session=session, detail=True), False
    now = clock.now()
    item.update(done=done, done_by=actor if done else None, done_at=now.isoformat() if done else None)
    row.checklist = items
    what = f"step {step} {'done' if done else 'not done'}: {item['text'][:200]}"
    store.record_event(session, row, actor=actor, kind="checked", reason=what, at=now)
    store.audit(session, org_id=org_id, actor=actor, action="task.check", entity_id=row.id,
                payload={"step": step, "done": done})
    session.flush()
    return store.to_task(row, session=session, detail=True), True


def add_note(session: Session, *, org_id: str, task_id: str, actor: str, text: str,
             viewer: TaskViewer | None = None) -> Task:
    """Add a note (notes are never edited or removed). The note is also a history entry (kind
    "note"): the history is what `GET /tasks/{id}`, the task page and the evidence packet read, and
    a note kept only in the notes list was missing from the task's record as an auditor sees it."""
    if not text.strip():
        raise InputError("a note needs text", [ErrorDetail(reason="empty note", field="text")])
    row = store.load_for_change(session, org_id=org_id, task_id=task_id, viewer=viewer)
    note = store.add_note(session, row, actor=actor, text=text)
    store.record_event(session, row, actor=actor, kind="note", reason=text, at=note.at)
    session.flush()
    store.audit(session, org_id=org_id, actor=actor, action="task.note", entity_id=row.id,
                payload={"note_id": note.id, "text": text})
    return store.to_task(row, session=session, detail=True)


def attach_evidence(session: Session, *, org_id: str, task_id: str, actor: str, stream: BinaryIO, filename: str,
                    viewer: TaskViewer | None = None, note: str | None = None,
                    root: Path | str | None = None, limit: int | None = None) -> TaskAttachment:
    """Store a file by content (size-limited, type sniffed) and record who attached it to the task, when."""
    unstorable = storable_text.problems({"file": filename or "", "note": note or ""})
    if unstorable:  # a multipart file name escapes the request checks (engine.api.app)
        raise InputError("the attachment's name or note cannot be stored",
                         [ErrorDetail(reason=reason, field=field) for field, reason in unstorable],
                         code="input.unstorable_text")
    row = store.load_for_change(session, org_id=org_id, task_id=task_id, viewer=viewer)
    # a label: a control character in it (an ESC clearing the terminal of whoever lists the task, a
    # U+202E turning "txt.exe" round) is shown as '_' rather than refusing the evidence itself
    name = filenames.clean(filename)
    if filenames.runnable(name):  # whatever the bytes: downloaded, it would run on a click
        given = repr(name) if name == filename else f"{filename!r}, kept as {name!r},"
        raise EvidenceTypeRefused("a file named to run is not kept as evidence", [ErrorDetail(
            reason=f"{given} ends in {filenames.suffix(name)}; save it as a PDF, image or text file", field="file")])
    blob = evidence.put(stream, root=root, limit=limit)
    now = clock.now()
    att = TaskAttachmentRow(task_id=row.id, org_id=org_id, sha256=blob.sha256, size=blob.size,
                            media_type=blob.media_type, filename=name, attached_by=actor, attached_at=now, note=note)
    session.add(att)
    row.updated_at = now
    session.flush()
    store.record_event(session, row, actor=actor, kind="attached",
                       reason=f"{name} ({blob.media_type}, {blob.size} bytes, sha256 {blob.sha256})", at=now)
    store.audit(session, org_id=org_id, actor=actor, action="task.attach", entity_id=row.id,
                payload={"sha256": blob.sha256, "size": blob.size, "media_type": blob.media_type, "filename": name,
                         "attachment_id": att.id})
    return store.to_attachment(att)


def reassign_task(session: Session, *, org_id: str, task_id: str, owner: str, actor: str) -> Task:
    """Give a task to another person (managers only: the route asks for TASKS_MANAGE).

    The owner is someone who can open the task and be chased for it: a person of the org (a person
    record, or one policies/roles.yaml names; tasks are owned by person id) or a user (by username).
    A role is not an owner (nobody would see the task as theirs): the error names who holds it."""
    from engine.auth import people

    owner = owner.strip()
    if not owner:
        raise InputError("an owner is required", [ErrorDetail(reason="empty owner", field="owner")])
    row = store.load_for_change(session, org_id=org_id, task_id=task_id)
    owner = people.as_stored(session, org_id=org_id, name=owner)
    kind = people.kind_of(session, org_id=org_id, name=owner)
    if kind not in ("user", "person"):
        holders = people.directory().holders(owner) if kind == "role" else []
        why = (f"{owner!r} is a role, not a person; give who holds it" +
               (f" ({', '.join(holders)})" if holders else "") if kind == "role" else
               f"{owner!r} is not a person or a user of this organization; give a person id or a username, e.g. "
               f"{people.examples(session, org_id=org_id, roles=False)}")
        raise InputError(f"cannot give the task to {owner!r}", [ErrorDetail(reason=why, field="owner")],
                         code="input.owner")
    unable = people.cannot_act(session, org_id=org_id, name=owner, work="task") or workforce.refusal(
        session, org_id=org_id, name=owner)
    if unable is not None:
        raise InputError(f"cannot give the task to {owner!r}", [ErrorDetail(reason=unable, field="owner")],
                         code="input.owner")
    before = row.owner
    if before is not None and _same_owner(session, org_id=org_id, a=before, b=owner):
        return store.to_task(row, session=session, detail=True)  # nothing changes, and nothing is written
    row.owner, row.owner_via = owner, f"reassigned by {actor}"[:200]
    reason = f"{before or '-'} -> {owner}" + ("; escalation starts over with the new owner"
                                              if store.restart_escalation(row) else "")
    store.record_event(session, row, actor=actor, kind="reassigned", reason=reason)
    store.audit(session, org_id=org_id, actor=actor, action="task.reassign", entity_id=row.id,
                payload={"from": before, "to": owner})
    session.flush()
    return store.to_task(row, session=session, detail=True)


def _same_owner(session: Session, *, org_id: str, a: str, b: str) -> bool:
    """Whether two owner names are one person: the same name, or a username and the person its user
    account stands for. Giving a task to its owner had written a history row and an audit entry."""
    from engine.auth import people

    linked = people.linked_persons(session, org_id=org_id)
    return a == b or linked.get(a, a) == linked.get(b, b)


def get_attachment(session: Session, *, org_id: str, task_id: str, sha256: str | None = None,
                   attachment_id: int | None = None, viewer: TaskViewer | None = None) -> TaskAttachment:
    """An attachment of a task the viewer may see (for downloads), by its id (`TaskAttachment.id`), or
    by its bytes' sha256: the first attachment of those bytes.

    The same bytes attached twice under two names are stored once, so a download by hash could only
    ever carry the first name (`b.html` came down as `a.txt`); the id names the one attachment."""
    row = store.load(session, org_id=org_id, task_id=task_id, viewer=viewer)
    query = select(TaskAttachmentRow).where(TaskAttachmentRow.task_id == row.id)
    if attachment_id is not None:
        query, asked, field = query.where(TaskAttachmentRow.id == attachment_id), str(attachment_id), "attachment"
    else:
        query, asked, field = query.where(TaskAttachmentRow.sha256 == sha256), str(sha256), "sha256"
    att = session.scalars(query.order_by(TaskAttachmentRow.id)).first()
    if att is None:
        raise TaskNotFound(f"task {task_id} has no attachment {asked}",
                           [ErrorDetail(reason="unknown attachment", record_id=task_id, field=field)])
    return store.to_attachment(att)


# -- for the packet builder ------------------------------------------------------------------------

def open_evidence(sha256: str, *, root: Path | str | None = None) -> BinaryIO:
    """Open attached evidence by its sha256 (EvidenceRef.opener for the content-addressed store)."""
    return evidence.open_blob(sha256, root=root)


def tasks_for_packet(session: Session, *, org_id: str, finding_ids: list[str],
                     known_at: dt.datetime) -> list[dict[str, Any]]:
    """The tasks of these findings as the database knew them at `known_at` (PacketTask shape), each with
    its evidence (id, name, sha256, size, media_type, attached_at, attached_by) attached by then, its
    history up to then (who completed, reopened, reassigned it, when and why: a task completed late
    and reopened by the next run showed only `open` before), its assignee and due as they stood then
    (each history entry keeps them; entries made before migration 0005 do not, and the task's
    current ones stand in), and each completion after the due instant of its day counted in
    `completed_late`.

    Read in three statements per `engine.db.IN_CHUNK` findings or tasks, not two per task: a
    credentialing packet of 1,492 tasks spent 2,984 statements here."""
    known_at = clock.ensure_utc(known_at)
    out: list[dict[str, Any]] = []
    rows: list[TaskRow] = []
    for chunk in in_chunks(finding_ids):
        rows.extend(session.scalars(select(TaskRow).where(TaskRow.org_id == org_id, TaskRow.finding_id.in_(chunk),
                                                          TaskRow.created_at <= known_at)))
    rows.sort(key=lambda r: r.id)  # ids are "T-" and hex digits: the same order on every database
    ids = [r.id for r in rows]
    events = store.events_by_task(session, task_ids=ids, known_at=known_at)
    attachments = store.attachments_by_task(session, task_ids=ids, known_at=known_at)
    for row in rows:
        state = "open"
        history, late = [], 0
        owner, due, due_at = row.owner, row.due, utc(row.due_at)
        completed: dt.datetime | None = None
        for ev in events.get(row.id, []):
            at = utc(ev.at)
            state = ev.to_state or state
            if ev.due_at is not None:  # else an entry older than these columns: the current values stand
                owner, due, due_at = ev.owner, ev.due or due, utc(ev.due_at)
            if ev.to_state == "done":
                completed = at
                late += at > due_at
            history.append({"at": at.isoformat(), "kind": ev.kind, "actor": ev.actor, "from_state": ev.from_state,
                            "to_state": ev.to_state, "reason": ev.reason})
        out.append({
            "id": row.id, "title": row.title, "state": state, "finding_ids": [row.finding_id],
            "assignee": owner, "due": due.isoformat(), "sop": row.sop,
            # the completion of the history as it stood (the task's own column holds the latest, and
            # none once it reopened): completed, reopened and completed again, a packet as at the
            # first completion had said not completed
            "completed_at": completed if state == "done" else None,
            "evidence": [{"id": a.id, "name": a.filename, "sha256": a.sha256, "size": a.size,
                          "media_type": a.media_type, "attached_at": utc(a.attached_at),
                          "attached_by": a.attached_by} for a in attachments.get(row.id, [])],
            "due_at": due_at.isoformat(), "completed_late": late, "history": history,
        })
    return out


def task_findings(session: Session, *, org_id: str, task_ids: list[str]) -> dict[str, str | None]:
    """The finding each task serves (None for a recurring obligation's task), by task id."""
    out: dict[str, str | None] = {}
    wanted = sorted(set(task_ids))
    for start in range(0, len(wanted), 500):
        out.update(session.execute(select(TaskRow.id, TaskRow.finding_id).where(
            TaskRow.org_id == org_id, TaskRow.id.in_(wanted[start:start + 500]))).all())
    return out


def packet_tasks(session: Session, *, org_id: str, finding_ids: list[str],
                 known_at: dt.datetime | None = None) -> list[Any]:
    """`tasks_for_packet` as the packet builder's PacketTask objects, evidence opened from the store by hash."""
    from functools import partial

    from engine.packets.schemas import EvidenceRef, PacketTask

    out = []
    for t in tasks_for_packet(session, org_id=org_id, finding_ids=finding_ids, known_at=known_at or clock.now()):
        refs = [EvidenceRef(name=e["name"], sha256=e["sha256"], size=e["size"], media_type=e["media_type"],
                            attached_at=e["attached_at"], attachment_id=e["id"], attached_by=e["attached_by"],
                            opener=partial(open_evidence, e["sha256"]))
                for e in t["evidence"]]
        out.append(PacketTask.model_validate({**t, "evidence": refs}))
    return out
