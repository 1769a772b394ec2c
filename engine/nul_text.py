"""U+0000 (NUL) in text: refused wherever text comes in, before it can reach storage.

Why: PostgreSQL cannot hold NUL in text or JSONB. A value holding one failed there with a
database error (a 500 from the API), while SQLite stored it, so the same input gave different
outcomes on the two databases. Refusing it at the edges gives one outcome, with the field named.
Records are checked where they are validated (`engine.records.validation`); API and web requests
in `engine.api.app` (query strings, JSON and form bodies).
"""

from __future__ import annotations

import re
from typing import Any

REASON = "contains a NUL character (\\u0000), which no text field can store; remove it"
#: JSON's escape for U+0000, not itself escaped (`\\u0000` in JSON is a backslash and 'u0000').
_JSON_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def paths(value: Any, path: str = "") -> list[str]:
    """The dotted paths (`a.b[2]`) of the strings in a JSON value holding U+0000, keys included."""
    if isinstance(value, str):
        return [path] if "\0" in value else []
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            found.extend([sub] if "\0" in str(key) else paths(item, sub))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(paths(item, f"{path}[{i}]"))
    return found


def in_json(body: bytes) -> bool:
    """Whether a JSON text holds U+0000 in some string (as the escape JSON must use for it)."""
    return b"\\u0000" in body and _JSON_ESCAPE.search(body) is not None


def in_urlencoded(raw: bytes) -> bool:
    """Whether a query string, path or form body holds U+0000 (percent-encoded, or raw)."""
    return b"%00" in raw or b"\0" in raw
