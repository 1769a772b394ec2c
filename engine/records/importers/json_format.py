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
    try:
        doc = json_codec.loads_input(blob)
    except json.JSONDecodeError as exc:
        problem(ErrorDetail(reason=f"not valid JSON: {exc.msg}", file=str(path), line=exc.lineno, column=exc.colno))
        return
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
        stamped = stamp_type(raw, record_type, position, problem)
        if stamped is not REFUSED:
            yield position, stamped
