"""The pipelined live stream on SQLite and PostgreSQL: same findings as matching batch by batch,
and a failure in any batch still leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from engine import clock, pipeline
from engine import stream as stream_module
from engine.audit.tables import AuditEntryRow
from engine.db import unit_of_work
from engine.errors import EngineFailure
from engine.findings import service as findings
from engine.findings.schemas import FindingFilter
from engine.findings.tables import FindingEventRow, FindingRow
from engine.records import service as records_service
from engine.records.ingest import BATCH_SIZE
from engine.records.tables import RecordVersionRow
from engine.rules.backends import durable as durable_backend
from engine.stream import EventStream
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rulesets"
AS_OF = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
ORG = "clinic-a"


@pytest.fixture(autouse=True)
def _rulesets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))


def _events(n: int, export_every: int, first_export: int = 0) -> list[dict[str, Any]]:
    """n access events over several import batches; every `export_every`-th one from `first_export` is an export."""
    start = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    return [
        f.access(f"AE{i:05d}", f"u{i % 7}", f"PT{i % 13}", (start + dt.timedelta(seconds=i)).isoformat(),
                 "export" if i >= first_export and (i - first_export) % export_every == 0 else "view")
        for i in range(n)
    ]


def _stream(engine: Engine, org: str, records: list[dict[str, Any]], *, pipelined: bool,
            process: bool | None = None) -> dict[str, int]:
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        records_service.import_records(s, org_id=org, records=[f.establishment()], actor="test", source="test")
        streamer = EventStream(s, org_id=org, actor="test", pipelined=pipelined, process=process)
        records_service.import_records(s, org_id=org, records=records, actor="test", source="test",
                                       on_batch=streamer.on_batch, on_end=streamer.drain)
        return streamer.finish()


def _findings(engine: Engine, org: str) -> list[tuple[Any, ...]]:
    with unit_of_work(engine) as s:
        page = findings.list_findings(s, org_id=org, filters=FindingFilter(), limit=1000)
        out = []
        for item in page.items:
            detail = findings.get_finding(s, org_id=org, finding_id=item.id)
            history = [(h.kind, h.from_state, h.to_state, h.reason is not None) for h in detail.history]
            out.append((item.rule_id, item.subject_id, item.state, item.status, item.message,
                        [e.model_dump() if hasattr(e, "model_dump") else e for e in item.evidence], history))
    return sorted(out)


@pytest.fixture(params=["stream process", "in process"])
def where(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the import matching in a forked stream process, and again in its own process."""
    monkeypatch.setattr(stream_module, "PROCESS_MIN_EVENTS", 1 if request.param == "stream process" else 10**9)
    return str(request.param)


def test_pipelined_stream_finds_what_batch_by_batch_matching_finds(engine: Engine) -> None:
    records = _events(2 * BATCH_SIZE + 300, export_every=97)
    piped = _stream(engine, "piped", records, pipelined=True, process=False)
    synchronous = _stream(engine, "sync", records, pipelined=False, process=False)
    forked = _stream(engine, "forked", records, pipelined=True, process=True)
    assert piped == synchronous == forked and piped["batches"] == 3 and piped["findings"] == len(records[::97])
    assert _findings(engine, "piped") == _findings(engine, "sync") == _findings(engine, "forked")
    assert [x[1] for x in _findings(engine, "piped")] == [r["id"] for r in records[::97]]


def _import_killing(engine: Engine, records: list[dict[str, Any]], kills: int) -> None:
    """Import `records` in a stream process, killing the process matching them after each of the
    first `kills` batches (the replacement too, when there is one)."""
    killed: list[int] = []

    def kill_after_batch(batch: list[Any]) -> None:
        streamer.on_batch(batch)
        assert streamer.process is not None
        pid = streamer.process.process.pid
        if len(killed) < kills and pid not in killed and pid is not None:
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)

    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        streamer = EventStream(s, org_id=ORG, actor="test", process=True)
        try:
            records_service.import_records(s, org_id=ORG, records=records, actor="test", source="test",
                                           on_batch=kill_after_batch, on_end=streamer.drain)
        finally:
            streamer.close()
    assert len(killed) == kills


def test_a_stream_process_that_dies_is_replaced_and_finds_the_same(engine: Engine) -> None:
    records = _events(3 * BATCH_SIZE, export_every=50)
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.establishment()], actor="test", source="test")
    before = durable_backend.CRASHES["count"]
    _import_killing(engine, records, kills=1)
    assert durable_backend.CRASHES["count"] == before + 1  # counted as a crashed worker is
    assert not multiprocessing.active_children()
    _stream(engine, "clean", records, pipelined=True, process=True)
    found = _findings(engine, ORG)
    assert found == _findings(engine, "clean") and len(found) == len(records[::50])


def test_a_replacement_that_dies_too_fails_the_import_and_keeps_nothing(engine: Engine) -> None:
    records = _events(3 * BATCH_SIZE, export_every=50)
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.establishment()], actor="test", source="test")
    with pytest.raises(EngineFailure, match="stream process stopped"):
        _import_killing(engine, records, kills=2)
    assert not multiprocessing.active_children()
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(RecordVersionRow)) == 1  # the establishment only
        assert s.scalar(select(func.count()).select_from(FindingRow)) == 0


def test_batches_and_answers_larger_than_the_pipe_do_not_stall_the_exchange(engine: Engine) -> None:
    """Batches sent back to back, each and each answer far larger than a pipe holds: the process is
    writing the answer to one batch while the parent writes it the next (a sender thread keeps both
    moving; written from the parent's own thread, both would wait on each other for ever)."""
    import json

    from engine.stream import StreamMatcher
    from engine.stream_process import StreamProcess

    records = _events(3 * BATCH_SIZE, export_every=1)  # every event a finding
    batches = [[("access_event", r["id"], 1, json.dumps(dict(r, note="x" * 2000))) for r in records[i:i + BATCH_SIZE]]
               for i in range(0, len(records), BATCH_SIZE)]

    def hung(*_: Any) -> None:
        raise AssertionError("the exchange with the stream process stalled")

    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        records_service.import_records(s, org_id=ORG, records=[f.establishment()], actor="test", source="test")
        matcher = StreamMatcher(s, org_id=ORG, as_of=AS_OF, backend="durable", pipelined=True)
    process = StreamProcess.start(matcher)
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        found = [v for batch in batches for found in process.exchange(batch) for v in found]
        found += [v for found in process.finish() for v in found]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        process.stop()
    assert sorted(v.subject.id for v in found) == sorted(r["id"] for r in records)
    assert not multiprocessing.active_children()


def test_an_import_abandoned_with_batches_in_flight_stops_its_stream_process(engine: Engine) -> None:
    records = _events(3 * BATCH_SIZE, export_every=1)
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        streamer = EventStream(s, org_id=ORG, actor="test", process=True)
        for start in range(0, len(records), BATCH_SIZE):
            records_service.import_records(s, org_id=ORG, records=records[start:start + BATCH_SIZE], actor="test",
                                           source="test", on_batch=streamer.on_batch)
        process = streamer.process
        assert process is not None and process._unanswered  # answers not read yet
        streamer.close()
    assert process.process.exitcode is not None and not multiprocessing.active_children()


def test_the_stream_process_matches_in_its_own_interpreter(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    records = _events(BATCH_SIZE + 20, export_every=100)

    class NoWorker:
        def __init__(self) -> None:
            raise RuntimeError("a durable_rules worker was started")

    durable_backend.shutdown()
    monkeypatch.setattr(durable_backend, "_Worker", NoWorker)  # inherited by the forked stream process
    assert _stream(engine, "forked", records, pipelined=True, process=True)["findings"] == len(records[::100])
    with pytest.raises(RuntimeError, match="worker was started"):  # where a worker is used, the patch bites
        _stream(engine, "here", records, pipelined=True, process=False)


def test_only_the_events_some_rule_could_match_reach_durable_rules_and_the_findings_are_the_same(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    records = _events(BATCH_SIZE + 300, export_every=97)
    sent: list[str] = []
    real = durable_backend.DurableBackend.evaluate

    def counting(self: Any, ruleset: Any, rule_ids: Any, sid: str, facts: list[dict[str, Any]], triggers: Any) -> Any:
        sent.extend(f["id"] for f in facts if f["t"] == "access_event")
        return real(self, ruleset, rule_ids, sid, facts, triggers)

    monkeypatch.setattr(durable_backend.DurableBackend, "evaluate", counting)
    filtered = _stream(engine, "filtered", records, pipelined=False, process=False)
    assert sorted(sent) == sorted(f"access_event/{r['id']}" for r in records[::97])  # the exports, no view
    sent.clear()
    monkeypatch.setattr(stream_module.FactFilter, "admits", lambda self, fact: True)
    everything = _stream(engine, "everything", records, pipelined=False, process=False)
    assert len(sent) == len(records)
    assert filtered == everything and filtered["findings"] == len(records[::97])
    assert [x[1:] for x in _findings(engine, "filtered")] == [x[1:] for x in _findings(engine, "everything")]


def test_the_pipeline_import_writes_every_finding_before_it_commits(engine: Engine, where: str) -> None:
    records = _events(BATCH_SIZE + 10, export_every=50)
    with clock.frozen(AS_OF):
        with unit_of_work(engine) as s:
            pipeline.ingest_records(s, org_id=ORG, records=[f.establishment()], actor="test", source="test")
        with unit_of_work(engine) as s:
            pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test")
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(FindingRow)) == len(records[::50])
        assert s.scalar(select(func.count()).select_from(FindingEventRow)) == len(records[::50])
        actions = list(s.scalars(select(AuditEntryRow.action).where(AuditEntryRow.org_id == ORG)
                                 .order_by(AuditEntryRow.org_seq)))
    assert actions == ["records.import", "evaluation.run", "records.import"]  # findings before the import's entry


def test_a_failure_while_matching_a_later_batch_rolls_back_the_whole_import(engine: Engine, where: str) -> None:
    records = _events(2 * BATCH_SIZE + 5, export_every=10_000, first_export=BATCH_SIZE + 3)  # one export, batch 2
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.establishment()], actor="test", source="test")
    durable_backend.plant_failure("DEMO-EXPORT-002|")
    try:
        with pytest.raises(EngineFailure, match="planted failure"), clock.frozen(AS_OF), unit_of_work(engine) as s:
            pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test")
    finally:
        durable_backend.plant_failure(None)
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(RecordVersionRow)) == 1  # the establishment only
        assert s.scalar(select(func.count()).select_from(FindingRow)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEntryRow)) == 1
    with clock.frozen(AS_OF), unit_of_work(engine) as s:  # the worker is usable again, the same import now works
        pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test")
    with unit_of_work(engine) as s:
        assert list(s.scalars(select(FindingRow.subject_id))) == [records[BATCH_SIZE + 3]["id"]]


@pytest.mark.parametrize("process", [True, False], ids=["stream process", "in process"])
def test_a_worker_crash_on_a_pipelined_batch_is_retried_and_finds_the_same(engine: Engine, process: bool) -> None:
    records = _events(BATCH_SIZE + 20, export_every=200)
    _stream(engine, "warm", records[:5], pipelined=True, process=process)
    before = durable_backend.CRASHES["count"]
    durable_backend.plant_crash("DEMO-EXPORT-002|", 1)
    try:
        _stream(engine, "crashed", records, pipelined=True, process=process)
    finally:
        durable_backend.plant_crash("", 0)
    assert durable_backend.CRASHES["count"] == before + 1  # counted where it happened, and reported here
    _stream(engine, "clean", records, pipelined=True, process=process)
    assert _findings(engine, "crashed") == _findings(engine, "clean") != []


def test_an_invalid_record_after_a_submitted_batch_imports_nothing(engine: Engine, where: str) -> None:
    records = _events(BATCH_SIZE + 5, export_every=100) + [{"type": "access_event", "id": "BAD", "at": "yesterday"}]
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.establishment()], actor="test", source="test")
    with pytest.raises(Exception, match="nothing was imported"), clock.frozen(AS_OF), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test")
    assert not multiprocessing.active_children()  # no stream process left behind
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(FindingRow)) == 0
        assert s.scalar(select(func.count()).select_from(RecordVersionRow)) == 1
