"""`vigil rules oscal FRAMEWORK [VERSION] --out DIR`: the ruleset version in force (or the one named)
written as an OSCAL catalog and profile, the same bytes the service gives; an unknown framework or
version is bad input (exit 2) naming those there are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.rules.oscal_export import document_bytes, export_ruleset
from tests.cli.conftest import AT, FIXTURES, crashed, said, vigil


@pytest.fixture
def practice(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = cli_env / "practice.yaml"
    path.write_text("params:\n  demo:\n    new_hire_days: [{value: 21, from: 2026-02-01, approved_by: Lee}]\n")
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(path))
    return path


def test_it_writes_the_version_in_force_as_catalog_and_profile(cli_env: Path, practice: Path) -> None:
    out = cli_env / "oscal"
    result = vigil("rules", "oscal", "demo", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["version"] == "1.0.0"  # 2.0.0 starts 2026-07-01; the clock stands at 2026-03-05
    assert summary["files"] == {"catalog": str(out / "demo-1.0.0.catalog.json"),
                                "profile": str(out / "demo-1.0.0.profile.json")}
    assert summary["controls"] == summary["rules"] == 2 and summary["practice_values"] == 1
    assert summary["params_on"] == "2026-03-05"
    expected = export_ruleset("demo", "1.0.0", day=AT.date(), root=FIXTURES / "rulesets", params_path=practice)
    assert (out / "demo-1.0.0.catalog.json").read_bytes() == document_bytes(expected.catalog)
    assert (out / "demo-1.0.0.profile.json").read_bytes() == document_bytes(expected.profile)
    profile = json.loads((out / "demo-1.0.0.profile.json").read_text())["profile"]
    assert profile["imports"] == [{"href": "demo-1.0.0.catalog.json", "include-all": {}}]
    assert profile["modify"]["set-parameters"][0]["values"] == ["21"]


def test_a_version_named_and_the_words_for_a_person(cli_env: Path) -> None:
    out = cli_env / "o"
    result = vigil("rules", "oscal", "demo", "2.0.0", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert ("demo 2.0.0: 2 controls for 2 rules, 1 parameter (0 set by the practice, as of 2026-07-01)"
            in said(result.stdout))
    assert f"wrote {out / 'demo-2.0.0.catalog.json'}" in said(result.stdout)
    again = cli_env / "again"
    assert vigil("rules", "oscal", "demo", "2.0.0", "--out", str(again), at=AT.replace(year=2027)).exit_code == 0
    for name in ("demo-2.0.0.catalog.json", "demo-2.0.0.profile.json"):  # another day, the same bytes
        assert (out / name).read_bytes() == (again / name).read_bytes()


@pytest.mark.parametrize(("args", "message", "reason"), [
    (["dmo"], "no ruleset for framework 'dmo'", "the frameworks are: demo"),
    (["demo", "3.0.0"], "no ruleset demo@3.0.0", "the demo versions are: 1.0.0, 2.0.0"),
])
def test_an_unknown_framework_or_version_exits_2_naming_those_there_are(
        cli_env: Path, args: list[str], message: str, reason: str) -> None:
    out = cli_env / "none"
    result = vigil("rules", "oscal", *args, "--out", str(out))
    assert result.exit_code == 2 and not crashed(result)
    assert message in said(result.stderr) and reason in said(result.stderr)
    assert not out.exists()  # nothing written
    result = vigil("rules", "oscal", *args, "--out", str(out), "--json")
    error = json.loads(result.stderr)["error"]
    assert result.exit_code == 2 and error["code"] == "not_found" and error["message"] == message


def test_no_version_in_force_today_exits_2(cli_env: Path) -> None:
    result = vigil("rules", "oscal", "demo", "--out", str(cli_env / "x"), at=AT.replace(year=2025))
    assert result.exit_code == 2 and "no demo version is in force on 2025-03-05" in said(result.stderr)
    assert "1.0.0, 2.0.0" in said(result.stderr)


def test_out_must_be_a_folder(cli_env: Path) -> None:
    taken = cli_env / "file"
    taken.write_text("x")
    result = vigil("rules", "oscal", "demo", "--out", str(taken))
    assert result.exit_code == 2 and "it is a file, not a directory" in said(result.stderr)


def test_a_mistyped_practice_parameters_file_is_refused(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As `vigil params list` refuses it: the profile would have set the defaults as the practice's."""
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(cli_env / "practise.yaml"))
    result = vigil("rules", "oscal", "demo", "--out", str(cli_env / "x"))
    assert result.exit_code == 2 and "practise.yaml does not exist" in said(result.stderr)
