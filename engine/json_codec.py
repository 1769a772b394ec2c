"""JSON in and out at orjson's speed, with the standard library's results.

Why two libraries: orjson parses and writes JSON about five times faster, which matters when an
access log of millions of lines goes through the import; but on a few inputs it differs from the
standard library, whose results (values read, texts hashed) are what every stored record and hash
was made with. Where they can differ, the standard library is used:

- reading: orjson reads an integer beyond 64 bits as a float (`123...890` loses digits) and refuses
  NaN, Infinity, lone surrogates and a byte-order mark, which the standard library accepts or reports
  in its own words; so a value holding a float, and any text orjson refuses, is read again by the
  standard library (floats are rare in records; errors keep their familiar messages). An integer of
  more digits than Python turns into an int (its int-string limit, 4,300) is read as a `LongInteger`;
- writing (see `engine.records.hashing.canonical_text`): floats (`1e-05` is `1e-5` in orjson) and
  integers beyond 64 bits.

Core, not the records domain's: the database engine (`engine.db`) writes and reads every JSON
column through it too (`dumps`, `loads`).
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(text: bytes | str) -> Any:
    """The value of a JSON text exactly as `json.loads` reads it; raises what `json.loads` raises,
    and a `json.JSONDecodeError` for a text nested too deep for either parser."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _stdlib(text)
    try:
        floats = _holds_float(value)
    except RecursionError:  # within orjson's 1,024 levels, past what Python walks
        raise json.JSONDecodeError(TOO_DEEP, "", 0) from None
    return _stdlib(text) if floats else value


#: What a text nested past both parsers' limits (orjson's 1,024 levels, then Python's recursion) is told.
TOO_DEEP = "nested too deep: more levels of arrays and objects than a record ever needs"


def _stdlib(text: bytes | str, **options: Any) -> Any:
    """`json.loads`, with a RecursionError (`[[[...]]]` a thousand deep, which orjson refused too)
    made the decode error every caller already handles: it had answered an import with a 500; and
    an integer past Python's int-string limit read as a `LongInteger` (the ValueError it raises,
    "Exceeds the limit (4300 digits)", had answered an import with a 500 too)."""
    try:
        return json.loads(text, **options)
    except RecursionError:
        raise json.JSONDecodeError(TOO_DEEP, "", 0) from None
    except ValueError as exc:
        # only the plain ValueError of int(): a JSONDecodeError or UnicodeDecodeError (both
        # ValueErrors) is the caller's to handle. Read again: a text without such a number pays nothing
        if type(exc) is not ValueError or "parse_int" in options:
            raise
        return _stdlib(text, parse_int=read_int, **options)


class LongInteger(int):
    """A JSON integer of more digits than Python turns into an int (`sys.get_int_max_str_digits`,
    4,300 by default), read as a stand-in rather than refused as unreadable JSON.

    Why not its value: Python refuses the conversion because its cost grows with the square of the
    digits (a 200 MB upload of one number would hold a worker for hours). Why not an error: the
    record's own checks then name the record and the field, as for a 20-digit number ("must be at
    most 9223372036854775807, got a number of 5,000 digits"), where the parser could name a line
    alone. The stand-in is `2**64` (negated for a negative number), past every bound a record takes,
    so no check can take it for a value within bounds; shown, it says how many digits it had."""

    digits: int

    def __new__(cls, text: str) -> LongInteger:
        negative = text.lstrip().startswith("-")
        made = super().__new__(cls, -(2**64) if negative else 2**64)
        made.digits = sum(c.isdigit() for c in text)
        return made

    def __str__(self) -> str:
        return f"a {'negative ' if self < 0 else ''}number of {self.digits:,} digits"

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def read_int(text: str) -> int:
    """The integer `text` writes (digits with an optional sign, as JSON's reader or a CSV cell gives
    it), or a `LongInteger` past Python's int-string limit, the one such text `int()` refuses."""
    try:
        return int(text)
    except ValueError:
        return LongInteger(text)


def loads_input(text: bytes | str) -> Any:
    """`loads` for what a practice gives Vigil to import, which must not name one key twice in an
    object: `json.JSONDecodeError` says which.

    Why: both parsers keep the last value silently, so `{"id": "P-2", "id": "P-3"}` imported P-3
    and nothing named P-2 (RFC 8259: names SHOULD be unique; an import must not drop what it was
    given without saying so). Not for the database's own JSON columns, written by Vigil."""
    return _checked(text, loads(text))


def _checked(text: bytes | str, value: Any) -> Any:
    """`value`, after making sure `text` names no key twice in one object.

    Cheap when the text holds as many quoted strings as the value written out again (every key
    and every string value is one pair of quotes, an escaped quote inside a string aside): a key
    given twice leaves a pair the value does not hold. Only then is the text read again, slowly,
    to find out which. (Counting the value's strings in Python cost as much as parsing the line.)"""
    if type(value) is not dict and type(value) is not list:
        return value
    raw = text.encode() if isinstance(text, str) else text
    try:
        again = orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits: read again below
        again = b""
    if again and _quotes(raw) == _quotes(again):
        return value
    _stdlib(text, object_pairs_hook=_unique)  # raises on a repeated key
    return value


def _quotes(raw: bytes) -> int:
    """The quotes that open or close a string in a JSON text (an escaped one inside a string aside)."""
    return raw.count(b'"') - raw.count(b'\\"') if b"\\" in raw else raw.count(b'"')


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, item in pairs:
        if key in seen:
            raise json.JSONDecodeError(f"the key {key!r} is given twice in one object", "", 0)
        seen[key] = item
    return seen


class _Marked(dict[str, Any]):
    """An object read by `repeated_keys`, with the keys its text gave more than once."""

    repeated: list[str]


def _marking(pairs: list[tuple[str, Any]]) -> _Marked:
    marked = _Marked()
    marked.repeated = []
    for key, item in pairs:
        if key in marked and key not in marked.repeated:
            marked.repeated.append(key)
        marked[key] = item
    return marked


def repeated_keys(text: bytes | str) -> list[tuple[tuple[int | str, ...], str]]:
    """Every key `text` gives twice in one object, as (path to the object, key), in document order;
    empty for text that is not JSON (the caller's parser says what is wrong with it).

    For a caller that must name *where* (a batch's record index) rather than stop at the first, as
    `loads_input` does; the same quote count answers the usual case without a second parse."""
    try:
        value = loads(text)
    except ValueError:
        return []
    raw = text.encode() if isinstance(text, str) else text
    try:
        if _quotes(raw) == _quotes(orjson.dumps(value)):
            return []
    except TypeError:  # an integer beyond 64 bits
        pass
    found: list[tuple[tuple[int | str, ...], str]] = []

    def walk(node: Any, path: tuple[int | str, ...]) -> None:
        if isinstance(node, _Marked):
            found.extend((path, key) for key in node.repeated)
        if isinstance(node, dict):
            for key, item in node.items():
                walk(item, (*path, key))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, (*path, index))

    walk(_stdlib(text, object_pairs_hook=_marking), ())
    return found


def dumps(value: Any) -> str:
    """A JSON column's text (the engine's `json_serializer`): the standard library's values and
    errors, at orjson's speed. Where orjson would write something the standard library reads back
    differently, or would accept what the standard library refuses, the standard library writes it
    (or raises): any float (NaN would become null), a key that is not a string, an integer beyond
    64 bits, a datetime or a dataclass (orjson writes those; the standard library refuses them).
    The text differs in spacing only: `{"a":1}` where the standard library writes `{"a": 1}`.
    """
    if _holds_float(value):
        return json.dumps(value)
    try:
        return orjson.dumps(value, option=_STRICT).decode()
    except TypeError:
        return json.dumps(value)


_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


#: A stored record's JSON text (what the store holds, or a stream batch carries) read at orjson's
#: speed with no check: every number in it passed `engine.records.fields.parse_number` or a bounded
#: integer field (finite, at most 2^63-1), where orjson and the standard library read the same.
loads_stored = orjson.loads


def _holds_float(value: Any) -> bool:
    return type(value) is float or ((type(value) is dict or type(value) is list) and has_float(value))


def has_float(value: dict[str, Any] | list[Any]) -> bool:
    """Whether a JSON object or array holds a float anywhere inside it."""
    for v in value.values() if isinstance(value, dict) else value:
        kind = type(v)
        if kind is float or ((kind is dict or kind is list) and has_float(v)):
            return True
    return False
