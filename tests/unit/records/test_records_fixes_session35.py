"""Readers after the session 35 black-box pass: where a JSON document's records start, and a line
of NDJSON that is not UTF-8 told at its column and byte."""

from __future__ import annotations

from pathlib import Path

from engine.errors import ErrorDetail
from engine.records.importers import reader_for
from engine.records.importers.json_format import record_lines


def test_the_line_each_record_of_a_json_document_starts_on() -> None:
    """Strings holding brackets, commas, quotes and newlines escaped do not move the count."""
    text = ('{"records":\n[{"id": "a,]}{\\"\\n"},\n\n  {"id": "b", "x": [1, {"y": "}"}]},'
            ' null,\n\t"s" ]\n}')
    assert record_lines(text.encode()) == [2, 4, 4, 5]
    assert record_lines(b"\xef\xbb\xbf[\n1,\n2]") == [2, 3]  # after a byte-order mark
    assert record_lines(b"[]") == [] and record_lines(b"[1,") == []


def test_an_ndjson_line_that_is_not_utf8_is_told_at_its_column_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "a.ndjson"
    path.write_bytes(b'{"type":"person","id":"P-1"}\n{"type":"person","id":"P-\xe92"}\n')
    problems: list[ErrorDetail] = []
    records = list(reader_for("ndjson")(path, record_type=None, problem=problems.append, advance=lambda n: None))
    assert len(records) == 1
    (problem,) = problems
    assert (problem.line, problem.column) == (2, 26)
    assert problem.reason == "not UTF-8 text: byte 0xe9 (invalid continuation byte); save the file as UTF-8"
