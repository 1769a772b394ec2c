"""`vigil rules ...` read the rulesets folder in use (VIGIL_RULESETS_DIR), as publish, preview,
evaluate and the UI do; `rules list` and `rules show` say which version each rule comes from and
where that version stands today."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import FIXTURES, crashed, said, vigil

PASSING = """\
name: nothing to judge, nothing found
framework: demo
records: []
cases:
  - as_of: "2026-03-05T12:00:00Z"
    expect: []
"""

FAILING = """\
name: a finding that cannot be there
framework: demo
records: []
cases:
  - as_of: "2026-03-05T12:00:00Z"
    expect:
      - {rule_id: DEMO-EXPORT-002, subject: access_event/AE-NONE, state: violation}
"""

WITHDRAWN = """\
withdrawals:
  - {version: 2.0.0, "on": 2026-03-01, reason: postponed, by: lee, at: "2026-02-27T10:00:00Z"}
"""


@pytest.fixture
def rules(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private rulesets folder (the test `demo` framework, which the shipped folder does not have),
    made the one in use."""
    root = cli_env / "my-rulesets"
    shutil.copytree(FIXTURES / "rulesets", root)
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(root))
    return root


def _scenario(rules: Path, name: str, text: str) -> Path:
    path = rules / "demo" / "tests" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


# --- validate and test with no path: the rulesets folder in use -----------------------------------------


def test_rules_validate_checks_the_rulesets_folder_in_use(rules: Path) -> None:
    ok = vigil("rules", "validate", "--json")
    assert ok.exit_code == 0, ok.output
    assert sorted(Path(f).name for f in json.loads(ok.stdout)["files"]) == ["demo-1.0.0.yaml", "demo-2.0.0.yaml"]
    broken = rules / "demo" / "demo-2.0.0.yaml"
    broken.write_text(broken.read_text().replace("severity: medium", "severity: dire"))
    result = vigil("rules", "validate")
    assert result.exit_code == 2, result.output
    # in the ruleset's words, at its key; it had said "field rules.1.severity: Input should be 'critical', ..."
    assert (f"{broken}:28, rule DEMO-EXPORT-002, field rules[1].severity: severity 'dire' is not one of critical, "
            "high, medium, low") in said(result.stderr)
    # a key that stands alone is set aside and the file's rules are still checked (loader.salvaged)
    assert "2 ruleset file(s), 4 rules, 0 scenario file(s), 1 problem(s)" in said(result.stdout)
    # a file that does not read as a ruleset at all: the summary says it did not load, not that it holds no rules
    broken.write_text(broken.read_text() + "rules: [\n")
    result = vigil("rules", "validate")
    assert result.exit_code == 2, result.output
    assert "2 ruleset file(s), 1 of which did not load (their rules were not checked), 2 rules in the others" in said(
        result.stdout)
    alone = vigil("rules", "validate", str(broken), "--json")
    assert json.loads(alone.stdout)["unloaded"] == [str(broken)]
    assert "1 ruleset file, which did not load (its rules were not checked)" in said(
        vigil("rules", "validate", str(broken)).stdout)


def test_rules_test_runs_the_scenarios_of_the_rulesets_folder_in_use(rules: Path) -> None:
    _scenario(rules, "passing.yaml", PASSING)
    result = vigil("rules", "test", "--backend", "python")
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed" in result.stdout and "passing.yaml" in result.stdout
    failing = _scenario(rules, "failing.yaml", FAILING)
    result = vigil("rules", "test", "--backend", "python", "--json")
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert (body["passed"], body["failed"]) == (1, 1)
    assert [r["scenario"] for r in body["results"] if not r["ok"]] == [str(failing)]


@pytest.mark.parametrize("given", ["folder", "file"])
def test_a_scenario_given_by_path_is_judged_by_the_ruleset_beside_it(rules: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     given: str) -> None:
    """A scenario carries its version's tests: it runs against the rulesets of its own folder, even when
    another folder is in use (the shipped one here, which has no `demo` framework)."""
    path = _scenario(rules, "passing.yaml", PASSING)
    monkeypatch.delenv("VIGIL_RULESETS_DIR")
    result = vigil("rules", "test", str(rules / "demo" if given == "folder" else path), "--backend", "python")
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed" in result.stdout


@pytest.mark.parametrize("command", [["validate"], ["test"], ["list"], ["show", "DEMO-EXPORT-002"]])
def test_a_rulesets_folder_in_use_that_does_not_exist(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                      command: list[str]) -> None:
    """`rules list` had printed an empty table and exited 0."""
    missing = cli_env / "no-such-rulesets"
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(missing))
    result = vigil("rules", *command)
    assert result.exit_code == 2, result.output
    assert f"the rulesets folder (VIGIL_RULESETS_DIR) {missing} does not exist" in said(result.stderr)


# --- list: each rule's version, with its status and effective dates --------------------------------------


def test_rules_list_says_where_each_version_stands(rules: Path) -> None:
    (rules / "demo" / "withdrawals.yaml").write_text(WITHDRAWN)
    result = vigil("rules", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    by_version = {(r["version"], r["rule_id"]): r for r in rows}
    assert len(by_version) == 4
    v1, v2 = by_version["1.0.0", "DEMO-TRN-001"], by_version["2.0.0", "DEMO-TRN-001"]
    assert (v1["status"], v1["effective_from"], v1["effective_to"], v1["withdrawn_on"]) == (
        "in force", "2026-01-01", "2026-07-01", None)
    assert (v2["status"], v2["effective_from"], v2["effective_to"], v2["withdrawn_on"], v2["withdrawal_reason"]) == (
        "withdrawn", "2026-07-01", None, "2026-03-01", "postponed")
    for key in ("framework", "rule_effective_from", "rule_effective_to", "title", "severity", "kind", "advisory",
                "citation", "sop"):  # the keys it had
        assert key in v1, key
    table = vigil("rules", "list")
    assert table.exit_code == 0, table.output
    assert "in force" in table.stdout and "withdrawn" in table.stdout and "2026-07-01" in table.stdout


def test_rules_list_statuses_match_get_rulesets(rules: Path) -> None:
    from engine import clock
    from engine.rules.versions import list_versions
    from tests.cli.conftest import AT

    rows = json.loads(vigil("rules", "list", "--json").stdout)
    with clock.frozen(AT):
        statuses = {v.version: v.status for v in list_versions()}
    assert statuses == {"1.0.0": "in force", "2.0.0": "scheduled"}
    assert {r["version"]: r["status"] for r in rows} == statuses


def test_rules_list_on_a_day_says_where_each_version_stands_then(rules: Path) -> None:
    """The docs describe a version's status "on the day"; `rules list` could only say today's."""
    before = json.loads(vigil("rules", "list", "--on", "2026-06-30", "--json").stdout)
    assert {r["version"]: (r["status"], r["status_on"]) for r in before} == {
        "1.0.0": ("in force", "2026-06-30"), "2.0.0": ("scheduled", "2026-06-30")}
    after = json.loads(vigil("rules", "list", "--on", "2026-07-01", "--json").stdout)
    assert {r["version"]: r["status"] for r in after} == {"1.0.0": "ended", "2.0.0": "in force"}
    table = vigil("rules", "list", "--on", "2026-07-01")
    assert table.exit_code == 0 and "status on 2026-07-01" in table.stdout, table.output
    bad = vigil("rules", "list", "--on", "July")
    assert bad.exit_code == 2 and "--on: not a date" in said(bad.stderr)


# --- show: which version, and --version ----------------------------------------------------------------


def test_rules_show_says_which_version_and_skips_a_withdrawn_one(rules: Path) -> None:
    (rules / "demo" / "withdrawals.yaml").write_text(WITHDRAWN)
    result = vigil("rules", "show", "DEMO-TRN-001", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["id"] == "DEMO-TRN-001" and shown["ruleset"] == "demo@1.0.0"
    assert shown["ruleset_version"] == {"framework": "demo", "version": "1.0.0", "status": "in force",
                                        "effective_from": "2026-01-01", "effective_to": "2026-07-01",
                                        "withdrawn_on": None, "withdrawal_reason": None,
                                        "superseded_by": None, "superseded_on": None}
    text = vigil("rules", "show", "DEMO-TRN-001")
    assert text.exit_code == 0, text.output
    assert "DEMO-TRN-001 as written in demo 1.0.0: in force, effective 2026-01-01 to 2026-07-01" in text.stdout
    assert "also in: 2.0.0 (withdrawn)" in text.stdout


def test_rules_show_version_chooses_one(rules: Path) -> None:
    newest = json.loads(vigil("rules", "show", "DEMO-TRN-001", "--json").stdout)
    assert newest["ruleset_version"]["version"] == "2.0.0" and newest["ruleset_version"]["status"] == "scheduled"
    older = vigil("rules", "show", "DEMO-TRN-001", "--version", "1.0.0", "--json")
    assert older.exit_code == 0, older.output
    body = json.loads(older.stdout)
    assert body["ruleset"] == "demo@1.0.0" and body["ruleset_version"]["status"] == "in force"
    assert body["obligation"]["within"]["amount"] == "params.new_hire_days"
    missing = vigil("rules", "show", "DEMO-TRN-001", "--version", "3.0.0")
    assert missing.exit_code == 2, missing.output
    assert "--version: DEMO-TRN-001 is not in version '3.0.0'" in said(missing.stderr)
    assert "2.0.0 (scheduled), 1.0.0 (in force)" in said(missing.stderr)


def test_rules_list_says_until_when_a_version_runs_before_the_next_takes_over(rules: Path) -> None:
    """A version with no effective_to read "to -" although a later version was scheduled to replace it."""
    first = rules / "demo" / "demo-1.0.0.yaml"
    first.write_text(first.read_text().replace("effective_to: 2026-07-01", "effective_to: null"))
    rows = json.loads(vigil("rules", "list", "--json").stdout)
    v1 = next(r for r in rows if r["version"] == "1.0.0")
    v2 = next(r for r in rows if r["version"] == "2.0.0")
    assert (v1["effective_to"], v1["superseded_by"], v1["superseded_on"]) == (None, "2.0.0", "2026-07-01")
    assert (v2["superseded_by"], v2["superseded_on"]) == (None, None)
    assert "2026-07-01 (2.0.0)" in vigil("rules", "list").stdout
    (rules / "demo" / "withdrawals.yaml").write_text(WITHDRAWN)  # 2.0.0 withdrawn before it began: 1.0.0 runs on
    rows = json.loads(vigil("rules", "list", "--json").stdout)
    assert next(r for r in rows if r["version"] == "1.0.0")["superseded_on"] is None


def test_validate_shows_the_offending_text_even_in_square_brackets(tmp_path: Path, cli_env: Path) -> None:
    """`[x for x in ...]` was read as terminal markup: the message said "... in ``" (probe 25)."""
    folder = tmp_path / "rules" / "demo"
    folder.mkdir(parents=True)
    text = (FIXTURES / "rulesets" / "demo" / "demo-1.0.0.yaml").read_text().replace(
        "episode: employment_episode where end_at == null",
        "episode: employment_episode where [x for x in params.new_hire_days]", 1)
    (folder / "demo-1.0.0.yaml").write_text(text)
    result = vigil("rules", "validate", str(tmp_path / "rules"))
    assert result.exit_code == 2
    assert "[x for x in params.new_hire_days]" in " ".join(result.stderr.split())


def test_validate_checks_scenario_files_without_running_them(tmp_path: Path) -> None:
    """Its help promised scenario files; a scenario with an unknown field, an as_of that is no
    instant and a rule id its ruleset lacks had passed validation (0 problems)."""
    from typer.testing import CliRunner

    from engine.cli.main import app

    root = tmp_path / "rulesets"
    shutil.copytree(Path(__file__).resolve().parents[2] / "rulesets", root)
    broken = root / "hipaa" / "tests" / "zz-broken.yaml"
    broken.write_text("name: broken\nframework: hipaa\nrules: [HIPAA-NOPE-999]\n"
                      "records:\n  - {type: person, id: P1, bogus: 1}\n"
                      "cases:\n  - as_of: 'not a date'\n    expect: []\n")
    runner = CliRunner()
    for target in ([str(root)], [str(broken)], [str(root / "hipaa" / "tests")]):
        result = runner.invoke(app, ["rules", "validate", *target, "--json"], env={"VIGIL_RULESETS_DIR": str(root)})
        assert result.exit_code == 2, (target, result.output)
        report = json.loads(result.stdout)
        reasons = " | ".join(p["reason"] for p in report["problems"])
        assert "unknown field 'bogus'" in reasons and "not a date" in reasons and "HIPAA-NOPE-999" in reasons, reasons
        assert len(report["problems"]) == 3, reasons  # a tests folder is read as scenarios, not rulesets
    broken.unlink()
    clean = runner.invoke(app, ["rules", "validate", str(root / "hipaa" / "tests")],
                          env={"VIGIL_RULESETS_DIR": str(root)})
    assert clean.exit_code == 0 and "0 problem(s)" in clean.output


# --- scenario files are read strictly ---------------------------------------------------------------------


def test_rules_test_refuses_a_misspelt_key_naming_it_with_no_traceback(rules: Path) -> None:
    """`subjct:` had stopped `rules test` with `KeyError: 'subject'` (exit 1), and `rules validate` had
    found nothing wrong; `severty:` had been ignored."""
    _scenario(rules, "passing.yaml", PASSING)
    typo = _scenario(rules, "typo.yaml", FAILING.replace("subject:", "subjct:").replace(
        "state: violation}", "state: violation, severty: low}"))
    result = vigil("rules", "test", "--backend", "python")
    assert result.exit_code == 2 and not crashed(result), result.output
    err = said(result.stderr)
    assert f"{typo}:7, field cases[0].expect[0].subjct: scenario 'a finding that cannot be there': unknown key " \
           "'subjct' in an expectation: did you mean 'subject'?" in err
    assert "field cases[0].expect[0].severty" in err and "KeyError" not in result.output
    assert "passing.yaml" not in result.stdout  # nothing ran: every file is checked first
    result = vigil("rules", "validate", "--json")
    assert result.exit_code == 2, result.output
    assert [p["field"] for p in json.loads(result.stdout)["problems"]] == [
        "cases[0].expect[0].subjct", "cases[0].expect[0].severty"]


def test_rules_validate_checks_a_scenario_kept_elsewhere_as_a_scenario(rules: Path, cli_env: Path) -> None:
    """It had been read as a ruleset: `field version: Field required` and seven more like it."""
    draft = cli_env / "drafts" / "some-scenario.yaml"
    draft.parent.mkdir()
    draft.write_text(PASSING)
    result = vigil("rules", "validate", str(draft))
    assert result.exit_code == 0, result.output
    assert "0 ruleset file(s), 0 rules, 1 scenario file(s), 0 problem(s)" in said(result.stdout)
    draft.write_text(PASSING.replace("records: []", "record: []"))
    result = vigil("rules", "validate", str(draft))
    assert result.exit_code == 2, result.output
    err = said(result.stderr)
    assert "unknown key 'record' in a scenario: did you mean 'records'?" in err and "field version" not in err


def test_validate_refuses_a_number_too_long_to_read_without_a_traceback(tmp_path: Path, cli_env: Path) -> None:
    """PyYAML's int() of 5,000 digits raised a ValueError: a traceback, exit 1."""
    folder = tmp_path / "rules" / "demo"
    folder.mkdir(parents=True)
    text = (FIXTURES / "rulesets" / "demo" / "demo-1.0.0.yaml").read_text()
    (folder / "demo-1.0.0.yaml").write_text(text + "extra: " + "1" * 5000 + "\n")
    result = vigil("rules", "validate", str(tmp_path / "rules"))
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "a number of 5,000 digits: too long to read" in " ".join(result.stderr.split())
