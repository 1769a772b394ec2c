"""OSCAL output: valid against the NIST 1.2.1 JSON Schemas, loadable by compliance-trestle, traceable."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import regex
from jsonschema import Draft7Validator, validators
from jsonschema.exceptions import ValidationError
from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.poam import PlanOfActionAndMilestones

from engine.packets.build import build_packet
from engine.packets.oscal_ids import control_id, oscal_uuid
from engine.packets.schemas import FindingTransition, PacketInput
from engine.packets.sign import Ed25519Signer

SCHEMAS = {
    "assessment-results.json": "oscal_assessment-results_schema-1.2.1.json",
    "poam.json": "oscal_poam_schema-1.2.1.json",
}


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """JSON Schema `pattern` with the `regex` module: the OSCAL schemas use \\p{L} and \\p{N}."""
    if isinstance(instance, str) and not regex.search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


OscalValidator = validators.extend(Draft7Validator, {"pattern": _pattern})


def schema_errors(document: dict[str, Any], schema_file: Path) -> list[str]:
    schema = json.loads(schema_file.read_text())
    validator = OscalValidator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    return [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(document)]


@pytest.fixture
def oscal_dir(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> Path:
    report = build_packet(packet_input, tmp_path / "p.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        zf.extractall(tmp_path / "x")
    return tmp_path / "x" / report.packet_id / "data" / "oscal"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_documents_validate_against_nist_schemas(oscal_dir: Path, oscal_schema_dir: Path, name: str) -> None:
    assert schema_errors(json.loads((oscal_dir / name).read_text()), oscal_schema_dir / SCHEMAS[name]) == []


def test_validator_is_not_vacuous(oscal_dir: Path, oscal_schema_dir: Path) -> None:
    """The same check rejects what the recipe's broken document had: a citation as control id, a bad state."""
    doc = json.loads((oscal_dir / "assessment-results.json").read_text())
    finding = doc["assessment-results"]["results"][0]["findings"][0]
    finding["target"]["target-id"] = "164.312(b)"
    finding["target"]["status"]["state"] = "failed"
    doc["assessment-results"]["metadata"]["last-modified"] = "2026-04-02T15:30:00"
    errors = schema_errors(doc, oscal_schema_dir / SCHEMAS["assessment-results.json"])
    assert any("164.312(b)" in e for e in errors)
    assert any("failed" in e for e in errors)
    assert any("last-modified" in e for e in errors)


def test_documents_load_with_trestle(oscal_dir: Path) -> None:
    ar = AssessmentResults.oscal_read(oscal_dir / "assessment-results.json")
    poam = PlanOfActionAndMilestones.oscal_read(oscal_dir / "poam.json")
    assert ar is not None and poam is not None
    assert len(ar.results[0].findings or []) == 3
    assert len(poam.poam_items) == 3


#: OSCAL's UUID datatype (v4 or v5). trestle 5.2.0's own link check (`LinksValidator`) looks for v4
#: UUIDs only (`trestle.common.const.UUID_REGEX`), so it counts none of Vigil's v5 references, the
#: assessment-results' `import-ap` included; this is its check with the schema's pattern.
OSCAL_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[45][0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}")


def unreferenced(model: Any) -> tuple[set[str], set[str]]:
    """(back-matter resources no `#uuid` href names, `#uuid` hrefs naming no resource), found as
    trestle's `ModelUtils.find_uuid_refs` finds them, with OSCAL's UUID pattern."""
    from trestle.common.model_utils import ModelUtils

    refs = {found for href in ModelUtils.find_values_by_name(model, "href") if str(href).startswith("#")
            for found in OSCAL_UUID.findall(str(href)[1:])}
    resources = {r.uuid for r in model.back_matter.resources}
    return resources - refs, refs - resources


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_back_matter_resource_is_referenced_by_uuid(oscal_dir: Path, name: str) -> None:
    """The interop pass (7 December 2026): trestle validate warned of the POA&M "Resources have 2 uuids
    and 2 are not referenced by model", and the assessment-results' ruleset resource was never referenced
    (observations pointed at ../rulesets/... by path)."""
    model = (AssessmentResults if name == "assessment-results.json" else PlanOfActionAndMilestones).oscal_read(
        oscal_dir / name)
    assert len(model.back_matter.resources) == 2  # the plan and the one ruleset file
    assert unreferenced(model) == (set(), set())


def test_a_packet_with_no_finding_references_its_resources_too(packet_input: PacketInput, signer: Ed25519Signer,
                                                               tmp_path: Path) -> None:
    """With no observation to cite a ruleset, the metadata's links still reference every resource."""
    empty = packet_input.model_copy(update={"findings": [], "tasks": []})
    report = build_packet(empty, tmp_path / "p.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        zf.extractall(tmp_path / "x")
    oscal = tmp_path / "x" / report.packet_id / "data" / "oscal"
    assert unreferenced(AssessmentResults.oscal_read(oscal / "assessment-results.json")) == (set(), set())
    assert unreferenced(PlanOfActionAndMilestones.oscal_read(oscal / "poam.json")) == (set(), set())


def test_findings_trace_to_controls_citations_and_ruleset_bytes(oscal_dir: Path, packet_input: PacketInput) -> None:
    ar = json.loads((oscal_dir / "assessment-results.json").read_text())["assessment-results"]
    findings = {
        next(p["value"] for p in f["props"] if p["name"] == "finding-id"): f for f in ar["results"][0]["findings"]
    }
    f1 = findings["F-1"]
    observations = {o["uuid"]: o for o in ar["results"][0]["observations"]}
    evidence = observations[oscal_uuid("org-demo", "observation", "F-1")]["relevant-evidence"]
    resources = {r["uuid"]: r for r in ar["back-matter"]["resources"]}
    assert evidence[0]["description"] == f"Ruleset hipaa 2026.1.0, sha256 {packet_input.rulesets[0].sha256}"
    ruleset = resources[evidence[0]["href"].removeprefix("#")]  # the resource, which holds the path and hash
    assert ruleset["title"] == "Ruleset hipaa 2026.1.0"
    assert ruleset["rlinks"] == [{"href": "../rulesets/hipaa/ruleset.yaml",
                                  "hashes": [{"algorithm": "SHA-256", "value": packet_input.rulesets[0].sha256}]}]
    assert {"description": "Record incident I-7 version 2"} in evidence
    assert {"description": "Record patient P-10042"} in evidence
    assert f1["target"]["target-id"] == "hipaa-164.404-b"
    assert {"name": "label", "value": "45 CFR 164.404(b)"} in f1["props"]
    assert f1["target"]["status"]["state"] == "not-satisfied"
    assert findings["F-3"]["target"]["status"]["state"] == "satisfied"  # resolved
    plan = ar["import-ap"]["href"].removeprefix("#")
    resource = next(r for r in ar["back-matter"]["resources"] if r["uuid"] == plan)
    assert resource["rlinks"][0] == {
        "href": "../rulesets/hipaa/ruleset.yaml",
        "hashes": [{"algorithm": "SHA-256", "value": packet_input.rulesets[0].sha256}],
    }
    poam = json.loads((oscal_dir / "poam.json").read_text())["plan-of-action-and-milestones"]
    risks = {r["uuid"]: r for r in poam["risks"]}
    assert risks[oscal_uuid("org-demo", "risk", "F-2")]["status"] == "deviation-approved"  # waived
    remediation = risks[oscal_uuid("org-demo", "risk", "F-3")]["remediations"][0]
    assert remediation["lifecycle"] == "completed"


@pytest.mark.parametrize(
    ("citation", "rule_id", "expected"),
    [
        ("45 CFR 164.404(b)", "R", "hipaa-164.404-b"),
        ("45 CFR 164.308(a)(1)(ii)(A)", "R", "hipaa-164.308-a-1-ii-a"),
        ("29 CFR § 1904.39(a)(2)", "R", "hipaa-1904.39-a-2"),
        (None, "HIPAA-BRN-IND-011", "hipaa-hipaa-brn-ind-011"),
        ("  ", "X.1", "hipaa-x.1"),
        # several provisions: the first one is the control, as a catalog numbers it
        ("45 CFR 164.308(a)(1)(ii)(A)-(B); 164.308(a)(8); 164.316(b)(2)(iii); CMS QPP PI_PPHI_1", "R",
         "hipaa-164.308-a-1-ii-a"),
        ("29 CFR 1904.41(a)(1)-(2), (c) (final rule of 21 July 2023, effective 1 January 2024)", "R",
         "hipaa-1904.41-a-1"),
        ("21 U.S.C. 822-824; 21 CFR 1301.12, 1301.13", "R", "hipaa-21-u.s.c.-822-824"),
        ("Cal. Health & Safety Code 1339.75 (AB 3030)", "R", "hipaa-cal.-health-safety-code-1339.75"),
    ],
)
def test_control_ids_are_tokens(citation: str | None, rule_id: str, expected: str) -> None:
    value = control_id("hipaa", citation, rule_id)
    assert value == expected
    assert regex.fullmatch(r"(\p{L}|_)(\p{L}|\p{N}|[.\-_])*", value)


def test_uuids_are_v5_and_stable() -> None:
    assert oscal_uuid("a", "b") == oscal_uuid("a", "b") != oscal_uuid("a", "c")
    assert oscal_uuid("a", "b")[14] == "5"


def _false_positive_input(packet_input: PacketInput) -> PacketInput:
    """F-1 judged a false positive; its task closed by that, never done (probe 15 #7)."""
    findings = [dict(f) for f in packet_input.findings]
    findings[0] |= {"state": "false_positive"}
    judged = FindingTransition(
        finding_id="F-1", at=dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC), actor="user:privacy-officer",
        from_state="acknowledged", to_state="false_positive", reason="Device verified encrypted; record stale",
    )  # fmt: skip
    tasks = [t.model_copy(update={"state": "closed"}) if t.id == "T-1" else t for t in packet_input.tasks]
    transitions = [*packet_input.finding_transitions, judged]
    return packet_input.model_copy(update={"findings": findings, "tasks": tasks, "finding_transitions": transitions})


def test_false_positive_closes_the_risk_without_a_completed_remediation(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path, oscal_schema_dir: Path
) -> None:
    report = build_packet(_false_positive_input(packet_input), tmp_path / "fp.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        zf.extractall(tmp_path / "fp")
    path = tmp_path / "fp" / report.packet_id / "data" / "oscal" / "poam.json"
    doc = json.loads(path.read_text())
    assert schema_errors(doc, oscal_schema_dir / SCHEMAS["poam.json"]) == []
    assert PlanOfActionAndMilestones.oscal_read(path) is not None
    risks = {r["uuid"]: r for r in doc["plan-of-action-and-milestones"]["risks"]}
    risk = risks[oscal_uuid("org-demo", "risk", "F-1")]
    assert risk["status"] == "closed"
    assert all(r["lifecycle"] != "completed" for r in risk.get("remediations", []))
    (entry,) = risk["risk-log"]["entries"]
    assert entry["status-change"] == "closed" and entry["start"] == "2026-03-10T09:00:00Z"
    assert "false positive" in entry["title"] and "Device verified encrypted" in entry["description"]
    props = {p["name"]: p["value"] for p in risk["props"]}
    assert props["closure"] == "false-positive" and props["task-closed-without-remediation"].startswith("T-1")
    done = risks[oscal_uuid("org-demo", "risk", "F-3")]
    assert [r["lifecycle"] for r in done["remediations"]] == ["completed"]  # T-2 was really done


def test_a_result_of_a_period_not_over_ends_at_the_packets_as_of(packet_input: PacketInput, signer: Ed25519Signer,
                                                                   tmp_path: Path) -> None:
    """A packet made on 10 April for April said it assessed until 30 April 23:59:59."""
    april = packet_input.model_copy(update={"period_from": dt.date(2026, 4, 1), "period_to": dt.date(2026, 4, 30),
                                            "as_of": dt.datetime(2026, 4, 10, 12, tzinfo=dt.UTC)})
    report = build_packet(april, tmp_path / "a.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        name = next(n for n in zf.namelist() if n.endswith("oscal/assessment-results.json"))
        (result,) = json.loads(zf.read(name))["assessment-results"]["results"]
    assert (result["start"], result["end"]) == ("2026-04-01T00:00:00Z", "2026-04-10T12:00:00Z")
    full = build_packet(packet_input, tmp_path / "q.zip", signer=signer)  # as of after its period: the whole of it
    with zipfile.ZipFile(full.path) as zf:
        name = next(n for n in zf.namelist() if n.endswith("oscal/assessment-results.json"))
        (result,) = json.loads(zf.read(name))["assessment-results"]["results"]
    assert result["end"] == "2026-03-31T23:59:59Z"


def test_a_risk_deadline_ends_with_the_local_due_day_as_its_task(packet_input: PacketInput, signer: Ed25519Signer,
                                                                  tmp_path: Path) -> None:
    """POA&M wrote every date-only deadline as `<due>T23:59:59Z`: five hours early in Chicago, ten
    in Honolulu, against the same finding's task in the same packet (probe 25)."""
    chicago = packet_input.model_copy(update={"zones": {"E-main": "America/Chicago"}})
    report = build_packet(chicago, tmp_path / "c.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        name = next(n for n in zf.namelist() if n.endswith("oscal/poam.json"))
        risks = json.loads(zf.read(name))["plan-of-action-and-milestones"]["risks"]
    finding = next(f for f in packet_input.findings if f.get("establishment_id") == "E-main" and f.get("due"))
    assert finding["due"] == "2026-03-01"
    risk = next(r for r in risks if r["uuid"] == oscal_uuid("org-demo", "risk", finding["id"]))
    assert risk["deadline"] == "2026-03-02T06:00:00Z"  # midnight ending 1 March in Chicago (CST)


def test_record_text_stays_text_in_markdown_fields(packet_input: PacketInput, signer: Ed25519Signer,
                                                  tmp_path: Path) -> None:
    """Injection probe: OSCAL descriptions are Markdown, and a vendor named `<svg onload=...>` or
    `[x](javascript:...)` reached them raw, to be rendered by an OSCAL viewer."""
    findings = [dict(f) for f in packet_input.findings]
    findings[0]["message"] = '<svg onload=alert("v")> [x](javascript:alert(1)) *bold*'
    report = build_packet(packet_input.model_copy(update={"findings": findings}), tmp_path / "p.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        text = zf.read(f"{report.packet_id}/data/oscal/assessment-results.json").decode()
    said = json.loads(text)["assessment-results"]["results"][0]["findings"]
    description = next(f["description"] for f in said if "svg" in f["description"])
    assert description == '\\<svg onload=alert("v")\\> \\[x\\](javascript:alert(1)) \\*bold\\*'


def test_prop_values_are_plain_text_as_findings_json_holds_them(packet_input: PacketInput, signer: Ed25519Signer,
                                                                tmp_path: Path) -> None:
    """Interop pass: props' values went through the Markdown escaping of titles, so a tool reading
    them got `false\\_positive`, `due\\_soon` and `access\\_event/AE-1`: a prop value is a plain string."""
    report = build_packet(_false_positive_input(packet_input), tmp_path / "p.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        docs = [zf.read(f"{report.packet_id}/data/oscal/{name}").decode()
                for name in ("assessment-results.json", "poam.json")]

    def values(node: object) -> list[str]:
        if isinstance(node, dict):
            own = [p["value"] for p in node.get("props", [])]
            return own + [v for child in node.values() for v in values(child)]
        return [v for child in node for v in values(child)] if isinstance(node, list) else []

    said = [v for doc in docs for v in values(json.loads(doc))]
    assert "false_positive" in said and any("_" in v for v in said)
    assert not [v for v in said if "\\" in v]


def test_a_waived_risk_names_its_waiver_reason_and_approver(packet_input: PacketInput, signer: Ed25519Signer,
                                                            tmp_path: Path, oscal_schema_dir: Path) -> None:
    """The POA&M named a waiver's id and reason but not who approved the deviation (findings.json and
    the index did)."""
    waivers = [w.model_copy(update={"approved_by": "Dr. A. Chief Medical Officer"}) for w in packet_input.waivers]
    report = build_packet(packet_input.model_copy(update={"waivers": waivers}), tmp_path / "w.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        zf.extractall(tmp_path / "w")
    path = tmp_path / "w" / report.packet_id / "data" / "oscal" / "poam.json"
    doc = json.loads(path.read_text())
    assert schema_errors(doc, oscal_schema_dir / SCHEMAS["poam.json"]) == []
    assert PlanOfActionAndMilestones.oscal_read(path) is not None
    risk = next(r for r in doc["plan-of-action-and-milestones"]["risks"]
                if r["uuid"] == oscal_uuid("org-demo", "risk", "F-2"))
    props = {p["name"]: p["value"] for p in risk["props"]}
    assert risk["status"] == "deviation-approved"
    assert props["waiver"].startswith("W-1: Covering physician")
    assert props["waiver-approved-by"] == "W-1: Dr. A. Chief Medical Officer"


def _reviewed(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path, schemas: Path,
              **changes: Any) -> dict[str, Any]:
    from engine.packets.schemas import RulesetFile

    content = (b"framework: hipaa\nversion: 2026.1.0\nrules:\n"
               b"  - {id: HIPAA-BRN-IND-011, citation: 45 CFR 164.404(b)}\n"
               b"  - {id: HIPAA-TRN-001, citation: 45 CFR 164.530(b)(1)}\n")
    (shipped,) = packet_input.rulesets
    ruleset = RulesetFile(name=shipped.name, ruleset_id="hipaa", version="2026.1.0", content=content,
                          sha256=hashlib.sha256(content).hexdigest())
    runs = [r | {"rulesets": [{"id": "hipaa", "version": "2026.1.0", "sha256": ruleset.sha256}]}
            for r in packet_input.runs]
    inp = packet_input.model_copy(update={"rulesets": [ruleset], "runs": runs, **changes})
    report = build_packet(inp, tmp_path / "r.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        doc = json.loads(zf.read(f"{report.packet_id}/data/oscal/assessment-results.json"))
    assert schema_errors(doc, schemas / SCHEMAS["assessment-results.json"]) == []
    (result,) = doc["assessment-results"]["results"]
    return result["reviewed-controls"]["control-selections"][0]


def test_every_rule_evaluated_is_a_control_reviewed_and_none_when_nothing_was_evaluated(
        packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path, oscal_schema_dir: Path) -> None:
    """Session 46's auditor pass: the results listed only the controls with findings (one evaluated
    clean was never said to be reviewed), and a period no run judged said `include-all`: every
    control reviewed, nothing found."""
    evaluated = _reviewed(packet_input, signer, tmp_path, oscal_schema_dir)
    assert evaluated == {"include-controls": [{"control-id": c} for c in sorted(
        {"hipaa-164.404-b", "hipaa-164.530-b-1"} | {control_id("hipaa", f["citation"], f["rule_id"])
                                                    for f in packet_input.findings})]}
    nothing = _reviewed(packet_input, signer, tmp_path, oscal_schema_dir, runs=[], findings=[], transitions=[])
    assert nothing["include-all"] == {} and "no control was reviewed" in nothing["remarks"]
    assert [c["control-id"] for c in nothing["exclude-controls"]] == ["hipaa-164.404-b", "hipaa-164.530-b-1"]
