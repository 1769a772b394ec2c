"""Notifications: an outbox written in the same transaction as the change it reports, delivered by a
job over SMTP and a signed webhook, retried with exponential backoff, every attempt recorded.

    enqueue(...)                one row per (key, channel, recipient): enqueuing twice adds nothing
    deliver_due(engine, ...)    claim due rows (lease), send, record the attempt, schedule a retry
    send_digests(...)           one digest per person per local day

Webhook bodies are canonical JSON fixed at enqueue time, so every retry sends the same bytes:
`X-Vigil-Signature: sha256=<hex HMAC-SHA256(secret, body)>`, `X-Vigil-Delivery: <notification id>`
(receivers drop a delivery id they have already accepted: a retry after a lost response is
otherwise the one way a receiver could see a message twice).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import json
import smtplib
import time
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.orm import Session

from engine import clock
from engine.auth import people
from engine.db import unit_of_work, utc
from engine.tasks import store
from engine.tasks.policy import RolePolicy, load_escalation, webhook_secret
from engine.tasks.schemas import DeliveryResult, EscalationPolicy, Notification
from engine.tasks.tables import NotificationAttemptRow, NotificationRow, TaskRow

SIGNATURE_HEADER = "X-Vigil-Signature"
DELIVERY_HEADER = "X-Vigil-Delivery"


class Notifier(Protocol):
    """A channel: sends one notification and says how it went (never raises for delivery problems)."""

    def send(self, notification: Notification) -> DeliveryResult: ...


def notification_id(org_id: str, key: str, channel: str, recipient: str) -> str:
    return "N-" + hashlib.sha256(f"{org_id}|{key}|{channel}|{recipient}".encode()).hexdigest()[:16]


def canonical(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def sign(body: bytes, secret: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: bytes, header: str | None) -> bool:
    """For receivers (and tests): constant-time check of the signature header."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


# -- enqueue ---------------------------------------------------------------------------------------

def enqueue(session: Session, *, org_id: str, key: str, kind: str, persons: list[str | None], subject: str,
            body: str, payload: dict[str, Any], policy: EscalationPolicy,
            channels: list[str] | None = None, linked: Mapping[str, str] | None = None) -> int:
    """Queue a message for each person (email) and for the webhook; returns how many rows were new.

    Every message names its practice (subject and first line): a compliance officer of two
    practices in one deployment had had "171 overdue tasks escalated to you" from each, with the
    same person and system ids in both and nothing to tell them apart."""
    now = clock.now()
    practice = store.practice_label(session, org_id=org_id)
    subject = subject.replace("[Vigil]", f"[Vigil] {practice}:", 1) if subject.startswith("[Vigil]") else subject
    body = f"Practice: {practice}\n\n{body}"
    wanted = channels if channels is not None else list(policy.channels)
    if linked is None:  # a user's account and the person it stands for are one recipient
        linked = _linked(session, org_id)
    people = list(dict.fromkeys(linked.get(p, p) for p in persons if p))
    added = 0
    if "email" in wanted:
        by_person = {person: user for user, person in linked.items()}
        for person in people:
            address = (policy.contacts.get(person) or policy.contacts.get(by_person.get(person, "")) or {}).get("email")
            added += _add(session, org_id=org_id, key=key, kind=kind, channel="email", recipient=person,
                          address=address, subject=subject, body=body, payload=payload, now=now)
    if "webhook" in wanted and policy.webhook_url:
        nid = notification_id(org_id, key, "webhook", policy.webhook_url)
        full = {"id": nid, "kind": kind, "org_id": org_id, "practice": practice, "key": key,
                "created_at": clock.ensure_utc(now).isoformat(),
                "subject": subject, "text": body, "recipients": people, "data": payload}
        added += _add(session, org_id=org_id, key=key, kind=kind, channel="webhook", recipient=policy.webhook_url,
                      address=policy.webhook_url, subject=subject, body=body, payload=full, now=now)
    return added


def linked_persons(session: Session, org_id: str) -> dict[str, str]:
    """username -> person id of the org's linked users (`enqueue`'s `linked`, read once per run)."""
    return _linked(session, org_id)


def _linked(session: Session, org_id: str) -> dict[str, str]:
    from engine.auth import people

    return people.linked_persons(session, org_id=org_id)


def _add(session: Session, *, org_id: str, key: str, kind: str, channel: str, recipient: str, address: str | None,
         subject: str, body: str, payload: dict[str, Any], now: dt.datetime) -> int:
    nid = notification_id(org_id, key, channel, recipient)
    if session.get(NotificationRow, nid) is not None:
        return 0
    skipped = channel == "email" and not address
    row = NotificationRow(id=nid, org_id=org_id, key=key, kind=kind, channel=channel, recipient=recipient,
                          address=address, subject=subject, body=body, payload=json.loads(canonical(payload)),
                          state="skipped" if skipped else "pending", attempts=0,
                          next_attempt_at=None if skipped else now, created_at=now,
                          last_error=f"no email address for {recipient} in the escalation policy" if skipped else None)
    return 1 if store.insert_once(session, row) else 0


def recipients(targets: list[str], *, task: TaskRow, roles: RolePolicy) -> list[str | None]:
    """Chain or notify-list entries to people: `owner` is the task's owner, anything else a role.
    An owner who has left is nobody to tell (their task waits for a holder present to be handed
    to): a departed owner had been sent "escalated to you" and critical alerts."""
    owner = task.owner if task.owner and not roles.gone(task.owner) else None
    return [owner if t == "owner" else roles.resolve(t, task.establishment_id).person for t in targets]


def task_link(policy: EscalationPolicy, task_id: str) -> str:
    """The task's page in the web UI as a line of its own (mail readers make it a link), or nothing
    when the policy does not say where the UI is."""
    return f"  {policy.app_url}/tasks/{quote(task_id, safe='')}\n" if policy.app_url else ""


def names(session: Session, org_id: str) -> people.Names:
    """How this message names people (person records read once per id)."""
    return people.Names(session, org_id=org_id)


def notify_critical(session: Session, *, task: TaskRow, finding_message: str, policy: EscalationPolicy,
                    roles: RolePolicy, actor: str) -> int:
    """A critical finding's task is announced at once to the owner and the compliance officer."""
    persons = recipients(policy.critical_notify, task=task, roles=roles)
    subject = f"[Vigil] CRITICAL: {task.title}"
    owner = names(session, task.org_id)(task.owner)
    body = (f"A critical finding needs action now.\n\n{finding_message}\n\nTask {task.id}, owner {owner}, "
            f"due {task.due.isoformat()}.\n{task_link(policy, task.id)}")
    return enqueue(session, org_id=task.org_id, key=f"critical:{task.id}", kind="critical", persons=persons,
                   subject=subject, body=body, payload=_task_payload(task), policy=policy)


def _task_payload(task: TaskRow) -> dict[str, Any]:
    return {"task_id": task.id, "finding_id": task.finding_id, "title": task.title, "owner": task.owner,
            "due": task.due.isoformat(), "severity": task.severity, "sop": task.sop,
            "establishment_id": task.establishment_id}


def task_payload(task: TaskRow) -> dict[str, Any]:
    return _task_payload(task)


# -- senders ---------------------------------------------------------------------------------------

class SmtpNotifier:
    """Plain SMTP (optionally STARTTLS) to the configured host and port."""

    def __init__(self, host: str, port: int, sender: str, *, starttls: bool = False, timeout: float = 10.0):
        self.host, self.port, self.sender, self.starttls, self.timeout = host, port, sender, starttls, timeout

    def send(self, notification: Notification) -> DeliveryResult:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = notification.address or ""
        msg["Subject"] = notification.subject
        msg["Date"] = email.utils.format_datetime(clock.now())  # RFC 5322 3.6 requires it
        msg["Message-ID"] = f"<{notification.id}@vigil>"
        msg["X-Vigil-Notification"] = notification.id
        msg.set_content(notification.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                smtp.send_message(msg)
            return DeliveryResult(ok=True, status_code=250)
        except smtplib.SMTPResponseException as exc:
            return DeliveryResult(ok=False, status_code=exc.smtp_code, error=str(exc.smtp_error)[:500])
        except (OSError, smtplib.SMTPException) as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])


class WebhookNotifier:
    """POST the canonical body, signed with HMAC-SHA256; 2xx is delivered, anything else is retried."""

    def __init__(self, secret: bytes | None, *, client: httpx.Client | None = None, timeout: float = 10.0):
        self.secret = secret
        self._owns_client = client is None
        self.client = client or httpx.Client(timeout=timeout)

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def send(self, notification: Notification) -> DeliveryResult:
        if not self.secret:
            return DeliveryResult(ok=False, error="no webhook secret configured (see the policy's secret_env)")
        body = canonical(notification.payload)
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self.secret),
                   DELIVERY_HEADER: notification.id, "X-Vigil-Event": notification.kind,
                   "X-Vigil-Attempt": str(notification.attempts + 1)}
        try:
            resp = self.client.post(notification.address or "", content=body, headers=headers)
        except httpx.HTTPError as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= resp.status_code < 300:
            return DeliveryResult(ok=True, status_code=resp.status_code)
        said = " ".join(resp.text.split())[:400]  # the receiver's words after the status, which they had hidden
        return DeliveryResult(ok=False, status_code=resp.status_code,
                              error=f"HTTP {resp.status_code}" + (f": {said}" if said else ""))


def default_senders(policy: EscalationPolicy) -> dict[str, Notifier]:
    return {"email": SmtpNotifier(policy.smtp_host, policy.smtp_port, policy.smtp_from, starttls=policy.smtp_starttls),
            "webhook": WebhookNotifier(webhook_secret(policy))}


# -- delivery --------------------------------------------------------------------------------------

def backoff(policy: EscalationPolicy, attempts: int) -> dt.timedelta:
    """Wait after the `attempts`-th failure: base * 2^(attempts-1), capped."""
    seconds = min(policy.backoff_max_seconds, policy.backoff_base_seconds * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=seconds)


def deliver_due(engine: Engine, *, senders: Mapping[str, Notifier] | None = None,
                policy: EscalationPolicy | None = None, limit: int = 200, lease_seconds: int = 300,
                org_id: str | None = None) -> dict[str, int]:
    """Send what is due now (and what a crashed sender left behind after its lease); returns counts."""
    policy = policy or load_escalation()
    own = senders is None
    senders = senders or default_senders(policy)
    counts = {"sent": 0, "retry": 0, "failed": 0}
    try:
        for note in _claim(engine, limit=limit, lease_seconds=lease_seconds, org_id=org_id, policy=policy):
            sender = senders.get(note.channel)
            started = time.perf_counter()
            result = _sent(sender, note)
            elapsed = int((time.perf_counter() - started) * 1000)
            with unit_of_work(engine) as session:
                counts[_record(session, note.id, result, elapsed, policy)] += 1
    finally:
        if own:
            for sender in senders.values():
                close = getattr(sender, "close", None)
                if close is not None:
                    close()
    return counts


def _sent(sender: Notifier | None, note: Notification) -> DeliveryResult:
    """One delivery attempt, whatever the sender raises made a failed attempt of this message.

    Why so broad: a sender fails in ways its own error types do not cover (the email library's
    IndexError on an address "p3@", httpx's UnicodeError on a host "hooks..example.com"), and one
    such message had stopped every delivery run at itself, leaving the messages claimed after it
    "sending" for good: a practice's whole mail stopped by one typo in escalation.yaml."""
    if sender is None:
        return DeliveryResult(ok=False, error=f"no sender for {note.channel}")
    try:
        return sender.send(note)
    except Exception as exc:  # noqa: BLE001 - see above: a message's failure, not the run's
        return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])


def _claim(engine: Engine, *, limit: int, lease_seconds: int, org_id: str | None,
           policy: EscalationPolicy) -> list[Notification]:
    """Lease what is due, each to the address the policy gives now (`_readdress`)."""
    now = clock.now()
    with unit_of_work(engine) as session:
        stmt = select(NotificationRow).where(or_(
            and_(NotificationRow.state == "pending", NotificationRow.next_attempt_at <= now),
            and_(NotificationRow.state == "sending", NotificationRow.lease_until < now),
        ))
        if org_id is not None:
            stmt = stmt.where(NotificationRow.org_id == org_id)
        stmt = stmt.order_by(NotificationRow.created_at, NotificationRow.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(session.scalars(stmt))
        linked: dict[str, dict[str, str]] = {}
        for row in rows:
            row.state = "sending"
            row.lease_until = now + dt.timedelta(seconds=lease_seconds)
            if row.org_id not in linked and row.channel == "email":
                linked[row.org_id] = _linked(session, row.org_id)
            _readdress(row, policy, linked.get(row.org_id, {}))
        return [to_notification(r) for r in rows]


def _readdress(row: NotificationRow, policy: EscalationPolicy, linked: Mapping[str, str]) -> None:
    """Send to the address the policy gives now, not the one it gave when the message was queued:
    162 webhooks queued while VIGIL_WEBHOOK_URL named a wrong port had failed again after it was
    fixed and they were resent. A policy that no longer gives one keeps the old address."""
    if row.channel == "webhook":
        current = policy.webhook_url
    else:
        by_person = {person: user for user, person in linked.items()}
        contact = policy.contacts.get(row.recipient) or policy.contacts.get(by_person.get(row.recipient, "")) or {}
        current = contact.get("email")
    if current and current != row.address:
        row.address = current


def _record(session: Session, nid: str, result: DeliveryResult, elapsed_ms: int, policy: EscalationPolicy) -> str:
    row = session.get(NotificationRow, nid)
    assert row is not None
    now = clock.now()
    row.attempts += 1
    session.add(NotificationAttemptRow(notification_id=nid, number=row.attempts, at=now, channel=row.channel,
                                       target=row.address or row.recipient, ok=result.ok,
                                       status_code=result.status_code, error=result.error, duration_ms=elapsed_ms))
    row.lease_until = None
    if result.ok:
        row.state, row.sent_at, row.last_error, row.next_attempt_at = "sent", now, None, None
        store.audit(session, org_id=row.org_id, actor="system:notify", action="notification.sent",
                    entity_type="notification", entity_id=row.id,
                    payload={"kind": row.kind, "channel": row.channel, "recipient": row.recipient,
                             "attempts": row.attempts})
        return "sent"
    row.last_error = result.error or f"status {result.status_code}"
    if row.attempts >= policy.max_attempts:
        row.state, row.next_attempt_at = "failed", None
        store.audit(session, org_id=row.org_id, actor="system:notify", action="notification.failed",
                    entity_type="notification", entity_id=row.id,
                    payload={"kind": row.kind, "channel": row.channel, "attempts": row.attempts,
                             "error": row.last_error})
        return "failed"
    row.state, row.next_attempt_at = "pending", now + backoff(policy, row.attempts)
    return "retry"


def to_notification(row: NotificationRow) -> Notification:
    return Notification(id=row.id, org_id=row.org_id, key=row.key, kind=row.kind, channel=row.channel,  # type: ignore[arg-type]
                        recipient=row.recipient, address=row.address, subject=row.subject, body=row.body,
                        payload=row.payload, state=row.state, attempts=row.attempts,
                        next_attempt_at=utc(row.next_attempt_at), created_at=utc(row.created_at),
                        sent_at=utc(row.sent_at), last_error=row.last_error)


def list_notifications(session: Session, *, org_id: str, key_prefix: str | None = None,
                       state: str | None = None) -> list[Notification]:
    stmt = select(NotificationRow).where(NotificationRow.org_id == org_id)
    if key_prefix:
        stmt = stmt.where(NotificationRow.key.startswith(key_prefix))
    if state:
        stmt = stmt.where(NotificationRow.state == state)
    return [to_notification(r) for r in session.scalars(stmt.order_by(NotificationRow.created_at, NotificationRow.id))]


def resend(session: Session, *, org_id: str, ids: list[str] | None, actor: str) -> list[str]:
    """Put failed notifications back in the queue (`ids`, or every failed one when None): the next
    delivery tries each once more, and a failure leaves it failed again. Why: after an outage longer
    than the retries' half hour, the alerts and digests of that time were lost for good, with no way
    to send them once the receiver was back. Each resend is in the audit trail."""
    from engine.errors import ErrorDetail, InputError

    stmt = select(NotificationRow).where(NotificationRow.org_id == org_id, NotificationRow.state == "failed")
    if ids is not None:
        stmt = stmt.where(NotificationRow.id.in_(ids))
    rows = list(session.scalars(stmt.order_by(NotificationRow.created_at, NotificationRow.id)))
    if ids is not None:
        unknown = sorted(set(ids) - {r.id for r in rows})
        if unknown:
            raise InputError("only failed notifications are sent again", [ErrorDetail(
                reason="no failed notification with this id in the organization (see `vigil scheduler "
                       "notifications --state failed`)", record_id=i) for i in unknown], code="input.notification")
    now = clock.now()
    for row in rows:
        row.state, row.next_attempt_at, row.lease_until = "pending", now, None
        store.audit(session, org_id=org_id, actor=actor, action="notification.resend", entity_type="notification",
                    entity_id=row.id, payload={"kind": row.kind, "channel": row.channel,
                                               "attempts": row.attempts, "error": row.last_error})
    return [r.id for r in rows]


# -- digest ----------------------------------------------------------------------------------------

#: No digest is queued from this local hour on: a scheduler first started at 06:08 UTC had sent a
#: Denver clinician "today's" digest at 23:08 their time; the next morning's comes instead.
DIGEST_LAST_HOUR = 21

def send_digests(session: Session, *, org_id: str, as_of: dt.datetime, policy: EscalationPolicy) -> int:
    """Queue today's digest for every owner of open tasks who has not left, once per person per local
    day, from the policy's hour to DIGEST_LAST_HOUR in the zone of their work: the site of their
    current employment, else that of their soonest task."""
    from engine.tasks import workforce

    as_of = clock.ensure_utc(as_of)
    zones = store.establishment_zones(session, org_id=org_id)
    linked = _linked(session, org_id)
    named = names(session, org_id)
    staff = workforce.workforce_at(session, org_id=org_id, as_of=as_of, zones=zones)
    gone, sites = staff.left, staff.sites
    by_owner: dict[str, list[TaskRow]] = {}
    for row in session.scalars(select(TaskRow).where(TaskRow.org_id == org_id, TaskRow.state == "open")
                               .order_by(TaskRow.due, TaskRow.id)):
        if row.owner:  # a task given to a user's login is in the digest of the person it stands for
            by_owner.setdefault(linked.get(row.owner, row.owner), []).append(row)
    added = 0
    for person, rows in sorted(by_owner.items()):
        if person in gone:
            continue  # who has left is sent nothing (docs/tasks.md); their tasks wait to be handed over
        # the person's day is that of the site they work at, not the organization's first site (a
        # Honolulu nurse's 07:00 digest had come at 03:30 their time) nor their soonest task's (a
        # Honolulu front desk given one New York task had been mailed at 03:00 their time)
        site = sites.get(person) or next((r.establishment_id for r in rows if r.establishment_id), None)
        tz = store.zone_of(zones, site)
        local = as_of.astimezone(ZoneInfo(tz))
        if not policy.digest_hour <= local.hour < max(DIGEST_LAST_HOUR, policy.digest_hour + 1):
            continue
        overdue = [r for r in rows if store.is_overdue(r, as_of)]
        lines = [f"{'OVERDUE ' if r in overdue else ''}{r.due.isoformat()}  {r.id}  {r.title}\n"
                 f"{task_link(policy, r.id)}" for r in rows]
        body = (f"{named(person)}: your open compliance tasks on {local.date().isoformat()} "
                f"({len(rows)}, {len(overdue)} overdue):\n\n") + "".join(lines)
        added += enqueue(session, org_id=org_id, key=f"digest:{person}:{local.date().isoformat()}", kind="digest",
                         persons=[person], subject=f"[Vigil] {len(rows)} open task(s), {len(overdue)} overdue",
                         body=body, payload={"person": person, "date": local.date().isoformat(),
                                             "tasks": [_task_payload(r) for r in rows]},
                         policy=policy, channels=list(policy.digest_channels))
    return added
