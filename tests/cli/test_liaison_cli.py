"""`vigil rules publish|withdraw|rollback` and `vigil params list|set`: exit 0 with --json that
parses, exit 2 naming the problem and writing nothing, and each change in the audit trail."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import FIXTURES, ORG, Practice, said, vigil

TODAY = dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)


@pytest.fixture
def rules(practice: Practice, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    root = tmp_path / "cli-rulesets"
    shutil.copytree(FIXTURES / "rulesets", root)
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(root))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    draft = tmp_path / "draft.yaml"
    draft.write_text((root / "demo" / "demo-2.0.0.yaml").read_text().replace("version: 2.0.0", "version: 3.0.0"))
    return root


def run(practice: Practice, *args: str) -> tuple[int, str, str]:
    result = vigil(*args, *practice.args(), at=TODAY)
    return result.exit_code, result.stdout, said(result.stderr)


def test_publish_then_withdraw_then_rollback_refused(practice: Practice, rules: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    draft = str(rules.parent / "draft.yaml")
    code, out, err = run(practice, "rules", "publish", draft, "--effective-from", "2027-01-01", "--by", "lee",
                         "--json")
    assert code == 0, err
    body = json.loads(out)
    assert (body["version"], body["effective_from"], body["replaces"], body["path"]) == (
        "3.0.0", "2027-01-01", "2.0.0", "demo/demo-3.0.0.yaml")
    assert (rules / "demo" / "demo-3.0.0.yaml").is_file()
    code, out, err = run(practice, "rules", "publish", draft, "--effective-from", "2027-01-01")
    assert code == 2 and "is not above demo 3.0.0" in err
    monkeypatch.setenv("VIGIL_ACTOR", "officer-batch")  # without --by: who every other command names
    code, out, err = run(practice, "rules", "withdraw", "demo", "3.0.0", "--reason", "postponed", "--json")
    assert code == 0, err
    assert json.loads(out)["never_in_force"] is True
    # refused for what it asks, as a backdated withdrawal or an unknown version is: bad input, exit 2
    # (it had been 1, a machine's failure a script may retry); the API still answers 409
    code, out, err = run(practice, "rules", "rollback", "demo", "--reason", "bad")
    assert code == 2 and "would leave no demo ruleset in force" in err
    code, out, err = run(practice, "rules", "withdraw", "demo", "2.0.0", "--reason", "bad")
    assert code == 2 and "ruleset.withdraw.last" in err
    code, out, err = run(practice, "rules", "withdraw", "demo", "3.0.0", "--reason", "again")
    assert code == 2 and "ruleset.withdraw.again" in err
    code, out, err = run(practice, "audit", "log", "--json")
    actions = [(e["action"], e["actor"]) for e in json.loads(out) if e["action"].startswith("ruleset.")]
    assert actions[0] == ("ruleset.published", "cli:lee") and actions[1] == ("ruleset.withdrawn", "officer-batch")
    assert len(actions) == 2  # the refused publication and rollback left no entry


def test_preview_and_publish_work_for_a_liaison_with_no_database(rules: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A liaison drafting rules has no practice data: both had stopped at "cannot open database
    sqlite:///./vigil.db: no such file". They now judge a practice with no records and no runs, and
    say so; a database that is named and missing is still refused."""
    where = tmp_path / "no-data"
    where.mkdir()
    monkeypatch.chdir(where)
    draft = str(rules.parent / "draft.yaml")
    shown = vigil("rules", "preview", draft, "--json", at=TODAY)
    assert shown.exit_code == 0, shown.output
    impact = json.loads(shown.stdout)
    assert impact["would_open"] == [] and impact["unchanged"] == 0
    assert impact["notes"][0].startswith(f"no database ({where / 'vigil.db'} does not exist, and neither --db nor "
                                         "DATABASE_URL names one): judged as a practice with no records")
    text = vigil("rules", "preview", draft, at=TODAY)
    assert text.exit_code == 0 and "note: no database" in said(text.stdout)
    done = vigil("rules", "publish", draft, "--effective-from", "2027-01-01", "--json", at=TODAY)
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert body["version"] == "3.0.0" and (rules / "demo" / "demo-3.0.0.yaml").is_file()
    assert "the publication is recorded in no audit trail" in body["notes"][0]
    assert not (where / "vigil.db").exists()  # no database was made
    missing = vigil("rules", "preview", draft, "--db", "sqlite:///typo.db", at=TODAY)
    assert missing.exit_code == 2 and "no such file" in said(missing.stderr)


def test_withdrawing_again_before_the_day_moves_the_withdrawal(practice: Practice, rules: Path) -> None:
    draft = str(rules.parent / "draft.yaml")
    assert run(practice, "rules", "publish", draft, "--effective-from", "2027-01-01")[0] == 0
    code, _, err = run(practice, "rules", "withdraw", "demo", "3.0.0", "--reason", "typo", "--on", "2099-01-01")
    assert code == 0, err
    code, out, err = run(practice, "rules", "withdraw", "demo", "3.0.0", "--reason", "meant 2029", "--on", "2029-01-01")
    assert code == 0, err
    assert " ".join(out.split()) == ("moved the withdrawal of demo 3.0.0 from 2099-01-01 to 2029-01-01: 2.0.0 is in "
                                     "force again")
    listed = vigil("rules", "list", "--json", at=TODAY)
    assert listed.exit_code == 0, listed.stderr
    shown = {v["version"]: v for v in json.loads(listed.stdout) if v["framework"] == "demo"}
    assert shown["3.0.0"]["withdrawn_on"] == "2029-01-01"


@pytest.mark.parametrize("args, text", [
    (["--effective-from", "2026-11-29"], "is before today"),
    (["--effective-from", "next week"], "--effective-from: not a date"),
])
def test_a_refused_publication_exits_2_and_writes_nothing(practice: Practice, rules: Path, args: list[str],
                                                          text: str) -> None:
    code, _, err = run(practice, "rules", "publish", str(rules.parent / "draft.yaml"), *args)
    assert code == 2 and text in err, err
    assert sorted(p.name for p in (rules / "demo").iterdir()) == ["demo-1.0.0.yaml", "demo-2.0.0.yaml"]


def test_params_set_and_list(practice: Practice, rules: Path) -> None:
    code, out, err = run(practice, "params", "set", "demo", "new_hire_days", "5", "--from", "2026-12-15",
                         "--approved-by", "Dr. Rivera", "--reason", "policy 4.2", "--json")
    assert code == 0, err
    assert {k: json.loads(out)[k] for k in ("before", "value", "effective_from")} == {
        "before": 10, "value": 5, "effective_from": "2026-12-15"}
    code, out, err = run(practice, "params", "set", "demo", "new_hire_days", "five", "--approved-by", "a",
                         "--reason", "r")
    assert code == 2 and "'five' is not a whole number" in err
    listed = vigil("params", "list", "--framework", "demo", "--on", "2026-12-15", "--json", at=TODAY)
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["value"], r["source"], r["approved_by"]) for r in rows] == [
        ("new_hire_days", 5, "practice", "Dr. Rivera")]
    table = vigil("params", "list", "--framework", "demo", at=TODAY)
    assert table.exit_code == 0 and "new_hire_days" in table.stdout and "5 from 2026-12-15" in table.stdout


def test_params_set_without_from_starts_on_the_first_day_no_run_has_judged(practice: Practice, rules: Path) -> None:
    """Web pass: with a sweep every few hours, "from today" (the default) was refused nearly always,
    "choose 2026-12-01 or later"; with no --from the change starts on that first day itself."""
    (rules.parent / "practice.yaml").write_text("params: {}\n", encoding="utf-8")
    judged = vigil("evaluate", *practice.args(), "--as-of", "2026-11-30T14:00:00Z", at=TODAY)
    assert judged.exit_code == 0, judged.output
    code, out, err = run(practice, "params", "set", "demo", "new_hire_days", "5", "--approved-by", "Dr. Rivera",
                         "--reason", "policy 4.2", "--json")
    assert code == 0, err
    assert json.loads(out)["effective_from"] == "2026-12-01"
    code, _, err = run(practice, "params", "set", "demo", "new_hire_days", "6", "--from", "2026-11-30",
                       "--approved-by", "Dr. Rivera", "--reason", "policy 4.3")
    assert code == 2 and "choose 2026-12-01 or later" in said(err)  # a day named is not moved


def test_params_list_refuses_values_the_rules_cannot_take_as_evaluate_does(practice: Practice, rules: Path) -> None:
    """Probe: with `new_hire_days: seven` and an unknown `bogus_param`, `params list` exited 0 showing "seven" as
    the value in force while `vigil evaluate` refused the file. The listing refuses it as evaluate does (exit 2),
    naming every problem (file, key, reason), and lists nothing."""
    path = rules.parent / "practice.yaml"
    path.write_text("params:\n  demo: {new_hire_days: seven, bogus_param: 3}\n", encoding="utf-8")
    problems = [f"{path}, field demo.bogus_param: unknown parameter 'bogus_param' for ruleset demo",
                f"{path}, field demo.new_hire_days: parameter new_hire_days: 'seven' is not a whole number"]
    evaluated = vigil("evaluate", *practice.args(), "--as-of", "2026-11-30T15:00:00Z", at=TODAY)
    assert evaluated.exit_code == 2 and all(p in said(evaluated.stderr) for p in problems), evaluated.output
    for args in ([], ["--json"], ["--framework", "demo", "--json"], ["--on", "2026-12-15"]):
        listed = vigil("params", "list", *args, at=TODAY)
        assert listed.exit_code == 2, (args, listed.output)
        if "--json" in args:  # the error as JSON on stderr, each problem with its file, field and reason
            details = json.loads(listed.stderr)["error"]["details"]
            assert [(d["file"], d["field"]) for d in details] == [(str(path), "demo.bogus_param"),
                                                                   (str(path), "demo.new_hire_days")], details
            assert all(p.split(": ", 1)[1] in [d["reason"] for d in details] for p in problems), details
        else:
            assert all(p in said(listed.stderr) for p in problems), said(listed.stderr)
        assert listed.stdout == ""


def test_params_set_takes_a_negative_value_after_the_end_of_the_options(practice: Practice, rules: Path) -> None:
    """Probe: the documented `params set ... -4` was an unknown option. After `--` the value reaches the
    parameter's check and is refused naming the bound; --help says how to give one."""
    refused = vigil("params", "set", "demo", "new_hire_days", "--approved-by", "C", "--reason", "t",
                    *practice.args(), "--", "-4", at=TODAY)
    assert refused.exit_code == 2, refused.output
    assert "-4 is below the smallest value allowed, 0 (days)" in said(refused.stderr)
    assert not (rules.parent / "practice.yaml").exists()
    shown = said(vigil("params", "set", "--help").stdout)
    assert "a negative number after --, which ends the options: -- -4" in shown and "[a, b]" in shown


def test_the_documented_negative_value_example_is_refused_naming_the_bound(
        practice: Practice, rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/rulesets.md's example of a refused negative value, run as written (the database and the
    organization from the environment), over the shipped rulesets that declare hipaa.access_revoke_hours."""
    from engine.rules.catalog import RULESETS_DIR

    docs = (Path(__file__).resolve().parents[2] / "docs" / "rulesets.md").read_text(encoding="utf-8")
    found = re.search(r"`(vigil params set hipaa access_revoke_hours [^`]*-4)`", " ".join(docs.split()))
    assert found, "the example is gone from docs/rulesets.md"
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(RULESETS_DIR))
    monkeypatch.setenv("DATABASE_URL", practice.url)
    monkeypatch.setenv("VIGIL_ORG", ORG)
    refused = vigil(*shlex.split(found.group(1))[1:], at=TODAY)
    assert refused.exit_code == 2, refused.output
    assert "-4 is below the smallest value allowed, 0 (hours)" in said(refused.stderr)
    assert not (rules.parent / "practice.yaml").exists()


def test_rules_test_runs_a_drafts_framework_scenarios_with_the_draft_in_place(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 46's liaison pass: `vigil rules test draft.yaml` read the ruleset as a scenario
    ("0: Input should be a valid string", twenty times); publishing was the only way to run the
    scenarios against a draft. Nothing is written to the rulesets folder."""
    from tests.ruleset_texts import PUB_RULESET, pub_folder

    root = pub_folder(tmp_path, monkeypatch)
    before = sorted(p.name for p in root.rglob("*"))
    same = tmp_path / "same.yaml"
    same.write_text(PUB_RULESET.replace("version: 1.0.0", "version: 1.1.0"), encoding="utf-8")
    result = vigil("rules", "test", str(same))
    assert result.exit_code == 0, result.output
    assert f"pub/tests/train.yaml (with {same}) case 0" in said(result.stdout) and "1 passed, 0 failed" in result.stdout
    shorter = tmp_path / "shorter.yaml"
    shorter.write_text(PUB_RULESET.replace("version: 1.0.0", "version: 1.1.0").replace("default: 30", "default: 10"),
                       encoding="utf-8")
    failed = vigil("rules", "test", str(shorter), "--json")
    assert failed.exit_code == 1, failed.output
    report = json.loads(failed.stdout)
    assert (report["passed"], report["failed"]) == (0, 1) and "2026-05-14" in " ".join(report["results"][0]["problems"])
    broken = tmp_path / "broken.yaml"
    broken.write_text(PUB_RULESET.replace("severity: high", "severity: huge"), encoding="utf-8")
    refused = vigil("rules", "test", str(broken))
    assert refused.exit_code == 2 and "severity" in said(refused.stderr) and "valid string" not in refused.stderr
    assert sorted(p.name for p in root.rglob("*")) == before


def test_rules_test_refuses_a_draft_publishing_would_refuse_before_any_case_and_names_no_staged_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The regulatory-liaison pass (7 December 2026): a draft that loads but does not validate (a
    field no record has) ran 146 passing cases, then stopped naming
    /tmp/vigil-publish-uyia_02a/hipaa/hipaa-2026.3.0.yaml:133; and --json named each scenario by its
    staged copy. Docs: a draft that does not load is refused up front, never naming the copy."""
    from tests.ruleset_texts import PUB_RULESET, pub_folder

    root = pub_folder(tmp_path, monkeypatch)
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(PUB_RULESET.replace("version: 1.0.0", "version: 1.1.0").replace(
        "where end_at == null", "where end_at == null and bogus_fieldx != null"), encoding="utf-8")
    refused = vigil("rules", "test", str(invalid))
    assert refused.exit_code == 2, refused.output
    told = said(refused.stderr)
    assert f"{invalid}:" in told and "has no field 'bogus_fieldx'" in told and "nothing was run" in told
    assert "vigil-publish-" not in refused.output and "case 0" not in refused.stdout
    shorter = tmp_path / "shorter.yaml"
    shorter.write_text(PUB_RULESET.replace("version: 1.0.0", "version: 1.1.0").replace("default: 30", "default: 10"),
                       encoding="utf-8")
    failed = vigil("rules", "test", str(shorter), "--json")
    [result] = json.loads(failed.stdout)["results"]
    assert result["scenario"] == str(root / "pub" / "tests" / "train.yaml")
    assert "vigil-publish-" not in failed.stdout


# -- a version edited or placed by hand (the regulatory-liaison pass, 7 December 2026) ------------------


def test_rules_validate_names_a_released_version_edited_in_a_copy_of_the_rulesets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sed -i` on a rule title of rulesets/hipaa/hipaa-2026.1.0.yaml, in a copy in use: 0 problems, and
    only `sha256sum -c RELEASED.sha256` noticed."""
    root = tmp_path / "rulesets"
    shutil.copytree(Path(__file__).resolve().parents[2] / "rulesets", root, ignore=shutil.ignore_patterns("tests"))
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(root))
    path = root / "hipaa" / "hipaa-2026.1.0.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "title: Unique user identification, no shared log-ins", "title: Unique user IDs", 1), encoding="utf-8")
    result = vigil("rules", "validate", "--json")
    assert result.exit_code == 2, result.output
    [problem] = json.loads(result.stdout)["problems"]
    assert (problem["file"], problem["field"]) == (str(path), "sha256")
    assert "5119133b7fe55ccfe5facae126b31fb1b7aefa4adc181c6eea7a557b36e14882" in problem["reason"]


def test_a_published_version_edited_afterwards_is_named_by_validate_refused_by_evaluate_and_by_verify(
        practice: Practice, rules: Path) -> None:
    draft = str(rules.parent / "draft.yaml")
    code, _, err = run(practice, "rules", "publish", draft, "--effective-from", "2027-01-01")
    assert code == 0, err
    published = rules / "demo" / "demo-3.0.0.yaml"
    published.write_text(published.read_text().replace("severity: high", "severity: low", 1), encoding="utf-8")
    code, out, err = run(practice, "rules", "validate")
    assert code == 2 and "demo 3.0.0 has changed under its version: its ruleset.published entry" in err, err
    (rules.parent / "practice.yaml").write_text("", encoding="utf-8")
    code, out, err = run(practice, "evaluate", "--as-of", "2026-11-30T15:00:00Z")
    assert code == 2 and "ruleset.integrity.changed" in err and str(published) in err, err
    code, out, err = run(practice, "audit", "verify")
    assert code == 1 and "ruleset demo@3.0.0" in err, err
