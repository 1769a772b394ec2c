"""Writers of one organization at once, in the orders the concurrency probe found harmful: each
change reads what it changes only once the other writers are done, and none deadlocks another."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, select

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.errors import InvalidTransition
from engine.findings import lifecycle
from engine.findings import service as findings_service
from engine.findings.tables import FindingRow
from engine.tasks import escalation
from engine.tasks import service as tasks
from engine.tasks.tables import TaskRow
from tests import factories as f
from tests.concurrency import Pause, in_thread, until_waiting

AS_OF = dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC)  # two new hires' training due 2026-03-03: overdue
ORG = "clinic-a"
START = "2026-02-01T09:00:00-06:00"


pytestmark = pytest.mark.usefixtures("fixture_rules_and_policies")


def _import(s: Any, records: list[dict[str, Any]]) -> None:
    pipeline.ingest_records(s, org_id=ORG, records=records, actor="t", source="t", stream=False)


def _open(engine: Engine) -> dict[str, str]:
    with unit_of_work(engine) as s:
        return {r.subject_id: r.state for r in s.scalars(select(FindingRow))}


def test_an_evaluation_begun_before_an_import_committed_judges_the_imported_records(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new hire imported and evaluated in one transaction (`vigil evaluate FILES --db`) while an
    officer's evaluation read the records: that one waited for the first to commit, then resolved
    the new hire's findings, which it had never seen, and closed their tasks."""
    with unit_of_work(engine) as s:
        _import(s, [f.establishment()])
    pause = Pause("import")
    monkeypatch.setattr(findings_service, "record_run", pause.around(findings_service.record_run))
    errors: list[BaseException] = []
    out: dict[str, Any] = {}

    def import_and_evaluate(s: Any) -> Any:
        _import(s, [f.episode("EP1", "P1", START)])
        return pipeline.evaluate(s, org_id=ORG, as_of=AS_OF, actor="cli:evaluate")

    with clock.frozen(AS_OF):
        first = in_thread(engine, "import", import_and_evaluate, errors, out)
        assert pause.reached.wait(20)
        second = in_thread(engine, "officer", lambda s: pipeline.evaluate(s, org_id=ORG, as_of=AS_OF, actor="o"),
                           errors, out)
        until_waiting(engine, second)  # it has read the records without EP1 and waits to write
        pause.go()
        first.join(30)
        second.join(30)
    assert errors == []
    assert out["import"].diff.opened and out["officer"].diff.resolved == []
    assert _open(engine) == {"EP1": "open"}


def test_an_acknowledgement_beside_a_sweep_that_resolves_the_finding_is_refused(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The officer's page read the finding open; a sweep resolved it (training recorded) while the
    acknowledgement waited for the audit trail's lock, and the acknowledgement was then written over
    the resolution: a resolved finding shown acknowledged."""
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        _import(s, [f.establishment(), f.episode("EP1", "P1", START)])
        (finding,) = pipeline.evaluate(s, org_id=ORG, as_of=AS_OF, actor="t").diff.opened  # type: ignore[union-attr]
    with unit_of_work(engine) as s:
        _import(s, [f.training("TR1", "P1", "2026-03-09T09:00:00-06:00"),
                    f.training("TR2", "P1", "2026-03-09T09:00:00-06:00", course="HIPAA_SECURITY")])
    pause = Pause("sweep")
    monkeypatch.setattr(findings_service, "record_run", pause.around(findings_service.record_run))
    errors: list[BaseException] = []
    later = AS_OF + dt.timedelta(hours=1)
    with clock.frozen(later):
        sweep = in_thread(engine, "sweep", lambda s: pipeline.evaluate(s, org_id=ORG, as_of=later, actor="s"), errors)
        assert pause.reached.wait(20)
        ack = in_thread(engine, "officer", lambda s: lifecycle.transition(
            s, org_id=ORG, finding_id=finding, action="acknowledge", actor="user:officer"), errors)
        until_waiting(engine, ack)
        pause.go()
        sweep.join(30)
        ack.join(30)
    assert [type(e) for e in errors] == [InvalidTransition]
    assert "resolved" in str(errors[0])
    assert _open(engine) == {"EP1": "resolved"}


def test_a_note_beside_the_escalation_job_waits_instead_of_deadlocking(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The escalation job holds the audit trail's lock from its first step and updates task after
    task; a note wrote its task's row and then waited for that lock. On PostgreSQL the two
    deadlocked: the job's whole run rolled back and the note answered 503 (the concurrency probe)."""
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        _import(s, [f.establishment(), f.episode("EP1", "P1", START), f.episode("EP2", "P2", START)])
        pipeline.evaluate(s, org_id=ORG, as_of=AS_OF, actor="t")
    with unit_of_work(engine) as s:
        ids = list(s.scalars(select(TaskRow.id).order_by(TaskRow.due, TaskRow.id)))
    assert len(ids) == 2
    pause = Pause("escalation")
    monkeypatch.setattr(escalation, "_escalate", pause.around(escalation._escalate))
    errors: list[BaseException] = []
    out: dict[str, Any] = {}
    later = AS_OF + dt.timedelta(hours=1)  # the note changes its task's row: a later time than the task's own
    with clock.frozen(later):
        job = in_thread(engine, "escalation", lambda s: escalation.run_escalations(s, org_id=ORG, as_of=later),
                        errors, out)
        assert pause.reached.wait(20)  # the first task escalated, the second not yet
        note = in_thread(engine, "staff", lambda s: tasks.add_note(
            s, org_id=ORG, task_id=ids[1], actor="user:staff", text="booked for Friday"), errors)
        until_waiting(engine, note)
        pause.go()
        job.join(30)
        note.join(30)
    assert errors == []
    assert out["escalation"]["steps"] == 2
    with unit_of_work(engine) as s:
        assert [n.text for n in tasks.get_task(s, org_id=ORG, task_id=ids[1]).notes] == ["booked for Friday"]
        assert [r.escalation_level for r in s.scalars(select(TaskRow).order_by(TaskRow.id))] == [1, 1]


def test_two_imports_of_the_same_records_crossing_each_other_end_in_one_retry_and_lose_nothing(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Import A has written E1 and goes on to E2; import B writes E2, then waits on A's E1. On
    PostgreSQL A then waits on B (a deadlock, and PostgreSQL rolls one back); on SQLite B finds E1
    taken once A commits. Either way one import fails whole, says to retry, and the retry imports
    what it holds: no record lost, none stored twice, the chain intact. (Two calls in one unit of
    work stand for a long import's two batches.)"""
    from engine import pipeline as pipeline_module
    from engine.cli import app as cli
    from engine.records import ingest
    from engine.records.tables import RecordVersionRow

    pause = Pause("A")
    monkeypatch.setattr(ingest, "_insert_versions", pause.around(ingest._insert_versions))
    e1, e2 = f.establishment("E1"), f.establishment("E2", tz="America/Denver", state="CO")
    jobs = {
        "A": lambda s: (_import(s, [e1]), _import(s, [e2])),
        "B": lambda s: _import(s, [e2, e1]),
    }
    errors: list[BaseException] = []
    out: dict[str, Any] = {}
    first = in_thread(engine, "A", jobs["A"], errors, out)
    assert pause.reached.wait(20)
    second = in_thread(engine, "B", jobs["B"], errors, out)
    until_waiting(engine, second)
    pause.go()
    first.join(30)
    second.join(30)
    assert len(errors) == 1 and len(out) == 1, (errors, out)
    loser = "B" if "A" in out else "A"

    def fail() -> None:
        raise errors[0]

    with pytest.raises(Exception) as exited:  # noqa: PT011 - typer.Exit, checked below
        cli.run(fail)
    said = " ".join(capsys.readouterr().err.split())
    assert getattr(exited.value, "exit_code", None) == 1 and "retry" in said, said
    assert "nothing was changed" in said or "nothing was imported" in said, said

    with unit_of_work(engine) as s:
        jobs[loser](s)
    with unit_of_work(engine) as s:
        stored = sorted((r.record_id, r.version) for r in s.scalars(select(RecordVersionRow)))
        assert stored == [("E1", 1), ("E2", 1)]
        assert pipeline_module.verify_audit(s, org_id=ORG).ok


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_two_imports_of_the_same_record_in_one_order_on_postgresql_the_second_waits_then_is_refused(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """What docs/operations.md says of two imports writing the same records at once, on PostgreSQL:
    import B read E1 before A committed, so its insert waits on A's row (seen in pg_locks, no sleep),
    then is refused whole (`conflict.concurrent_import`) once A commits; its retry stores its E1 as
    version 2. Nothing lost, nothing stored twice. (SQLite's refusal is the crossing test's above;
    there the second import waits on the write lock instead, which cannot be seen from outside.)"""
    from engine.errors import ConflictError
    from engine.records import ingest
    from engine.records.tables import RecordVersionRow

    pause = Pause("A")
    monkeypatch.setattr(ingest, "_insert_versions", pause.around(ingest._insert_versions))
    a_e1, b_e1 = f.establishment("E1"), f.establishment("E1", tz="America/Denver", state="CO")
    errors: list[BaseException] = []
    out: dict[str, Any] = {}
    first = in_thread(engine, "A", lambda s: _import(s, [a_e1]), errors, out)
    assert pause.reached.wait(20)
    second = in_thread(engine, "B", lambda s: _import(s, [b_e1]), errors, out)
    until_waiting(engine, second)
    pause.go()
    first.join(30)
    second.join(30)
    assert list(out) == ["A"] and len(errors) == 1, (errors, out)
    assert isinstance(errors[0], ConflictError) and errors[0].code == "conflict.concurrent_import"
    # the record the other import wrote first is named (the operations pass: `details: []`)
    assert [(d.record_type, d.record_id) for d in errors[0].details] == [("establishment", "E1")], errors[0].details
    assert "written by another import first" in errors[0].details[0].reason

    with unit_of_work(engine) as s:
        _import(s, [b_e1])
    with unit_of_work(engine) as s:
        stored = sorted((r.record_id, r.version, r.data["state"]) for r in s.scalars(select(RecordVersionRow)))
        assert stored == [("E1", 1, a_e1["state"]), ("E1", 2, "CO")]
        assert pipeline.verify_audit(s, org_id=ORG).ok
