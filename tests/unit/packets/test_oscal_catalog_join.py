"""An auditor joins a packet's OSCAL assessment results to the ruleset's OSCAL catalog by control id:
every control the results review or judge a finding against is a control of the catalog exported
from the same ruleset file (`vigil rules oscal`), and the finding's rule is that control or one
inside it."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from engine.packets.build import build_packet
from engine.packets.schemas import PacketInput, RulesetFile
from engine.packets.sign import Ed25519Signer
from engine.rules.catalog import RULESETS_DIR, load_all
from engine.rules.oscal_export import export_ruleset
from tests.unit.packets.test_packet_oscal import SCHEMAS, schema_errors

SHIPPED = {item.spec.framework: item for item in load_all(RULESETS_DIR)}


def _packet_of(framework: str, packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> dict[str, Any]:
    """The assessment results of a packet shipping `framework`'s ruleset file, one finding per rule."""
    item = SHIPPED[framework]
    ruleset = RulesetFile(name=f"{framework}/{Path(item.path).name}", ruleset_id=framework,
                          version=item.spec.version, content=item.content, sha256=item.sha256)
    template = packet_input.findings[0]
    findings = [template | {"id": f"F-{i}", "rule_id": rule.id, "framework": framework, "citation": rule.citation,
                            "title": rule.title, "ruleset_version": item.spec.version, "history": []}
                for i, rule in enumerate(item.spec.rules)]
    runs = [r | {"rulesets": [{"id": framework, "version": item.spec.version, "sha256": item.sha256}]}
            for r in packet_input.runs]
    inp = packet_input.model_copy(update={"framework": framework, "rulesets": [ruleset], "runs": runs,
                                          "findings": findings, "finding_transitions": [], "tasks": [],
                                          "waivers": [], "requirements": []})
    report = build_packet(inp, tmp_path / f"{framework}.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        return dict(json.loads(zf.read(f"{report.packet_id}/data/oscal/assessment-results.json")))


@pytest.mark.parametrize("framework", sorted(SHIPPED))
def test_the_results_controls_are_the_catalogs_controls(framework: str, packet_input: PacketInput,
                                                        signer: Ed25519Signer, tmp_path: Path,
                                                        oscal_schema_dir: Path) -> None:
    doc = _packet_of(framework, packet_input, signer, tmp_path)
    assert schema_errors(doc, oscal_schema_dir / SCHEMAS["assessment-results.json"]) == []
    (result,) = doc["assessment-results"]["results"]
    reviewed = {c["control-id"] for c in result["reviewed-controls"]["control-selections"][0]["include-controls"]}
    export = export_ruleset(framework, SHIPPED[framework].spec.version, day=dt.date(2026, 3, 5), root=RULESETS_DIR,
                            params_path=tmp_path / "practice.yaml")
    controls = {c["id"]: c for c in export.catalog["catalog"]["groups"][0]["controls"]}
    assert reviewed == set(controls)
    observations = {o["uuid"]: o for o in result["observations"]}
    for finding in result["findings"]:
        control = controls[finding["target"]["target-id"]]
        observed = observations[finding["related-observations"][0]["observation-uuid"]]
        rule_id = next(p["value"] for p in observed["props"] if p["name"] == "rule-id")
        (own,) = [c for c in [control, *control.get("controls", [])]
                  if {"name": "rule-id", "value": rule_id, "ns": "https://vigil.dev/ns/oscal"} in c["props"]
                  and c["class"] == "rule"]
        assert [p for p in own["props"] if p["name"] == "label"] == [
            p for p in finding["props"] if p["name"] == "label"]  # the same citation, as the label
    # the catalog and the results name the same ruleset bytes
    meta_sha = next(p["value"] for p in export.catalog["catalog"]["metadata"]["props"] if p["name"] == "ruleset-sha256")
    hashes = [h["value"] for r in doc["assessment-results"]["back-matter"]["resources"] for link in r.get("rlinks", [])
              for h in link.get("hashes", [])]
    assert meta_sha in hashes
