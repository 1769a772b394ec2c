"""Free text the record contract leaves open (job titles, device kinds, change kinds, MIPS
categories) as the rules compare it with the snake_case names in their parameters.

The contract types `employment_episode.role`, `device.kind` and `mips_submission.category` as
text, and practices write "Registered Nurse", "RN", "removable media" or "PI" where a ruleset lists
`registered_nurse` or `removable_media` and CMS names `promoting_interoperability`. Compared as
written, such a record escapes every rule that lists names, silently. Both sides are therefore
folded the same way before they are compared; the record keeps its text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["MIPS_CATEGORIES", "MIPS_CATEGORY_ALIASES", "ROLE_ABBREVIATIONS", "fold", "fold_set", "mips_category",
           "role_key", "role_set"]

_FOLD = re.compile(r"[^a-z0-9]+")

#: Abbreviations of clinical titles read as the role they stand for (the HR roster reads them too).
ROLE_ABBREVIATIONS = {"md": "physician", "do": "physician", "np": "nurse_practitioner", "pa": "physician_assistant",
                      "pa_c": "physician_assistant", "rn": "registered_nurse", "lpn": "licensed_practical_nurse",
                      "lvn": "licensed_practical_nurse", "ma": "medical_assistant", "cma": "medical_assistant"}

#: The names practices and QPP exports give a MIPS performance category, folded, -> its QPP name. Read
#: here by the cms derivations and by the import's check (engine/records/undated.py) that a
#: submission's category is one of them: an unknown one counts for no category, silently.
MIPS_CATEGORY_ALIASES = {
    "q": "quality", "quality": "quality",
    "pi": "promoting_interoperability", "aci": "promoting_interoperability",
    "advancing_care_information": "promoting_interoperability",
    "promoting_interoperability": "promoting_interoperability",
    "ia": "improvement_activities", "improvement_activities": "improvement_activities",
    "cost": "cost",
}  # fmt: skip
#: The QPP names themselves.
MIPS_CATEGORIES = frozenset(MIPS_CATEGORY_ALIASES.values())


def fold(text: Any) -> str:
    """Lower case, each run of other characters one `_`, no `_` at the ends ("Removable media" ->
    removable_media, "PA-C" -> pa_c); None is the empty string."""
    if text is None:
        return ""
    return _FOLD.sub("_", str(text).strip().lstrip("\ufeff").lower()).strip("_")


def fold_set(values: Iterable[Any] | None) -> frozenset[str]:
    """A parameter's list of names, folded (a liaison may write them as people read them)."""
    return frozenset(f for v in values or () if (f := fold(v)))


def role_key(title: Any) -> str:
    """A job title as the role lists compare it: folded, an abbreviation read as its role."""
    key = fold(title)
    return ROLE_ABBREVIATIONS.get(key, key)


def role_set(values: Iterable[Any] | None) -> frozenset[str]:
    """A role-list parameter, each name read as `role_key` reads a title."""
    return frozenset(k for v in values or () if (k := role_key(v)))


def mips_category(raw: Any) -> str:
    """A MIPS performance category as QPP names it ("PI", "Promoting Interoperability" ->
    promoting_interoperability); a name it does not know, folded."""
    key = fold(raw)
    return MIPS_CATEGORY_ALIASES.get(key, key)
