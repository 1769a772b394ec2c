"""What a spreadsheet takes for a formula in a CSV cell (OWASP's CSV-injection list), for every CSV
Vigil writes: the packet's findings.csv and the findings and tasks exports neutralize such a cell
(`csv_cell`), the OSHA ITA 300A report (whose bytes are what is filed) reports it as a problem instead."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def starts_formula(text: str) -> bool:
    return text[:1] in FORMULA_START


def csv_cell(value: Any) -> str:
    """A value as a CSV cell a spreadsheet shows as text: a list joined by spaces, None empty, and a
    text starting like a formula quoted with a leading `'` (it would run when the file is opened in
    a spreadsheet: = + - @ tab CR); a number, negative or not, is left as it is."""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    text = "" if value is None else str(value)
    if starts_formula(text) and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return "'" + text
    return text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text of `header` then `rows`, one line at a time (CRLF, RFC 4180), every cell through
    `csv_cell`: what a download streams, so a list of thousands is never held whole."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Sequence[Any]) -> str:
        writer.writerow([csv_cell(c) for c in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(header)
    for row in rows:
        yield line(row)
