"""A scenario file is read strictly: a key it does not know is refused, naming the file, the line, the
scenario, the key and why, and a key it needs is required.

A misspelt `subjct:` had stopped `rules test` with a KeyError traceback (and `rules validate` had
found nothing), `severty: low` had been ignored so a failing expectation passed, and a top-level
`param:` had been ignored so the case ran with the defaults. A scenario kept outside a tests/
folder had been read as a ruleset, with eight problems about keys a ruleset has."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine import clock
from engine.errors import ErrorDetail, RulesetValidationError
from engine.rules.scenarios import Expectation, run_scenario, scenario_file_problems, scenario_files
from engine.rules.validate import validate_paths
from tests.ruleset_texts import PUB_RULESET, PUB_SCENARIO, pub_folder

RULESET = PUB_RULESET

SCENARIO = PUB_SCENARIO
NAME = "a new hire untrained after 30 days"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    with clock.frozen(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)):
        yield pub_folder(tmp_path, monkeypatch)


def scenario(root: Path, text: str, name: str = "zz.yaml") -> Path:
    path = root / "pub" / "tests" / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path, root: Path) -> list[ErrorDetail]:
    with pytest.raises(RulesetValidationError) as exc:
        list(run_scenario(path, root=root, backends=("python",)))
    return exc.value.details


def test_the_scenario_as_written_passes(root: Path) -> None:
    (case,) = run_scenario(root / "pub" / "tests" / "train.yaml", root=root, backends=("python",))
    assert case.ok, case.problems


def test_a_misspelt_subject_is_refused_naming_file_line_scenario_and_key(root: Path) -> None:
    path = scenario(root, SCENARIO.replace("subject:", "subjct:"))
    (detail,) = refused(path, root)  # one mistake, said once (not also "subject is required")
    assert (detail.file, detail.line, detail.field) == (str(path), 9, "cases[0].expect[0].subjct")
    assert NAME in detail.reason and "unknown key 'subjct'" in detail.reason
    assert "did you mean 'subject'?" in detail.reason


def test_a_bad_record_is_named_at_its_line_by_its_place_in_records(root: Path) -> None:
    """It had been "record #1" (counting from 0) with no line."""
    path = scenario(root, SCENARIO.replace('start_at: "2026-05-04T09:00:00-05:00"', "start_at: last spring"))
    (detail,) = scenario_file_problems(path)
    assert (detail.file, detail.line, detail.field, detail.index) == (str(path), 5, "records[1].start_at", None)
    assert str(detail).startswith(f"{path}:5, employment_episode EP1, field records[1].start_at: ")


def test_a_misspelt_severity_no_longer_lets_a_failing_expectation_pass(root: Path) -> None:
    """The finding is high; `severty: low` had been ignored and the case passed."""
    path = scenario(root, SCENARIO.replace('due: "2026-06-03"}', 'due: "2026-06-03", severty: low}'))
    (detail,) = refused(path, root)
    assert detail.field == "cases[0].expect[0].severty" and "did you mean 'severity'?" in detail.reason
    path.write_text(SCENARIO.replace('due: "2026-06-03"}', 'due: "2026-06-03", severity: lo}'), encoding="utf-8")
    (detail,) = refused(path, root)
    assert detail.field == "cases[0].expect[0].severity" and "'lo'" in detail.reason
    path.write_text(SCENARIO.replace('due: "2026-06-03"}', 'due: "2026-06-03", severity: low}'), encoding="utf-8")
    (case,) = run_scenario(path, root=root, backends=("python",))
    assert not case.ok and "severity is 'high', expected 'low'" in case.problems[0]


def test_a_top_level_param_is_refused_not_ignored(root: Path) -> None:
    """`param: {train_days: 60}` had run with the default (30 days) and passed."""
    path = scenario(root, SCENARIO.replace("records:", "param: {train_days: 60}\nrecords:"))
    (detail,) = refused(path, root)
    assert (detail.line, detail.field) == (3, "param") and "did you mean 'params'?" in detail.reason


@pytest.mark.parametrize("text, field, said", [
    (SCENARIO.replace(f"name: {NAME}\n", ""), "name", "a scenario needs 'name'"),
    (SCENARIO.replace("    expect:\n      - {rule_id", "    expected:\n      - {rule_id"), "cases[0].expected",
     "unknown key 'expected' in a case: did you mean 'expect'?"),
    (SCENARIO.replace('  - as_of: "2026-06-10T12:00:00Z"\n    expect:', "  - expect:"), "cases[0].as_of",
     "a case needs 'as_of'"),
    (SCENARIO.replace("rule_id: PUB-TRN-001, ", ""), "cases[0].expect[0].rule_id", "an expectation needs 'rule_id'"),
    (SCENARIO.replace("subject: employment_episode/EP1", "subject: EP1"), "cases[0].expect[0].subject",
     "is not TYPE/ID"),
    (SCENARIO.replace("state: overdue", "state: late"), "cases[0].expect[0].state", "'late'"),
    (SCENARIO[:SCENARIO.index("cases:")] + "cases: []\n", "cases", "no cases tests nothing"),
])
def test_a_key_a_scenario_needs_is_required_and_values_are_checked(root: Path, text: str, field: str,
                                                                  said: str) -> None:
    path = scenario(root, text)
    details = refused(path, root)
    assert [d.field for d in details] == [field], details
    assert said in details[0].reason and details[0].file == str(path) and details[0].line is not None


def test_rules_validate_checks_the_scenarios_of_the_frameworks_it_checks(root: Path) -> None:
    """The framework's folder, or one version of it: `rules test` and publishing run those scenarios."""
    path = scenario(root, SCENARIO.replace("subject:", "subjct:"))
    for target in (root, root / "pub", root / "pub" / "pub-1.0.0.yaml", root / "pub" / "tests", path):
        report = validate_paths([target], rulesets=root)
        assert [d.field for d in report.problems] == ["cases[0].expect[0].subjct"], (target, report.problems)
        assert str(path) in report.scenarios
    path.unlink()
    assert validate_paths([root / "pub" / "pub-1.0.0.yaml"], rulesets=root).ok


def test_a_scenario_kept_outside_a_tests_folder_is_validated_as_a_scenario(root: Path, tmp_path: Path) -> None:
    """`vigil rules validate drafts/s.yaml` had said `field version: Field required` and seven more."""
    draft = tmp_path / "drafts" / "some-scenario.yaml"
    draft.parent.mkdir()
    draft.write_text(SCENARIO, encoding="utf-8")
    report = validate_paths([draft], rulesets=root)
    assert report.ok and report.scenarios == [str(draft)] and report.files == [], report.problems
    draft.write_text(SCENARIO.replace("state: overdue", "stat: overdue"), encoding="utf-8")
    report = validate_paths([draft], rulesets=root)
    assert [d.field for d in report.problems] == ["cases[0].expect[0].stat"], report.problems


def test_every_shipped_scenario_has_the_format() -> None:
    files = scenario_files()
    assert files
    assert {str(f): scenario_file_problems(f) for f in files if scenario_file_problems(f)} == {}


def test_an_unquoted_due_is_compared_as_a_finding_says_it() -> None:
    """YAML reads an unquoted date or instant as one; a finding's `due` is text (an instant in UTC, Z)."""
    read = Expectation.model_validate({"rule_id": "R-1", "subject": "a/1", "due": dt.date(2026, 6, 3)})
    assert read.due == "2026-06-03"
    instant = dt.datetime(2026, 3, 8, 18, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    read = Expectation.model_validate({"rule_id": "R-1", "subject": "a/1", "due": instant})
    assert read.due == "2026-03-08T23:00:00Z"
