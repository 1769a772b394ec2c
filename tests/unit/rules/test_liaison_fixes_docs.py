"""`vigil rules docs` documents the rulesets folder in use (VIGIL_RULESETS_DIR), as every other
`rules` command, evaluation and publishing read it: it had always documented the installation's
rulesets/, so a version published into the folder set was missing from the catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.main import app
from engine.rules.docs import render_all, title_shown

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
    # 1.0.0 runs until the day before 1.9.0 takes over (it had read "2026-01-01 to open")
    assert "| 1.0.0 | 2026-01-01 to 2026-12-31 (then 1.9.0) |" in pages["pub.md"]
    assert "| 1.9.0 | 2027-01-01 to open |" in pages["pub.md"]
    assert "SOP: `SOP-T` Train new hires" in pages["pub.md"]  # the title from the policies in use


def test_a_later_version_withdrawn_puts_the_one_before_back_in_the_catalog(rulesets: Path) -> None:
    (rulesets / "pub" / "withdrawals.yaml").write_text(
        'withdrawals:\n- {version: 1.9.0, "on": 2027-02-01, reason: r, by: lee, at: "2026-12-07T10:00:00Z"}\n')
    page = render_all()["pub.md"]
    assert "| 1.0.0 | 2026-01-01 to 2026-12-31, again from 2027-02-01 |" in page
    assert "| 1.9.0 | 2027-01-01 to 2027-01-31, withdrawn from 2027-02-01 |" in page


@pytest.mark.parametrize("template, shown", [
    ("First audit log review of {{ finding.subject.id }}", "First audit log review of ‹subject id›"),
    ("Train {{ finding.facts.episode.person_id | upper }}{% if x %} now{% endif %}", "Train ‹episode person id› now"),
    ("Review {{ 'a' ~ b }} {# note #}", "Review ‹value›"),
    ("Train new hires", "Train new hires"),
])
def test_an_sop_title_shows_its_placeholders_named_not_as_template_syntax(template: str, shown: str) -> None:
    assert title_shown(template) == shown


def test_rules_docs_json_is_the_catalog_the_pages_are_written_from(rulesets: Path, tmp_path: Path) -> None:
    (tmp_path / "policies" / "sops" / "SOP-T.md").write_text(
        "---\ntitle: First review of {{ finding.subject.id }}\n---\n# SOP-T\n")
    out = tmp_path / "docs"
    result = CliRunner().invoke(app, ["rules", "docs", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["written"] == ["pub.md", "README.md"]
    (pub,) = body["frameworks"]
    assert [(v["version"], v["in_force"]) for v in pub["versions"]] == [
        ("1.0.0", [{"from": "2026-01-01", "to": "2026-12-31"}]), ("1.9.0", [{"from": "2027-01-01", "to": None}])]
    assert pub["documented_version"] == "1.9.0" and [r["id"] for r in pub["rules"]] == ["PUB-TRN-001"]
    assert pub["rules"][0]["sop"] == {"id": "SOP-T", "title": "First review of ‹subject id›",
                                      "title_template": "First review of {{ finding.subject.id }}"}
    assert "- SOP: `SOP-T` First review of ‹subject id›" in (out / "pub.md").read_text()
    checked = CliRunner().invoke(app, ["rules", "docs", "--out", str(out), "--check", "--json"])
    assert checked.exit_code == 0 and json.loads(checked.stdout)["current"] is True
    (out / "pub.md").write_text("stale")
    stale = CliRunner().invoke(app, ["rules", "docs", "--out", str(out), "--check", "--json"])
    assert stale.exit_code == 1 and json.loads(stale.stdout)["stale"] == ["pub.md"]


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
