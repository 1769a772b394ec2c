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

Waivers and runs are held to the entries written with them too (`check_waivers`, `check_runs`):
session 48's history pass inserted a waiver row by hand and the next evaluation waived a critical
finding with verify saying intact, and rewrote a run's as-of and input hash, which `vigil runs
show` and new packets then repeated.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import service as audit
from engine.audit.schemas import ChainBreak
from engine.db import utc
from engine.findings.tables import EvaluationRunRow, FindingEventRow, FindingRow, WaiverRow

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


def check_waivers(session: Session, *, org_id: str | None, limit: int = 100) -> tuple[int, list[ChainBreak]]:
    """How many waivers were checked, and a `waiver` break for each (at most `limit`) that its
    `waiver.create` entry does not grant as it stands, or whose revocation the chain does not hold
    (or holds for a waiver that reads as not revoked)."""
    granted = {(e.org_id, e.entity_id): (e.actor, e.payload)
               for e in audit.entries_of_action(session, org_id=org_id, action="waiver.create")}
    revoked = {(e.org_id, e.entity_id) for e in audit.entries_of_action(session, org_id=org_id, action="waiver.revoke")}
    stmt = select(WaiverRow).order_by(WaiverRow.org_id, WaiverRow.id)
    if org_id is not None:
        stmt = stmt.where(WaiverRow.org_id == org_id)
    checked, broken = 0, list[ChainBreak]()
    for row in session.scalars(stmt):
        checked += 1
        key = (row.org_id, row.id)
        reason: str | None
        entry = granted.get(key)
        if entry is None:
            reason = ("no waiver.create entry grants it: the waiver was written into the database without the "
                      "change that grants one")
        else:
            differ = _waiver_differs(row, *entry)
            reason = (f"its {', '.join(differ)} differ from what its waiver.create entry granted: changed in the "
                      "database" if differ else None)
            if reason is None and (row.revoked_at is not None) != (key in revoked):
                reason = ("it reads as revoked, but the audit trail holds no waiver.revoke entry for it"
                          if row.revoked_at is not None else
                          "the audit trail holds its waiver.revoke entry, but it reads as not revoked: its "
                          "revocation was undone in the database")
        if reason is not None and len(broken) < limit:
            broken.append(ChainBreak(seq=None, org_id=row.org_id, org_seq=None, reason=reason, kind="waiver",
                                     record_type="waiver", record_id=row.id))
    return checked, broken


def _waiver_differs(row: WaiverRow, actor: str, payload: dict[str, Any]) -> list[str]:
    """The fields of a waiver that are not what its entry says (the entry's payload holds the terms)."""
    differ = [name for name in ("rule_id", "subject_id", "establishment_id", "reason", "approver")
              if payload.get(name) != getattr(row, name)]
    if _instant(payload.get("ends_at")) != utc(row.ends_at):
        differ.append("ends_at")
    if actor != row.created_by:
        differ.append("created_by")
    return differ


def check_runs(session: Session, *, org_id: str | None, limit: int = 100) -> tuple[int, list[ChainBreak]]:
    """How many runs with an entry were checked, and a `run` break for each (at most `limit`) whose
    as-of, ruleset versions and hashes, or input hash are not what its `evaluation.run` entries say.
    (A run with no entry at all is the chain check's: `findings.service.audit_anchors`.) A stream
    run's entry is written before its events are all judged, so its input hash is not compared."""
    said: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for e in audit.entries_of_action(session, org_id=org_id, action="evaluation.run"):
        said[(e.org_id, e.entity_id)].append(e.payload)
    stmt = select(EvaluationRunRow).order_by(EvaluationRunRow.org_id, EvaluationRunRow.id)
    if org_id is not None:
        stmt = stmt.where(EvaluationRunRow.org_id == org_id)
    checked, broken = 0, list[ChainBreak]()
    for row in session.scalars(stmt):
        payloads = said.get((row.org_id, row.id))
        if not payloads:
            continue
        checked += 1
        differ: list[str] = []
        for payload in payloads:
            if _instant(payload.get("as_of")) != utc(row.as_of) and "as_of" not in differ:
                differ.append("as_of")
            if payload.get("rulesets") != row.rulesets and "rulesets" not in differ:
                differ.append("rulesets")
            if (row.trigger != "stream" and payload.get("input_hash") != row.input_hash
                    and "input_hash" not in differ):
                differ.append("input_hash")
        if differ and len(broken) < limit:
            broken.append(ChainBreak(seq=None, org_id=row.org_id, org_seq=None, kind="run",
                                     record_type="evaluation_run", record_id=row.id,
                                     reason=f"its {', '.join(differ)} differ from its evaluation.run entry: "
                                            "changed in the database"))
    return checked, broken


def _instant(value: Any) -> dt.datetime | None:
    """An entry's ISO instant, in UTC (None for anything else)."""
    try:
        return utc(dt.datetime.fromisoformat(value)) if isinstance(value, str) else None
    except ValueError:
        return None
