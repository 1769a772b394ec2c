"""The osha ruleset end to end where a scenario file cannot look: several findings of one rule on
one subject (scenario expectations are keyed by rule and subject), on both backends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.records.validation import validate_record
from engine.rules.catalog import RULESETS_DIR, compile_for
from engine.rules.derive import RecordView
from engine.rules.loader import load_ruleset_file
from engine.rules.runner import ListSource, evaluate_rules

RULESET = RULESETS_DIR / "osha" / "osha-2026.1.0.yaml"


Finding = tuple[str, str, str, str, str, str | None]


def _run(records: list[dict[str, object]], as_of: str, backend: str) -> list[Finding]:
    views = []
    for raw in records:
        model, data = validate_record(raw)
        views.append(RecordView(model.type, model.id, 1, data))
    compiled = compile_for(load_ruleset_file(Path(RULESET)), {}, "test")
    at = dt.datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    run = evaluate_rules(ListSource(views), [compiled], at, backend=backend)
    return sorted((v.rule_id, f"{v.subject.type}/{v.subject.id}", v.occurrence_key, v.state, v.severity, v.due)
                  for v in run.violations)


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_several_300a_findings_on_one_summary(backend: str) -> None:
    records: list[dict[str, object]] = [
        {"type": "establishment", "id": "E-1", "naics": "621999", "tz": "America/Denver",
         "max_concurrent_employees": {"2022": 30, "2023": 30, "2024": 30, "2025": 30}},
        {"type": "osha_summary", "id": "S-2023", "establishment_id": "E-1", "year": 2023,
         "certified_at": "2024-01-28T15:00:00-07:00", "certifier_title": "Safety Coordinator",
         "posted_from": "2024-02-03", "posted_until": "2024-04-15", "ita_submitted_at": "2024-02-20T15:00:00-07:00"},
        {"type": "osha_summary", "id": "S-2024", "establishment_id": "E-1", "year": 2024,
         "certified_at": "2025-01-28T15:00:00-07:00", "certifier_title": "Owner",
         "posted_from": "2025-02-01", "posted_until": "2025-04-30", "ita_submitted_at": "2025-02-20T15:00:00-07:00"},
        {"type": "osha_summary", "id": "S-2025", "establishment_id": "E-1", "year": 2025,
         "certified_at": "2026-01-28T15:00:00-07:00", "certifier_title": "Owner",
         "posted_from": "2026-02-01", "posted_until": "2026-04-30", "ita_submitted_at": "2026-02-20T15:00:00-07:00"},
    ]
    found = _run(records, "2026-11-30T17:00:00Z", backend)
    assert found == [
        ("OSHA-REC-300A-003", "establishment/E-1", "2023:certifier", "overdue", "medium", "2024-02-01"),
        ("OSHA-REC-300A-003", "establishment/E-1", "2023:post", "violation", "high", "2024-02-01"),
        ("OSHA-REC-300A-003", "establishment/E-1", "2023:post_through", "overdue", "medium", "2024-04-16"),
        # 2022 needs no 300A: records for 2022 depend on the 2021 headcount, which is unknown
        ("OSHA-REC-SCOPE-001", "establishment/E-1", "2026", "violation", "low", None),
    ]


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_log_entry_and_privacy_findings_on_one_case(backend: str) -> None:
    records: list[dict[str, object]] = [
        {"type": "establishment", "id": "E-1", "naics": "621999", "tz": "America/Denver",
         "max_concurrent_employees": {"2025": 30}},
        {"type": "osha_case", "id": "OC-1", "establishment_id": "E-1", "person_id": "P-1", "sharps": True,
         "privacy_case": False, "incident_at": "2026-03-02T10:00:00-07:00", "learned_at": "2026-03-02T10:30:00-07:00",
         "logged_at": "2026-03-12T09:00:00-06:00", "f301_at": "2026-03-12T09:00:00-06:00",
         "sharps_log_at": "2026-03-03T09:00:00-07:00", "device_type": "lancet", "device_brand": "Unistik",
         "work_area": "Lab"},
        {"type": "hepb_vaccination", "id": "HB-1", "person_id": "P-1", "antibody_immune": True},
    ]
    found = [f for f in _run(records, "2026-03-20T17:00:00Z", backend) if f[0] != "OSHA-REC-SCOPE-001"]
    assert found == [
        ("OSHA-REC-LOG-002", "osha_case/OC-1", "entry", "violation", "medium", "2026-03-09"),
        ("OSHA-REC-LOG-002", "osha_case/OC-1", "privacy", "overdue", "medium", "2026-03-09"),
    ]
