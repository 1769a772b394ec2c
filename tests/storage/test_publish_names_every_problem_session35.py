"""Publishing names every problem at once, the runs already made included (SQLite and PostgreSQL):
a draft refused for its version had said nothing of the day a run had judged, and the liaison met
that refusal only on the next attempt."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine import clock, db, pipeline
from engine.errors import InputError
from engine.records import service as records
from tests import factories as f

TODAY = dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def judged_today(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The demo rulesets in use, and a run applied as of today."""
    root = tmp_path / "rulesets"
    shutil.copytree(FIXTURES / "rulesets", root)
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(root))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    with clock.frozen(TODAY), db.unit_of_work(engine) as session:
        records.import_records(session, org_id="org-a", records=[f.establishment()], actor="t", source="t")
        assert pipeline.evaluate(session, org_id="org-a", as_of=TODAY, actor="t").run is not None
    return root


def publish(engine: Engine, root: Path, version: str) -> None:
    draft = (root / "demo" / "demo-2.0.0.yaml").read_bytes().replace(b"version: 2.0.0", f"version: {version}".encode())
    with clock.frozen(TODAY), db.unit_of_work(engine) as session:
        pipeline.publish_ruleset(session, org_id="org-a", actor="user:lee", draft=draft, name="draft.yaml",
                                 effective_from=TODAY.date())


def test_a_draft_refused_for_its_version_also_names_the_day_a_run_judged(engine: Engine, judged_today: Path) -> None:
    with pytest.raises(InputError) as refused:
        publish(engine, judged_today, "2.0.0")
    assert refused.value.code == "ruleset.publish.refused"
    reasons = [d.reason for d in refused.value.details]
    assert len(reasons) == 2 and "is not above demo 2.0.0" in reasons[0]
    assert "1 evaluation run(s) judged demo as of 2026-11-30 or later" in reasons[1]
    assert "choose 2026-12-01 or later" in reasons[1]


def test_a_judged_day_alone_is_refused_as_before(engine: Engine, judged_today: Path) -> None:
    with pytest.raises(InputError) as refused:
        publish(engine, judged_today, "3.0.0")
    assert refused.value.code == "ruleset.change.judged" and len(refused.value.details) == 1
    assert not (judged_today / "demo" / "demo-3.0.0.yaml").exists()
