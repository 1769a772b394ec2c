"""docs/schema/records.schema.json and the field reference in docs/records.md are current and say
what the importer enforces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine.records import schema_export

SAMPLES = Path(__file__).with_name("sample_records.ndjson")


def test_published_schema_and_field_reference_are_current() -> None:
    assert schema_export.main(["--check"]) == 0, "run: python -m engine.records.schema_export"
    on_disk = json.loads(schema_export.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert on_disk == schema_export.build_schema()


def test_check_fails_on_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "records.schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(schema_export, "SCHEMA_PATH", stale)
    monkeypatch.setattr(schema_export, "REPO", tmp_path.parent)
    assert schema_export.main(["--check"]) == 1
    assert schema_export.main([]) == 0
    assert schema_export.main(["--check"]) == 0


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(schema_export.SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_every_sample_record_is_valid_against_the_schema(validator: Any) -> None:
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        validator.validate(json.loads(line))


@pytest.mark.parametrize(
    "record",
    [
        {"type": "access_event", "id": "A", "action": "peek"},
        {"type": "access_event", "id": "A", "patientid": "P"},
        {"type": "acess_event", "id": "A"},
        {"type": "person"},
        {"type": "organization", "id": "O", "mips_participant_by_py": {"PY26": True}},
        {"type": "incident", "id": "I", "affected_by_state": {"XX": 1}},
        {"type": "establishment", "id": "E", "naics": "62111"},
        {"type": "access_event", "id": "A", "break_glass": "true"},
    ],
)
def test_schema_rejects_what_the_importer_rejects(validator: Any, record: dict[str, Any]) -> None:
    assert list(validator.iter_errors(record)), record


def test_field_reference_names_every_type() -> None:
    text = schema_export.DOCS_PATH.read_text(encoding="utf-8")
    for record_type in ("organization", "access_event", "incident", "mips_submission"):
        assert f"### `{record_type}`" in text
    assert "| `media_notice_at` | map USPS state code → instant |" in text
