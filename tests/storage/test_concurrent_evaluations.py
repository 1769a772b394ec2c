"""Two evaluations of one organization at once (a sweep and an officer's click): the second waits
for the first and diffs against what it wrote, instead of inserting the same new findings and
failing on the primary key (the operations probe: a traceback on the CLI, a 500 from the API)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.findings import service as findings_service
from engine.findings.tables import FindingRow
from tests import factories as f
from tests.concurrency import until_waiting

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rulesets"
AS_OF = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
ORG = "clinic-a"


def test_a_second_evaluation_waits_for_the_first_and_adds_nothing(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, actor="t", source="t", stream=False, records=[
            f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
            f.episode("EP2", "P2", "2026-02-01T09:00:00-06:00")])
    first_wrote, let_first_commit = threading.Event(), threading.Event()
    sync = pipeline._sync_tasks

    def held_sync(session: Any, **kw: Any) -> Any:  # the first run pauses after writing, before committing
        out = sync(session, **kw)
        if threading.current_thread().name == "first":
            first_wrote.set()
            let_first_commit.wait(20)
        return out

    monkeypatch.setattr(pipeline, "_sync_tasks", held_sync)
    errors: list[BaseException] = []

    def evaluate() -> None:  # under the clock frozen below: the clock is the process's, not a thread's
        try:
            with unit_of_work(engine) as s:
                pipeline.evaluate(s, org_id=ORG, as_of=AS_OF, actor="t")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    first = threading.Thread(target=evaluate, name="first")
    second = threading.Thread(target=evaluate, name="second")
    with clock.frozen(AS_OF):
        first.start()
        assert first_wrote.wait(20)
        second.start()
        second.join(1.0)  # it waits for the first (a lock on PostgreSQL, the write lock on SQLite)
        let_first_commit.set()
        first.join(30)
        second.join(30)
    assert errors == []
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(FindingRow)) == 2



def test_an_import_and_evaluation_beside_a_sweep_waits_instead_of_deadlocking(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`vigil evaluate FILES --db` imports and evaluates in one transaction, so it holds the audit
    chain's lock (the import's entry) when it records its run and diffs the findings; a sweep took
    the findings' locks first, and the chain's at its end. On PostgreSQL the two deadlocked and one
    failed (seen in CI, two test workers sharing one database). Now a findings writer takes the
    chain's lock first, when it records its run."""
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, actor="t", source="t", stream=False, records=[
            f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")])
    people = tmp_path / "people.ndjson"
    people.write_text(json.dumps({"type": "person", "id": "P1", "first_name": "Ana", "last_name": "Diaz"}) + "\n")
    sweep_holds, let_sweep_go = threading.Event(), threading.Event()
    record_run = findings_service.record_run

    def held(session: Any, **kw: Any) -> Any:  # the sweep pauses once its run is recorded
        run = record_run(session, **kw)
        if threading.current_thread().name == "sweep":
            sweep_holds.set()
            let_sweep_go.wait(20)
        return run

    monkeypatch.setattr(findings_service, "record_run", held)
    errors: list[BaseException] = []

    def run(job: Any) -> None:
        try:
            with unit_of_work(engine) as s:
                job(s)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    sweep = threading.Thread(name="sweep", target=run, args=(
        lambda s: pipeline.evaluate(s, org_id=ORG, as_of=AS_OF, actor="t"),))
    def import_and_evaluate(s: Any) -> None:
        pipeline.ingest_files(s, org_id=ORG, paths=[people], actor="t", stream=False)
        pipeline.evaluate(s, org_id=ORG, as_of=AS_OF, actor="t")

    load = threading.Thread(name="import", target=run, args=(import_and_evaluate,))
    with clock.frozen(AS_OF):
        sweep.start()
        assert sweep_holds.wait(20)
        load.start()
        until_waiting(engine, load)  # the import is blocked on a lock the sweep holds
        let_sweep_go.set()
        sweep.join(30)
        load.join(30)
    assert errors == []
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(FindingRow)) >= 1

