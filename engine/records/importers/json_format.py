"""JSON import: an array of records, or an object `{"records": [...]}`.

A JSON document cannot be read record by record with the standard library, so this format loads
the whole file; NDJSON is the streaming format for large inputs. A record's position is its
0-based array index, as in a JSON Pointer (`/records/3`), which its problems are told with
together with the line the record starts on (`a.json:3, record 2`). orjson gives no positions, so
the lines are found only when a record has a problem, by reading the document again (`_Starts`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine import json_codec
from engine.errors import ErrorDetail
from engine.records.importers import FORMATS, REFUSED, AdvanceFn, ProblemFn, json_problem, not_utf8, stamp_type
from engine.records.validation import Position


@FORMATS.register("json")
def read_json(
    path: Path, *, record_type: str | None, problem: ProblemFn, advance: AdvanceFn
) -> Iterator[tuple[Position, Any]]:
    """Yield each record of a JSON file with its array index."""
    blob = path.read_bytes()
    advance(len(blob))
    if not blob.strip():  # as an empty CSV file is said; the parser had answered "Expecting value"
        problem(ErrorDetail(reason='empty file: expected a JSON array of records, or {"records": [...]} '
                                   "(an empty array imports nothing)", file=str(path)))
        return
    repeated: dict[int, list[str]] = {}
    try:
        doc = json_codec.loads_input(blob)
    except json.JSONDecodeError as exc:
        found = json_codec.repeated_keys(blob)
        where = _records_with_repeated_keys(found)
        if where is None:
            problem(json_problem(exc, str(path)))
            return
        doc, repeated = json_codec.loads(blob), where  # named per record below, beside every other problem
    except UnicodeDecodeError as exc:
        problem(not_utf8(exc, str(path)))
        return
    records = doc.get("records") if isinstance(doc, dict) else doc
    if not isinstance(records, list):
        problem(ErrorDetail(reason='expected a JSON array of records or an object {"records": [...]}', file=str(path)))
        return
    extra = sorted(set(doc) - {"records"}) if isinstance(doc, dict) else []
    if extra:  # as for a record's fields: an unknown key is an error, not silently dropped
        problem(ErrorDetail(reason=f"unknown top-level key{'s' if len(extra) > 1 else ''} "
                                   f"{', '.join(map(repr, extra))}; the object holds only \"records\"",
                            file=str(path)))
        return
    starts = _Starts(blob)
    for index, raw in enumerate(records):
        position = Position(file=str(path), index=index, locate=starts)
        if index in repeated:
            for key in repeated[index]:
                problem(position.detail(f"the key {key!r} is given twice in one object; give each field once",
                                        field=key))
            continue
        stamped = stamp_type(raw, record_type, position, problem)
        if stamped is not REFUSED:
            yield position, stamped


def _records_with_repeated_keys(found: list[tuple[tuple[int | str, ...], str]]) -> dict[int, list[str]] | None:
    """The record indexes whose objects repeat a key (and which keys), from `repeated_keys` paths;
    None when a repeat lies outside the records (the document itself: not JSON we can place)."""
    out: dict[int, list[str]] = {}
    for where, key in found:
        rest = where[1:] if where[:1] == ("records",) else where
        if not rest or not isinstance(rest[0], int):
            return None
        out.setdefault(rest[0], []).append(key if len(rest) == 1 else ".".join(map(str, (*rest[1:], key))))
    return out or None


_BLANK = re.compile(r"[ \t\n\r]*")


class _Starts:
    """The 1-based line each record of a JSON document starts on, found the first time a record's
    line is asked for (when it has a problem): a file without problems never pays for it."""

    def __init__(self, blob: bytes) -> None:
        self._blob = blob
        self._lines: list[int] | None = None

    def __call__(self, index: int) -> int | None:
        if self._lines is None:
            self._lines = record_lines(self._blob)
            self._blob = b""
        return self._lines[index] if 0 <= index < len(self._lines) else None


def record_lines(blob: bytes) -> list[int]:
    """The line each element of the records array starts on (the document's own array, or its
    `records` member's); empty when the text does not read (its problem is told elsewhere).

    The standard library's decoder reads one element at a time from an offset (`raw_decode`), so
    each element's first character is known; lines are counted as the decoder counts them (LF). A
    number past Python's 4,300 digits is read as the import read it (`json_codec.read_int`): int()
    had refused it, and the record that held it had been told with no line."""
    try:
        text = blob.decode("utf-8-sig")
        decoder = json.JSONDecoder(parse_int=json_codec.read_int)
        pos = _skip(text, 0)
        if text.startswith("{", pos):
            pos = _member(text, pos, "records", decoder)
        if pos < 0 or not text.startswith("[", pos):
            return []
        pos = _skip(text, pos + 1)
        lines: list[int] = []
        line, counted = 1, 0
        while pos < len(text) and text[pos] != "]":
            line += text.count("\n", counted, pos)
            counted = pos
            lines.append(line)
            _, pos = decoder.raw_decode(text, pos)
            pos = _skip(text, pos)
            if text.startswith(",", pos):
                pos = _skip(text, pos + 1)
        return lines if pos < len(text) else []  # the array must close
    except (ValueError, UnicodeDecodeError):
        return []


def _member(text: str, pos: int, name: str, decoder: json.JSONDecoder) -> int:
    """Where the value of the object's member `name` starts (the object opening at `pos`), or -1."""
    pos = _skip(text, pos + 1)
    while text.startswith('"', pos):
        key, pos = decoder.raw_decode(text, pos)
        pos = _skip(text, pos)
        if not text.startswith(":", pos):
            return -1
        pos = _skip(text, pos + 1)
        if key == name:
            return pos
        _, pos = decoder.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
    return -1


def _skip(text: str, pos: int) -> int:
    """The first offset from `pos` that is not JSON whitespace."""
    found = _BLANK.match(text, pos)
    return found.end() if found else pos
