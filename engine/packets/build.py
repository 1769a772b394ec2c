"""Build an audit evidence packet: payload files -> BagIt bag -> Ed25519 signature -> zip.

Zip layout (see docs/packets.md):

    <packet-id>/                 the BagIt bag (sha256 + sha512 manifests and tag manifests)
        bagit.txt  bag-info.txt  manifest-*.txt  tagmanifest-*.txt
        data/index.html  data/index.pdf  data/packet.json
        data/findings.json  data/findings.csv  data/tasks.json  data/runs.json  data/records.json
        data/audit-trail.jsonl   data/rulesets/...  data/evidence/<task>/...
        data/VERIFY.txt  data/verify-data.py   (the how-to, and its script for the trail and records)
        data/oscal/assessment-results.json  data/oscal/poam.json
    signature/tagmanifest-sha256.txt.sig   Ed25519 over <packet-id>/tagmanifest-sha256.txt
    signature/manifest-sha256.txt(.sig)    the signed payload manifest, to name altered files
    signature/signer.pub.pem               the public key (compare its fingerprint out of band)

Nothing sits outside the bag and signature/, so every byte of the zip is covered by a check;
the how-to for auditors without Vigil is data/VERIFY.txt (inside the signed bag; `howto`).

The same PacketInput and key give the same bytes: every document is sorted, the bag's dates
are the as-of date, Ed25519 signatures are deterministic, and the zip is written with fixed
timestamps and permissions. Evidence is streamed in chunks and re-hashed on the way in, and
each ruleset file must still be the bytes (SHA-256) the packet's evaluation runs recorded.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from engine.audit.chain import ChainWalker, canonical_json
from engine.cells import csv_cell
from engine.errors import AuditChainBroken, ErrorDetail, InputError, IntegrityError
from engine.packets import bagit as packet_bag
from engine.packets import index, oscal
from engine.packets.archive import CHUNK, file_sha256, write_zip
from engine.packets.documents import EvidenceFile, PacketDocs, prepare
from engine.packets.howto import DATA_CHECK, DATA_CHECK_SOURCE, VERIFY_TEXT, zip_listing
from engine.packets.redact import Pseudonymizer
from engine.packets.schemas import PacketBuildReport, PacketInput, RulesetFile
from engine.packets.sign import Signer

SIGNATURE_DIR = "signature"
#: the files `_sign` writes into SIGNATURE_DIR, and the only ones verify accepts there: anything else
#: beside them would ride along in the zip without any signature covering it
SIGNATURE_FILES = ("manifest-sha256.txt", "manifest-sha256.txt.sig", "signer.pub.pem", "tagmanifest-sha256.txt.sig")
# the BagIt profile packets conform to (the project's draft, audit-packet.bagit-profile.json in the
# shared formats folder); bagit-profile validators require a bag to name it in bag-info.txt
BAGIT_PROFILE = "https://example.org/compliance-engine/bagit-profile/audit-packet-v0.1.json"
CSV_COLUMNS = (
    "id", "rule_id", "framework", "ruleset_version", "citation", "control_id", "title", "severity", "status",
    "state", "subject_type", "subject_id", "establishment_id", "due", "opened_at", "resolved_at", "message",
    "waiver_ids", "task_ids",
)  # fmt: skip


def build_packet(inp: PacketInput, out: Path, *, signer: Signer, work_dir: Path | None = None) -> PacketBuildReport:
    """Write the packet for `inp` to `out` and describe what was written."""
    _check_audit_excerpt(inp)
    _check_rulesets_match_runs(inp)
    packet_id = inp.packet_id()
    pseudonymizer = Pseudonymizer(signer.derive_key(b"phi-pseudonym|" + packet_id.encode())) if inp.redact_phi else None
    docs = prepare(inp, fingerprint=signer.fingerprint(), pseudonymizer=pseudonymizer)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vigil-packet-", dir=work_dir) as tmp:
        root = Path(tmp)
        bag = root / packet_id
        bag.mkdir()
        files, size = _write_payload(bag, inp, docs)
        packet_bag.make_bag(bag, _bag_info(inp, docs))
        _sign(root, bag, signer)
        write_zip(root, out, when=inp.as_of)
    return PacketBuildReport(
        path=out,
        packet_id=packet_id,
        sha256=file_sha256(out),
        size=out.stat().st_size,
        payload_files=files,
        payload_bytes=size,
        fingerprint=signer.fingerprint(),
        redacted=inp.redact_phi,
    )


def _check_audit_excerpt(inp: PacketInput) -> None:
    """Refuse to certify an excerpt whose chain is already broken in the database."""
    if inp.audit is None or not inp.audit.entries:
        return
    first = inp.audit.entries[0]
    walker = ChainWalker(inp.org_id, anchor=inp.audit.anchor, first_org_seq=first.org_seq)
    breaks = [b for e in inp.audit.entries if (b := walker.feed(e.model_dump())) is not None]
    if breaks:
        raise AuditChainBroken(
            f"the audit trail for {inp.org_id} is broken; no packet was built",
            details=[ErrorDetail(reason=b.reason, record_type="audit_entry", record_id=str(b.seq)) for b in breaks],
        )


def _check_rulesets_match_runs(inp: PacketInput) -> None:
    """Refuse to ship ruleset bytes other than the ones the packet's runs evaluated with.

    The rulesets are read from disk when the packet is built; each run recorded the SHA-256 of the
    bytes it used. A file edited since without a new version number would be shipped (and signed)
    as what the runs applied while runs.json names other bytes, and the packet would still verify.
    """
    problems = [p for ruleset in sorted(inp.rulesets, key=lambda r: r.name) for p in _ruleset_mismatches(inp, ruleset)]
    if problems:
        raise IntegrityError(
            f"{len(problems)} ruleset file(s) differ from the bytes the packet's evaluation runs used; "
            "no packet was built",
            details=problems,
            code="integrity.ruleset_changed",
        )


def _ruleset_mismatches(inp: PacketInput, ruleset: RulesetFile) -> list[ErrorDetail]:
    """One problem per hash the runs recorded for this file's framework and version that no
    shipped file of that version has (the collector ships every kept earlier version beside it)."""
    if ruleset.version is None:
        return []
    framework = ruleset.ruleset_id or inp.framework
    shipped = {r.sha256 for r in inp.rulesets if (r.ruleset_id or inp.framework) == framework
               and r.version == ruleset.version}
    if ruleset.sha256 != min(shipped):  # one report per version, not per shipped file
        return []
    return [
        ErrorDetail(
            reason=f"ruleset {framework} version {ruleset.version}: {_runs_named(run_ids)} evaluated it with "
            f"sha256 {recorded}, but the file on disk now has sha256 {ruleset.sha256} and this database does not "
            "hold those bytes (runs made before schema revision 0006 did not keep them): the ruleset changed under "
            "the same version. Put the file those runs used (from the Vigil release or the rulesets folder they "
            "were made with) in a copy of the rulesets folder named by VIGIL_RULESETS_DIR, and the packet ships "
            "both; a change of your own belongs in a new version",
            file=f"rulesets/{ruleset.name}",
        )
        for recorded, run_ids in sorted(_recorded_hashes(inp.runs, framework, ruleset.version).items())
        if recorded not in shipped
    ]


def _recorded_hashes(runs: list[dict[str, Any]], framework: str, version: str) -> dict[str, list[str]]:
    """sha256 -> ids of the runs that recorded evaluating `framework` at `version` with those bytes."""
    by_hash: dict[str, list[str]] = {}
    for run in runs:
        for used in run.get("rulesets") or []:
            if isinstance(used, dict) and used.get("id") == framework and used.get("version") == version:
                by_hash.setdefault(str(used.get("sha256")), []).append(str(run.get("id")))
    return by_hash


def _runs_named(run_ids: list[str], shown: int = 3) -> str:
    """'run R-1', 'runs R-1, R-2' or 'runs R-1, R-2, R-3 and 7 more'."""
    names = ", ".join(run_ids[:shown]) + (f" and {len(run_ids) - shown} more" if len(run_ids) > shown else "")
    return f"run{'s' if len(run_ids) > 1 else ''} {names}"


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def findings_csv(docs: PacketDocs) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for f in docs.findings:
        writer.writerow([csv_cell(f.get(column)) for column in CSV_COLUMNS])
    return buffer.getvalue().encode("utf-8")


def _write_payload(bag: Path, inp: PacketInput, docs: PacketDocs) -> tuple[int, int]:
    """Write every payload file into `bag` (bagit moves them under data/). Returns (files, bytes)."""
    documents: dict[str, bytes] = {
        "packet.json": _json_bytes(docs.meta | {"summary": docs.summary, "rulesets": docs.rulesets}),
        "findings.json": _json_bytes({"packet_id": docs.packet_id, "findings": docs.findings, "waivers": docs.waivers}),
        "findings.csv": findings_csv(docs),
        "tasks.json": _json_bytes({"packet_id": docs.packet_id, "tasks": docs.tasks}),
        "runs.json": _json_bytes({"packet_id": docs.packet_id, "runs": docs.runs}),
        "records.json": _json_bytes({"packet_id": docs.packet_id, "records": docs.records,
                                     "content_hash_form": docs.records_form}),
        "audit-trail.jsonl": b"".join(
            canonical_json(line) + b"\n" for line in [docs.audit_header, *docs.audit_entries]
        ),
        "oscal/assessment-results.json": _json_bytes(oscal.assessment_results(docs)),
        "oscal/poam.json": _json_bytes(oscal.poam(docs)),
        "index.html": index.render_html(docs),
        "index.pdf": index.render_pdf(docs),
        "VERIFY.txt": VERIFY_TEXT.format(
            packet_id=docs.packet_id, fingerprint=docs.meta["signing_key_fingerprint"],
            zip_listing=zip_listing(docs.packet_id, signature_dir=SIGNATURE_DIR, signature_files=SIGNATURE_FILES),
        ).encode(),
    }
    documents[DATA_CHECK] = DATA_CHECK_SOURCE.read_bytes()
    for ruleset in inp.rulesets:
        documents[f"rulesets/{ruleset.name}"] = ruleset.content
    documents["rulesets/SHA256SUMS"] = "".join(f"{r['sha256']}  {r['name']}\n" for r in docs.rulesets).encode()
    total = 0
    for name, content in documents.items():
        target = bag / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        total += len(content)
    for item in docs.evidence:
        total += _copy_evidence(item, bag)
    return len(documents) + len(docs.evidence), total


def _copy_evidence(item: EvidenceFile, bag: Path) -> int:
    """Stream one evidence file into the bag, checking it is still the file that was attached."""
    assert item.file is not None
    target = bag / item.file
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    try:
        with item.ref.open() as src, target.open("xb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                dst.write(chunk)
    except FileNotFoundError:
        raise InputError(f"evidence {item.name!r} of task {item.task_id} is missing", code="packet.evidence") from None
    if digest.hexdigest() != item.ref.sha256 or size != item.ref.size:
        raise InputError(
            f"evidence {item.name!r} of task {item.task_id} changed since it was attached "
            f"(sha256 {digest.hexdigest()[:12]}..., {size} bytes; recorded {item.ref.sha256[:12]}..., "
            f"{item.ref.size} bytes)",
            code="packet.evidence",
        )
    return size


def _bag_info(inp: PacketInput, docs: PacketDocs) -> dict[str, str]:
    try:
        version = metadata.version("vigil")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        version = "0"
    return {
        "Source-Organization": inp.org_name or inp.org_id,
        "Vigil-Organization-Id": inp.org_id,
        "External-Identifier": docs.packet_id,
        "External-Description": f"Vigil audit evidence packet: {inp.framework} {inp.period_from} to {inp.period_to}",
        "Bagging-Date": docs.meta["as_of"][:10],
        "Bag-Software-Agent": f"Vigil {version} (bagit-python)",
        "BagIt-Profile-Identifier": BAGIT_PROFILE,
        "Vigil-Framework": inp.framework,
        "Vigil-Period": f"{inp.period_from}/{inp.period_to}",
        "Vigil-As-Of": docs.meta["as_of"],
        "Vigil-Signing-Key": docs.meta["signing_key_fingerprint"],
        "Vigil-PHI-Redacted": "yes" if inp.redact_phi else "no",
    }


def _sign(root: Path, bag: Path, signer: Signer) -> None:
    sig_dir = root / SIGNATURE_DIR
    sig_dir.mkdir()
    tagmanifest = (bag / "tagmanifest-sha256.txt").read_bytes()
    manifest = (bag / "manifest-sha256.txt").read_bytes()
    (sig_dir / "tagmanifest-sha256.txt.sig").write_bytes(signer.sign(tagmanifest))
    (sig_dir / "manifest-sha256.txt").write_bytes(manifest)
    (sig_dir / "manifest-sha256.txt.sig").write_bytes(signer.sign(manifest))
    (sig_dir / "signer.pub.pem").write_bytes(signer.public_key_pem())
