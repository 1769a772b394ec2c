"""Every run the pipeline keeps is checked for one that could only come back empty, whichever face
or job asks: the REST route and `vigil evaluate --db` had each checked, the scheduler's sweep and the
demo had not, so a sweep over a folder of no rulesets stored a clean, empty run."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from engine import clock, db, pipeline
from engine.errors import InputError
from engine.findings.tables import EvaluationRunRow

NOW = dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)


def _practice(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "establishment.ndjson"
    path.write_text(json.dumps({"type": "establishment", "id": "E1", "tz": "America/Chicago"}) + "\n")
    with clock.frozen(NOW), db.unit_of_work(engine) as session:
        pipeline.ingest_files(session, org_id="org-1", paths=[path], actor="t", stream=False)


def _runs(engine: Engine) -> int:
    with db.unit_of_work(engine) as session:
        return session.scalar(select(func.count()).select_from(EvaluationRunRow)) or 0


def test_a_sweep_over_a_folder_of_no_rulesets_is_refused_and_keeps_no_run(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _practice(engine, tmp_path)
    (tmp_path / "none").mkdir()
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(tmp_path / "none"))
    with pytest.raises(InputError, match="there is no ruleset to evaluate"), clock.frozen(NOW), \
            db.unit_of_work(engine) as session:
        pipeline.evaluate(session, org_id="org-1", as_of=NOW, actor="system:scheduler", trigger="schedule")
    assert _runs(engine) == 0
    with clock.frozen(NOW), db.unit_of_work(engine) as session:  # not kept: CONTRACT.md's empty result
        shown = pipeline.evaluate(session, org_id="org-1", as_of=NOW, actor="t", persist=False)
    assert shown.result.violations == [] and shown.run is None


def test_a_kept_run_of_a_framework_not_in_force_is_refused(engine: Engine, tmp_path: Path) -> None:
    _practice(engine, tmp_path)
    with pytest.raises(InputError, match="no ruleset is in force on 1000-01-01"), clock.frozen(NOW), \
            db.unit_of_work(engine) as session:
        pipeline.evaluate(session, org_id="org-1", as_of=dt.datetime(1000, 1, 1, tzinfo=dt.UTC), actor="t")
    assert _runs(engine) == 0
