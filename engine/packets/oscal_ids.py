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


def control_id(framework: str, citation: str | None, rule_id: str) -> str:
    """`<framework>-<citation made token-safe>`, or from the rule id when there is no citation."""
    body = _token(_CFR_PREFIX.sub("", citation)) if citation else ""
    body = body or _token(rule_id)
    prefix = _token(framework) or "control"
    return f"{prefix}-{body}" if body else prefix


def _token(text: str) -> str:
    return _NON_TOKEN.sub("-", text.lower()).strip("-.")


def oscal_uuid(*parts: str) -> str:
    """A v5 UUID for the named object; the same parts always give the same UUID."""
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))
