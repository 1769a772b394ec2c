"""JSON import: an array of records, or an object `{"records": [...]}`.

A JSON document cannot be read record by record with the standard library, so this format loads
the whole file; NDJSON is the streaming format for large inputs. Positions are 0-based array
indexes, as in a JSON Pointer (`/records/3`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine import json_codec
from engine.errors import ErrorDetail
from engine.records.importers import FORMATS, REFUSED, AdvanceFn, ProblemFn, stamp_type
from engine.records.validation import Position


@FORMATS.register("json")
def read_json(
    path: Path, *, record_type: str | None, problem: ProblemFn, advance: AdvanceFn
) -> Iterator[tuple[Position, Any]]:
    """Yield each record of a JSON file with its array index."""
    blob = path.read_bytes()
    advance(len(blob))
    repeated: dict[int, list[str]] = {}
    try:
        doc = json_codec.loads_input(blob)
    except json.JSONDecodeError as exc:
        found = json_codec.repeated_keys(blob)
        where = _records_with_repeated_keys(found)
        if where is None:
            problem(ErrorDetail(reason=f"not valid JSON: {exc.msg}", file=str(path), line=exc.lineno,
                                column=exc.colno))
            return
        doc, repeated = json_codec.loads(blob), where  # named per record below, beside every other problem
    except UnicodeDecodeError as exc:
        problem(ErrorDetail(reason=f"not UTF-8 text: {exc.reason}", file=str(path)))
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
    for index, raw in enumerate(records):
        position = Position(file=str(path), index=index)
        if index in repeated:
            for key in repeated[index]:
                problem(ErrorDetail(reason=f"the key {key!r} is given twice in one object; give each field once",
                                    file=str(path), index=index, field=key))
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
