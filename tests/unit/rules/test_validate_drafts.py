"""A draft is validated where the liaison keeps it. `vigil rules validate drafts/x.yaml` had refused
every draft outside `rulesets/<framework>/` ("lies in the folder 'drafts': a framework's versions live
in rulesets/demo/"), and following that hint put the draft in force at once, with none of
publishing's checks (the liaison probe)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

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


# -- a problem of the format no longer hides the others (the regulatory-liaison pass, 7 December 2026) --

STAGED = """\
framework: pub
version: 1.1.0
title: t
effective_from: 2027-01-01
authority: t
rules:
  - id: PUB-SYS-001
    title: Systems listed
    citation: c 1
    severity: urgent
    match:
      sys: system where added_att != null
    subject: sys
    message: "{{ system.name }}"
    sop: SOP-NOPE
  - id: PUB-SYS-002
    title: Other
    citation: c 2
    severity: high
    tag: Q
    match:
      sys: system where stores_ephi == true
    subject: sys
    message: "{{ sys.nme }}"
    sop: SOP-T
"""


def test_a_rule_refused_for_its_severity_still_has_its_conditions_message_and_sop_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`severity: urgent` had been the only problem named; mended, the three others appeared one by
    one (an unknown field in a condition, a name the message is not given, an SOP with no template),
    and another rule's misspelt field after them."""
    from engine import clock
    from engine.errors import VigilError
    from engine.rules import publish
    from engine.rules.validate import validate_bytes
    from tests.ruleset_texts import pub_folder

    pub_folder(tmp_path, monkeypatch)
    report = validate_bytes(STAGED.encode(), "draft.yaml")
    said = {(d.rule_id, d.field): d.reason for d in report.problems}
    assert set(said) == {("PUB-SYS-001", "rules[0].severity"), ("PUB-SYS-001", "match.sys"),
                         ("PUB-SYS-001", "message"), ("PUB-SYS-001", "sop"), ("PUB-SYS-002", "rules[1].tag"),
                         ("PUB-SYS-002", "message")}, report.problems
    assert "'added_att' (did you mean added_at?)" in said[("PUB-SYS-001", "match.sys")]
    assert "unknown name `system`" in said[("PUB-SYS-001", "message")]
    assert "SOP-NOPE has no template" in said[("PUB-SYS-001", "sop")]
    assert "has no field 'nme'" in said[("PUB-SYS-002", "message")]
    with clock.frozen(dt.datetime(2026, 6, 1, tzinfo=dt.UTC)), pytest.raises(VigilError) as refused:
        publish.plan_publication(STAGED.encode(), name="draft.yaml")
    assert {(d.rule_id, d.field) for d in refused.value.details} == set(said)
