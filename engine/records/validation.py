"""Validate one raw record against the contract and say, for people, what is wrong with it.

This is the boundary where pydantic's `ValidationError` becomes Vigil's `ErrorDetail`s (house rule:
foreign exceptions are translated where they happen). Each problem names the record (type, id),
the field (dotted, with list positions: `states[2]`, `affected_by_state.XX`), where the record was
(file and line, or position in a JSON array) and a reason written for whoever made the export.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import ValidationError

from engine import storable_text
from engine.errors import ErrorDetail, RecordValidationError
from engine.records.fields import ID_PATTERN, TEXT_PATTERN, json_kind
from engine.records.hashing import stored_form
from engine.records.schemas import RECORD_MODELS, Record


@dataclass(slots=True)
class Position:
    """Where a record sits in its input: file and 1-based line, or 0-based index in a JSON array.

    Not frozen, though never changed: one is made per record imported, and a frozen dataclass
    costs three times as much to make (1 us).

    `locate(index)` finds the line a record of a JSON document starts on, when one of its problems
    is told: the document is parsed whole, without positions, and looking for the lines costs a
    second parse that only a file with a problem should pay.
    """

    file: str | None = None
    line: int | None = None
    index: int | None = None
    locate: Callable[[int], int | None] | None = None

    def detail(self, reason: str, **where: Any) -> ErrorDetail:
        """An ErrorDetail at this position."""
        line = self.line
        if line is None and self.locate is not None and self.index is not None:
            line = self.locate(self.index)
        return ErrorDetail(reason=reason, file=self.file, line=line, index=self.index, **where)


class Refused(NamedTuple):
    """A record a reader found invalid for a reason the contract check cannot see (a CSV list cell
    with an empty item, `CA;;NV`), passed on in its place: validating it raises its problems, so it
    counts as an invalid record like a bad value in any other cell, not as a problem of the file."""

    details: tuple[ErrorDetail, ...]


class PreparedRecord(NamedTuple):
    """A valid record ready to store: the model, its stored JSON form (dict and text) and its hash.

    A named tuple: one is made per record imported, at 0.3 us where a frozen dataclass costs 1 us.
    """

    record_type: str
    record_id: str
    model: Record
    data: dict[str, Any]
    content_hash: str
    position: Position
    text: str


def validate_record(raw: Any, *, position: Position | None = None) -> tuple[Record, dict[str, Any]]:
    """The validated model and the stored JSON form of `raw`; raises RecordValidationError."""
    prepared = prepare_record(raw, position=position or Position())
    return prepared.model, prepared.data


def prepare_record(raw: Any, *, position: Position) -> PreparedRecord:
    """Validate `raw` and compute its stored form and hash; every problem goes into one error."""
    record_type = raw.get("type") if type(raw) is dict else None
    model_cls = RECORD_MODELS.get(record_type) if type(record_type) is str else None
    if model_cls is None:  # the envelope itself is wrong: say how (the common case skips this)
        details = _envelope_problems(raw, position)
        if details:
            raise RecordValidationError("invalid record", details)
        model_cls = RECORD_MODELS[raw["type"]]
    try:
        model = model_cls.model_validate(raw)
    except ValidationError as exc:
        record_id = storable_text.visible(raw["id"]) if isinstance(raw.get("id"), str) else None
        details = [
            position.detail(
                _reason(err, model_cls),
                record_type=raw["type"],
                record_id=record_id,
                field=_field_path(err["loc"]),
            )
            for err in exc.errors(include_url=False)
        ]
        # an unknown calendar is said beside the other problems: said only once they were mended, the
        # file came back refused a second time
        calendar = raw.get("holiday_calendar") if raw["type"] == "establishment" else None
        if isinstance(calendar, str) and calendar and not any(d.field == "holiday_calendar" for d in details):
            details += _calendar_problems(record_id or "", calendar, position)
        raise RecordValidationError("invalid record", details) from None
    try:
        data, text, digest = stored_form(model, raw)
    except UnicodeEncodeError:  # an unpaired surrogate: the text has no UTF-8 form to hash or store
        unstorable = _unstorable(model, raw if type(raw) is dict else model.model_dump(), position)
        if unstorable is None:
            raise
        raise unstorable from None
    if "\\u0000" in text:  # JSON's escape for U+0000: almost never there, so the walk is rare
        unstorable = _unstorable(model, data, position)
        if unstorable is not None:  # else a backslash and 'u0000' written out: only text
            raise unstorable
    if model.type == "establishment" and data.get("holiday_calendar"):
        _check_calendar(model.id, str(data["holiday_calendar"]), position)
    return PreparedRecord(model.type, model.id, model, data, digest, position, text)


def _check_calendar(record_id: str, name: str, position: Position) -> None:
    """An establishment's holiday calendar must be one the calendar service knows (built in, or in
    policies/holidays.yaml): imported unchecked, it failed every sweep of the practice afterwards,
    while the import itself had said nothing."""
    problems = _calendar_problems(record_id, name, position)
    if problems:
        raise RecordValidationError("invalid record", problems)


def _calendar_problems(record_id: str, name: str, position: Position) -> list[ErrorDetail]:
    from engine.rules.calendar import default_calendar
    from engine.rules.calendars.errors import UnknownCalendarError

    try:
        default_calendar().holiday_list(name)
    except UnknownCalendarError as exc:
        return [position.detail(exc.message, record_type="establishment", record_id=record_id,
                                field="holiday_calendar")]
    return []


def _unstorable(model: Record, data: dict[str, Any], position: Position) -> RecordValidationError | None:
    """The error for a valid record holding text no database can store (`engine.storable_text`),
    or None when it holds none."""
    found = storable_text.problems(data)
    if not found:
        return None
    record_id = model.id if not storable_text.problems(model.id) else None
    return RecordValidationError("invalid record", [
        position.detail(reason, record_type=model.type, record_id=record_id, field=field) for field, reason in found
    ])


def _envelope_problems(raw: Any, position: Position) -> list[ErrorDetail]:
    """Problems that stop us from even choosing a model: not an object, no or unknown `type`; or
    those a reader found (`Refused`)."""
    if type(raw) is Refused:
        return list(raw.details)
    if not isinstance(raw, dict):
        return [position.detail(f"a record must be a JSON object, got {json_kind(raw)}")]
    record_type = raw.get("type")
    record_id = storable_text.visible(raw["id"]) if isinstance(raw.get("id"), str) else None
    valid = ", ".join(RECORD_MODELS)
    if record_type is None:
        reason = f"the record has no type; give one of: {valid}"
    elif not isinstance(record_type, str):
        reason = f"type must be a string naming a record type, got {json_kind(record_type)}"
    elif record_type not in RECORD_MODELS:
        close = difflib.get_close_matches(record_type, list(RECORD_MODELS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        reason = f"unknown record type '{record_type}'{hint}; valid types: {valid}"
    else:
        return []
    shown_type = record_type if isinstance(record_type, str) else None
    return [position.detail(reason, record_type=shown_type, record_id=record_id, field="type")]


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


#: An example of each object field, as a CSV cell gives it: a state's count had been shown
#: `{"2026": true}`, a year's flag.
_OBJECT_EXAMPLES = {
    "mips_participant_by_py": '{"2026": true}',
    "max_concurrent_employees": '{"2026": 14}',
    "employees_any_time": '{"2026": 18}',
    "affected_by_state": '{"CA": 12, "NV": 3}',
    "media_notice_at": '{"CA": "2026-03-02T09:00:00-08:00"}',
}


def _reason(err: Any, model_cls: type[Record]) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    loc = err["loc"]
    prefix = "bad key: " if loc and loc[-1] == "[key]" else ""
    if kind == "string_unicode":  # a pattern's regex cannot read half a character
        return prefix + storable_text.SURROGATE_REASON
    if kind == "extra_forbidden":
        name = str(loc[-1])
        fields = [f for f in model_cls.model_fields if f not in ("type", "id")]
        close = difflib.get_close_matches(name, fields, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        record_type = model_cls.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
        return f"unknown field '{name}' for {record_type}{hint}; its fields are: {', '.join(fields)}"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        said = f"{_show(value)} is not allowed here; expected one of {ctx.get('expected')}"
        if isinstance(value, str) and value.strip().lower() in ("null", "none"):
            said += "; for no value leave the field out (an empty cell in CSV) or give JSON null"
        return said
    if kind == "bool_type":
        return f"expected true or false, got {json_kind(value)}"
    if kind == "string_type":
        return f"expected a string, got {json_kind(value)}"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return f"expected a whole number, got {json_kind(value)}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, got {value}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, got {value}"
    if kind == "string_too_short":
        return prefix + "must not be empty"
    if kind == "string_too_long":
        return prefix + f"is longer than {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return prefix + _pattern_reason(str(ctx.get("pattern")), value)
    if kind == "dict_type":
        example = _OBJECT_EXAMPLES.get(str(loc[0]) if loc else "", '{"2026": true}')
        hint = f" (in a CSV cell, write the object as JSON text, e.g. {example})" if isinstance(value, str) else ""
        return f"expected an object, got {json_kind(value)}{hint}"
    if kind == "list_type":
        return f"expected a list, got {json_kind(value)}"
    return prefix + str(err["msg"])


def _pattern_reason(pattern: str, value: Any) -> str:
    if pattern == r"^[0-9]{6}$":
        return f"expected a 6-digit NAICS code, got {_show(value)}"
    if pattern == r"^[0-9]{4}$":
        return f"expected a 4-digit year, got {_show(value)}"
    if pattern in (ID_PATTERN, TEXT_PATTERN) and isinstance(value, str):
        control = storable_text.first_control(value)
        if control is not None:
            return storable_text.control_reason(control)
    if pattern == ID_PATTERN:
        if isinstance(value, str) and not value.strip():
            return "an id must not be blank (it holds only spaces)"
        if isinstance(value, str) and value[:1] in ("'", "="):
            kept = value[2:-1] if value.startswith('="') and value.endswith('"') else value.lstrip("'=")
            return (f"{_show(value)} begins with {value[0]!r}, the way Excel keeps a cell as text, not part of the "
                    f"id: write the id itself ('{kept}'), e.g. by formatting the column as Text before saving")
        return (f"{_show(value)} begins or ends with spaces; ids are compared exactly, so it is not the id "
                f"'{str(value).strip()}': remove the spaces")
    return f"{_show(value)} does not match the pattern {pattern}"


def _show(value: Any) -> str:
    """A value quoted in a reason: `'P-1'`; one holding a quote in double quotes (`"'P-2"`, not `''P-2'`)."""
    if not isinstance(value, str):
        return json_kind(value)
    return f'"{value}"' if "'" in value else f"'{value}'"
