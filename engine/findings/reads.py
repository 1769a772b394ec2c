"""Findings use cases that only read: one finding, pages of findings, runs, revisions, waivers.

Apart from `engine.findings.service` (which writes: a run's diff, holds, the stream's fast path) so
that each module stays one screenful of concerns; `service` re-exports these, so the faces keep
calling `findings_service.list_findings` and never need to know which half a use case lives in.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from engine.db import in_chunks, utc
from engine.errors import ErrorDetail, InputError, NotFoundError
from engine.findings import filter_checks, known, lifecycle
from engine.findings.currency import HELD
from engine.findings.order import Order
from engine.findings.schemas import (
    EvaluationRun,
    Finding,
    FindingEvent,
    FindingFilter,
    FindingPage,
    FindingRevision,
    FindingScope,
    Waiver,
)
from engine.findings.tables import EvaluationRunRow, FindingEventRow, FindingRevisionRow, FindingRow, WaiverRow


def get_finding(session: Session, *, org_id: str, finding_id: str, scope: FindingScope | None = None) -> Finding:
    """One finding with its history; outside the caller's scope it does not exist (no leak)."""
    row = session.get(FindingRow, finding_id)
    if row is None or row.org_id != org_id or (scope is not None and not scope.admits(to_finding(row, []))):
        raise NotFoundError(f"no finding {finding_id}", [ErrorDetail(reason="unknown finding", record_id=finding_id)])
    events = session.scalars(
        select(FindingEventRow).where(FindingEventRow.finding_id == finding_id).order_by(FindingEventRow.id)
    )
    return to_finding(row, list(events))


def get_findings(session: Session, *, org_id: str, finding_ids: Iterable[str]) -> list[Finding]:
    """The given findings with their history, each as `get_finding` gives it, by id; ids that are not
    findings of the org are left out.

    Why: a packet reads every finding of its period, and one `get_finding` each was two statements
    a finding (2,989 for a credentialing packet of 1,492); here it is two per `engine.db.IN_CHUNK` ids.
    """
    rows: list[FindingRow] = []
    for chunk in in_chunks(finding_ids):
        rows.extend(session.scalars(select(FindingRow).where(FindingRow.org_id == org_id, FindingRow.id.in_(chunk))))
    events = _events_of(session, org_id=org_id, finding_ids=[r.id for r in rows])
    return sorted((to_finding(r, events.get(r.id, [])) for r in rows), key=lambda f: f.id)


def finding_histories(session: Session, *, org_id: str, finding_ids: Iterable[str]) -> dict[str, list[FindingEvent]]:
    """The history of each of the given findings of the org (oldest first, as `get_finding` orders
    it), by id; a finding with none, or not of the org, is left out.

    For callers that already hold the findings (a page of `list_findings`) and need only their
    histories: one statement per `engine.db.IN_CHUNK` ids instead of one per finding.
    """
    return {fid: [to_event(e) for e in rows]
            for fid, rows in _events_of(session, org_id=org_id, finding_ids=finding_ids).items()}


def _events_of(session: Session, *, org_id: str, finding_ids: Iterable[str]) -> dict[str, list[FindingEventRow]]:
    out: dict[str, list[FindingEventRow]] = {}
    for chunk in in_chunks(finding_ids):
        rows = session.scalars(
            select(FindingEventRow).join(FindingRow, FindingRow.id == FindingEventRow.finding_id)
            .where(FindingRow.org_id == org_id, FindingEventRow.finding_id.in_(chunk))
            .order_by(FindingEventRow.finding_id, FindingEventRow.id))
        for e in rows:
            out.setdefault(e.finding_id, []).append(e)
    return out


def list_findings(
    session: Session,
    *,
    org_id: str,
    filters: FindingFilter | None = None,
    limit: int = 50,
    cursor: str | None = None,
    scope: FindingScope | None = None,
    sort: str | None = None,
) -> FindingPage:
    """Findings in the order `sort` names (newest first by default: `engine.findings.order`), with
    keyset pagination (the cursor holds the last row's sort keys)."""
    order = Order.named(sort)
    if not 1 <= limit <= 1000:
        raise InputError("limit must be between 1 and 1000", [ErrorDetail(reason=str(limit), field="limit")])
    stmt = filtered(session, org_id=org_id, filters=filters, scope=scope)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    has_prev, prev_cursor = False, None
    if cursor:
        values = order.read(cursor)
        # the previous page: up to `limit` rows just above this page; the row above those, if any,
        # is where it starts from (no such row: the previous page is the first page)
        above = list(session.scalars(stmt.where(order.not_after(values))
                                     .order_by(*order.clauses(reverse=True)).limit(limit + 1)))
        has_prev = bool(above)
        prev_cursor = order.cursor(above[limit]) if len(above) > limit else None
        stmt = stmt.where(order.after(values))
    rows = list(session.scalars(stmt.order_by(*order.clauses()).limit(limit + 1)))
    next_cursor = order.cursor(rows[limit - 1]) if len(rows) > limit else None
    return FindingPage(items=[to_finding(r, []) for r in rows[:limit]], next_cursor=next_cursor, total=total,
                       has_prev=has_prev, prev_cursor=prev_cursor)


def filtered(session: Session, *, org_id: str, filters: FindingFilter | None = None,
             scope: FindingScope | None = None) -> Select[FindingRow]:
    """The statement selecting the org's findings that `filters` and `scope` admit, unordered, after
    `filter_checks.check` (a value that can never match is refused): what a page of `list_findings`
    and the CSV export (`engine.findings.export`) both read, so the two cannot disagree."""
    f = filters or FindingFilter()
    if f.assignee:  # `STAFF` is the user `staff`, as signing in and assigning take it
        from engine.auth import people

        f = f.model_copy(update={"assignee": ",".join(
            people.as_stored(session, org_id=org_id, name=a) for a in f.assignee.split(","))})
    stmt = select(FindingRow).where(FindingRow.org_id == org_id)
    filter_checks.check(session, org_id=org_id, f=f, scope=scope)
    for column, value in (
        ("framework", f.framework),
        ("severity", f.severity),
        ("state", f.state),
        ("status", f.status),
        ("establishment_id", f.establishment_id),
        ("rule_id", f.rule_id),
    ):
        if value:
            values = value.split(",")
            stmt = stmt.where(getattr(FindingRow, column).in_(values))
    if f.subject_id:
        stmt = stmt.where(_subject_in(f.subject_id.split(",")))
    if f.assignee:
        stmt = stmt.where(_assigned_to(session, org_id, f.assignee.split(",")))
    if f.org_wide:
        stmt = stmt.where(FindingRow.establishment_id.is_(None))
    if f.establishments is not None:
        stmt = stmt.where(FindingRow.establishment_id.in_(f.establishments))
    if scope is not None:
        window_end = dt.datetime.combine(scope.window_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        window_start = dt.datetime.combine(scope.window_from, dt.time(), tzinfo=dt.UTC)
        stmt = stmt.where(
            FindingRow.framework == scope.framework,
            FindingRow.opened_at < window_end,
            or_(FindingRow.resolved_at.is_(None), FindingRow.resolved_at >= window_start),
        )
        if scope.establishments is not None:
            stmt = stmt.where(FindingRow.establishment_id.in_(scope.establishments))
    return stmt


def _assigned_to(session: Session, org_id: str, values: list[str]) -> Any:
    """Findings assigned to any of `values`, a user and the person their account stands for being
    one assignee (as for tasks' owners); `none` is a finding assigned to nobody."""
    from engine.auth import people

    linked = people.linked_persons(session, org_id=org_id)
    names = {v for v in values if v != "none"}
    names |= {linked[v] for v in names if v in linked} | {u for u, p in linked.items() if p in names}
    names |= {v.removeprefix(people.ROLE_PREFIX) for v in names} | {people.ROLE_PREFIX + v for v in names}
    cond = FindingRow.assignee.in_(sorted(names))
    return or_(cond, FindingRow.assignee.is_(None)) if "none" in values else cond


def _subject_in(values: list[str]) -> Any:
    """Any of the subjects, each as findings show it, `person/P1`, or its id alone (`P1`).

    Two INs, one of ids and one of (type, id) pairs: an OR of comparisons for each value had made
    the statement one level deeper a value, and SQLite refuses an expression tree deeper than 1000
    (a subject filter of about 500 `type/id` values failed there)."""
    cond = FindingRow.subject_id.in_(values)
    pairs = [(record_type, record_id) for record_type, slash, record_id in (v.partition("/") for v in values)
             if slash]
    if not pairs:
        return cond
    return or_(cond, tuple_(FindingRow.subject_type, FindingRow.subject_id).in_(pairs))


def unknown_establishments(session: Session, *, org_id: str, ids: Iterable[str]) -> list[str]:
    """The `ids` that are neither establishment records of the org nor on any finding of it."""
    wanted = sorted({i for i in ids if i})
    records = known.existing_records(session, org_id=org_id, record_type="establishment", ids=wanted)
    rest = [i for i in wanted if i not in records]
    if not rest:
        return []
    on_findings = set(session.scalars(select(FindingRow.establishment_id).where(
        FindingRow.org_id == org_id, FindingRow.establishment_id.in_(rest)).distinct()))
    return [i for i in rest if i not in on_findings]


def finding_ids(session: Session, *, org_id: str, ids: Iterable[str]) -> set[str]:
    """Which of `ids` are findings of the org."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return set()
    return set(session.scalars(select(FindingRow.id).where(FindingRow.org_id == org_id, FindingRow.id.in_(wanted))))


def list_runs(session: Session, *, org_id: str, limit: int = 50, before: str | None = None) -> list[EvaluationRun]:
    """The org's `limit` newest runs (by start, then id), newest first; with `before` (a run's id, the
    last of the page one has) the runs that come after it in that order, so every run can be reached."""
    query = select(EvaluationRunRow).where(EvaluationRunRow.org_id == org_id)
    if before is not None:
        after = session.get(EvaluationRunRow, before)
        if after is None or after.org_id != org_id:
            raise InputError(f"no evaluation run {before}", [ErrorDetail(
                reason="not a run of this organization: give the id of the last run of the page you have",
                field="before")], code="input.cursor")
        query = query.where(or_(EvaluationRunRow.started_at < after.started_at,
                                and_(EvaluationRunRow.started_at == after.started_at, EvaluationRunRow.id < after.id)))
    rows = session.scalars(
        query.order_by(EvaluationRunRow.started_at.desc(), EvaluationRunRow.id.desc()).limit(limit)
    )
    return [to_run(r) for r in rows]


def applied_runs_from(session: Session, *, framework: str, day: dt.date) -> list[EvaluationRun]:
    """The runs of any organization applied to the findings store that judged `framework` as of
    `day` (UTC) or later, oldest first.

    Ruleset versions and practice parameters are chosen by day: a change in force from a day on
    which such a run was made would make that run's findings irreproducible (the same as-of would
    now pick other rules), so the liaison's changes are checked against these."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    rows = session.scalars(select(EvaluationRunRow).where(EvaluationRunRow.as_of >= start)
                           .order_by(EvaluationRunRow.as_of, EvaluationRunRow.id))
    return [to_run(r) for r in rows if framework in (r.frameworks or []) and not (r.diff or {}).get(HELD)]


def get_run(session: Session, *, org_id: str, run_id: str) -> EvaluationRun:
    row = session.get(EvaluationRunRow, run_id)
    if row is None or row.org_id != org_id:
        raise NotFoundError(f"no evaluation run {run_id}")
    return to_run(row)


def finding_frameworks(session: Session, *, org_id: str, finding_ids: Iterable[str]) -> dict[str, str]:
    """The framework of each of the given findings, by id (unknown ids are left out)."""
    wanted = sorted(set(finding_ids))
    out: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        out.update(session.execute(select(FindingRow.id, FindingRow.framework).where(
            FindingRow.org_id == org_id, FindingRow.id.in_(wanted[start:start + 500]))).all())
    return out


def finding_revisions(session: Session, *, org_id: str, finding_ids: Iterable[str]) -> list[FindingRevision]:
    """The older contents of the given findings, oldest first per finding (see `_refresh`)."""
    wanted = sorted(set(finding_ids))
    out: list[FindingRevision] = []
    for start in range(0, len(wanted), 500):
        rows = session.scalars(
            select(FindingRevisionRow).join(FindingRow, FindingRow.id == FindingRevisionRow.finding_id)
            .where(FindingRow.org_id == org_id, FindingRevisionRow.finding_id.in_(wanted[start:start + 500]))
            .order_by(FindingRevisionRow.finding_id, FindingRevisionRow.replaced_at, FindingRevisionRow.id))
        out.extend(FindingRevision(finding_id=r.finding_id, replaced_at=utc(r.replaced_at),
                                   replaced_by_run=r.replaced_by_run, content=r.content) for r in rows)
    return out


def list_waivers(session: Session, *, org_id: str) -> list[Waiver]:
    rows = list(session.scalars(select(WaiverRow).where(WaiverRow.org_id == org_id).order_by(WaiverRow.created_at)))
    waived = lifecycle.waived_by(session, [r.id for r in rows])
    return [lifecycle.to_waiver(r, findings=waived.get(r.id, [])) for r in rows]


def to_finding(row: FindingRow, events: list[FindingEventRow]) -> Finding:
    return Finding(
        id=row.id,
        org_id=row.org_id,
        rule_id=row.rule_id,
        framework=row.framework,
        ruleset_version=row.ruleset_version,
        title=row.title,
        citation=row.citation,
        severity=row.severity,
        advisory=row.advisory,
        kind=row.kind,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        occurrence_key=row.occurrence_key,
        establishment_id=row.establishment_id,
        status=row.status,
        due=row.due,
        message=row.message,
        evidence=row.evidence,
        facts=row.facts,
        sop=row.sop,
        state=row.state,  # type: ignore[arg-type]
        assignee=row.assignee,
        opened_at=utc(row.opened_at),
        opened_by_run=row.opened_by_run,
        resolved_at=utc(row.resolved_at),
        resolved_by_run=row.resolved_by_run,
        last_seen_run=row.last_seen_run,
        updated_at=utc(row.updated_at),
        waiver_id=row.waiver_id,
        history=[to_event(e) for e in events],
    )


def to_event(e: FindingEventRow) -> FindingEvent:
    return FindingEvent(
        at=utc(e.at),
        actor=e.actor,
        kind=e.kind,
        from_state=e.from_state,
        to_state=e.to_state,
        reason=e.reason,
        run_id=e.run_id,
    )


def to_run(row: EvaluationRunRow) -> EvaluationRun:
    return EvaluationRun(
        id=row.id,
        org_id=row.org_id,
        as_of=utc(row.as_of),
        known_at=utc(row.known_at),
        backend=row.backend,
        frameworks=row.frameworks,
        rulesets=row.rulesets,
        params=row.params,
        param_history=row.param_history or None,
        input_hash=row.input_hash,
        counts=row.counts,
        diff=row.diff or {},
        started_at=utc(row.started_at),
        duration_ms=row.duration_ms,
        actor=row.actor,
        trigger=row.trigger,
    )


def open_after_runs(session: Session, *, org_id: str, runs: list[EvaluationRun],
                    open_states: tuple[str, ...]) -> list[tuple[dt.datetime, int]]:
    """(as_of, findings in `open_states`) as the store stood right after each of `runs` was applied.

    Not a run's violation count: that counts waived and false-positive findings, and a run of one
    framework counts only that framework. The count after a run is the sum, over every state change
    up to the run's last one, of +1 into an open state and -1 out of one (a person's waiver between
    runs counts from the next run on)."""
    if not runs:
        return []
    rows = session.execute(
        select(FindingEventRow.at, FindingEventRow.from_state, FindingEventRow.to_state, FindingEventRow.run_id)
        .join(FindingRow, FindingRow.id == FindingEventRow.finding_id)
        .where(FindingRow.org_id == org_id, FindingEventRow.kind == "transition",
               or_(FindingEventRow.from_state.in_(open_states), FindingEventRow.to_state.in_(open_states)))
        .order_by(FindingEventRow.at, FindingEventRow.id))
    times: list[dt.datetime] = []
    totals: list[int] = []
    last_change: dict[str, dt.datetime] = {}
    running = 0
    for at, from_state, to_state, run_id in rows:
        delta = (to_state in open_states) - (from_state in open_states)
        when = utc(at)
        if run_id is not None:
            last_change[run_id] = when
        if delta:
            running += delta
            times.append(when)
            totals.append(running)
    series = []
    for r in runs:
        cut = max(r.started_at, last_change.get(r.id, r.started_at))
        n = bisect.bisect_right(times, cut)
        series.append((r.as_of, totals[n - 1] if n else 0))
    return series
