"""Keep tasks in step with findings after every persisted evaluation (`sync_from_findings`).

    finding open, no task            -> open one task from the rule's SOP (never a second one)
    finding resolved/waived/false +  task open   -> close it with that reason
    finding resolved/waived/false +  task done   -> confirm it (the work held)
    finding still present (seen by the latest run) + task done -> reopen it with a note, unless
                                                    the finding is finished (an event, a deadline
                                                    met late: a fact no more work can change):
                                                    confirm it then
    finding present again + task closed          -> reopen it, due and severity as the finding's now
    finding present + task open                  -> follow its due date (a later one starts the
                                                    escalation over) and its severity (turning
                                                    critical notifies as a critical opening does)

Findings are read through the findings service only (never its tables). "Still present" needs the
finding to have been seen by the latest run of its org, so a run over other frameworks neither
confirms nor reopens anything it did not evaluate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, timefmt
from engine.db import utc
from engine.errors import NotFoundError
from engine.findings import service as findings_service
from engine.findings.schemas import Finding, FindingFilter, finished
from engine.rules import calendar
from engine.tasks import notify, store, workforce
from engine.tasks.opening import OpenSpec, SopCache, open_task
from engine.tasks.policy import load_escalation, staffed_roles
from engine.tasks.tables import TaskRow

PRESENT = ("open", "acknowledged")
GONE = ("resolved", "waived", "false_positive")


def sync_from_findings(session: Session, *, org_id: str, actor: str, as_of: dt.datetime,
                       policies: Path | str | None = None, fell_back: list[str] | None = None) -> dict[str, int]:
    """Open, close, confirm or reopen the tasks of an org's findings; returns counts of each. With
    `fell_back`, one line per SOP whose tasks were opened with generic steps is added to it, saying
    why (a template failing to render had done so without a word outside each task's history); the
    counts stay numbers, which the sweep's summary and its readers add up."""
    as_of = clock.ensure_utc(as_of)
    counts = {"created": 0, "closed": 0, "confirmed": 0, "reopened": 0, "due_changed": 0, "notified": 0,
              "sop_problems": 0}
    roles = staffed_roles(session, org_id=org_id, as_of=as_of, directory=policies)
    escalation = load_escalation(policies)
    sops = SopCache(policies)
    zones = store.establishment_zones(session, org_id=org_id)
    runs = findings_service.list_runs(session, org_id=org_id, limit=1)
    latest_run = runs[0].id if runs else None
    latest_started = runs[0].started_at if runs else None
    tasks = {r.finding_id: r for r in session.scalars(
        select(TaskRow).where(TaskRow.org_id == org_id, TaskRow.kind == "finding"))}
    seen: set[str] = set()
    for finding in _present_findings(session, org_id):
        seen.add(finding.id)
        row = tasks.get(finding.id)
        if row is None:
            row = _open_for(session, finding, org_id=org_id, actor=actor, as_of=as_of, zones=zones, sops=sops,
                            roles=roles)
            if row is not None:
                counts["created"] += 1
                if finding.severity == "critical":
                    counts["notified"] += notify.notify_critical(session, task=row, finding_message=finding.message,
                                                                 policy=escalation, roles=roles, actor=actor)
            continue
        if row.state == "closed":
            counts["due_changed"] += _reopen(session, row, finding, actor=actor, sops=sops,
                                             reason=f"finding {finding.id} is {finding.state} again")
            counts["reopened"] += 1
        elif (row.state == "done" and latest_run is not None and finding.last_seen_run == latest_run
              and latest_started is not None and row.completed_at is not None
              and latest_started > utc(row.completed_at)):  # only a run after the completion judges it
            if finished(finding.kind, finding.status, finding.due):
                if row.confirmed_at is None:
                    _confirm(session, row, actor=actor, reason=f"confirmed: {_finished_reason(finding)}")
                    counts["confirmed"] += 1
                continue
            counts["due_changed"] += _reopen(
                session, row, finding, actor=actor,
                reason=f"completed, but the finding is still present in run {latest_run}, which read the "
                       f"records at {timefmt.utc_seconds(latest_started)}, after the completion (evaluated as of "
                       f"{timefmt.utc_seconds(as_of)}): {finding.message}")
            counts["reopened"] += 1
        elif row.state == "open":
            counts["due_changed"] += _refresh_due(session, row, finding, actor=actor)
        else:
            continue
        if _refresh_severity(session, row, finding, actor=actor):  # an open task, or one reopened just now
            counts["notified"] += notify.notify_critical(session, task=row, finding_message=finding.message,
                                                         policy=escalation, roles=roles, actor=actor)
    for finding_id, row in tasks.items():
        if finding_id is None or finding_id in seen or row.state == "closed":
            continue
        if row.state == "done" and row.confirmed_at is not None:
            continue
        outcome = settle_task(session, row, actor=actor)
        if outcome is not None:
            counts[outcome] += 1
    # after the findings: a task that just closed stays with whoever had it
    counts["handed_over"] = workforce.hand_over_departed(session, org_id=org_id, roles=roles, actor=actor)
    counts["sop_problems"] = len(sops.fell_back)
    if fell_back is not None:
        fell_back.extend(fallback_lines(sops.fell_back))
    return counts


def fallback_lines(fell_back: list[tuple[str, str, str]]) -> list[str]:
    """One line per SOP whose tasks were opened with generic steps: which, how many, why."""
    by_sop: dict[str, list[tuple[str, str]]] = {}
    for sop_id, task_id, why in fell_back:
        by_sop.setdefault(sop_id, []).append((task_id, why))
    out = []
    for sop_id, tasks in sorted(by_sop.items()):
        shown = ", ".join(t for t, _ in tasks[:3]) + (f" and {len(tasks) - 3} more" if len(tasks) > 3 else "")
        out.append(f"{len(tasks)} task{'s' if len(tasks) > 1 else ''} of {sop_id} ({shown}) opened with generic "
                   f"steps: {tasks[0][1]}; `vigil tasks sops` names what to fix")
    return out


def follow_findings(session: Session, *, org_id: str, finding_ids: Iterable[str], actor: str) -> dict[str, int]:
    """The tasks of these findings follow a change an officer just made, without waiting for the
    next evaluation: waived, judged a false positive or closed, an open task closes (a done one is
    confirmed); reopened (a waiver revoked or expired, a false positive taken back), a closed task
    reopens, and a finding that never had a task (waived when it first appeared) gets one.

    Why now: the task's owner was still chased, and the dashboard still counted the task overdue,
    for work that had been waived, until the nightly sweep ran; and a finding whose waiver ended was
    open and overdue with no task for anyone until then."""
    wanted = sorted(set(finding_ids))
    counts = {"created": 0, "closed": 0, "confirmed": 0, "reopened": 0}
    if not wanted:
        return counts
    rows = list(session.scalars(select(TaskRow).where(TaskRow.org_id == org_id, TaskRow.kind == "finding",
                                                      TaskRow.finding_id.in_(wanted))))
    sops = SopCache()
    for row in rows:
        assert row.finding_id is not None
        finding = findings_service.get_finding(session, org_id=org_id, finding_id=row.finding_id)
        if finding.state in GONE:
            outcome = settle_task(session, row, actor=actor)
            if outcome is not None:
                counts[outcome] += 1
        elif finding.state in PRESENT and row.state == "closed":
            last = next((h for h in reversed(finding.history) if h.to_state == finding.state), None)
            _reopen(session, row, finding, actor=actor, sops=sops,
                    reason=f"finding {finding.id} is {finding.state} again"
                    + (f": {last.reason}" if last is not None and last.reason else ""))
            _refresh_severity(session, row, finding, actor=actor)
            counts["reopened"] += 1
    counts["created"] = _open_missing(session, org_id=org_id, actor=actor, sops=sops,
                                      finding_ids=set(wanted) - {r.finding_id for r in rows})
    return counts


def _open_missing(session: Session, *, org_id: str, actor: str, sops: SopCache, finding_ids: set[str]) -> int:
    """Open the task of each of these findings that is open or acknowledged (and has none): a
    finding waived when it first appeared never had one, and `follow_findings` only reopened tasks
    that existed, so its waiver's end left it overdue with nobody's task until the next evaluation.
    A critical one alerts as at a sweep."""
    present = [f for f in findings_service.get_findings(session, org_id=org_id, finding_ids=sorted(finding_ids))
               if f.state in PRESENT] if finding_ids else []
    if not present:
        return 0
    roles = staffed_roles(session, org_id=org_id, as_of=clock.now())
    escalation = load_escalation(None)
    zones = store.establishment_zones(session, org_id=org_id)
    opened = 0
    for finding in present:
        row = _open_for(session, finding, org_id=org_id, actor=actor, as_of=clock.now(), zones=zones, sops=sops,
                        roles=roles)
        if row is None:
            continue
        opened += 1
        if finding.severity == "critical":
            notify.notify_critical(session, task=row, finding_message=finding.message, policy=escalation, roles=roles,
                                   actor=actor)
    return opened


def settle_task(session: Session, row: TaskRow, *, actor: str) -> str | None:
    """If the task's finding is gone (resolved, waived, false positive, deleted), close an open task or
    confirm a done one; returns "closed", "confirmed" or None (the finding is still there)."""
    if row.finding_id is None or row.state == "closed":
        return None
    gone: Finding | None
    try:
        gone = findings_service.get_finding(session, org_id=row.org_id, finding_id=row.finding_id)
    except NotFoundError:
        gone = None
    if gone is not None and gone.state not in GONE:
        return None
    reason = _gone_reason(gone, row.finding_id)
    if row.state == "open":
        row.close_reason = reason
        store.record_event(session, row, actor=actor, kind="closed", to_state="closed", reason=reason)
        store.audit(session, org_id=row.org_id, actor=actor, action="task.close", entity_id=row.id,
                    payload={"reason": reason})
        return "closed"
    if row.state == "done" and row.confirmed_at is None:
        _confirm(session, row, actor=actor, reason=f"confirmed: {reason}")
        return "confirmed"
    return None


def _confirm(session: Session, row: TaskRow, *, actor: str, reason: str) -> None:
    row.confirmed_at = clock.now()
    store.record_event(session, row, actor=actor, kind="confirmed", reason=reason)
    store.audit(session, org_id=row.org_id, actor=actor, action="task.confirm", entity_id=row.id,
                payload={"reason": reason})


def _finished_reason(finding: Finding) -> str:
    """Why a done task of a finding still present holds (`schemas.finished`): the rule reports
    something that happened, for as long as the records hold, and no work on the task undoes it."""
    what = (f"records a deadline met late ({finding.due})" if finding.kind != "event"
            else "reports an event that has happened")
    return (f"finding {finding.id} {what}; no further work changes that (close the finding with a reason once it "
            f"has been dealt with: vigil findings close {finding.id} --reason ...)")


def _present_findings(session: Session, org_id: str) -> Iterator[Finding]:
    cursor: str | None = None
    while True:
        page = findings_service.list_findings(session, org_id=org_id, filters=FindingFilter(state=",".join(PRESENT)),
                                              limit=1000, cursor=cursor)
        yield from page.items
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def finding_context(finding: Finding) -> dict[str, Any]:
    """What an SOP template sees as `finding`: the Finding, plus `subject` as the rules' Violation has it."""
    data = finding.model_dump(mode="json", exclude={"history"})
    data["subject"] = {"type": finding.subject_type, "id": finding.subject_id}
    return {"finding": data}


def pending_deadline(finding: Finding) -> bool:
    """Whether the finding's `due` is a deadline still to meet. A `violation` keeps the `due` of a
    deadline met late (the contract's "present whenever the rule has a deadline"), but its task's
    work is to deal with the lateness: dated by that deadline, the task of a 300A posted late in
    2024 opened overdue by two years and escalated at once, and topped the overdue work."""
    return bool(finding.due) and finding.status != "violation"


def due_of(finding: Finding, *, tz: str, as_of: dt.datetime, default_days: int) -> tuple[dt.date, dt.datetime]:
    """The task's due date (local) and the instant it becomes overdue: the finding's deadline when it has
    one to meet, else as_of's local date + the SOP's default window (C1, via the calendar service)."""
    deadline = finding.facts.get("deadline") if isinstance(finding.facts, dict) else None
    overdue_after = None
    if isinstance(deadline, dict) and deadline.get("overdue_after"):
        text = str(deadline["overdue_after"]).replace("Z", "+00:00")
        overdue_after = clock.ensure_utc(dt.datetime.fromisoformat(text))
    if finding.due and pending_deadline(finding):
        text = finding.due.replace("Z", "+00:00")
        if "T" in text:
            instant = clock.ensure_utc(dt.datetime.fromisoformat(text))
            return calendar.local_date(instant, tz), overdue_after or instant
        day = dt.date.fromisoformat(text[:10])
        return day, overdue_after or store.end_of_day(day, tz)
    day = calendar.add_days(calendar.local_date(as_of, tz), default_days)
    return day, store.end_of_day(day, tz)


def _open_for(session: Session, finding: Finding, *, org_id: str, actor: str, as_of: dt.datetime,
              zones: dict[str, str], sops: SopCache, roles: Any) -> TaskRow | None:
    tz = store.zone_of(zones, finding.establishment_id)
    loaded = sops.get(finding.sop)
    default_days = getattr(loaded, "default_due_days", 7)
    due, due_at = due_of(finding, tz=tz, as_of=as_of, default_days=default_days)
    spec = OpenSpec(org_id=org_id, key=f"finding:{finding.id}", kind="finding", sop_id=finding.sop,
                    context=finding_context(finding), establishment_id=finding.establishment_id, tz=tz, due=due,
                    due_at=due_at, finding_id=finding.id, severity=finding.severity, fallback_title=finding.title)
    return open_task(session, spec, sops=sops, roles=roles, actor=actor)


def _refresh_due(session: Session, row: TaskRow, finding: Finding, *, actor: str,
                 window: tuple[dt.datetime, int] | None = None) -> int:
    """Follow the finding's deadline; returns 1 when the task's due date moved. A finding with no
    deadline keeps the task's date, unless `window` (from, SOP default days) gives it a new one, as
    a task opened then would have."""
    if not pending_deadline(finding) and window is None:  # a deadline met late keeps the task's date too
        return 0
    start, days = window or (utc(row.created_at), 0)
    due, due_at = due_of(finding, tz=row.tz, as_of=start, default_days=days)
    if due == row.due and due_at == utc(row.due_at):
        return 0
    why = "the finding's deadline changed" if pending_deadline(finding) else "the SOP's window from the reopening"
    reason = f"due {row.due.isoformat()} -> {due.isoformat()} ({why})"
    later = due_at > utc(row.due_at)
    row.due, row.due_at = due, due_at
    if later and row.escalation_level > 0:
        # the steps taken count from the old date: a new cycle climbs the chain again from the new one
        row.cycle += 1
        row.cycle_started_at = clock.now()
        row.escalation_level = 0
        reason += "; escalation starts over from the new due date"
    store.record_event(session, row, actor=actor, kind="due_changed", reason=reason)
    store.audit(session, org_id=row.org_id, actor=actor, action="task.due_change", entity_id=row.id,
                payload={"due": due.isoformat(), "reason": reason})
    return 1


def _refresh_severity(session: Session, row: TaskRow, finding: Finding, *, actor: str) -> bool:
    """Follow the finding's severity; True when it has just turned critical (notify as for a task
    opened for a critical finding: a statutory deadline missed alerts the officer at once)."""
    if row.severity == finding.severity:
        return False
    before, row.severity = row.severity, finding.severity
    reason = f"severity {before} -> {finding.severity} (the finding's severity changed)"
    store.record_event(session, row, actor=actor, kind="severity_changed", reason=reason)
    store.audit(session, org_id=row.org_id, actor=actor, action="task.severity_change", entity_id=row.id,
                payload={"severity": finding.severity, "reason": reason})
    return finding.severity == "critical" and before != "critical"


def _reopen(session: Session, row: TaskRow, finding: Finding, *, actor: str, reason: str,
            sops: SopCache | None = None) -> int:
    """Reopen a task for its finding, with a new escalation cycle and the due date the finding has
    now; returns 1 when that date changed. The caller follows the severity (`_refresh_severity`).

    The task had kept the due date of its first opening: a credential renewed and lapsed again,
    due 2027-01-31, reopened its task "overdue, due 2026-12-31" and escalated it at once. A finding
    with no deadline that comes back (`sops` given: the task was closed) gets the SOP's window from
    now, as a new task would; one whose task was completed too soon keeps the date it had."""
    now = clock.now()
    row.close_reason = None
    # open again, it is not completed: the page, `tasks show` and the export had kept "Completed
    # ... by" on an open task, read as finished. The history keeps the completion.
    row.completed_at = row.completed_by = row.confirmed_at = None
    row.cycle += 1
    row.cycle_started_at = now
    row.escalation_level = 0
    store.record_event(session, row, actor=actor, kind="reopened", to_state="open", reason=reason, at=now)
    store.add_note(session, row, actor=actor, text=reason, at=now)
    store.audit(session, org_id=row.org_id, actor=actor, action="task.reopen", entity_id=row.id,
                payload={"reason": reason, "cycle": row.cycle})
    window = None
    if sops is not None and not pending_deadline(finding):
        window = (now, getattr(sops.get(finding.sop), "default_due_days", 7))
    return _refresh_due(session, row, finding, actor=actor, window=window)


def _gone_reason(finding: Finding | None, finding_id: str) -> str:
    if finding is None:
        return f"finding {finding_id} no longer exists"
    last = next((h for h in reversed(finding.history) if h.to_state == finding.state), None)
    why = f": {last.reason}" if last is not None and last.reason else ""
    return f"finding {finding.state}{why}"
