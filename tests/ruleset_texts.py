"""A small ruleset and a scenario for it, shared by the tests of publishing, validation and the scenario
format: framework `pub`, one rule (PUB-TRN-001: a new hire is trained within `train_days`, 30 by default)."""

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
