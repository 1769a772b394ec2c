"""data/VERIFY.txt's commands, run as an auditor without Vigil would run them (no venv, no engine)."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from engine.packets.build import build_packet
from engine.packets.schemas import PacketInput
from engine.packets.sign import Ed25519Signer
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
