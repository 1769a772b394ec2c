"""`vigil rules docs` documents the rulesets folder in use (VIGIL_RULESETS_DIR), as every other
`rules` command, evaluation and publishing read it: it had always documented the installation's
rulesets/, so a version published into the folder set was missing from the catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.main import app
from engine.rules.docs import render_all

RULESET = """\
framework: pub
version: {version}
title: Published rules
effective_from: {effective_from}
authority: t
rules:
  - id: PUB-TRN-001
    title: New hires are trained
    citation: c 1
    severity: high
    match:
      episode: employment_episode where end_at == null
    subject: episode
    message: Train {{{{ episode.person_id }}}}.
    sop: SOP-T
"""


@pytest.fixture
def rulesets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A rulesets folder of its own (framework `pub`, two versions), and policies with SOP-T's title."""
    root = tmp_path / "my-rulesets"
    (root / "pub").mkdir(parents=True)
    for version, day in (("1.0.0", "2026-01-01"), ("1.9.0", "2027-01-01")):
        (root / "pub" / f"pub-{version}.yaml").write_text(RULESET.format(version=version, effective_from=day))
    (tmp_path / "policies" / "sops").mkdir(parents=True)
    (tmp_path / "policies" / "sops" / "SOP-T.md").write_text("---\ntitle: Train new hires\n---\n# SOP-T\n")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(root))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(tmp_path / "policies"))
    return root


def test_render_all_documents_the_rulesets_folder_in_use(rulesets: Path) -> None:
    pages = render_all()
    assert sorted(pages) == ["README.md", "pub.md"]  # none of the installation's frameworks
    assert "| 1.0.0 | 2026-01-01 to open |" in pages["pub.md"]
    assert "| 1.9.0 | 2027-01-01 to open |" in pages["pub.md"]
    assert "SOP: `SOP-T` Train new hires" in pages["pub.md"]  # the title from the policies in use


def test_rules_docs_writes_the_pages_of_the_folder_in_use(rulesets: Path, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    result = CliRunner().invoke(app, ["rules", "docs", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "pub.md"]
    assert "| 1.9.0 |" in (out / "pub.md").read_text()
    checked = CliRunner().invoke(app, ["rules", "docs", "--out", str(out), "--check"])
    assert checked.exit_code == 0 and "current" in checked.output


def test_rules_docs_refuses_a_rulesets_folder_that_does_not_exist(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(tmp_path / "none"))
    out = tmp_path / "docs"
    result = CliRunner().invoke(app, ["rules", "docs", "--out", str(out)])
    assert result.exit_code == 2
    assert "does not exist" in result.output and not out.exists()  # not an index of no framework
