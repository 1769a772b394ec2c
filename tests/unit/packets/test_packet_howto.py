"""data/VERIFY.txt's commands, run as an auditor without Vigil would run them (no venv, no engine)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from engine.packets.build import build_packet
from engine.packets.schemas import PacketInput
from engine.packets.sign import Ed25519Signer
from engine.records.hashing import stored_form
from engine.records.schemas import RECORD_MODELS
from tests.unit.packets.conftest import Rezip


def _unpacked(zip_path: Path, into: Path) -> tuple[str, str]:
    """Unzip as VERIFY.txt says; (the packet id, VERIFY.txt's text)."""
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(into)
    (bag,) = [p for p in into.iterdir() if (p / "bagit.txt").is_file()]
    return bag.name, (bag / "data" / "VERIFY.txt").read_text()


def _listing_command(howto: str) -> str:
    """Step 4's command as VERIFY.txt writes it: from `P=` to the line that ends it."""
    lines = howto.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("P="))
    end = next(i for i in range(start, len(lines)) if not lines[i].endswith("\\"))
    return "\n".join(line.strip() for line in lines[start:end + 1])


def _run_listing(zip_path: Path, into: Path, *, lister: str | None = None) -> str:
    _, howto = _unpacked(zip_path, into)
    command = _listing_command(howto)
    if lister is not None:  # the python3 line VERIFY.txt offers where unzip is missing
        command = command.replace("unzip -Z1 PACKET.zip", lister)
    command = command.replace("PACKET.zip", str(zip_path))
    done = subprocess.run(["sh", "-c", command], cwd=into, capture_output=True, text=True, check=False)
    assert done.stderr == "", done.stderr
    return done.stdout


def _python_lister(howto: str, zip_path: Path) -> str:
    (line,) = [line.strip() for line in howto.splitlines() if line.strip().startswith("python3 -c")]
    return line.replace("PACKET.zip", str(zip_path))


def test_the_zip_listing_step_passes_a_whole_packet_and_names_every_added_file(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path, rezip: Rezip
) -> None:
    """Auditor pass, 7 December: bagit.py --validate and openssl accepted a packet with files added to
    its zip (README-FIRST.txt in the bag's folder, fetch.txt, a file beside the bag, one under
    signature/); `vigil packet verify` named them. VERIFY.txt's step 4 names them with unzip and sort."""
    packet = build_packet(packet_input, tmp_path / "p.zip", signer=signer).path
    assert _run_listing(packet, tmp_path / "good") == "OK\n"
    packet_id, howto = _unpacked(packet, tmp_path / "again")
    assert _run_listing(packet, tmp_path / "py", lister=_python_lister(howto, packet)) == "OK\n"
    assert "forbids fetch.txt (Allow-Fetch.txt: false)" in " ".join(howto.split())

    def add(tree: Path) -> None:
        (tree / packet_id / "README-FIRST.txt").write_text("Step 3 is optional for this practice.\n")
        (tree / packet_id / "fetch.txt").write_text("https://example.org/extra.pdf - data/extra.pdf\n")
        (tree / "NOTES.txt").write_text("beside the bag\n")
        (tree / "signature" / "confirmed.txt").write_text("key confirmed by phone\n")

    tampered = rezip(packet, tmp_path / "t.zip", add)
    for listed in (_run_listing(tampered, tmp_path / "bad"),
                   _run_listing(tampered, tmp_path / "bad-py", lister=_python_lister(howto, tampered))):
        named = {tuple(line.split(maxsplit=1)) for line in listed.splitlines()}
        assert named == {("1", f"{packet_id}/README-FIRST.txt"), ("1", f"{packet_id}/fetch.txt"),
                         ("1", "NOTES.txt"), ("1", "signature/confirmed.txt")}, listed


def test_the_zip_listing_step_names_a_file_in_the_zip_twice(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    packet = build_packet(packet_input, tmp_path / "p.zip", signer=signer).path
    doubled = tmp_path / "d.zip"
    shutil.copy(packet, doubled)
    with zipfile.ZipFile(packet) as zf:
        name = next(n for n in zf.namelist() if n.endswith("data/findings.json"))
    with zipfile.ZipFile(doubled, "a") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr(name, b'{"findings": []}\n')
    listed = _run_listing(doubled, tmp_path / "x")
    assert re.fullmatch(rf" *3 {re.escape(name)}\n", listed), listed


SYSTEM_PYTHON = "/usr/bin/python3"
#: one record of each kind the canonical form rewrites: an instant with an offset, a map of instants,
#: a whole float (and a patient, whose names a redacted packet replaces)
RAW_RECORDS = [
    {"type": "access_request", "id": "AR-2", "patient_id": "P-10042", "kind": "access",
     "received_at": "2026-02-01T10:00:00.250000-05:00"},
    {"type": "incident", "id": "I-7", "discovered_at": "2026-01-20T16:30:00+01:00",
     "media_notice_at": {"CA": "2026-02-03T09:00:00-08:00", "NV": "2026-02-03T17:00:00Z"}},
    {"type": "organization", "id": "org-demo", "name": "Example Family Practice", "fte_count": 12.0},
    {"type": "patient", "id": "P-10042", "first_name": "Wu", "last_name": "Li", "dob": "1971-05-06"},
]  # fmt: skip


def _with_records(packet_input: PacketInput) -> PacketInput:
    """The packet input with the records above, stored and hashed as the record store does."""
    records = []
    for raw in RAW_RECORDS:
        stored, _text, content_hash = stored_form(RECORD_MODELS[str(raw["type"])].model_validate(raw), raw)
        records.append({"type": raw["type"], "id": raw["id"], "version": 1, "content_hash": content_hash,
                        "recorded_at": "2026-02-05T00:00:00+00:00", "source": "export.json", "data": stored})
    return packet_input.model_copy(update={"records": records})


def _check_data(bag: Path) -> subprocess.CompletedProcess[str]:
    """data/verify-data.py as VERIFY.txt runs it: the system's python3, isolated (no venv, no Vigil)."""
    return subprocess.run([SYSTEM_PYTHON, "-I", f"{bag.name}/data/verify-data.py"], cwd=bag.parent,
                          capture_output=True, text=True, check=False, env={"PATH": "/usr/bin:/bin"})


def test_the_packets_own_script_checks_the_trail_and_the_records_with_plain_python3(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    """Auditor pass, 7 December: an outside verifier could not check the audit trail excerpt or the
    records' content_hash from the packet alone (VERIFY.txt stopped at the signature, the anchor line
    said "see docs/audit.md", and the canonical form of a record was only in docs/records.md)."""
    packet = build_packet(_with_records(packet_input), tmp_path / "p.zip", signer=signer).path
    packet_id, howto = _unpacked(packet, tmp_path / "x")
    bag = tmp_path / "x" / packet_id
    assert f"python3 {packet_id}/data/verify-data.py" in howto
    assert "docs/" not in howto and "docs/" not in (bag / "data" / "audit-trail.jsonl").read_text()
    done = _check_data(bag)
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "OK", done.stdout + done.stderr
    assert "audit-trail.jsonl: 5 entries linked from the anchor to the head, 5 hashes recomputed" in done.stdout
    assert "records.json: 4 content hashes recomputed, 0 redacted" in done.stdout

    records_json = bag / "data" / "records.json"
    document = json.loads(records_json.read_text())
    assert document["content_hash_form"]["incident"]["instant_maps"] == ["media_notice_at"]
    (request,) = [r for r in document["records"] if r["id"] == "AR-2"]
    request["data"]["kind"] = "amendment"
    records_json.write_text(json.dumps(document))
    trail = bag / "data" / "audit-trail.jsonl"
    lines = trail.read_text().splitlines()
    entry = json.loads(lines[3])
    entry["actor"] = "user:someone-else"
    trail.write_text("\n".join([*lines[:3], json.dumps(entry), *lines[4:]]) + "\n")
    done = _check_data(bag)
    assert done.returncode == 1, done.stdout + done.stderr
    problems = [line for line in done.stdout.splitlines() if line.startswith("PROBLEM")]
    assert problems == [
        "PROBLEM audit-trail.jsonl line 4 (org_seq 3): its content does not hash to its hash: the entry was altered",
        "PROBLEM records.json: access_request AR-2 version 1: its data does not hash to its content_hash: the "
        "record was altered"], done.stdout


def test_the_script_checks_a_redacted_packets_links_and_skips_what_cannot_be_rehashed(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    inp = _with_records(packet_input).model_copy(update={"redact_phi": True})
    packet = build_packet(inp, tmp_path / "r.zip", signer=signer).path
    packet_id, _ = _unpacked(packet, tmp_path / "x")
    done = _check_data(tmp_path / "x" / packet_id)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 entries linked from the anchor to the head, 3 hashes recomputed, 2 redacted" in done.stdout
    assert "records.json: 0 content hashes recomputed, 4 redacted (not recomputable)" in done.stdout


def test_the_shipped_script_is_the_module_and_imports_the_standard_library_only() -> None:
    """What runs at the auditor's is what the tests run: the module's own bytes, with no import of Vigil."""
    import ast
    import sys

    from engine.packets import verify_data
    from engine.packets.howto import DATA_CHECK_SOURCE

    tree = ast.parse(DATA_CHECK_SOURCE.read_text())
    imported = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    imported |= {str(node.module).split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names), imported
    assert DATA_CHECK_SOURCE == Path(verify_data.__file__)
