"""Publishing says how many of the scenario cases that passed judged the new version: "105 scenario
cases passed" had been said of a draft whose cases were all dated before its effective_from, so all
of them were judged by the versions before it and none tested it."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from engine import clock
from engine.api.app import create_app
from engine.rules import publish
from tests.cli import conftest as cli
from tests.cli.conftest import FIXTURES, Practice, said, vigil
from tests.ruleset_texts import SOP_T

# the CLI tests' practice database (a copy per test), for `vigil rules publish`
cli_env, practice_template, practice = cli.cli_env, cli.practice_template, cli.practice

V1 = """\
framework: pub
version: 1.0.0
title: Published rules
effective_from: 2026-01-01
authority: t
rules:
  - id: PUB-TRN-001
    title: New hires are trained
    citation: c 1
    severity: high
    match:
      episode: employment_episode where end_at == null
    subject: episode
    obligation:
      anchor: episode.start_at
      within: {days: 30}
      met_by: training_record where person_id == episode.person_id and completed_at >= episode.start_at
      met_at: completed_at
    message: Train {{ episode.person_id }} by {{ due }}.
    sop: SOP-T
"""

SCENARIO = """\
name: a new hire untrained after 30 days
framework: pub
records:
  - {type: establishment, id: E1, tz: America/Chicago}
  - {type: employment_episode, id: EP1, person_id: P1, establishment_id: E1, start_at: "2026-05-04T09:00:00-05:00"}
cases:
"""

CASE = """\
  - as_of: "{as_of}"
    expect:
      - {{rule_id: PUB-TRN-001, subject: employment_episode/EP1, state: overdue, due: "2026-06-03"}}
"""


def scenario(*as_of: str) -> str:
    return SCENARIO + "".join(CASE.format(as_of=a) for a in as_of)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rules = tmp_path / "rulesets"
    (rules / "pub" / "tests").mkdir(parents=True)
    (rules / "pub" / "pub-1.0.0.yaml").write_text(V1)
    (tmp_path / "policies" / "sops").mkdir(parents=True)
    (tmp_path / "policies" / "sops" / "SOP-T.md").write_text(SOP_T)
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(rules))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(tmp_path / "policies"))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    with clock.frozen(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)):
        yield rules


def publish_v2(root: Path, *as_of: str) -> publish.Publication:
    (root / "pub" / "tests" / "train.yaml").write_text(scenario(*as_of))
    return publish.publish(V1.replace("version: 1.0.0", "version: 1.1.0").encode(), name="d.yaml",
                           effective_from=dt.date(2026, 7, 1))


def test_cases_all_before_the_effective_date_judged_none_and_it_says_so(root: Path) -> None:
    pub = publish_v2(root, "2026-06-10T12:00:00Z", "2026-06-30T23:00:00Z")
    assert (pub.scenarios_passed, pub.scenarios_judged_by_new) == (2, 0)
    assert pub.scenarios_said() == ("2 scenario cases passed (0 of them as of 2026-07-01 or later, judged by the "
                                    "new version: add scenarios dated then to test it)")


def test_cases_on_or_after_the_effective_date_are_counted(root: Path) -> None:
    # the last is 2026-07-01 in its own offset but 2026-06-30 in UTC, the day versions are chosen by (as an
    # evaluation of that instant chooses them): the version before judged it
    pub = publish_v2(root, "2026-06-10T12:00:00Z", "2026-07-01T00:00:00Z", "2026-08-01T12:00:00Z",
                     "2026-07-01T02:00:00+05:00")
    assert (pub.scenarios_passed, pub.scenarios_judged_by_new) == (4, 2)
    assert pub.scenarios_said() == ("4 scenario cases passed (2 of them as of 2026-07-01 or later, judged by the "
                                    "new version)")


def test_a_case_is_judged_by_the_version_an_evaluation_of_its_instant_would_use(root: Path) -> None:
    """Versions are chosen by the instant's UTC day (`pipeline.evaluate`); the scenario runner had
    chosen by the day in the case's own offset, so near midnight a scenario and an evaluation of
    the same instant were judged by different versions."""
    from engine.rules.scenarios import run_scenario

    v2 = V1.replace("version: 1.0.0", "version: 2.0.0").replace("effective_from: 2026-01-01",
                                                                "effective_from: 2026-07-01")
    (root / "pub" / "pub-2.0.0.yaml").write_text(v2.replace("within: {days: 30}", "within: {days: 10}"))
    path = root / "pub" / "tests" / "train.yaml"
    path.write_text(scenario("2026-07-01T02:00:00+05:00"))  # 2026-06-30T21:00Z: 1.0.0's 30 days
    (case,) = run_scenario(path, root=root, backends=("python",))
    assert case.ok, case.problems


def test_the_api_publish_response_carries_the_count() -> None:
    schema = create_app().openapi()["components"]["schemas"]["Publication"]
    assert "scenarios_judged_by_new" in schema["required"]


# -- the CLI's text and --json --------------------------------------------------------------------------

NOTHING = """\
name: nothing to judge, nothing found
framework: demo
records: []
cases:
  - as_of: "2026-03-05T12:00:00Z"
    expect: []
"""


@pytest.fixture
def demo(practice: Practice, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The test `demo` rulesets with one scenario case dated long before the draft's effective date."""
    rules = tmp_path / "cli-rulesets"
    shutil.copytree(FIXTURES / "rulesets", rules)
    (rules / "demo" / "tests").mkdir()
    (rules / "demo" / "tests" / "nothing.yaml").write_text(NOTHING)
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(rules))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    draft = tmp_path / "draft.yaml"
    draft.write_text((rules / "demo" / "demo-2.0.0.yaml").read_text().replace("version: 2.0.0", "version: 3.0.0"))
    return draft


TODAY = dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)


def test_rules_publish_says_no_case_judged_the_new_version(practice: Practice, demo: Path) -> None:
    result = vigil("rules", "publish", str(demo), "--effective-from", "2027-01-01", *practice.args(), at=TODAY)
    assert result.exit_code == 0, said(result.stderr)
    assert ("1 scenario cases passed (0 of them as of 2027-01-01 or later, judged by the new version: add "
            "scenarios dated then to test it)") in said(result.stdout)


def test_rules_publish_json_has_the_count(practice: Practice, demo: Path) -> None:
    cases = NOTHING + '  - as_of: "2027-01-02T12:00:00Z"\n    expect: []\n'
    (demo.parent / "cli-rulesets" / "demo" / "tests" / "nothing.yaml").write_text(cases)
    result = vigil("rules", "publish", str(demo), "--effective-from", "2027-01-01", "--json", *practice.args(),
                   at=TODAY)
    assert result.exit_code == 0, said(result.stderr)
    body = json.loads(result.stdout)
    assert (body["scenarios_passed"], body["scenarios_judged_by_new"]) == (2, 1)
