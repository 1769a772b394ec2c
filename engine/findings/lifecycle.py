"""Finding lifecycle: which transitions a person may make, and waivers.

    open ──acknowledge──> acknowledged
    open|acknowledged ──false_positive──> false_positive ──reopen──> open
    acknowledged ──reopen──> open
    open|acknowledged ──waive (waiver)──> waived ──(waiver expires or is revoked)──> open
    (a waived finding is not reopened by hand: its waiver would waive it again at the next run, so
    the waiver is revoked instead; and one in force is not stacked with a second of the same scope)
    open|acknowledged|waived ──(condition clears, run)──> resolved ──(condition back, run)──> open
    open|acknowledged ──close (reason; only a finished finding, `schemas.finished`)──> resolved
    (closed by a person: `resolved_by_run` stays empty. The rule goes on reporting what happened, and
    the run keeps it closed while it does; a run reopens it only when it reports something that is
    no longer finished, an obligation unmet again. A person may reopen it.)

Every transition records who, when and why, and an audit-trail entry in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.db import utc
from engine.errors import ConflictError, ErrorDetail, InputError, InvalidTransition, NotFoundError
from engine.findings import waiver_checks
from engine.findings.schemas import Waiver, WaiverIn, finished
from engine.findings.tables import FindingEventRow, FindingRow, WaiverRow

ALLOWED: dict[str, dict[str, set[str]]] = {
    "acknowledge": {"from": {"open"}, "to": {"acknowledged"}},
    "false_positive": {"from": {"open", "acknowledged"}, "to": {"false_positive"}},
    "reopen": {"from": {"false_positive", "acknowledged", "resolved"}, "to": {"open"}},
    "close": {"from": {"open", "acknowledged"}, "to": {"resolved"}},
}
#: The actions that need a reason (who reads the history later must learn why).
NEEDS_REASON = {"false_positive": "marking a false positive", "close": "closing a finding"}


def closed_by_person(row: FindingRow) -> bool:
    """Whether a resolved finding was closed by a person (`close`) rather than resolved by a run:
    a run's resolution names the run (`resolved_by_run`), a person's names none."""
    return row.state == "resolved" and row.resolved_by_run is None


def _audit(
    session: Session, *, org_id: str, actor: str, action: str, entity_id: str, payload: dict[str, object]
) -> None:
    from engine.audit import service as audit

    entity_type = action.split(".", 1)[0]  # finding.* or waiver.* (entries before 2026-12-01 said finding for both)
    audit.append(
        session, org_id=org_id, actor=actor, action=action, entity_type=entity_type, entity_id=entity_id,
        payload=payload
    )


def record_event(
    session: Session,
    row: FindingRow,
    *,
    actor: str,
    kind: str,
    to_state: str | None = None,
    reason: str | None = None,
    run_id: str | None = None,
    at: dt.datetime | None = None,
    from_state: str | None = "current",
) -> None:
    """Append a history entry and move the state (when `to_state` is given)."""
    at = at or clock.now()
    before = row.state if from_state == "current" else from_state
    session.add(
        FindingEventRow(
            finding_id=row.id,
            at=at,
            actor=actor,
            kind=kind,
            from_state=before,
            to_state=to_state,
            reason=reason,
            run_id=run_id,
        )
    )
    if to_state is not None:
        row.state = to_state
    row.updated_at = at


def hold(session: Session, org_id: str) -> None:
    """Take the organization's chain lock (`audit.hold_chain`) before reading what a change changes.

    A sweep holds that lock while it diffs and writes the findings and their tasks, so a change
    that read first and waited at its audit entry acted on the finding as it was before the sweep
    (an acknowledgement written over a resolution), and a change that wrote its row first and then
    waited deadlocked with a writer holding the lock (the escalation job, a note: the concurrency
    probe). Taken first, the lock orders every writer of the organization the same way."""
    from engine.audit import service as audit

    audit.hold_chain(session, org_id)


def _load(session: Session, org_id: str, finding_id: str) -> FindingRow:
    hold(session, org_id)
    row = session.get(FindingRow, finding_id, populate_existing=True)
    if row is None or row.org_id != org_id:
        raise NotFoundError(f"no finding {finding_id}", [ErrorDetail(reason="unknown finding", record_id=finding_id)])
    return row


def transition(
    session: Session, *, org_id: str, finding_id: str, action: str, actor: str, reason: str | None = None
) -> FindingRow:
    """Acknowledge, mark false positive, close or reopen a finding; refuses transitions that make no sense."""
    if action not in ALLOWED:
        raise InputError(f"unknown action {action!r} (allowed: {', '.join(sorted(ALLOWED))}, waive)")
    row = _load(session, org_id, finding_id)
    rule = ALLOWED[action]
    if action == "reopen" and row.state == "resolved" and not closed_by_person(row):
        raise InvalidTransition(
            f"cannot {action} a finding that is {row.state}",
            [ErrorDetail(reason=f"run {row.resolved_by_run} resolved it, its condition cleared: the next evaluation "
                                "reopens it if the condition is back (only a finding a person closed is reopened "
                                "by hand)", record_id=row.id)])
    if action == "reopen" and row.state == "waived":
        raise InvalidTransition(
            f"finding {row.id} is waived by {row.waiver_id}: revoke the waiver to reopen it",
            [ErrorDetail(reason=f"reopened by hand, the waiver would waive it again at the next evaluation; revoke "
                                f"{row.waiver_id} with a reason (vigil findings revoke-waiver {row.waiver_id}, "
                                f"POST /waivers/{row.waiver_id}/revoke, or the finding's page)", record_id=row.id)],
        )
    if row.state not in rule["from"]:
        raise InvalidTransition(
            f"cannot {action} a finding that is {row.state}",
            [ErrorDetail(reason=f"allowed from: {', '.join(sorted(rule['from']))}", record_id=finding_id)],
        )
    reason = reason.strip() if reason is not None and reason.strip() else None
    if action in NEEDS_REASON and not reason:
        raise InputError(
            f"{NEEDS_REASON[action]} needs a reason", [ErrorDetail(reason="reason is required", field="reason")]
        )
    if action == "close":
        _refuse_unfinished(row)
    to_state = next(iter(rule["to"]))
    if action == "close":
        row.resolved_at, row.resolved_by_run = clock.now(), None
    elif row.state == "resolved":  # a person's closing, taken back
        row.resolved_at = None
    record_event(session, row, actor=actor, kind="transition", to_state=to_state, reason=reason)
    _audit(
        session,
        org_id=org_id,
        actor=actor,
        action=f"finding.{action}",
        entity_id=row.id,
        payload={"to": to_state, "reason": reason},
    )
    return row


def _refuse_unfinished(row: FindingRow) -> None:
    """Only a finding about something that has happened is closed by hand (`schemas.finished`): any
    other reports a condition that still holds, which the next run would find again; the records
    are fixed (and the run resolves it), or it is a false positive, or it is waived."""
    if finished(row.kind, row.status, row.due):
        return
    raise InvalidTransition(
        f"finding {row.id} reports a condition that still holds ({row.rule_id}, {row.status}): it is not closed by "
        "hand", [ErrorDetail(reason="only an event rule's finding or a deadline met late is closed by a person; "
                                    "this one resolves by itself once the records show the obligation met (fix "
                                    "them, then evaluate), or mark it a false positive, or waive it",
                             record_id=row.id)],
        code="conflict.finding_not_finished")


def comment(session: Session, *, org_id: str, finding_id: str, actor: str, text: str) -> FindingRow:
    if not text.strip():
        raise InputError("a comment needs text", [ErrorDetail(reason="empty comment", field="text")])
    row = _load(session, org_id, finding_id)
    record_event(session, row, actor=actor, kind="comment", reason=text)
    _audit(session, org_id=org_id, actor=actor, action="finding.comment", entity_id=row.id, payload={"text": text})
    return row


def assign(session: Session, *, org_id: str, finding_id: str, actor: str, assignee: str) -> FindingRow:
    """Give a finding to someone: a user of the org, a person, or a role of policies/roles.yaml
    (see `engine.auth.people`); a name that is none of them would leave the finding with no one."""
    from engine.auth import people
    from engine.tasks import workforce

    assignee = assignee.strip()
    if not assignee:
        raise InputError("say who the finding is assigned to", [ErrorDetail(reason="blank", field="assignee")])
    row = _load(session, org_id, finding_id)
    assignee = people.as_stored(session, org_id=org_id, name=assignee)
    if people.kind_of(session, org_id=org_id, name=assignee) is None:
        raise InputError(f"{assignee!r} is nobody in this organization", [ErrorDetail(
            reason=f"{assignee!r} is not a user, a person or a role of this organization; give one, e.g. "
                   f"{people.examples(session, org_id=org_id)}", field="assignee")], code="input.assignee")
    unable = people.cannot_act(session, org_id=org_id, name=assignee, work="finding") or workforce.refusal(
        session, org_id=org_id, name=assignee)
    if unable is not None:
        raise InputError(f"cannot assign the finding to {assignee!r}", [ErrorDetail(reason=unable, field="assignee")],
                         code="input.assignee")
    row.assignee = assignee
    record_event(session, row, actor=actor, kind="assign", reason=f"assigned to {assignee}")
    _audit(
        session, org_id=org_id, actor=actor, action="finding.assign", entity_id=row.id, payload={"assignee": assignee}
    )
    return row


def waive(session: Session, *, org_id: str, data: WaiverIn, actor: str, finding_id: str | None = None) -> Waiver:
    """Create a waiver (rule x subject, or rule x establishment, for a period) and waive what it covers;
    the same request again returns the waiver it made (see `grant`)."""
    return grant(session, org_id=org_id, data=data, actor=actor, finding_id=finding_id)[0]


def grant(session: Session, *, org_id: str, data: WaiverIn, actor: str,
          finding_id: str | None = None) -> tuple[Waiver, bool]:
    """`waive`, and whether the waiver is new (False: a waiver still in force already said exactly this,
    `_same_waiver`, and is returned as it is, so the REST API answers a retry 200, not 201).

    Everything the waiver names must exist and its period must be able to apply (see
    `waiver_checks`): one that can never waive anything is refused, not stored."""
    hold(session, org_id)
    now = clock.now()
    row = _load(session, org_id, finding_id) if finding_id else None
    checked = waiver_checks.check(session, org_id=org_id, data=data, finding=row, now=now)
    twin = _same_waiver(session, org_id, checked, explicit_start=data.starts_at is not None, now=now)
    if twin is not None:
        return to_waiver(twin, findings=waived_by(session, [twin.id]).get(twin.id, [])), False
    if row is not None and row.state == "waived":  # a page opened before it was waived
        # the code of a waiver that overlaps another, as POST /waivers answers it for the same case
        raise InvalidTransition(f"finding {row.id} is already waived by {row.waiver_id}", [ErrorDetail(
            reason=f"revoke {row.waiver_id} first to waive it on other terms", record_id=row.id)],
            code="conflict.waiver_overlaps")
    _refuse_overlap(session, org_id, checked, now=now)
    starts, ends = checked.starts_at, checked.ends_at
    waiver = WaiverRow(
        id=f"W-{uuid.uuid4().hex[:12]}",
        org_id=org_id,
        rule_id=checked.rule_id,
        subject_type=checked.subject_type,
        subject_id=checked.subject_id,
        establishment_id=checked.establishment_id,
        starts_at=starts,
        ends_at=ends,
        reason=checked.reason,
        approver=checked.approver,
        created_by=actor,
        created_at=now,
    )
    session.add(waiver)
    session.flush()
    _audit(
        session,
        org_id=org_id,
        actor=actor,
        action="waiver.create",
        entity_id=waiver.id,
        payload={
            "rule_id": waiver.rule_id,
            "subject_id": waiver.subject_id,
            "establishment_id": waiver.establishment_id,
            "ends_at": ends.isoformat(),
            "reason": checked.reason,
            "approver": checked.approver,
        },
    )
    waived: list[str] = []
    for row in session.scalars(
        select(FindingRow).where(
            FindingRow.org_id == org_id,
            FindingRow.rule_id == checked.rule_id,
            FindingRow.state.in_(("open", "acknowledged")),
        )
    ):
        if covers(waiver, row, now):
            apply_waiver(session, row, waiver, actor=actor)
            waived.append(row.id)
    return to_waiver(waiver, findings=sorted(waived)), True


def _refuse_overlap(session: Session, org_id: str, checked: waiver_checks.CheckedWaiver, *,
                    now: dt.datetime) -> None:
    """Refuse a second waiver of the same scope (rule and subject, or rule and establishment) whose
    period meets one not revoked: revoking either would leave the other waiving the findings, out of
    sight of whoever revoked it. To change a waiver's terms, revoke it and grant the new one."""
    for w in session.scalars(select(WaiverRow).where(
            WaiverRow.org_id == org_id, WaiverRow.rule_id == checked.rule_id, WaiverRow.revoked_at.is_(None),
            WaiverRow.subject_id.is_(None) if checked.subject_id is None
            else WaiverRow.subject_id == checked.subject_id,
            WaiverRow.establishment_id.is_(None) if checked.establishment_id is None
            else WaiverRow.establishment_id == checked.establishment_id).order_by(WaiverRow.created_at)):
        if w.subject_type not in (None, checked.subject_type) and checked.subject_type is not None:
            continue
        starts, ends = utc(w.starts_at), utc(w.ends_at)
        if ends > now and starts < checked.ends_at and checked.starts_at < ends:
            raise ConflictError(f"waiver {w.id} already waives this from {starts.isoformat()} to {ends.isoformat()}",
                                [ErrorDetail(reason=f"revoke {w.id} first to waive it on other terms (a second "
                                                    "waiver would stay in force when either is revoked)",
                                             record_id=w.id)], code="conflict.waiver_overlaps")


def _same_waiver(session: Session, org_id: str, checked: waiver_checks.CheckedWaiver, *, explicit_start: bool,
                 now: dt.datetime) -> WaiverRow | None:
    """A waiver not revoked and not yet ended that says exactly what this request says (rule, scope,
    end, reason, approver; and start, when the request gives one): asking again, as a client that
    retries does, finds it instead of stacking a second waiver that revoking the first would leave
    in force."""
    for w in session.scalars(select(WaiverRow).where(
            WaiverRow.org_id == org_id, WaiverRow.rule_id == checked.rule_id, WaiverRow.revoked_at.is_(None))):
        same = (w.subject_type, w.subject_id, w.establishment_id, w.reason, w.approver) == (
            checked.subject_type, checked.subject_id, checked.establishment_id, checked.reason, checked.approver)
        ends, starts = utc(w.ends_at), utc(w.starts_at)
        if (same and ends == checked.ends_at and ends > now
                and (not explicit_start or starts == checked.starts_at)):
            return w
    return None


def revoke_waiver(session: Session, *, org_id: str, waiver_id: str, actor: str, reason: str) -> Waiver:
    """End a waiver now: the findings it waives reopen at once, and later runs no longer apply it
    (see `revoke`)."""
    return revoke(session, org_id=org_id, waiver_id=waiver_id, actor=actor, reason=reason)[0]


def revoke(session: Session, *, org_id: str, waiver_id: str, actor: str, reason: str,
           finding_id: str | None = None) -> tuple[Waiver, list[str]]:
    """`revoke_waiver`, and the findings it waived that are open again (those another waiver in force
    covers are waived by that one at once): a site-wide waiver reopens every finding of its rule at
    the site, and the page said "the finding is open again" when two had.

    The waiver row stays (with who revoked it, when and why): runs and packets of the days it was
    in force still name it. Revoked from a finding's page (`finding_id`), the waiver must still be
    the one that finding is under: a page opened before its waiver was revoked and another granted
    had revoked the new one, which its user never saw (as a stale waive is refused in `grant`)."""
    reason = reason.strip()
    if len(reason) < 3:
        raise InputError("revoking a waiver needs a reason",
                         [ErrorDetail(reason="at least 3 characters: why does the waiver end early?", field="reason")])
    hold(session, org_id)
    if finding_id is not None:
        _refuse_stale_revoke(_load(session, org_id, finding_id), waiver_id)
    waiver = session.get(WaiverRow, waiver_id, populate_existing=True)
    if waiver is None or waiver.org_id != org_id:
        raise NotFoundError(f"no waiver {waiver_id}", [ErrorDetail(reason="unknown waiver", record_id=waiver_id)])
    now = clock.now()
    if waiver.revoked_at is not None:
        raise InvalidTransition(f"waiver {waiver_id} was revoked on {utc(waiver.revoked_at).isoformat()}",
                                [ErrorDetail(reason="already revoked", record_id=waiver_id)])
    if utc(waiver.ends_at) <= now:
        raise InvalidTransition(f"waiver {waiver_id} ended on {utc(waiver.ends_at).isoformat()}",
                                [ErrorDetail(reason="already ended: nothing to revoke", record_id=waiver_id)])
    waived = waived_by(session, [waiver.id]).get(waiver.id, [])
    waiver.revoked_at, waiver.revoked_by, waiver.revoke_reason = now, actor, reason
    from engine.audit import service as audit

    audit.append(session, org_id=org_id, actor=actor, action="waiver.revoke", entity_type="waiver",
                 entity_id=waiver.id, payload={"reason": reason})
    reopened = expire_waivers(session, org_id=org_id, at=now, actor=actor,
                              reason=f"waiver {waiver.id} revoked: {reason}")
    _waive_again_if_covered(session, org_id=org_id, finding_ids=reopened, actor=actor, at=now)
    still_open = set(session.scalars(select(FindingRow.id).where(FindingRow.id.in_(waived),
                                                                 FindingRow.state == "open"))) if waived else set()
    return to_waiver(waiver), [fid for fid in waived if fid in still_open]


def _refuse_stale_revoke(row: FindingRow, waiver_id: str) -> None:
    """Refuse to revoke `waiver_id` from the page of a finding no longer under it (see `revoke_waiver`)."""
    if row.waiver_id == waiver_id:
        return
    if row.waiver_id is None:
        raise InvalidTransition(f"waiver {waiver_id} no longer waives finding {row.id}: it is under no waiver now",
                                [ErrorDetail(reason="nothing to revoke: reload the page to see where it stands",
                                             record_id=row.id)], code="conflict.waiver_changed")
    raise InvalidTransition(f"waiver {waiver_id} no longer waives finding {row.id}: it is under {row.waiver_id} now",
                            [ErrorDetail(reason=f"nothing was revoked; reload the page to read {row.waiver_id} "
                                                "before revoking it", record_id=row.id)],
                            code="conflict.waiver_changed")


def _waive_again_if_covered(session: Session, *, org_id: str, finding_ids: list[str], actor: str,
                            at: dt.datetime) -> None:
    """A finding the revoked waiver reopened that another waiver in force also covers (one of its
    subject, one of its establishment) is waived by that one at once, with its history saying so,
    rather than by the next run, out of sight of whoever revoked the first."""
    if not finding_ids:
        return
    rows = list(session.scalars(select(FindingRow).where(FindingRow.id.in_(finding_ids)).order_by(FindingRow.id)))
    others = list(session.scalars(select(WaiverRow).where(
        WaiverRow.org_id == org_id, WaiverRow.revoked_at.is_(None), WaiverRow.rule_id.in_({r.rule_id for r in rows}))
        .order_by(WaiverRow.created_at, WaiverRow.id)))
    for row in rows:
        other = next((w for w in others if covers(w, row, at)), None)
        if other is not None:
            apply_waiver(session, row, other, actor=actor)


def covers(waiver: WaiverRow, row: FindingRow, at: dt.datetime) -> bool:
    if waiver.revoked_at is not None or waiver.rule_id != row.rule_id:
        return False
    if not (utc(waiver.starts_at) <= at < utc(waiver.ends_at)):
        return False
    if waiver.subject_id is not None:
        return waiver.subject_id == row.subject_id and (waiver.subject_type in (None, row.subject_type))
    return waiver.establishment_id is not None and waiver.establishment_id == row.establishment_id


def apply_waiver(session: Session, row: FindingRow, waiver: WaiverRow, *, actor: str) -> None:
    """Waive one finding under `waiver`: its history says so, and the audit trail names the finding
    (a waiver's own entry does not say which findings it reached; revoking it names each one)."""
    row.waiver_id = waiver.id
    # the end as the waive form took it and the finding's page shows it ("through 2027-01-31 (UTC)");
    # the audit payload's waiver entry keeps the instant (`ends_at`). The period's start and the
    # approver are said too: the history outlives the waiver card, and an auditor reading it had
    # seen who granted the exception but not who approved it, nor since when it held
    reason = (f"waiver {waiver.id} from {waiver_checks.start_text(utc(waiver.starts_at))} "
              f"{waiver_checks.end_text(utc(waiver.ends_at))}, approved by {waiver.approver}: {waiver.reason}")
    record_event(session, row, actor=actor, kind="transition", to_state="waived", reason=reason)
    _audit(session, org_id=row.org_id, actor=actor, action="finding.waive", entity_id=row.id,
           payload={"to": "waived", "reason": reason, "waiver_id": waiver.id})


def lapse(waiver: WaiverRow | None, at: dt.datetime) -> str | None:
    """Why a waived finding is waived no longer at `at` ("waiver expired", "waiver revoked"), or None."""
    if waiver is None:
        return "waiver revoked"
    if waiver.revoked_at is not None:
        return f"waiver {waiver.id} revoked"
    # the finding's waiver_id is cleared when it reopens: the history names the waiver that ended
    return f"waiver {waiver.id} expired at {utc(waiver.ends_at).isoformat()}" if utc(waiver.ends_at) <= at else None


def expire_waivers(session: Session, *, org_id: str, at: dt.datetime, actor: str,
                   reason: str | None = None) -> list[str]:
    """Reopen the findings whose waiver has ended by `at`; their ids.

    A sweep does this too, but a waiver ending at 10:00 must not keep a finding out of the
    officer's open list until the next night: the scheduler calls this every quarter hour."""
    hold(session, org_id)
    rows = list(session.scalars(select(FindingRow).where(
        FindingRow.org_id == org_id, FindingRow.state == "waived").order_by(FindingRow.id)))
    waivers = {w.id: w for w in session.scalars(select(WaiverRow).where(
        WaiverRow.id.in_({r.waiver_id for r in rows if r.waiver_id})))}
    reopened = []
    for row in rows:
        waiver = waivers.get(row.waiver_id or "")
        lapsed = lapse(waiver, at)
        if lapsed is None:
            continue
        said = reason if reason is not None and " revoked" in lapsed else lapsed
        row.waiver_id = None
        record_event(session, row, actor=actor, kind="transition", to_state="open", reason=said, at=at)
        _audit(session, org_id=org_id, actor=actor, action="finding.reopen", entity_id=row.id,
               payload={"to": "open", "reason": said, "waiver_id": waiver.id if waiver else None})
        reopened.append(row.id)
    return reopened


def waived_by(session: Session, waiver_ids: list[str]) -> dict[str, list[str]]:
    """The findings each of `waiver_ids` waives now (their `waiver_id`), by id, sorted."""
    out: dict[str, list[str]] = {}
    for start in range(0, len(waiver_ids), 500):
        part = waiver_ids[start:start + 500]
        for waiver_id, fid in session.execute(
                select(FindingRow.waiver_id, FindingRow.id)
                .where(FindingRow.waiver_id.in_(part), FindingRow.state == "waived").order_by(FindingRow.id)):
            out.setdefault(str(waiver_id), []).append(fid)
    return out


def reach(waiver: Waiver, finding_id: str | None) -> str:
    """What a new waiver waives, in words for the person who granted it from `finding_id`: the
    waiver's scope is the rule for the subject (or establishment) in its period, so it may waive
    other findings of the rule too (other years, other occurrences), and they should hear which."""
    if waiver.findings == [finding_id]:
        return "it waives this finding"
    where = f"at {waiver.establishment_id}" if waiver.subject_id is None else f"for {waiver.subject_id}"
    n = len(waiver.findings)
    listed = f": {', '.join(waiver.findings[:10])}{f' and {n - 10} more' if n > 10 else ''}" if n else ""
    return f"it waives {n} finding{'' if n == 1 else 's'} of {waiver.rule_id} {where}{listed}"


def to_waiver(row: WaiverRow, *, findings: list[str] | None = None) -> Waiver:
    return Waiver(
        id=row.id,
        org_id=row.org_id,
        rule_id=row.rule_id,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        establishment_id=row.establishment_id,
        starts_at=utc(row.starts_at),
        ends_at=utc(row.ends_at),
        reason=row.reason,
        approver=row.approver,
        created_by=row.created_by,
        created_at=utc(row.created_at),
        revoked_at=utc(row.revoked_at),
        revoked_by=row.revoked_by,
        revoke_reason=row.revoke_reason,
        findings=list(findings or []),
    )


def finding_id(org_id: str, rule_id: str, subject_type: str, subject_id: str, occurrence: str) -> str:
    """Deterministic id of a finding's identity (rule, subject, occurrence) within an org."""
    digest = hashlib.sha256(f"{org_id}|{rule_id}|{subject_type}|{subject_id}|{occurrence}".encode()).hexdigest()
    return f"F-{digest[:16]}"
