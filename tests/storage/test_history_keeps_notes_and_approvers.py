"""Nothing of a record's life is missing from its history: a note added to a task is a history entry
(who, when, what) that the task and the evidence packet show, and a finding's waived entry names the
waiver's approver and its period, not only who granted it and why."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.findings import lifecycle
from engine.findings import service as findings
from engine.findings.schemas import WaiverIn
from engine.tasks import service as tasks
from tests import factories as f

T = dt.datetime.fromisoformat
ORG = "clinic-history"
START = "2026-02-01T09:00:00-06:00"


pytestmark = pytest.mark.usefixtures("fixture_rules_and_policies")


def _one_task(engine: Engine) -> str:
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.establishment(), f.episode("EP1", "P1", START)],
                                actor="test", source="test", stream=False)
    with clock.frozen(T("2026-02-25T12:00:00+00:00")), unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id=ORG, as_of=T("2026-02-25T12:00:00+00:00"), actor="test")
    with unit_of_work(engine) as s:
        (task,) = tasks.list_tasks(s, org_id=ORG).items
    return task.id


def test_a_note_on_a_task_is_an_entry_of_its_history_and_of_the_packets(engine: Engine) -> None:
    task_id = _one_task(engine)
    noted = T("2026-02-26T15:00:00+00:00")
    with clock.frozen(noted), unit_of_work(engine) as s:
        tasks.add_note(s, org_id=ORG, task_id=task_id, actor="user:hr1", text="called the trainer, booked 3 March")
    with unit_of_work(engine) as s:
        task = tasks.get_task(s, org_id=ORG, task_id=task_id)
        assert task.finding_id is not None
        packet = tasks.tasks_for_packet(s, org_id=ORG, finding_ids=[task.finding_id],
                                        known_at=T("2026-02-27T00:00:00+00:00"))
        before = tasks.tasks_for_packet(s, org_id=ORG, finding_ids=[task.finding_id],
                                        known_at=noted - dt.timedelta(seconds=1))
    (entry,) = [h for h in task.history if h.kind == "note"]
    assert (entry.actor, entry.at, entry.reason) == ("user:hr1", noted, "called the trainer, booked 3 March")
    assert [n.text for n in task.notes] == ["called the trainer, booked 3 March"]  # the notes list is as it was
    assert task.updated_at == noted
    (said,) = [h for h in packet[0]["history"] if h["kind"] == "note"]
    assert (said["actor"], said["at"], said["reason"]) == (
        "user:hr1", noted.isoformat(), "called the trainer, booked 3 March")
    assert [h for h in before[0]["history"] if h["kind"] == "note"] == []  # a packet of earlier has none


def test_a_waived_entry_of_a_findings_history_names_the_approver_and_the_period(engine: Engine) -> None:
    task_id = _one_task(engine)
    with unit_of_work(engine) as s:
        finding_id = tasks.get_task(s, org_id=ORG, task_id=task_id).finding_id
    assert finding_id is not None
    granted = T("2026-02-26T15:00:00+00:00")
    with clock.frozen(granted), unit_of_work(engine) as s:
        waiver = lifecycle.waive(s, org_id=ORG, actor="officer", finding_id=finding_id, data=WaiverIn(
            ends_at=T("2026-06-01T00:00:00+00:00"), reason="on leave", approver="Dr. Ames (CMO)"))
    with unit_of_work(engine) as s:
        finding = findings.get_finding(s, org_id=ORG, finding_id=finding_id)
    (waived,) = [h for h in finding.history if h.to_state == "waived"]
    assert waived.actor == "officer"
    assert waived.reason == (f"waiver {waiver.id} from 2026-02-26T15:00:00+00:00 through 2026-05-31 (UTC), "
                             "approved by Dr. Ames (CMO): on leave")
    assert (waived.reason or "").split()[1] == waiver.id  # the packet still finds the waiver by its id


def test_a_waiver_starting_on_a_later_day_names_that_day(engine: Engine) -> None:
    task_id = _one_task(engine)
    with unit_of_work(engine) as s:
        finding_id = tasks.get_task(s, org_id=ORG, task_id=task_id).finding_id
    assert finding_id is not None
    with clock.frozen(T("2026-02-26T15:00:00+00:00")), unit_of_work(engine) as s:
        waiver = lifecycle.waive(s, org_id=ORG, actor="officer", finding_id=finding_id, data=WaiverIn(
            starts_at=T("2026-03-01T00:00:00+00:00"), ends_at=T("2026-06-01T00:00:00+00:00"),
            reason="on leave", approver="CMO"))
    with clock.frozen(T("2026-03-01T12:00:00+00:00")), unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id=ORG, as_of=T("2026-03-01T12:00:00+00:00"), actor="test")
    with unit_of_work(engine) as s:
        finding = findings.get_finding(s, org_id=ORG, finding_id=finding_id)
    (waived,) = [h for h in finding.history if h.to_state == "waived"]
    assert waived.reason == f"waiver {waiver.id} from 2026-03-01 through 2026-05-31 (UTC), approved by CMO: on leave"
