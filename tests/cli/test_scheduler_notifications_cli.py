"""`vigil scheduler notifications` lists what was sent or given up, and `vigil scheduler resend` queues
failed ones again (the scheduler probe: after an outage longer than the retries, alerts were lost)."""

from __future__ import annotations

import json

from sqlalchemy import update

from engine import db as dbmod
from engine.tasks import notify
from engine.tasks.policy import load_escalation
from engine.tasks.tables import NotificationRow
from tests.cli.conftest import ORG, Practice, said, vigil


def _failed_one(practice: Practice) -> str:
    engine = dbmod.make_engine(practice.url)
    with dbmod.unit_of_work(engine) as s:
        notify.enqueue(s, org_id=ORG, key="test:outage", kind="critical", persons=[], subject="[Vigil] Critical",
                       body="b", payload={}, policy=load_escalation().model_copy(
                           update={"webhook_url": "http://127.0.0.1:9/closed"}), channels=["webhook"])
        s.execute(update(NotificationRow).values(state="failed", attempts=6, last_error="connection refused"))
        (nid,) = s.scalars(NotificationRow.__table__.select().with_only_columns(NotificationRow.id))
    engine.dispose()
    return str(nid)


def test_failed_notifications_are_listed_and_sent_again(practice: Practice) -> None:
    nid = _failed_one(practice)
    listed = vigil("scheduler", "notifications", "--state", "failed", "--json", *practice.args())
    assert listed.exit_code == 0, listed.output
    (item,) = json.loads(listed.stdout)
    assert (item["id"], item["state"], item["last_error"]) == (nid, "failed", "connection refused")
    table = vigil("scheduler", "notifications", *practice.args())
    assert table.exit_code == 0 and nid in table.stdout
    neither = vigil("scheduler", "resend", *practice.args())
    assert neither.exit_code == 2 and "give NOTIFICATION_IDs or --failed" in said(neither.stderr)
    again = vigil("scheduler", "resend", "--failed", "--json", *practice.args())
    assert again.exit_code == 0 and json.loads(again.stdout) == [nid]
    assert json.loads(vigil("scheduler", "notifications", "--state", "failed", "--json",
                            *practice.args()).stdout) == []
    log = json.loads(vigil("audit", "log", "--action", "notification.resend", "--json", *practice.args()).stdout)
    assert [e["entity_id"] for e in log] == [nid]
    bad = vigil("scheduler", "notifications", "--state", "lost", *practice.args())
    assert bad.exit_code == 2 and "one of pending, sending, sent, failed, skipped" in said(bad.stderr)


def test_a_limited_list_says_how_many_more_there_are(practice: Practice) -> None:
    """The operations pass: with 97 failed, the list printed "50 notification(s)" and nothing of the rest."""
    engine = dbmod.make_engine(practice.url)
    with dbmod.unit_of_work(engine) as s:
        for key in ("test:first", "test:second"):
            notify.enqueue(s, org_id=ORG, key=key, kind="critical", persons=[], subject=f"[Vigil] {key}",
                           body="b", payload={}, policy=load_escalation().model_copy(
                               update={"webhook_url": "http://127.0.0.1:9/closed"}), channels=["webhook"])
    engine.dispose()
    table = said(vigil("scheduler", "notifications", "--limit", "1", *practice.args()).stdout)
    assert "1 of 2 notifications, newest first" in table and "1 older not shown: --limit 2" in table, table
    whole = said(vigil("scheduler", "notifications", *practice.args()).stdout)
    assert "2 notification(s)" in whole and "not shown" not in whole
