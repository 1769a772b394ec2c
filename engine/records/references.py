"""References between records, and the check an import makes of them: which ids it names that the
organization holds no record of.

Why a warning and not an error: a practice's exports arrive in any order and in several imports
(the training log before the roster, say), so a reference to a record not stored yet is normal for
a while. But a typo in `person_id` silently makes a training count for nobody, and an episode at an
unknown site is judged in the practice's zone; the person importing should hear of it
at once, by record and field, while the file is still in front of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.records.schemas import ImportReport, PassedOver, UnknownReference
from engine.records.tables import record_version

#: record type -> {field -> the record type its value names}. `access_event.user_id` names an
#: account's `user_id` (a login, not a record id) and `care_link.department_id` and
#: `measure_case.measure_id` name no record type, so none of them is here.
REFERENCES: Mapping[str, Mapping[str, str]] = {
    "establishment": {"org_id": "organization"},
    "person": {"patient_id": "patient"},
    "employment_episode": {"person_id": "person", "establishment_id": "establishment"},
    "patient": {"is_workforce_person_id": "person"},
    "account": {"system_id": "system", "person_id": "person"},
    "access_event": {"system_id": "system", "patient_id": "patient"},
    "care_link": {"patient_id": "patient", "person_id": "person"},
    "training_record": {"person_id": "person"},
    "hepb_vaccination": {"person_id": "person"},
    "investigation": {"subject_person_id": "person"},
    "sanction_record": {"investigation_id": "investigation", "person_id": "person"},
    "risk_analysis": {"scope_system_ids": "system"},
    "risk_item": {"risk_analysis_id": "risk_analysis", "owner_person_id": "person"},
    "baa": {"vendor_id": "vendor"},
    "phi_flow": {"vendor_id": "vendor"},
    "incident": {"establishment_id": "establishment", "ba_vendor_id": "vendor"},
    "access_request": {"patient_id": "patient", "establishment_id": "establishment"},
    "osha_case": {"establishment_id": "establishment", "person_id": "person"},
    "osha_summary": {"establishment_id": "establishment"},
    "exposure_control_plan": {"establishment_id": "establishment"},
    "credential": {"person_id": "person"},
    "screening": {"person_id": "person"},
    "ai_tool": {"vendor_id": "vendor", "owner_person_id": "person"},
    "ai_output": {"tool_id": "ai_tool", "establishment_id": "establishment", "reviewed_by_person_id": "person"},
    "encounter": {"patient_id": "patient", "clinician_person_id": "person", "establishment_id": "establishment"},
    "measure_case": {"patient_id": "patient"},
}

#: How many unknown references an import report lists; the rest are counted.
SHOWN = 100
_CHUNK = 500


@dataclass
class References:
    """The distinct references one import's written records make, each with the first record that made
    it and how many did (a million access events name a few thousand patients: the set stays small)."""

    first: dict[tuple[str, str], tuple[str, str, str]] = field(default_factory=dict)
    count: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, record_type: str, record_id: str, data: Mapping[str, Any]) -> None:
        fields = REFERENCES.get(record_type)
        if not fields:
            return
        for name, target in fields.items():
            value = data.get(name)
            if value is None:
                continue
            for named in value if isinstance(value, list) else (value,):
                key = (target, named)
                if key in self.count:
                    self.count[key] += 1
                else:
                    self.count[key] = 1
                    self.first[key] = (record_type, record_id, name)

    def unknown(self, session: Session, *, org_id: str) -> tuple[list[UnknownReference], int]:
        """The referenced records the organization holds no version of (this import's own records are
        in the session already, so a file holding both sides names nothing), ordered by the record
        named: at most SHOWN of them, and how many there are in all."""
        held = _held(session, org_id, self.count)
        missing = sorted(key for key in self.count if key not in held)
        shown = []
        for target, named in missing[:SHOWN]:
            record_type, record_id, name = self.first[target, named]
            records = self.count[target, named]
            also = f" (and {records - 1} more record{'s' if records != 2 else ''})" if records > 1 else ""
            shown.append(UnknownReference(
                record_type=record_type, record_id=record_id, field=name, names_type=target, names_id=named,
                records=records, reason=f"names {target} {named!r}{also}, which this organization holds no "
                                        f"record of; import it, or correct the id"))
        return shown, len(missing)


def _held(session: Session, org_id: str, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of (type, id) the organization holds any version of."""
    by_type: dict[str, list[str]] = {}
    for record_type, record_id in keys:
        by_type.setdefault(record_type, []).append(record_id)
    held: set[tuple[str, str]] = set()
    rv = record_version.c
    for record_type, ids in by_type.items():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            rows = session.execute(
                select(rv.record_id).distinct()
                .where(rv.org_id == org_id, rv.record_type == record_type, rv.record_id.in_(chunk))
            )
            held.update((record_type, row[0]) for row in rows)
    return held


def reference_lines(report: ImportReport | PassedOver, *, shown: int, listed_in: str = "--json") -> list[str]:
    """The first `shown` unknown references as a person reads them, and a line counting the rest."""
    lines = [f"{unknown.record_type} {unknown.record_id!r} {unknown.field}: {unknown.reason}"
             for unknown in report.unknown_references[:shown]]
    hidden = report.unknown_references_total - shown
    if hidden > 0:
        lines.append(f"... and {hidden} more unknown references ({listed_in} lists up to "
                     f"{len(report.unknown_references)})")
    return lines
