"""A draft is validated where the liaison keeps it. `vigil rules validate drafts/x.yaml` had refused
every draft outside `rulesets/<framework>/` ("lies in the folder 'drafts': a framework's versions live
in rulesets/demo/"), and following that hint put the draft in force at once, with none of
publishing's checks (the liaison probe)."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.rules.validate import validate_paths

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DEMO = FIXTURES / "rulesets" / "demo" / "demo-1.0.0.yaml"


def _rulesets(tmp_path: Path) -> Path:
    root = tmp_path / "rulesets"
    shutil.copytree(FIXTURES / "rulesets", root)
    return root


def test_a_draft_outside_the_rulesets_folder_validates_wherever_it_lies_and_whatever_its_name(tmp_path: Path) -> None:
    root = _rulesets(tmp_path)
    draft = tmp_path / "drafts" / "training-change.yaml"
    draft.parent.mkdir()
    draft.write_text(DEMO.read_text().replace("version: 1.0.0", "version: 1.5.0"))
    report = validate_paths([draft], rulesets=root, policies=FIXTURES / "policies")
    assert report.ok, report.problems


def test_a_misplaced_file_in_the_rulesets_folder_is_still_refused(tmp_path: Path) -> None:
    root = _rulesets(tmp_path)
    misplaced = root / "other" / "demo-1.5.0.yaml"
    misplaced.parent.mkdir()
    misplaced.write_text(DEMO.read_text().replace("version: 1.0.0", "version: 1.5.0"))
    report = validate_paths([misplaced], rulesets=root, policies=FIXTURES / "policies")
    assert any("lies in the folder 'other'" in p.reason for p in report.problems), report.problems
    whole = validate_paths([root], rulesets=root, policies=FIXTURES / "policies")
    assert any("lies in the folder 'other'" in p.reason for p in whole.problems), whole.problems
