"""The rows of a connector's CSV file, numbered by the line each starts on, with byte progress.

An export from another system (the OIG's LEIE file, an HR roster) is read a line at a time, each
line as UTF-8 if it decodes as such, else as Windows-1252 (Excel's "CSV" on Windows: its curly
apostrophe in O’Brien and its dashes), else latin-1 (all occur, sometimes in one file). A quoted
cell may hold a line break, so a row is numbered by the line it starts on, which is the line a
person opens the file at. Blank rows are skipped. A file given up on early still counts as read,
for the progress bar.

Quotes are read leniently (the csv module's default), so one stray quote in an 80,000-row file does
not refuse it; but a row whose width is not the header's because a quoted cell was never closed (the
next quote ended it, or the file did) is said so, at the line the quote opens on (`quote_problem`),
as the record CSV reader says it; it had been "the row has 17 cells but the header has 18 columns".
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

    row_text: list[str] = []  # the lines of the row being read (the reader asks for one line at a time)

    def lines() -> Iterator[str]:
        nonlocal consumed
        with path.open("rb") as handle:
            for raw in handle:
                consumed += len(raw)
                line = _decoded(raw)
                row_text.append(line)
                yield line

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
            row_text.clear()
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
            if len(cells) != len(header):
                quote = quote_problem("".join(row_text), line=line_no, cells=cells, header=header)
                if quote is not None:
                    problem(ErrorDetail(reason=quote[1], file=name, line=quote[0]))
                    continue
            if any(c.strip() for c in cells):
                yield line_no, cells
    finally:
        size = path.stat().st_size
        if reported < size:
            advance(size - reported)


def quote_problem(text: str, *, line: int, cells: list[str], header: list[str]) -> tuple[int, str] | None:
    """(line, why) when the row's text, which starts on `line`, opens a quoted cell that RFC 4180 never
    closes (a closing quote is followed by a comma or the row's end); None when every quote closes.

    All of OIG's cells are quoted, so `"1 X ST,"SPRINGFIELD",...` closes ADDRESS at SPRINGFIELD's
    opening quote and the cells after it move one to the left; a quote open at the end of the file
    has taken in every line after it."""
    end, at, cell, lines = len(text), 0, 0, 0
    starting = True  # at the first character of a cell
    while at < end:
        char = text[at]
        if char == ",":
            cell, starting, at = cell + 1, True, at + 1
            continue
        if not (starting and char == '"'):  # a bare cell's character (a stray quote in one is read as is)
            lines += char == "\n"
            starting, at = False, at + 1
            continue
        opened = at
        opened_line = line + lines
        at += 1
        while True:  # inside the quoted cell, to its closing quote
            if at >= end:
                return _unclosed(text, opened_line, opened, cell, header, cells, at_end=True)
            if text[at] == '"' and text[at + 1:at + 2] == '"':  # a quote written twice is one quote
                at += 2
            elif text[at] == '"':
                if text[at + 1:at + 2] not in ("", ",", "\r", "\n"):
                    return _unclosed(text, opened_line, opened, cell, header, cells, at_end=False)
                starting, at = False, at + 1
                break
            else:
                lines += text[at] == "\n"
                at += 1
    return None


def _unclosed(text: str, line: int, opened_at: int, cell: int, header: list[str], cells: list[str], *,
              at_end: bool) -> tuple[int, str]:
    column = header[cell].strip().lstrip("\ufeff") if cell < len(header) else f"cell {cell + 1}"
    opening = text[opened_at:].split("\n", 1)[0]
    shown = opening[:1 + opening[1:].find('"')] if '"' in opening[1:] else opening[:40]
    then = (", so every line after it was read into that one cell" if at_end else
            f": the next quote ended the cell, and the row came out with {len(cells)} cells for the header's "
            f"{len(header)} columns")
    return line, (f"the quote opened at line {line} ({column}: {shown.rstrip()}) is never closed{then}; close the "
                  'quote (a quote inside a quoted cell is written twice, "")')


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
