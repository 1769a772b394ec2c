"""A rule whose law starts (or ends) inside its ruleset's dates is judged only while it is in force,
on both backends, and the shipped rulesets are in force from the dates their content holds."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.main import app
from engine.errors import RulesetValidationError
from engine.rules.catalog import compile_in_force, in_force, load_all
from engine.rules.derive import RecordView
from engine.rules.loader import load_ruleset_bytes
from engine.rules.runner import ListSource, evaluate_rules
from tests import factories as f

T = dt.datetime.fromisoformat

RULESET = """
framework: dated
version: 1.0.0
title: Dated rules
effective_from: 2025-01-01
authority: t
rules:
  - id: DATED-OLD-001
    title: Every episode is noticed (the whole ruleset's life)
    citation: c
    severity: low
    match:
      ep: employment_episode where person_id != null
    subject: ep
    message: old {{ ep.id }}
    sop: SOP-T
  - id: DATED-NEW-002
    title: Every episode is noticed (a law that starts on 1 July 2025)
    citation: c
    severity: low
    effective_from: 2025-07-01
    match:
      ep: employment_episode where person_id != null
    subject: ep
    message: new {{ ep.id }}
    sop: SOP-T
  - id: DATED-GONE-003
    title: Every episode is noticed (a law repealed on 1 March 2026)
    citation: c
    severity: low
    effective_to: 2026-03-01
    match:
      ep: employment_episode where person_id != null
    subject: ep
    message: gone {{ ep.id }}
    sop: SOP-T
"""


@pytest.fixture
def dated_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "dated").mkdir()
    (tmp_path / "dated" / "dated-1.0.0.yaml").write_text(RULESET, encoding="utf-8")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("backend", ["python", "durable"])
@pytest.mark.parametrize(
    "as_of, expected",
    [
        ("2025-06-30T23:59:59+00:00", ["DATED-GONE-003", "DATED-OLD-001"]),
        ("2025-07-01T00:00:00+00:00", ["DATED-GONE-003", "DATED-NEW-002", "DATED-OLD-001"]),
        ("2026-02-28T23:59:59+00:00", ["DATED-GONE-003", "DATED-NEW-002", "DATED-OLD-001"]),
        ("2026-03-01T00:00:00+00:00", ["DATED-NEW-002", "DATED-OLD-001"]),
    ],
)
def test_each_rule_is_judged_only_inside_its_own_dates(dated_root: Path, backend: str, as_of: str,
                                                       expected: list[str]) -> None:
    records = [f.establishment(), f.episode("EP1", "P1", "2024-02-01T09:00:00-06:00")]
    source = ListSource([RecordView(r["type"], r["id"], 1, r) for r in records])
    rulesets = compile_in_force(T(as_of), frameworks=["dated"])
    run = evaluate_rules(source, rulesets, T(as_of), backend=backend)
    assert sorted(v.rule_id for v in run.violations) == expected
    assert sorted(r.id for r in rulesets[0].rules) == expected


def test_days_with_different_rules_never_share_a_durable_rules_name(dated_root: Path) -> None:
    names = {compile_in_force(T(day), frameworks=["dated"])[0].durable_name
             for day in ("2025-02-01T12:00:00+00:00", "2025-08-01T12:00:00+00:00", "2026-04-01T12:00:00+00:00")}
    assert len(names) == 3
    spring, summer = (compile_in_force(T(day), frameworks=["dated"])[0]
                      for day in ("2025-08-01T12:00:00+00:00", "2025-09-01T12:00:00+00:00"))
    assert spring is summer  # the same rules in force: compiled once


@pytest.mark.parametrize(
    "dates, problem",
    [
        ("effective_from: 2026-05-01\n    effective_to: 2026-04-01", "effective_to must be after effective_from"),
        ("effective_to: 2024-06-01", "DATED-NEW-002 is never in force"),
    ],
)
def test_rule_dates_that_cannot_hold_are_refused(dates: str, problem: str) -> None:
    text = RULESET.replace("    effective_from: 2025-07-01", f"    {dates}", 1)
    with pytest.raises(RulesetValidationError) as exc:
        load_ruleset_bytes(text.encode(), "dated.yaml")
    assert problem in str(exc.value) + " ".join(d.reason for d in exc.value.details)


def test_the_shipped_rulesets_are_in_force_from_the_dates_their_content_holds() -> None:
    def frameworks(day: str) -> list[str]:
        return [item.spec.framework for item in in_force(load_all(), dt.date.fromisoformat(day))]

    assert frameworks("2013-09-22") == []
    assert frameworks("2013-09-23") == ["hipaa"]  # the Omnibus rule's compliance date
    assert frameworks("2024-01-01") == ["hipaa", "osha"]
    assert frameworks("2025-01-01") == ["ai_use", "cms", "credentialing", "hipaa", "osha"]
    dated = {r.id: r.effective_from for item in load_all() for r in item.spec.rules if r.effective_from}
    assert dated == {"CRED-MON-009": dt.date(2025, 7, 1), "AI-CA-489-007": dt.date(2026, 1, 1)}


def test_evaluating_before_any_ruleset_says_so(tmp_path: Path) -> None:
    records = tmp_path / "r.json"
    records.write_text(json.dumps([{"type": "organization", "id": "O1", "name": "X", "states": ["CA"]}]))
    result = CliRunner().invoke(app, ["evaluate", "--records", str(records), "--as-of", "2012-01-01T00:00:00Z",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"as_of": "2012-01-01T00:00:00Z", "rulesets": [], "findings": []}
    assert "no ruleset is in force on 2012-01-01" in " ".join(result.stderr.split())


def test_evaluating_into_a_database_before_any_ruleset_is_refused_as_the_api_refuses_it(tmp_path: Path) -> None:
    """`vigil evaluate --db` had recorded a run that judged nothing (exit 0, a warning), where
    POST /evaluations refuses it (422 input.nothing_in_force); nothing is imported or recorded."""
    from sqlalchemy import func, select

    from engine import db as dbmod
    from engine.findings.tables import EvaluationRunRow
    from engine.records.tables import RecordVersionRow

    records = tmp_path / "r.json"
    records.write_text(json.dumps([{"type": "organization", "id": "O1", "name": "X", "states": ["CA"]}]))
    url = f"sqlite:///{tmp_path / 'v.db'}"
    result = CliRunner().invoke(app, ["evaluate", "--records", str(records), "--as-of", "2012-01-01T00:00:00Z",
                                      "--db", url, "--json"])
    assert result.exit_code == 2, result.output
    said = " ".join(result.stderr.split())
    assert "no ruleset is in force on 2012-01-01 for" in said and "hipaa has versions in force from 2013-09-23" in said
    engine = dbmod.make_engine(url)
    with dbmod.unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(EvaluationRunRow)) == 0
        assert s.scalar(select(func.count()).select_from(RecordVersionRow)) == 0
    engine.dispose()
