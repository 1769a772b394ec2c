"""Findings, their history, waivers and evaluation runs (SQLAlchemy 2 typed tables)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class EvaluationRunRow(Base):
    __tablename__ = "evaluation_run"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(100), index=True)
    as_of: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    known_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    backend: Mapped[str] = mapped_column(String(20))
    frameworks: Mapped[list[str]] = mapped_column(JSON)
    rulesets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: framework -> parameter -> [[first day, value], ...] for the values the practice dated (None: none)
    param_history: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    input_hash: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    diff: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(40), default="manual")


class FindingRow(Base):
    __tablename__ = "finding"
    __table_args__ = (
        UniqueConstraint("org_id", "rule_id", "subject_type", "subject_id", "occurrence_key"),
        Index("ix_finding_org_state", "org_id", "state"),
        Index("ix_finding_org_framework", "org_id", "framework"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(100))
    rule_id: Mapped[str] = mapped_column(String(60), index=True)
    framework: Mapped[str] = mapped_column(String(40))
    ruleset_version: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    citation: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    advisory: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(10), default="state")
    subject_type: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[str] = mapped_column(String(200))
    occurrence_key: Mapped[str] = mapped_column(String(200), default="")
    establishment_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(12))
    due: Mapped[str | None] = mapped_column(String(40), nullable=True)
    message: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    sop: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(20))
    assignee: Mapped[str | None] = mapped_column(String(200), nullable=True)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    opened_by_run: Mapped[str | None] = mapped_column(String(40), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_by_run: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_seen_run: Mapped[str | None] = mapped_column(String(40), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    waiver_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class FindingEventRow(Base):
    """One entry of a finding's history: a state transition, a comment or an assignment."""

    __tablename__ = "finding_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("finding.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # transition | comment | assign | update
    from_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class WaiverRow(Base):
    """A time-boxed waiver: rule x subject, or rule x establishment, for a period."""

    __tablename__ = "waiver"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(100), index=True)
    rule_id: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str | None] = mapped_column(String(60), nullable=True)
    subject_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    establishment_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    approver: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class FindingRevisionRow(Base):
    """What a finding said before a run changed it: its content up to `replaced_at`.

    A persisting finding's status, due date, message, evidence and facts are refreshed by every
    run; the finding row holds the newest. Each older content is kept here, so a packet or a
    review as of an earlier instant shows the finding as it read then. New findings cost nothing:
    a revision is written only when a run replaces content.
    """

    __tablename__ = "finding_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("finding.id"), index=True)
    replaced_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    replaced_by_run: Mapped[str | None] = mapped_column(String(40), nullable=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
