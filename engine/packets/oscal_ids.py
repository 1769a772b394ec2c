"""Identifiers for OSCAL output: token-safe control ids and deterministic (v5) UUIDs.

OSCAL control ids are tokens (a letter or `_`, then letters, digits, `.`, `-`, `_`), so a legal
citation such as `45 CFR 164.308(a)(1)(ii)(A)` becomes `hipaa-164.308-a-1-ii-a`; the citation
itself stays in the document as a `label` property. UUIDs are version 5 (name-based), derived
from the packet id and each object's own identity, so rebuilding a packet gives the same UUIDs
and an auditor can follow the same finding across packets of the same scope.
"""

from __future__ import annotations

import re
import uuid

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://vigil.dev/ns/packets")
_CFR_PREFIX = re.compile(r"^\s*\d+\s*(CFR|C\.F\.R\.)\s*(§+\s*)?", re.IGNORECASE)
_NON_TOKEN = re.compile(r"[^a-z0-9.]+")
#: a section number and the parenthesised paragraphs right after it: 164.308(a)(1)(ii)(A)
_SECTION = re.compile(r"\d+\.\d+(?:\([A-Za-z0-9]+\))*")
#: a citation that is not a section number gives an id of at most this many characters
MAX_TEXT_ID = 60


def control_id(framework: str, citation: str | None, rule_id: str) -> str:
    """`<framework>-<the citation's first provision, token-safe>`, or from the rule id when there is
    no citation. A rule cites several provisions (`45 CFR 164.530(b)(1)-(2); 164.308(a)(5)(i)-(ii)`):
    the control is the first, as a catalog would number it (`hipaa-164.530-b-1`), and the whole
    citation stays in the `label` property; an id made of the whole text named no control anyone
    has (`hipaa-164.308-a-1-ii-a-b-164.308-a-8-...-cms-qpp-pi-pphi-1`)."""
    body = _token(first_provision(citation)) if citation else ""
    body = body or _token(rule_id)
    prefix = _token(framework) or "control"
    return f"{prefix}-{body}" if body else prefix


def first_provision(citation: str) -> str:
    """`164.308(a)(1)(ii)(A)` of `45 CFR 164.308(a)(1)(ii)(A)-(B); 164.308(a)(8)`; for a citation that
    is not a section number (`Cal. Health & Safety Code 1339.75 (AB 3030)`), its text up to the first
    parenthesis or comma."""
    first = _CFR_PREFIX.sub("", citation.split(";")[0]).strip()
    section = _SECTION.match(first)
    if section:
        return section.group(0)
    return re.split(r"[(,]", first, maxsplit=1)[0][:MAX_TEXT_ID]


def _token(text: str) -> str:
    return _NON_TOKEN.sub("-", text.lower()).strip("-.")


def oscal_uuid(*parts: str) -> str:
    """A v5 UUID for the named object; the same parts always give the same UUID."""
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))
