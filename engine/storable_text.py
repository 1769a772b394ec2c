"""Text no database can store, refused wherever text comes in, before it can reach storage.

- U+0000 (NUL): PostgreSQL cannot hold it in text or JSONB. A value holding one failed there with
  a database error (a 500 from the API), while SQLite stored it.
- An unpaired surrogate (`\\ud800` alone: JSON can write one, but it is half of a character, as
  when an export cuts an emoji in two): it has no UTF-8 form, so writing it failed on both
  databases, and an import of such a record stopped with a traceback.

Refusing both at the edges gives one outcome on either database, with the field named. Records
are checked where they are validated (`engine.records.validation`); API and web requests in
`engine.api.app` (query strings, JSON and form bodies).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

NUL_REASON = "contains a NUL character (\\u0000), which no text field can store; remove it"
SURROGATE_REASON = ("contains half of a character (an unpaired UTF-16 surrogate such as \\ud800, as when an "
                    "export cuts an emoji in two), which cannot be stored; export the text again")
#: Characters that text may not carry although a database could store them: the C0 controls but tab,
#: line feed and carriage return (NUL is refused above, with its own reason), DEL, the C1 controls, and
#: the bidirectional overrides and isolates. They are instructions, not text: an ESC in a vendor's
#: name cleared or reset the terminal of whoever listed findings, and U+202E showed a tool's name
#: reversed. A regular-expression class, for Python and for JSON Schema readers alike.
CONTROL_CLASS = r"\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{CONTROL_CLASS}]")


def first_control(text: str) -> str | None:
    """The first control character in `text` (see CONTROL_CLASS), or None; fast when there is none."""
    if text.isprintable():
        return None
    found = _CONTROL.search(text)
    return found.group() if found else None


def control_reason(char: str) -> str:
    return (f"contains the control character U+{ord(char):04X}, an instruction to a terminal or to text layout "
            "rather than text (it could clear a screen or show a name reversed); remove it")


def visible(text: str) -> str:
    """`text` with each control character written as its escape (`\\x1b`, `\\u202e`), for quoting a
    refused value, such as a record's id, in an error message without acting on it."""
    if first_control(text) is None:
        return text
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def without_controls(text: str) -> str:
    """`text` with each control character replaced by '_' (for names that are labels, such as an
    uploaded file's)."""
    return _CONTROL.sub("_", text)


#: JSON's escape for U+0000, not itself escaped (`\\u0000` in JSON is a backslash and 'u0000').
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def has_nul(text: str) -> bool:
    return "\0" in text


def has_surrogate(text: str) -> bool:
    """Whether `text` holds a code point with no UTF-8 form (an unpaired surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def paths(value: Any, bad: Callable[[str], bool] = has_nul, path: str = "") -> list[str]:
    """The dotted paths (`a.b[2]`) of the strings in a JSON value that are `bad`, keys included."""
    if isinstance(value, str):
        return [path] if bad(value) else []
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            found.extend([sub] if bad(str(key)) else paths(item, bad, sub))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(paths(item, bad, f"{path}[{i}]"))
    return found


def problems(value: Any) -> list[tuple[str, str]]:
    """(path, reason) of every string in a JSON value that cannot be stored."""
    return ([(p, NUL_REASON) for p in paths(value, has_nul)]
            + [(p, SURROGATE_REASON) for p in paths(value, has_surrogate)])


def in_json(body: bytes) -> bool:
    """Whether a JSON text may hold unstorable text: a NUL escape, or any escape of a surrogate
    (`\\ud800`-`\\udfff`, paired or not: the caller reads the text to tell)."""
    if b"\\u0000" in body and _JSON_NUL.search(body) is not None:
        return True
    return b"\\ud" in body or b"\\uD" in body


def in_urlencoded(raw: bytes) -> bool:
    """Whether a query string, path or form body holds U+0000 (percent-encoded, or raw)."""
    return b"%00" in raw or b"\0" in raw
