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

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import service as audit
from engine.audit.schemas import ChainBreak
from engine.findings.tables import FindingEventRow, FindingRow

#: The chain entries a change of state by a person (or a waiver lapsing) writes; each payload says
#: the state it moved the finding to (`to`).
PERSON_ACTIONS = ("finding.acknowledge", "finding.false_positive", "finding.close", "finding.reopen",
                  "finding.waive")


def check_findings(session: Session, *, org_id: str | None, limit: int = 100) -> tuple[int, list[ChainBreak]]:
    """How many findings were checked, and a `finding` break for each (at most `limit`) whose state
    its history does not explain or whose person-made changes the chain does not hold, in order."""
    chained = _chained_states(session, org_id)
    checked = 0
    broken: list[ChainBreak] = []
    for finding_id, finding_org, state, last, by_person in _histories(session, org_id):
        checked += 1
        if len(broken) >= limit:
            continue
        reason = None
        in_chain = chained.get((finding_org, finding_id), [])
        if last != state:
            reason = (f"its state is {state} but its history's last change moved it to {last}" if last is not None
                      else f"its state is {state} but its history records no change of state")
            reason += ": the state was changed without a change recorded (by hand in the database?)"
        elif not _in_order(by_person, in_chain):
            reason = (f"its history's changes made by a person or a lapsed waiver went to "
                      f"{_states(by_person)}, and the audit trail's to {_states(in_chain)}: a change was "
                      "written into the history, or rewritten there, without its audit entry")
        if reason is not None:
            broken.append(ChainBreak(seq=None, org_id=finding_org, org_seq=None, reason=reason, kind="finding",
                                     record_type="finding", record_id=finding_id))
    return checked, broken


def _in_order(wanted: list[str], held: list[str]) -> bool:
    """Whether `wanted` is `held` with some left out, order kept (an entry whose payload no longer
    reads is left out of `held`; `audit verify` names it as a chain break)."""
    remaining = iter(held)
    return all(any(state == have for have in remaining) for state in wanted)


def _states(states: list[str]) -> str:
    return ", ".join(states) if states else "nothing"


def _histories(session: Session, org_id: str | None) -> Iterator[tuple[str, str, str, str | None, list[str]]]:
    """(finding, org, state, the last transition's state, the states of the transitions no run
    made), finding by finding."""
    stmt = (select(FindingRow.id, FindingRow.org_id, FindingRow.state, FindingEventRow.to_state,
                   FindingEventRow.run_id)
            .outerjoin(FindingEventRow, (FindingEventRow.finding_id == FindingRow.id)
                       & (FindingEventRow.kind == "transition"))
            .order_by(FindingRow.id, FindingEventRow.id))
    if org_id is not None:
        stmt = stmt.where(FindingRow.org_id == org_id)
    current: tuple[str, str, str] | None = None
    last: str | None = None
    by_person: list[str] = []
    for fid, org, state, to_state, run_id in session.execute(stmt.execution_options(yield_per=5000)):
        if current is None or current[0] != fid:
            if current is not None:
                yield (*current, last, by_person)
            current, last, by_person = (fid, org, state), None, []
        if to_state is not None:
            last = to_state
            if run_id is None:
                by_person.append(to_state)
    if current is not None:
        yield (*current, last, by_person)


def _chained_states(session: Session, org_id: str | None) -> dict[tuple[str, str], list[str]]:
    """(org, finding) -> the states its person-made entries moved it to, in chain order."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for entry in audit.entries_of_action(session, org_id=org_id, action=PERSON_ACTIONS):
        to = entry.payload.get("to")
        if isinstance(to, str):
            out[(entry.org_id, entry.entity_id)].append(to)
    return out
