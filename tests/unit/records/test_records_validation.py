"""Validation of single records: each kind of mistake gets its own clear, located message."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ErrorDetail, RecordValidationError
from engine.records.hashing import canonical_text, content_hash, stored_and_canonical
from engine.records.schemas import RECORD_MODELS, AccessEvent, Incident, StoredRecord
from engine.records.validation import Position, prepare_record, validate_record

SAMPLES = Path(__file__).with_name("sample_records.ndjson")
HERE = Position(file="in.ndjson", line=7)


def problems(raw: Any, position: Position = HERE) -> list[ErrorDetail]:
    with pytest.raises(RecordValidationError) as info:
        validate_record(raw, position=position)
    return info.value.details


def event(**fields: Any) -> dict[str, Any]:
    return {"type": "access_event", "id": "AE-1", "at": "2026-03-07T21:00:00-08:00", "action": "view", **fields}


def test_sample_file_covers_every_type_and_field() -> None:
    seen: dict[str, set[str]] = {}
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        validate_record(raw)
        seen.setdefault(raw["type"], set()).update(raw)
    assert set(seen) == set(RECORD_MODELS)
    for record_type, model in RECORD_MODELS.items():
        assert seen[record_type] == set(model.model_fields), record_type


def test_a_valid_record_keeps_its_offset_and_drops_nulls() -> None:
    model, data = validate_record(event(patient_id=None, break_glass=False))
    assert isinstance(model, AccessEvent)
    assert model.at == dt.datetime(2026, 3, 8, 5, 0, tzinfo=dt.UTC)
    assert data == {
        "type": "access_event",
        "id": "AE-1",
        "at": "2026-03-07T21:00:00-08:00",
        "action": "view",
        "break_glass": False,
    }


def test_instant_without_offset_is_rejected_with_its_own_message() -> None:
    (detail,) = problems(event(at="2026-03-07T21:00:00"))
    assert detail.field == "at"
    assert detail.record_type == "access_event" and detail.record_id == "AE-1"
    assert detail.file == "in.ndjson" and detail.line == 7
    assert detail.reason.startswith("instant without an offset")
    assert "2026-03-07T21:00:00" in detail.reason


def test_a_bare_date_is_not_an_instant() -> None:
    (detail,) = problems(event(at="2026-03-07"))
    assert detail.reason.startswith("instant without an offset")
    assert "is a date" in detail.reason


@pytest.mark.parametrize("value", [1772946000, "yesterday", "2026-01-05x09:00:00Z", True])
def test_instants_must_be_iso_strings(value: Any) -> None:
    (detail,) = problems(event(at=value))
    assert detail.field == "at"
    assert "ISO 8601" in detail.reason


@pytest.mark.parametrize("value, why", [("2026-02-29T00:00:00Z", "day is out of range for month"),
                                        ("2026-13-01T00:00:00Z", "month must be in 1..12"),
                                        ("2026-01-05T24:30:00Z", "hour must be in 0..23")])
def test_a_date_or_time_that_does_not_exist_is_named_so(value: str, why: str) -> None:
    """Probe 16: 2026-02-29 read "not an ISO 8601 instant", as if the format were wrong."""
    (detail,) = problems(event(at=value))
    assert detail.reason == f"no such date or time: '{value}' ({why})"


@pytest.mark.parametrize("value, said", [
    ("2025-03-03T10:00:00+05:30:15", "an offset is hours and minutes (+05:30)"),
    ("2025-03-03T10:00:00 -08:00", "nothing comes between the time and its offset"),
    ("2025-062T10:00:00Z", "gives the day of the year (YYYY-DDD); write the calendar date instead"),
])
def test_forms_that_are_not_iso_8601_are_refused_saying_what_is_wrong(value: str, said: str) -> None:
    """Contract probe: an offset with seconds was stored and exported as given, a space before the
    offset was read, and an ordinal date was told its date and time are not separated by T."""
    (detail,) = problems(event(at=value))
    assert said in detail.reason and value in detail.reason


def test_rfc_3339_lower_case_t_and_z_are_instants() -> None:
    model, _ = validate_record(event(at="2026-03-08t05:00:00z"))
    assert isinstance(model, AccessEvent) and model.at == dt.datetime(2026, 3, 8, 5, 0, tzinfo=dt.UTC)


def test_unknown_field_is_named_with_a_suggestion() -> None:
    (detail,) = problems(event(patientid="P-1"))
    assert detail.field == "patientid"
    assert detail.reason.startswith("unknown field 'patientid' for access_event")
    assert "did you mean patient_id?" in detail.reason


def test_unknown_type_lists_the_valid_types() -> None:
    (detail,) = problems({"type": "acess_event", "id": "X"})
    assert detail.field == "type"
    assert detail.reason.startswith("unknown record type 'acess_event' (did you mean access_event?)")
    assert "valid types: organization, establishment" in detail.reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"id": "X"}, "the record has no type"),
        ({"type": 3, "id": "X"}, "type must be a string"),
        (["not", "an", "object"], "a record must be a JSON object, got a list"),
    ],
)
def test_envelope_problems(raw: Any, reason: str) -> None:
    (detail,) = problems(raw)
    assert detail.reason.startswith(reason)


def test_wrong_enum_value_lists_the_allowed_values() -> None:
    (detail,) = problems(event(action="peek"))
    assert detail.field == "action"
    assert detail.reason == "'peek' is not allowed here; expected one of 'view', 'print', 'export' or 'edit'"


def test_a_csv_writers_null_and_map_cells_are_told_what_to_write() -> None:
    """Probe 17: 'null' in a CSV enum cell and `2026:true` in a map cell got messages that did not
    say what to write instead."""
    (null,) = problems({"type": "incident", "id": "I1", "determination": "null"})
    assert null.reason.endswith("for no value leave the field out (an empty cell in CSV) or give JSON null")
    (cell,) = problems({"type": "organization", "id": "O1", "mips_participant_by_py": "2026:true"})
    assert cell.reason == ("expected an object, got the string '2026:true' (in a CSV cell, write the object as JSON "
                           'text, e.g. {"2026": true})')
    (by_state,) = problems({"type": "incident", "id": "I1", "affected_by_state": "CA:12"})
    assert by_state.reason.endswith('e.g. {"CA": 12, "NV": 3})')  # a state's count, not a year's flag
    (number,) = problems({"type": "organization", "id": "O1", "mips_participant_by_py": 3})
    assert "CSV" not in number.reason  # only a text could have been meant as one


def test_missing_id_is_required() -> None:
    (detail,) = problems({"type": "person"})
    assert detail.field == "id" and detail.reason == "required field is missing"


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"break_glass": "true"}, "break_glass", "expected true or false, got the string 'true'"),
        ({"break_glass": 1}, "break_glass", "expected true or false, got the number 1"),
        ({"user_id": 42}, "user_id", "expected a string, got the number 42"),
        ({"patient_id": ""}, "patient_id", "must not be empty"),
    ],
)
def test_strict_scalars(fields: dict[str, Any], field: str, reason: str) -> None:
    (detail,) = problems(event(**fields))
    assert (detail.field, detail.reason) == (field, reason)


def test_every_problem_of_a_record_is_reported() -> None:
    raw = {
        "type": "incident",
        "id": "INC-1",
        "discovered_at": "2026-01-01T10:00:00",
        "affected_by_state": {"XX": 3, "CA": -1},
        "media_notice_at": {"CA": "2026-02-01"},
        "determination": "maybe",
        "colour": "red",
    }
    got = {(d.field, d.reason.split(":")[0].split(";")[0]) for d in problems(raw)}
    assert {field for field, _ in got} == {
        "discovered_at",
        "affected_by_state.XX",
        "affected_by_state.CA",
        "media_notice_at.CA",
        "determination",
        "colour",
    }


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        ({"type": "establishment", "id": "E", "naics": "62111"}, "naics", "expected a 6-digit NAICS code"),
        ({"type": "establishment", "id": "E", "tz": "Pacific Time"}, "tz", "'Pacific Time' is not an IANA time zone"),
        # a region alone names a folder of tzdata: ZoneInfo raised IsADirectoryError, which had crashed the import
        ({"type": "establishment", "id": "E", "tz": "America"}, "tz", "'America' is not an IANA time zone"),
        ({"type": "establishment", "id": "E", "tz": "Pacific"}, "tz", "'Pacific' is not an IANA time zone"),
        # UTC-5 all year: an hour off New York's clock all summer
        ({"type": "establishment", "id": "E", "tz": "EST"}, "tz", "'EST' is an old zone name with no place in it; "
                                                                 "name the place's zone, e.g. America/New_York"),
        ({"type": "establishment", "id": "E", "tz": "PST8PDT"}, "tz", "'PST8PDT' is an old zone name"),
        ({"type": "establishment", "id": "E", "state": "Calif"}, "state", "'Calif' is not a US state"),
        ({"type": "organization", "id": "O", "states": ["CA", "ZZ"]}, "states[1]", "'ZZ' is not a US state"),
        ({"type": "organization", "id": "O", "fte_count": -2}, "fte_count", "must be a number of at least 0"),
        ({"type": "organization", "id": "O", "fte_count": "12"}, "fte_count", "expected a number"),
        ({"type": "organization", "id": "O", "fte_count": float("inf")}, "fte_count", "must be a finite number"),
        ({"type": "organization", "id": "O", "fte_count": 2**63}, "fte_count", "must be at most 9223372036854775807"),
        ({"type": "system", "id": "S", "log_retention_days": 2**63}, "log_retention_days",
         "must be at most 9223372036854775807"),
        (
            {"type": "organization", "id": "O", "mips_participant_by_py": {"PY2026": True}},
            "mips_participant_by_py.PY2026",
            "bad key: expected a 4-digit year",
        ),
        ({"type": "osha_summary", "id": "S", "year": 2026.5}, "year", "expected a whole number"),
        ({"type": "person", "id": "P", "dob": "02/29/1984"}, "dob", "expected a date written YYYY-MM-DD"),
        ({"type": "person", "id": "P", "dob": "0001-01-01"}, "dob", "'0001-01-01' is before 1800: taken for"),
        ({"type": "baa", "id": "B", "effective_at": "0001-01-01T00:00:00Z"}, "effective_at",
         "'0001-01-01T00:00:00Z' is before 1800"),
        ({"type": "baa", "id": "B", "effective_at": "9999-12-31T23:00:00-05:00"}, "effective_at",
         "'9999-12-31T23:00:00-05:00' is after the year 9999 once in UTC"),
        ({"type": "person", "id": "P", "dob": "1985-02-29"}, "dob", "no such date"),
        ({"type": "person", "id": "P", "dob": "1984-02-29T00:00:00Z"}, "dob", "expected a date written YYYY-MM-DD"),
        ({"type": "baa", "id": "B", "clauses": "a;b"}, "clauses", "expected a list"),
        ({"type": "incident", "id": "I", "affected_by_state": [1]}, "affected_by_state", "expected an object"),
    ],
)
def test_value_rules(raw: dict[str, Any], field: str, reason: str) -> None:
    (detail,) = problems(raw)
    assert detail.field == field
    assert detail.reason.startswith(reason), detail.reason


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        ({"type": "establishment", "id": "E", "naics": "\uff16\uff12\uff11\uff11\uff11\uff11"}, "naics",
         "expected a 6-digit NAICS code, got '\uff16\uff12\uff11\uff11\uff11\uff11'"),
        ({"type": "establishment", "id": "E", "naics": "\u0666\u0662\u0661\u0661\u0661\u0661"}, "naics",
         "expected a 6-digit NAICS code"),
        ({"type": "establishment", "id": "E", "max_concurrent_employees": {"\u0662\u0660\u0662\u0666": 5}},
         "max_concurrent_employees.\u0662\u0660\u0662\u0666", "bad key: expected a 4-digit year"),
        ({"type": "organization", "id": "O", "mips_participant_by_py": {"\uff12\uff10\uff12\uff16": True}},
         "mips_participant_by_py.\uff12\uff10\uff12\uff16", "bad key: expected a 4-digit year"),
        ({"type": "person", "id": "P", "dob": "\uff12\uff10\uff12\uff16-03-01"}, "dob",
         "expected a date written YYYY-MM-DD"),
    ],
)
def test_only_ascii_digits_are_digits(raw: dict[str, Any], field: str, reason: str) -> None:
    """Probe: full-width and Arabic-Indic digits passed the NAICS and year-key checks (Python's and
    pydantic's `\\d` take any script's digits) and were stored as given."""
    (detail,) = problems(raw)
    assert (detail.field, detail.reason[:len(reason)]) == (field, reason)


@pytest.mark.parametrize(("raw", "field", "reason"), [
    ({"type": "person", "id": "  "}, "id", "an id must not be blank (it holds only spaces)"),
    ({"type": "person", "id": " P-1 "}, "id",
     "' P-1 ' begins or ends with spaces; ids are compared exactly, so it is not the id 'P-1': remove the spaces"),
    ({"type": "person", "id": "P-1\t"}, "id", "'P-1\t' begins or ends with spaces"),
    (event(patient_id="\u00a0PT-1"), "patient_id", "'\u00a0PT-1' begins or ends with spaces"),
    ({"type": "risk_analysis", "id": "R", "scope_system_ids": ["EHR", " "]}, "scope_system_ids[1]",
     "an id must not be blank"),
    # an import pass (session 42): Excel's text-keeping `'002` and `="001"` had been stored as ids
    ({"type": "person", "id": "'002"}, "id", "\"'002\" begins with \"'\", the way Excel keeps a cell as text, not "
                                             "part of the id: write the id itself ('002')"),
    (event(patient_id='="PT-1"'), "patient_id", "'=\"PT-1\"' begins with '=', the way Excel keeps a cell as text"),
])
def test_ids_that_are_blank_or_padded_are_refused(raw: dict[str, Any], field: str, reason: str) -> None:
    """Probe: `"id": "  "` and a CSV cell ` P-1 ` were accepted as records of their own (only an empty
    id was refused), so a spreadsheet's padding split one person into two."""
    (detail,) = problems(raw)
    assert (detail.field, detail.reason[:len(reason)]) == (field, reason)
    inner = {**raw, field: "P 1"} if "[" not in field else {**raw, "scope_system_ids": ["A B"]}
    assert validate_record(inner)  # a space inside an id is kept


def test_json_array_position_is_an_index() -> None:
    (detail,) = problems(event(action="peek"), Position(file="a.json", index=4))
    assert detail.index == 4 and detail.line is None
    assert str(detail).startswith("a.json, record #4, access_event AE-1, field action: ")


def test_hash_ignores_offset_and_key_order_but_not_content() -> None:
    a = prepare_record(event(at="2026-03-07T21:00:00-08:00"), position=HERE)
    b = prepare_record(dict(reversed(list(event(at="2026-03-08T05:00:00Z").items()))), position=HERE)
    c = prepare_record(event(at="2026-03-08T05:00:01Z"), position=HERE)
    assert a.content_hash == b.content_hash != c.content_hash
    assert a.data["at"] == "2026-03-07T21:00:00-08:00" and b.data["at"] == "2026-03-08T05:00:00Z"


def test_hash_treats_whole_floats_as_integers_and_nulls_as_absent() -> None:
    one = prepare_record({"type": "organization", "id": "O", "fte_count": 12}, position=HERE)
    two = prepare_record({"type": "organization", "id": "O", "fte_count": 12.0, "name": None}, position=HERE)
    assert one.content_hash == two.content_hash


def test_hash_of_maps_of_instants_is_canonical() -> None:
    first = Incident.model_validate({"type": "incident", "id": "I", "media_notice_at": {"CA": "2026-01-01T00:00:00Z"}})
    second = Incident.model_validate(
        {"type": "incident", "id": "I", "media_notice_at": {"CA": "2025-12-31T16:00:00-08:00"}}
    )
    assert content_hash(stored_and_canonical(first)[1]) == content_hash(stored_and_canonical(second)[1])


def test_stored_record_gives_the_typed_model_back() -> None:
    _, data = validate_record(event())
    stored = StoredRecord(
        type="access_event",
        id="AE-1",
        version=1,
        data=data,
        content_hash="x",
        recorded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        actor="t",
        source="s",
    )
    model = stored.as_model()
    assert isinstance(model, AccessEvent) and model.action == "view"
    assert model.model_dump(mode="json", exclude_none=True) == data


_STDLIB = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    "canonical",
    [
        {"type": "x", "id": "a", "note": "tab\t quote\" é \u2028 \u0000 \U0001f600 \\", "n": 3, "ok": True},
        {"type": "x", "id": "a", "rate": 1e-05, "big": 1e16, "nested": {"b": [0.5, 2], "a": None}},
        {"type": "x", "id": "a", "huge": 2**70},
        {"type": "x", "id": "a", "map": {"IL": "2026-01-01T00:00:00Z", "CA": "x"}, "list": ["b", "a"]},
    ],
)
def test_canonical_text_is_the_standard_library_text(canonical: dict[str, Any]) -> None:
    """Stored hashes were computed from the standard library's text; the fast path must not move them."""
    assert canonical_text(canonical) == _STDLIB.encode(canonical)


def test_every_sample_record_hashes_as_before() -> None:
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        _, canonical = stored_and_canonical(validate_record(json.loads(line))[0])
        assert canonical_text(canonical) == _STDLIB.encode(canonical)


def _any_value(model: type[Any], name: str) -> Any:
    """A valid value of one field, taken from a sample record of the type that has it."""
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        if raw["type"] == model.model_fields["type"].annotation.__args__[0] and name in raw:
            return raw[name]
    raise AssertionError(f"no sample has {name}")


def _same_facts_in_other_forms(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """`raw` and inputs meaning the same whose JSON dump is not the input: reversed keys, explicit
    nulls, and every instant written another way (`+00:00`, `-00:00`, fractions, another offset)."""
    model = RECORD_MODELS[raw["type"]]
    every_field = {k: raw.get(k, _any_value(model, k)) for k in model.model_fields}  # in the model's order
    out = [raw, dict(reversed(list(raw.items()))), {**{k: None for k in model.model_fields}, **raw}, every_field,
           dict(reversed(list(every_field.items())))]
    for name, value in raw.items():
        if isinstance(value, str) and len(value) > 10 and value[10:11] == "T":
            at = dt.datetime.fromisoformat(value)
            utc = at.astimezone(dt.UTC).isoformat()
            for text in (utc, utc.replace("+00:00", "-00:00"), utc.replace("+00:00", "Z"),
                         at.isoformat(timespec="microseconds"),
                         at.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat()):
                out.append({**raw, name: text})
    return out


def test_the_stored_form_is_pydantics_json_dump_whichever_way_it_is_made() -> None:
    """Records whose fields are already in their JSON form are stored as read (no dump): the dict,
    its key order, the stored text and the hash must be what the dump gives, for every type."""
    checked = 0
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        for raw in _same_facts_in_other_forms(json.loads(line)):
            prepared = prepare_record(raw, position=HERE)
            dumped = prepared.model.model_dump(mode="json", exclude_none=True)
            assert list(prepared.data.items()) == list(dumped.items()), raw
            stored, canonical = stored_and_canonical(prepared.model)  # the dump, without `raw`
            assert prepared.text == canonical_text(stored)
            assert prepared.content_hash == content_hash(canonical)
            checked += 1
    assert checked > 150


def test_a_record_already_in_its_json_form_is_stored_without_a_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dump(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("dumped")

    monkeypatch.setattr(AccessEvent, "model_dump", no_dump)
    assert prepare_record(event(at="2026-03-08T05:00:00Z"), position=HERE).data["at"] == "2026-03-08T05:00:00Z"
    assert prepare_record(event(), position=HERE).data["at"] == "2026-03-07T21:00:00-08:00"
    for other_form in ("2026-03-08T05:00:00+00:00", "2026-03-08T05:00:00.000Z", "2026-03-08 05:00:00Z"):
        with pytest.raises(AssertionError, match="dumped"):  # the same instant written otherwise: the dump decides
            prepare_record(event(at=other_form), position=HERE)
    with pytest.raises(AssertionError, match="dumped"):  # validated from an object, not from JSON text
        prepare_record(event(at=dt.datetime(2026, 3, 8, 5, tzinfo=dt.UTC)), position=HERE)


def _typed(value: Any) -> Any:
    """A JSON value with each scalar's Python type beside it (1 and 1.0 compare equal)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def test_stored_texts_read_at_orjson_speed_as_the_standard_library_reads_them() -> None:
    from engine.json_codec import loads_stored

    extremes = [{"type": "organization", "id": "O", "fte_count": n} for n in (2**63 - 1, 9.2e18, 1e-05, 0.1, 2.5e-300)]
    records = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()] + extremes
    for raw in records:
        text = prepare_record(raw, position=HERE).text
        assert _typed(loads_stored(text)) == _typed(json.loads(text)), text


def test_a_nul_character_anywhere_is_refused_with_the_field_that_holds_it() -> None:
    raw = {"type": "incident", "id": "I-1", "exception_code": "a\u0000b", "affected_by_state": {"CA": 1}}
    assert [(d.field, d.reason) for d in problems(raw)] == [
        ("exception_code", "contains a NUL character (\\u0000), which no text field can store; remove it")]
    named = {"type": "organization", "id": "O", "states": ["CA"], "name": "\u0000"}
    assert [d.field for d in problems(named)] == ["name"]
    assert [d.field for d in problems({"type": "baa", "id": "B", "clauses": ["ok", "x\u0000"]})] == ["clauses[1]"]
    assert [(d.field, d.record_id) for d in problems({"type": "organization", "id": "O\u0000"})] == [("id", None)]
    kept = prepare_record({"type": "organization", "id": "O", "name": "a \\u0000 written out"}, position=HERE)
    assert kept.data["name"] == "a \\u0000 written out"  # a backslash and 'u0000' are only text


def test_half_a_character_is_refused_with_the_field_that_holds_it() -> None:
    from engine import json_codec
    from engine.storable_text import SURROGATE_REASON

    raw = json_codec.loads(b'{"type": "organization", "id": "O", "name": "party \\ud83c", "states": ["CA"]}')
    assert [(d.field, d.reason, d.record_id) for d in problems(raw)] == [("name", SURROGATE_REASON, "O")]
    whole = json_codec.loads(b'{"type": "organization", "id": "O", "name": "party \\ud83c\\udf89"}')
    assert prepare_record(whole, position=HERE).data["name"] == "party \U0001f389"


def test_record_types_taken_as_float_free_refuse_a_float_in_every_field() -> None:
    """Their canonical text skips the look for floats (orjson writes some floats differently from
    the standard library): it must be true that no valid record of them holds one."""
    from engine.records.hashing import _float_free

    free = [name for name, model in RECORD_MODELS.items() if _float_free(model)]
    assert "access_event" in free and "organization" not in free  # fte_count is a number
    for name in free:
        for field in RECORD_MODELS[name].model_fields:
            if field in ("type", "id"):
                continue
            with pytest.raises(RecordValidationError):
                validate_record({"type": name, "id": "X-1", field: 1.5})


def test_an_unknown_holiday_calendar_is_refused_at_import_naming_what_exists() -> None:
    """Imported unchecked, it made every later sweep of the practice fail."""
    establishment = {"type": "establishment", "id": "E1", "name": "Main", "naics": "621111", "state": "CO",
                     "tz": "America/Denver"}
    (detail,) = problems({**establishment, "holiday_calendar": "NO-SUCH-CAL"})
    assert (detail.record_id, detail.field) == ("E1", "holiday_calendar")
    assert "unknown holiday calendar 'NO-SUCH-CAL'" in detail.reason and "US-FEDERAL" in detail.reason
    validate_record({**establishment, "holiday_calendar": "US-FEDERAL"})
    validate_record({**establishment, "holiday_calendar": "us_federal"})  # the spellings people type
    # said beside the record's other problems, not only once they are mended
    found = problems({**establishment, "naics": "62111", "tz": "America/New_Yrok", "holiday_calendar": "US-FEDRAL"})
    assert [d.field for d in found] == ["naics", "tz", "holiday_calendar"]
    assert "did you mean US-FEDERAL?" in found[2].reason


@pytest.mark.parametrize("field, value, code", [
    ("user_id", "u1\x1b[2J", "U+001B"),  # an id: an ESC cleared the terminal of whoever listed it
    ("system_id", "EHR\u202e", "U+202E"),  # a right-to-left override shows a name reversed
    ("id", "AE-\x9b1", "U+009B"),  # a C1 control
])
def test_control_characters_are_refused_naming_them(field: str, value: str, code: str) -> None:
    """Injection probe: ESC sequences in records reached the terminal through the CLI's tables."""
    (detail,) = problems(event(**{field: value}))
    assert detail.field == field and f"contains the control character {code}" in detail.reason
    if field == "id":
        assert detail.record_id == "AE-\\x9b1"  # quoted, not acted on


def test_tabs_and_line_breaks_stay_text() -> None:
    model, _ = validate_record({"type": "vendor", "id": "V-1", "name": "Acme\tMedical\r\nBilling"})
    assert model.name == "Acme\tMedical\r\nBilling"  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["1798729200", "1798729200000"])
def test_a_unix_timestamp_written_as_text_is_named_as_such(value: str) -> None:
    """An import pass (session 42): a 13-digit epoch-milliseconds cell was refused with 'no such date or
    time: ... (month must be in 1..12)'."""
    (detail,) = problems({"type": "training_record", "id": "T-1", "person_id": "P-1", "course": "BBP",
                          "completed_at": value})
    assert detail.field == "completed_at" and f"'{value}' looks like a Unix timestamp" in detail.reason
