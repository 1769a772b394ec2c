"""Escalation of overdue tasks along the policy's chain (owner -> manager -> compliance officer).

Step k of a task's current cycle is due on `base + k * interval` local days (or working days), where
`base` is the day after the due date, or the day the cycle began if that is later (a task opened
already overdue gives its owner a day before anyone else hears of it, and a reopened task starts
its chain again). Each step is one row, unique per (task, cycle, step), with its notification
queued in the same transaction: running the check twice, or after a crash, adds nothing.
Steps missed while nothing ran are taken in order on the next run, each recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.auth import people
from engine.db import utc
from engine.rules import calendar
from engine.tasks import notify, store, sync, workforce
from engine.tasks.policy import RolePolicy, load_escalation, staffed_roles
from engine.tasks.schemas import EscalationPolicy
from engine.tasks.tables import TaskEscalationRow, TaskRow


def step_dates(task: TaskRow, policy: EscalationPolicy) -> list[dt.date]:
    """The local date of each step of the task's current cycle."""
    base = max(task.due + dt.timedelta(days=1), calendar.local_date(utc(task.cycle_started_at), task.tz))
    dates = []
    for k in range(len(policy.chain)):
        n = k * policy.step_interval_days
        if policy.working_days and n:
            dates.append(calendar.add_working_days(base, n, policy.calendar))
        else:
            dates.append(calendar.add_days(base, n))
    return dates


def run_escalations(session: Session, *, org_id: str, as_of: dt.datetime, actor: str = "system:escalation",
                    policies: Path | str | None = None) -> dict[str, Any]:
    """Take every escalation step that is due at `as_of` for the org's overdue open tasks; steps that
    would reach nobody are left untaken and named in `warnings`."""
    as_of = clock.ensure_utc(as_of)
    policy = load_escalation(policies)
    roles = staffed_roles(session, org_id=org_id, as_of=as_of, directory=policies)
    counts: dict[str, Any] = {"steps": 0, "notifications": 0}
    nobody: dict[str, list[str]] = {}  # why a step reaches no one -> the tasks it holds up
    store.hold(session, org_id)  # the tasks as staff left them, and no note half-written meanwhile
    counts["handed_over"] = workforce.hand_over_departed(session, org_id=org_id, roles=roles, actor=actor)
    rows = session.scalars(select(TaskRow).where(TaskRow.org_id == org_id, TaskRow.state == "open",
                                                 TaskRow.due_at <= as_of).order_by(TaskRow.due, TaskRow.id))
    counts["closed"] = 0
    mail: dict[str, list[_Mail]] = {}  # person -> this run's escalations to them, sent as one message
    linked = notify.linked_persons(session, org_id)
    named = notify.names(session, org_id)
    for task in list(rows):
        if not store.is_overdue(task, as_of):
            continue
        if task.finding_id is not None and sync.settle_task(session, task, actor=actor) is not None:
            counts["closed"] += 1  # waived or marked false positive since the last evaluation: nobody to chase
            continue
        today = calendar.local_date(as_of, task.tz)
        steps_taken = session.execute(select(TaskEscalationRow.step, TaskEscalationRow.person).where(
            TaskEscalationRow.task_id == task.id, TaskEscalationRow.cycle == task.cycle)).all()
        taken = {row.step for row in steps_taken}
        # mailed already this cycle; a login and the person it stands for are one recipient (a task
        # owned by `staff`, P-0001's login, had mailed P-0001 twice in one run: as owner, then as the
        # practice manager the chain ends at)
        told = {linked.get(row.person, row.person) for row in steps_taken if row.person}
        for step, (target, when) in enumerate(zip(policy.chain, step_dates(task, policy), strict=True)):
            if when > today or step in taken:
                continue
            person = notify.recipients([target], task=task, roles=roles)[0]
            person = linked.get(person, person) if person is not None else None
            if person is None:
                nobody.setdefault(_nobody_there(task, target, roles), []).append(task.id)
                continue  # not taken: it is, in order, once someone holds the role
            steps, notes, message = _escalate(session, task, step=step, target=target, person=person, when=when,
                                              policy=policy, actor=actor, linked=linked, named=named)
            counts["steps"] += steps
            counts["notifications"] += notes
            # a person who holds two places in the chain (the officer owning a task the chain ends at) is
            # mailed once a cycle: "escalated to you" of their own task, again, told them nothing
            if message is not None and message.person not in told:
                mail.setdefault(message.person, []).append(message)
                told.add(message.person)
    for person, messages in sorted(mail.items()):
        counts["notifications"] += _mail(session, org_id=org_id, person=person, messages=messages, policy=policy,
                                         linked=linked)
    counts["to_nobody"] = sum(len(ids) for ids in nobody.values())
    return counts | ({"warnings": [f"{len(ids)} escalation step(s) of overdue tasks ({', '.join(sorted(ids)[:5])}"
                                   f"{', ...' if len(ids) > 5 else ''}) have nobody to go to: {why}"
                                   for why, ids in sorted(nobody.items())]} if nobody else {})


def _nobody_there(task: TaskRow, target: str, roles: RolePolicy) -> str:
    """Why an escalation step of `task` reaches no one, for the job's warning: steps to nobody had
    been recorded as taken ("-> owner (nobody)") and the chain used up with no one told."""
    if target == "owner":
        left = roles.gone(task.owner)
        return (f"the task's owner {task.owner} {left}" if left else f"the task has no owner ({task.owner_via})")
    return f"{target}: {roles.resolve(target, task.establishment_id).via}"


@dataclass(frozen=True)
class _Mail:
    """One escalation step's mail, held until the run has taken every step due."""

    person: str
    key: str
    subject: str
    body: str
    payload: dict[str, Any]


def _mail(session: Session, *, org_id: str, person: str, messages: list[_Mail], policy: EscalationPolicy,
          linked: dict[str, str]) -> int:
    """One message to `person` for all the steps this run escalated to them: a practice with many
    overdue tasks had sent its compliance officer one message per task and step (43 to 397 a day
    on the demo practice). A single step keeps its own message and key. The webhook still gets one
    delivery per step (`_escalate`): a machine wants the events, a person the list."""
    channels: list[str] = [c for c in policy.channels if c == "email"]
    if not channels:
        return 0
    if len(messages) == 1:
        (one,) = messages
        return notify.enqueue(session, org_id=org_id, key=one.key, kind="escalation", persons=[person],
                              subject=one.subject, body=one.body, payload=one.payload, policy=policy,
                              channels=channels, linked=linked)
    keys = sorted(m.key for m in messages)
    key = f"escalations:{person}:{hashlib.sha256(chr(10).join(keys).encode()).hexdigest()[:16]}"
    body = f"{len(messages)} overdue tasks were escalated to you:\n\n" + "\n".join(m.body for m in messages)
    return notify.enqueue(session, org_id=org_id, key=key, kind="escalation", persons=[person],
                          subject=f"[Vigil] {len(messages)} overdue tasks escalated to you", body=body,
                          payload={"escalations": [m.payload for m in messages]}, policy=policy, channels=channels,
                          linked=linked)


def _escalate(session: Session, task: TaskRow, *, step: int, target: str, person: str, when: dt.date,
              policy: EscalationPolicy, actor: str, linked: dict[str, str],
              named: people.Names) -> tuple[int, int, _Mail | None]:
    now = clock.now()
    row = TaskEscalationRow(task_id=task.id, cycle=task.cycle, step=step, target=target, person=person,
                            scheduled_for=when, at=now)
    if not store.insert_once(session, row):
        return 0, 0, None
    task.escalation_level = max(task.escalation_level, step + 1)
    reason = (f"overdue since {task.due.isoformat()}: step {step + 1} of {len(policy.chain)} -> {target} "
              f"({person or 'nobody'})")
    store.record_event(session, task, actor=actor, kind="escalated", reason=reason, at=now)
    store.audit(session, org_id=task.org_id, actor=actor, action="task.escalate", entity_id=task.id,
                payload={"cycle": task.cycle, "step": step, "target": target, "person": person,
                         "scheduled_for": when.isoformat()})
    subject = f"[Vigil] Overdue (step {step + 1}): {task.title}"
    body = (f"Task {task.id} was due {task.due.isoformat()} and is still open: {task.title}\n"
            f"Owner: {named(linked.get(task.owner, task.owner) if task.owner else None)}\n"
            f"Escalated to {target} ({named(person) if person else 'nobody assigned'}), "
            f"step {step + 1} of {len(policy.chain)}.\n{notify.task_link(policy, task.id)}")
    payload = notify.task_payload(task) | {"step": step, "target": target, "person": person, "cycle": task.cycle}
    key = f"escalation:{task.id}:{task.cycle}:{step}"
    webhooks: list[str] = [c for c in policy.channels if c == "webhook"]
    sent = notify.enqueue(session, org_id=task.org_id, key=key, kind="escalation", persons=[person],
                          subject=subject, body=body, payload=payload, policy=policy, channels=webhooks,
                          linked=linked) if webhooks else 0
    return 1, sent, _Mail(person, key, subject, body, payload) if person else None
