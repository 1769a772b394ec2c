"""Check a packet offline and name exactly what failed.

Four independent checks, all run even when an earlier one fails, so the report is complete:
1. every checksum in every manifest and tag manifest, recomputed in full (never Payload-Oxum
   only), plus any file no manifest covers; then bagit's own full validation as a second opinion;
2. the Ed25519 signature over the tag manifest, with the embedded key or, when one is given,
   with that key (an embedded key that differs from the given one is itself a failure);
3. the signed copy of the payload manifest, so that even a bag whose manifests were rewritten
   after a change still names the payload file that changed;
4. the audit-trail excerpt's hash chain, from its anchor to its head.
Besides, every zip entry must be one the format defines (the bag's files, the signature files; no
directory entries), once (a second entry of one name is named: the checks read one copy, and an
unzip tool may extract the other), and the bag's folder name must be the packet id its signed files
hold: the signature covers the files, not the folder's name, so a renamed folder would pass for
another packet.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from engine.audit.chain import ChainWalker
from engine.errors import InputError
from engine.packets import bagit as packet_bag
from engine.packets.archive import CHUNK, safe_extract
from engine.packets.build import SIGNATURE_DIR, SIGNATURE_FILES
from engine.packets.schemas import PacketProblem, PacketVerifyReport
from engine.packets.sign import fingerprint, load_public_key, public_pem, signature_valid

ALGORITHMS = ("sha256", "sha512")


class _Findings:
    """Collects problems once per (file, reason), in the order found."""

    def __init__(self) -> None:
        self.items: list[PacketProblem] = []
        #: files that match all but an edited manifest: that manifest is named, the file is not to blame
        self.intact: set[str] = set()

    def add(self, file: str, reason: str) -> None:
        if not any(p.file == file and p.reason == reason for p in self.items):
            self.items.append(PacketProblem(file=file, reason=reason))

    def files(self) -> set[str]:
        return {p.file for p in self.items}


def verify_packet(zip_path: Path, public_key: bytes | Path | None = None) -> PacketVerifyReport:
    """Verify `zip_path`; pass the practice's public key (PEM bytes or a file) to pin the signer."""
    found = _Findings()
    report = PacketVerifyReport(ok=False)
    with tempfile.TemporaryDirectory(prefix="vigil-verify-") as tmp:
        root = Path(tmp)
        names, unpacked_badly = safe_extract(Path(zip_path), root)  # damaged entries, second copies of one
        for name, reason in unpacked_badly:
            found.add(name, reason)
        bags = sorted(d for d in root.iterdir() if d.is_dir() and (d / "bagit.txt").is_file())
        if len(bags) != 1:
            found.add(str(zip_path), f"expected one BagIt bag in the zip, found {len(bags)}")
            return report.model_copy(update={"problems": found.items})
        bag = bags[0]
        _check_entries(names, bag.name, found)
        payload_sha256, report.files_checked = _check_checksums(bag, found)
        _bagit_second_opinion(bag, found)
        meta = _read_packet_json(bag, found)
        report.packet_id = _check_packet_id(bag, meta, found)
        if meta is not None:  # whose packet: with one key per deployment, the signature alone does not say
            report.org_id = str(meta.get("org_id") or "") or None
            report.org_name = str(meta.get("org_name") or "") or None
            report.framework = str(meta.get("framework") or "") or None
            period = meta.get("period") if isinstance(meta.get("period"), dict) else {}
            report.period = f"{period.get('from')}/{period.get('to')}" if period else None
        key, report.key_source = _choose_key(root, public_key, found)
        if key is not None:
            report.fingerprint = fingerprint(key)
            _check_signatures(root, bag, key, payload_sha256, found)
            if meta is not None:
                _check_packet_meta(bag, meta, report.fingerprint, report.key_source, found)
        report.audit_entries_checked = _check_audit(bag, found)
    return report.model_copy(update={"problems": found.items, "ok": not found.items})


def _check_entries(names: list[str], bag_name: str, found: _Findings) -> None:
    """Every zip entry is a file of the bag or one of the signature files the format defines.

    The bag's own files are judged by the manifests; anything else in the zip (a note under
    signature/, a folder beside the bag, a directory entry) is covered by no checksum or signature.
    """
    for name in names:
        top, _, rest = name.partition("/")
        if name.endswith("/"):
            found.add(name, "directory entry: packets hold none")
        elif top == SIGNATURE_DIR and rest not in SIGNATURE_FILES:
            found.add(name, f"not one of the signature files ({', '.join(SIGNATURE_FILES)}): "
                            "not covered by the signature")
        elif top not in (bag_name, SIGNATURE_DIR):
            found.add(name, "file outside the bag and the signature folder: not covered by the signature")


def _hash_file(path: Path) -> dict[str, str]:
    hashers = {alg: hashlib.new(alg) for alg in ALGORITHMS}
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            for h in hashers.values():
                h.update(chunk)
    return {alg: h.hexdigest() for alg, h in hashers.items()}


def _read_manifest(path: Path) -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, _, name = line.partition(" ")
            entries[name.strip().replace("%0A", "\n").replace("%0D", "\r")] = digest.strip().lower()
    return entries


def _check_checksums(bag: Path, found: _Findings) -> tuple[dict[str, str], int]:
    """Recompute every file's hashes once and compare with every manifest that lists it."""
    prefix = bag.name + "/"
    on_disk = {p.relative_to(bag).as_posix() for p in bag.rglob("*") if p.is_file()}
    manifests: dict[str, dict[str, str]] = {}
    for kind in ("manifest", "tagmanifest"):
        for alg in ALGORITHMS:
            name = f"{kind}-{alg}.txt"
            if (bag / name).is_file():
                manifests[name] = _read_manifest(bag / name)
            else:
                found.add(prefix + name, "manifest missing")
    hashes = {rel: _hash_file(bag / rel) for rel in sorted(on_disk)}
    listed: dict[str, list[str]] = {}
    mismatched: dict[str, list[str]] = {}
    for name, entries in manifests.items():
        alg = name.rsplit("-", 1)[1].removesuffix(".txt")
        for rel, expected in entries.items():
            listed.setdefault(rel, []).append(name)
            if rel not in hashes:
                found.add(prefix + rel, f"listed in {name} but missing")
            elif hashes[rel][alg] != expected:
                mismatched.setdefault(rel, []).append(name)
    for rel, names in mismatched.items():
        if len(names) == len(listed[rel]):
            found.add(prefix + rel, f"checksums do not match {', '.join(names)}: the file was altered")
        else:  # the file agrees with the other manifests, so the disagreeing manifest was edited
            found.intact.add(prefix + rel)
            for name in names:
                found.add(prefix + name, f"its entry for {rel} does not match the file: the manifest was altered")
    _check_unsigned_form(bag, manifests, found)
    payload = {rel for rel in on_disk if rel.startswith("data/")}
    # the tag manifests cannot list themselves; any other (tagmanifest-md5.txt ...) is a tag file
    # like the rest, so one added beside them is named as not listed rather than passed unsigned
    tag_files = on_disk - payload - {f"tagmanifest-{alg}.txt" for alg in ALGORITHMS}
    for name, entries in manifests.items():
        expected_files = payload if name.startswith("manifest-") else tag_files
        for rel in sorted(expected_files - set(entries)):
            found.add(prefix + rel, f"not listed in {name}: added after the bag was made")
    return {rel: hashes[rel]["sha256"] for rel in payload}, len(hashes)


def _bagit_second_opinion(bag: Path, found: _Findings) -> None:
    """bagit's full validation; only adds what the own pass did not already name."""
    named = found.files()
    for file, message in packet_bag.validation_errors(bag):
        target = f"{bag.name}/{file}" if file else bag.name
        if file and (target in named or target in found.intact):  # an edited manifest's entry, named as such
            continue
        if not file and any(n.startswith(bag.name + "/") for n in named):
            continue  # e.g. Payload-Oxum: the altered files are already named
        found.add(target, f"bagit validation: {message}")


def _check_unsigned_form(bag: Path, manifests: dict[str, dict[str, str]], found: _Findings) -> None:
    """A tag manifest no signature covers (`tagmanifest-sha512.txt`) must be exactly its entries,
    one a line, sorted, as a packet is written: read entry by entry, one with its lines reordered,
    duplicated, upper-cased or with text added had verified, so its bytes were not the packet's."""
    for name, entries in manifests.items():
        if not name.startswith("tagmanifest-") or name == "tagmanifest-sha256.txt":
            continue
        written = "".join(sorted((f"{digest} {rel}\n" for rel, digest in entries.items()),
                                 key=packet_bag.tag_line_path))
        if (bag / name).read_bytes() != written.encode("utf-8"):
            found.add(f"{bag.name}/{name}", "not in the form a packet writes (one line an entry, sorted, lower-case "
                                           "digests): lines were reordered, repeated or changed")


def _choose_key(root: Path, given: bytes | Path | None, found: _Findings) -> tuple[Ed25519PublicKey | None, str | None]:
    embedded_path = root / SIGNATURE_DIR / "signer.pub.pem"
    embedded = None
    if embedded_path.is_file():
        try:
            embedded = load_public_key(embedded_path.read_bytes(), source=f"{SIGNATURE_DIR}/signer.pub.pem")
        except InputError as exc:
            found.add(f"{SIGNATURE_DIR}/signer.pub.pem", exc.message)
        else:
            # no signature covers this file: it must be the key's own PEM and nothing else (text put
            # before the key, "confirmed by phone: ...", had verified)
            if embedded_path.read_bytes() != public_pem(embedded):
                found.add(f"{SIGNATURE_DIR}/signer.pub.pem", "not exactly the key's PEM, as a packet is written: "
                                                           "text was added or changed around the key")
    elif given is None:
        found.add(f"{SIGNATURE_DIR}/signer.pub.pem", "missing, and no public key was given")
    if given is None:
        return embedded, "embedded" if embedded else None
    pem = given.read_bytes() if isinstance(given, Path) else given
    key = load_public_key(pem, source=str(given) if isinstance(given, Path) else "given public key")
    if embedded is not None and fingerprint(embedded) != fingerprint(key):
        found.add(
            f"{SIGNATURE_DIR}/signer.pub.pem",
            f"embedded key {fingerprint(embedded)} is not the given key {fingerprint(key)}",
        )
    return key, "given"


def _check_signatures(
    root: Path, bag: Path, key: Ed25519PublicKey, payload_sha256: dict[str, str], found: _Findings
) -> None:
    sig_dir = root / SIGNATURE_DIR
    pairs = ((bag / "tagmanifest-sha256.txt", sig_dir / "tagmanifest-sha256.txt.sig"),)
    for signed, sig in pairs:
        if not sig.is_file() or not signed.is_file():
            found.add(f"{SIGNATURE_DIR}/{sig.name}", "signature or signed file missing")
        elif not signature_valid(key, sig.read_bytes(), signed.read_bytes()):
            found.add(
                f"{bag.name}/{signed.name}",
                f"Ed25519 signature {SIGNATURE_DIR}/{sig.name} does not match: the bag's manifests were "
                "rewritten or the packet was signed by another key",
            )
    copy, copy_sig = sig_dir / "manifest-sha256.txt", sig_dir / "manifest-sha256.txt.sig"
    if not copy.is_file() or not copy_sig.is_file():
        found.add(f"{SIGNATURE_DIR}/manifest-sha256.txt", "signed payload manifest missing")
        return
    if not signature_valid(key, copy_sig.read_bytes(), copy.read_bytes()):
        found.add(
            f"{SIGNATURE_DIR}/manifest-sha256.txt",
            f"Ed25519 signature {SIGNATURE_DIR}/{copy_sig.name} does not match this signed payload manifest",
        )
        return
    signed_entries = _read_manifest(copy)
    for rel, digest in sorted(signed_entries.items()):
        current = payload_sha256.get(rel)
        if current is None:
            found.add(f"{bag.name}/{rel}", "removed since the packet was signed")
        elif current != digest:
            found.add(f"{bag.name}/{rel}", "differs from the signed manifest: altered after signing")
    for rel in sorted(set(payload_sha256) - set(signed_entries)):
        found.add(f"{bag.name}/{rel}", "added after the packet was signed")


def _read_packet_json(bag: Path, found: _Findings) -> dict[str, Any] | None:
    """data/packet.json as a mapping, or None (named as a problem) when it is missing or not JSON."""
    try:
        meta = json.loads((bag / "data" / "packet.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = None
    if not isinstance(meta, dict):
        found.add(f"{bag.name}/data/packet.json", "missing or not JSON")
        return None
    return meta


def _bag_info(bag: Path) -> dict[str, str]:
    """bag-info.txt's tags (the first value of each; continuation lines joined), {} if unreadable."""
    tags: dict[str, str] = {}
    last = None
    try:
        lines = (bag / "bag-info.txt").read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        return tags
    for line in lines:
        if line[:1] in (" ", "\t") and last is not None:
            tags[last] += " " + line.strip()
        elif ":" in line:
            last, _, value = line.partition(":")
            last = last.strip()
            tags.setdefault(last, value.strip())
    return tags


def _check_packet_id(bag: Path, meta: dict[str, Any] | None, found: _Findings) -> str:
    """The bag folder must carry the packet id its signed files hold; returns that signed id.

    The signature covers the files inside the folder, not its name: renamed, a packet would verify
    under an id (framework, period) it never had. packet.json (in the signed payload manifest) and
    bag-info.txt (in the signed tag manifest) both name the packet.
    """
    claims = {"bag-info.txt External-Identifier": _bag_info(bag).get("External-Identifier")}
    if meta is not None:  # otherwise already named as missing or not JSON
        claims = {"data/packet.json packet_id": meta.get("packet_id")} | claims
    by_id: dict[str, list[str]] = {}
    for where, value in claims.items():
        if isinstance(value, str) and value:
            by_id.setdefault(value, []).append(where)
        else:
            file, _, field = where.partition(" ")
            found.add(f"{bag.name}/{file}", f"names no packet id ({field})")
    for signed_id, wheres in by_id.items():
        if signed_id != bag.name:
            found.add(
                bag.name,
                f"the bag folder is named {bag.name}, but the packet's signed id is {signed_id} "
                f"({', '.join(wheres)}): the folder was renamed; the signature does not cover its name",
            )
    return next(iter(by_id), bag.name)


def _check_packet_meta(
    bag: Path, meta: dict[str, Any], key_fingerprint: str, key_source: str | None, found: _Findings
) -> None:
    """The packet names its signing key (packet.json, bag-info.txt, both OSCAL documents): each must
    be the key that verifies it. Session 48's interop pass re-signed an edited packet with another
    key and updated packet.json only: without `--public-key` it verified, while bag-info.txt and the
    OSCAL metadata still named the practice's key. (A forger who rewrites them all is caught only by
    `--public-key`: docs/packets.md says a check without it proves the packet intact, not whose.)"""
    _check_key_named_alike(bag, key_fingerprint, found)
    claimed = meta.get("signing_key_fingerprint")
    if claimed == key_fingerprint:
        return
    if key_source == "embedded":
        found.add(
            f"{SIGNATURE_DIR}/signer.pub.pem",
            f"is key {key_fingerprint}, but the packet names signing key {claimed}: the key file was replaced",
        )
    else:
        found.add(f"{bag.name}/data/packet.json", f"names signing key {claimed}, not the given key {key_fingerprint}")


def _check_key_named_alike(bag: Path, key_fingerprint: str, found: _Findings) -> None:
    """bag-info.txt's `Vigil-Signing-Key` and the OSCAL documents' `signing-key` prop name the key
    that verifies the packet (a document missing or unreadable is named by its own check)."""
    named = _bag_info(bag).get("Vigil-Signing-Key")
    if named is not None and named != key_fingerprint:
        found.add(f"{bag.name}/bag-info.txt", f"names signing key {named} (Vigil-Signing-Key), but the packet "
                                              f"verifies with key {key_fingerprint}: it was re-signed")
    for document in ("oscal/assessment-results.json", "oscal/poam.json"):
        try:
            doc = json.loads((bag / "data" / document).read_bytes())
            body = next(iter(doc.values())) if isinstance(doc, dict) and len(doc) == 1 else {}
            props = body.get("metadata", {}).get("props", []) if isinstance(body, dict) else []
            keys = [p.get("value") for p in props if isinstance(p, dict) and p.get("name") == "signing-key"]
        except (OSError, ValueError, AttributeError):
            continue
        for value in keys:
            if value != key_fingerprint:
                found.add(f"{bag.name}/data/{document}", f"names signing key {value} (metadata prop signing-key), "
                                                         f"but the packet verifies with key {key_fingerprint}: it "
                                                         "was re-signed")


def _check_audit(bag: Path, found: _Findings) -> int:
    """Walk the excerpt from its anchor; returns how many entries were checked."""
    name = f"{bag.name}/data/audit-trail.jsonl"
    path = bag / "data" / "audit-trail.jsonl"
    if not path.is_file():
        found.add(name, "missing")
        return 0
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
    except OSError as exc:  # the reason only: the path is where this machine unpacked it
        found.add(name, f"unreadable audit trail ({exc.strerror or type(exc).__name__})")
        return 0
    except ValueError as exc:
        found.add(name, f"unreadable audit trail ({exc})")
        return 0
    if not records or records[0].get("type") != "anchor":
        found.add(name, "first line must be the chain anchor")
        return 0
    header, entries = records[0], records[1:]
    walker = ChainWalker(
        str(header.get("org_id")),
        anchor=str(header.get("anchor") or ""),
        first_org_seq=header.get("first_org_seq"),
    )
    for line_no, entry in enumerate(entries, start=2):
        problem = walker.feed(entry, redacted=bool(entry.get("redacted")))
        if problem is not None:
            found.add(name, f"line {line_no} (audit entry seq {problem.seq}): {problem.reason}")
    if entries and walker.head != header.get("head"):
        found.add(name, f"chain ends at {walker.head[:16]}..., not at the head {str(header.get('head'))[:16]}...")
    if len(entries) != header.get("entries"):
        found.add(name, f"holds {len(entries)} entries, the anchor line says {header.get('entries')}")
    return len(entries)
