"""A small ruleset and a scenario for it, shared by the tests of publishing, validation and the scenario
format: framework `pub`, one rule (PUB-TRN-001: a new hire is trained within `train_days`, 30 by default),
and the rulesets folder those tests set up with them."""

from pathlib import Path

import pytest

PUB_RULESET = """\
framework: pub
version: 1.0.0
title: Published rules
effective_from: 2026-01-01
authority: t
params:
  train_days: {type: int, unit: days, default: 30, description: Days to train a new hire}
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
      within: {days: params.train_days}
      met_by: training_record where person_id == episode.person_id and completed_at >= episode.start_at
      met_at: completed_at
    message: Train {{ episode.person_id }} by {{ due }}.
    sop: SOP-T
"""

#: SOP-T, the template PUB-TRN-001 names: an SOP needs its front matter, as `vigil tasks sops` and
#: `vigil rules validate` check it
SOP_T = """\
---
id: SOP-T
title: Train new hires
owner_role: compliance_officer
default_due_days: 7
---
## Steps
1. Train them.
"""

#: overdue from 2026-06-03 (30 days), severity high; line 9 is the expectation
PUB_SCENARIO = """\
name: a new hire untrained after 30 days
framework: pub
records:
  - {type: establishment, id: E1, tz: America/Chicago}
  - {type: employment_episode, id: EP1, person_id: P1, establishment_id: E1, start_at: "2026-05-04T09:00:00-05:00"}
cases:
  - as_of: "2026-06-10T12:00:00Z"
    expect:
      - {rule_id: PUB-TRN-001, subject: employment_episode/EP1, state: overdue, due: "2026-06-03"}
"""


def pub_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ruleset: str = PUB_RULESET) -> Path:
    """A rulesets folder in use holding `pub` 1.0.0 (`ruleset`) and its scenario, SOP-T's template
    and an empty practice parameters file; returns the rulesets folder."""
    rules = tmp_path / "rulesets"
    (rules / "pub" / "tests").mkdir(parents=True)
    (rules / "pub" / "pub-1.0.0.yaml").write_text(ruleset, encoding="utf-8")
    (rules / "pub" / "tests" / "train.yaml").write_text(PUB_SCENARIO, encoding="utf-8")
    (tmp_path / "policies" / "sops").mkdir(parents=True)
    (tmp_path / "policies" / "sops" / "SOP-T.md").write_text(SOP_T, encoding="utf-8")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(rules))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(tmp_path / "policies"))
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(tmp_path / "practice.yaml"))
    return rules
