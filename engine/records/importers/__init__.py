"""Import formats: one reader per format, registered by name (json, ndjson, csv; the connectors fhir,
leie and roster).

A reader turns a file into a stream of `(Position, raw record)` pairs and reports file-level
problems (bad JSON, an unknown CSV column) through `problem` instead of raising, so one pass finds
every problem in every file. Readers never validate records against the contract: that is
`validation.py`'s job, done the same way whatever the format.

Registration is explicit: each format module decorates its reader and this package imports them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from engine.errors import ErrorDetail, ImportFormatError
from engine.records.validation import Position
from engine.registry import Registry

ProblemFn = Callable[[ErrorDetail], None]
AdvanceFn = Callable[[int], None]


class Reader(Protocol):
    """Stream the records of one file; report problems, advance progress by bytes read."""

    def __call__(
        self, path: Path, *, record_type: str | None, problem: ProblemFn, advance: AdvanceFn
    ) -> Iterator[tuple[Position, Any]]: ...


FORMATS: Registry[Reader] = Registry("import format")

EXTENSIONS = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv"}


def detect_format(path: Path, fmt: str | None = None, *, option: str = "pass --format") -> str:
    """The format named by `fmt`, else the one the file's extension says.

    `option` says, in the caller's words, how to name the format instead: the CLI's `--format`, or
    the API's `format` query parameter."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ImportFormatError(
                f"unknown import format {fmt!r}; use one of: {', '.join(FORMATS.names())}",
                [ErrorDetail(reason=f"unknown format {fmt!r}", file=str(path))],
            )
        return fmt
    found = EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise ImportFormatError(
            f"cannot tell the format of {path.name}",
            [
                ErrorDetail(
                    reason=f"unknown file extension; name it .json, .ndjson (or .jsonl) or .csv, or {option}",
                    file=str(path),
                )
            ],
        )
    return found


def reader_for(fmt: str) -> Reader:
    """The registered reader of a format."""
    return FORMATS.get(fmt)


def not_utf8(exc: UnicodeDecodeError, file: str, *, first_line: int | None = None) -> ErrorDetail:
    """The problem of JSON text that is not UTF-8, at the line and column of its first bad byte, as
    the CSV reader says it (`exc.object` is the text decoded: a whole document, or one NDJSON line
    starting at `first_line`). JSON had said only "not UTF-8 text: invalid continuation byte"."""
    data = exc.object
    if not (exc.encoding or "").lower().replace("_", "-").startswith("utf-8") or not isinstance(data, bytes):
        return ErrorDetail(reason=f"not UTF-8 text: {exc.reason}; save the file as UTF-8", file=file, line=first_line)
    before = data[: exc.start]
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", "replace")) + 1
    return ErrorDetail(reason=f"not UTF-8 text: byte 0x{data[exc.start]:02x} ({exc.reason}); save the file as UTF-8",
                       file=file, line=(first_line or 1) + before.count(b"\n"), column=column)


#: What `stamp_type` returns for a record it refused (reported already): not None, since a JSON
#: `null` in the input is a value to pass on, which the contract check refuses as not an object
#: (a reader that dropped None skipped `[null, {...}]`'s null without a word).
REFUSED: Any = object()


def not_json(exc: json.JSONDecodeError) -> str:
    """What is wrong with a JSON text, said so a person can mend it. The parser's own words were cut
    ("Invalid control character at", its position being the line and column given beside it), or
    pointed past the end: an NDJSON line missing its `}` was "Expecting ',' delimiter" at column 1
    of the next line."""
    text = exc.doc if isinstance(exc.doc, str) else ""
    if exc.msg.startswith("Invalid control character") and 0 <= exc.pos < len(text):
        code = ord(text[exc.pos])
        name = {9: "a tab", 10: "a line break", 13: "a carriage return"}.get(code, "a control character")
        return (f"not valid JSON: {name} (U+{code:04X}) inside a string: write it escaped "
                f"({json.dumps(text[exc.pos])}), or remove it")
    if text and exc.pos >= len(text.rstrip()) and exc.msg.startswith("Expecting"):
        return f"not valid JSON: it ends before the record is closed ({exc.msg.lower()}): a missing }} or ]?"
    return f"not valid JSON: {exc.msg}"


def json_problem(exc: json.JSONDecodeError, file: str, *, hint: str = "") -> ErrorDetail:
    """The problem of a whole JSON document that does not parse, at its place. A document cut short
    is placed where its text ends, not past the line break after it: `[{...},<newline>{"id": "P2"`
    had been "line 4, column 1" of a three-line file."""
    line, column = exc.lineno, exc.colno
    text = exc.doc if isinstance(exc.doc, str) else ""
    end = len(text.rstrip())
    if text and exc.pos >= end and exc.msg.startswith("Expecting"):
        line = text.count("\n", 0, end) + 1
        column = end - (text.rfind("\n", 0, end) + 1) + 1
    return ErrorDetail(reason=not_json(exc) + hint, file=file, line=line, column=column)


def stamp_type(raw: Any, record_type: str | None, position: Position, problem: ProblemFn) -> Any:
    """Apply `--type` to a JSON record: fill a missing `type`, flag a different one (`REFUSED`)."""
    if record_type is None or not isinstance(raw, dict):
        return raw
    given = raw.get("type")
    if given is None:
        return {"type": record_type, **raw}
    if given != record_type:
        problem(
            position.detail(
                f"the record says type '{given}' but the import was told --type {record_type}",
                record_type=str(given),
                record_id=raw.get("id") if isinstance(raw.get("id"), str) else None,
                field="type",
            )
        )
        return REFUSED
    return raw


from engine.records.connectors import fhir_reader, hr_roster, leie  # noqa: E402
from engine.records.importers import csv_format, json_format, ndjson_format  # noqa: E402,F401

FORMATS.add("fhir", fhir_reader.read_fhir)  # connectors keep their readers beside their mapping
FORMATS.add("leie", leie.read_leie)
FORMATS.add("roster", hr_roster.read_roster)

FORMATS.freeze()
