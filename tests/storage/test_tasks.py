"""SOP tasks on SQLite and PostgreSQL, with a controlled clock: findings become exactly one owned,
dated task; overdue tasks escalate step by step; completion is confirmed or undone by the next
evaluation; resolved, waived and false-positive findings close their task."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from engine import clock, pipeline
from engine.audit import service as audit
from engine.auth import service as auth
from engine.auth.schemas import UserIn
from engine.db import unit_of_work
from engine.errors import InputError, InvalidTransition
from engine.findings import lifecycle
from engine.findings.schemas import WaiverIn
from engine.tasks import escalation, notify
from engine.tasks import service as tasks
from engine.tasks.errors import TaskNotFound
from engine.tasks.schemas import Task, TaskFilter, TaskViewer
from engine.tasks.tables import TaskEscalationRow, TaskRow
from tests import factories as f

T = dt.datetime.fromisoformat
ORG = "clinic-a"
START = "2026-02-01T09:00:00-06:00"  # new hire in America/Chicago: training due 2026-03-03 (30 days, C1)


pytestmark = pytest.mark.usefixtures("fixture_rules_and_policies")


def _import(engine: Engine, records: list[dict]) -> None:
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test", stream=False)


def _evaluate(engine: Engine, as_of: str) -> pipeline.Evaluation:
    with clock.frozen(T(as_of)), unit_of_work(engine) as s:
        return pipeline.evaluate(s, org_id=ORG, as_of=T(as_of), actor="test")


def _tasks(engine: Engine) -> list[Task]:
    with unit_of_work(engine) as s:
        return tasks.list_tasks(s, org_id=ORG).items


def _only(engine: Engine) -> Task:
    items = _tasks(engine)
    assert len(items) == 1, items
    with unit_of_work(engine) as s:
        return tasks.get_task(s, org_id=ORG, task_id=items[0].id)


def _escalate(engine: Engine, at: str) -> dict[str, int]:
    with clock.frozen(T(at)), unit_of_work(engine) as s:
        return escalation.run_escalations(s, org_id=ORG, as_of=T(at))


def test_a_finding_opens_exactly_one_task_with_owner_and_due_date(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    first = _evaluate(engine, "2026-02-25T12:00:00+00:00")  # inside the 7-day warning window: due_soon
    second = _evaluate(engine, "2026-02-26T12:00:00+00:00")
    assert first.tasks is not None and first.tasks["created"] == 1
    assert second.tasks is not None and second.tasks["created"] == 0
    task = _only(engine)
    assert first.diff is not None and task.finding_id == first.diff.opened[0]
    assert (task.owner, task.owner_role, task.owner_via) == ("P-HR1", "hr_manager", "hr_manager@E1")
    assert task.due == dt.date(2026, 3, 3) and task.due_at == T("2026-03-04T06:00:00+00:00")  # end of local day
    assert task.title == "Train the new hire on episode EP1" and task.state == "open" and task.kind == "finding"
    assert [i.text for i in task.checklist] == [
        "Book the training for the person on episode EP1 before 2026-03-03.",
        "Record the training (`course`, `completed_at`) in the training system.",
        "Attach the certificate.",
    ]
    assert "Training for P1 due 2026-03-03" in task.body
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(TaskRow)) == 1
        assert audit.verify(s, org_id=ORG).ok


def test_owner_falls_back_to_the_compliance_officer_and_due_uses_the_default_window(engine: Engine) -> None:
    _import(engine, [f.establishment("E9"), f.access("AE1", "u1", "PT1", "2026-03-01T10:00:00-06:00", "export")])
    _evaluate(engine, "2026-03-02T03:00:00+00:00")  # 1 March, 21:00 in Chicago
    task = _only(engine)
    # SOP-DEMO's hr_manager has nobody at E9; an event finding has no deadline: 1 March + 5 days
    assert task.owner == "P-CO" and task.owner_via.startswith("fallback compliance_officer@")
    assert task.due == dt.date(2026, 3, 6)


def test_a_missed_due_date_escalates_step_by_step(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-02-25T12:00:00+00:00")
    assert _escalate(engine, "2026-03-04T05:59:00+00:00")["steps"] == 0  # 3 March 23:59 local: not late yet
    assert _escalate(engine, "2026-03-04T06:00:00+00:00")["steps"] == 1  # 4 March local: step 1, the owner
    assert _escalate(engine, "2026-03-04T18:00:00+00:00")["steps"] == 0  # same day again: nothing more
    assert _escalate(engine, "2026-03-05T18:00:00+00:00")["steps"] == 0
    assert _escalate(engine, "2026-03-06T18:00:00+00:00")["steps"] == 1  # manager
    assert _escalate(engine, "2026-03-08T18:00:00+00:00")["steps"] == 1  # compliance officer
    assert _escalate(engine, "2026-03-20T18:00:00+00:00")["steps"] == 0  # the chain is exhausted
    task = _only(engine)
    assert [(e.step, e.target, e.person, e.scheduled_for.isoformat()) for e in task.escalations] == [
        (0, "owner", "P-HR1", "2026-03-04"),
        (1, "practice_manager", "P-MGR", "2026-03-06"),
        (2, "compliance_officer", "P-CO", "2026-03-08"),
    ]
    assert task.escalation_level == 3 and task.overdue
    assert [h.kind for h in task.history].count("escalated") == 3
    with unit_of_work(engine) as s:
        sent = notify.list_notifications(s, org_id=ORG, key_prefix="escalation:")
    assert [(n.recipient, n.address, n.state) for n in sent] == [
        ("P-HR1", "hr1@test.invalid", "pending"), ("P-MGR", "mgr@test.invalid", "pending"),
        ("P-CO", "co@test.invalid", "pending")]


def test_completing_then_re_evaluating_reopens_until_the_finding_resolves(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    task = _only(engine)
    with clock.frozen(T("2026-03-05T13:00:00+00:00")), unit_of_work(engine) as s:
        tasks.complete_task(s, org_id=ORG, task_id=task.id, actor="user:hr1", note="booked")
    again = _evaluate(engine, "2026-03-05T14:00:00+00:00")  # nothing recorded yet: the finding is still there
    assert again.tasks is not None and again.tasks["reopened"] == 1
    task = _only(engine)
    assert task.state == "open" and task.cycle == 1
    assert "still present" in task.notes[-1].text and "still present" in (task.history[-1].reason or "")
    # which run, and that it read the records after the completion (a sweep waits for other writers,
    # so its as-of instant can come before a completion it has seen)
    assert f"in run {again.run.id}, which read the records at 2026-03-05 14:00:00 UTC, after the completion " \
           "(evaluated as of 2026-03-05 14:00:00 UTC)" in (task.history[-1].reason or "")  # type: ignore[union-attr]
    # open again, it is not completed (the history keeps who completed it and when)
    assert (task.completed_at, task.completed_by) == (None, None)
    assert [(h.kind, h.actor) for h in task.history if h.kind == "completed"] == [("completed", "user:hr1")]
    with clock.frozen(T("2026-03-06T13:00:00+00:00")), unit_of_work(engine) as s:
        tasks.complete_task(s, org_id=ORG, task_id=task.id, actor="user:hr1")
    _import(engine, [f.training("TR1", "P1", "2026-03-06T09:00:00-06:00")])
    done = _evaluate(engine, "2026-03-06T15:00:00+00:00")
    assert done.diff is not None and done.diff.resolved == [task.finding_id]
    assert done.tasks is not None and done.tasks["confirmed"] == 1
    task = _only(engine)
    assert task.state == "done" and task.confirmed_at is not None and task.completed_by == "user:hr1"
    later = _evaluate(engine, "2026-03-07T15:00:00+00:00")
    assert later.tasks is not None and sum(later.tasks.values()) == 0
    with pytest.raises(InvalidTransition), unit_of_work(engine) as s:
        tasks.complete_task(s, org_id=ORG, task_id=task.id, actor="user:hr1")


def test_a_resolved_waived_or_false_positive_finding_closes_its_task_with_the_reason(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START), f.episode("EP2", "P2", START),
                     f.episode("EP3", "P3", START)])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    by_subject = {t.title.rsplit(" ", 1)[-1]: t for t in _tasks(engine)}
    with clock.frozen(T("2026-03-05T13:00:00+00:00")), unit_of_work(engine) as s:
        lifecycle.waive(s, org_id=ORG, actor="officer", finding_id=by_subject["EP2"].finding_id,
                        data=WaiverIn(ends_at=T("2026-06-01T00:00:00+00:00"), reason="on leave", approver="CMO"))
        lifecycle.transition(s, org_id=ORG, finding_id=by_subject["EP3"].finding_id, action="false_positive",
                             actor="officer", reason="contractor")
    _import(engine, [f.training("TR1", "P1", "2026-03-05T07:00:00-06:00")])
    result = _evaluate(engine, "2026-03-05T14:00:00+00:00")
    assert result.tasks is not None and result.tasks["closed"] == 3
    with unit_of_work(engine) as s:
        closed = {k: tasks.get_task(s, org_id=ORG, task_id=t.id) for k, t in by_subject.items()}
    assert all(t.state == "closed" for t in closed.values())
    assert closed["EP1"].close_reason is not None and closed["EP1"].close_reason.startswith("finding resolved")
    assert "on leave" in (closed["EP2"].close_reason or "") and "contractor" in (closed["EP3"].close_reason or "")


def test_staff_see_and_act_on_their_own_tasks_only(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.establishment("E2"), f.episode("EP1", "P1", START),
                     f.episode("EP2", "P2", START, est="E2")])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    hr1 = TaskViewer(actor="user:hr1", owners=frozenset({"P-HR1", "hr1"}))
    with unit_of_work(engine) as s:
        mine = tasks.list_tasks(s, org_id=ORG, viewer=hr1).items
        everyone = tasks.list_tasks(s, org_id=ORG).items
        other = next(t for t in everyone if t.owner == "P-HR2")
        with pytest.raises(TaskNotFound):
            tasks.get_task(s, org_id=ORG, task_id=other.id, viewer=hr1)
        with pytest.raises(TaskNotFound):
            tasks.complete_task(s, org_id=ORG, task_id=other.id, actor="user:hr1", viewer=hr1)
        overdue = tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(overdue=True, owner="P-HR2")).items
    assert [t.owner for t in mine] == ["P-HR1"] and len(everyone) == 2 and [t.id for t in overdue] == [other.id]


def test_a_staff_viewers_filters_are_judged_on_their_own_tasks_and_reveal_nothing_else(engine: Engine) -> None:
    """Probe: as staff, `owner=admin` answered an empty list and `owner=zzz` "not a user": the 422
    told staff which accounts, people and findings exist. Now the answer is the same for another
    person as for no one, and for another's finding as for no finding."""
    _import(engine, [f.establishment(), f.establishment("E2"), f.episode("EP1", "P1", START),
                     f.episode("EP2", "P2", START, est="E2")])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    hr1 = TaskViewer(actor="user:hr1", owners=frozenset({"P-HR1", "hr1"}))
    with unit_of_work(engine) as s:
        auth.create_user(s, org_id=ORG, actor="test", data=UserIn(username="hr1", password="hr1-password!",
                                                                  role="staff", person_id="P-HR1"))
    with unit_of_work(engine) as s:
        everyone = tasks.list_tasks(s, org_id=ORG).items
        mine = next(t for t in everyone if t.owner == "P-HR1")
        other = next(t for t in everyone if t.owner == "P-HR2")

        def refused(**filters: str) -> list[str]:
            with pytest.raises(InputError) as caught:
                tasks.list_tasks(s, org_id=ORG, viewer=hr1, filters=TaskFilter(**filters))
            return [d.reason for d in caught.value.details]

        assert refused(owner="P-HR2")[0].removeprefix("'P-HR2'") == refused(owner="P-NOBODY")[0].removeprefix(
            "'P-NOBODY'") == " is not you: you see your own tasks only"
        assert refused(finding_id=other.finding_id)[0].endswith(" is not on any of your tasks")
        assert refused(finding_id="F-nothing")[0].endswith(" is not on any of your tasks")
        assert tasks.list_tasks(s, org_id=ORG, viewer=hr1, filters=TaskFilter(establishment_id="E2")).items == []
        assert refused(establishment_id="E9")[0] == "'E9' is not an establishment of this organization"
        for filters in ({"owner": "hr1"}, {"owner": "P-HR1"}, {"finding_id": mine.finding_id or ""},
                        {"establishment_id": "E1"}):
            assert [t.id for t in tasks.list_tasks(s, org_id=ORG, viewer=hr1, filters=TaskFilter(**filters)).items] \
                == [mine.id], filters
        # a manager is still answered from the whole practice
        assert [t.id for t in tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(owner="P-HR2")).items] == [other.id]


def test_escalation_restarts_after_a_reopen(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")  # opened already overdue: owner hears first, on the day
    assert _escalate(engine, "2026-03-05T13:00:00+00:00")["steps"] == 1
    task = _only(engine)
    with clock.frozen(T("2026-03-05T14:00:00+00:00")), unit_of_work(engine) as s:
        tasks.complete_task(s, org_id=ORG, task_id=task.id, actor="user:hr1")
    _evaluate(engine, "2026-03-06T12:00:00+00:00")
    assert _escalate(engine, "2026-03-06T13:00:00+00:00")["steps"] == 1  # cycle 1, step 1 again
    with unit_of_work(engine) as s:
        rows = s.execute(select(TaskEscalationRow.cycle, TaskEscalationRow.step)
                         .order_by(TaskEscalationRow.cycle, TaskEscalationRow.step)).all()
    assert [tuple(r) for r in rows] == [(0, 0), (1, 0)]


def test_a_task_reopened_before_the_completion_was_cleared_shows_none(engine: Engine) -> None:
    """A task reopened by an earlier Vigil kept its completion on the row: shown only on a done task."""
    from sqlalchemy import update

    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    task = _only(engine)
    with unit_of_work(engine) as s:
        s.execute(update(TaskRow).where(TaskRow.id == task.id).values(
            completed_at=T("2026-03-05T13:00:00+00:00"), completed_by="user:hr1"))
    shown = _only(engine)
    assert (shown.state, shown.completed_at, shown.completed_by) == ("open", None, None)


def test_the_packet_builder_sees_tasks_and_evidence_as_they_stood(engine: Engine) -> None:
    import io

    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    task = _only(engine)
    with clock.frozen(T("2026-03-05T13:00:00+00:00")), unit_of_work(engine) as s:
        tasks.attach_evidence(s, org_id=ORG, task_id=task.id, actor="user:hr1", stream=io.BytesIO(b"%PDF-1.4 x"),
                              filename="cert.pdf")
    with clock.frozen(T("2026-03-05T14:00:00+00:00")), unit_of_work(engine) as s:
        tasks.complete_task(s, org_id=ORG, task_id=task.id, actor="user:hr1")
    assert task.finding_id is not None
    with unit_of_work(engine) as s:
        before = tasks.tasks_for_packet(s, org_id=ORG, finding_ids=[task.finding_id],
                                        known_at=T("2026-03-05T12:30:00+00:00"))
        after = tasks.tasks_for_packet(s, org_id=ORG, finding_ids=[task.finding_id],
                                       known_at=T("2026-03-05T15:00:00+00:00"))
        none = tasks.tasks_for_packet(s, org_id=ORG, finding_ids=[task.finding_id],
                                      known_at=T("2026-03-05T11:00:00+00:00"))
    assert none == []
    assert (before[0]["state"], before[0]["evidence"], before[0]["completed_at"]) == ("open", [], None)
    assert after[0]["state"] == "done" and after[0]["completed_at"] == T("2026-03-05T14:00:00+00:00")
    ev = after[0]["evidence"][0]
    assert ev["media_type"] == "application/pdf" and ev["size"] == 10 and ev["name"] == "cert.pdf"
    with tasks.open_evidence(ev["sha256"]) as fh:
        assert fh.read() == b"%PDF-1.4 x"
    # overdue when done: the completion is late, and stays on record once the next run reopens the task
    assert after[0]["completed_late"] == 1 and before[0]["completed_late"] == 0
    assert [(h["to_state"], h["actor"]) for h in after[0]["history"] if h["to_state"]][-1] == ("done", "user:hr1")
    with unit_of_work(engine) as s:
        packet = tasks.packet_tasks(s, org_id=ORG, finding_ids=[task.finding_id])
    assert packet[0].state == "done" and packet[0].evidence[0].sha256 == ev["sha256"]
    with packet[0].evidence[0].open() as fh:
        assert fh.read() == b"%PDF-1.4 x"
    _evaluate(engine, "2026-03-06T12:00:00+00:00")  # the finding persists: the task is reopened
    with unit_of_work(engine) as s:
        later = tasks.tasks_for_packet(s, org_id=ORG, finding_ids=[task.finding_id],
                                       known_at=T("2026-03-07T00:00:00+00:00"))
    assert (later[0]["state"], later[0]["completed_at"], later[0]["completed_late"]) == ("open", None, 1)
    assert [h["to_state"] for h in later[0]["history"] if h["to_state"]][-2:] == ["done", "open"]
    # completed again: a packet as at the first completion still shows that one (the task's own
    # column holds only the latest, and had hidden the first as "not completed by then")
    with clock.frozen(T("2026-03-08T10:00:00+00:00")), unit_of_work(engine) as s:
        tasks.complete_task(s, org_id=ORG, task_id=task.id, actor="user:hr2")
    with unit_of_work(engine) as s:
        first, second = (tasks.tasks_for_packet(s, org_id=ORG, finding_ids=[task.finding_id], known_at=T(at))[0]
                         for at in ("2026-03-05T15:00:00+00:00", "2026-03-09T00:00:00+00:00"))
    assert (first["state"], first["completed_at"]) == ("done", T("2026-03-05T14:00:00+00:00"))
    assert (second["state"], second["completed_at"]) == ("done", T("2026-03-08T10:00:00+00:00"))


def test_the_packet_builder_sees_the_assignee_and_due_a_task_had_then(engine: Engine) -> None:
    """A packet as of 25 February named the task's owner and due of the day it was built: an
    auditor read a reassignment and a moved deadline into a day before either happened."""
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START),
                     {"type": "person", "id": "P9", "first_name": "Dana", "last_name": "Lee"}])
    _evaluate(engine, "2026-02-25T12:00:00+00:00")  # due soon: due 2026-03-03
    task = _only(engine)
    first_owner = task.owner
    with clock.frozen(T("2026-02-26T12:00:00+00:00")), unit_of_work(engine) as s:
        tasks.reassign_task(s, org_id=ORG, task_id=task.id, owner="P9", actor="officer")
    _import(engine, [f.episode("EP1", "P1", "2026-02-10T09:00:00-06:00")])  # the start was wrong: due 12 March
    _evaluate(engine, "2026-03-06T12:00:00+00:00")  # still open, due soon again
    assert (_only(engine).state, _only(engine).owner, _only(engine).due) == ("open", "P9", dt.date(2026, 3, 12))

    def as_of(instant: str) -> dict:
        with unit_of_work(engine) as s:
            return tasks.tasks_for_packet(s, org_id=ORG, finding_ids=[task.finding_id or ""], known_at=T(instant))[0]

    then, between, now = (as_of("2026-02-25T13:00:00+00:00"), as_of("2026-02-26T13:00:00+00:00"),
                          as_of("2026-03-07T00:00:00+00:00"))
    assert first_owner != "P9"
    assert (then["assignee"], then["due"]) == (first_owner, "2026-03-03")
    assert (between["assignee"], between["due"]) == ("P9", "2026-03-03")
    assert (now["assignee"], now["due"]) == ("P9", "2026-03-12")
    assert then["due_at"] < now["due_at"]


def test_an_escalation_check_closes_rather_than_chases_a_task_whose_finding_was_waived(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-02-25T12:00:00+00:00")
    task = _only(engine)
    with clock.frozen(T("2026-03-04T12:00:00+00:00")), unit_of_work(engine) as s:
        lifecycle.waive(s, org_id=ORG, actor="officer", finding_id=task.finding_id,
                        data=WaiverIn(ends_at=T("2026-06-01T00:00:00+00:00"), reason="on leave", approver="CMO"))
    assert _escalate(engine, "2026-03-04T15:00:00+00:00") == {"steps": 0, "notifications": 0, "closed": 1,
                                                              "handed_over": 0, "to_nobody": 0}
    task = _only(engine)
    assert task.state == "closed" and task.escalations == [] and "on leave" in (task.close_reason or "")


def test_a_completion_with_steps_unticked_says_which(engine: Engine) -> None:
    """Probe 15: a task completed with 1 of 3 steps ticked read as complete to an auditor."""
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    task = _only(engine)
    with clock.frozen(T("2026-03-05T13:00:00+00:00")), unit_of_work(engine) as s:
        tasks.check_item(s, org_id=ORG, task_id=task.id, step=2, actor="user:hr1")
        tasks.complete_task(s, org_id=ORG, task_id=task.id, actor="user:hr1", note="booked by phone")
    with unit_of_work(engine) as s:
        done = tasks.tasks_for_packet(s, org_id=ORG, finding_ids=[task.finding_id or ""],
                                      known_at=T("2026-03-05T14:00:00+00:00"))[0]
        entry = audit.list_entries(s, org_id=ORG, limit=1)[0]
    assert done["history"][-1]["reason"] == "booked by phone [with 2 of 3 checklist steps unticked: 1, 3]"
    assert entry.action == "task.complete" and entry.payload["unticked_steps"] == [1, 3]


def test_an_owner_filter_finds_a_persons_tasks_by_username_or_person_id(engine: Engine) -> None:
    """Probe: `owner=staff` found nothing although user staff (person P-0001) owned 18 tasks. A task
    given to the username (a reassignment may) is found by the person id too."""
    _import(engine, [f.establishment(), f.establishment("E2"), f.episode("EP1", "P1", START),
                     f.episode("EP2", "P2", START, est="E2"), f.episode("EP3", "P3", START)])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    with unit_of_work(engine) as s:
        auth.create_user(s, org_id=ORG, actor="test", data=UserIn(username="hr1", password="hr1-password!",
                                                                  role="staff", person_id="P-HR1"))
        by_person = tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(owner="P-HR1")).items
        given = next(t for t in tasks.list_tasks(s, org_id=ORG).items if t.owner == "P-HR2")
        tasks.reassign_task(s, org_id=ORG, task_id=given.id, owner="hr1", actor="user:officer")
    with unit_of_work(engine) as s:
        def owned(owner: str) -> list[tuple[str, str | None]]:
            return [(t.id, t.owner) for t in tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(owner=owner)).items]

        mine = owned("hr1")
        assert len(by_person) == 2 and mine == owned("P-HR1") == owned("hr1,P-HR1")
        assert sorted(mine) == sorted([(t.id, "P-HR1") for t in by_person] + [(given.id, "hr1")])
        assert owned("P-HR2") == []


def test_an_attachments_name_keeps_no_control_character(engine: Engine, tmp_path: Path) -> None:
    """Injection probe: an evidence file named "\\x1b[2Jesc.txt" cleared the terminal of whoever ran
    `vigil tasks show`; the name is a label, so the control character becomes '_'."""
    import io

    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    task = _only(engine)
    with clock.frozen(T("2026-03-05T13:00:00+00:00")), unit_of_work(engine) as s:
        kept = tasks.attach_evidence(s, org_id=ORG, task_id=task.id, actor="user:hr1", root=tmp_path,
                                     stream=io.BytesIO(b"plain text"), filename="\x1b[2Jesc\u202etxt.pdf")
    assert kept.filename == "_[2Jesc_txt.pdf"


def test_tasks_page_back_as_findings_do(engine: Engine) -> None:
    """The docs probe: docs/api.md promises `prev_cursor` on lists, and GET /tasks had none, so a
    client paging forward had no way back."""
    _import(engine, [f.establishment()] + [f.episode(f"EP{i}", f"P{i}", START) for i in range(5)])
    _evaluate(engine, "2026-02-25T12:00:00+00:00")
    with unit_of_work(engine) as s:
        every = [t.id for t in tasks.list_tasks(s, org_id=ORG).items]
        first = tasks.list_tasks(s, org_id=ORG, limit=2)
        second = tasks.list_tasks(s, org_id=ORG, limit=2, cursor=first.next_cursor)
        third = tasks.list_tasks(s, org_id=ORG, limit=2, cursor=second.next_cursor)
        back = tasks.list_tasks(s, org_id=ORG, limit=2, cursor=third.prev_cursor)
    assert len(every) == 5 and not first.has_prev
    assert [t.id for t in first.items + second.items + third.items] == every
    assert second.has_prev and second.prev_cursor is None  # the page before it is the first: no cursor
    assert third.has_prev and [t.id for t in back.items] == [t.id for t in second.items]
