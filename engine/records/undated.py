"""Records an import accepts although a deadline cannot be computed for them: the field the rules'
clock counts from is null.

Why a warning and not an error: the contract lets these fields be null (an incident is logged before
anyone has settled when it was discovered; a request is entered before its receipt date is looked
up), and acceptance suites import such records. But every rule whose deadline counts from the field
passes such a record over with no finding, so a breach's notification deadlines would be lost without
a word; the person importing should hear of it at once, by record and field, while the file is still
in front of them.

Only fields with no fallback are listed: an incident's `determination_at` is not here because a
determination with no date still counts as made (the notice clock runs from discovery), and
`ba_discovered_at` only moves discovery when it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.records.schemas import UndatedRecord

#: record type -> {field a deadline counts from -> what is lost while it is null}. Read from the
#: derivations of rulesets/hipaa (engine/rules/derive/hipaa/breach.py `breach_clock`,
#: requests.py `request_duties`) and rulesets/osha (osha/cases.py), which skip a record whose
#: field is null. (An OSHA case's `learned_at` is not here: null there means "not learned yet".)
ANCHORS: Mapping[str, Mapping[str, str]] = {
    "incident": {"discovered_at": "its breach determination and notification deadlines (HIPAA-BRN-DET-010, "
                                  "IND-011, HHS-012 and MEDIA-013)"},
    "access_request": {"received_at": "its response deadline (HIPAA-PRV-ACC-014)"},
    # engine/rules/derive/osha/cases.py `_live_cases`: a case with no incident date is no case yet
    "osha_case": {"incident_at": "its OSHA 300/301 recording, severe-injury report, sharps log, exposure "
                                 "follow-up and post-report duties (OSHA-REC-LOG-002, REP-SEVERE-006, "
                                 "BBP-PEP-010, BBP-SIL-011 and POST-015)"},
}

#: How many undated records an import report lists; the rest are counted.
SHOWN = 100


@dataclass
class Undated:
    """The records of one import (by type and id, the last version given winning) that lack a field a
    deadline counts from. Only the few types of ANCHORS are held, so the map stays small."""

    missing: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    def add(self, record_type: str, record_id: str, data: Mapping[str, Any]) -> None:
        fields = ANCHORS.get(record_type)
        if not fields:
            return
        lacking = tuple(name for name in fields if data.get(name) is None)
        if lacking:
            self.missing[record_type, record_id] = lacking
        else:
            self.missing.pop((record_type, record_id), None)

    def report(self) -> tuple[list[UndatedRecord], int]:
        """At most SHOWN undated fields, ordered by record type and id, and how many there are in all."""
        every = [(key, name) for key in sorted(self.missing) for name in self.missing[key]]
        shown = [UndatedRecord(record_type=record_type, record_id=record_id, field=name,
                               message=f"{record_type} {record_id!r} has no {name}: {ANCHORS[record_type][name]} "
                                       f"cannot be computed until it is given; give {name} and import the "
                                       f"{record_type} again")
                 for (record_type, record_id), name in every[:SHOWN]]
        return shown, len(every)


def more_line(*, shown: int, listed: int, total: int, listed_in: str) -> str | None:
    """The line standing for the undated records past the first `shown` (the report lists `listed`
    of `total`), or None when none are left out."""
    hidden = total - shown
    if hidden <= 0:
        return None
    return f"... and {hidden} more records with no date their deadlines count from ({listed_in} lists up to {listed})"
