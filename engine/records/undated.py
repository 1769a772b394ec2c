"""Records an import accepts although a deadline cannot be computed for them: the field the rules'
clock counts from is null (`Undated`, ANCHORS); and records some rule cannot judge or count because
another field it needs is null (`Incomplete`, GAPS).

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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.records.schemas import IncompleteRecord, UndatedRecord

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


# ---- fields other than a date ---------------------------------------------------------------------

#: What a record loses while one field is null, worded to follow "has no <field>: " and to precede
#: " until it is given", or None when, given the rest of the record, no rule needs the field.
Lost = Callable[[Mapping[str, Any]], str | None]


def _osha_case_establishment(data: Mapping[str, Any]) -> str | None:
    """engine/rules/derive/osha/cases.py: `osha_log_duty` skips a case with no establishment (no
    scope, so records are never required), and `osha_sharps_duty` takes records as not required, so a
    sharps case's log entry is judged only as encouraged (low) and its device fields not at all. The
    other case duties (REP-SEVERE-006, BBP-PEP-010, POST-015) need no establishment. Only a recordable
    or sharps case goes on the 300 log (1904.8), so no other case is named."""
    if data.get("sharps") is True:
        return ("its OSHA 300 log duty (OSHA-REC-LOG-002) cannot be judged and its sharps injury log "
                "(OSHA-BBP-SIL-011) is judged only as encouraged")
    if data.get("recordable") is True:
        return "its OSHA 300 log duty (OSHA-REC-LOG-002) cannot be judged"
    return None


def _osha_case_person(data: Mapping[str, Any]) -> str:
    """engine/rules/derive/osha/cases.py: `osha_exposure_followup` (sharps cases only) and
    `osha_post_report_action` skip a case with no person, whose vaccination record and adverse
    actions cannot be found."""
    if data.get("sharps") is True:
        return "its exposure follow-up and post-report review (OSHA-BBP-PEP-010 and POST-015) cannot be judged"
    return "its post-report review (OSHA-POST-015) cannot be judged"


def _uncounted(rules: str, what: str) -> Lost:
    """A record the derivations match to its owner by this field, so with it null they count it for
    none, and the duty it meets still reads as not met (a finding, not silence, but a false one)."""
    text = f"{rules} cannot count it as any {what}"
    return lambda data: text


#: record type -> {field -> what is lost while it is null}. Read from the derivations of
#: rulesets/osha and rulesets/cms; date fields are ANCHORS' business.
GAPS: Mapping[str, Mapping[str, Lost]] = {
    "osha_case": {"establishment_id": _osha_case_establishment, "person_id": _osha_case_person},
    # engine/rules/derive/cms/mips.py `mips_categories` (SUB-002: the category's first submission) and
    # pi_ia.py `_submitted_categories` (a PI or IA submission with no plan entries takes PI-006 and
    # IA-007 as attested) match a submission by `py` and normalized `category`
    "mips_submission": {
        "py": _uncounted("CMS-MIPS-SUB-002, PI-006 and IA-007", "performance year's submission"),
        "category": _uncounted("CMS-MIPS-SUB-002, PI-006 and IA-007", "performance category's submission"),
    },
    # engine/rules/derive/osha/establishment.py `osha_300a_duty` and `osha_ita_duty` skip a summary
    # with no establishment or year; RET-004 matches summaries by both
    "osha_summary": {
        "establishment_id": _uncounted("OSHA-REC-300A-003, ITA-005 and RET-004", "establishment's summary"),
        "year": _uncounted("OSHA-REC-300A-003, ITA-005 and RET-004", "year's summary"),
    },
    # `osha_ecp_duty` groups plans by establishment_id
    "exposure_control_plan": {"establishment_id": _uncounted("OSHA-BBP-ECP-007", "establishment's plan")},
}


@dataclass
class Incomplete:
    """The records of one import (by type and id, the last version given winning) that lack a field,
    not a date, some rule needs to judge or count them (GAPS), each with what is lost. Why a warning
    and not an error, as for Undated: the contract lets these fields be null, but the rules pass the
    record over (or under-count it) without a word, so the person importing should hear of it."""

    missing: dict[tuple[str, str], tuple[tuple[str, str], ...]] = field(default_factory=dict)

    def add(self, record_type: str, record_id: str, data: Mapping[str, Any]) -> None:
        fields = GAPS.get(record_type)
        if not fields:
            return
        lacking = tuple((name, lost) for name, says in fields.items()
                        if data.get(name) is None and (lost := says(data)) is not None)
        if lacking:
            self.missing[record_type, record_id] = lacking
        else:
            self.missing.pop((record_type, record_id), None)

    def report(self) -> tuple[list[IncompleteRecord], int]:
        """At most SHOWN incomplete fields, ordered by record type and id, and how many there are in all."""
        every = [(key, gap) for key in sorted(self.missing) for gap in self.missing[key]]
        shown = [IncompleteRecord(record_type=record_type, record_id=record_id, field=name,
                                  message=f"{record_type} {record_id!r} has no {name}: {lost} until it is given; "
                                          f"give {name} and import the {record_type} again")
                 for (record_type, record_id), (name, lost) in every[:SHOWN]]
        return shown, len(every)


def more_incomplete_line(*, shown: int, listed: int, total: int, listed_in: str) -> str | None:
    """The line standing for the incomplete records past the first `shown`, as more_line does."""
    hidden = total - shown
    if hidden <= 0:
        return None
    return (f"... and {hidden} more records missing a field the rules need ({listed_in} lists up to "
            f"{listed})")
