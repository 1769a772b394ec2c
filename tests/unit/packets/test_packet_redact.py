"""--redact-phi: patient identifiers vanish from every file, pseudonyms are stable, the packet still verifies."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from engine import clock, db
from engine.audit.chain import GENESIS_HASH, entry_hash
from engine.audit.schemas import AuditEntry, AuditExcerpt
from engine.packet_sources import DatabaseSources
from engine.packets.build import build_packet
from engine.packets.collect import collect_input
from engine.packets.redact import PATIENT_LINK_FIELDS, PATIENT_RECORD_FIELDS, Pseudonymizer, record_identifiers
from engine.packets.schemas import PacketInput, PacketTask
from engine.packets.sign import Ed25519Signer
from engine.packets.verify import verify_packet
from engine.records import service as records_service
from engine.records.schemas import Patient
from tests.unit.packets.conftest import audit_entries

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


ACCESS_REQUEST = {"type": "access_request", "id": "AR-2", "patient_id": "PT-000067", "kind": "access",
                  "received_at": "2026-02-01T10:00:00-05:00"}  # fmt: skip
SUBJECT_ONLY_FINDING = {
    "id": "F-9", "rule_id": "HIPAA-PRV-ACC-014", "citation": "45 CFR 164.524(b)(2)", "state": "open",
    "subject_type": "access_request", "subject_id": "AR-2", "opened_at": "2026-03-05T00:00:00Z",
    "message": "The access request AR-2 of PT-000067 was due to be answered by 2026-03-03.",
    "evidence": [{"type": "access_request", "id": "AR-2", "version": 1}], "facts": {}, "history": [],
}  # fmt: skip


class SubjectRecordSources:
    """Sources whose only finding names its patient in the message; the id is in the subject record."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    def org_name(self, session: Session, **_: Any) -> str | None:
        return "Example Family Practice"

    def findings(self, session: Session, **_: Any) -> list[dict[str, Any]]:
        return [dict(SUBJECT_ONLY_FINDING)]

    def finding_transitions(self, session: Session, **_: Any) -> list[Any]:
        return []

    def finding_revisions(self, session: Session, **_: Any) -> list[Any]:
        return []

    def audit_frameworks(self, session: Session, **_: Any) -> dict[int, list[str]]:
        return {}

    def waivers(self, session: Session, **_: Any) -> list[Any]:
        return []

    def tasks(self, session: Session, **_: Any) -> list[PacketTask]:
        return [PacketTask(id="T-9", title="Answer AR-2 of PT-000067", state="open", finding_ids=["F-9"])]

    def rulesets(self, session: Session, **_: Any) -> list[Any]:
        return []

    def requirements(self, session: Session, **_: Any) -> list[Any]:
        return []

    def runs(self, session: Session, **_: Any) -> list[dict[str, Any]]:
        return [{"id": "R-1", "as_of": "2026-03-05T00:00:00Z", "applied": True}]

    def cited_records(self, session: Session, *, refs: list[Any], **_: Any) -> list[dict[str, Any]]:
        self.asked.extend(refs)
        return [dict(ACCESS_REQUEST)]

    def record_versions(self, session: Session, **_: Any) -> list[dict[str, Any]]:
        return [{"type": "access_request", "id": "AR-2", "version": 1, "content_hash": "0" * 64,
                 "recorded_at": "2026-02-01T15:00:00+00:00", "source": "requests.json", "data": dict(ACCESS_REQUEST)}]


def _unzipped_texts(zip_path: Path, into: Path) -> dict[str, str]:
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(into)
    texts = {str(p): p.read_text(errors="replace") for p in into.rglob("*") if p.is_file() and p.suffix != ".pdf"}
    for pdf in into.rglob("*.pdf"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
        texts[str(pdf)] = text
    return texts


def test_patient_known_only_from_the_subject_record_is_pseudonymised(
    sqlite_engine: Engine, signer: Ed25519Signer, tmp_path: Path
) -> None:
    """Probe 15 #1: "The access request AR-0002 of PT-000067 ..." leaked from a redacted packet."""
    sources = SubjectRecordSources()
    with db.unit_of_work(sqlite_engine) as s:
        inp = collect_input(
            s, org_id="org-demo", framework="hipaa", date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 3, 31),
            as_of=dt.datetime(2026, 4, 1, tzinfo=dt.UTC), redact_phi=True, sources=sources,
        )  # fmt: skip
    assert ("access_request", "AR-2", None) in sources.asked and ("access_request", "AR-2", 1) in sources.asked
    report = build_packet(inp, tmp_path / "r.zip", signer=signer)
    texts = _unzipped_texts(report.path, tmp_path / "r")
    leaks = [name for name, text in texts.items() if "PT-000067" in text]
    assert leaks == []
    findings = json.loads(next(t for n, t in texts.items() if n.endswith("data/findings.json")))["findings"]
    assert re.search(r"AR-2 of PSN-[0-9a-f]{12} was due", findings[0]["message"])


def test_cited_records_are_not_asked_for_without_redaction(sqlite_engine: Engine) -> None:
    sources = SubjectRecordSources()
    with db.unit_of_work(sqlite_engine) as s:
        inp = collect_input(
            s, org_id="org-demo", framework="hipaa", date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 3, 31),
            as_of=dt.datetime(2026, 4, 1, tzinfo=dt.UTC), sources=sources,
        )  # fmt: skip
    assert sources.asked == [] and inp.phi_identifiers == []


def test_record_identifiers_read_patient_fields_and_patient_records() -> None:
    assert record_identifiers(ACCESS_REQUEST) == {"PT-000067"}
    patient = {"type": "patient", "id": "PT-1", "first_name": "Jane", "last_name": "Roe", "dob": "1960-01-02",
               "state": "NY", "vip": False}  # fmt: skip
    assert record_identifiers(patient) == {"PT-1", "Jane", "Roe", "1960-01-02"}
    assert record_identifiers({"type": "system", "id": "SYS-1", "name": "PACS"}) == set()


def test_database_sources_return_the_cited_records(sqlite_engine: Engine) -> None:
    """The adapter reads subjects and evidence from the record store, newest known and cited versions."""
    with clock.frozen(dt.datetime(2026, 2, 1, tzinfo=dt.UTC)), db.unit_of_work(sqlite_engine) as s:
        records_service.import_records(s, org_id="org-demo", records=[ACCESS_REQUEST], actor="user:t", source="t")
    with clock.frozen(dt.datetime(2026, 2, 2, tzinfo=dt.UTC)), db.unit_of_work(sqlite_engine) as s:
        moved = ACCESS_REQUEST | {"patient_id": "PT-000068"}
        records_service.import_records(s, org_id="org-demo", records=[moved], actor="user:t", source="t")
    with db.unit_of_work(sqlite_engine) as s:
        got = DatabaseSources().cited_records(
            s, org_id="org-demo", refs=[("access_request", "AR-2", 1), ("ai_use_encounter", "ENC-1", None),
                                        ("access_request", "AR-404", None)],
            known_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        )  # fmt: skip
    assert sorted(r["patient_id"] for r in got) == ["PT-000067", "PT-000068"]


SHORT_NAMED = {"type": "patient", "id": "P-10042", "first_name": "Wu", "last_name": "Li", "dob": "1971-05-06",
               "address": "9 Far Rd, Troy, NY 12180", "state": "NY", "is_workforce_person_id": "W-3"}  # fmt: skip


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){name}(?![A-Za-z0-9])")


def test_a_patient_with_a_short_name_is_pseudonymised_in_every_file(
    packet_input: PacketInput, signer: Ed25519Signer, tmp_path: Path
) -> None:
    """Auditor pass, 7 December: a patient named "Li" (first name "Wu") kept both names in a redacted
    packet's records.json, and wherever a message, a fact or the audit trail quoted them; the id, date
    of birth and address were replaced. A name is an identifier whatever its length."""
    entries = audit_entries(5)
    quoted = entries[2].model_dump() | {"payload": {"note": "letter to Wu Li returned", "patient_id": "P-10042"}}
    entries = _chained([quoted if e.seq == quoted["seq"] else e.model_dump() for e in entries])
    f1 = packet_input.findings[0] | {"message": "Individual notice for incident I-7 (patient P-10042, Wu Li) is late.",
                                     "facts": {"patient_id": "P-10042", "surname": "Li", "days_late": 20}}
    inp = packet_input.model_copy(update={
        "findings": [f1, *packet_input.findings[1:]],
        "audit": AuditExcerpt(org_id="org-demo", anchor=GENESIS_HASH, head=entries[-1].hash, entries=entries),
        "records": [{"type": "patient", "id": "P-10042", "version": 1, "content_hash": "0" * 64,
                     "recorded_at": "2026-01-02T00:00:00+00:00", "source": "patients.csv", "data": SHORT_NAMED}],
    })  # fmt: skip
    data = build_redacted(inp, signer, tmp_path)
    texts = {p.name: p.read_text(errors="replace") for p in data.rglob("*") if p.is_file() and p.suffix != ".pdf"}
    texts["index.pdf (text)"] = subprocess.run(["pdftotext", str(data / "index.pdf"), "-"], check=True,
                                               capture_output=True, text=True).stdout
    for name, text in texts.items():
        for word in ("Li", "Wu", "Troy", "1971-05-06"):
            assert not _word(word).search(text), (word, name)
    (patient,) = json.loads((data / "records.json").read_text())["records"]
    for field in ("id", "first_name", "last_name", "dob", "address", "is_workforce_person_id"):
        assert re.fullmatch(r"PSN-[0-9a-f]{12}", patient["data"][field]), field
    assert patient["data"]["state"] == "NY"
    # the workforce member's id is replaced in the patient's record only: elsewhere it names no patient
    findings = json.loads((data / "findings.json").read_text())["findings"]
    assert next(f for f in findings if f["id"] == "F-3")["subject_id"] == "W-3"


def test_short_names_are_replaced_as_words_not_inside_ids() -> None:
    """A short name is replaced where it stands as a word; an id it begins (F-1, T-2) is no word."""
    p = Pseudonymizer(b"k" * 32)
    p.collect([{"type": "patient", "id": "PT-1", "first_name": "F", "last_name": "Ng"}])
    out = p.scrub({"message": "F Ng (PT-1) is in F-1 and T-2.F; Ng's chart", "ids": ["F-1", "F.2", "NgX"]})
    assert out["message"] == (f"{p.pseudonym('F')} {p.pseudonym('Ng')} ({p.pseudonym('PT-1')}) is in F-1 and "
                              f"T-2.F; {p.pseudonym('Ng')}'s chart")
    assert out["ids"] == ["F-1", "F.2", "NgX"]


def test_every_field_of_the_patient_record_type_is_judged() -> None:
    """A field added to the patient record type must be placed here: an identifier (replaced in every
    redacted packet and pseudonymised view) or not. State, VIP and restriction flags name no one."""
    judged = {"type", "id", "state", "vip", "record_restricted", *PATIENT_RECORD_FIELDS, *PATIENT_LINK_FIELDS}
    assert set(Patient.model_fields) == judged


def _chained(docs: list[dict[str, Any]]) -> list[AuditEntry]:
    """Audit entries with their hashes and links written again after an edit."""
    prev, out = GENESIS_HASH, []
    for doc in docs:
        doc = doc | {"prev_hash": prev}
        doc["hash"] = prev = entry_hash(doc)
        out.append(AuditEntry.model_validate(doc))
    return out
