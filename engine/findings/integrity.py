"""Findings against their own history and the audit trail: the part of `vigil audit verify` that
catches a finding's state changed in the database without the change that explains it.

Why: a critical finding set to `false_positive` by hand in the database stayed so for good (the
next evaluation restored its severity and kept the state, and closed its task), while verify said
the trail was intact: the finding table is not chained. Two things every change of state leaves,
and a hand edit does not:

- the finding's newest transition in its history moved it to the state it has;
- a transition made by a person (or by a waiver lapsing), not by a run, was written with a
  `finding.*` entry of the chain about that finding; a run's transitions name the run, whose
  `evaluation.run` entry the chain check already looks for.

A history row forged with a run's id, or a forged entry, is beyond this check: the latter breaks
the chain, the former needs the run's findings recomputed (docs/audit.md, Limits).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit.schemas import ChainBreak
from engine.audit.tables import AuditEntryRow
from engine.findings.tables import FindingEventRow, FindingRow

#: The chain entries a change of state by a person (or a waiver lapsing) writes.
PERSON_ACTIONS = ("finding.acknowledge", "finding.false_positive", "finding.close", "finding.reopen",
                  "finding.waive")


def check_findings(session: Session, *, org_id: str | None, limit: int = 100) -> tuple[int, list[ChainBreak]]:
    """How many findings were checked, and a `finding` break for each (at most `limit`) whose state
    its history does not explain or whose person-made changes the chain does not hold."""
    entries = _entries_by_finding(session, org_id)
    checked = 0
    broken: list[ChainBreak] = []
    for finding_id, finding_org, state, last, unchained in _histories(session, org_id):
        checked += 1
        if len(broken) >= limit:
            continue
        reason = None
        if last != state:
            reason = (f"its state is {state} but its history's last change moved it to {last}" if last is not None
                      else f"its state is {state} but its history records no change of state")
            reason += ": the state was changed without a change recorded (by hand in the database?)"
        elif unchained > entries.get((finding_org, finding_id), 0):
            reason = (f"its history holds {unchained} change(s) made by a person or a lapsed waiver, and the "
                      f"audit trail {entries.get((finding_org, finding_id), 0)}: a change was written into the "
                      "history without its audit entry")
        if reason is not None:
            broken.append(ChainBreak(seq=None, org_id=finding_org, org_seq=None, reason=reason, kind="finding",
                                     record_type="finding", record_id=finding_id))
    return checked, broken


def _histories(session: Session, org_id: str | None) -> Iterator[tuple[str, str, str, str | None, int]]:
    """(finding, org, state, the last transition's state, the transitions no run made), finding by finding."""
    stmt = (select(FindingRow.id, FindingRow.org_id, FindingRow.state, FindingEventRow.to_state,
                   FindingEventRow.run_id)
            .outerjoin(FindingEventRow, (FindingEventRow.finding_id == FindingRow.id)
                       & (FindingEventRow.kind == "transition"))
            .order_by(FindingRow.id, FindingEventRow.id))
    if org_id is not None:
        stmt = stmt.where(FindingRow.org_id == org_id)
    current: list[object] | None = None
    for fid, org, state, to_state, run_id in session.execute(stmt.execution_options(yield_per=5000)):
        if current is None or current[0] != fid:
            if current is not None:
                yield tuple(current)  # type: ignore[misc]
            current = [fid, org, state, None, 0]
        if to_state is not None:
            current[3] = to_state
            current[4] = int(current[4]) + (run_id is None)  # type: ignore[call-overload]
    if current is not None:
        yield tuple(current)  # type: ignore[misc]


def _entries_by_finding(session: Session, org_id: str | None) -> Counter[tuple[str, str]]:
    stmt = (select(AuditEntryRow.org_id, AuditEntryRow.entity_id, func.count())
            .where(AuditEntryRow.action.in_(PERSON_ACTIONS))
            .group_by(AuditEntryRow.org_id, AuditEntryRow.entity_id))
    if org_id is not None:
        stmt = stmt.where(AuditEntryRow.org_id == org_id)
    return Counter({(org, entity): int(n) for org, entity, n in session.execute(stmt)})
