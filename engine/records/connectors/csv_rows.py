"""The rows of a connector's CSV file, numbered by the line each starts on, with byte progress.

An export from another system (the OIG's LEIE file, an HR roster) is read a line at a time, each
line as UTF-8 if it decodes as such, else as Windows-1252 (Excel's "CSV" on Windows: its curly
apostrophe in O’Brien and its dashes), else latin-1 (all occur, sometimes in one file). A quoted
cell may hold a line break, so a row is numbered by the line it starts on, which is the line a
person opens the file at. Blank rows are skipped. A file given up on early still counts as read,
for the progress bar.
"""

from __future__ import annotations

import csv
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import ErrorDetail
from engine.records.encoding import wide_encoding

if TYPE_CHECKING:  # the registry imports the connectors (importers/__init__), so not the other way at run time
    from engine.records.importers import AdvanceFn, ProblemFn

#: Report progress once every this many rows.
PROGRESS_EVERY = 1000


def numbered_rows(path: Path, *, problem: ProblemFn, advance: AdvanceFn,
                  empty: str) -> Generator[tuple[int, list[str]], None, None]:
    """(line, cells) for the header (line 1) and then each non-blank row.

    An empty file (`empty` says what was expected) or an unreadable row is reported and ends the
    rows. Close the generator when stopping early (`contextlib.closing`): the rest of the file is
    then counted as read."""
    name = str(path)
    consumed = reported = 0
    wide = wide_encoding(path)
    if wide is not None:
        problem(wide)
        advance(path.stat().st_size)
        return

    def lines() -> Iterator[str]:
        nonlocal consumed
        with path.open("rb") as handle:
            for raw in handle:
                consumed += len(raw)
                yield _decoded(raw)

    reader = csv.reader(lines())
    try:
        try:
            header = next(reader)
        except StopIteration:
            problem(ErrorDetail(reason=f"empty file: {empty}", file=name))
            return
        except csv.Error as exc:
            problem(ErrorDetail(reason=f"unreadable header: {_unreadable(path, exc)}", file=name, line=1))
            return
        separator = _separator(header)
        if separator is not None:
            problem(ErrorDetail(reason=f"the header looks {separator}-separated; the file is read as comma-separated "
                                       "CSV: save it as CSV (comma delimited), or as CSV UTF-8", file=name, line=1))
            return
        yield 1, header
        last_line, rows = reader.line_num, 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                problem(ErrorDetail(reason=f"unreadable row: {_unreadable(path, exc)}", file=name, line=last_line + 1))
                return
            line_no, last_line = last_line + 1, reader.line_num
            rows += 1
            if rows % PROGRESS_EVERY == 0:
                advance(consumed - reported)
                reported = consumed
            if any(c.strip() for c in cells):
                yield line_no, cells
    finally:
        size = path.stat().st_size
        if reported < size:
            advance(size - reported)


def _decoded(raw: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")  # the five bytes cp1252 leaves undefined


def _separator(header: list[str]) -> str | None:
    """"semicolon" or "tab" when the header is one cell another separator splits (a regional Excel's
    export); read with commas it had given a missing-column error for every column."""
    if len(header) != 1:
        return None
    return next((name for name, sep in (("semicolon", ";"), ("tab", "\t")) if len(header[0].split(sep)) > 2), None)


def _unreadable(path: Path, exc: csv.Error) -> str:
    """What a file the csv module cannot read is, for a person (it had said "new-line character
    seen in unquoted field - do you need to open the file in universal-newline mode?" of a ZIP,
    of UTF-16 text and of lone-CR line endings alike)."""
    with path.open("rb") as handle:
        start = handle.read(4096)
    if start.startswith(b"PK\x03\x04"):
        return "the file is a ZIP archive: unzip it and give the CSV file inside"
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "the file is UTF-16 text (Excel's \"Unicode Text\"): save it as CSV UTF-8 (comma delimited)"
    if b"\r" in start and b"\n" not in start:
        return ("its lines end in a lone carriage return (an old Mac format): save it as CSV UTF-8, whose lines "
                "end as other files' do")
    return str(exc)
