"""--redact-phi: patient identifiers vanish from every file, pseudonyms are stable, the packet still verifies."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

from engine.packets.build import build_packet
from engine.packets.redact import Pseudonymizer
from engine.packets.schemas import PacketInput
from engine.packets.sign import Ed25519Signer
from engine.packets.verify import verify_packet

PATIENT_IDS = ("P-10042", "P-20077", "Jane Roe")


def build_redacted(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path, name: str = "r") -> Path:
    report = build_packet(packet_input.model_copy(update={"redact_phi": True}), tmp_path / f"{name}.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        zf.extractall(tmp_path / name)
    return tmp_path / name / report.packet_id / "data"


def test_no_patient_identifier_in_any_file(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> None:
    data = build_redacted(packet_input, signer, tmp_path)
    pdf_text = subprocess.run(
        ["pdftotext", str(data / "index.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    texts = {p.name: p.read_text(errors="replace") for p in data.rglob("*") if p.is_file() and p.suffix != ".pdf"}
    texts["index.pdf (text)"] = pdf_text
    for name, text in texts.items():
        for identifier in PATIENT_IDS:
            assert identifier not in text, (identifier, name)
    assert not any("breach-notice" in p.name for p in data.rglob("*"))  # PHI evidence withheld
    assert (data / "evidence").is_dir()  # the other evidence is still there


def test_pseudonyms_are_stable_within_the_packet(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    data = build_redacted(packet_input, signer, tmp_path)
    findings = json.loads((data / "findings.json").read_text())
    f1 = next(f for f in findings["findings"] if f["id"] == "F-1")
    pseudonym = f1["facts"]["patient_id"]
    assert re.fullmatch(r"PSN-[0-9a-f]{12}", pseudonym)
    assert pseudonym in f1["message"] and {"type": "patient", "id": pseudonym} in f1["evidence"]
    assert f1["facts"]["patient_name"] in f1["message"]  # the name pseudonym too
    audit = (data / "audit-trail.jsonl").read_text()
    assert audit.count(pseudonym) == 2  # entity_id of one entry, payload of another
    f2 = next(f for f in findings["findings"] if f["id"] == "F-2")
    assert f2["subject_id"].startswith("PSN-") and f2["subject_id"] in findings["waivers"][0]["reason"]
    assert f1["id"] == "F-1" and f1["subject_id"] == "I-7"  # non-patient ids untouched


def test_pseudonyms_are_keyed_per_packet(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> None:
    first = build_redacted(packet_input, signer, tmp_path, "a")
    other_period = packet_input.model_copy(update={"period_to": packet_input.period_to.replace(day=30)})
    second = build_redacted(other_period, signer, tmp_path, "b")

    def pseudonym(data: Path) -> str:
        findings = json.loads((data / "findings.json").read_text())["findings"]
        return str(next(f for f in findings if f["id"] == "F-2")["subject_id"])

    assert pseudonym(first) != pseudonym(second)


def test_index_says_so_and_packet_verifies(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> None:
    data = build_redacted(packet_input, signer, tmp_path)
    html = (data / "index.html").read_text()
    assert "PHI redacted" in html and "PSN-" in html
    assert json.loads((data / "packet.json").read_text())["phi_redacted"] is True
    tasks = json.loads((data / "tasks.json").read_text())["tasks"]
    assert "withheld" in tasks[0]["evidence"][0]
    (zip_path,) = tmp_path.glob("r.zip")
    report = verify_packet(zip_path)
    assert report.ok, report.problems
    lines = [json.loads(line) for line in (data / "audit-trail.jsonl").read_text().splitlines()]
    assert lines[0]["redacted_entries"] == 2 == sum(1 for e in lines[1:] if e.get("redacted"))


def test_short_ids_are_not_replaced_inside_other_text() -> None:
    p = Pseudonymizer(b"k" * 32)
    p.collect([{"subject_type": "patient", "subject_id": "7"}, {"patient_id": "MRN-77"}])
    out = p.scrub({"subject_type": "patient", "subject_id": "7", "note": "due 2026-07-07, MRN-77 seen 7 times"})
    assert out["subject_id"] == p.pseudonym("7")
    assert out["note"] == f"due 2026-07-07, {p.pseudonym('MRN-77')} seen 7 times"
