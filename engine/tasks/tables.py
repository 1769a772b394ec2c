"""Tasks, their notes, evidence, history and escalations; recurring series; notifications and their
delivery attempts; the scheduler's job ledger (SQLAlchemy 2 typed tables).

Uniqueness carries the idempotency: one task per (org, key) where the key names its origin
(`finding:<id>` or `recur:<sop>:<establishment>:<period start>`), one escalation per (task, cycle,
step), one notification per (org, key, channel, recipient), one job run per (job, period).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class TaskRow(Base):
    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("org_id", "key"),
        Index("ix_task_org_state", "org_id", "state"),
        Index("ix_task_org_owner", "org_id", "owner"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(12))
    finding_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    sop: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    owner_role: Mapped[str] = mapped_column(String(100))
    owner_via: Mapped[str] = mapped_column(String(200))
    establishment_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    tz: Mapped[str] = mapped_column(String(64))
    due: Mapped[dt.date] = mapped_column(Date)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(10))
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    severity: Mapped[str | None] = mapped_column(String(10), nullable=True)
    period_start: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    cycle_started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TaskEventRow(Base):
    """One entry of a task's history (append-only)."""

    __tablename__ = "task_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("task.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(10), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(10), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # who held the task and when it was due once this entry happened: a packet as of an earlier
    # instant shows the assignee and due of then, not today's (null on entries before migration 0005)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TaskNoteRow(Base):
    """A note on a task (immutable: notes are added, never edited)."""

    __tablename__ = "task_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("task.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)


class TaskAttachmentRow(Base):
    """A file attached to a task, by content hash; the bytes live in the evidence store (immutable)."""

    __tablename__ = "task_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("task.id"), index=True)
    org_id: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(120))
    filename: Mapped[str] = mapped_column(String(255))
    attached_by: Mapped[str] = mapped_column(String(200))
    attached_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class TaskEscalationRow(Base):
    """One escalation step taken for an overdue task (cycle = how often the task was reopened)."""

    __tablename__ = "task_escalation"
    __table_args__ = (UniqueConstraint("task_id", "cycle", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("task.id"), index=True)
    cycle: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(100))
    person: Mapped[str | None] = mapped_column(String(200), nullable=True)
    scheduled_for: Mapped[dt.date] = mapped_column(Date)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TaskSeriesRow(Base):
    """A recurring SOP's series for one establishment (or the whole org): its anchor date."""

    __tablename__ = "task_series"
    __table_args__ = (UniqueConstraint("org_id", "sop", "scope_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(100))
    sop: Mapped[str] = mapped_column(String(80))
    scope_id: Mapped[str] = mapped_column(String(100))  # establishment id, or "*" for the org
    anchor: Mapped[dt.date] = mapped_column(Date)
    anchor_source: Mapped[str] = mapped_column(String(40))  # sop | first_scheduled | set:<actor>
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class NotificationRow(Base):
    """One message to one recipient on one channel (the outbox); delivered and retried by a job."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("org_id", "key", "channel", "recipient"),
        Index("ix_notification_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class NotificationAttemptRow(Base):
    """Every delivery attempt, successful or not."""

    __tablename__ = "notification_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notification.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(300))
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class JobRunRow(Base):
    """The scheduler's ledger: one row per (job, period); a second run of a period is a no-op.

    `state` is running or done; a running row whose lease has expired (its process died) may be
    taken over, and the job's own work is idempotent, so the resumed run completes what is left.
    """

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10))
    owner: Mapped[str] = mapped_column(String(200))
    takeovers: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
