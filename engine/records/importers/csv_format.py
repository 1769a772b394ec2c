"""CSV import: one file per record type, a header row of field names, one record per row.

The type comes from `--type` or from the file name (`access_event.csv`). Cells are text, so each
one is turned into the JSON value its field expects before the record is validated like any other:

- an empty cell is null (the field is left out);
- booleans are `true`/`false`/`1`/`0` (any case);
- whole numbers and numbers are parsed as such;
- list fields are split on `;` (`CA;NV` -> `["CA", "NV"]`);
- dict fields (`affected_by_state`, `media_notice_at`, ...) hold JSON text (`{"CA": 12}`);
- everything else (text, enum values, dates, instants) is passed as the string it is.

A cell that cannot be converted is passed on unchanged, so the contract check reports it with the
same words as for JSON input. Lines are 1-based physical lines; the header is line 1.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from engine import json_codec
from engine.errors import ErrorDetail
from engine.records.fields import base_type
from engine.records.importers import FORMATS, AdvanceFn, ProblemFn
from engine.records.schemas import RECORD_MODELS
from engine.records.validation import Position, Refused

Kind = Literal["bool", "int", "number", "list", "dict", "text"]
_INT_RE = re.compile(r"^[+-]?\d+$", re.ASCII)  # int() and float() also read other scripts' digits
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
_PROGRESS_EVERY = 1000


def kind_of(annotation: Any) -> Kind:
    """How a CSV cell for a field of this annotation is read."""
    tp = base_type(annotation)
    origin = get_origin(tp)
    if tp is bool:
        return "bool"
    if tp is int:
        return "int"
    if origin in (Union, UnionType) and set(get_args(tp)) == {int, float}:
        return "number"
    if origin is list:
        return "list"
    if origin is dict:
        return "dict"
    return "text"


@cache
def field_kinds(record_type: str) -> dict[str, Kind]:
    """Field name -> cell kind for one record type."""
    model = RECORD_MODELS[record_type]
    return {name: kind_of(info.annotation) for name, info in model.model_fields.items()}


def convert_cell(kind: Kind, cell: str) -> Any:
    """The JSON value a non-empty cell stands for (or the cell itself when it does not parse)."""
    if kind == "text":
        return cell
    if kind == "bool":
        low = cell.strip().lower()
        return True if low in _TRUE else False if low in _FALSE else cell
    if kind == "int":  # read_int: past Python's 4,300 digits, int() raises (a traceback had ended the import)
        text = cell.strip()
        return json_codec.read_int(text) if _INT_RE.match(text) else cell
    if kind == "number":
        text = cell.strip()
        if _INT_RE.match(text):
            return json_codec.read_int(text)
        if not text.isascii():
            return cell
        try:
            return float(text)
        except ValueError:
            return cell
    if kind == "list":
        return [item.strip() for item in cell.split(";") if item.strip()]
    try:
        return json_codec.loads(cell)
    except json.JSONDecodeError:
        return cell


@FORMATS.register("csv")
def read_csv(
    path: Path, *, record_type: str | None, problem: ProblemFn, advance: AdvanceFn
) -> Iterator[tuple[Position, Any]]:
    """Yield each row as a record of the file's type, with its line number."""
    size = path.stat().st_size
    reported = 0

    def step(nbytes: int) -> None:
        nonlocal reported
        reported += nbytes
        advance(nbytes)

    # a file named <type>.csv holds that type; the type given (--type) is the others': several files
    # of one import or evaluation, one named for its type and one not, had all been read as the given type
    record_type = path.stem if path.stem in RECORD_MODELS else record_type
    try:
        if record_type not in RECORD_MODELS:
            problem(
                ErrorDetail(
                    reason=f"cannot tell the record type of {path.name}: name the file <type>.csv "
                    "(e.g. access_event.csv) or give the type (--type; over REST the type query parameter); "
                    f"valid types: {', '.join(RECORD_MODELS)}",
                    file=str(path),
                )
            )
            return
        yield from _read_rows(path, record_type, problem, step)
    finally:
        if reported < size:  # a file given up on early still counts as read, for the progress bar
            advance(size - reported)


#: The longest cell read, in characters (Python's csv reads 131,072 by default; an NDJSON field has no
#: such limit, and one file format should not refuse what the other takes).
MAX_CELL = 32 * 1024 * 1024
csv.field_size_limit(MAX_CELL)


def _csv_error(exc: csv.Error) -> str:
    """What the csv module's complaint means for the person who wrote the file, and how to mend it."""
    said = str(exc)
    if "unexpected end of data" in said:
        return ("a quoted cell that starts on this row is never closed, so every line after it would be read "
                'into that one cell: close the quote (a quote inside a quoted cell is written twice, "")')
    if "expected after" in said:
        return ('a quote in the middle of a cell: quote the whole cell and write each quote inside it twice '
                '("12 ""B"" Street")')
    if "field larger than field limit" in said:
        return f"a cell longer than {MAX_CELL:,} characters"
    return said


def _read_rows(path: Path, record_type: str, problem: ProblemFn, advance: AdvanceFn) -> Iterator[tuple[Position, Any]]:
    name = str(path)
    kinds = field_kinds(record_type)
    with path.open("rb") as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        # strict: a quote left open had read every line after it into one cell (the import said it had
        # read one record), and a quote inside a bare cell had been dropped silently
        reader = csv.reader(text, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            problem(ErrorDetail(reason="empty file: expected a header row of field names", file=name))
            return
        except UnicodeDecodeError:
            problem(_not_utf8(path))
            return
        except csv.Error as exc:
            problem(ErrorDetail(reason=f"unreadable header: {_csv_error(exc)}", file=name, line=1))
            return
        separator = _other_separator(header, kinds)
        if separator is not None:  # one column named 'id;first_name': every row would be misread too
            problem(ErrorDetail(
                reason=f"the header {separator[1]!r} looks {separator[0]}-separated: Vigil reads comma-separated CSV; "
                       "save the file with commas between the cells (quote a cell that holds a comma)",
                file=name, line=1, record_type=record_type))
            return
        columns = _check_header([h.strip() for h in header], record_type, kinds, name, problem)
        if "id" not in columns:  # every row would say its id is missing (10,000 problems for a header `ID`)
            return
        last_line = reader.line_num
        last_pos = 0
        rows = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError:
                problem(_not_utf8(path))
                return
            except csv.Error as exc:
                problem(ErrorDetail(reason=f"unreadable row: {_csv_error(exc)}", file=name, line=last_line + 1))
                return
            line_no, last_line = last_line + 1, reader.line_num
            rows += 1
            if rows % _PROGRESS_EVERY == 0:
                pos = binary.tell()
                advance(pos - last_pos)
                last_pos = pos
            if not any(c.strip() for c in cells):
                continue
            position = Position(file=name, line=line_no)
            if len(cells) != len(header):
                problem(
                    position.detail(
                        f"the row has {len(cells)} cells but the header has {len(header)} columns",
                        record_type=record_type,
                    )
                )
                continue
            if [c.strip() for c in cells] == [h.strip() for h in header]:  # it had become a record with id 'id'
                problem(position.detail("the row repeats the header (two exports pasted into one file?): remove it",
                                        record_type=record_type))
                continue
            raw: dict[str, Any] = {"type": record_type}
            nameless = False
            for column, cell, heading in zip(columns, cells, header, strict=True):
                # a cell of spaces is an empty cell (it had been read as the text ' ', or a list of none)
                # (but an id of spaces is kept to be refused as such: "an id must not be blank")
                if column is not None and (cell.strip() != "" or (column == "id" and cell != "")):
                    raw[column] = convert_cell(kinds[column], cell)
                elif column is None and not heading.strip() and cell.strip():
                    nameless = True
            if nameless:
                problem(position.detail("a value under a column with no name in the header: name the column, or "
                                        "remove the value", record_type=record_type, record_id=raw.get("id")))
                continue
            empty = _empty_list_item(columns, cells, kinds) or _repeated_key(columns, cells, kinds)
            if empty is not None:  # a bad cell, so an invalid record, as one the contract check refuses
                yield position, Refused((position.detail(empty[1], record_type=record_type, record_id=raw.get("id"),
                                                         field=empty[0]),))
                continue
            if raw["type"] != record_type:
                problem(
                    position.detail(
                        f"the row says type '{raw['type']}' but this file holds {record_type} records",
                        record_type=record_type,
                        record_id=raw.get("id"),
                        field="type",
                    )
                )
                continue
            yield position, raw
        advance(binary.tell() - last_pos)


#: Separators other than the comma that spreadsheets write CSV with (a semicolon where the comma is
#: the decimal mark; a tab for "text" exports), by name.
_OTHER_SEPARATORS = (("semicolon", ";"), ("tab", "\t"))


def _other_separator(header: list[str], kinds: dict[str, Kind]) -> tuple[str, str] | None:
    """(separator's name, the header) when the header is one cell that another separator splits
    into field names of the type: read with commas, such a file gave an unknown field named
    'id;first_name', no 'id' column and every row's id missing, and no hint of the cause."""
    if len(header) != 1:
        return None
    for label, separator in _OTHER_SEPARATORS:
        names = [n.strip() for n in header[0].split(separator)]
        if len(names) > 1 and any(n in kinds for n in names):
            return label, header[0]
    return None


def _empty_list_item(columns: list[str | None], cells: list[str], kinds: dict[str, Kind]) -> tuple[str, str] | None:
    """The first list cell with an empty item (`a;;b`, `;a`), and what to say: dropping the item
    would store a list other than the one the export meant (a missing value, or items moved along
    one place), so the row is refused instead. One `;` at the end is how some exports close a list,
    and is kept allowed."""
    for column, cell in zip(columns, cells, strict=True):
        if column is None or kinds[column] != "list" or not cell.strip():
            continue
        items = cell.split(";")
        if len(items) > 1 and not items[-1].strip():
            items.pop()
        for i, item in enumerate(items, 1):
            if not item.strip():
                return column, (f"item {i} of {len(items)} in {cell.strip()!r} is empty: list items are separated "
                                "by ';', one value between each pair (leave the cell empty for no list)")
    return None


def _repeated_key(columns: list[str | None], cells: list[str], kinds: dict[str, Kind]) -> tuple[str, str] | None:
    """The first JSON cell that names a key twice (`{"CA": 600, "CA": 5}`), and what to say: read
    as JSON it keeps the last value without a word (a breach's 600 Californians became 5, and its
    media-notice finding was gone), where a JSON or NDJSON import refuses the same object."""
    for column, cell in zip(columns, cells, strict=True):
        if column is None or kinds[column] != "dict" or not cell.strip():
            continue
        repeated = json_codec.repeated_keys(cell)
        if repeated:
            key = repeated[0][1]
            return column, f"the key {key!r} is given twice in {cell.strip()!r}: give each key once"
    return None


def _not_utf8(path: Path) -> ErrorDetail:
    """The problem of a file that is not UTF-8, at the line and column of its first bad byte.

    Why the file is read again: the text layer decodes thousands of bytes ahead of the CSV reader,
    so the decoding error surfaces on an earlier row (the header, in a small file) and its position
    is within that block. Reading again happens only for such a file, line by line in flat memory,
    and counts lines as the CSV reader does (a lone CR ends a line too)."""
    line_no = 1
    with path.open("rb") as binary:
        for chunk in binary:
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                before = chunk[: exc.start]  # holds no LF, and a CR in it is a lone one
                line_no += before.count(b"\r")
                start = before.rpartition(b"\r")[2].decode("utf-8").removeprefix("\ufeff")
                part = "header" if line_no == 1 else "row"
                return ErrorDetail(
                    reason=f"unreadable {part}: not UTF-8 text: byte 0x{chunk[exc.start]:02x} ({exc.reason}); "
                    "save the file as UTF-8",
                    file=str(path), line=line_no, column=len(start) + 1)
            line_no += chunk.count(b"\r") - chunk.endswith(b"\r\n") + chunk.endswith(b"\n")
    return ErrorDetail(reason="not UTF-8 text; save the file as UTF-8", file=str(path))


def _check_header(
    header: list[str], record_type: str, kinds: dict[str, Kind], name: str, problem: ProblemFn
) -> list[str | None]:
    """The usable column names (None for a column to ignore); every header problem is reported."""
    columns: list[str | None] = []
    seen: set[str] = set()
    fields = [f for f in kinds if f != "type"]
    for column in header:
        where = ErrorDetail(reason="", file=name, line=1, record_type=record_type, field=column or None)
        if column == "":  # a trailing comma, as Excel writes one: a column to ignore while its cells are empty
            columns.append(None)
            continue
        if column in seen:
            problem(_with(where, f"column '{column}' appears twice in the header"))
            columns.append(None)
            continue
        seen.add(column)
        if column not in kinds:
            same = next((f for f in fields if f.lower() == column.lower()), None)  # `ID`, `Last_Name`
            close = [same] if same else difflib.get_close_matches(column, fields, n=1)
            hint = f" (did you mean {close[0]}? field names are written in lower case)" if same else \
                f" (did you mean {close[0]}?)" if close else ""
            problem(
                _with(
                    where,
                    f"unknown field '{column}' for {record_type}{hint}; its fields are: {', '.join(fields)}",
                )
            )
            columns.append(None)
            continue
        columns.append(column)
    if "id" not in seen:
        problem(ErrorDetail(reason="the header has no 'id' column", file=name, line=1, record_type=record_type))
    return columns


def _with(detail: ErrorDetail, reason: str) -> ErrorDetail:
    return ErrorDetail(
        reason=reason, file=detail.file, line=detail.line, record_type=detail.record_type, field=detail.field
    )
