"""The format readers: how JSON, NDJSON and CSV become raw records, and how file problems are told."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import ErrorDetail, ImportFormatError, RecordValidationError
from engine.records.importers import detect_format, reader_for
from engine.records.importers.csv_format import convert_cell, field_kinds
from engine.records.validation import Position, Refused, validate_record


def read(path: Path, fmt: str, record_type: str | None = None) -> tuple[list[tuple[Position, Any]], list[ErrorDetail]]:
    problems: list[ErrorDetail] = []
    advanced: list[int] = []
    records = list(reader_for(fmt)(path, record_type=record_type, problem=problems.append, advance=advanced.append))
    assert sum(advanced) == path.stat().st_size, "progress must account for every byte"
    return records, problems


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---- format detection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"), [("a.json", "json"), ("a.NDJSON", "ndjson"), ("a.jsonl", "ndjson"), ("person.csv", "csv")]
)
def test_format_from_extension(name: str, fmt: str) -> None:
    assert detect_format(Path(name)) == fmt


def test_unknown_extension_and_unknown_format_are_errors() -> None:
    with pytest.raises(ImportFormatError, match="cannot tell the format of a.txt"):
        detect_format(Path("a.txt"))
    with pytest.raises(ImportFormatError, match="unknown import format 'xml'"):
        detect_format(Path("a.json"), "xml")
    assert detect_format(Path("a.txt"), "ndjson") == "ndjson"


# ---- JSON ---------------------------------------------------------------------------------------


def test_json_array_and_records_object(tmp_path: Path) -> None:
    array = write(tmp_path, "a.json", '[{"type": "person", "id": "P1"}, {"type": "person", "id": "P2"}]')
    wrapped = write(tmp_path, "b.json", '{"records": [{"type": "person", "id": "P1"}]}')
    records, problems = read(array, "json")
    assert problems == [] and [p.index for p, _ in records] == [0, 1]
    records, problems = read(wrapped, "json")
    assert problems == [] and records[0][1] == {"type": "person", "id": "P1"}


def test_bad_json_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '[{"type": "person",\n "id": }]')
    records, (problem,) = read(path, "json")
    assert records == []
    assert (problem.line, problem.column) == (2, 8) and problem.reason.startswith("not valid JSON")


def test_json_must_be_an_array_or_records_object(tmp_path: Path) -> None:
    _, (problem,) = read(write(tmp_path, "a.json", '{"type": "person", "id": "P1"}'), "json")
    assert "expected a JSON array of records" in problem.reason


def test_type_option_fills_missing_types_and_flags_others(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '[{"id": "P1"}, {"type": "patient", "id": "X"}]')
    records, (problem,) = read(path, "json", record_type="person")
    assert [raw for _, raw in records] == [{"type": "person", "id": "P1"}]
    assert problem.index == 1 and "--type person" in problem.reason


# ---- NDJSON -------------------------------------------------------------------------------------


def test_ndjson_lines_blank_lines_and_bad_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.ndjson",
        '{"type": "person", "id": "P1"}\n\n{"type": "person", "id": \n{"type": "person", "id": "P3"}',
    )
    records, (problem,) = read(path, "ndjson")
    assert [(p.line, raw["id"]) for p, raw in records] == [(1, "P1"), (4, "P3")]
    assert problem.line == 3 and problem.reason.startswith("not valid JSON")


def test_ndjson_reports_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "a.ndjson"
    path.write_bytes(b'{"type": "person", "id": "P\xff"}\n')
    _, (problem,) = read(path, "ndjson")
    assert problem.line == 1


# ---- CSV ----------------------------------------------------------------------------------------


def test_csv_cell_kinds_follow_the_models() -> None:
    assert field_kinds("organization") == {
        "type": "text",
        "id": "text",
        "name": "text",
        "states": "list",
        "fte_count": "number",
        "receives_federal_financial_assistance": "bool",
        "mips_participant_by_py": "dict",
    }
    assert field_kinds("osha_summary")["year"] == "int"
    assert field_kinds("access_event")["at"] == "text"


@pytest.mark.parametrize(
    ("kind", "cell", "value"),
    [
        ("bool", "true", True),
        ("bool", "FALSE", False),
        ("bool", "1", True),
        ("bool", "0", False),
        ("bool", "yes", "yes"),
        ("int", "42", 42),
        ("int", "4.5", "4.5"),
        ("number", "12.5", 12.5),
        ("number", "12", 12),
        ("number", "twelve", "twelve"),
        ("list", "CA; NV;", ["CA", "NV"]),
        ("list", "solo", ["solo"]),
        ("dict", '{"CA": 3}', {"CA": 3}),
        ("dict", "{CA: 3}", "{CA: 3}"),
        ("text", " kept as is ", " kept as is "),
    ],
)
def test_convert_cell(kind: Any, cell: str, value: Any) -> None:
    assert convert_cell(kind, cell) == value


@pytest.mark.parametrize(("kind", "cell"), [("int", "\uff12\uff10\uff12\uff16"), ("number", "\u0662\u0660"),
                                           ("number", "\uff12.\uff15")])
def test_a_cell_of_other_scripts_digits_is_not_a_number(kind: Any, cell: str) -> None:
    """int() and float() read full-width and Arabic-Indic digits; the contract takes ASCII digits only."""
    assert convert_cell(kind, cell) == cell


def test_csv_rows_become_valid_records(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "organization.csv",
        "id,name,states,fte_count,receives_federal_financial_assistance,mips_participant_by_py\n"
        'O1,"Acme, Inc.",CA;NV,12.5,TRUE,"{""2026"": true}"\n'
        "O2,,,,0,\n",
    )
    records, problems = read(path, "csv")
    assert problems == []
    assert [p.line for p, _ in records] == [2, 3]
    first, second = (validate_record(raw)[1] for _, raw in records)
    assert first == {
        "type": "organization",
        "id": "O1",
        "name": "Acme, Inc.",
        "states": ["CA", "NV"],
        "fte_count": 12.5,
        "receives_federal_financial_assistance": True,
        "mips_participant_by_py": {"2026": True},
    }
    assert second == {"type": "organization", "id": "O2", "receives_federal_financial_assistance": False}


def test_csv_bad_cells_are_reported_by_validation_in_json_words(tmp_path: Path) -> None:
    path = write(tmp_path, "access_event.csv", "id,at,break_glass\nA1,2026-03-07T21:00:00,maybe\n")
    ((position, raw),), _ = read(path, "csv")
    with pytest.raises(Exception) as info:
        validate_record(raw, position=position)
    reasons = {d.field: d.reason for d in info.value.details}  # type: ignore[attr-defined]
    assert reasons["at"].startswith("instant without an offset")
    assert reasons["break_glass"] == "expected true or false, got the string 'maybe'"


def test_csv_line_numbers_count_multiline_cells(tmp_path: Path) -> None:
    path = write(tmp_path, "person.csv", 'id,address\nP1,"12 Elm St\nFresno"\nP2,x\n')
    records, _ = read(path, "csv")
    assert [p.line for p, _ in records] == [2, 4]


def test_csv_header_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "person.csv", "id,firstname,last_name,last_name\nP1,Dana,O,O\n")
    records, problems = read(path, "csv")
    reasons = [(p.line, p.field, p.reason.split(";")[0]) for p in problems]
    assert reasons == [
        (1, "firstname", "unknown field 'firstname' for person (did you mean first_name?)"),
        (1, "last_name", "column 'last_name' appears twice in the header"),
    ]
    assert records[0][1] == {"type": "person", "id": "P1", "last_name": "O"}


def test_csv_needs_an_id_column_and_a_known_type(tmp_path: Path) -> None:
    _, problems = read(write(tmp_path, "person.csv", "first_name\nDana\n"), "csv")
    assert any("no 'id' column" in p.reason for p in problems)
    _, (problem,) = read(write(tmp_path, "people.csv", "id\nP1\n"), "csv")
    assert "cannot tell the record type of people.csv" in problem.reason
    records, problems = read(write(tmp_path, "people2.csv", "id\nP1\n"), "csv", record_type="person")
    assert problems == [] and records[0][1] == {"type": "person", "id": "P1"}


def test_a_header_id_in_capitals_is_one_problem_that_says_so(tmp_path: Path) -> None:
    """An import pass (session 42): a header `ID` gave 10,002 problems, one per row, and no hint."""
    path = write(tmp_path, "person.csv", "ID,first_name\n" + "".join(f"P{i},Ann\n" for i in range(500)))
    _, problems = read(path, "csv")
    assert [p.reason.split(";")[0] for p in problems] == [
        "unknown field 'ID' for person (did you mean id? field names are written in lower case)",
        "the header has no 'id' column"]


def test_csv_ragged_rows_and_type_column(tmp_path: Path) -> None:
    path = write(tmp_path, "person.csv", "type,id,first_name\nperson,P1,Dana\npatient,P2,Lee\nperson,P3\n")
    records, problems = read(path, "csv")
    assert [raw["id"] for _, raw in records] == ["P1"]
    assert [(p.line, p.reason.split(" but")[0]) for p in problems] == [
        (3, "the row says type 'patient'"),
        (4, "the row has 2 cells"),
    ]


@pytest.mark.parametrize(("head", "bad_line", "column", "part"), [
    (b"id,first_name,last_name\nP-1,Ann,Lee\n", 3, 8, "row"),  # within the first block the text layer decodes
    (b"id,first_name,last_name\r\n" + b"".join(b"P-%d,Ann,Lee\r\n" % i for i in range(20_000)), 20_002, 8, "row"),
    (b"id,first_name,last_name\rP-1,Ann,Lee\r", 3, 8, "row"),  # lone CRs end lines, as for the CSV reader
    (b"\xef\xbb\xbfid,first_name,last_name\nP-1,\"Ann\nMarie\",Lee\n", 4, 8, "row"),  # a BOM; a cell of two lines
    (b"", 1, 8, "header"),
])
def test_csv_non_utf8_is_reported_at_the_line_of_the_bad_byte(
    tmp_path: Path, head: bytes, bad_line: int, column: int, part: str
) -> None:
    """Probe: the bad byte of line 3 was reported on line 1 as an unreadable header (the text layer
    decodes a block ahead of the CSV reader), and in a 20,000-row file on line 19357."""
    path = tmp_path / "person.csv"
    first = b"" if head else b"id,first_name,last_name\n"
    path.write_bytes(head + (b"P-2,Jos\xe9,M\xfcller\n" if head else b"\xe9d,first_name\n") + first)
    records, (problem,) = read(path, "csv")
    assert (problem.line, problem.column) == (bad_line, column if head else 1)
    assert problem.reason == (f"unreadable {part}: not UTF-8 text: byte 0xe9 (invalid continuation byte); "
                              "save the file as UTF-8"), problem.reason


@pytest.mark.parametrize(("cell", "said"), [("CA;;NV", "item 2 of 3 in 'CA;;NV' is empty"),
                                            ("; CA", "item 1 of 2 in '; CA' is empty"),
                                            ("CA; ;NV;", "item 2 of 3 in 'CA; ;NV;' is empty")])
def test_a_csv_list_with_an_empty_item_is_refused_naming_the_row_and_field(tmp_path: Path, cell: str,
                                                                           said: str) -> None:
    """An empty item had been dropped: `CA;;NV` stored two states, and any item after it moved a place."""
    path = write(tmp_path, "organization.csv", f'id,name,states\nO1,Acme,"{cell}"\nO2,Beta,CA;NV;\n')
    ((_, refused), (_, kept)), problems = read(path, "csv")
    assert problems == []  # refused as a record (an invalid one), not as a problem of the file
    assert isinstance(refused, Refused) and kept["id"] == "O2" and kept["states"] == ["CA", "NV"]
    (problem,) = refused.details
    assert (problem.line, problem.record_id, problem.field) == (2, "O1", "states")
    assert said in problem.reason


@pytest.mark.parametrize(("column", "cell", "key"), [
    ("affected_by_state", '{""CA"": 600, ""CA"": 5}', "CA"),
    ("media_notice_at", '{""CA"": ""2026-01-09T10:00:00Z"", ""NV"": null, ""CA"": null}', "CA"),
])
def test_a_csv_json_cell_naming_a_key_twice_is_refused(tmp_path: Path, column: str, cell: str, key: str) -> None:
    """Read as JSON it kept the last value: a breach's 600 Californians became 5, and its media
    notice finding was gone, where a JSON import refuses the same object."""
    path = write(tmp_path, "incident.csv", f'id,{column}\nI-1,"{cell}"\nI-2,"{{""CA"": 1}}"\n')
    ((_, refused), (_, kept)), problems = read(path, "csv")
    assert problems == [] and isinstance(refused, Refused) and kept["id"] == "I-2"
    (problem,) = refused.details
    assert (problem.line, problem.record_id, problem.field) == (2, "I-1", column)
    assert f"the key {key!r} is given twice" in problem.reason


def test_a_csv_file_named_for_its_type_keeps_it_and_the_given_type_is_the_others(tmp_path: Path) -> None:
    """`vigil evaluate --records establishment.csv --records inc.csv --type incident` had read the
    establishments as incidents (three unknown fields); --type is for files not named <type>.csv."""
    named = write(tmp_path, "establishment.csv", "id,name\nE-1,Clinic\n")
    other = write(tmp_path, "inc.csv", "id,establishment_id\nI-1,E-1\n")
    (first,), no_problems = read(named, "csv", record_type="incident")
    (second,), none_either = read(other, "csv", record_type="incident")
    assert no_problems == none_either == []
    assert (first[1]["type"], second[1]["type"]) == ("establishment", "incident")



def test_a_header_repeated_inside_the_file_is_named(tmp_path: Path) -> None:
    """An import pass (session 42): two exports pasted together made a person whose id was 'id'."""
    path = write(tmp_path, "person.csv", "id,first_name\nP1,Ann\nid,first_name\nP2,Bo\n")
    records, problems = read(path, "csv")
    assert [(p.line, p.reason) for p in problems] == [
        (3, "the row repeats the header (two exports pasted into one file?): remove it")]


def test_a_cell_of_spaces_is_empty_and_a_trailing_comma_is_a_column_to_ignore(tmp_path: Path) -> None:
    """Session 46's records pass: `vip` of ' ' was refused as "the string ' '", `states` of ' '
    stored an empty list, and Excel's trailing comma (`id,first_name,`) was an unknown field ''."""
    path = write(tmp_path, "person.csv", "id,first_name,\r\nP1, ,\r\nP2,Ann,\r\nP3,Bo,oops\r\n")
    records, problems = read(path, "csv")
    assert [r for _, r in records] == [{"type": "person", "id": "P1"}, {"type": "person", "id": "P2",
                                                                         "first_name": "Ann"}]
    assert [(p.line, p.record_id, p.reason.split(":")[0]) for p in problems] == [
        (4, "P3", "a value under a column with no name in the header")]
    org = write(tmp_path, "organization.csv", "id,states\nORG-Q, \n")
    records, problems = read(org, "csv")
    assert problems == [] and records[0][1] == {"type": "organization", "id": "ORG-Q"}


@pytest.mark.parametrize("content", ["", "  \n"])
def test_an_empty_json_file_is_said_as_an_empty_csv_file_is(tmp_path: Path, content: str) -> None:
    """The parser had answered "Expecting value" at line 1 column 1."""
    records, problems = read(write(tmp_path, "person.json", content), "json")
    assert records == [] and [p.reason.split(":")[0] for p in problems] == ["empty file"]


#: a whole number of more digits than Python turns into an int (its int-string limit, 4,300)
LONG = "1" * 5000


@pytest.mark.parametrize(("name", "text", "field"), [
    ("organization.ndjson", f'{{"type": "organization", "id": "O", "fte_count": {LONG}}}\n', "fte_count"),
    ("organization.json", f'[{{"type": "organization", "id": "O", "fte_count": {LONG}}}]', "fte_count"),
    ("organization.csv", f"id,fte_count\nO,{LONG}\n", "fte_count"),
    ("incident.csv", f'id,affected_by_state\nI,"{{""CA"": {LONG}}}"\n', "affected_by_state.CA"),
])
def test_a_number_past_pythons_digit_limit_is_the_records_problem_not_a_crash(tmp_path: Path, name: str,
                                                                             text: str, field: str) -> None:
    """int() refuses more than 4,300 digits with a ValueError, which had ended the import with a
    traceback (a 500 over REST); a 20-digit number is told "must be at most 9223372036854775807"."""
    path = write(tmp_path, name, text)
    records, problems = read(path, detect_format(path))
    assert problems == []
    ((position, raw),) = records
    with pytest.raises(RecordValidationError) as refused:
        validate_record(raw, position=position)
    (detail,) = refused.value.details
    assert (detail.field, detail.reason) == (field, "must be at most 9223372036854775807, got a number of 5,000 "
                                                    "digits")
    assert detail.line == (2 if name.endswith(".csv") else 1)  # a JSON record's line is found again too
