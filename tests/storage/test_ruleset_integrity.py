"""A ruleset version edited or placed by hand is caught (the regulatory-liaison pass, 7 December 2026):
by `rules validate` (a released version against RELEASED.sha256, always; against its publication and
its runs, with a database), by every evaluation that is kept, and by `audit verify`. Each had gone
unnoticed: a released file edited with `sed -i` was evaluated under its version with a new SHA-256, a
published version edited afterwards was not flagged though its `ruleset.published` entry holds its
hash, and a version placed with a back date judged days runs had judged by another (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine import clock, db, pipeline, ruleset_integrity
from engine.errors import RulesetValidationError
from engine.records import service as records
from engine.rules.validate import validate_paths
from tests import factories as f

TODAY = dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ORG = "org-a"


@pytest.fixture
def root(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The fixture rulesets in use, demo 1.0.0 listed as released in the folder's RELEASED.sha256 (as a
    copy of the installation's rulesets lists its versions), and one practice evaluated once."""
    root = tmp_path / "rulesets"
    shutil.copytree(FIXTURES / "rulesets", root)
    sha = hashlib.sha256((root / "demo" / "demo-1.0.0.yaml").read_bytes()).hexdigest()
    (root / "RELEASED.sha256").write_text(f"{sha}  demo/demo-1.0.0.yaml\n", encoding="utf-8")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(root))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    with clock.frozen(TODAY), db.unit_of_work(engine) as session:
        records.import_records(session, org_id=ORG, records=[f.establishment()], actor="t", source="t")
        pipeline.evaluate(session, org_id=ORG, as_of=TODAY, actor="t")
    return root


def evaluate(engine: Engine, *, at: dt.datetime = TODAY, frameworks: list[str] | None = None) -> None:
    with clock.frozen(at), db.unit_of_work(engine) as session:
        pipeline.evaluate(session, org_id=ORG, as_of=at, actor="t", frameworks=frameworks)


def refused(engine: Engine, **kwargs: object) -> RulesetValidationError:
    with pytest.raises(RulesetValidationError) as exc:
        evaluate(engine, **kwargs)  # type: ignore[arg-type]
    return exc.value


def verified(engine: Engine) -> list[tuple[str, str | None]]:
    with clock.frozen(TODAY), db.unit_of_work(engine) as session:
        report = pipeline.verify_audit(session, org_id=None)
    return [(b.kind, b.record_id) for b in report.broken]


def drifted(engine: Engine) -> list[tuple[str, str, str]]:
    with clock.frozen(TODAY), db.unit_of_work(engine) as session:
        return [(d.framework, d.version, d.kind) for d in ruleset_integrity.drifts(session, org_id=ORG)]


def test_the_shipped_and_fixture_flows_are_not_refused(engine: Engine, root: Path) -> None:
    """Versions shipped, published or placed by hand before any run judged their days, evaluated again
    and again, and a version placed for days no run has judged yet: nothing to say."""
    (root / "demo" / "demo-3.0.0.yaml").write_text((root / "demo" / "demo-2.0.0.yaml").read_text().replace(
        "version: 2.0.0", "version: 3.0.0").replace("effective_from: 2026-07-01", "effective_from: 2027-02-01"))
    evaluate(engine)
    evaluate(engine, at=TODAY + dt.timedelta(days=1))
    assert drifted(engine) == [] and verified(engine) == []
    assert validate_paths([root]).ok


def test_a_released_version_edited_by_hand_is_named_refused_and_verified_broken(engine: Engine, root: Path) -> None:
    path = root / "demo" / "demo-1.0.0.yaml"
    path.write_text(path.read_text().replace("title: New hires", "title: Newly hired staff", 1), encoding="utf-8")
    [problem] = validate_paths([root]).problems  # no database needed
    assert (problem.file, problem.field) == (str(path), "sha256") and "not the file released" in problem.reason
    exc = refused(engine)
    assert exc.code == "ruleset.integrity.changed" and "demo 1.0.0" in exc.message
    assert verified(engine) == [("ruleset", "demo@1.0.0")]


def test_a_published_version_edited_afterwards_is_refused_and_other_frameworks_still_evaluate(
        engine: Engine, root: Path) -> None:
    other = root / "other"
    other.mkdir()
    (other / "other-1.0.0.yaml").write_text((root / "demo" / "demo-1.0.0.yaml").read_text().replace(
        "framework: demo", "framework: other").replace("DEMO-", "OTHER-").replace("effective_to: 2026-07-01",
                                                                                  "effective_to: null"))
    draft = (root / "demo" / "demo-2.0.0.yaml").read_bytes().replace(b"version: 2.0.0", b"version: 3.0.0")
    with clock.frozen(TODAY), db.unit_of_work(engine) as session:
        pipeline.publish_ruleset(session, org_id=ORG, actor="user:lee", draft=draft, name="draft.yaml",
                                 effective_from=dt.date(2027, 1, 1))
    evaluate(engine)  # as published: in order
    published = root / "demo" / "demo-3.0.0.yaml"
    published.write_text(published.read_text().replace("severity: high", "severity: low", 1), encoding="utf-8")
    assert validate_paths([root]).ok  # the files alone cannot tell: no list names it
    assert drifted(engine) == [("demo", "3.0.0", "published")]
    exc = refused(engine)
    assert exc.code == "ruleset.integrity.changed" and "ruleset.published" in exc.details[0].reason
    evaluate(engine, frameworks=["other"])  # another framework is still judged
    assert verified(engine) == [("ruleset", "demo@3.0.0")]


def test_a_version_placed_by_hand_edited_after_runs_used_it_is_refused(engine: Engine, root: Path) -> None:
    """demo 2.0.0 was placed by hand (no list, no publication): the bytes its first run kept hold it."""
    at = dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC)
    evaluate(engine, at=at)
    path = root / "demo" / "demo-2.0.0.yaml"
    path.write_text(path.read_text() + "# edited\n", encoding="utf-8")
    assert drifted(engine) == [("demo", "2.0.0", "used")]
    assert "the runs that used it kept SHA-256" in refused(engine, at=at + dt.timedelta(days=1)).details[0].reason


def test_a_back_dated_version_placed_by_hand_over_judged_days_is_refused(engine: Engine, root: Path) -> None:
    """publishing refuses it (`_refuse_if_judged`); placed by hand it had judged days 2.0.0 had judged."""
    placed = root / "demo" / "demo-2.6.0.yaml"
    placed.write_text((root / "demo" / "demo-2.0.0.yaml").read_text().replace("version: 2.0.0", "version: 2.6.0")
                      .replace("effective_from: 2026-07-01", "effective_from: 2026-08-01"), encoding="utf-8")
    assert validate_paths([root]).ok
    exc = refused(engine)
    assert exc.code == "ruleset.integrity.placed"
    [detail] = exc.details
    assert (detail.file, detail.field) == (str(placed), "effective_from")
    assert "would be in force on days 1 applied run(s) judged by other versions (the last as of 2026-11-30)" \
        in detail.reason and "from 2026-12-01 or later" in detail.reason
    assert verified(engine) == [("ruleset", "demo@2.6.0")]
    placed.write_text(placed.read_text().replace("effective_from: 2026-08-01", "effective_from: 2027-03-01"))
    evaluate(engine)  # from a day no run has judged: as publishing would take it
