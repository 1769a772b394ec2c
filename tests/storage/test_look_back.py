"""A look back is recorded and returned, not applied: evaluating an earlier instant (or an earlier
state of the database) leaves today's findings and tasks as they are (`findings.currency`)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.findings.tables import EvaluationRunRow, FindingEventRow, FindingRow
from engine.tasks.tables import TaskRow
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rulesets"
T = dt.datetime.fromisoformat
ORG = "clinic-a"
#: EP1 starts 1 Feb 2026 without training: due soon from late February, overdue in March.
RECORDS = [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")]


@pytest.fixture(autouse=True)
def _rulesets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))


def _evaluate(engine: Engine, as_of: str, *, now: str, **kw: object) -> pipeline.Evaluation:
    with clock.frozen(T(now)), unit_of_work(engine) as s:
        return pipeline.evaluate(s, org_id=ORG, as_of=T(as_of), actor="test", **kw)  # type: ignore[arg-type]


def _store(engine: Engine) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]], int]:
    with unit_of_work(engine) as s:
        found = sorted((r.rule_id, r.state, r.status) for r in s.scalars(select(FindingRow)))
        tasks = sorted((t.finding_id or "", t.state) for t in s.scalars(select(TaskRow)))
        events = len(s.scalars(select(FindingEventRow)).all())
    return found, tasks, events


def _import(engine: Engine, records: list[dict], at: str) -> None:
    with clock.frozen(T(at)), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test", stream=False)


def test_evaluating_an_earlier_instant_leaves_todays_findings_and_tasks(engine: Engine) -> None:
    _import(engine, RECORDS, "2026-01-15T00:00:00+00:00")
    today = _evaluate(engine, "2026-03-10T00:00:00+00:00", now="2026-03-10T00:00:00+00:00")
    assert today.diff is not None and len(today.diff.opened) == 1
    assert today.run is not None and today.run.counts["matches"] >= today.run.counts["violations"] == 1
    before = _store(engine)
    assert before[0] == [("DEMO-TRN-001", "open", "overdue")] and before[1]
    # "how did we stand on 20 January?": nothing was due then
    back = _evaluate(engine, "2026-01-20T00:00:00+00:00", now="2026-03-10T02:00:00+00:00")
    assert back.result.violations == [] and back.run is not None
    assert back.diff is not None and not back.diff.resolved
    assert back.run.diff["held"] is True and today.run is not None and today.run.id in back.run.diff["reason"]
    assert _store(engine) == before  # no resolution, no task closed, no history entry
    with unit_of_work(engine) as s:
        assert s.get(EvaluationRunRow, back.run.id) is not None  # still recorded, with its counts
    # the next evaluation of the present applies as usual
    later = _evaluate(engine, "2026-03-11T00:00:00+00:00", now="2026-03-11T00:00:00+00:00")
    assert later.run is not None and "held" not in later.run.diff


def test_a_forecast_is_held_and_does_not_freeze_the_store(engine: Engine) -> None:
    """An evaluation as of next month returns what would be overdue then, and opens nothing (no
    finding that does not exist yet, no task, no waiver expired early); the sweep of the present
    after it applies as usual."""
    _import(engine, RECORDS, "2026-01-15T00:00:00+00:00")
    ahead = _evaluate(engine, "2026-03-10T00:00:00+00:00", now="2026-02-10T00:00:00+00:00")
    assert [(v.rule_id, v.state) for v in ahead.result.violations] == [("DEMO-TRN-001", "overdue")]
    assert ahead.run is not None and ahead.run.diff["held"] is True and "forecast" in ahead.run.diff["reason"]
    assert _store(engine) == ([], [], 0)
    present = _evaluate(engine, "2026-02-10T00:00:00+00:00", now="2026-02-10T00:05:00+00:00")
    assert present.run is not None and "held" not in present.run.diff
    assert _store(engine)[0] == []  # not due yet on 10 February: nothing to open, nothing resolved


def test_an_as_of_a_moment_ahead_of_now_is_the_present(engine: Engine) -> None:
    """A caller's clock a minute ahead of ours does not turn a sweep into a forecast."""
    _import(engine, RECORDS, "2026-01-15T00:00:00+00:00")
    run = _evaluate(engine, "2026-03-10T00:01:00+00:00", now="2026-03-10T00:00:00+00:00")
    assert run.run is not None and "held" not in run.run.diff
    assert _store(engine)[0] == [("DEMO-TRN-001", "open", "overdue")]


def test_reproducing_an_earlier_database_state_is_held(engine: Engine) -> None:
    _import(engine, RECORDS, "2026-01-15T00:00:00+00:00")
    _evaluate(engine, "2026-03-10T00:00:00+00:00", now="2026-03-10T00:00:00+00:00")
    _import(engine, [f.training("T1", "P1", "2026-03-10T09:00:00-06:00")], "2026-03-10T16:00:00+00:00")
    fixed = _evaluate(engine, "2026-03-11T00:00:00+00:00", now="2026-03-11T00:00:00+00:00")
    assert fixed.diff is not None and len(fixed.diff.resolved) == 1
    before = _store(engine)
    # the database as it was known on 10 March at noon (before the training was recorded), as of now
    again = _evaluate(engine, "2026-03-11T01:00:00+00:00", now="2026-03-11T01:00:00+00:00",
                      known_at=T("2026-03-10T12:00:00+00:00"))
    assert [v.rule_id for v in again.result.violations] == ["DEMO-TRN-001"]
    assert again.run is not None and again.run.diff["held"] is True and "known at" in again.run.diff["reason"]
    assert _store(engine) == before  # the resolved finding is not reopened by a reproduction
    # knowing everything there is, known_at applies
    known_now = _evaluate(engine, "2026-03-11T02:00:00+00:00", now="2026-03-11T02:00:00+00:00",
                          known_at=T("2026-03-11T02:00:00+00:00"))
    assert known_now.run is not None and "held" not in known_now.run.diff


def test_a_look_back_of_another_framework_is_not_held(engine: Engine) -> None:
    """Held only when a later run of one of its own frameworks holds the store."""
    _import(engine, RECORDS, "2026-01-15T00:00:00+00:00")
    with unit_of_work(engine) as s:  # a later run of some other framework, as a sweep of it would leave
        s.add(EvaluationRunRow(id="R-other", org_id=ORG, as_of=T("2026-03-10T00:00:00+00:00"), known_at=None,
                               backend="python", frameworks=["osha"], rulesets=[], params={}, input_hash="x",
                               counts={}, diff={}, started_at=T("2026-03-10T00:00:00+00:00"), duration_ms=1,
                               actor="test", trigger="manual"))
    first = _evaluate(engine, "2026-03-01T00:00:00+00:00", now="2026-03-10T01:00:00+00:00")
    assert first.run is not None and "held" not in first.run.diff


def test_the_cli_says_a_look_back_was_not_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'v.db'}"
    records = tmp_path / "records.json"
    records.write_text(json.dumps(RECORDS))
    env = {"VIGIL_RULESETS_DIR": str(FIXTURES), "VIGIL_ORG": ORG, "PATH": "/usr/bin:/bin"}
    cli = [sys.executable, "-m", "engine.cli.main", "evaluate", "--db", db, "--json"]
    first = subprocess.run([*cli, "--records", str(records), "--as-of", "2026-03-10T00:00:00Z"],
                           capture_output=True, text=True, env=env, check=False)
    assert first.returncode == 0, first.stderr
    back = subprocess.run([*cli, "--as-of", "2026-01-20T00:00:00Z"], capture_output=True, text=True, env=env,
                          check=False)
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["findings"] == []  # the contract's output is the look back's own findings
    assert "was recorded but not applied to the findings store" in back.stderr


def test_an_import_streamed_while_a_sweep_ran_does_not_hold_the_sweep(engine: Engine) -> None:
    """A stream run judges one import's events: one landing while a sweep ran (its as-of a moment
    later than the sweep's) made the whole sweep a "look back" and threw its changes away (probe 25)."""
    _import(engine, RECORDS, "2026-01-15T00:00:00+00:00")
    _evaluate(engine, "2026-03-10T00:00:00+00:00", now="2026-03-10T00:00:00+00:00")
    with clock.frozen(T("2026-03-10T01:00:00+00:00")), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.access("AE-9", "U1", "PT1", "2026-03-09T18:00:00-06:00",
                                                                 action="export")],
                                actor="test", source="test", stream=True)
    with unit_of_work(engine) as s:
        assert sorted(r.trigger for r in s.scalars(select(EvaluationRunRow))) == ["manual", "stream"]
    sweep = _evaluate(engine, "2026-03-10T00:30:00+00:00", now="2026-03-10T02:00:00+00:00")
    assert sweep.run is not None and "held" not in sweep.run.diff, sweep.run.diff


def test_a_stream_run_records_what_it_judged_and_how_long_it_took(engine: Engine) -> None:
    """Stream runs kept input_hash 'stream', counts {} and duration 0 (probe 25)."""
    _import(engine, RECORDS, "2026-01-15T00:00:00+00:00")
    events = [f.access(f"AE-{i}", "U1", "PT1", "2026-03-09T18:00:00-06:00", action="export") for i in range(3)]

    def stream(records: list[dict]) -> EvaluationRunRow:
        with clock.frozen(T("2026-03-10T01:00:00+00:00")), unit_of_work(engine) as s:
            pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test", stream=True)
        with unit_of_work(engine) as s:
            row = s.scalars(select(EvaluationRunRow).where(EvaluationRunRow.trigger == "stream")
                            .order_by(EvaluationRunRow.started_at.desc())).first()
            assert row is not None
            s.expunge(row)
            return row

    first = stream(events)
    assert first.counts == {"batches": 1, "events": 3, "findings": 3}
    assert len(first.input_hash) == 64 and first.input_hash != "stream" and first.duration_ms >= 0
