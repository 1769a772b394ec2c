"""Rows elsewhere that name the audit entries written with them: the check that finds a chain cut short.

A chain whose newest entries were deleted still links up from its first entry to its new last one,
so walking it cannot tell (docs/audit.md, Limits). But the packets and evaluation runs those
entries recorded are still in their own tables, each written in the same transaction as its
entry. A packet or run whose entry is not in the chain shows that entries were removed.

    Anchored                        one such row, as plain data (each domain lists its own:
                                    `findings.service.audit_anchors`, `packets.service.audit_anchors`;
                                    `pipeline.verify_audit` hands them to `verify`)
    missing(session, anchored)      a ChainBreak for every one whose entry is gone
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.schemas import ChainBreak
from engine.audit.tables import AuditEntryRow


@dataclass(frozen=True, order=True)
class Anchored:
    """A row written together with the audit entry `action` about `entity_id`."""

    org_id: str
    what: str
    entity_id: str
    action: str
    written_at: dt.datetime
    written_by: str


def missing(session: Session, anchored: Iterable[Anchored], *, org_id: str | None,
            limit: int = 100) -> list[ChainBreak]:
    """The anchored rows (of `org_id`, or every org) whose entry is not in their chain, at most `limit`."""
    wanted = sorted(a for a in anchored if org_id is None or a.org_id == org_id)
    if not wanted or limit <= 0:
        return []
    stmt = select(AuditEntryRow.org_id, AuditEntryRow.action, AuditEntryRow.entity_id).where(
        AuditEntryRow.action.in_(sorted({a.action for a in wanted})))
    if org_id is not None:
        stmt = stmt.where(AuditEntryRow.org_id == org_id)
    recorded = {(r.org_id, r.action, r.entity_id) for r in session.execute(stmt)}
    out = [ChainBreak(seq=None, org_id=a.org_id, org_seq=None, reason=(
        f"{a.what} {a.entity_id} (written {a.written_at:%Y-%m-%d %H:%M} by {a.written_by}) has no {a.action} entry "
        "in the chain: entries were removed, the newest ones if the chain itself still links up"))
        for a in wanted if (a.org_id, a.action, a.entity_id) not in recorded]
    return out[:limit]
