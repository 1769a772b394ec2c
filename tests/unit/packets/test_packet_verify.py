"""verify_packet: passes a genuine packet and names the file behind every kind of tampering."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import bagit
import pytest

from engine.errors import InputError
from engine.packets import bagit as packet_bag
from engine.packets.build import build_packet
from engine.packets.schemas import PacketInput, PacketVerifyReport
from engine.packets.sign import Ed25519Signer, load_or_create_signer
from engine.packets.verify import verify_packet

Change = Callable[[Path], None]
Rezip = Callable[[Path, Path, Change], Path]


@pytest.fixture
def packet(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> Path:
    return build_packet(packet_input, tmp_path / "packet.zip", signer=signer).path


def names_in(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.namelist()


def mentions(report: PacketVerifyReport, name: str) -> bool:
    return any(p.file == name or name in p.reason for p in report.problems)


def test_genuine_packet_verifies(packet: Path, signer: Ed25519Signer) -> None:
    report = verify_packet(packet)
    assert report.ok, report.problems
    assert report.key_source == "embedded" and report.fingerprint == signer.fingerprint()
    assert report.audit_entries_checked == 5 and report.files_checked >= 20
    # whose packet, from its signed packet.json: one key signs for every organization of a deployment
    assert (report.org_id, report.org_name, report.framework) == ("org-demo", "Example Family Practice", "hipaa")
    pinned = verify_packet(packet, public_key=signer.public_key_pem())
    assert pinned.ok and pinned.key_source == "given"


def flip_byte(relative: str) -> Change:
    def change(tree: Path) -> None:
        path = tree / relative
        data = bytearray(path.read_bytes())
        middle = len(data) // 2
        data[middle] = data[middle] ^ 0x01  # same size: Payload-Oxum alone would not notice
        path.write_bytes(bytes(data))

    return change


def test_flipping_one_byte_in_any_file_is_named(packet: Path, tmp_path: Path, rezip: Rezip) -> None:
    """Every file of the zip, payload, tag files and signature files alike."""
    for name in names_in(packet):
        report = verify_packet(rezip(packet, tmp_path / "t.zip", flip_byte(name)))
        assert not report.ok, name
        assert mentions(report, name), (name, report.problems)


def test_flipped_byte_in_the_zip_itself_is_named(packet: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(packet) as zf:
        info = zf.getinfo(next(n for n in zf.namelist() if n.endswith("data/findings.json")))
    raw = bytearray(packet.read_bytes())
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
    raw[offset] ^= 0xFF
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(raw))
    report = verify_packet(damaged)
    assert not report.ok and mentions(report, info.filename)


def test_rewritten_manifests_still_name_the_changed_file(packet: Path, tmp_path: Path, rezip: Rezip) -> None:
    """bagit accepts the forged bag; the signature and the signed manifest do not."""
    forged_bag: list[Path] = []

    def forge(tree: Path) -> None:
        (bag,) = [d for d in tree.iterdir() if (d / "bagit.txt").exists()]
        findings = bag / "data" / "findings.json"
        findings.write_text(findings.read_text().replace('"acknowledged"', '"resolved"'))
        bagit.Bag(str(bag)).save(manifests=True)
        packet_bag.sort_tag_manifests(bag)  # as a packet is written
        assert bagit.Bag(str(bag)).is_valid()
        forged_bag.append(bag)

    report = verify_packet(rezip(packet, tmp_path / "forged.zip", forge))
    bag_name = forged_bag[0].name
    assert not report.ok
    assert mentions(report, f"{bag_name}/data/findings.json")
    assert mentions(report, f"{bag_name}/tagmanifest-sha256.txt")


def test_an_edited_manifest_entry_is_blamed_on_the_manifest_not_the_file(packet: Path, tmp_path: Path,
                                                                        rezip: Rezip) -> None:
    """Black-box pass: one hash changed in manifest-sha256.txt was named as the manifest's edit, and
    then bagit's own check blamed the untouched data/VERIFY.txt as well."""
    edited: list[str] = []

    def edit(tree: Path) -> None:
        (bag,) = [d for d in tree.iterdir() if (d / "bagit.txt").exists()]
        manifest = bag / "manifest-sha256.txt"
        lines = manifest.read_text().splitlines()
        digest, name = lines[0].split(maxsplit=1)
        lines[0] = f"{'0' * len(digest)}  {name}"
        manifest.write_text("\n".join(lines) + "\n")
        edited.extend([bag.name, name])

    report = verify_packet(rezip(packet, tmp_path / "edited.zip", edit))
    bag_name, file = edited
    assert not report.ok
    assert any(p.file == f"{bag_name}/manifest-sha256.txt" and f"its entry for {file}" in p.reason
               for p in report.problems), report.problems
    assert not any(p.file == f"{bag_name}/{file}" for p in report.problems), report.problems


def test_added_and_removed_files_are_named(packet: Path, tmp_path: Path, rezip: Rezip) -> None:
    def add(tree: Path) -> None:
        (bag,) = [d for d in tree.iterdir() if (d / "bagit.txt").exists()]
        (bag / "data" / "extra.txt").write_text("slipped in")
        (tree / "README.txt").write_text("outside the bag")

    added = verify_packet(rezip(packet, tmp_path / "added.zip", add))
    assert any(p.file.endswith("data/extra.txt") for p in added.problems)
    assert any(p.file == "README.txt" for p in added.problems)

    def remove(tree: Path) -> None:
        (bag,) = [d for d in tree.iterdir() if (d / "bagit.txt").exists()]
        (bag / "data" / "runs.json").unlink()

    removed = verify_packet(rezip(packet, tmp_path / "removed.zip", remove))
    assert any(p.file.endswith("data/runs.json") and "missing" in p.reason for p in removed.problems)


def test_given_key_must_match(packet: Path, tmp_path: Path) -> None:
    other = load_or_create_signer(tmp_path / "other-keys")
    report = verify_packet(packet, public_key=other.public_key_pem())
    assert not report.ok
    assert mentions(report, "signature/signer.pub.pem")
    assert any("tagmanifest-sha256.txt" in p.file for p in report.problems)


def test_packet_rebuilt_with_another_key_passes_alone_but_not_against_the_practice_key(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    """The trust model: the embedded key proves integrity; only the published key proves origin."""
    forger = load_or_create_signer(tmp_path / "forger")
    forged = build_packet(packet_input, tmp_path / "forged.zip", signer=forger).path
    assert verify_packet(forged).ok
    pinned = verify_packet(forged, public_key=signer.public_key_pem())
    assert not pinned.ok and mentions(pinned, "signature/signer.pub.pem")


def test_audit_excerpt_tampered_by_a_key_holder_is_named(
    packet: Path, signer: Ed25519Signer, tmp_path: Path, rezip: Rezip
) -> None:
    """Even a re-signed packet cannot hide an audit entry edited after it was chained."""

    def edit_and_resign(tree: Path) -> None:
        (bag,) = [d for d in tree.iterdir() if (d / "bagit.txt").exists()]
        trail = bag / "data" / "audit-trail.jsonl"
        lines = trail.read_text().splitlines()
        entry = json.loads(lines[3])
        entry["actor"] = "user:someone-else"
        lines[3] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
        trail.write_text("\n".join(lines) + "\n")
        bagit.Bag(str(bag)).save(manifests=True)
        packet_bag.sort_tag_manifests(bag)  # as a packet is written
        sig = tree / "signature"
        (sig / "tagmanifest-sha256.txt.sig").write_bytes(signer.sign((bag / "tagmanifest-sha256.txt").read_bytes()))
        manifest = (bag / "manifest-sha256.txt").read_bytes()
        (sig / "manifest-sha256.txt").write_bytes(manifest)
        (sig / "manifest-sha256.txt.sig").write_bytes(signer.sign(manifest))

    report = verify_packet(rezip(packet, tmp_path / "t.zip", edit_and_resign))
    assert not report.ok
    (problem,) = report.problems
    assert problem.file.endswith("data/audit-trail.jsonl")
    assert "line 4" in problem.reason and "altered" in problem.reason


def test_not_a_zip_is_an_input_error(tmp_path: Path) -> None:
    bogus = tmp_path / "x.zip"
    bogus.write_text("not a zip")
    with pytest.raises(InputError):
        verify_packet(bogus)


def test_unsafe_entry_names_fail_verification_and_are_not_extracted(tmp_path: Path) -> None:
    """A tampered packet, whose failures are named (exit 1), not a file that is no zip (exit 2)."""
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../outside.txt", "x")
    report = verify_packet(evil)
    assert not report.ok
    assert any(p.file == "../outside.txt" and "unsafe entry name" in p.reason for p in report.problems)
    assert not (tmp_path / "outside.txt").exists()


def _patched_entry(packet: Path, out: Path, suffix: str, patch: Callable[[bytearray, int], None]) -> Path:
    """The packet with the local and central headers of the entry ending in `suffix` patched; `patch`
    gets the raw bytes and the offset of the header's version-needed field (same layout in both
    headers from there: flags at +2, method at +4)."""
    raw = bytearray(packet.read_bytes())
    with zipfile.ZipFile(packet) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith(suffix))
    patch(raw, info.header_offset + 4)
    central = raw.find(b"PK\x01\x02")
    while central != -1:
        size = int.from_bytes(raw[central + 28:central + 30], "little")
        if bytes(raw[central + 46:central + 46 + size]).endswith(suffix.encode()):
            patch(raw, central + 6)
        central = raw.find(b"PK\x01\x02", central + 4)
    out.write_bytes(bytes(raw))
    return out


def test_an_encrypted_or_deflate64_entry_is_a_named_problem_not_a_crash(packet: Path, tmp_path: Path) -> None:
    """Session 48's interop pass: zipfile's RuntimeError (encrypted) and NotImplementedError
    (Deflate64) had escaped verification: a traceback in the CLI and a 500 over REST."""
    def encrypted(raw: bytearray, at: int) -> None:
        raw[at + 2] |= 0x01

    def deflate64(raw: bytearray, at: int) -> None:
        raw[at + 4:at + 6] = (9).to_bytes(2, "little")

    for patch, said in ((encrypted, "flagged encrypted"), (deflate64, "compressed by method 9")):
        report = verify_packet(_patched_entry(packet, tmp_path / "t.zip", "data/findings.csv", patch))
        assert not report.ok
        assert any(p.file.endswith("data/findings.csv") and said in p.reason for p in report.problems), report.problems


def test_an_archive_that_unpacks_far_past_its_size_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip bomb is refused by its declared sizes before anything is written (the check runs on
    the server too, for any signed-in user)."""
    from engine.packets import archive

    monkeypatch.setattr(archive, "EXPANSION_FLOOR", 1 << 20)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bag/data/zeros.bin", b"\0" * (8 << 20))
    size = bomb.stat().st_size
    assert size < 64 << 10
    with pytest.raises(InputError) as refused:
        verify_packet(bomb)
    # the figures as they are: it had said "more than 62724632 bytes (100 times its size)" of a
    # 291,702-byte upload, whose limit is a floor plus 100 times its size
    assert refused.value.details[0].reason == (
        f"unpacks to {8 << 20:,} bytes, more than the {(1 << 20) + 100 * size:,} a zip of {size:,} bytes may "
        "(1 MiB plus 100 times its own size): not a packet Vigil wrote")

    assert not any((tmp_path / "x").glob("*"))


def test_a_missing_audit_trail_is_named_without_the_servers_paths(packet: Path, tmp_path: Path, rezip: Rezip) -> None:
    def drop(tree: Path) -> None:
        next(tree.rglob("audit-trail.jsonl")).unlink()

    report = verify_packet(rezip(packet, tmp_path / "t.zip", drop))
    reasons = {p.file: p.reason for p in report.problems}
    trail = next(f for f in reasons if f.endswith("data/audit-trail.jsonl") and reasons[f] == "missing")
    assert trail
    assert not any("vigil-verify-" in p.reason or "/tmp" in p.reason for p in report.problems), report.problems


def the_bag(tree: Path) -> Path:
    (bag,) = [d for d in tree.iterdir() if (d / "bagit.txt").exists()]
    return bag


def test_an_extra_file_under_signature_is_not_covered(packet: Path, tmp_path: Path, rezip: Rezip) -> None:
    """signature/ holds the four files the format defines; the signature covers nothing else there."""

    def add(tree: Path) -> None:
        sig = tree / "signature"
        (sig / "notes.txt").write_text("the practice says this packet is fine")
        (sig / "old").mkdir()
        (sig / "old" / "signer.pub.pem").write_bytes((sig / "signer.pub.pem").read_bytes())

    report = verify_packet(rezip(packet, tmp_path / "extra.zip", add))
    reasons = {p.file: p.reason for p in report.problems}
    assert not report.ok
    assert set(reasons) == {"signature/notes.txt", "signature/old/signer.pub.pem"}, report.problems
    assert all("not covered by the signature" in r for r in reasons.values())


def test_an_extra_tag_manifest_in_the_bag_is_named(packet: Path, tmp_path: Path, rezip: Rezip) -> None:
    """bagit checks a tagmanifest-md5.txt it finds, but no signature covers one a forger adds."""

    def add(tree: Path) -> None:
        bag = the_bag(tree)
        lines = [f"{hashlib.md5((bag / n).read_bytes()).hexdigest()}  {n}\n" for n in ("bagit.txt", "bag-info.txt")]
        (bag / "tagmanifest-md5.txt").write_text("".join(lines))

    report = verify_packet(rezip(packet, tmp_path / "md5.zip", add))
    assert not report.ok
    assert any(p.file.endswith("/tagmanifest-md5.txt") and "not listed" in p.reason for p in report.problems)


def test_directory_entries_are_named(packet: Path, tmp_path: Path) -> None:
    """Packets are written without directory entries; any in the zip is extra and named."""
    bag_name = names_in(packet)[0].split("/", 1)[0]
    with_dirs = tmp_path / "dirs.zip"
    with zipfile.ZipFile(packet) as src, zipfile.ZipFile(with_dirs, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("extra-dir/", b"")
        dst.writestr(f"{bag_name}/data/", b"")

    report = verify_packet(with_dirs)
    reasons = {p.file: p.reason for p in report.problems}
    assert not report.ok
    assert reasons == {
        "extra-dir/": "directory entry: packets hold none",
        f"{bag_name}/data/": "directory entry: packets hold none",
    }, report.problems


def test_a_renamed_bag_folder_is_named_and_the_packet_keeps_its_signed_id(
    packet: Path, tmp_path: Path, rezip: Rezip
) -> None:
    """The signature covers the files in the folder, not its name: a renamed folder must not pass
    for a packet of another period."""
    signed_id = verify_packet(packet).packet_id
    assert signed_id and signed_id.startswith("hipaa-20260101-20260331-")
    fake_id = "hipaa-20250101-20251231-0000000000"

    def rename(tree: Path) -> None:
        the_bag(tree).rename(tree / fake_id)

    report = verify_packet(rezip(packet, tmp_path / "renamed.zip", rename))
    assert not report.ok
    assert report.packet_id == signed_id
    (problem,) = report.problems
    assert problem.file == fake_id
    assert signed_id in problem.reason and "renamed" in problem.reason
    assert "data/packet.json packet_id" in problem.reason and "bag-info.txt External-Identifier" in problem.reason


def _with_a_second_copy(packet: Path, dest: Path, *, name_of: Callable[[str], str], forged_first: bool) -> str:
    """The packet's entries with a forged findings.json beside the genuine one (before or after it,
    under `name_of` its name); returns the genuine entry's name."""
    with zipfile.ZipFile(packet) as src:
        entries = [(info.filename, src.read(info)) for info in src.infolist()]
    genuine = next(n for n, _ in entries if n.endswith("/data/findings.json"))
    forged = (name_of(genuine), dict(entries)[genuine].replace(b'"acknowledged"', b'"resolved"', 1))
    assert forged[1] != dict(entries)[genuine]
    with zipfile.ZipFile(dest, "w") as dst:
        for name, data in [forged, *entries] if forged_first else [*entries, forged]:
            dst.writestr(name, data)
    return genuine


@pytest.mark.filterwarnings("ignore:Duplicate name")  # zipfile's, writing the forgery
@pytest.mark.parametrize("forged_first", [True, False])
@pytest.mark.parametrize("name_of", [lambda n: n, lambda n: n.replace("/data/", "/data//")],
                         ids=["same name", "same file"])
def test_a_second_entry_of_one_name_is_named_whichever_copy_comes_first(
    packet: Path, tmp_path: Path, signer: Ed25519Signer, forged_first: bool, name_of: Callable[[str], str]
) -> None:
    """`unzip -n` keeps the first copy, `unzip -o` the last: with a forged copy first, the checks had
    read the genuine last one and passed the packet while an auditor's unzip gave the forgery."""
    doubled = tmp_path / "doubled.zip"
    genuine = _with_a_second_copy(packet, doubled, name_of=name_of, forged_first=forged_first)
    report = verify_packet(doubled, public_key=signer.public_key_pem())
    assert not report.ok
    second = genuine if forged_first or name_of(genuine) == genuine else name_of(genuine)
    duplicate = [p for p in report.problems if "duplicate zip entry" in p.reason]
    assert [p.file for p in duplicate] == [second], report.problems
