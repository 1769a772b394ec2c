"""NDJSON import: one record per line, read line by line so memory stays flat at any size.

Blank lines are skipped; line numbers are 1-based and count every physical line, as an editor does.
A line that is not JSON is reported and the reading goes on, so one pass finds every bad line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine import json_codec
from engine.errors import ErrorDetail
from engine.records.importers import FORMATS, REFUSED, AdvanceFn, ProblemFn, not_json, not_utf8, stamp_type
from engine.records.validation import Position

_PROGRESS_EVERY = 1000


@FORMATS.register("ndjson")
def read_ndjson(
    path: Path, *, record_type: str | None, problem: ProblemFn, advance: AdvanceFn
) -> Iterator[tuple[Position, Any]]:
    """Yield each line's record with its line number."""
    for position, raw in json_lines(path, problem=problem, advance=advance):
        stamped = stamp_type(raw, record_type, position, problem)
        if stamped is not REFUSED:
            yield position, stamped


def json_lines(path: Path, *, problem: ProblemFn, advance: AdvanceFn) -> Iterator[tuple[Position, Any]]:
    """Each non-blank line's JSON value with its position, streamed; a line that is not JSON (or
    not UTF-8) is a problem naming the file and line, and reading goes on. Shared by every
    line-per-value format (NDJSON records, FHIR NDJSON)."""
    name = str(path)
    pending = 0
    with path.open("rb") as handle:
        for line_no, line in enumerate(handle, start=1):
            pending += len(line)
            if line_no % _PROGRESS_EVERY == 0:
                advance(pending)
                pending = 0
            if not line.strip():
                continue
            try:  # without the line's end: a record cut short is placed where it stops, not on the next line
                value = json_codec.loads_input(line.rstrip(b"\r\n"))
            except json.JSONDecodeError as exc:
                problem(ErrorDetail(reason=not_json(exc), file=name, line=line_no, column=exc.colno))
                continue
            except UnicodeDecodeError as exc:
                problem(not_utf8(exc, name, first_line=line_no))
                continue
            yield Position(file=name, line=line_no), value
    advance(pending)
