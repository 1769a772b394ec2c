"""Findings use cases: record a run, diff its violations against the open findings (reads: `reads`).

A run yields the complete set of current violations for the frameworks it evaluated. Diffing:
new identities open, vanished findings resolve (citing the run), persisting ones are kept (their
status, due date and message refreshed), resolved ones that come back reopen. A finding about
something finished (an event, a deadline met late) stays until a person closes it, and stays
closed while the run keeps reporting it; a false positive whose run cites new records reopens.
Waivers are checked here too: a waiver that has expired at the run's instant reopens what it
covered.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, cast

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.orm import Session

from engine import clock, timefmt
from engine.audit.anchors import Anchored
from engine.bulk_insert import insert_many
from engine.db import hold_lock, utc
from engine.errors import NotFoundError
from engine.findings import cleared, lifecycle
from engine.findings.reads import (  # noqa: F401  (the domain's read use cases, for the faces: see reads.py)
    applied_runs_from,
    finding_frameworks,
    finding_histories,
    finding_ids,
    finding_revisions,
    get_finding,
    get_findings,
    get_run,
    list_findings,
    list_runs,
    list_waivers,
    open_after_runs,
    to_finding,
    to_run,
    unknown_establishments,
)
from engine.findings.schemas import (
    EvaluationRun,
    RunDiff,
    finished,
)
from engine.findings.tables import EvaluationRunRow, FindingEventRow, FindingRevisionRow, FindingRow, WaiverRow
from engine.rules import blobs
from engine.rules.schemas import RunResult, Violation

OPEN_STATES = ("open", "acknowledged")


def record_run(
    session: Session, *, org_id: str, result: RunResult, frameworks: list[str], actor: str, trigger: str = "manual"
) -> EvaluationRun:
    """Store a run's metadata (C9): backend, ruleset versions and hashes, params, input hash, counts.

    A run is the start of a findings write, so the writer's locks are taken here, before the ruleset
    bytes are stored: a second run storing the same bytes waits on this transaction's row, and
    when it held the audit chain's lock meanwhile (an import and an evaluation in one transaction,
    as `vigil evaluate FILES --db` does) the two deadlocked."""
    _one_writer(session, org_id)
    row = EvaluationRunRow(
        id=f"R-{uuid.uuid4().hex[:12]}",
        org_id=org_id,
        as_of=result.as_of,
        known_at=result.known_at,
        backend=result.backend,
        frameworks=sorted(frameworks),
        rulesets=[r.model_dump() for r in result.rulesets],
        params=json.loads(json.dumps(result.params, default=str)),
        param_history=json.loads(json.dumps(result.param_history, default=str)) or None,
        input_hash=result.input_hash,
        counts=dict(result.counts),
        diff={},
        started_at=clock.now(),
        duration_ms=result.duration_ms,
        actor=actor,
        trigger=trigger,
    )
    session.add(row)
    session.flush()
    blobs.keep(session, ((r.id, r.version, r.sha256) for r in result.rulesets))  # for packets to ship
    return to_run(row)


def apply_run(
    session: Session,
    *,
    org_id: str,
    run: EvaluationRun,
    violations: Iterable[Violation],
    actor: str,
    stream: bool = False,
    read: Mapping[str, frozenset[str]] | None = None,
) -> RunDiff:
    """Diff a run's violations against the stored findings of the frameworks it evaluated.

    `read` (rule id -> the record types the rule reads, `engine.rules.reads`) lets a resolution
    name the records dated since the finding was last seen among those types (`cleared`)."""
    _one_writer(session, org_id)
    now = clock.now()
    violations = list(violations)
    if stream:
        fast = _open_new_stream_findings(session, org_id=org_id, run=run, violations=violations, actor=actor, now=now)
        if fast is not None:
            return fast
    return _apply(session, org_id=org_id, run=run, violations=violations, actor=actor, stream=stream, now=now,
                  read=read or {})


def hold_writers(session: Session, *, org_id: str) -> None:
    """Wait for the organization's other findings writers and keep them waiting until this
    transaction ends (an evaluation takes this before it checks that its reading is current)."""
    _one_writer(session, org_id)


def _one_writer(session: Session, org_id: str) -> None:
    """Hold the organization's findings for this transaction: on PostgreSQL a second writer (a sweep
    and an officer's evaluation at once, or an import's stream) waits here until the first commits,
    then diffs against what it wrote. Without it both inserted the same new findings and the later
    one failed on the primary key (a traceback, or a 500 saying retrying would not help). SQLite
    has one writer at a time anyway. The lock ends with the transaction.

    The audit chain's lock comes first (`audit.hold_chain`): a writer appends to the chain anyway,
    and a transaction that imported before it evaluates already holds that lock, so taking the two
    in the other order deadlocked it against a sweep."""
    from engine.audit import service as audit

    audit.hold_chain(session, org_id)
    hold_lock(session.connection(), f"vigil-findings:{org_id}")


def _open_new_stream_findings(
    session: Session, *, org_id: str, run: EvaluationRun, violations: list[Violation], actor: str, now: dt.datetime
) -> RunDiff | None:
    """A stream batch whose violations are all new and unwaived: open them with two bulk INSERTs.

    This is the usual case of the live stream (an event is matched once), and the general diff
    below costs about a millisecond per finding through the ORM. The outcome is the same rows,
    history entries, run diff and audit entry as `_apply` would write; anything else (a finding
    that exists already, a waiver that covers a new one) returns None and takes the general path.
    """
    if not violations:
        return None
    ids = [lifecycle.finding_id(org_id, v.rule_id, v.subject.type, v.subject.id, v.occurrence_key) for v in violations]
    if len(set(ids)) != len(ids):
        return None
    if session.scalars(select(FindingRow.id).where(FindingRow.id.in_(ids)).limit(1)).first() is not None:
        return None
    waivers = list(session.scalars(select(WaiverRow).where(WaiverRow.org_id == org_id, WaiverRow.revoked_at.is_(None))))
    if waivers:
        for v in violations:
            row = _new_row(org_id, v, run.id, now)  # transient, only to ask the waivers
            if any(lifecycle.covers(w, row, run.as_of) for w in waivers):
                return None
    session.flush()  # anything pending goes first, as the ORM would order it
    connection = session.connection()  # not the ORM's per-row path: plain rows, as many as the batch
    insert_many(connection, cast(Table, FindingRow.__table__), _opened(org_id, run.id, now), _NEW_COLUMNS,
                [_new_columns(v, fid) for v, fid in zip(violations, ids, strict=True)])
    insert_many(connection, cast(Table, FindingEventRow.__table__),
                {"at": now, "actor": actor, "kind": "transition", "from_state": None, "to_state": "open",
                 "run_id": run.id}, ("finding_id", "reason"),
                [(fid, f"opened by run {run.id}: {v.message}") for v, fid in zip(violations, ids, strict=True)])
    diff = RunDiff(opened=ids)
    _finish_run(session, org_id=org_id, run=run, diff=diff, actor=actor, stream=True)
    return diff


def _apply(
    session: Session,
    *,
    org_id: str,
    run: EvaluationRun,
    violations: list[Violation],
    actor: str,
    stream: bool,
    now: dt.datetime,
    read: Mapping[str, frozenset[str]],
) -> RunDiff:
    as_of = run.as_of
    diff = RunDiff()
    query = select(FindingRow).where(FindingRow.org_id == org_id, FindingRow.framework.in_(run.frameworks))
    if stream:  # a stream batch only touches the findings it names
        ids = [
            lifecycle.finding_id(org_id, v.rule_id, v.subject.type, v.subject.id, v.occurrence_key) for v in violations
        ]
        query = query.where(FindingRow.id.in_(ids))
    existing = {(r.rule_id, r.subject_type, r.subject_id, r.occurrence_key): r for r in session.scalars(query)}
    waivers = list(session.scalars(select(WaiverRow).where(WaiverRow.org_id == org_id, WaiverRow.revoked_at.is_(None))))
    seen: set[tuple[str, str, str, str]] = set()
    opened: list[tuple[FindingRow, str]] = []
    to_waive: list[tuple[FindingRow, WaiverRow]] = []
    active_waivers = {w.id: w for w in waivers}

    def move(row: FindingRow, to_state: str, reason: str, **kw: Any) -> None:
        """A transition made by this run (who = the run's actor, when = now)."""
        lifecycle.record_event(session, row, actor=actor, kind="transition", to_state=to_state, reason=reason,
                               run_id=run.id, at=now, **kw)
    for v in violations:
        key = v.identity
        seen.add(key)
        row = existing.get(key)
        if row is None:
            row = _new_row(org_id, v, run.id, now)
            session.add(row)
            opened.append((row, f"opened by run {run.id}: {v.message}"))
            existing[key] = row
            diff.opened.append(row.id)
        else:
            grown = _new_citations(row, v) if row.state == "false_positive" else []
            _refresh(session, row, v, run.id, now, actor)
            if row.state == "resolved" and not _stays_closed(row, v):
                closed = lifecycle.closed_by_person(row)
                row.resolved_at = None
                row.resolved_by_run = None
                move(row, "open", f"reported as {v.state} in run {run.id}, no longer a finished event or deadline "
                                  "met late: closed by hand, it is open again" if closed
                     else f"condition present again in run {run.id}")
                diff.reopened.append(row.id)
            elif grown:
                move(row, "open", f"run {run.id} cites {_records_text(grown)} not cited when it was marked a false "
                                  "positive: judge it again")
                diff.reopened.append(row.id)
            else:
                diff.persisted.append(row.id)
        if row.state in OPEN_STATES:
            waiver = next((w for w in waivers if lifecycle.covers(w, row, as_of)), None)
            if waiver is not None:
                to_waive.append((row, waiver))
    session.flush()  # new findings exist before their history rows reference them
    for row, reason in opened:
        move(row, "open", reason, from_state=None)
    for row, waiver in to_waive:
        lifecycle.apply_waiver(session, row, waiver, actor=actor)
        diff.waived.append(row.id)
    clearing: list[FindingRow] = []
    for key, row in existing.items():
        if row.state == "waived" and row.waiver_id:
            lapsed = lifecycle.lapse(active_waivers.get(row.waiver_id), as_of)  # revoked waivers were not loaded
            if lapsed is not None:
                row.waiver_id = None
                move(row, "open", lapsed)
                diff.reopened.append(row.id)
        # a sweep judges every event of its frameworks on the whole record: an event finding it no
        # longer raises resolves like any other. A stream judges one import's events alone (a consent
        # recorded on the patient's earlier encounter is not in it), so its findings had stayed open
        # for ever when the sweep disagreed; a stream run resolves nothing.
        if key in seen or stream:
            continue
        if row.state in ("open", "acknowledged", "waived"):
            clearing.append(row)
    cited = cleared.cited_records(session, org_id=org_id, rows=clearing, known_at=run.known_at)
    now_read = {key: version for key, (version, _) in cited.items()}
    rules_changed = _rule_changes(session, run=run, rows=clearing)
    names = cleared.about(clearing, cited)
    types = cleared.types_read(clearing, read)
    runs = cleared.last_seen(session, clearing)
    learned = cleared.recorded_since(session, org_id=org_id, known_at=run.known_at, rows=clearing, runs=runs,
                                     types=types, names=names)
    dated = cleared.dated_since(session, org_id=org_id, as_of=as_of, known_at=run.known_at, rows=clearing, runs=runs,
                                types=types, names=names)
    for row in clearing:
        row.resolved_at = now
        row.resolved_by_run = run.id
        row.waiver_id = None
        recorded = learned.get(row.id, [])
        came = cleared.describe(dated.get(row.id), set(recorded))
        explained = row.id in rules_changed or bool(recorded or came)
        move(row, "resolved", f"condition no longer present in run {run.id} (as of {timefmt.utc_seconds(as_of)})"
                              f"{rules_changed.get(row.id, '')}"
                              f"{_cleared_by(row, now_read, explained=explained)}"
                              f"{cleared.describe_recorded(recorded)}{came}")
        diff.resolved.append(row.id)
    _finish_run(session, org_id=org_id, run=run, diff=diff, actor=actor, stream=stream)
    return diff


def _stays_closed(row: FindingRow, v: Violation) -> bool:
    """A finding a person closed stays closed while the run reports what they closed: something
    finished (`schemas.finished`: the event, the deadline met late). The rule reports it for as long
    as the records hold, so "present again" is no news, and reopening it after each run had left no
    way to close it at all."""
    return lifecycle.closed_by_person(row) and finished(v.kind, v.state, v.due)


def _new_citations(row: FindingRow, v: Violation) -> list[tuple[str, str]]:
    """The records `v` cites that the false-positive finding `row` did not (a new version of a record
    it cited is not new). A false positive is a judgement of the records it was made on: more chart
    accesses by the same account had been added to it silently ("message now: ... 5 access events"),
    and the officer never heard of them."""
    before = {(str(e.get("type")), str(e.get("id"))) for e in row.evidence or []}
    return sorted({(e.type, e.id) for e in v.evidence} - before)


def _records_text(refs: list[tuple[str, str]], shown: int = 5) -> str:
    """`[("access_event", "AE-1"), ...]` -> "1 record (access_event AE-1)", the first few named."""
    named = ", ".join(f"{kind} {rid}" for kind, rid in refs[:shown])
    more = f" and {len(refs) - shown} more" if len(refs) > shown else ""
    return f"{len(refs)} record{'' if len(refs) == 1 else 's'} ({named}{more})"


def _rule_changes(session: Session, *, run: EvaluationRun, rows: list[FindingRow]) -> dict[str, str]:
    """For findings a run resolves because the rules changed rather than the records (probe 16 #4:
    a rule removed from a new version read "it cleared through other records or the passage of
    time"): the version the run judged with, whether the rule is still in it, and the parameters
    changed since the run that last saw the finding. Finding id -> what to add to its history."""
    from engine.rules.catalog import load_all, rulesets_dir

    judged = {str(r.get("id")): str(r.get("version")) for r in run.rulesets}
    moved = [row for row in rows if judged.get(row.framework) not in (None, row.ruleset_version)]
    rules: dict[tuple[str, str], set[str]] = {}
    if moved:
        rules = {(i.spec.framework, i.spec.version): {r.id for r in i.spec.rules} for i in load_all(rulesets_dir())}
    seen_params: dict[str, dict[str, Any]] = {}
    for run_id in sorted({row.last_seen_run for row in rows if row.last_seen_run and row.last_seen_run != run.id}):
        last = session.get(EvaluationRunRow, run_id)
        seen_params[run_id] = last.params if last is not None else {}
    out: dict[str, str] = {}
    for row in rows:
        said = []
        version = judged.get(row.framework)
        if version is not None and version != row.ruleset_version:
            kept = rules.get((row.framework, version))
            gone = f": rule {row.rule_id} is not in {version}" if kept is not None and row.rule_id not in kept else ""
            said.append(f"judged with {row.framework} {version}, not {row.ruleset_version} as when last seen{gone}")
        before = (seen_params.get(row.last_seen_run or "") or {}).get(row.framework) or {}
        now = (run.params or {}).get(row.framework) or {}
        changed = [f"{k} {before[k]!r} -> {now.get(k)!r}" for k in sorted(before) if before[k] != now.get(k)]
        if changed:
            said.append("parameters changed since it was last seen: " + ", ".join(changed))
        if said:
            out[row.id] = "; the rules changed: " + "; ".join(said)
    return out


def _cleared_by(row: FindingRow, now_read: dict[tuple[str, str], int], *, explained: bool = False) -> str:
    """What a resolution cites (PRODUCT: "with the evidence that cleared it"): each record the
    finding cited that has changed since, as the resolving run read it. When none has, the
    condition cleared through records it did not cite (a training recorded later) or the passage
    of time, and the history says that instead of suggesting a change that did not happen; unless
    the resolution goes on to say what else changed (`explained`: the rules, records recorded or
    dated since)."""
    changed = []
    for ref in row.evidence or []:
        kind, rid, version = str(ref.get("type")), str(ref.get("id")), ref.get("version")
        if (kind, rid) in now_read and now_read[kind, rid] != version:
            changed.append(f"{kind} {rid} v{version} -> v{now_read[kind, rid]}")
    if changed:
        return "; cited records since changed: " + ", ".join(changed)
    if explained:
        return "; the records it cited are unchanged" if row.evidence else ""
    return "; the records it cited are unchanged (it cleared through other records or the passage of time)" \
        if row.evidence else ""


def ids_of_rule(session: Session, *, org_id: str, rule_id: str) -> list[str]:
    """The ids of every finding of one rule (a waiver names a rule, and may cover many)."""
    return list(session.scalars(select(FindingRow.id).where(FindingRow.org_id == org_id,
                                                            FindingRow.rule_id == rule_id)))


def false_positive_identities(session: Session, *, org_id: str, framework: str) -> set[tuple[str, str, str, str]]:
    """The framework's state findings marked false positive, and the findings a person closed: a
    sweep that raises one again keeps it as it is, so a preview must not count it as opening."""
    rows = session.execute(select(FindingRow.rule_id, FindingRow.subject_type, FindingRow.subject_id,
                                  FindingRow.occurrence_key).where(
        FindingRow.org_id == org_id, FindingRow.framework == framework,
        or_(and_(FindingRow.kind != "event", FindingRow.state == "false_positive"),
            and_(FindingRow.state == "resolved", FindingRow.resolved_by_run.is_(None)))))
    return {(r[0], r[1], r[2], r[3]) for r in rows}


def open_identities(session: Session, *, org_id: str, framework: str) -> dict[tuple[str, str, str, str], FindingRow]:
    """The framework's findings a sweep could resolve (open, acknowledged or waived state findings),
    by identity (rule id, subject type, subject id, occurrence key)."""
    rows = session.scalars(select(FindingRow).where(
        FindingRow.org_id == org_id, FindingRow.framework == framework, FindingRow.kind != "event",
        FindingRow.state.in_(("open", "acknowledged", "waived"))))
    return {(r.rule_id, r.subject_type, r.subject_id, r.occurrence_key): r for r in rows}


def hold_run(session: Session, *, org_id: str, run: EvaluationRun, reason: str, actor: str) -> EvaluationRun:
    """Record that `run` was not applied to the findings store, and why (see `currency`): its row
    keeps the reason in place of the diff counts, and the audit trail says so."""
    from engine.audit import service as audit
    from engine.findings.currency import HELD

    run_row = session.get(EvaluationRunRow, run.id)
    if run_row is None:
        raise NotFoundError(f"evaluation run {run.id} not found", code="not_found.run")
    run_row.diff = {HELD: True, "reason": reason}
    audit.append(session, org_id=org_id, actor=actor, action="evaluation.run", entity_type="evaluation_run",
                 entity_id=run.id, payload={"as_of": run.as_of.isoformat(), "backend": run.backend,
                                            "rulesets": run.rulesets, "input_hash": run.input_hash,
                                            "held": reason})
    session.flush()
    return to_run(run_row)


def audit_anchors(session: Session, *, org_id: str | None) -> Iterator[Anchored]:
    """Every stored run, with the `evaluation.run` entry written with it (`audit.verify`'s check for a
    chain cut short): a stream run is stored only once it opens something, and then has its entry."""
    stmt = select(EvaluationRunRow.org_id, EvaluationRunRow.id, EvaluationRunRow.started_at, EvaluationRunRow.actor)
    if org_id is not None:
        stmt = stmt.where(EvaluationRunRow.org_id == org_id)
    for row in session.execute(stmt):
        yield Anchored(row.org_id, "evaluation run", row.id, "evaluation.run", utc(row.started_at), row.actor)


def complete_stream_run(session: Session, *, run_id: str, input_hash: str, counts: dict[str, int],
                        duration_ms: int) -> None:
    """A stream run is recorded when it first opens something, before its import ends; at the end it
    gets what every run has: the hash of the events it judged, its counts and its duration (it had
    kept "stream", {} and 0, so nothing said what it had seen)."""
    row = session.get(EvaluationRunRow, run_id)
    if row is not None:
        row.input_hash, row.counts, row.duration_ms = input_hash, dict(counts), duration_ms


def _finish_run(session: Session, *, org_id: str, run: EvaluationRun, diff: RunDiff, actor: str, stream: bool) -> None:
    """Store the run's diff counts and write its audit entry (a stream batch only when it opened something)."""
    from engine.audit import service as audit

    run_row = session.get(EvaluationRunRow, run.id)
    if run_row is not None:
        run_row.diff = {k: len(v) for k, v in diff.model_dump().items()}
    if stream and not (diff.opened or diff.reopened):
        return
    audit.append(
        session,
        org_id=org_id,
        actor=actor,
        action="evaluation.run",
        entity_type="evaluation_run",
        entity_id=run.id,
        payload={
            "as_of": run.as_of.isoformat(),
            "backend": run.backend,
            "rulesets": run.rulesets,
            "input_hash": run.input_hash,
            "diff": {k: sorted(v) for k, v in diff.model_dump().items() if k != "persisted"},
        },
    )


def _new_row(org_id: str, v: Violation, run_id: str, now: dt.datetime) -> FindingRow:
    fid = lifecycle.finding_id(org_id, v.rule_id, v.subject.type, v.subject.id, v.occurrence_key)
    return FindingRow(**_new_values(org_id, v, fid, run_id, now))


def _new_values(org_id: str, v: Violation, fid: str, run_id: str, now: dt.datetime) -> dict[str, Any]:
    """The columns of a newly opened finding (open, as the run's history entry leaves it)."""
    return dict(zip(_NEW_COLUMNS, _new_columns(v, fid), strict=True), **_opened(org_id, run_id, now))


#: The columns of a new finding that come from its violation (`_new_columns`); the rest are the run's (`_opened`).
_NEW_COLUMNS = ("id", "rule_id", "framework", "ruleset_version", "title", "citation", "severity", "advisory", "kind",
                "subject_type", "subject_id", "occurrence_key", "establishment_id", "status", "due", "message",
                "evidence", "facts", "sop")


def _new_columns(v: Violation, fid: str) -> tuple[Any, ...]:
    """`_NEW_COLUMNS` of the finding a violation opens."""
    return (fid, v.rule_id, v.framework, v.ruleset_version, v.title, v.citation, v.severity, v.advisory, v.kind,
            v.subject.type, v.subject.id, v.occurrence_key, v.establishment_id, v.state, v.due, v.message,
            [e.model_dump() for e in v.evidence], v.facts, v.sop)


def _opened(org_id: str, run_id: str, now: dt.datetime) -> dict[str, Any]:
    """The columns of a newly opened finding that the run opening it gives, the same for all it opens."""
    return {"org_id": org_id, "state": "open", "opened_at": now, "opened_by_run": run_id, "last_seen_run": run_id,
            "updated_at": now, "assignee": None, "resolved_at": None, "resolved_by_run": None, "waiver_id": None}


#: What a run refreshes in a persisting finding; an older value of these is kept as a revision.
CONTENT_FIELDS = ("ruleset_version", "severity", "status", "due", "message", "evidence", "facts")
#: Those of them a reader is told about in the finding's history when they change.
_TOLD = {"ruleset_version": "ruleset version", "severity": "severity", "status": "status", "due": "due"}


#: The fact every violation carries of the instant it was judged as of (engine.rules.results): it
#: differs in every run, so it alone is no change of content (the run itself records the instant).
RUN_INSTANT_FACT = "as_of"


def _content(row: FindingRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in CONTENT_FIELDS}


def _same_content(before: dict[str, Any], after: dict[str, Any]) -> bool:
    def judged(content: dict[str, Any]) -> dict[str, Any]:
        facts = {k: v for k, v in (content.get("facts") or {}).items() if k != RUN_INSTANT_FACT}
        return dict(content, facts=facts)
    return judged(before) == judged(after)


def _refresh(session: Session, row: FindingRow, v: Violation, run_id: str, now: dt.datetime, actor: str) -> None:
    """Bring a persisting finding's content up to this run's violation, keeping what it said before.

    Nothing is overwritten silently: the old content becomes a revision (what a packet as of an
    earlier instant shows), and a change a reader cares about (status, due, severity, ruleset
    version, message) is a history entry saying what changed."""
    before = _content(row)
    after = dict(zip(CONTENT_FIELDS, (v.ruleset_version, v.severity, v.state, v.due, v.message,
                                      [e.model_dump() for e in v.evidence], v.facts), strict=True))
    row.last_seen_run = run_id
    if _same_content(before, after):
        row.facts = v.facts  # the new run instant only
        return
    session.add(FindingRevisionRow(finding_id=row.id, replaced_at=now, replaced_by_run=run_id, content=before))
    for name, value in after.items():
        setattr(row, name, value)
    said = [f"{label} {before[name] or '-'} -> {after[name] or '-'}" for name, label in _TOLD.items()
            if before[name] != after[name]]
    if before["message"] != after["message"]:
        said.append(f"message now: {after['message']}")
    if said:
        lifecycle.record_event(session, row, actor=actor, kind="update", reason=f"run {run_id}: " + "; ".join(said),
                               run_id=run_id, at=now, from_state=None)
