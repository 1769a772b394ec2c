"""The tasks list as CSV: what a compliance officer takes to a spreadsheet or a meeting.

One use case behind every face (REST `GET /tasks/export.csv`, `vigil tasks export`, the web tasks
page's "Download CSV"): the tasks a `TaskFilter` admits and a `TaskViewer` may see (staff: their
own), the same statement a page of `list_tasks` reads (`service.filtered`), by due date then id.
They are read `BATCH` at a time by keyset and written a line at a time, so a practice's thousands
are never held at once; every cell goes through `engine.cells.csv_cell`, so a title starting with
`=` reads as text in a spreadsheet rather than running as a formula.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from engine import clock, timefmt
from engine.cells import csv_lines
from engine.tasks import service, store
from engine.tasks.schemas import Task, TaskFilter, TaskViewer
from engine.tasks.tables import TaskRow

#: the columns, in order; `late_from` is the local instant the task turns late, as `vigil tasks show`
#: and the task page say it ("2026-03-04 00:00 CST"), `due_at` being that instant in UTC
COLUMNS: tuple[str, ...] = (
    "id", "title", "sop", "kind", "state", "owner", "owner_role", "establishment_id", "due", "late_from", "overdue",
    "severity", "finding_id", "escalation_level", "created_at", "completed_at",
)  # fmt: skip
#: tasks read per statement (see engine.findings.export.BATCH)
BATCH = 500


def tasks_csv(session: Session, *, org_id: str, filters: TaskFilter | None = None, viewer: TaskViewer | None = None,
              batch: int = BATCH) -> Iterator[str]:
    """The CSV lines (header first, CRLF-terminated) of the tasks `filters` admit and `viewer` may
    see, by due date then id, read `batch` at a time.

    The filters are checked here, before any line is made (`InputError` as `list_tasks` raises it),
    so a face can refuse the request before it starts a download. Whether a task is overdue is
    judged at one instant, when the export starts, for every row."""
    now = clock.now()
    stmt = service.filtered(session, org_id=org_id, filters=filters, viewer=viewer, now=now)
    return csv_lines(COLUMNS, (_row(t) for found in _batches(session, stmt, now, batch) for t in found))


def _batches(session: Session, stmt: Select[TaskRow], now: dt.datetime, batch: int) -> Iterator[list[Task]]:
    """The tasks of `stmt` by (due, id), `batch` at a time, each read after the last of the one before."""
    last: tuple[dt.date, str] | None = None
    while True:
        page = stmt if last is None else stmt.where(
            or_(TaskRow.due > last[0], and_(TaskRow.due == last[0], TaskRow.id > last[1])))
        rows = list(session.scalars(page.order_by(TaskRow.due, TaskRow.id).limit(batch)))
        if rows:
            yield [store.to_task(r, now=now) for r in rows]
        if len(rows) < batch:
            return
        last = (rows[-1].due, rows[-1].id)


def _row(t: Task) -> list[Any]:
    return [t.id, t.title, t.sop, t.kind, t.state, t.owner, t.owner_role, t.establishment_id, t.due.isoformat(),
            timefmt.local_time(t.due_at, t.tz), "true" if t.overdue else "false", t.severity, t.finding_id,
            t.escalation_level, timefmt.iso_utc(t.created_at), timefmt.iso_utc(t.completed_at)]

