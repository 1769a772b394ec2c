"""A finding names a record the practice keeps as its subject, even when its rule matches a derived
fact: a clinician's license standing in one state is a finding about the person, the state being its
occurrence (docs/rulesets.md, "What a finding names as its subject")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.main import app
from engine.records.schemas import RECORD_MODELS
from engine.rules.catalog import RULESETS_DIR
from engine.rules.facts import about
from engine.rules.facttypes import all_fact_types
from engine.rules.loader import load_ruleset_file

SHIPPED = [load_ruleset_file(p) for p in sorted(RULESETS_DIR.glob("*/*.yaml"))]


@pytest.mark.parametrize(("fact_id", "data", "expected"), [
    ("P1/NV", {"person_id": "P1"}, ("person", "P1", "NV")),
    ("P1/MON/LEIE", {"person_id": "P1"}, ("person", "P1", "MON/LEIE")),
    ("CLIA/E6", {"establishment_id": "E6"}, ("establishment", "E6", "CLIA")),  # the record's id need not lead
    ("2026/10-0000001/236", {"org_id": "ORG-1"}, ("organization", "ORG-1", "2026/10-0000001/236")),
    ("P1", {"person_id": "P1"}, ("person", "P1", "")),
])
def test_the_subject_is_the_named_record_and_the_rest_of_the_id_its_occurrence(
        fact_id: str, data: dict[str, str], expected: tuple[str, str, str]) -> None:
    field = next(iter(data))
    record_type = {"person_id": "person", "establishment_id": "establishment", "org_id": "organization"}[field]
    assert about((record_type, field), fact_id, data) == expected


def test_a_view_of_one_record_keeps_its_id_and_a_missing_record_leaves_the_fact_its_own_subject() -> None:
    assert about(("ai_output", "id"), "OUT-1", {}) == ("ai_output", "OUT-1", "")
    # no organization on file: FactInfo falls back to the fact's own type and id (nothing dropped)
    assert about(("organization", "org_id"), "2026/-/236", {"org_id": None}) == ("", "", "")


def _subject_fact_type(pattern: str) -> str:
    return re.match(r"\s*(?:no\s+)?(\w+)", pattern).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize("loaded", SHIPPED, ids=lambda lr: lr.spec.framework)
def test_every_shipped_rule_names_a_record_type_as_its_subject(loaded) -> None:  # type: ignore[no-untyped-def]
    """A rule whose subject alias matches a derived fact needs a derivation that says which record
    its facts are about; else its findings would name a fact type no practice record has."""
    types = all_fact_types()
    for rule in loaded.spec.rules:
        fact_type = _subject_fact_type(rule.match[rule.subject])
        ft = types[fact_type]
        named = ft.about[0] if ft.about else fact_type
        assert named in RECORD_MODELS, f"{rule.id}: subject {rule.subject} is a {fact_type}, about no record"


def test_evaluate_names_the_clinician_and_the_state_of_a_lapsed_license(tmp_path: Path) -> None:
    records = [
        {"type": "organization", "id": "ORG-1", "name": "Clinic", "states": ["NV"]},
        {"type": "establishment", "id": "E1", "org_id": "ORG-1", "name": "Main", "naics": "621111", "state": "NV",
         "tz": "America/Los_Angeles"},
        {"type": "person", "id": "P1", "first_name": "Ana", "last_name": "Diaz"},
        {"type": "employment_episode", "id": "EP1", "person_id": "P1", "establishment_id": "E1", "role": "physician",
         "start_at": "2024-01-02T08:00:00-08:00", "licensed_clinician": True},
        {"type": "credential", "id": "C1", "person_id": "P1", "kind": "STATE_LICENSE", "jurisdiction": "NV",
         "number": "NV-1", "issued_at": "2024-01-01T09:00:00-08:00", "expires_at": "2026-05-31T17:00:00-07:00",
         "expiry_rule": "exact", "status": "active"},
    ]
    path = tmp_path / "records.json"
    path.write_text(json.dumps(records))
    result = CliRunner().invoke(app, ["evaluate", "--records", str(path), "--as-of", "2026-06-15T12:00:00Z",
                                      "--framework", "credentialing", "--json"])
    assert result.exit_code == 0, result.output
    found = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "CRED-LIC-001"]
    assert [(f["subject"], f.get("occurrence_key"), f["state"], f["due"]) for f in found] == [
        ({"type": "person", "id": "P1"}, "NV", "overdue", "2026-05-31")]
    assert {"type": "credential", "id": "C1", "version": 1} in found[0]["evidence"]


def test_a_finding_about_an_account_belongs_to_its_holders_site(tmp_path: Path) -> None:
    """Account findings were organization-wide, so a site's view and an auditor of that site missed them."""
    records = [
        {"type": "establishment", "id": "E1", "name": "Main", "naics": "621111", "state": "CO",
         "tz": "America/Denver"},
        {"type": "establishment", "id": "E2", "name": "North", "naics": "621111", "state": "CO",
         "tz": "America/Denver"},
        {"type": "person", "id": "P1", "first_name": "Ana", "last_name": "Diaz"},
        {"type": "employment_episode", "id": "EP1", "person_id": "P1", "establishment_id": "E2", "role": "front_desk",
         "start_at": "2024-01-02T08:00:00-07:00", "phi_access_required": True},
        {"type": "system", "id": "EHR", "name": "EHR", "stores_ephi": True, "audit_logging_enabled": True},
        {"type": "account", "id": "A1", "system_id": "EHR", "user_id": "frontdesk", "person_id": "P1",
         "interactive": True, "generic": True, "enabled_at": "2024-01-02T08:00:00-07:00"},
    ]
    import datetime as dt

    from engine.records.validation import Position, validate_record
    from engine.rules.catalog import compile_for, in_force
    from engine.rules.derive import RecordView
    from engine.rules.runner import ListSource, evaluate_rules

    at = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    views = []
    for i, raw in enumerate(records):
        model, data = validate_record(raw, position=Position(file="t", index=i))
        views.append(RecordView(model.type, model.id, 1, data))
    hipaa = [r for r in SHIPPED if r.spec.framework == "hipaa"]
    compiled = compile_for(in_force(hipaa, at.date(), ["hipaa"])[0], {}, "test", on=at.date())
    found = [v for v in evaluate_rules(ListSource(views), [compiled], at, backend="python").violations
             if v.subject.type == "account"]
    assert found and {v.establishment_id for v in found} == {"E2"}, [(v.rule_id, v.establishment_id) for v in found]
