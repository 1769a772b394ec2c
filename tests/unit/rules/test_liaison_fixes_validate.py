"""`rules validate` (and so publishing) refuses a rule id that is another framework's rule, and a
blank citation or authority: both had validated clean, the first giving findings of one rule id in
two frameworks, the second findings that cite no regulation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine import clock
from engine.cli.main import app
from engine.errors import ErrorDetail, RulesetError
from engine.rules import publish
from engine.rules.validate import validate_bytes, validate_paths
from tests.ruleset_texts import SOP_T

RULESET = """\
framework: {framework}
version: {version}
title: Some rules
effective_from: 2026-01-01
authority: {authority}
rules:
  - id: {rule_id}
    title: New hires are trained
    citation: {citation}
    severity: high
    match:
      episode: employment_episode where end_at == null
    subject: episode
    message: Train {{{{ episode.person_id }}}}.
    sop: SOP-T
"""


def ruleset(framework: str, rule_id: str, *, version: str = "1.0.0", citation: str = "c 1",
            authority: str = "t") -> str:
    return RULESET.format(framework=framework, version=version, rule_id=rule_id, citation=citation,
                          authority=authority)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The rulesets folder in use: framework `pub` with rule PUB-TRN-001 in two versions."""
    rules = tmp_path / "rulesets"
    (rules / "pub").mkdir(parents=True)
    (rules / "pub" / "pub-1.0.0.yaml").write_text(ruleset("pub", "PUB-TRN-001"))
    (rules / "pub" / "pub-1.1.0.yaml").write_text(ruleset("pub", "PUB-TRN-001", version="1.1.0"))
    (tmp_path / "policies" / "sops").mkdir(parents=True)
    (tmp_path / "policies" / "sops" / "SOP-T.md").write_text(SOP_T)
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(rules))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(tmp_path / "policies"))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    return rules


def about(problems: list[ErrorDetail], field: str) -> list[ErrorDetail]:
    return [d for d in problems if d.field == field]


# -- a rule id of another framework ----------------------------------------------------------------------


def test_the_rulesets_in_use_validate_clean(root: Path) -> None:
    """One id in several versions of one framework is that rule's history, not a clash."""
    report = validate_paths([root])
    assert report.ok, report.problems


def test_a_draft_holding_another_frameworks_rule_id_is_refused_naming_the_id_file_line_and_framework(
        root: Path, tmp_path: Path) -> None:
    draft = tmp_path / "oth-1.0.0.yaml"
    draft.write_text(ruleset("oth", "PUB-TRN-001"))
    report = validate_paths([draft])
    [problem] = about(report.problems, "id")
    assert (problem.rule_id, problem.file, problem.line) == ("PUB-TRN-001", str(draft), 7)
    assert "already a rule of pub" in problem.reason and "oth" in problem.reason


def test_a_draft_held_in_memory_is_refused_too(root: Path) -> None:
    report = validate_bytes(ruleset("oth", "PUB-TRN-001").encode(), "draft.yaml")
    [problem] = about(report.problems, "id")
    assert (problem.rule_id, problem.file, problem.line) == ("PUB-TRN-001", "draft.yaml", 7)
    assert "already a rule of pub" in problem.reason
    assert validate_bytes(ruleset("pub", "PUB-TRN-001", version="2.0.0").encode(), "draft.yaml").ok


def test_two_frameworks_of_the_folder_sharing_a_rule_id_are_both_named(root: Path) -> None:
    (root / "oth").mkdir()
    (root / "oth" / "oth-1.0.0.yaml").write_text(ruleset("oth", "PUB-TRN-001"))
    report = validate_paths([root])
    found = {(Path(d.file or "").name, d.rule_id) for d in about(report.problems, "id")}
    assert found == {("pub-1.0.0.yaml", "PUB-TRN-001"), ("pub-1.1.0.yaml", "PUB-TRN-001"),
                     ("oth-1.0.0.yaml", "PUB-TRN-001")}
    assert all("also a rule of" in d.reason for d in about(report.problems, "id"))


def test_rules_validate_exits_2_on_a_clash(root: Path) -> None:
    (root / "oth").mkdir()
    (root / "oth" / "oth-1.0.0.yaml").write_text(ruleset("oth", "PUB-TRN-001"))
    result = CliRunner().invoke(app, ["rules", "validate", "--json"])
    assert result.exit_code == 2
    assert '"rule_id": "PUB-TRN-001"' in result.stdout and '"field": "id"' in result.stdout


def test_publishing_another_frameworks_rule_id_writes_nothing(root: Path) -> None:
    with clock.frozen(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)), pytest.raises(RulesetError) as caught:
        publish.publish(ruleset("oth", "PUB-TRN-001").encode(), name="d.yaml", effective_from=dt.date(2026, 7, 1))
    assert [(d.rule_id, d.field, d.file) for d in caught.value.details] == [("PUB-TRN-001", "id", "d.yaml")]
    assert "already a rule of pub" in caught.value.details[0].reason
    assert not (root / "oth").exists()


# -- a rule id with another framework's prefix --------------------------------------------------------------


def test_a_rule_id_beginning_with_another_frameworks_prefix_is_refused(root: Path, tmp_path: Path) -> None:
    """A liaison pass: a HIPAA rule written `OSHA-300-LOG-001` validated clean, and its findings read
    as OSHA's. Every catalog and shipped id begins with its framework's prefix."""
    draft = tmp_path / "oth-1.0.0.yaml"
    draft.write_text(ruleset("oth", "PUB-LOG-002"))
    [problem] = about(validate_paths([draft]).problems, "id")
    assert (problem.rule_id, problem.file, problem.line) == ("PUB-LOG-002", str(draft), 7)
    assert "rule id PUB-LOG-002 begins PUB-, the prefix of pub's rule ids, but it is a rule of oth" in problem.reason
    [same] = about(validate_bytes(draft.read_bytes(), "draft.yaml").problems, "id")
    assert same.reason == problem.reason.replace(str(draft), "draft.yaml")
    # a new framework's own prefix, and pub's own new rules, are fine
    assert validate_bytes(ruleset("oth", "OTH-LOG-002").encode(), "draft.yaml").ok
    assert validate_bytes(ruleset("pub", "PUB-LOG-002", version="2.0.0").encode(), "draft.yaml").ok


def test_a_version_mixing_in_another_frameworks_prefix_is_refused_whichever_files_are_checked(
        root: Path) -> None:
    (root / "oth").mkdir()
    (root / "oth" / "oth-1.0.0.yaml").write_text(
        ruleset("oth", "OTH-TRN-001") + ruleset("oth", "PUB-LOG-009").split("rules:\n", 1)[1])
    for checked in ([root], [root / "oth" / "oth-1.0.0.yaml"]):
        problems = about(validate_paths(checked).problems, "id")
        assert [(p.rule_id, p.line) for p in problems] == [("PUB-LOG-009", 16)], checked
        assert "give it an id beginning OTH-, as the oth rules do" in problems[0].reason


def test_the_shipped_rulesets_ids_each_begin_with_their_frameworks_prefix() -> None:
    from engine.rules.catalog import load_all
    from engine.rules.id_prefixes import prefix, prefix_clashes

    shipped = load_all(Path(__file__).resolve().parents[3] / "rulesets")
    assert {(i.spec.framework, prefix(r.id)) for i in shipped for r in i.spec.rules} == {
        ("hipaa", "HIPAA"), ("osha", "OSHA"), ("cms", "CMS"), ("credentialing", "CRED"), ("ai_use", "AI")}
    assert prefix_clashes(shipped, []) == [] and prefix_clashes(shipped[:1], shipped[1:]) == []


# -- blank citations --------------------------------------------------------------------------------------


@pytest.mark.parametrize("citation", ["''", "'   '", '"\\t"'])
def test_a_blank_citation_is_refused_naming_the_rule_and_field(root: Path, tmp_path: Path, citation: str) -> None:
    draft = tmp_path / "pub" / "pub-2.0.0.yaml"  # where its framework's files lie: no placement problem
    draft.parent.mkdir()
    draft.write_text(ruleset("pub", "PUB-TRN-001", version="2.0.0", citation=citation))
    [problem] = validate_paths([draft]).problems
    assert (problem.rule_id, problem.field, problem.line) == ("PUB-TRN-001", "citation", 9)
    assert "rule PUB-TRN-001 has a blank citation" in problem.reason
    [same] = validate_bytes(draft.read_bytes(), "draft.yaml").problems
    assert (same.rule_id, same.field) == ("PUB-TRN-001", "citation")


def test_a_blank_authority_is_refused_naming_the_field(root: Path, tmp_path: Path) -> None:
    draft = tmp_path / "pub" / "pub-2.0.0.yaml"  # where its framework's files lie: no placement problem
    draft.parent.mkdir()
    draft.write_text(ruleset("pub", "PUB-TRN-001", version="2.0.0", authority="' '"))
    [problem] = validate_paths([draft]).problems
    assert (problem.field, problem.line, problem.rule_id) == ("authority", 5, None)
    assert "authority is blank" in problem.reason


def test_publishing_a_blank_citation_writes_nothing(root: Path) -> None:
    with clock.frozen(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)), pytest.raises(RulesetError) as caught:
        publish.publish(ruleset("pub", "PUB-TRN-001", version="2.0.0", citation="''").encode(), name="d.yaml",
                        effective_from=dt.date(2026, 7, 1))
    assert [(d.rule_id, d.field) for d in caught.value.details] == [("PUB-TRN-001", "citation")]
    assert not (root / "pub" / "pub-2.0.0.yaml").exists()
