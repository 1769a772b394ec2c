"""A key given twice in one object of an import is refused, located; never last-one-wins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import json_codec
from engine.errors import InputError
from engine.records import service as records_service


@pytest.mark.parametrize("text", [
    b'{"type":"person","id":"P-1","first_name":"A","first_name":"B"}',
    b'{"type":"person","id":"P-2","id":"P-3"}',
    b'{"type": "person", "id" : "P-1", "id": "P-2"}',  # spaced: the quick count cannot vouch for it
    b'{"a":{"x":1,"x":2}}',
    b'[{"a":1,"a":1.5}]',
])
def test_a_repeated_key_is_an_error_naming_it(text: bytes) -> None:
    with pytest.raises(json.JSONDecodeError, match="given twice"):
        json_codec.loads_input(text)
    json_codec.loads(text)  # the database's own columns are not checked


@pytest.mark.parametrize("text", [
    b'{"type":"person","id":"P-1","first_name":"A"}',
    b'{"note":"a \\":b\\": c","id":"x"}',  # `":` inside a string
    b'{"a":{"x":1},"b":{"x":2},"c":[{"x":3},{"x":4}]}',  # the same key in different objects
    b'[{"a":1},{"a":2}]',
])
def test_distinct_keys_read_as_before(text: bytes) -> None:
    assert json_codec.loads_input(text) == json.loads(text)


def test_an_ndjson_import_with_a_repeated_key_names_the_line_and_imports_nothing(engine: object,
                                                                                 tmp_path: Path) -> None:
    from engine.db import unit_of_work

    path = tmp_path / "people.ndjson"
    path.write_bytes(b'{"type":"person","id":"P-0"}\n{"type":"person","id":"P-2","id":"P-3"}\n')
    with pytest.raises(InputError) as raised, unit_of_work(engine) as s:  # type: ignore[arg-type]
        records_service.import_files(s, org_id="o", paths=[path], actor="t")
    (detail,) = raised.value.details
    assert detail.line == 2 and "'id' is given twice" in detail.reason
    with unit_of_work(engine) as s:  # type: ignore[arg-type]
        assert list(records_service.iter_records(s, org_id="o", types=["person"])) == []


def test_a_json_array_with_a_repeated_key_names_that_record_and_every_other_problem(engine: object,
                                                                                 tmp_path: Path) -> None:
    """It had said `file:1:1` and nothing else: no record, and the other records' problems hidden."""
    from engine.db import unit_of_work

    records = [{"type": "person", "id": f"P-{i}", "last_name": "X"} for i in range(12)]
    records[10]["dob"] = "bad"
    lines = [json.dumps(r) for r in records]
    lines[7] = lines[7][:-1] + ', "last_name": "Y"}'
    path = tmp_path / "people.json"
    path.write_text("[\n" + ",\n".join(lines) + "\n]\n")
    with pytest.raises(InputError) as raised, unit_of_work(engine) as s:  # type: ignore[arg-type]
        records_service.import_files(s, org_id="o", paths=[path], actor="t")
    said = {(d.index, d.field): d.reason for d in raised.value.details}
    assert "'last_name' is given twice" in said[(7, "last_name")]
    assert any(index == 10 and field == "dob" for index, field in said), said
    with unit_of_work(engine) as s:  # type: ignore[arg-type]
        assert list(records_service.iter_records(s, org_id="o", types=["person"])) == []
