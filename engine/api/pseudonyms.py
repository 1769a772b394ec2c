"""What an auditor with a pseudonymised grant reads of patients: pseudonyms, not identifiers.

An auditor traces findings to the records they cite, and those name patients: an encounter's
evidence is the patient's record, a late access request's message says whose request it was. HIPAA
lets an auditor for the practice see only the minimum necessary (45 CFR 164.502(b)); an engagement
that needs no patient's identity (a security consultant, a MIPS reviewer) is given a grant with
`phi: pseudonymised`, and every face (API, web UI) hands what it shows through `PatientPseudonyms`.

The same machinery as a PHI-redacted packet's (engine/packets/redact.py): patient identifiers are
found in the documents themselves (typed ids, `patient_id`/`mrn`/`dob`/... fields) and in the
records each finding cites (a message may name a patient whose id sits only in a cited record), and
every occurrence, also in free text, becomes `PSN-` + HMAC-SHA256 under the grant's own secret. So
one patient reads as the same pseudonym on every page of the engagement (an auditor can follow
them), two grants' pseudonyms cannot be joined, and a guessed MRN cannot be tested against one.
A packet keeps its own per-packet pseudonyms: the two do not match, by design (a packet leaves the
portal).

Callers without a pseudonymised grant (every other role, an auditor with `phi: full`) get None
from `for_principal`, and the faces show what they read unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from engine import clock
from engine.auth import service as auth_service
from engine.auth.schemas import Principal
from engine.findings.schemas import Finding, Waiver
from engine.packets.redact import Pseudonymizer, record_identifiers
from engine.records.schemas import StoredRecord

#: (record type, record id, version or None): what `PacketSources.cited_records` reads
CitedRef = tuple[str, str, int | None]


class PatientPseudonyms:
    """One request's pseudonymiser for one grant: learn the identifiers, then scrub what is shown."""

    def __init__(self, session: Session, principal: Principal, key: bytes) -> None:
        self._session = session
        self._org_id = principal.org_id
        self._names = Pseudonymizer(key)

    @classmethod
    def for_principal(cls, session: Session, principal: Principal) -> PatientPseudonyms | None:
        """The pseudonymiser of the caller's grant, or None when the caller may read patients as
        they are (no grant, or a grant with `phi: full`)."""
        grant = principal.grant if principal.role == "auditor" else None
        if grant is None or grant.phi != "pseudonymised":
            return None
        return cls(session, principal, auth_service.pseudonym_key(session, grant.id))

    # -- what is shown -------------------------------------------------------------------------
    def findings(self, findings: Sequence[Finding]) -> list[Finding]:
        """The findings with every patient identifier they hold or their cited records name replaced."""
        documents = [f.model_dump(mode="json") for f in findings]
        self._learn(documents, refs=_finding_refs(documents))
        return [Finding.model_validate(self._names.scrub(doc)) for doc in documents]

    def records(self, records: Sequence[StoredRecord]) -> list[StoredRecord]:
        """Cited record versions with their patient fields (and a patient record's names, date of
        birth, address and workforce link, whatever their length) replaced, and the identifiers also
        wherever they appear in another field's text."""
        documents = [r.model_dump(mode="json") for r in records]
        self._names.collect(documents)
        self._names.learn(ident for r in records for ident in record_identifiers(r.data))
        # a patient record's own id goes by its `type` (typed ids); the type, version and hash stay
        return [StoredRecord.model_validate(self._scrub_keeping(doc, keep=("type", "version", "content_hash")))
                for doc in documents]

    def waivers(self, waivers: Sequence[Waiver]) -> list[Waiver]:
        """Waivers with a patient subject's id, and any identifier their subjects' records name in the
        reason, replaced."""
        documents = [w.model_dump(mode="json") for w in waivers]
        refs = [(str(d["subject_type"]), str(d["subject_id"]), None) for d in documents
                if d.get("subject_type") and d.get("subject_id")]
        self._learn(documents, refs=refs)
        return [Waiver.model_validate(self._scrub_keeping(doc, keep=("subject_type",))) for doc in documents]

    def text(self, value: str) -> str:
        """A text (a page's filter echo, a message already learned) with the known identifiers replaced."""
        return self._names.scrub_text(value)

    # -- learning ------------------------------------------------------------------------------
    def _learn(self, documents: list[dict[str, Any]], *, refs: Iterable[CitedRef]) -> None:
        from engine.packet_sources import DatabaseSources

        self._names.collect(documents)
        cited = DatabaseSources().cited_records(self._session, org_id=self._org_id, refs=sorted(set(refs),
                                                key=_ref_order), known_at=clock.now())
        self._names.learn(ident for record in cited for ident in record_identifiers(record))

    def _scrub_keeping(self, doc: dict[str, Any], *, keep: tuple[str, ...]) -> dict[str, Any]:
        scrubbed = self._names.scrub(doc)
        assert isinstance(scrubbed, dict)
        return scrubbed | {key: doc[key] for key in keep if key in doc}


def _finding_refs(documents: list[dict[str, Any]]) -> list[CitedRef]:
    """The records the findings cite: each subject and each evidence reference (at its version)."""
    refs: list[CitedRef] = []
    for doc in documents:
        refs.append((str(doc["subject_type"]), str(doc["subject_id"]), None))
        for ev in doc.get("evidence") or []:
            if isinstance(ev, dict) and ev.get("type") and ev.get("id"):
                version = ev.get("version")
                refs.append((str(ev["type"]), str(ev["id"]), version if isinstance(version, int) else None))
    return refs


def _ref_order(ref: CitedRef) -> tuple[str, str, int]:
    return ref[0], ref[1], ref[2] or 0

