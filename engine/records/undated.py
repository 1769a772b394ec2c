"""Records an import accepts although a deadline cannot be computed for them: the field the rules'
clock counts from is null (`Undated`, ANCHORS); and records some rule cannot judge or count because
another field it needs is null (`Incomplete`, GAPS) or holds a name the rules do not know
(`Incomplete`, VOCABULARIES).

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

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.records import vocab
from engine.records.fields import US_STATES
from engine.records.schemas import ImportReport, IncompleteRecord, PassedOver, UndatedRecord

#: record type -> {field a deadline counts from -> what is lost while it is null}. Read from the
#: derivations of rulesets/hipaa (engine/rules/derive/hipaa/breach.py `breach_clock`,
#: requests.py `request_duties`) and rulesets/osha (osha/cases.py), which skip a record whose
#: field is null. An OSHA case's `learned_at` is here although null may mean "not learned yet": a
#: case the practice has recorded is usually one it knows of, and a death with no `learned_at` had
#: passed every evaluation without a word.
ANCHORS: Mapping[str, Mapping[str, str | Lost]] = {
    "incident": {"discovered_at": "its breach determination and notification deadlines (HIPAA-BRN-DET-010, "
                                  "IND-011, HHS-012 and MEDIA-013)"},
    "access_request": {"received_at": "its response deadline (HIPAA-PRV-ACC-014)"},
    # engine/rules/derive/osha/cases.py `_live_cases`: a case with no incident date is no case yet
    "osha_case": {"incident_at": "its OSHA 300/301 recording, severe-injury report, sharps log, exposure "
                                 "follow-up and post-report duties (OSHA-REC-LOG-002, REP-SEVERE-006, "
                                 "BBP-PEP-010, BBP-SIL-011 and POST-015)",
                  "learned_at": lambda data: _osha_case_learned(data)},
    # engine/rules/derive/credentialing/verification.py `caqh_standing` starts the clock at the latest
    # attestation's issued_at (else its verified_at) and passes over one with neither (the holder then
    # reads as never attested)
    "credential": {"issued_at": lambda data: "its re-attestation clock (CRED-CAQH-006)"
                   if data.get("kind") == "CAQH_ATTESTATION" and data.get("verified_at") is None else None},
}

#: How many undated (or incomplete) records an import report lists; the rest are counted.
SHOWN = 100


#: (field, message) for each field of one record that the rules pass over.
Named = tuple[tuple[str, str], ...]


@dataclass
class _Passed:
    """The records of one import (by type and id, the last version given winning) with fields the rules
    pass over, each with its message; only records with one are held, so the map stays small."""

    missing: dict[tuple[str, str], Named] = field(default_factory=dict)

    def _note(self, record_type: str, record_id: str, named: Named) -> None:
        if named:
            self.missing[record_type, record_id] = named
        else:
            self.missing.pop((record_type, record_id), None)

    def _shown(self) -> tuple[list[tuple[str, str, str, str]], int]:
        """At most SHOWN (type, id, field, message), ordered by record type and id, and how many in all."""
        every = [(*key, name, message) for key in sorted(self.missing) for name, message in self.missing[key]]
        return every[:SHOWN], len(every)


class Undated(_Passed):
    """The records lacking a field a deadline counts from (ANCHORS)."""

    def add(self, record_type: str, record_id: str, data: Mapping[str, Any]) -> None:
        fields = ANCHORS.get(record_type)
        if fields:
            lost_by_field = ((name, says if isinstance(says, str) else says(data))
                             for name, says in fields.items() if data.get(name) is None)
            self._note(record_type, record_id, tuple(
                (name, f"{record_type} {record_id!r} has no {name}: {lost} cannot be computed until it is given; "
                       f"give {name} and import the {record_type} again")
                for name, lost in lost_by_field if lost is not None))

    def report(self) -> tuple[list[UndatedRecord], int]:
        shown, total = self._shown()
        return [UndatedRecord(record_type=t, record_id=i, field=f, message=m) for t, i, f, m in shown], total


# ---- fields other than a date ---------------------------------------------------------------------

#: What a record loses while one field is null, worded to follow "has no <field>: " and to precede
#: " until it is given", or None when, given the rest of the record, no rule needs the field.
Lost = Callable[[Mapping[str, Any]], str | None]


def _osha_case_learned(data: Mapping[str, Any]) -> str | None:
    """engine/rules/derive/osha/cases.py: the recording, severe-injury and sharps clocks count from
    `learned_at` (1904.29(b)(3), 1904.39(a), 1910.1030(f)(3)) and a case without it has none. Named only
    when the incident date is given (else that is the gap) and some clock would run."""
    if data.get("incident_at") is None:
        return None
    duties = []
    if data.get("recordable") is True or data.get("sharps") is True:
        duties.append("OSHA-REC-LOG-002")
    if any(data.get(f) not in (None, False) for f in ("died_at", "inpatient_admit_at", "amputation", "eye_loss")):
        duties.append("REP-SEVERE-006")
    if data.get("sharps") is True:
        duties += ["BBP-PEP-010", "BBP-SIL-011"]
    if not duties:
        return None
    return (f"its deadlines counted from when the practice learned of the case ({', '.join(duties)}; a null "
            "reads as not learned of yet, so no finding says they were missed)")


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


#: training_record.course -> the rules that count a completed course for the person who took it
#: (engine/rules/derive/osha/employees.py `_trainings` and hipaa/workforce.py skip a training with no
#: person; OSHA-EAP-013 and FIRE-014 join it by person_id in rulesets/osha). HEPB-008 reads the first
#: BBP training because the vaccine must be offered after it. S1557 and AI_USE are read by no rule.
_COURSE_RULES = {
    "BBP": "OSHA-BBP-TRN-009 and HEPB-008", "HAZCOM": "OSHA-HAZ-012", "EAP": "OSHA-EAP-013",
    "FIRE_EXT": "OSHA-FIRE-014", "HIPAA_PRIVACY": "HIPAA-ADM-TRN-002", "HIPAA_SECURITY": "HIPAA-ADM-TRN-002",
}


def _training_person(data: Mapping[str, Any]) -> str | None:
    """The training counts for nobody, so the trainee's duty reads unmet: a false finding."""
    course = str(data.get("course") or "")
    rules = _COURSE_RULES.get(course)
    return None if rules is None else f"{rules} cannot count it as any person's {course} training"


def _screening_person(data: Mapping[str, Any]) -> str:
    """engine/rules/derive/cms/exclusion.py skips a check with no person and credentialing/_common.py
    `load_screenings` files it under nobody: the person's check reads as not run (a false finding)
    and, worse, an exclusion it found is raised against no one."""
    rules = "CMS-EXCL-LEIE-015, CRED-NCQA-PSV-008 and CRED-MON-009"
    result = str(data.get("result") or "").strip().lower()
    if result in ("excluded", "possible_match"):
        return (f"the {result.replace('_', ' ')} it found is raised against no one, and {rules} cannot count "
                "it as any person's exclusion check")
    return f"{rules} cannot count it as any person's exclusion check"


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


#: credential.kind -> what its holder's duties lose while it has no person. engine/rules/derive/
#: credentialing/_common.py `load_credentials` files such a credential under nobody: the holder's
#: duties that it meets read as unmet (a false finding) and its own expiry is judged for no one.
_CREDENTIAL_LOST = {
    "STATE_LICENSE": "CRED-LIC-001 and DEA-002 cannot count it as its holder's license, so their encounters and "
                     "DEA registration in that state read as unlicensed, and its expiry and verification "
                     "(CRED-LIC-001, MON-009, NCQA-PSV-008 and NCQA-RECRED-007) cannot be judged",
    "DEA": "its expiry and verification (CRED-DEA-002, CSR-003 and NCQA-PSV-008) cannot be judged",
    "STATE_CSR": "CRED-CSR-003 cannot count it as any person's state controlled-substance registration",
    "BOARD_CERT": "its expiry and verification (CRED-BOARD-004 and NCQA-PSV-008) cannot be judged, and a role "
                  "that must be certified reads as not certified",
    "MALPRACTICE": "CRED-MAL-010 cannot count it as any person's malpractice coverage",
    "BLS": "CRED-BLS-012 cannot count it as any person's life-support card",
    "ACLS": "CRED-BLS-012 cannot count it as any person's life-support card",
    "PALS": "CRED-BLS-012 cannot count it as any person's life-support card",
    "CAQH_ATTESTATION": "its re-attestation clock (CRED-CAQH-006) cannot be judged",
}


#: credential.kind -> what is lost while a state-held credential names no state a derivation can
#: match: licenses.py keys STATE_LICENSE, DEA and STATE_CSR by `jurisdiction` (upper case) and
#: compares it with encounter and establishment states, so "Colorado" or a null counts for no state.
_STATE_LOST = {
    "STATE_LICENSE": "CRED-LIC-001 and DEA-002 cannot count it as a license in any state, so the holder's "
                     "encounters and DEA registration there read as unlicensed",
    "DEA": "CRED-DEA-002 and CSR-003 cannot place it in any state, so it reads as having no state license "
           "behind it, the holder as unregistered where they work, and no state controlled-substance "
           "registration is looked for",
    "STATE_CSR": "CRED-CSR-003 cannot count it as a registration in any state, so the DEA registration it "
                 "stands behind reads as lacking one",
}


def _credential_state(data: Mapping[str, Any]) -> str | None:
    return _STATE_LOST.get(str(data.get("kind") or ""))


def _is_state_code(value: Any) -> bool:
    """Checked only for the state-held kinds (`_credential_state` says nothing for the others): a
    CLIA certificate's jurisdiction names an establishment, and the others' is read, if at all, as a
    hint."""
    return str(value).strip().upper() in US_STATES


def _credential_person(data: Mapping[str, Any]) -> str | None:
    """A CLIA certificate is the laboratory's: `clia_standing` places it by its jurisdiction, and only
    with none does it need the holder (the laboratory director) to find the site."""
    kind = str(data.get("kind") or "")
    if kind == "CLIA":
        return None if data.get("jurisdiction") else "its CLIA renewal (CRED-CLIA-011) is judged for no testing site"
    return _CREDENTIAL_LOST.get(kind)


def _episode_person(data: Mapping[str, Any]) -> str:
    """An episode of no one is nobody's employment: the derivations skip it (osha/_common.py
    `_engagements`, hipaa/_common.py, cms/exclusion.py, credentialing/_common.py), and a rule that
    joins trainings to it by person (OSHA-EAP-013) finds none. Only the rules whose filters
    the episode passes are named."""
    current, ended = data.get("end_at") is None, data.get("end_at") is not None
    unjudged = ["CMS-EXCL-LEIE-015"]
    unmeetable: list[str] = []
    if data.get("phi_access_required") is True:
        unjudged.append("HIPAA-ADM-TRN-002")
    if ended:
        unjudged.append("HIPAA-SEC-TERM-004")
    if data.get("occupational_exposure") is True:
        unjudged += ["OSHA-BBP-HEPB-008", "OSHA-BBP-TRN-009", "OSHA-HAZ-012"]
    if current:
        unjudged.append("OSHA-FIRE-014")
        unmeetable.append("OSHA-EAP-013")
    if data.get("licensed_clinician") is True:  # credentialing/_common.py `load_episodes` skips it
        unjudged.append("the credential rules (CRED-*)")
    text = f"it is nobody's employment, so its holder's duties under {_listed(unjudged)} cannot be judged"
    if unmeetable:
        verb = "reports" if len(unmeetable) == 1 else "report"
        text += f", and {_listed(unmeetable)} {verb} for it duties no record can meet"
    if data.get("licensed_clinician") is True:  # engine/rules/derive/ai_use.py `_Licences` skips it
        text += ("; AI-CA-3030-006, AI-HITL-011 and AI-STATE-MH-013 do not read its holder's reviews as a "
                 "licensed clinician's")
    return text


_QUALITY_RULES = "CMS-MIPS-Q-COUNT-003, Q-DC-004, Q-CASE-005 and CMS-QM-001-008 to QM-130-012"

#: record type -> {field -> what is lost while it is null}. Read from the derivations of
#: rulesets/hipaa, rulesets/osha, rulesets/cms and rulesets/credentialing (and, for the two person
#: fields at the end, checked with scenarios on both backends); date fields are ANCHORS'
#: business.
GAPS: Mapping[str, Mapping[str, Lost]] = {
    "osha_case": {"establishment_id": _osha_case_establishment, "person_id": _osha_case_person},
    # engine/rules/derive/cms/mips.py `mips_categories` (SUB-002: the category's first submission) and
    # pi_ia.py `_submitted_categories` (a PI or IA submission with no plan entries takes PI-006 and
    # IA-007 as attested) match a submission by `py` and normalized `category`
    "mips_submission": {
        "py": _uncounted("CMS-MIPS-SUB-002, PI-006 and IA-007", "performance year's submission"),
        "category": _uncounted("CMS-MIPS-SUB-002, PI-006 and IA-007", "performance category's submission"),
    },
    # engine/rules/derive/cms/quality.py `_grouped_cases` groups cases by `py` and measure
    "measure_case": {
        "py": _uncounted(_QUALITY_RULES, "performance year's case"),
        "measure_id": _uncounted(_QUALITY_RULES, "measure's case"),
    },
    # engine/rules/derive/osha/establishment.py `osha_300a_duty` and `osha_ita_duty` skip a summary
    # with no establishment or year; RET-004 matches summaries by both
    "osha_summary": {
        "establishment_id": _uncounted("OSHA-REC-300A-003, ITA-005 and RET-004", "establishment's summary"),
        "year": _uncounted("OSHA-REC-300A-003, ITA-005 and RET-004", "year's summary"),
    },
    # `osha_ecp_duty` groups plans by establishment_id
    "exposure_control_plan": {"establishment_id": _uncounted("OSHA-BBP-ECP-007", "establishment's plan")},
    # osha/employees.py `osha_hepb_offer` and cases.py `osha_exposure_followup` group by person_id
    "hepb_vaccination": {"person_id": _uncounted("OSHA-BBP-HEPB-008 and PEP-010", "person's vaccination record")},
    "training_record": {"person_id": _training_person},
    # hipaa/workforce.py `sanction_duties` skips a sanction with no investigation (the investigation's
    # decision then reads as not made); osha/cases.py `osha_post_report_action` groups by person_id
    # (an adverse action against a reporter goes unseen)
    "sanction_record": {
        "investigation_id": _uncounted("HIPAA-ADM-SAN-003", "investigation's sanction"),
        "person_id": _uncounted("OSHA-POST-015", "person's adverse action"),
    },
    "screening": {"person_id": _screening_person},
    "credential": {"person_id": _credential_person, "jurisdiction": _credential_state},
    "employment_episode": {"person_id": _episode_person},
}


@dataclass(frozen=True)
class Vocabulary:
    """The names the rules read in one free-text field: any other value counts for nothing, as a null
    would, and the person importing should hear of it the same way."""

    known: Callable[[Any], bool]
    names: str  # the names accepted, as the message lists them
    lost: Lost  # what is lost while the value is unknown, worded like GAPS' (None: nothing, for this record)


#: record type -> {field -> the names the rules know there}.
VOCABULARIES: Mapping[str, Mapping[str, Vocabulary]] = {
    "mips_submission": {"category": Vocabulary(
        known=lambda raw: vocab.mips_category(raw) in vocab.MIPS_CATEGORIES,
        names="quality (Q), promoting_interoperability (PI, ACI), improvement_activities (IA) or cost",
        lost=_uncounted("CMS-MIPS-SUB-002, PI-006 and IA-007", "performance category's submission"),
    )},
    "credential": {"jurisdiction": Vocabulary(
        known=_is_state_code, names="the two-letter USPS state codes (CO, NY, ...)", lost=_credential_state,
    )},
}


#: record type -> (earlier field, later field, what the rules make of the two in the wrong order).
#: The contract types each field alone, so an episode that ends before it begins is valid record by
#: record; the rules then read the dates as given, and the person importing should hear of it.
ORDERED: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "employment_episode": (("start_at", "end_at", "the rules read an engagement held on no day"),),
    "investigation": (("opened_at", "closed_at", "HIPAA-ADM-SAN-003 reads it as closed before it was opened"),),
    "baa": (("effective_at", "terminated_at", "HIPAA-BA-BAA-009 and AI-BAA-002 read the agreement as in force "
                                              "on no day"),),
    "incident": (("le_delay_start", "le_delay_until", "the law-enforcement delay counts as no days "
                                                      "(HIPAA-BRN-IND-011, HHS-012 and MEDIA-013)"),),
    "osha_summary": (("posted_from", "posted_until", "OSHA-REC-300A-003 reads the summary as posted on no day"),),
    "credential": (("issued_at", "expires_at", "the rules read it as expired before it was issued"),),
}


def _moment(value: Any) -> dt.datetime | dt.date | None:
    """A stored instant (as UTC) or date, for ordering two fields of one record; None if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        return dt.datetime.fromisoformat(value).astimezone(dt.UTC)
    except ValueError:
        return None


def _order_messages(record_type: str, record_id: str, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = []
    for earlier, later, lost in ORDERED.get(record_type, ()):
        first, then = _moment(data.get(earlier)), _moment(data.get(later))
        if first is not None and then is not None and type(first) is type(then) and then < first:  # type: ignore[operator]
            out.append((later, f"{record_type} {record_id!r} has {later} {data[later]}, before its {earlier} "
                               f"{data[earlier]}: {lost}; correct the dates and import the {record_type} again"))
    return out


def _gap_messages(record_type: str, record_id: str, data: Mapping[str, Any]) -> Named:
    """(field, message) for each field of GAPS null, each of VOCABULARIES holding an unknown name and
    each pair of ORDERED in the wrong order."""
    out: list[tuple[str, str]] = _order_messages(record_type, record_id, data)
    for name, says in GAPS.get(record_type, {}).items():
        if data.get(name) is None and (lost := says(data)) is not None:
            out.append((name, f"{record_type} {record_id!r} has no {name}: {lost} until it is given; "
                              f"give {name} and import the {record_type} again"))
    for name, words in VOCABULARIES.get(record_type, {}).items():
        value = data.get(name)
        if value is not None and (lost := words.lost(data)) is not None and not words.known(value):
            out.append((name, f"{record_type} {record_id!r} has {name} {value!r}, which is none of {words.names}: "
                              f"{lost} until it is corrected; correct {name} and import the {record_type} again"))
    return tuple(out)


class Incomplete(_Passed):
    """The records lacking a field, not a date, some rule needs to judge or count them (GAPS), holding
    a name there the rules do not know (VOCABULARIES), or two dates in the wrong order (ORDERED). Why
    a warning and not an error, as for Undated: the contract lets these fields be null or free text
    (and types each date alone), but the rules pass the record over (or under-count it, or read its
    dates as given) without a word, so the person importing should hear of it."""

    def add(self, record_type: str, record_id: str, data: Mapping[str, Any]) -> None:
        if record_type in GAPS or record_type in VOCABULARIES or record_type in ORDERED:
            self._note(record_type, record_id, _gap_messages(record_type, record_id, data))

    def report(self) -> tuple[list[IncompleteRecord], int]:
        shown, total = self._shown()
        return [IncompleteRecord(record_type=t, record_id=i, field=f, message=m) for t, i, f, m in shown], total


#: Every record type some check here applies to (the store's gap list reads only these).
CHECKED_TYPES = tuple(sorted(set(ANCHORS) | set(GAPS) | set(VOCABULARIES) | set(ORDERED)))


def warning_lines(report: ImportReport | PassedOver, *, shown: int, listed_in: str | None = None) -> list[str]:
    """An import's warnings (or the store's gap list) as a person reads them: the first `shown` undated
    records, a line counting the rest, then the same for incomplete records. `listed_in` is where the
    full lists are (the CLI's `--json`); by default the report's own field names (the API's body)."""
    lines: list[str] = []
    for name, listed, total in (("undated_records", report.undated_records, report.undated_records_total),
                                ("incomplete_records", report.incomplete_records, report.incomplete_records_total)):
        lines += [record.message for record in listed[:shown]]
        if total > shown:
            lines.append(f"... and {total - shown} more {_WHAT[name]} ({listed_in or name} lists up to {len(listed)})")
    return lines


#: How the line counting the records past those shown names them.
_WHAT = {"undated_records": "records with no date their deadlines count from",
         "incomplete_records": "records missing a field the rules need"}
