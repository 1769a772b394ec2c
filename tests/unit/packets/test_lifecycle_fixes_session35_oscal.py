"""OSCAL for a finding a person closed (an event that happened, dealt with): the risk is closed by the
person's entry, and the control is not satisfied (what the finding reports did happen), unlike a
finding a run resolved because its condition cleared."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from engine.packets.build import build_packet
from engine.packets.oscal_ids import oscal_uuid
from engine.packets.schemas import PacketInput
from engine.packets.sign import Ed25519Signer
from tests.unit.packets.test_packet_oscal import SCHEMAS, schema_errors


def _closed(packet_input: PacketInput, *, run_id: str | None) -> PacketInput:
    """F-3 resolved by the officer's close (run_id None) or by a run."""
    closing = {"at": "2026-02-20T05:00:00Z", "actor": "user:officer", "kind": "transition", "from_state": "open",
               "to_state": "resolved", "reason": "recording deleted, patient told, staff retrained", "run_id": run_id}
    findings = [dict(f, history=[*f["history"], closing], resolved_by_run=run_id) if f["id"] == "F-3" else f
                for f in packet_input.findings]
    return packet_input.model_copy(update={"findings": findings})


def _documents(packet: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> tuple[Path, Path]:
    report = build_packet(packet, tmp_path / "p.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        zf.extractall(tmp_path / "x")
    folder = tmp_path / "x" / report.packet_id / "data" / "oscal"
    return folder / "assessment-results.json", folder / "poam.json"


def test_a_finding_a_person_closed_closes_its_risk_by_their_entry_and_leaves_the_control_unsatisfied(
        packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path, oscal_schema_dir: Path) -> None:
    results_path, poam_path = _documents(_closed(packet_input, run_id=None), signer, tmp_path)
    results, poam = json.loads(results_path.read_text()), json.loads(poam_path.read_text())
    assert schema_errors(results, oscal_schema_dir / SCHEMAS["assessment-results.json"]) == []
    assert schema_errors(poam, oscal_schema_dir / SCHEMAS["poam.json"]) == []
    (result,) = results["assessment-results"]["results"]
    finding = next(f for f in result["findings"] if f["uuid"] == oscal_uuid("org-demo", "finding", "F-3"))
    assert finding["target"]["status"]["state"] == "not-satisfied"
    risk = next(r for r in poam["plan-of-action-and-milestones"]["risks"]
                if r["uuid"] == oscal_uuid("org-demo", "risk", "F-3"))
    assert risk["status"] == "closed"
    assert {p["name"]: p["value"] for p in risk["props"]}["closure"] == "closed-by-person"
    (entry,) = risk["risk-log"]["entries"]
    assert (entry["status-change"], entry["start"]) == ("closed", "2026-02-20T05:00:00Z")
    assert entry["description"] == "Closed by user:officer: recording deleted, patient told, staff retrained"


def test_a_finding_a_run_resolved_still_reads_satisfied(packet_input: PacketInput, signer: Ed25519Signer,
                                                        tmp_path: Path) -> None:
    results_path, poam_path = _documents(_closed(packet_input, run_id="R-9"), signer, tmp_path)
    (result,) = json.loads(results_path.read_text())["assessment-results"]["results"]
    finding = next(f for f in result["findings"] if f["uuid"] == oscal_uuid("org-demo", "finding", "F-3"))
    assert finding["target"]["status"]["state"] == "satisfied"
    risk = next(r for r in json.loads(poam_path.read_text())["plan-of-action-and-milestones"]["risks"]
                if r["uuid"] == oscal_uuid("org-demo", "risk", "F-3"))
    assert "risk-log" not in risk
