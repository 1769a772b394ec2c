"""Plain data of the tasks domain: tasks, their checklist, notes, evidence and history; SOP templates;
the escalation policy; notifications. Rows never leave the domain, these do."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field, field_validator

from engine.auth.roles import Permission, allowed
from engine.auth.schemas import Principal

TaskState = Literal["open", "done", "closed"]
TaskKind = Literal["finding", "recurring"]
#: a task's severity, its finding's (engine.rules.spec.SEVERITY_ORDER), the most severe first; a
#: recurring task has none
TaskSeverity = Literal["critical", "high", "medium", "low"]
Channel = Literal["email", "webhook"]


class ChecklistItem(BaseModel):
    index: int  # the position in the list, from 0 (as stored)
    text: str
    done: bool = False
    done_by: str | None = None
    done_at: dt.datetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def step(self) -> int:
        """The step's number as every face shows and takes it (1..N): what `tasks check` and REST want."""
        return self.index + 1


class TaskNote(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    text: str


class TaskAttachment(BaseModel):
    """One file attached to a task: content-addressed (sha256), immutable, who and when recorded."""

    id: int
    task_id: str
    sha256: str
    size: int
    media_type: str
    filename: str
    attached_by: str
    attached_at: dt.datetime
    note: str | None = None


class TaskEvent(BaseModel):
    at: dt.datetime
    actor: str
    kind: str  # created | completed | reopened | closed | confirmed | escalated | reassigned | due_changed |
    # severity_changed | checked | note (a note added, its text the reason)
    from_state: str | None = None
    to_state: str | None = None
    reason: str | None = None


class TaskEscalation(BaseModel):
    cycle: int
    step: int
    target: str  # the chain entry: owner or a role
    person: str | None
    at: dt.datetime
    scheduled_for: dt.date


class TaskSummary(BaseModel):
    """A task as a list shows it: everything but its notes, evidence, escalations and history, which
    `Task` (one task, `tasks show`, `GET /tasks/{id}`) adds. A list had carried those four as empty
    arrays, which a script read as "no history" for a task whose page showed one."""

    id: str
    org_id: str
    kind: TaskKind
    finding_id: str | None
    sop: str
    title: str
    body: str
    checklist: list[ChecklistItem]
    owner: str | None
    owner_role: str
    owner_via: str  # how the owner was resolved (role@establishment, fallback ...)
    establishment_id: str | None
    tz: str
    due: dt.date
    due_at: dt.datetime
    state: TaskState
    close_reason: str | None = None
    severity: str | None = None
    period_start: dt.date | None = None
    overdue: bool = False
    escalation_level: int = 0
    cycle: int = 0
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None = None
    completed_by: str | None = None
    confirmed_at: dt.datetime | None = None


class Task(TaskSummary):
    """Owned, dated work: one per finding (kind=finding) or one per period of a recurring SOP."""

    notes: list[TaskNote] = Field(default_factory=list)
    attachments: list[TaskAttachment] = Field(default_factory=list)
    escalations: list[TaskEscalation] = Field(default_factory=list)
    history: list[TaskEvent] = Field(default_factory=list)


class TaskFilter(BaseModel):
    state: str | None = None  # comma-separated
    owner: str | None = None
    kind: str | None = None
    sop: str | None = None
    finding_id: str | None = None
    establishment_id: str | None = None
    overdue: bool | None = None
    #: the severities of the tasks' findings (critical, high, medium, low; comma-separated); a
    #: recurring task has none, so this filter leaves every recurring task out
    severity: str | None = None


class TaskViewer(BaseModel):
    """Whose tasks a caller may see and act on: None = every task; otherwise only these owners."""

    actor: str
    owners: frozenset[str] | None = None

    @classmethod
    def everyone(cls, actor: str) -> TaskViewer:
        return cls(actor=actor, owners=None)

    @classmethod
    def of(cls, principal: Principal) -> TaskViewer:
        """The one rule for REST and the web UI: managers (TASKS_MANAGE) see every task, anyone else
        only the tasks they own (by person id or username)."""
        if allowed(principal.role, Permission.TASKS_MANAGE):
            return cls.everyone(principal.actor)
        owners = {x for x in (principal.user.person_id, principal.user.username) if x}
        return cls(actor=principal.actor, owners=frozenset(owners))

    def admits(self, owner: str | None) -> bool:
        return self.owners is None or (owner is not None and owner in self.owners)


class TaskPage(BaseModel):
    items: list[TaskSummary]
    total: int
    next_cursor: str | None = None
    has_prev: bool = Field(default=False, description="a page before this one exists")
    prev_cursor: str | None = Field(default=None, description="the cursor of the page before this one; null with "
                                    "has_prev true when that page is the first: ask again without a cursor")


class Recurrence(BaseModel):
    every: int = Field(ge=1)
    unit: Literal["days", "weeks", "months", "years"]
    start: dt.date | None = None  # the series anchor; default: the day the series is first scheduled
    scope: Literal["establishment", "org"] = "establishment"
    #: only at establishments where this test holds for the period (`engine.tasks.applicability`)
    only_where: Literal["osha_records_required", "osha_ita_required", "in_colorado"] | None = None


class Sop(BaseModel):
    """An SOP template (policies/sops/SOP-*.md): front matter plus a Jinja2 Markdown body."""

    id: str
    title: str
    owner_role: str
    default_due_days: int = Field(ge=0)
    recurrence: Recurrence | None = None
    citation: str = ""
    evidence: list[str] = Field(default_factory=list)
    body: str
    path: str


class RenderedSop(BaseModel):
    title: str
    body: str
    checklist: list[str]


class EscalationPolicy(BaseModel):
    """policies/escalation.yaml: who hears of an overdue task, and when; where notifications go."""

    chain: list[str] = Field(default_factory=lambda: ["owner", "practice_manager", "compliance_officer"])
    step_interval_days: int = Field(default=2, ge=0)
    working_days: bool = False
    calendar: str = "US-FEDERAL"
    critical_notify: list[str] = Field(default_factory=lambda: ["owner", "compliance_officer"])
    digest_hour: int = Field(default=7, ge=0, le=23)
    channels: list[Channel] = Field(default_factory=lambda: list[Channel](["email", "webhook"]))
    digest_channels: list[Channel] = Field(default_factory=lambda: list[Channel](["email"]))
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_from: str = "vigil@localhost"
    smtp_starttls: bool = False
    webhook_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s]*)?$")
    webhook_secret_env: str = "VIGIL_WEBHOOK_SECRET"
    max_attempts: int = Field(default=6, ge=1)
    backoff_base_seconds: int = Field(default=60, ge=1)
    backoff_max_seconds: int = Field(default=3600, ge=1)
    contacts: dict[str, dict[str, str]] = Field(default_factory=dict)
    # where people open the web UI: mail links each task there (`<app_url>/tasks/<id>`); None, no links
    app_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")

    @field_validator("app_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value


class Notification(BaseModel):
    id: str
    org_id: str
    key: str
    kind: str
    channel: Literal["email", "webhook"]
    recipient: str
    address: str | None
    subject: str
    body: str
    payload: dict[str, Any]
    state: str  # pending | sending | sent | failed | skipped
    attempts: int
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    last_error: str | None


class DeliveryResult(BaseModel):
    ok: bool
    status_code: int | None = None
    error: str | None = None
