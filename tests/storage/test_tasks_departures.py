"""Nobody who has left the practice is given work, and an escalation that reaches no one says so.

Found by a task-assignee black-box pass: a safety lead whose employment had ended went on owning the
site's new tasks and receiving "escalated to you" mail, `tasks assign` gave them more without a
word, and with no compliance officer named the chain was recorded as climbed ("-> owner (nobody)")
with no one told.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.errors import InputError
from engine.tasks import escalation
from engine.tasks import notify as tasks_notify
from engine.tasks import service as tasks
from engine.tasks.policy import load_escalation
from engine.tasks.schemas import Task
from engine.tasks.tables import NotificationRow, TaskEscalationRow
from tests import factories as f
from tests.storage.test_tasks import ORG, START, T, _evaluate, _import

# START: a new hire's training due 2026-03-03 in Chicago; the SOP's role is hr_manager (P-HR1 at E1)

pytestmark = pytest.mark.usefixtures("fixture_rules_and_policies")


def _task(engine: Engine) -> Task:
    """The task of P1's new-hire training (episode EP1)."""
    with unit_of_work(engine) as s:
        (item,) = [t for t in tasks.list_tasks(s, org_id=ORG).items if t.title.endswith("episode EP1")]
        return tasks.get_task(s, org_id=ORG, task_id=item.id)


def test_a_role_holder_who_has_left_is_passed_over_for_the_fallback(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START),
                     f.episode("EP-HR1", "P-HR1", "2024-01-02T09:00:00-06:00", "2026-01-31T17:00:00-06:00")])
    _evaluate(engine, "2026-02-25T12:00:00+00:00")
    task = _task(engine)
    assert task.owner == "P-CO"
    assert task.owner_via == "fallback compliance_officer@E1 (hr_manager P-HR1 left on 2026-01-31)"


def test_a_rehire_or_an_episode_still_running_keeps_the_role(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START),
                     f.episode("EP-HR1", "P-HR1", "2024-01-02T09:00:00-06:00", "2025-06-30T17:00:00-05:00"),
                     f.episode("EP-HR1b", "P-HR1", "2025-09-01T09:00:00-05:00")])
    _evaluate(engine, "2026-02-25T12:00:00+00:00")
    assert (_task(engine).owner, _task(engine).owner_via) == ("P-HR1", "hr_manager@E1")


def test_open_tasks_of_someone_who_leaves_go_to_who_holds_the_role_now(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START),
                     f.episode("EP-HR1", "P-HR1", "2024-01-02T09:00:00-06:00")])
    _evaluate(engine, "2026-02-25T12:00:00+00:00")
    assert _task(engine).owner == "P-HR1"
    _import(engine, [f.episode("EP-HR1", "P-HR1", "2024-01-02T09:00:00-06:00", "2026-02-26T17:00:00-06:00")])
    assert _evaluate(engine, "2026-02-26T22:00:00+00:00").tasks["handed_over"] == 0  # 16:00: still there
    run = _evaluate(engine, "2026-02-27T12:00:00+00:00")
    assert run.tasks is not None and run.tasks["handed_over"] == 1
    task = _task(engine)
    assert task.owner == "P-CO" and task.owner_via.startswith("fallback compliance_officer@E1 (hr_manager P-HR1 left")
    moved = [h for h in task.history if h.kind == "reassigned"]
    assert len(moved) == 1 and moved[0].reason is not None and moved[0].reason.startswith(
        "P-HR1 -> P-CO: P-HR1 left on 2026-02-26")
    assert _evaluate(engine, "2026-02-28T12:00:00+00:00").tasks["handed_over"] == 0  # once


def test_work_given_by_hand_to_someone_who_has_left_is_refused(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START),
                     {"type": "person", "id": "P-OLD", "first_name": "Old", "last_name": "Hand"},
                     f.episode("EP-OLD", "P-OLD", "2024-01-02T09:00:00-06:00", "2026-01-31T17:00:00-06:00")])
    run = _evaluate(engine, "2026-02-25T12:00:00+00:00")
    task = _task(engine)
    with clock.frozen(T("2026-02-25T13:00:00+00:00")), unit_of_work(engine) as s:
        with pytest.raises(InputError) as refused:
            tasks.reassign_task(s, org_id=ORG, task_id=task.id, owner="P-OLD", actor="user:officer")
        assert "P-OLD left on 2026-01-31" in str(refused.value.details[0].reason)
        assert run.diff is not None
        with pytest.raises(InputError) as refused:
            pipeline.assign_finding(s, org_id=ORG, finding_id=run.diff.opened[0], actor="user:officer",
                                    assignee="P-OLD")
        assert "left on 2026-01-31" in str(refused.value.details[0].reason)
    assert _task(engine).owner == "P-HR1"


@pytest.fixture
def nobody_policies(fixture_rules_and_policies: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test policies with roles.yaml naming only a practice manager: no hr_manager, no officer."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "policies"
    mine = tmp_path / "policies"
    shutil.copytree(fixtures, mine)
    (mine / "roles.yaml").write_text("fallback_role: compliance_officer\nroles:\n  practice_manager: {'*': P-MGR}\n")
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(mine))


@pytest.mark.usefixtures("nobody_policies")
def test_an_escalation_step_to_nobody_is_not_taken_and_is_named(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-02-25T12:00:00+00:00")
    task = _task(engine)
    assert task.owner is None
    with clock.frozen(T("2026-03-06T18:00:00+00:00")), unit_of_work(engine) as s:
        counts = escalation.run_escalations(s, org_id=ORG, as_of=clock.now())
    # the owner's step and the officer's reach no one; the practice manager's is taken
    assert counts["steps"] == 1 and counts["to_nobody"] == 1
    assert counts["warnings"] == [
        f"1 escalation step(s) of overdue tasks ({task.id}) have nobody to go to: the task has no owner "
        "(unassigned (hr_manager and compliance_officer have nobody at E1))"]
    with unit_of_work(engine) as s:
        taken = s.execute(select(TaskEscalationRow.step, TaskEscalationRow.person)
                          .where(TaskEscalationRow.task_id == task.id)).all()
    assert [tuple(row) for row in taken] == [(1, "P-MGR")]


def test_a_task_handed_on_after_its_chain_is_chased_again_and_a_same_owner_assign_writes_nothing(
        engine: Engine) -> None:
    """Probe (session 42): a task given to someone else after its third step stayed at level 3 and
    was never chased again; giving a task to its own owner wrote a history row and an audit entry."""
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-02-25T12:00:00+00:00")
    for day in ("2026-03-04", "2026-03-06", "2026-03-08"):
        with clock.frozen(T(f"{day}T18:00:00+00:00")), unit_of_work(engine) as s:
            escalation.run_escalations(s, org_id=ORG, as_of=clock.now())
    task = _task(engine)
    assert task.escalation_level == 3
    with clock.frozen(T("2026-03-09T15:00:00+00:00")), unit_of_work(engine) as s:
        same = tasks.reassign_task(s, org_id=ORG, task_id=task.id, owner="P-HR1", actor="user:officer")
        assert len(same.history) == len(task.history)
        moved = tasks.reassign_task(s, org_id=ORG, task_id=task.id, owner="P-MGR", actor="user:officer")
    assert (moved.escalation_level, moved.cycle) == (0, 1)
    assert moved.history[-1].reason == "P-HR1 -> P-MGR; escalation starts over with the new owner"
    # the chain climbs again from the handover: the new owner is told at once, their manager two days on
    for day, steps in (("2026-03-09", 1), ("2026-03-10", 0), ("2026-03-11", 1)):
        with clock.frozen(T(f"{day}T18:00:00+00:00")), unit_of_work(engine) as s:
            assert escalation.run_escalations(s, org_id=ORG, as_of=clock.now())["steps"] == steps, day
    assert [(e.step, e.person) for e in _task(engine).escalations if e.cycle == 1] == [(0, "P-MGR"), (1, "P-MGR")]
    with unit_of_work(engine) as s:  # P-MGR, owner and manager both, is mailed once for the cycle
        mails = s.scalars(select(NotificationRow.key).where(
            NotificationRow.recipient == "P-MGR", NotificationRow.channel == "email",
            NotificationRow.key.contains(f"{task.id}:1:"))).all()
    assert mails == [f"escalation:{task.id}:1:0"], mails


def test_a_role_holder_named_by_username_has_left_when_their_person_has(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 48's scheduler pass: roles.yaml naming a holder by username (`hrlead`, P-HR1's
    account) went on giving them the site's work after P-HR1 left; `tasks roles` said they had."""
    from engine.auth import service as auth
    from engine.auth.schemas import UserIn

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "policies"
    mine = tmp_path / "policies"
    shutil.copytree(fixtures, mine)
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START),
                     f.episode("EP-HR1", "P-HR1", "2024-01-02T09:00:00-06:00", "2026-01-31T17:00:00-06:00")])
    with unit_of_work(engine) as s:  # the account first, then roles.yaml names it (as a practice would)
        auth.create_user(s, org_id=ORG, actor="t", data=UserIn(username="hrlead", password="hr-lead-password",
                                                                role="staff", person_id="P-HR1"))
    roles = (mine / "roles.yaml").read_text().replace("hr_manager: {E1: P-HR1", "hr_manager: {E1: hrlead")
    (mine / "roles.yaml").write_text(roles)
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(mine))
    _evaluate(engine, "2026-02-25T12:00:00+00:00")
    task = _task(engine)
    assert task.owner == "P-CO"
    assert task.owner_via == "fallback compliance_officer@E1 (hr_manager hrlead left on 2026-01-31)"


def test_when_the_fallback_holder_has_left_too_the_evaluation_says_so_and_nobody_gone_is_told(
        engine: Engine) -> None:
    """Session 48's scheduler pass: with the compliance officer (the fallback role) gone, new tasks
    opened unowned with no warning, and the departed owner of an overdue task was still sent
    "escalated to you", a critical alert and a daily digest."""
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START),
                     f.episode("EP-HR1", "P-HR1", "2024-01-02T09:00:00-06:00")])
    _evaluate(engine, "2026-02-25T12:00:00+00:00")
    task = _task(engine)
    assert task.owner == "P-HR1"
    _import(engine, [f.episode("EP-HR1", "P-HR1", "2024-01-02T09:00:00-06:00", "2026-03-01T17:00:00-06:00"),
                     f.episode("EP-CO", "P-CO", "2024-01-02T09:00:00-06:00", "2026-03-01T17:00:00-06:00")])
    run = _evaluate(engine, "2026-03-05T12:00:00+00:00")
    assert any("only to people who have left (P-CO left on 2026-03-01" in w for w in run.warnings), run.warnings
    assert _task(engine).owner == "P-HR1"  # nobody present to hand it to
    with clock.frozen(T("2026-03-06T18:00:00+00:00")), unit_of_work(engine) as s:
        counts = escalation.run_escalations(s, org_id=ORG, as_of=clock.now())
        digests = tasks_notify.send_digests(s, org_id=ORG, as_of=T("2026-03-06T15:00:00+00:00"),
                                            policy=load_escalation())
    assert any("the task's owner P-HR1 left on 2026-03-01" in w for w in counts["warnings"]), counts
    with unit_of_work(engine) as s:
        told = {r.recipient for r in s.scalars(select(NotificationRow))}
        taken = s.execute(select(TaskEscalationRow.step, TaskEscalationRow.person)
                          .where(TaskEscalationRow.task_id == task.id)).all()
    assert "P-HR1" not in told and "P-CO" not in told and digests == 0, told
    assert all(person != "P-HR1" for _, person in taken)


def test_a_digest_comes_in_the_hours_of_where_its_reader_works(engine: Engine) -> None:
    """Session 48's scheduler pass: a Honolulu front desk given one Chicago task had been mailed its
    digest at 03:00 Honolulu time, the hours being the soonest task's site's, not the reader's."""
    _import(engine, [f.establishment(), f.establishment("E-HNL", tz="Pacific/Honolulu", state="HI"),
                     f.episode("EP1", "P1", START),
                     {"type": "person", "id": "P-HNL", "first_name": "Kai", "last_name": "Kahale"},
                     f.episode("EP-HNL", "P-HNL", "2024-01-02T09:00:00-10:00", est="E-HNL")])
    _evaluate(engine, "2026-02-25T12:00:00+00:00")
    with clock.frozen(T("2026-02-25T12:00:00+00:00")), unit_of_work(engine) as s:
        tasks.reassign_task(s, org_id=ORG, task_id=_task(engine).id, owner="P-HNL", actor="user:officer")
    policy = load_escalation()
    hours = {}
    for at in ("2026-02-26T15:00:00+00:00", "2026-02-26T18:00:00+00:00"):  # 09:00 Chicago = 05:00 Honolulu
        with unit_of_work(engine) as s:
            tasks_notify.send_digests(s, org_id=ORG, as_of=T(at), policy=policy)
            hours[at] = sorted({r.recipient for r in s.scalars(select(NotificationRow).where(
                NotificationRow.kind == "digest", NotificationRow.recipient == "P-HNL"))})
    assert policy.digest_hour == 7  # the test policy's: 05:00 in Honolulu is before it, 08:00 after
    assert hours == {"2026-02-26T15:00:00+00:00": [], "2026-02-26T18:00:00+00:00": ["P-HNL"]}, hours


def test_the_day_someone_left_is_the_day_where_they_worked(engine: Engine) -> None:
    """Session 48's scheduler pass: an episode ended at 20:00 on 31 January in Chicago (02:00 UTC on
    1 February) had read "left on 2026-02-01", the UTC day (C7: local dates per establishment)."""
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START),
                     f.episode("EP-HR1", "P-HR1", "2024-01-02T09:00:00-06:00", "2026-01-31T20:00:00-06:00")])
    _evaluate(engine, "2026-02-25T12:00:00+00:00")
    assert _task(engine).owner_via == "fallback compliance_officer@E1 (hr_manager P-HR1 left on 2026-01-31)"
