"""Turning an SOP into a task: render the template, resolve the owner, write the row exactly once.

Shared by the finding sync and by recurring obligations. A task's identity is its origin key, so a
second attempt (a re-run, a retried job, a concurrent process) finds the row and writes nothing.
An SOP that is missing or broken does not leave a finding without an owner: the task is opened from
a generic template, owned through the fallback role, and the problem is written into its history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine import clock
from engine.tasks import store, templates
from engine.tasks.errors import PolicyError
from engine.tasks.policy import RolePolicy
from engine.tasks.schemas import Sop
from engine.tasks.tables import TaskRow

GENERIC_BODY = """## Steps
1. Read the finding: {{ finding.message }}
2. Fix the cause and record what was done in the source system.
3. Attach the evidence and complete this task.
"""


@dataclass
class OpenSpec:
    """What a new task is made of, before rendering."""

    org_id: str
    key: str
    kind: str
    sop_id: str
    context: dict[str, Any]
    establishment_id: str | None
    tz: str
    due: dt.date
    due_at: dt.datetime
    finding_id: str | None = None
    severity: str | None = None
    period_start: dt.date | None = None
    fallback_title: str = ""


@dataclass
class SopCache:
    """SOPs loaded once per sync or job (and the problems met while loading them)."""

    directory: Path | str | None = None
    loaded: dict[str, Sop | PolicyError] = field(default_factory=dict)
    #: each task opened with generic steps because its SOP was missing, broken or failed to render:
    #: (SOP id, task id, why), for the evaluation to say (it had been said only in the task's history)
    fell_back: list[tuple[str, str, str]] = field(default_factory=list)

    def get(self, sop_id: str) -> Sop | PolicyError:
        if sop_id not in self.loaded:
            try:
                self.loaded[sop_id] = templates.load_sop(sop_id, self.directory)
            except PolicyError as exc:
                self.loaded[sop_id] = exc
        return self.loaded[sop_id]


def open_task(session: Session, spec: OpenSpec, *, sops: SopCache, roles: RolePolicy, actor: str) -> TaskRow | None:
    """Create the task for `spec.key` unless it exists; returns the new row, or None if it existed."""
    tid = store.task_id(spec.org_id, spec.key)
    if session.get(TaskRow, tid) is not None:
        return None
    loaded = sops.get(spec.sop_id)
    problem: str | None = None
    why = ""  # the problem in a line, for the evaluation to say
    if isinstance(loaded, PolicyError):
        problem = f"SOP template unavailable, generic steps used: {loaded}"
        why = f"its template is unavailable ({loaded.message})"
        sop = Sop(id=spec.sop_id, title=spec.fallback_title or spec.sop_id, owner_role=roles.fallback_role,
                  default_due_days=7, body=GENERIC_BODY, path="(generic)")
    else:
        sop = loaded
    try:
        rendered = templates.render_sop(sop, {**spec.context, "task": {"due": spec.due.isoformat()}})
    except PolicyError as exc:
        problem = f"SOP template could not be rendered, generic steps used: {exc}"
        why = f"its template could not be rendered ({exc.message})"
        sop = sop.model_copy(update={"body": GENERIC_BODY, "path": "(generic)"})
        rendered = templates.render_sop(sop, spec.context)
    owner = roles.resolve(sop.owner_role, spec.establishment_id)
    now = clock.now()
    row = TaskRow(
        id=tid, org_id=spec.org_id, key=spec.key, kind=spec.kind, finding_id=spec.finding_id, sop=spec.sop_id,
        title=rendered.title or spec.fallback_title or spec.sop_id, body=rendered.body,
        checklist=[{"index": i, "text": t, "done": False, "done_by": None, "done_at": None}
                   for i, t in enumerate(rendered.checklist)],
        owner=owner.person, owner_role=sop.owner_role, owner_via=owner.via, establishment_id=spec.establishment_id,
        tz=spec.tz, due=spec.due, due_at=spec.due_at, state="open", severity=spec.severity,
        period_start=spec.period_start, escalation_level=0, cycle=0, cycle_started_at=now, created_at=now,
        updated_at=now,
    )
    if not store.insert_once(session, row):
        return None
    store.record_event(session, row, actor=actor, kind="created", reason=_created_reason(spec, owner.via), at=now)
    if problem:
        store.record_event(session, row, actor=actor, kind="note", reason=problem, at=now)
        sops.fell_back.append((spec.sop_id, row.id, why))
    store.audit(session, org_id=spec.org_id, actor=actor, action="task.create", entity_id=row.id, payload={
        "key": spec.key, "sop": spec.sop_id, "owner": owner.person, "owner_via": owner.via,
        "due": spec.due.isoformat(), "finding_id": spec.finding_id, "sop_problem": problem})
    return row


def _created_reason(spec: OpenSpec, via: str) -> str:
    origin = f"finding {spec.finding_id}" if spec.finding_id else f"recurring {spec.sop_id} period {spec.period_start}"
    return f"opened for {origin}; owner {via}; due {spec.due.isoformat()}"
