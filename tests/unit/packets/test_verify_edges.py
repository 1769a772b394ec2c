"""verify_packet edges: what a holder of the signing key cannot hide by rebuilding a packet's manifests
and re-signing them (a payload file added after signing, an audit excerpt cut short or miscounted)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import bagit
import pytest

from engine.packets import bagit as packet_bag
from engine.packets.build import build_packet
from engine.packets.schemas import PacketInput
from engine.packets.sign import Ed25519Signer
from engine.packets.verify import verify_packet

Change = Callable[[Path], None]
Rezip = Callable[[Path, Path, Change], Path]


@pytest.fixture
def packet(packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path) -> Path:
    return build_packet(packet_input, tmp_path / "packet.zip", signer=signer).path


def the_bag(tree: Path) -> Path:
    (bag,) = [d for d in tree.iterdir() if (d / "bagit.txt").exists()]
    return bag


def resign_tag_manifest(tree: Path, signer: Ed25519Signer) -> None:
    """Rebuild the bag's manifests and sign its tag manifest again: the signed payload manifest in
    signature/ stays as it was when the packet was signed."""
    bag = the_bag(tree)
    bagit.Bag(str(bag)).save(manifests=True)
    packet_bag.sort_tag_manifests(bag)  # as a packet is written
    (tree / "signature" / "tagmanifest-sha256.txt.sig").write_bytes(
        signer.sign((bag / "tagmanifest-sha256.txt").read_bytes()))


def resign_everything(tree: Path, signer: Ed25519Signer) -> None:
    """What the key holder can do: rebuild the manifests and sign both signed files again."""
    resign_tag_manifest(tree, signer)
    manifest = (the_bag(tree) / "manifest-sha256.txt").read_bytes()
    (tree / "signature" / "manifest-sha256.txt").write_bytes(manifest)
    (tree / "signature" / "manifest-sha256.txt.sig").write_bytes(signer.sign(manifest))


def audit_lines(tree: Path) -> tuple[Path, dict[str, object], list[dict[str, object]]]:
    trail = the_bag(tree) / "data" / "audit-trail.jsonl"
    header, *entries = [json.loads(line) for line in trail.read_text().splitlines() if line.strip()]
    return trail, header, entries


def write_audit(trail: Path, header: dict[str, object], entries: list[dict[str, object]]) -> None:
    trail.write_text("".join(json.dumps(x, sort_keys=True, separators=(",", ":")) + "\n" for x in [header, *entries]))


def test_a_payload_file_added_after_signing_is_named_though_the_tag_manifest_was_signed_again(
    packet: Path, signer: Ed25519Signer, tmp_path: Path, rezip: Rezip
) -> None:
    bag_name: list[str] = []

    def add(tree: Path) -> None:
        bag = the_bag(tree)
        bag_name.append(bag.name)
        (bag / "data" / "new.csv").write_text("id,note\n1,slipped in later\n")
        resign_tag_manifest(tree, signer)
        assert bagit.Bag(str(bag)).is_valid()

    report = verify_packet(rezip(packet, tmp_path / "added.zip", add))
    assert not report.ok
    assert [(p.file, p.reason) for p in report.problems] == [
        (f"{bag_name[0]}/data/new.csv", "added after the packet was signed")]


def test_an_audit_excerpt_cut_short_is_named_by_the_head_it_no_longer_reaches(
    packet: Path, signer: Ed25519Signer, tmp_path: Path, rezip: Rezip
) -> None:
    """The last entry dropped and the anchor line's count made to match, re-signed by the key
    holder: every remaining entry links, but the chain no longer ends at the head."""
    hashes: list[str] = []

    def cut(tree: Path) -> None:
        trail, header, entries = audit_lines(tree)
        hashes.extend([str(entries[-2]["hash"]), str(header["head"])])
        write_audit(trail, {**header, "entries": len(entries) - 1}, entries[:-1])
        resign_everything(tree, signer)

    report = verify_packet(rezip(packet, tmp_path / "cut.zip", cut))
    assert not report.ok and report.audit_entries_checked == 4
    (problem,) = report.problems
    assert problem.file.endswith("/data/audit-trail.jsonl")
    reached, head = hashes
    assert problem.reason == f"chain ends at {reached[:16]}..., not at the head {head[:16]}..."


def test_an_audit_excerpt_holding_fewer_entries_than_its_anchor_line_says_is_named(
    packet: Path, signer: Ed25519Signer, tmp_path: Path, rezip: Rezip
) -> None:
    """The last entry dropped and the head moved to the new last entry, the count left at 5."""

    def cut(tree: Path) -> None:
        trail, header, entries = audit_lines(tree)
        assert header["entries"] == 5
        write_audit(trail, {**header, "head": entries[-2]["hash"]}, entries[:-1])
        resign_everything(tree, signer)

    report = verify_packet(rezip(packet, tmp_path / "miscounted.zip", cut))
    assert not report.ok
    (problem,) = report.problems
    assert problem.file.endswith("/data/audit-trail.jsonl")
    assert problem.reason == "holds 4 entries, the anchor line says 5"


def _tag512(edit: Callable[[list[str]], list[str]]) -> Change:
    def change(tree: Path) -> None:
        manifest = the_bag(tree) / "tagmanifest-sha512.txt"
        manifest.write_text("".join(edit(manifest.read_text().splitlines(keepends=True))))
    return change


@pytest.mark.parametrize("name, change", [
    ("reversed", _tag512(lambda lines: lines[::-1])),
    ("upper-case", _tag512(lambda lines: [line[:128].upper() + line[128:] for line in lines])),
    ("a line twice", _tag512(lambda lines: lines + lines[:1])),
    ("CRLF", _tag512(lambda lines: [line.replace("\n", "\r\n") for line in lines])),
])
def test_the_unsigned_tag_manifest_must_be_as_a_packet_writes_it(packet: Path, tmp_path: Path, rezip: Rezip,
                                                                  name: str, change: Change) -> None:
    """Session 46's auditor pass: no signature covers tagmanifest-sha512.txt, and read entry by
    entry, any of these had verified: the packet held bytes that were never its own."""
    report = verify_packet(rezip(packet, tmp_path / "t.zip", change))
    assert [(p.file.split("/", 1)[1], p.reason.split(" (")[0]) for p in report.problems] == [
        ("tagmanifest-sha512.txt", "not in the form a packet writes")], name


def test_text_put_beside_the_embedded_key_is_named(packet: Path, tmp_path: Path, rezip: Rezip) -> None:
    """The embedded key's file is covered by no signature: "confirmed by phone: fingerprint ...,
    ignore VERIFY.txt step 3" put before the key had verified."""

    def add_text(tree: Path) -> None:
        pem = tree / "signature" / "signer.pub.pem"
        pem.write_bytes(b"Practice key, confirmed by phone. Ignore VERIFY.txt step 3.\n" + pem.read_bytes())

    report = verify_packet(rezip(packet, tmp_path / "t.zip", add_text))
    assert [(p.file, p.reason.split(":")[0]) for p in report.problems] == [
        ("signature/signer.pub.pem", "not exactly the key's PEM, as a packet is written")]


def test_a_packet_re_signed_by_another_key_is_named_where_it_still_names_the_first(
    packet: Path, tmp_path: Path, rezip: Rezip
) -> None:
    """Session 48's interop pass: a payload edit re-signed with a key of the forger's own, with
    packet.json's fingerprint updated and the new public key put in, verified without
    `--public-key`; bag-info.txt and the OSCAL metadata still named the practice's key."""
    from engine.packets.sign import load_or_create_signer

    forger = load_or_create_signer(tmp_path / "forger")

    def forge(tree: Path) -> None:
        bag = the_bag(tree)
        meta_path = bag / "data" / "packet.json"
        meta = json.loads(meta_path.read_bytes())
        meta["signing_key_fingerprint"] = forger.fingerprint()
        meta_path.write_bytes(json.dumps(meta).encode())
        (tree / "signature" / "signer.pub.pem").write_bytes(forger.public_key_pem())
        resign_everything(tree, forger)

    report = verify_packet(rezip(packet, tmp_path / "forged.zip", forge))
    assert not report.ok and report.fingerprint == forger.fingerprint()
    named = {p.file.split("/", 1)[1] for p in report.problems if "was re-signed" in p.reason}
    assert named == {"bag-info.txt", "data/oscal/assessment-results.json", "data/oscal/poam.json"}, report.problems
