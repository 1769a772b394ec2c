"""Rows elsewhere that name the audit entries written with them: the check that finds a chain cut short.

A chain whose newest entries were deleted still links up from its first entry to its new last one,
so walking it cannot tell (docs/audit.md, Limits). But the packets and evaluation runs those
entries recorded are still in their own tables, each written in the same transaction as its
entry. A packet or run whose entry is not in the chain shows that entries were removed.

    ANCHORS                     (table row, the action its entry has), one per kind of record
    missing(session, org_id)    a ChainBreak for every such row whose entry is gone
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.schemas import ChainBreak
from engine.audit.tables import AuditEntryRow

#: (org_id, entity id, when, by whom) of the rows of one kind, for one org or every one
Rows = Callable[[Session, "str | None"], Iterator[tuple[str, str, dt.datetime, str]]]


@dataclass(frozen=True)
class Anchor:
    """A kind of row whose every instance was written together with an audit entry `action`."""

    what: str
    action: str
    rows: Rows


def _packets(session: Session, org_id: str | None) -> Iterator[tuple[str, str, dt.datetime, str]]:
    from engine.packets.tables import PacketRow

    stmt = select(PacketRow.org_id, PacketRow.id, PacketRow.built_at, PacketRow.built_by)
    if org_id is not None:
        stmt = stmt.where(PacketRow.org_id == org_id)
    for row in session.execute(stmt):
        yield row.org_id, row.id, row.built_at, row.built_by


def _runs(session: Session, org_id: str | None) -> Iterator[tuple[str, str, dt.datetime, str]]:
    """Every stored run: a stream run is stored only once it opens something, and then has its entry."""
    from engine.findings.tables import EvaluationRunRow

    stmt = select(EvaluationRunRow.org_id, EvaluationRunRow.id, EvaluationRunRow.started_at, EvaluationRunRow.actor)
    if org_id is not None:
        stmt = stmt.where(EvaluationRunRow.org_id == org_id)
    for row in session.execute(stmt):
        yield row.org_id, row.id, row.started_at, row.actor


ANCHORS = (Anchor("packet", "packet.build", _packets), Anchor("evaluation run", "evaluation.run", _runs))


def missing(session: Session, *, org_id: str | None, limit: int = 100) -> list[ChainBreak]:
    """The anchored rows whose audit entry is not in their organisation's chain (at most `limit`)."""
    out: list[ChainBreak] = []
    for anchor in ANCHORS:
        stmt = select(AuditEntryRow.org_id, AuditEntryRow.entity_id).where(AuditEntryRow.action == anchor.action)
        if org_id is not None:
            stmt = stmt.where(AuditEntryRow.org_id == org_id)
        recorded = {(r.org_id, r.entity_id) for r in session.execute(stmt)}
        for org, entity, when, by in sorted(anchor.rows(session, org_id)):
            if (org, entity) in recorded:
                continue
            out.append(ChainBreak(seq=None, org_id=org, org_seq=None, reason=(
                f"{anchor.what} {entity} (written {when:%Y-%m-%d %H:%M} by {by}) has no {anchor.action} entry in "
                "the chain: entries were removed, the newest ones if the chain itself still links up")))
            if len(out) >= limit:
                return out
    return out
