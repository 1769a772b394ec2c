"""The rows of a connector's CSV file, numbered by the line each starts on, with byte progress.

An export from another system (the OIG's LEIE file, an HR roster) is read a line at a time, each
line as UTF-8 if it decodes as such, else as latin-1 (both occur, sometimes in one file). A quoted
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

    def lines() -> Iterator[str]:
        nonlocal consumed
        with path.open("rb") as handle:
            for raw in handle:
                consumed += len(raw)
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError:
                    yield raw.decode("latin-1")

    reader = csv.reader(lines())
    try:
        try:
            header = next(reader)
        except StopIteration:
            problem(ErrorDetail(reason=f"empty file: {empty}", file=name))
            return
        except csv.Error as exc:
            problem(ErrorDetail(reason=f"unreadable header: {exc}", file=name, line=1))
            return
        yield 1, header
        last_line, rows = reader.line_num, 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                problem(ErrorDetail(reason=f"unreadable row: {exc}", file=name, line=last_line + 1))
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
