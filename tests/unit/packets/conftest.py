"""A synthetic practice's packet input (fake people and ids), a signing key, and helpers."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.audit.chain import GENESIS_HASH, entry_hash
from engine.audit.schemas import AuditEntry, AuditExcerpt
from engine.packets.schemas import (
    EvidenceRef,
    FindingTransition,
    PacketInput,
    PacketTask,
    PacketWaiver,
    Requirement,
    RulesetFile,
)
from engine.packets.sign import Ed25519Signer, load_or_create_signer
from tests.conftest import SHARED

AS_OF = dt.datetime(2026, 4, 2, 15, 30, tzinfo=dt.UTC)
OSCAL_DIR = SHARED / "formats" / "oscal"
RULESET_YAML = b"framework: hipaa\nversion: 2026.1.0\nrules:\n  - id: HIPAA-BRN-IND-011\n"


def audit_entries(n: int, *, start_seq: int = 1, prev: str = GENESIS_HASH) -> list[AuditEntry]:
    entries = []
    for i in range(start_seq, start_seq + n):
        doc = {
            "seq": 100 + i,
            "org_id": "org-demo",
            "org_seq": i,
            "at": dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC) + dt.timedelta(hours=i),
            "actor": "user:privacy-officer",
            "action": "finding.acknowledge" if i % 2 else "record.import",
            "entity_type": "patient" if i == start_seq + 1 else "finding",
            "entity_id": "P-10042" if i == start_seq + 1 else f"F-{i}",
            "payload": {"note": f"step {i}", "patient_id": "P-10042"} if i == start_seq + 2 else {"step": i},
            "prev_hash": prev,
        }
        doc["hash"] = entry_hash(doc)
        prev = str(doc["hash"])
        entries.append(AuditEntry.model_validate(doc))
    return entries


@pytest.fixture
def evidence_dir(tmp_path: Path) -> Path:
    d = tmp_path / "evidence-src"
    d.mkdir()
    (d / "breach-notice.txt").write_text("Notice mailed to P-10042 (Jane Roe) on 2026-02-10.\n")
    (d / "training-roster.csv").write_text("name,completed\nA. Nurse,2026-01-20\n")
    return d


def ref(path: Path, *, media_type: str = "text/plain", contains_phi: bool = False) -> EvidenceRef:
    data = path.read_bytes()
    return EvidenceRef(
        name=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        media_type=media_type,
        path=path,
        contains_phi=contains_phi,
    )


@pytest.fixture
def packet_input(evidence_dir: Path) -> PacketInput:
    """Three findings under two citations, a waiver, two tasks with evidence, a run, an audit excerpt."""
    findings = [
        {
            "id": "F-1",
            "org_id": "org-demo",
            "rule_id": "HIPAA-BRN-IND-011",
            "framework": "hipaa",
            "ruleset_version": "2026.1.0",
            "title": "Breach notice to individual overdue",
            "citation": "45 CFR 164.404(b)",
            "severity": "critical",
            "advisory": False,
            "subject_type": "incident",
            "subject_id": "I-7",
            "occurrence_key": "I-7",
            "establishment_id": "E-main",
            "status": "overdue",
            "due": "2026-03-01",
            "message": "Individual notice for incident I-7 (patient P-10042, Jane Roe) is 20 days late.",
            "evidence": [{"type": "incident", "id": "I-7", "version": 2}, {"type": "patient", "id": "P-10042"}],
            "facts": {"patient_id": "P-10042", "patient_name": "Jane Roe", "days_late": 20},
            "sop": "SOP-BRN-001",
            "state": "acknowledged",
            "opened_at": "2026-03-02T06:00:00+00:00",
            "opened_by_run": "R-2",
            "resolved_at": None,
            "resolved_by_run": None,
            "history": [
                {"at": "2026-03-02T06:00:00Z", "actor": "run:R-2", "from_state": None, "to_state": "open"},
            ],
        },
        {
            "id": "F-2",
            "org_id": "org-demo",
            "rule_id": "HIPAA-ACC-SNP-003",
            "framework": "hipaa",
            "ruleset_version": "2026.1.0",
            "title": "Access without treatment relationship",
            "citation": "45 CFR 164.308(a)(1)(ii)(D)",
            "severity": "high",
            "subject_type": "patient",
            "subject_id": "P-20077",
            "status": "violation",
            "due": None,
            "message": "User u-12 opened the chart of P-20077 with no encounter.",
            "evidence": [{"type": "access_event", "id": "AE-9", "version": 1}],
            "facts": {"user": "u-12"},
            "state": "waived",
            "opened_at": "2026-02-11T10:00:00Z",
            "history": [],
        },
        {
            "id": "F-3",
            "org_id": "org-demo",
            "rule_id": "HIPAA-TRN-ANN-001",
            "framework": "hipaa",
            "ruleset_version": "2026.1.0",
            "title": "Annual security training missing",
            "citation": "45 CFR 164.308(a)(5)(i)",
            "severity": "medium",
            "subject_type": "person",
            "subject_id": "W-3",
            "status": "overdue",
            "due": "2026-01-31",
            "message": "Workforce member W-3 has no training in the last 12 months.",
            "evidence": [],
            "facts": {},
            "state": "resolved",
            "opened_at": "2026-02-01T05:00:00Z",
            "resolved_at": "2026-02-20T05:00:00Z",
            "history": [],
        },
    ]
    ruleset = RulesetFile(
        name="hipaa/ruleset.yaml",
        ruleset_id="hipaa",
        version="2026.1.0",
        content=RULESET_YAML,
        sha256=hashlib.sha256(RULESET_YAML).hexdigest(),
    )
    entries = audit_entries(5)
    return PacketInput(
        org_id="org-demo",
        org_name="Example Family Practice",
        framework="hipaa",
        period_from=dt.date(2026, 1, 1),
        period_to=dt.date(2026, 3, 31),
        as_of=AS_OF,
        findings=findings,
        finding_transitions=[
            FindingTransition(
                finding_id="F-1",
                at=dt.datetime(2026, 3, 3, 14, tzinfo=dt.UTC),
                actor="user:privacy-officer",
                from_state="open",
                to_state="acknowledged",
                reason="letters being prepared",
            ),
            FindingTransition(
                finding_id="F-2",
                at=dt.datetime(2026, 2, 12, 9, tzinfo=dt.UTC),
                actor="user:compliance",
                from_state="open",
                to_state="waived",
                reason="covering physician, documented",
            ),
        ],
        waivers=[
            PacketWaiver(
                id="W-1",
                finding_id="F-2",
                rule_id="HIPAA-ACC-SNP-003",
                reason="Covering physician for P-20077 during leave; documented",
                granted_by="user:compliance",
                granted_at=dt.datetime(2026, 2, 12, 9, tzinfo=dt.UTC),
                valid_until=dt.date(2026, 6, 30),
            )
        ],
        tasks=[
            PacketTask(
                id="T-1",
                title="Send breach notice letters",
                state="in_progress",
                finding_ids=["F-1"],
                assignee="role:privacy_officer",
                due="2026-03-05",
                sop="SOP-BRN-001",
                evidence=[ref(evidence_dir / "breach-notice.txt", contains_phi=True)],
            ),
            PacketTask(
                id="T-2",
                title="Complete annual training",
                state="done",
                finding_ids=["F-3"],
                completed_at=dt.datetime(2026, 2, 20, 5, tzinfo=dt.UTC),
                evidence=[ref(evidence_dir / "training-roster.csv", media_type="text/csv")],
            ),
        ],
        rulesets=[ruleset],
        runs=[
            {
                "id": "R-2",
                "org_id": "org-demo",
                "as_of": "2026-03-02T06:00:00Z",
                "known_at": "2026-03-02T06:00:00Z",
                "backend": "durable",
                "rulesets": [{"id": "hipaa", "version": "2026.1.0", "sha256": ruleset.sha256}],
                "input_hash": "ab" * 32,
                "counts": {"findings": 3},
            }
        ],
        requirements=[
            Requirement(
                citation="45 CFR 164.404(b)",
                title="Notification to individuals: timeliness",
                text="Without unreasonable delay and no later than 60 calendar days after discovery.",
                rule_ids=["HIPAA-BRN-IND-011"],
            )
        ],
        audit=AuditExcerpt(org_id="org-demo", anchor=GENESIS_HASH, head=entries[-1].hash, entries=entries),
    )


@pytest.fixture(scope="session")
def oscal_schema_dir() -> Path:
    """The NIST OSCAL 1.2.1 JSON Schemas kept in the shared folder."""
    return OSCAL_DIR


@pytest.fixture
def signer(tmp_path: Path) -> Ed25519Signer:
    return load_or_create_signer(tmp_path / "keys")


Rezip = Callable[[Path, Path, Callable[[Path], None]], Path]


@pytest.fixture
def rezip() -> Rezip:
    """Tamper helper: unzip a packet, let a function edit the tree, zip it again."""
    return _rezip


def _rezip(src: Path, dest: Path, change: Callable[[Path], None]) -> Path:
    """Unzip a packet, let `change` edit the tree, zip it again (plainly: tampering need not be tidy)."""
    tree = dest.parent / (dest.stem + "-tree")
    with zipfile.ZipFile(src) as zf:
        zf.extractall(tree)
    change(tree)
    with zipfile.ZipFile(dest, "w") as zf:
        for p in sorted(tree.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(tree).as_posix())
    shutil.rmtree(tree)
    return dest
