"""What a derivation says of one finding of a rule that holds several cases: a duty marked `no_deadline`
(a standing condition the catalog gives no deadline) is a `violation` with no `due`, at the rule's
overdue severity, on both backends, from the day it began, while a real deadline of the same rule keeps
`due_soon` / `overdue` and its `due` (the contract: `state` is `violation` for "a condition with no
deadline", and `due` is present whenever the rule has a deadline); a duty marked `advisory` gives an
advisory finding.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml

from engine.records.validation import Position, validate_record
from engine.rules.catalog import RULESETS_DIR, compile_for, in_force
from engine.rules.derive import RecordView
from engine.rules.loader import load_ruleset_file
from engine.rules.runner import ListSource, evaluate_rules
from engine.rules.schemas import Violation

HIPAA = [load_ruleset_file(p) for p in sorted((RULESETS_DIR / "hipaa").glob("*.yaml"))]
RECORDS: list[dict[str, Any]] = [
    {"type": "organization", "id": "O1", "name": "Clinic", "states": ["CA"]},
    {"type": "establishment", "id": "E1", "org_id": "O1", "name": "Main", "state": "CA", "tz": "America/Los_Angeles"},
    # found unencrypted on 20 May: a standing condition
    {"type": "device", "id": "D1", "kind": "laptop", "stores_ephi": True, "encryption_status": "none",
     "encryption_checked_at": "2026-05-20T10:00:00-07:00"},
    # encrypted, verified on 20 May: re-verification due 30 days later, a deadline
    {"type": "device", "id": "D2", "kind": "laptop", "stores_ephi": True, "encryption_status": "verified",
     "encryption_checked_at": "2026-05-20T10:00:00-07:00"},
    # PHI flowed on 1 June at 09:00 with no BAA; another vendor's flow goes live on 10 June
    {"type": "vendor", "id": "V1", "name": "Fax", "handles_phi": True, "relationship_type": "business_associate"},
    {"type": "phi_flow", "id": "F1", "vendor_id": "V1", "first_at": "2026-06-01T09:00:00-07:00"},
    {"type": "vendor", "id": "V2", "name": "Portal", "handles_phi": True, "relationship_type": "business_associate"},
    {"type": "phi_flow", "id": "F2", "vendor_id": "V2", "first_at": "2026-06-10T09:00:00-07:00"},
    # found unencrypted this morning: in force from the check, not from tomorrow
    {"type": "device", "id": "D3", "kind": "laptop", "stores_ephi": True, "encryption_status": "none",
     "encryption_checked_at": "2026-06-01T08:00:00-07:00"},
    # PHI flowed at 09:00 on 15 January; the BAA took effect at 12:00 that day: late, however close
    {"type": "vendor", "id": "V3", "name": "Billing", "handles_phi": True, "relationship_type": "business_associate"},
    {"type": "phi_flow", "id": "F3", "vendor_id": "V3", "first_at": "2026-01-15T09:00:00-08:00"},
    {"type": "baa", "id": "B3", "vendor_id": "V3", "signed_at": "2026-01-15T12:00:00-08:00",
     "clauses": ["PERMITTED_USES", "SAFEGUARDS", "BREACH_REPORTING", "SUBCONTRACTORS", "INDIVIDUAL_RIGHTS",
                 "HHS_ACCESS", "RETURN_DESTROY"]},
]


def findings(as_of: str) -> dict[str, Violation]:
    at = dt.datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    views = []
    for i, raw in enumerate(RECORDS):
        model, data = validate_record(raw, position=Position(file="test", index=i))
        views.append(RecordView(model.type, model.id, 1, data))
    compiled = compile_for(in_force(HIPAA, at.date(), ["hipaa"])[0], {}, "test", on=at.date())
    out: dict[str, dict[str, Violation]] = {}
    for backend in ("python", "durable"):
        result = evaluate_rules(ListSource(views), [compiled], at, backend=backend)
        out[backend] = {f"{v.subject.id}#{v.occurrence_key}": v for v in result.violations
                        if v.rule_id in ("HIPAA-SEC-ENC-008", "HIPAA-BA-BAA-009")}
    assert {k: (v.state, v.due, v.severity, v.message) for k, v in out["python"].items()} == {
        k: (v.state, v.due, v.severity, v.message) for k, v in out["durable"].items()}
    return out["python"]


def test_a_standing_condition_is_a_violation_with_no_due_and_a_deadline_keeps_its_due() -> None:
    found = findings("2026-06-01T20:00:00Z")  # 13:00 in California on 1 June
    unencrypted = found["D1#not_encrypted"]
    assert (unencrypted.state, unencrypted.due, unencrypted.severity) == ("violation", None, "high")
    assert "deadline" not in unencrypted.facts
    # the day PHI first flowed with no BAA: overdue from the flow's instant (the BAA's deadline), critical
    # at once, not "due soon" until midnight
    flowed = found["V1#V1:before_flow"]
    assert (flowed.state, flowed.due, flowed.severity) == ("overdue", "2026-06-01", "critical")
    assert "had to be in effect by then" in flowed.message
    found_today = found["D3#not_encrypted"]
    assert (found_today.state, found_today.due) == ("violation", None)
    late_same_day = found["V3#V3:before_flow"]
    assert (late_same_day.state, late_same_day.due, late_same_day.severity) == ("violation", "2026-01-15", "critical")
    assert "took effect only at 2026-01-15T12:00:00-08:00" in late_same_day.message
    assert not any(k.startswith("V3#V3:clauses") for k in found)
    # a flow still to come is a deadline, and so is the re-verification
    golive = found["V2#V2:before_flow"]
    assert (golive.state, golive.due) == ("due_soon", "2026-06-10")
    assert "D2#encryption_check" not in found
    later = findings("2026-06-25T20:00:00Z")
    assert (later["D2#encryption_check"].state, later["D2#encryption_check"].due) == ("overdue", "2026-06-19")
    assert (later["V2#V2:before_flow"].state, later["V2#V2:before_flow"].due) == ("overdue", "2026-06-10")


def test_a_sharps_log_only_encouraged_is_an_advisory_finding_on_both_backends() -> None:
    """OSHA-BBP-SIL-011: binding where Part 1904 records are required, "else low advisory" (catalog); the
    derivation marks the duty `advisory`, and the finding is flagged so, the binding one not."""
    scenario = yaml.safe_load((RULESETS_DIR / "osha" / "tests" / "bbp-sil-011.yaml").read_text(encoding="utf-8"))
    views = []
    for i, raw in enumerate(scenario["records"]):
        model, data = validate_record(raw, position=Position(file="test", index=i))
        views.append(RecordView(model.type, model.id, 1, data))
    at = dt.datetime(2026, 4, 9, 5, tzinfo=dt.UTC)
    osha = [load_ruleset_file(p) for p in sorted((RULESETS_DIR / "osha").glob("*.yaml"))]
    compiled = compile_for(in_force(osha, at.date(), ["osha"])[0], {}, "test", on=at.date())
    for backend in ("python", "durable"):
        found = {v.subject.id: v for v in evaluate_rules(ListSource(views), [compiled], at, backend=backend).violations
                 if v.rule_id == "OSHA-BBP-SIL-011"}
        assert (found["OC-4"].severity, found["OC-4"].advisory) == ("low", True)
        assert (found["OC-2"].severity, found["OC-2"].advisory) == ("medium", False)
