"""PHI minimisation for `--redact-phi`: patient identifiers become keyed pseudonyms.

A pseudonym is `PSN-` + the first 12 hex digits of HMAC-SHA256(k, identifier), where k is
derived from the signing key and the packet id. So the same patient gets the same pseudonym
everywhere in one packet (an auditor can still follow one patient through findings, tasks and
the audit trail), different packets cannot be joined, and without the practice's key nobody
can test a guessed MRN against a pseudonym (a plain hash would allow exactly that).

What counts as a patient identifier: the id of any subject or evidence reference whose type is
`patient`, the `entity_id` of audit entries about a patient, the value of any field whose name
says patient, MRN, date of birth or SSN (`patient_id`, `patient_name`, `mrn`, `dob`, ...), and a
patient record's names, date of birth and address. Each is replaced whole in its own field,
whatever its length. Every occurrence of those values as a whole token in any text is replaced
too; a short one ("Li", "Wu") only where it stands as a word, not where it begins an id (`F-1`
for a patient named "F"), and a short number ("7") not at all, for it is every 7 of a date or a
count. Free text that names a patient in some other spelling cannot be found this way: the index
says so.

A finding's message is written from its records, and not every record it names is in the packet:
"The access request AR-2 of PT-77 ..." cites only the access request, whose `patient_id` field
never reaches a packet document. So the collector also hands over the records every finding
cites (its subject and its evidence) and `record_identifiers` reads the patient identifiers out
of them; `learn` adds those before the documents are scrubbed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any

PHI_KEY = re.compile(r"(^|_)(patient|mrn|dob|ssn|birth|date_of_birth|birth_date)(_|$)", re.IGNORECASE)
TOKEN_EDGE_BEFORE = r"(?<![A-Za-z0-9])"
TOKEN_EDGE_AFTER = r"(?![A-Za-z0-9])"
# a dict whose <type field> is "patient" carries the patient's identifier in <id field>
TYPED_IDS = {"type": "id", "subject_type": "subject_id", "entity_type": "entity_id"}
MIN_TEXT_TOKEN = 3
# a shorter identifier holding a letter (a name: "Li") is replaced in text as a word: no letter, digit,
# `_` or `-` beside it, nor a `.`, `/` or `:` that joins it to one (`F-1`, `T-2.F` are ids, not names)
WORD_BEFORE = r"(?<![A-Za-z0-9_-])(?<![A-Za-z0-9][./:])"
WORD_AFTER = r"(?![A-Za-z0-9_-])(?![./:][A-Za-z0-9])"
# the fields of a patient record (engine.records.contract_core.Patient) that identify its patient
# besides its id: replaced in the record and looked for in every text
PATIENT_RECORD_FIELDS = ("first_name", "last_name", "dob", "address")
# the workforce member who is the patient: replaced in the patient's record, which ties them to the
# patient, but not looked for elsewhere (their id in a finding about their training names no patient)
PATIENT_LINK_FIELDS = ("is_workforce_person_id",)


class Pseudonymizer:
    """Finds patient identifiers in packet documents and replaces them consistently."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self.identifiers: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def pseudonym(self, value: str) -> str:
        return "PSN-" + hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:12]

    # -- collecting -------------------------------------------------------------------------
    def collect(self, documents: Iterable[Any]) -> None:
        """Learn every patient identifier the documents hold (call before `scrub`)."""
        for doc in documents:
            self._collect(doc)
        self._pattern = None

    def learn(self, identifiers: Iterable[str]) -> None:
        """Add identifiers known from elsewhere (the cited records) to those found in the documents."""
        for value in identifiers:
            self._add(value)
        self._pattern = None

    def _collect(self, value: Any) -> None:
        if isinstance(value, dict):
            for key in _identifier_fields(value, links=False):
                self._add(value.get(key))
            for key, item in value.items():
                if PHI_KEY.search(str(key)):
                    for scalar in item if isinstance(item, list) else [item]:
                        self._add(scalar)
                self._collect(item)
        elif isinstance(value, list):
            for item in value:
                self._collect(item)

    def _add(self, value: Any) -> None:
        if _scalar(value):
            self.identifiers.add(str(value))

    # -- replacing --------------------------------------------------------------------------
    def _regex(self) -> re.Pattern[str] | None:
        if self._pattern is None:
            ordered = sorted(self.identifiers, key=lambda v: (-len(v), v))
            tokens = [re.escape(v) for v in ordered if len(v) >= MIN_TEXT_TOKEN]
            words = [re.escape(v) for v in ordered if len(v) < MIN_TEXT_TOKEN and any(c.isalpha() for c in v)]
            patterns = ([f"{TOKEN_EDGE_BEFORE}(?:{'|'.join(tokens)}){TOKEN_EDGE_AFTER}"] if tokens else []) + (
                [f"{WORD_BEFORE}(?:{'|'.join(words)}){WORD_AFTER}"] if words else [])
            if patterns:
                self._pattern = re.compile("|".join(patterns))
        return self._pattern

    def scrub_text(self, text: str) -> str:
        pattern = self._regex()
        if pattern is None:
            return text
        return pattern.sub(lambda m: self.pseudonym(m.group(0)), text)

    def scrub(self, value: Any) -> Any:
        """A copy of a JSON-like value with every known identifier replaced (keys untouched).

        Identifier fields are replaced whole, whatever their length; in other text identifiers of
        at least MIN_TEXT_TOKEN characters are replaced as tokens, shorter ones holding a letter (a
        name: "Li") as words only, and shorter numbers not at all, so a patient numbered "7" does
        not rewrite every 7 in a date or a count.
        """
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if not isinstance(value, dict):
            return value
        id_fields = _identifier_fields(value, links=True)
        out: dict[str, Any] = {}
        for key, item in value.items():
            direct = PHI_KEY.search(str(key)) or key in id_fields
            if direct and _scalar(item):
                out[key] = self.pseudonym(str(item))
            elif direct and isinstance(item, list):
                out[key] = [self.pseudonym(str(v)) if _scalar(v) else self.scrub(v) for v in item]
            else:
                out[key] = self.scrub(item)
        return out


def record_identifiers(record: dict[str, Any]) -> set[str]:
    """The patient identifiers one stored record holds (its `data`: `type`, `id` and fields).

    A patient record gives its id, names, date of birth and address; any record gives the values
    of its patient, MRN, date-of-birth and SSN fields (`patient_id` of an access request, an
    access event or an encounter).
    """
    found: set[str] = set()
    fields = [key for key in record if PHI_KEY.search(str(key))]
    if str(record.get("type", "")).lower() == "patient":
        fields += ["id", *PATIENT_RECORD_FIELDS]
    for key in fields:
        item = record.get(key)
        for scalar in item if isinstance(item, list) else [item]:
            if _scalar(scalar):
                found.add(str(scalar))
    return found


def _identifier_fields(value: dict[str, Any], *, links: bool) -> set[str]:
    """The fields of a dict that hold a patient identifier by where they stand: the id of a typed
    reference to a patient, and a patient record's identifying fields (`links`: its tie to a
    workforce member too, which is replaced but not looked for elsewhere)."""
    fields = {id_key for type_key, id_key in TYPED_IDS.items() if str(value.get(type_key, "")).lower() == "patient"}
    if str(value.get("type", "")).lower() == "patient":
        fields.update(PATIENT_RECORD_FIELDS + (PATIENT_LINK_FIELDS if links else ()))
    return fields


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and bool(str(value).strip())
