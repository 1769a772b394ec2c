"""Notifications leave by SMTP and by signed webhook, retried with backoff, every attempt recorded;
a receiver sees each notification once even when its first delivery fails."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.errors import InputError
from engine.tasks import escalation, notify
from engine.tasks.policy import load_escalation
from engine.tasks.tables import NotificationAttemptRow, NotificationRow
from tests import factories as f
from tests.unit.tasks.servers import smtp_sink, webhook_receiver

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
T = dt.datetime.fromisoformat
ORG = "clinic-n"
SECRET = b"test-webhook-secret"


@pytest.fixture(autouse=True)
def _policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    monkeypatch.setenv("VIGIL_TEST_WEBHOOK_SECRET", SECRET.decode())


def _overdue_task_with_three_escalations(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.establishment(), f.episode("EP1", "P1",
                                "2026-02-01T09:00:00-06:00")], actor="t", source="t", stream=False)
    with clock.frozen(T("2026-02-25T12:00:00+00:00")), unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id=ORG, as_of=clock.now(), actor="t")
    for day in ("2026-03-04", "2026-03-06", "2026-03-08"):
        with clock.frozen(T(f"{day}T15:00:00+00:00")), unit_of_work(engine) as s:
            escalation.run_escalations(s, org_id=ORG, as_of=clock.now())


def _deliver(engine: Engine, at: dt.datetime) -> dict[str, int]:
    with clock.frozen(at):
        return notify.deliver_due(engine, policy=load_escalation())


def test_webhook_and_email_each_arrive_once_though_the_first_webhook_delivery_fails(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_sink() as sink, webhook_receiver(SECRET, fail_first=True) as (url, hook):
        monkeypatch.setenv("VIGIL_WEBHOOK_URL", url)
        monkeypatch.setenv("VIGIL_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("VIGIL_SMTP_PORT", str(sink.server_address[1]))
        _overdue_task_with_three_escalations(engine)
        t0 = T("2026-03-08T16:00:00+00:00")
        assert _deliver(engine, t0) == {"sent": 3, "retry": 3, "failed": 0}  # mail goes; every webhook fails once
        assert _deliver(engine, t0 + dt.timedelta(seconds=59)) == {"sent": 0, "retry": 0, "failed": 0}  # backoff
        assert _deliver(engine, t0 + dt.timedelta(seconds=61)) == {"sent": 3, "retry": 0, "failed": 0}
        assert _deliver(engine, t0 + dt.timedelta(hours=2)) == {"sent": 0, "retry": 0, "failed": 0}
    assert hook.bad_signatures == 0
    assert sorted(hook.seen.values()) == [2, 2, 2]  # one failed and one accepted request per notification
    ids = [a["id"] for a in hook.accepted]
    assert len(ids) == len(set(ids)) == 3
    assert sorted(a["data"]["step"] for a in hook.accepted) == [0, 1, 2]
    assert sorted(m["to"][0] for m in sink.messages) == ["<co@test.invalid>", "<hr1@test.invalid>",
                                                         "<mgr@test.invalid>"]
    to_hr1 = next(m["data"] for m in sink.messages if "hr1" in m["to"][0])
    assert b"Subject: [Vigil] clinic-n: Overdue (step 1)" in to_hr1
    with unit_of_work(engine) as s:
        rows = {r.id: r for r in s.scalars(select(NotificationRow).where(NotificationRow.channel == "webhook"))}
        attempts = s.execute(select(NotificationAttemptRow.notification_id, NotificationAttemptRow.number,
                                    NotificationAttemptRow.ok, NotificationAttemptRow.status_code)
                             .where(NotificationAttemptRow.notification_id.in_(list(rows)))
                             .order_by(NotificationAttemptRow.notification_id, NotificationAttemptRow.number)).all()
    assert all(r.state == "sent" and r.attempts == 2 for r in rows.values())
    assert [(n, ok, code) for _, n, ok, code in attempts] == [(1, False, 503), (2, True, 200)] * 3


def test_delivery_gives_up_after_the_policy_s_attempts_with_exponential_backoff(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_WEBHOOK_URL", "http://127.0.0.1:9/closed")  # nothing listens on the discard port
    policy = load_escalation()
    with clock.frozen(T("2026-03-01T00:00:00+00:00")), unit_of_work(engine) as s:
        notify.enqueue(s, org_id=ORG, key="test:1", kind="test", persons=[], subject="s", body="b", payload={},
                       policy=policy, channels=["webhook"])
    at = T("2026-03-01T00:00:00+00:00")
    outcomes, waits = [], []
    for _ in range(policy.max_attempts):
        counts = _deliver(engine, at)
        outcomes.append(next(k for k, v in counts.items() if v))
        with unit_of_work(engine) as s:
            row = s.scalars(select(NotificationRow)).one()
        if row.next_attempt_at is not None:
            waits.append(int((row.next_attempt_at.replace(tzinfo=dt.UTC) - at).total_seconds()))
            at = row.next_attempt_at.replace(tzinfo=dt.UTC)
    assert outcomes == ["retry", "retry", "retry", "failed"] and waits == [60, 120, 240]
    assert row.state == "failed" and row.attempts == 4 and row.last_error
    # the receiver is back at the address the policy now gives: sent again by hand (scheduler probe:
    # failed ones had no way out; ops probe: they had gone to the address they were queued with again)
    with webhook_receiver(SECRET, fail_first=False) as (url, hook):
        monkeypatch.setenv("VIGIL_WEBHOOK_URL", url)
        with clock.frozen(at + dt.timedelta(hours=3)), unit_of_work(engine) as s:
            assert notify.resend(s, org_id=ORG, ids=None, actor="cli:ops") == [row.id]
            assert notify.resend(s, org_id=ORG, ids=None, actor="cli:ops") == []  # queued already
        assert _deliver(engine, at + dt.timedelta(hours=3)) == {"sent": 1, "retry": 0, "failed": 0}
    assert len(hook.accepted) == 1
    with unit_of_work(engine) as s:
        assert s.scalars(select(NotificationRow)).one().address == url
        with pytest.raises(InputError, match="only failed notifications"):
            notify.resend(s, org_id=ORG, ids=[row.id], actor="cli:ops")  # it was sent


def test_a_sender_that_died_mid_delivery_is_resumed_after_its_lease(engine: Engine,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with webhook_receiver(SECRET, fail_first=False) as (url, hook):
        monkeypatch.setenv("VIGIL_WEBHOOK_URL", url)
        policy = load_escalation()
        at = T("2026-03-01T00:00:00+00:00")
        with clock.frozen(at), unit_of_work(engine) as s:
            notify.enqueue(s, org_id=ORG, key="test:2", kind="test", persons=[], subject="s", body="b",
                           payload={"n": 1}, policy=policy, channels=["webhook"])
        with clock.frozen(at):
            claimed = notify._claim(engine, limit=10, lease_seconds=300, org_id=None,  # then the process "dies"
                                    policy=policy)
        assert len(claimed) == 1
        assert _deliver(engine, at + dt.timedelta(seconds=299))["sent"] == 0  # still leased
        assert _deliver(engine, at + dt.timedelta(seconds=301))["sent"] == 1
    assert len(hook.accepted) == 1


def test_a_daily_digest_per_person(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)
    _overdue_task_with_three_escalations(engine)
    policy = load_escalation()
    with unit_of_work(engine) as s:
        # 9 March is the day after the DST change in Chicago (UTC-5): 11:59Z is 06:59 local, 12:00Z is 07:00
        early = notify.send_digests(s, org_id=ORG, as_of=T("2026-03-09T11:59:00+00:00"), policy=policy)
        first = notify.send_digests(s, org_id=ORG, as_of=T("2026-03-09T12:00:00+00:00"), policy=policy)
        again = notify.send_digests(s, org_id=ORG, as_of=T("2026-03-09T20:00:00+00:00"), policy=policy)
        digests = notify.list_notifications(s, org_id=ORG, key_prefix="digest:")
    assert (early, first, again) == (0, 1, 0)
    assert [(d.recipient, d.key) for d in digests] == [("P-HR1", "digest:P-HR1:2026-03-09")]
    assert "OVERDUE 2026-03-03" in digests[0].body
    with unit_of_work(engine) as s:  # a scheduler first up at 21:00 local sends the next morning's, not tonight's
        night = notify.send_digests(s, org_id=ORG, as_of=T("2026-03-11T02:00:00+00:00"), policy=policy)
        evening = notify.send_digests(s, org_id=ORG, as_of=T("2026-03-11T01:59:00+00:00"), policy=policy)
    assert (night, evening) == (0, 1)  # 21:00 CDT on the 10th: none; 20:59: the 10th's


def test_a_task_given_to_a_users_login_reaches_the_person_that_user_stands_for(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scheduler probe: a task reassigned to the `hr1` login (linked to P-HR1) left P-HR1's digest, and
    its digest and escalations to `hr1` were skipped: no address. A user and their person are one owner."""
    from engine.auth import service as auth
    from engine.auth.schemas import UserIn
    from engine.tasks import service as tasks

    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)
    _overdue_task_with_three_escalations(engine)
    with unit_of_work(engine) as s:
        auth.create_user(s, org_id=ORG, actor="t", data=UserIn(username="hr1", password="hr1-password-x",
                                                                role="staff", person_id="P-HR1"))
        (task,) = tasks.list_tasks(s, org_id=ORG).items
        tasks.reassign_task(s, org_id=ORG, task_id=task.id, owner="hr1", actor="officer")
    policy = load_escalation()
    with unit_of_work(engine) as s:
        notify.send_digests(s, org_id=ORG, as_of=T("2026-03-09T12:00:00+00:00"), policy=policy)
        (digest,) = notify.list_notifications(s, org_id=ORG, key_prefix="digest:")
    assert (digest.recipient, digest.address, digest.state) == ("P-HR1", "hr1@test.invalid", "pending")
    assert task.id in digest.body


def test_a_login_and_the_person_it_stands_for_are_mailed_once_a_run(engine: Engine,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 46's staff pass: a task owned by the `mgr` login (P-MGR's), overdue past the owner's
    step and the practice manager's (P-MGR), mailed P-MGR twice in one run: once as `mgr`, naming
    the owner "mgr", once as the practice manager."""
    from engine.auth import service as auth
    from engine.auth.schemas import UserIn
    from engine.tasks import service as tasks

    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.establishment(), f.episode("EP1", "P1",
                                "2026-02-01T09:00:00-06:00")], actor="t", source="t", stream=False)
    with clock.frozen(T("2026-02-25T12:00:00+00:00")), unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id=ORG, as_of=clock.now(), actor="t")
        auth.create_user(s, org_id=ORG, actor="t", data=UserIn(username="mgr", password="mgr-password-x",
                                                                role="staff", person_id="P-MGR"))
        (task,) = tasks.list_tasks(s, org_id=ORG).items
        tasks.reassign_task(s, org_id=ORG, task_id=task.id, owner="mgr", actor="officer")
    with clock.frozen(T("2026-03-06T15:00:00+00:00")), unit_of_work(engine) as s:
        counts = escalation.run_escalations(s, org_id=ORG, as_of=clock.now())
        mail = [n for n in notify.list_notifications(s, org_id=ORG) if n.channel == "email"]
    assert counts["steps"] == 2
    (message,) = mail
    assert message.recipient == "P-MGR" and "Owner: P-MGR" in message.body and "Owner: mgr" not in message.body


def test_a_digest_comes_at_the_hour_of_the_site_the_persons_work_is_at(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scheduler probe: every digest followed the first establishment's zone; a Honolulu nurse's 07:00
    digest came at 03:30 their time."""
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, actor="t", source="t", stream=False, records=[
            f.establishment("E1"), f.establishment("E9", tz="Pacific/Honolulu", state="HI"),
            f.episode("EP9", "P9", "2026-02-01T09:00:00-10:00", est="E9")])
    with clock.frozen(T("2026-02-25T12:00:00+00:00")), unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id=ORG, as_of=clock.now(), actor="t")
    policy = load_escalation()
    with unit_of_work(engine) as s:  # 07:00 in Chicago is 03:00 in Honolulu; 17:00Z is 07:00 there
        chicago_morning = notify.send_digests(s, org_id=ORG, as_of=T("2026-03-09T12:00:00+00:00"), policy=policy)
        honolulu_morning = notify.send_digests(s, org_id=ORG, as_of=T("2026-03-09T17:00:00+00:00"), policy=policy)
        (digest,) = notify.list_notifications(s, org_id=ORG, key_prefix="digest:")
    assert (chicago_morning, honolulu_morning) == (0, 1) and digest.key.endswith(":2026-03-09")


def test_mail_carries_a_date(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scheduler probe: none of 572 messages had the Date header RFC 5322 requires."""
    with smtp_sink() as sink:
        monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)
        monkeypatch.setenv("VIGIL_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("VIGIL_SMTP_PORT", str(sink.server_address[1]))
        _overdue_task_with_three_escalations(engine)
        _deliver(engine, T("2026-03-08T16:00:00+00:00"))
    assert sink.messages and all(b"\nDate: Sun, 08 Mar 2026 16:00:00 +0000" in m["data"] for m in sink.messages)


def test_one_runs_escalations_to_a_person_are_one_message(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scheduler probe: one message per task and step, 43 to 397 a day to the compliance officer on the
    demo practice. A run's escalations to one person are one message; the webhook keeps one per step."""
    monkeypatch.setenv("VIGIL_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, actor="t", source="t", stream=False, records=[
            f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
            f.episode("EP2", "P2", "2026-02-01T09:00:00-06:00")])
    with clock.frozen(T("2026-02-25T12:00:00+00:00")), unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id=ORG, as_of=clock.now(), actor="t")
    with clock.frozen(T("2026-03-04T15:00:00+00:00")), unit_of_work(engine) as s:
        counts = escalation.run_escalations(s, org_id=ORG, as_of=clock.now())
        mail = [n for n in notify.list_notifications(s, org_id=ORG) if n.channel == "email"]
        hooks = [n for n in notify.list_notifications(s, org_id=ORG) if n.channel == "webhook"]
    assert counts["steps"] == 2 and len(hooks) == 2
    (message,) = mail
    assert message.recipient == "P-HR1" and message.subject == "[Vigil] clinic-n: 2 overdue tasks escalated to you"
    assert message.body.startswith("Practice: clinic-n\n\n2 overdue tasks were escalated to you:")
    assert message.body.count("Task T-") == 2
    with clock.frozen(T("2026-03-04T16:00:00+00:00")), unit_of_work(engine) as s:  # the job again: nothing new
        assert escalation.run_escalations(s, org_id=ORG, as_of=clock.now())["notifications"] == 0


def test_mail_names_people_and_links_each_task_when_the_ui_address_is_known(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mail named everyone by id ("Owner: P1") with no way to the task: staff had to look themselves
    up and then find the task. People are named from their records; with `app_url` (or
    VIGIL_APP_URL) every task is linked to its page."""
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("VIGIL_APP_URL", "https://vigil.clinic.test/")
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, actor="t", source="t", stream=False, records=[
            {"type": "person", "id": "P1", "first_name": "Dana", "last_name": "Reyes"},
            {"type": "person", "id": "P-HR1", "first_name": "Sam", "last_name": "Okafor"}])
    _overdue_task_with_three_escalations(engine)
    policy = load_escalation()
    assert policy.app_url == "https://vigil.clinic.test"
    with unit_of_work(engine) as s:
        notify.send_digests(s, org_id=ORG, as_of=T("2026-03-09T12:00:00+00:00"), policy=policy)
        (digest,) = notify.list_notifications(s, org_id=ORG, key_prefix="digest:")
        escalations = [n for n in notify.list_notifications(s, org_id=ORG, key_prefix="escalation:")
                       if n.channel == "email"]
    (task_id,) = {n.payload["task_id"] for n in escalations}
    link = f"https://vigil.clinic.test/tasks/{task_id}"
    assert digest.body.startswith("Practice: clinic-n\n\nSam Okafor (P-HR1): your open compliance tasks on 2026-03-09")
    assert f"{task_id}  " in digest.body and f"  {link}\n" in digest.body
    assert escalations and all("Owner: Sam Okafor (P-HR1)" in n.body and link in n.body for n in escalations)


def test_without_an_app_url_mail_has_no_links_and_an_unnamed_person_is_their_id(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("VIGIL_APP_URL", raising=False)
    _overdue_task_with_three_escalations(engine)
    with unit_of_work(engine) as s:
        notify.send_digests(s, org_id=ORG, as_of=T("2026-03-09T12:00:00+00:00"), policy=load_escalation())
        (digest,) = notify.list_notifications(s, org_id=ORG, key_prefix="digest:")
    assert digest.body.startswith("Practice: clinic-n\n\nP-HR1: your open compliance tasks")
    assert "http" not in digest.body


def test_every_message_names_its_practice_by_its_organization_record(engine: Engine,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Ops probe: an officer of two practices had had "171 overdue tasks escalated to you" from each,
    with nothing in the subject, body or links to say which."""
    monkeypatch.setenv("VIGIL_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, actor="t", source="t", stream=False, records=[
            {"type": "organization", "id": "O1", "name": "North Family Medicine"}])
    _overdue_task_with_three_escalations(engine)
    with unit_of_work(engine) as s:
        sent = notify.list_notifications(s, org_id=ORG)
    label = "North Family Medicine (clinic-n)"
    assert sent and all(n.subject.startswith(f"[Vigil] {label}: ") for n in sent)
    assert all(n.body.startswith(f"Practice: {label}\n") for n in sent)
    assert {n.payload["practice"] for n in sent if n.channel == "webhook"} == {label}


def test_an_app_url_that_is_not_a_web_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.tasks.errors import PolicyError

    monkeypatch.setenv("VIGIL_APP_URL", "vigil.clinic.test")
    with pytest.raises(PolicyError) as caught:
        load_escalation()
    (problem,) = caught.value.details  # named where it was written: the environment, not escalation.yaml
    assert problem.field == "VIGIL_APP_URL" and problem.file is None and "'vigil.clinic.test'" in problem.reason


@pytest.mark.parametrize("variable, value", [("VIGIL_WEBHOOK_URL", "notaurl"), ("VIGIL_SMTP_PORT", "abc")])
def test_a_bad_environment_value_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str,
                                                                value: str) -> None:
    """An address that is not http(s) had been taken, and every webhook then failed."""
    from engine.tasks.errors import PolicyError

    monkeypatch.setenv(variable, value)
    with pytest.raises(PolicyError) as caught:
        load_escalation()
    assert [(d.field, d.file) for d in caught.value.details] == [(variable, None)]


def test_a_refused_webhook_says_its_http_status_beside_the_receivers_words(engine: Engine,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with webhook_receiver(SECRET, fail_first=True) as (url, _hook):
        monkeypatch.setenv("VIGIL_WEBHOOK_URL", url)
        with clock.frozen(T("2026-03-01T00:00:00+00:00")), unit_of_work(engine) as s:
            notify.enqueue(s, org_id=ORG, key="test:1", kind="test", persons=[], subject="s", body="b", payload={},
                           policy=load_escalation(), channels=["webhook"])
        assert _deliver(engine, T("2026-03-01T00:00:00+00:00")) == {"sent": 0, "retry": 1, "failed": 0}
    with unit_of_work(engine) as s:
        assert (s.scalars(select(NotificationRow)).one().last_error or "").startswith("HTTP 503")


def test_one_message_a_sender_cannot_send_does_not_stop_the_others(engine: Engine,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 48's scheduler pass: an address `p3@` in escalation.yaml made the email library raise
    IndexError, which stopped every delivery run at that message; the messages claimed after it stayed
    `sending` for good, and none was ever marked failed. Now it is that message's failed attempt."""
    class Picky:
        def __init__(self) -> None:
            self.sent: list[str] = []

        def send(self, note: notify.Notification) -> notify.DeliveryResult:
            if note.key == "test:bad":
                raise IndexError("string index out of range")
            self.sent.append(note.key)
            return notify.DeliveryResult(ok=True, status_code=250)

    monkeypatch.setenv("VIGIL_WEBHOOK_URL", "http://127.0.0.1:9/never-called")  # the stand-in sender answers
    policy = load_escalation()
    with clock.frozen(T("2026-03-01T00:00:00+00:00")), unit_of_work(engine) as s:
        for key in ("test:bad", "test:good-1", "test:good-2"):
            notify.enqueue(s, org_id=ORG, key=key, kind="test", persons=[], subject="s", body="b", payload={},
                           policy=policy, channels=["webhook"])
    picky = Picky()
    with clock.frozen(T("2026-03-01T00:00:00+00:00")):
        counts = notify.deliver_due(engine, senders={"webhook": picky}, policy=policy)
    assert counts == {"sent": 2, "retry": 1, "failed": 0} and sorted(picky.sent) == ["test:good-1", "test:good-2"]
    with unit_of_work(engine) as s:
        bad = s.scalars(select(NotificationRow).where(NotificationRow.key == "test:bad")).one()
        assert bad.state == "pending" and bad.attempts == 1
        assert bad.last_error == "IndexError: string index out of range"
