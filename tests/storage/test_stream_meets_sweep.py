"""A finding the live stream opened on one import's events alone, which a sweep over the whole record
does not raise, resolves at that sweep (probe 25: it had stayed open for ever).

AI-TX-008 asks for the patient's AI-use disclosure on any of their encounters: the stream sees only
the encounter of the import, the sweep sees the one recorded a month earlier with consent.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.findings.tables import FindingRow

REPO = Path(__file__).resolve().parents[2]
ORG = "clinic-tx"
NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
ENCOUNTER = {"type": "encounter", "patient_id": "PT3", "clinician_person_id": "P1", "establishment_id": "EST-HOU",
             "modality": "in_person", "clinician_state": "TX", "patient_state": "TX", "ambient_recording": True}
RECORDS = [
    {"type": "organization", "id": "ORG-T", "name": "Test Clinic", "states": ["TX"]},
    {"type": "establishment", "id": "EST-HOU", "org_id": "ORG-T", "name": "Houston", "naics": "621111",
     "state": "TX", "tz": "America/Chicago", "holiday_calendar": "US-FEDERAL"},
    {"type": "person", "id": "P1", "first_name": "Ann", "last_name": "Quill"},
    {"type": "employment_episode", "id": "EP1", "person_id": "P1", "establishment_id": "EST-HOU",
     "role": "physician", "start_at": "2025-01-06T08:00:00-06:00", "licensed_clinician": True},
    {"type": "patient", "id": "PT3", "last_name": "Moss", "first_name": "Eve", "state": "TX"},
    {**ENCOUNTER, "id": "ENC-5", "at": "2026-11-02T09:00:00-06:00", "recording_started_at": "2026-11-02T09:01:00-06:00",
     "recording_consent_at": "2026-11-02T08:55:00-06:00"},
]
LATER = {**ENCOUNTER, "id": "ENC-7", "at": "2026-12-02T10:00:00-06:00",
         "recording_started_at": "2026-12-02T10:01:00-06:00"}


@pytest.fixture(autouse=True)
def _shipped_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(REPO / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(REPO / "policies"))
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(tmp_path / "evidence"))


def _tx008(engine: Engine) -> list[tuple[str, str]]:
    with unit_of_work(engine) as s:
        return sorted((r.subject_id, r.state) for r in s.scalars(
            select(FindingRow).where(FindingRow.org_id == ORG, FindingRow.rule_id == "AI-TX-008")))


def test_a_stream_finding_the_sweep_does_not_raise_resolves_at_the_sweep(engine: Engine) -> None:
    with clock.frozen(NOW), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=RECORDS, actor="test", source="test", stream=False)
    with clock.frozen(NOW), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[LATER], actor="test", source="test", stream=True)
    opened = _tx008(engine)
    assert opened == [("ENC-7", "open")], opened  # the stream, on ENC-7 alone
    with clock.frozen(NOW + dt.timedelta(hours=1)), unit_of_work(engine) as s:
        sweep = pipeline.evaluate(s, org_id=ORG, as_of=clock.now(), actor="test", frameworks=["ai_use"])
    assert not [v for v in sweep.result.violations if v.rule_id == "AI-TX-008"]  # the whole record: disclosed
    assert all(state == "resolved" for _, state in _tx008(engine)), (opened, _tx008(engine))
