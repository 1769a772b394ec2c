"""Which facts are evaluated together: the bundle families.

durable_rules' cost and memory grow with the facts in one session, so a sweep evaluates small
bundles (one subject and the records related to it). A rule can only join facts that land in the
same bundle, so the compiler checks every rule against these families: a join across families
is rejected at compile time instead of silently never matching.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Facts copied into every bundle (few, small, practice-wide).
REFERENCE_TYPES = frozenset({"organization", "establishment", "system"})

#: Record type -> (family, field holding the bundle key; None = the record's own id).
FAMILY_OF: dict[str, tuple[str, str | None]] = {
    "person": ("person", None),
    "employment_episode": ("person", "person_id"),
    "account": ("person", "person_id"),
    "training_record": ("person", "person_id"),
    "hepb_vaccination": ("person", "person_id"),
    "credential": ("person", "person_id"),
    "screening": ("person", "person_id"),
    "sanction_record": ("person", "person_id"),
    "investigation": ("person", "subject_person_id"),
    "vendor": ("vendor", None),
    "baa": ("vendor", "vendor_id"),
    "phi_flow": ("vendor", "vendor_id"),
    "ai_tool": ("vendor", "vendor_id"),
    "osha_summary": ("establishment", "establishment_id"),
    "exposure_control_plan": ("establishment", "establishment_id"),
    "risk_analysis": ("org", ""),
    "risk_item": ("org", ""),
    "mips_submission": ("org", ""),
    "incident": ("incident", None),
    "access_request": ("access_request", None),
    "device": ("device", None),
    "osha_case": ("osha_case", None),
    "patient": ("patient", None),
    "care_link": ("care_link", None),
    "measure_case": ("measure_case", None),
    "access_event": ("event:access_event", None),
    "ai_output": ("event:ai_output", None),
    "encounter": ("event:encounter", None),
}

EVENT_CHUNK = 500


def family_of(fact_type: str, derived_families: Mapping[str, str]) -> str:
    """The family of a fact type ("reference" for facts copied into every bundle)."""
    if fact_type in REFERENCE_TYPES:
        return "reference"
    if fact_type in derived_families:
        return derived_families[fact_type]
    if fact_type in FAMILY_OF:
        return FAMILY_OF[fact_type][0]
    return f"own:{fact_type}"


def bundle_key(fact_type: str, record_id: str, data: Mapping[str, Any]) -> str:
    """The bundle a record joins: family plus key (e.g. "person:P-0001")."""
    family, key_field = FAMILY_OF.get(fact_type, (f"own:{fact_type}", None))
    if key_field == "":
        return f"{family}:*"
    if key_field is None:
        return f"{family}:{record_id}"
    key = data.get(key_field)
    if key is None:
        return f"{family}:{fact_type}/{record_id}"
    return f"{family}:{key}"


#: Family prefixes followed by a second part ("event:access_event", "own:incident").
_TWO_PART = ("event", "own")


def family_of_key(key: str) -> str:
    """The family of a bundle key: "person" of "person:P-1", "event:access_event" of
    "event:access_event:AE-1". Split from the left, as a family is one name or one of `_TWO_PART`
    and a name: record ids may themselves hold colons ("E:1"), and splitting from the right
    had put such an establishment's bundle in a family no rule reads, dropping its findings."""
    head, _, rest = key.partition(":")
    if head in _TWO_PART:
        return f"{head}:{rest.partition(':')[0]}"
    return head


def subject_of_key(key: str) -> str:
    """The part of a bundle key after its family: "E:1" of "establishment:E:1"."""
    return key[len(family_of_key(key)) + 1:]
