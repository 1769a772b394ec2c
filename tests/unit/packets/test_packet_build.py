"""Building a packet: a valid BagIt bag with every listed file, byte-identical rebuilds, honest inputs."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import bagit
import pytest

from engine.audit.chain import entry_hash
from engine.errors import AuditChainBroken, InputError, IntegrityError
from engine.packets.build import build_packet
from engine.packets.schemas import PacketInput, load_input
from engine.packets.sign import Ed25519Signer, load_or_create_signer
from tests.conftest import SHARED

PAYLOAD = {
    "index.html",
    "index.pdf",
    "packet.json",
    "findings.json",
    "findings.csv",
    "tasks.json",
    "runs.json",
    "audit-trail.jsonl",
    "oscal/assessment-results.json",
    "oscal/poam.json",
    "rulesets/hipaa/ruleset.yaml",
    "rulesets/SHA256SUMS",
    "VERIFY.txt",
    "verify-data.py",
}


def unzip(zip_path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
    (bag,) = [d for d in dest.iterdir() if (d / "bagit.txt").exists()]
    return bag


def test_packet_is_a_fully_valid_bag_with_every_file(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    report = build_packet(packet_input, tmp_path / "p.zip", signer=signer)
    bag_dir = unzip(report.path, tmp_path / "x")
    bag = bagit.Bag(str(bag_dir))
    assert bag.validate(fast=False)
    assert set(bag.algorithms) == {"sha256", "sha512"}
    payload = {p.relative_to(bag_dir / "data").as_posix() for p in (bag_dir / "data").rglob("*") if p.is_file()}
    assert PAYLOAD <= payload
    assert {p for p in payload if p.startswith("evidence/")} == {
        "evidence/T-1/"
        + hashlib.sha256((tmp_path / "evidence-src/breach-notice.txt").read_bytes()).hexdigest()[:12]
        + "-breach-notice.txt",
        "evidence/T-2/"
        + hashlib.sha256((tmp_path / "evidence-src/training-roster.csv").read_bytes()).hexdigest()[:12]
        + "-training-roster.csv",
    }
    assert report.packet_id == bag_dir.name and bag.info["External-Identifier"] == report.packet_id
    assert bag.info["Bagging-Date"] == "2026-04-02"
    assert (bag_dir / "data/rulesets/hipaa/ruleset.yaml").read_bytes() == packet_input.rulesets[0].content
    sums = (bag_dir / "data/rulesets/SHA256SUMS").read_text()
    assert sums == f"{packet_input.rulesets[0].sha256}  hipaa/ruleset.yaml\n"
    assert (tmp_path / "x/signature/tagmanifest-sha256.txt.sig").stat().st_size == 64


def test_documents_carry_history_waivers_tasks_and_runs(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    bag = unzip(build_packet(packet_input, tmp_path / "p.zip", signer=signer).path, tmp_path / "x")
    findings = json.loads((bag / "data/findings.json").read_text())
    f1 = next(f for f in findings["findings"] if f["id"] == "F-1")
    assert [h["to_state"] for h in f1["history"]] == ["open", "acknowledged"]
    assert f1["control_id"] == "hipaa-164.404-b" and f1["task_ids"] == ["T-1"]
    assert findings["waivers"][0]["reason"].startswith("Covering physician")
    tasks = json.loads((bag / "data/tasks.json").read_text())["tasks"]
    assert tasks[0]["evidence"][0]["file"].startswith("evidence/T-1/")
    runs = json.loads((bag / "data/runs.json").read_text())["runs"]
    assert runs[0]["input_hash"] == "ab" * 32
    csv_lines = (bag / "data/findings.csv").read_text().splitlines()
    assert csv_lines[0].startswith("id,rule_id,framework") and len(csv_lines) == 4
    audit = [json.loads(line) for line in (bag / "data/audit-trail.jsonl").read_text().splitlines()]
    assert audit[0]["type"] == "anchor" and audit[0]["entries"] == 5 == len(audit) - 1
    assert audit[1]["prev_hash"] == audit[0]["anchor"] and audit[-1]["hash"] == audit[0]["head"]
    assert all(entry_hash(e) == e["hash"] for e in audit[1:])


def test_two_builds_are_byte_identical(packet_input: PacketInput, tmp_path: Path) -> None:
    signer = load_or_create_signer(tmp_path / "keys")
    first = build_packet(packet_input, tmp_path / "a.zip", signer=signer)
    again = load_or_create_signer(tmp_path / "keys")  # a new process would reload the key
    moved = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "evidence-src", moved)  # the evidence store may live anywhere
    tasks = [
        t.model_copy(update={"evidence": [e.model_copy(update={"path": moved / e.name}) for e in t.evidence]})
        for t in packet_input.tasks
    ]
    rebuilt = PacketInput.model_validate(packet_input.model_dump() | {"tasks": tasks})
    second = build_packet(rebuilt, tmp_path / "b.zip", signer=again)
    assert first.sha256 == second.sha256
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_zip_is_sorted_with_fixed_times_and_modes(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    with zipfile.ZipFile(build_packet(packet_input, tmp_path / "p.zip", signer=signer).path) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(2026, 4, 2, 15, 30, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert not any(i.is_dir() for i in infos)


def test_a_different_as_of_is_a_different_packet(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    later = packet_input.model_copy(update={"as_of": packet_input.as_of + dt.timedelta(days=1)})
    a = build_packet(packet_input, tmp_path / "a.zip", signer=signer)
    b = build_packet(later, tmp_path / "b.zip", signer=signer)
    assert a.packet_id != b.packet_id and a.sha256 != b.sha256


def test_evidence_changed_since_attachment_stops_the_build(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    (tmp_path / "evidence-src/training-roster.csv").write_text("name,completed\nA. Nurse,2026-01-21\n")
    with pytest.raises(InputError, match="training-roster.csv.*changed since it was attached"):
        build_packet(packet_input, tmp_path / "p.zip", signer=signer)
    assert not (tmp_path / "p.zip").exists()


def test_missing_evidence_stops_the_build(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> None:
    (tmp_path / "evidence-src/breach-notice.txt").unlink()
    with pytest.raises(InputError, match="missing"):
        build_packet(packet_input, tmp_path / "p.zip", signer=signer)


def test_broken_audit_excerpt_stops_the_build(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> None:
    assert packet_input.audit is not None
    entries = list(packet_input.audit.entries)
    entries[2] = entries[2].model_copy(update={"actor": "user:mallory"})
    bad = packet_input.model_copy(update={"audit": packet_input.audit.model_copy(update={"entries": entries})})
    with pytest.raises(AuditChainBroken) as info:
        build_packet(bad, tmp_path / "p.zip", signer=signer)
    assert info.value.details[0].record_id == str(entries[2].seq)


def test_a_ruleset_changed_under_the_same_version_stops_the_build(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    """The packet ships ruleset bytes read at build time; they must be the bytes the runs recorded."""
    (original,) = packet_input.rulesets
    edited = original.content + b"  - id: HIPAA-NEW-RULE-999\n"
    old_sha, new_sha = original.sha256, hashlib.sha256(edited).hexdigest()
    changed = packet_input.model_copy(update={"rulesets": [original.model_copy(update={"content": edited,
                                                                                       "sha256": new_sha})]})
    with pytest.raises(IntegrityError, match="no packet was built") as info:
        build_packet(changed, tmp_path / "p.zip", signer=signer)
    assert info.value.code == "integrity.ruleset_changed"
    (detail,) = info.value.details
    assert detail.file == "rulesets/hipaa/ruleset.yaml"
    for part in ("2026.1.0", "run R-2", old_sha, new_sha, "new version", "VIGIL_RULESETS_DIR", "revision 0006"):
        assert part in detail.reason, (part, detail.reason)
    assert not (tmp_path / "p.zip").exists()


def test_runs_of_another_version_do_not_stop_the_build(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    """Only the hashes recorded for the shipped file's own framework and version are compared."""
    other = {"id": "hipaa", "version": "2025.4.0", "sha256": "0" * 64}
    runs = [packet_input.runs[0] | {"rulesets": [*packet_input.runs[0]["rulesets"], other]}]
    assert build_packet(packet_input.model_copy(update={"runs": runs}), tmp_path / "p.zip", signer=signer).path.exists()


def test_evidence_from_an_opener(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> None:
    """A content-addressed store hands over a stream instead of a path."""
    task = packet_input.tasks[1]
    data = (tmp_path / "evidence-src/training-roster.csv").read_bytes()
    store = {hashlib.sha256(data).hexdigest(): tmp_path / "evidence-src/training-roster.csv"}
    ref = task.evidence[0].model_copy(
        update={"path": None, "opener": lambda: store[task.evidence[0].sha256].open("rb")}
    )
    tasks = [packet_input.tasks[0], task.model_copy(update={"evidence": [ref]})]
    report = build_packet(packet_input.model_copy(update={"tasks": tasks}), tmp_path / "p.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        names = [n for n in zf.namelist() if "training-roster" in n]
        assert zf.read(names[0]) == data


def test_input_round_trips_through_json(packet_input: PacketInput, tmp_path: Path) -> None:
    path = tmp_path / "input.json"
    path.write_text(packet_input.model_dump_json())
    assert load_input(path).content_digest() == packet_input.content_digest()
    path.write_text('{"org_id": "x"}')
    with pytest.raises(InputError) as info:
        load_input(path)
    assert any(d.field == "framework" for d in info.value.details)


def test_csv_cells_cannot_become_spreadsheet_formulas(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    findings = [dict(f) for f in packet_input.findings]
    findings[0]["message"] = "=HYPERLINK(\"http://x\")"
    findings[1]["message"] = "-2+3+cmd|' /C calc'!A0"  # the injection probe: '-' was not neutralized
    bag = unzip(
        build_packet(packet_input.model_copy(update={"findings": findings}), tmp_path / "p.zip", signer=signer).path,
        tmp_path / "x",
    )
    rows = list(csv.DictReader((bag / "data/findings.csv").open(newline="")))
    assert next(r for r in rows if r["id"] == "F-1")["message"] == "'=HYPERLINK(\"http://x\")"
    assert next(r for r in rows if r["id"] == findings[1]["id"])["message"] == "'-2+3+cmd|' /C calc'!A0"


BAGIT_PROFILE_FILE = SHARED / "formats" / "evidence-packet" / "audit-packet.bagit-profile.json"


def test_bag_meets_the_shared_bagit_profile(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> None:
    """bag-info.txt names the profile and has every tag it requires (checked without bagit-profile)."""
    profile = json.loads(BAGIT_PROFILE_FILE.read_text())
    report = build_packet(packet_input, tmp_path / "p.zip", signer=signer)
    bag = bagit.Bag(str(unzip(report.path, tmp_path / "x")))
    for tag, rule in profile["Bag-Info"].items():
        if rule.get("required"):
            assert bag.info.get(tag), tag
        if "values" in rule:
            assert bag.info.get(tag) in rule["values"], tag
    assert bag.info["BagIt-Profile-Identifier"] == profile["BagIt-Profile-Info"]["BagIt-Profile-Identifier"]
    assert set(profile["Manifests-Required"]) <= set(bag.algorithms)
    assert not (Path(bag.path) / "fetch.txt").exists()


def test_bag_validates_with_bagit_profile(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> None:
    """The interop recipe: bagit-profile 1.3.1 against the draft profile, offline (profile from the file)."""
    import bagit_profile

    document = json.loads(BAGIT_PROFILE_FILE.read_text())
    profile = bagit_profile.Profile(document["BagIt-Profile-Info"]["BagIt-Profile-Identifier"], profile=document)
    report = build_packet(packet_input, tmp_path / "p.zip", signer=signer)
    bag = bagit.Bag(str(unzip(report.path, tmp_path / "x")))
    assert profile.validate(bag), profile.report
    assert profile.validate_serialization(str(report.path))
    # BagIt 1.0 (RFC 8493), as interop-formats.md section 7 asks; bagit-python alone writes 0.97
    assert bag.version == "1.0" and bag.is_valid()
    assert (Path(bag.path) / "bagit.txt").read_bytes() == b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def test_evidence_a_browser_would_run_is_shipped_as_text(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    """Injection probe: an auditor opening the unpacked packet's index clicked through to an HTML and
    an SVG evidence file, and their script ran (file:// pages run it)."""
    from tests.unit.packets.conftest import ref

    src = tmp_path / "evidence-src"
    (src / "report.html").write_text("<script>alert(1)</script>")
    (src / "chart").write_text("<svg onload=alert(2)></svg>")
    tasks = [t.model_copy(update={"evidence": [*t.evidence, ref(src / "report.html", media_type="text/html"),
                                               ref(src / "chart", media_type="image/svg+xml")]})
             if t.id == "T-2" else t for t in packet_input.tasks]
    bag = unzip(build_packet(packet_input.model_copy(update={"tasks": tasks}), tmp_path / "p.zip",
                             signer=signer).path, tmp_path / "x")
    shipped = sorted(p.name.split("-", 1)[1] for p in (bag / "data" / "evidence" / "T-2").iterdir())
    assert shipped == ["chart.txt", "report.html.txt", "training-roster.csv"]


def test_each_attachment_is_named_though_the_same_bytes_share_one_file(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    """The same bytes attached twice as dup.txt (attachments 4 and 5) and once as other.txt: the bag
    holds one file per content and name, and tasks.json says which attachment each entry is (it had
    listed two identical entries, and the docs a `<n>` no file name carried)."""
    from tests.unit.packets.conftest import ref

    (tmp_path / "dup.txt").write_bytes(b"signed attestation\n")
    (tmp_path / "other.txt").write_bytes(b"signed attestation\n")
    at = dt.datetime(2026, 3, 20, 9, tzinfo=dt.UTC)
    refs = [ref(tmp_path / name).model_copy(update={"attachment_id": n, "attached_by": "user:po",
                                                    "attached_at": at + dt.timedelta(minutes=n)})
            for name, n in (("dup.txt", 4), ("dup.txt", 5), ("other.txt", 6))]
    tasks = [t.model_copy(update={"evidence": refs}) if t.id == "T-2" else t for t in packet_input.tasks]
    bag = unzip(build_packet(packet_input.model_copy(update={"tasks": tasks}), tmp_path / "p.zip",
                             signer=signer).path, tmp_path / "x")
    task = next(t for t in json.loads((bag / "data/tasks.json").read_text())["tasks"] if t["id"] == "T-2")
    sha12 = hashlib.sha256(b"signed attestation\n").hexdigest()[:12]
    assert [(e["attachment"], e["attachment_id"], e["name"], e["file"], e["attached_by"], e["attached_at"])
            for e in task["evidence"]] == [
        (1, 4, "dup.txt", f"evidence/T-2/{sha12}-dup.txt", "user:po", "2026-03-20T09:04:00Z"),
        (2, 5, "dup.txt", f"evidence/T-2/{sha12}-dup.txt", "user:po", "2026-03-20T09:05:00Z"),
        (3, 6, "other.txt", f"evidence/T-2/{sha12}-other.txt", "user:po", "2026-03-20T09:06:00Z")]
    shipped = sorted(p.relative_to(bag / "data").as_posix() for p in (bag / "data/evidence/T-2").iterdir())
    assert shipped == [f"evidence/T-2/{sha12}-dup.txt", f"evidence/T-2/{sha12}-other.txt"]
    html = (bag / "data/index.html").read_text()
    assert "attachment 2 (id 5), by user:po at 2026-03-20T09:05:00Z" in html
