"""A run keeps the practice's dated parameter values beside the values of its own day: a window
counted from an anchor used the value of the anchor's day (engine/rules/param_history.py), so
`params` alone no longer said every value the run judged with (C9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine.db import unit_of_work
from engine.findings import reads
from tests import factories as f
from tests.storage.test_tasks import ORG, _evaluate, _import

pytestmark = pytest.mark.usefixtures("fixture_rules_and_policies")

# demo 1.0.0's default (30) until 2026-07-01, demo 2.0.0's (10), then the practice's 3 from 2026-08-01
HISTORY = {"demo": {"new_hire_days": [[None, 30], ["2026-07-01", 10], ["2026-08-01", 3]]}}


@pytest.fixture
def dated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The practice shortened the demo ruleset's new-hire window from 10 days to 3 on 1 August 2026."""
    path = tmp_path / "practice.yaml"
    path.write_text("params:\n  demo:\n    new_hire_days:\n      - {value: 3, from: 2026-08-01, approved_by: CO}\n")
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(path))
    return path


def test_each_window_is_the_one_of_its_start_and_the_run_keeps_the_history(engine: Engine, dated: Path) -> None:
    _import(engine, [f.establishment(),
                     f.episode("EP1", "P1", "2026-07-20T09:00:00-05:00"),  # 10 days: due 30 July
                     f.episode("EP2", "P2", "2026-08-03T09:00:00-05:00")])  # 3 days: due 6 August
    outcome = _evaluate(engine, "2026-08-10T12:00:00+00:00")
    dues = {v.subject.id: (v.state, v.due) for v in outcome.result.violations if v.rule_id == "DEMO-TRN-001"}
    assert dues == {"EP1": ("overdue", "2026-07-30"), "EP2": ("overdue", "2026-08-06")}
    assert outcome.run is not None
    assert outcome.run.params == {"demo": {"new_hire_days": 3}}
    assert outcome.run.param_history == HISTORY
    with unit_of_work(engine) as s:
        stored = reads.get_run(s, org_id=ORG, run_id=outcome.run.id)
    assert stored.param_history == HISTORY
    assert stored.narrowed("demo").param_history == HISTORY  # an auditor of the framework sees it
    assert stored.narrowed("hipaa").param_history is None  # and of another, not


def test_a_run_of_a_practice_that_dated_nothing_reads_as_before(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    # one version of the ruleset (demo 2.0.0 alone), and no dated value
    rules = tmp_path / "rules"
    (rules / "demo").mkdir(parents=True)
    source = Path(__file__).resolve().parents[1] / "fixtures" / "rulesets" / "demo" / "demo-2.0.0.yaml"
    (rules / "demo" / "demo-2.0.0.yaml").write_bytes(source.read_bytes())
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(rules))
    _import(engine, [f.establishment(), f.episode("EP1", "P1", "2026-07-20T09:00:00-05:00")])
    outcome = _evaluate(engine, "2026-08-10T12:00:00+00:00")
    assert outcome.run is not None and outcome.run.param_history is None
    assert "param_history" not in outcome.run.model_dump(mode="json")  # runs.json hashes as it did
    with unit_of_work(engine) as s:
        assert reads.get_run(s, org_id=ORG, run_id=outcome.run.id).param_history is None


def test_a_change_from_today_starts_on_the_practices_day_not_utcs(engine: Engine, dated: Path) -> None:
    """At 19:33 in Chicago on 6 December it is already the 7th in UTC: a change "from today" had started
    on the 7th, and --from 2026-12-06 was refused as before today."""
    import datetime as dt

    from engine import clock, pipeline

    _import(engine, [f.establishment()])  # America/Chicago
    evening = dt.datetime(2026, 12, 7, 1, 33, tzinfo=dt.UTC)
    with clock.frozen(evening), unit_of_work(engine) as s:
        change = pipeline.set_practice_param(s, org_id=ORG, actor="test", framework="demo", name="new_hire_days",
                                             value=5, approved_by="CO", reason="policy 2.1")
    assert change.effective_from == dt.date(2026, 12, 6)
    with clock.frozen(evening), unit_of_work(engine) as s:
        again = pipeline.set_practice_param(s, org_id=ORG, actor="test", framework="demo", name="new_hire_days",
                                            value=6, approved_by="CO", reason="policy 2.2",
                                            effective_from=dt.date(2026, 12, 6))
    assert again.effective_from == dt.date(2026, 12, 6) and again.replaces is not None
