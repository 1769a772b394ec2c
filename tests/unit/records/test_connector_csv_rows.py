"""A connector's CSV (an HR roster, the LEIE file) as spreadsheets and downloads really write it.

Found by an import black-box pass (session 42): a roster saved by Excel on Windows (Windows-1252)
had its curly apostrophe in O’Brien refused as "the control character U+0092"; a semicolon- or
tab-separated roster got four missing-column errors; a ZIP, UTF-16 text and lone-CR line endings
were all "new-line character seen in unquoted field - do you need to open the file in
universal-newline mode?".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ErrorDetail
from engine.records.connectors.csv_rows import numbered_rows


def _rows(path: Path) -> tuple[list[tuple[int, list[str]]], list[str]]:
    problems: list[ErrorDetail] = []
    rows = list(numbered_rows(path, problem=problems.append, advance=lambda _n: None, empty="a roster"))
    return rows, [p.reason for p in problems]


def test_windows_1252_reads_as_excel_wrote_it(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes("employee_id,last_name\nE-7,O’Brien – Smith\nE-8,Zoë\n".encode("cp1252"))
    rows, problems = _rows(path)
    assert problems == [] and [r[1][1] for r in rows[1:]] == ["O’Brien – Smith", "Zoë"]


@pytest.mark.parametrize(("content", "said"), [
    (b"employee_id;first_name;last_name;role\nE-1;Ann;Lee;rn\n", "looks semicolon-separated"),
    (b"employee_id\tfirst_name\tlast_name\nE-1\tAnn\tLee\n", "looks tab-separated"),
    (b"PK\x03\x04" + b"\x00" * 20 + b"\n\r\x00junk\r", "a ZIP archive: unzip it"),
    ("employee_id,last_name\r\nE-1,Lee\r\n".encode("utf-16"), "UTF-16 text"),
    (b"employee_id,last_name\rE-1,Lee\rE-2,Ng\r", "lone carriage return"),
])
def test_a_file_it_cannot_read_is_named_for_what_it_is(tmp_path: Path, content: bytes, said: str) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    rows, problems = _rows(path)
    assert len(problems) == 1 and said in problems[0], problems


def test_a_quote_never_closed_is_said_where_it_opens(tmp_path: Path) -> None:
    """The interop pass (7 December 2026): an LEIE row with `"1 X ST` never closed said "the row has 17
    cells but the header has 18 columns"; the next cell's opening quote had ended it."""
    path = tmp_path / "UPDATED.csv"
    path.write_text('"LASTNAME","FIRSTNAME","ADDRESS","CITY"\n'
                    '"EXAMPLE","JANE","1 X ST,"SPRINGFIELD"\n'
                    '"SAMPLE","JOHN","45 ""B"" AVE","ALBANY"\n'
                    '"OTHER","ANN","2 Y ST\n'
                    '"TROY"\n', encoding="utf-8")
    rows, problems = _rows(path)
    assert [(line, cells[2]) for line, cells in rows[1:]] == [(3, '45 "B" AVE')], "a quote written twice is fine"
    assert problems == [
        'the quote opened at line 2 (ADDRESS: "1 X ST,) is never closed: the next quote ended the cell, and the row '
        "came out with 3 cells for the header's 4 columns; close the quote (a quote inside a quoted cell is written "
        'twice, "")',
        'the quote opened at line 4 (ADDRESS: "2 Y ST) is never closed: the next quote ended the cell, and the row '
        "came out with 3 cells for the header's 4 columns; close the quote (a quote inside a quoted cell is written "
        'twice, "")']
    at_end = tmp_path / "at-end.csv"
    at_end.write_text('"LASTNAME","FIRSTNAME","ADDRESS","CITY"\n"A","B","C","D"\n"E","F","1 X ST\nTROY\nNY\n',
                      encoding="utf-8")
    rows, problems = _rows(at_end)
    assert [line for line, _ in rows] == [1, 2]
    assert [p.split(": ", 1)[0] for p in problems] == ['the quote opened at line 3 (ADDRESS']
    assert "is never closed, so every line after it was read into that one cell; close the quote" in problems[0]
