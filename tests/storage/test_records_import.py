"""File imports on SQLite and PostgreSQL: all or nothing, every problem located, formats mixed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from engine import db
from engine.errors import ImportFormatError, RecordValidationError
from engine.records import service
from engine.records.schemas import ImportReport
from engine.records.tables import record_version


def rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(record_version)).scalar_one())


def import_files(engine: Engine, paths: list[Path], **kw: Any) -> ImportReport:
    with db.unit_of_work(engine) as session:
        return service.import_files(session, org_id="org-a", paths=paths, actor="user:ann", **kw)


def event(i: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": "access_event",
        "id": f"AE-{i:06d}",
        "system_id": "EHR",
        "user_id": f"u{i % 40}",
        "patient_id": f"P-{i % 900}",
        "at": f"2026-03-{1 + i % 28:02d}T{i % 24:02d}:15:00-08:00",
        "action": ("view", "print", "export", "edit")[i % 4],
        **fields,
    }


def write_ndjson(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_ten_thousand_records_with_one_bad_one_import_nothing(engine: Engine, tmp_path: Path) -> None:
    records = [event(i) for i in range(10_000)]
    records[8_765]["at"] = "2026-03-07T21:00:00"  # line 8,766: no offset, after eight written batches
    path = write_ndjson(tmp_path / "access.ndjson", records)
    with pytest.raises(RecordValidationError) as info:
        import_files(engine, [path])
    (detail,) = info.value.details
    assert (detail.file, detail.line, detail.field) == (str(path), 8_766, "at")
    assert (detail.record_type, detail.record_id) == ("access_event", "AE-008765")
    assert detail.reason.startswith("instant without an offset")
    assert info.value.message == "1 problem (1 invalid record); nothing was imported"
    assert rows(engine) == 0
    # Fixed, the same file imports in full.
    records[8_765]["at"] = "2026-03-07T21:00:00Z"
    report = import_files(engine, [write_ndjson(path, records)])
    assert report.created == 10_000 and rows(engine) == 10_000


def test_every_bad_record_in_every_file_is_reported(engine: Engine, tmp_path: Path) -> None:
    good = write_ndjson(tmp_path / "ok.ndjson", [event(1)])
    bad_ndjson = tmp_path / "bad.ndjson"
    bad_ndjson.write_text(
        json.dumps(event(2, action="peek"))
        + "\n{not json\n"
        + json.dumps(event(3))
        + "\n"
        + json.dumps({"type": "acess_event", "id": "X"})
        + "\n",
        encoding="utf-8",
    )
    bad_json = tmp_path / "bad.json"
    bad_json.write_text(json.dumps({"records": [event(4), event(5, colour="red")]}), encoding="utf-8")
    bad_csv = tmp_path / "person.csv"
    bad_csv.write_text("id,dob\nP1,1984-02-29\nP2,29/02/1984\n", encoding="utf-8")
    with pytest.raises(RecordValidationError) as info:
        import_files(engine, [good, bad_ndjson, bad_json, bad_csv])
    found = [(Path(d.file or "").name, d.line, d.index, d.field) for d in info.value.details]
    assert found == [  # in the order the files were given, then by line
        ("bad.ndjson", 1, None, "action"),
        ("bad.ndjson", 2, None, None),
        ("bad.ndjson", 4, None, "type"),
        ("bad.json", 1, 1, "colour"),  # the line the record starts on, beside its index
        ("person.csv", 3, None, "dob"),
    ]
    assert "4 invalid records" in info.value.message and "1 problem in the files themselves" in info.value.message
    assert rows(engine) == 0


def test_file_level_problems_alone_are_format_errors(engine: Engine, tmp_path: Path) -> None:
    broken = tmp_path / "a.json"
    broken.write_text("[{", encoding="utf-8")
    with pytest.raises(ImportFormatError) as info:
        import_files(engine, [broken])
    assert info.value.code == "input.format" and info.value.details[0].reason.startswith("not valid JSON")
    with pytest.raises(ImportFormatError, match="no such file"):
        import_files(engine, [tmp_path / "missing.ndjson"])
    with pytest.raises(ImportFormatError, match="unknown record type 'people'"):
        import_files(engine, [broken], record_type="people")
    assert rows(engine) == 0


def test_csv_import_stores_typed_values(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "incident.csv"
    path.write_text(
        "id,establishment_id,discovered_at,phi_involved,unsecured,determination,affected_total,affected_by_state,"
        "media_notice_at,four_factor_documented\n"
        'INC-1,EST-1,2026-01-05T10:00:00-05:00,true,1,breach,612,"{""CA"": 540, ""NV"": 72}",'
        '"{""CA"": ""2026-02-20T09:00:00-08:00""}",\n'
        "INC-2,EST-1,2026-01-06T10:00:00Z,FALSE,0,,,,,false\n",
        encoding="utf-8",
    )
    report = import_files(engine, [path])
    assert report.counts["incident"].created == 2
    with db.unit_of_work(engine) as session:
        one = service.get_record(session, org_id="org-a", record_type="incident", record_id="INC-1")
        two = service.get_record(session, org_id="org-a", record_type="incident", record_id="INC-2")
    assert one.data == {
        "type": "incident",
        "id": "INC-1",
        "establishment_id": "EST-1",
        "discovered_at": "2026-01-05T10:00:00-05:00",
        "phi_involved": True,
        "unsecured": True,
        "determination": "breach",
        "affected_total": 612,
        "affected_by_state": {"CA": 540, "NV": 72},
        "media_notice_at": {"CA": "2026-02-20T09:00:00-08:00"},
    }
    assert two.data == {
        "type": "incident",
        "id": "INC-2",
        "establishment_id": "EST-1",
        "discovered_at": "2026-01-06T10:00:00Z",
        "phi_involved": False,
        "unsecured": False,
        "four_factor_documented": False,
    }
    assert one.source == str(path) and one.establishment_id == "EST-1"


def test_csv_with_type_option_and_lists(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "export-2026.csv"
    path.write_text("id,completed_at,scope_system_ids,approved_by\nRA-1,2026-02-01T12:00:00Z,EHR;PACS;,CISO\n")
    import_files(engine, [path], record_type="risk_analysis")
    with db.unit_of_work(engine) as session:
        stored = service.get_record(session, org_id="org-a", record_type="risk_analysis", record_id="RA-1")
    assert stored.data["scope_system_ids"] == ["EHR", "PACS"]


def test_json_and_ndjson_files_in_one_import(engine: Engine, tmp_path: Path) -> None:
    a = tmp_path / "a.json"
    a.write_text(json.dumps([event(1), {"type": "person", "id": "P-1"}]), encoding="utf-8")
    b = write_ndjson(tmp_path / "b.jsonl", [event(2), event(1)])
    seen: list[tuple[int, int]] = []
    report = import_files(engine, [a, b], progress=lambda done, total: seen.append((done, total)))
    assert (report.created, report.unchanged, report.total) == (3, 1, 4)
    assert report.sources == [str(a), str(b)]
    total = a.stat().st_size + b.stat().st_size
    assert seen and seen[-1] == (total, total)
    assert all(x[0] <= y[0] for x, y in zip(seen, seen[1:], strict=False))


def test_format_option_overrides_the_extension(engine: Engine, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "events.txt", [event(1)])
    with pytest.raises(ImportFormatError, match="cannot tell the format"):
        import_files(engine, [path])
    assert import_files(engine, [path], fmt="ndjson").created == 1


@pytest.mark.parametrize("record_type", [None, "person"])
def test_a_null_record_is_refused_where_it_is_as_other_non_objects_are(
    engine: Engine, tmp_path: Path, record_type: str | None
) -> None:
    """Probe: `[null, {...}, null]` imported one record and said nothing of the nulls, while `1`,
    `"x"` and `[]` in the same place were refused."""
    person = {"type": "person", "id": "P-1"}
    array = tmp_path / "a.json"
    array.write_text(json.dumps([None, person, None, 1]), encoding="utf-8")
    lines = write_ndjson(tmp_path / "b.ndjson", [person, None])
    with pytest.raises(RecordValidationError) as caught:
        import_files(engine, [array, lines], record_type=record_type)
    assert [(d.file, d.index, d.line, d.reason) for d in caught.value.details] == [
        (str(array), 0, 1, "a record must be a JSON object, got null"),  # all on line 1 of the array
        (str(array), 2, 1, "a record must be a JSON object, got null"),
        (str(array), 3, 1, "a record must be a JSON object, got the number 1"),
        (str(lines), None, 2, "a record must be a JSON object, got null"),
    ]
    assert rows(engine) == 0


def test_a_padded_id_in_a_csv_cell_is_refused_not_a_second_record(engine: Engine, tmp_path: Path) -> None:
    """Probe: ` P-1 ` in a spreadsheet's id column made a person beside P-1."""
    path = tmp_path / "person.csv"
    path.write_text("id,first_name\nP-1,Ann\n P-1 ,Ann\n  ,Bob\n", encoding="utf-8")
    with pytest.raises(RecordValidationError) as caught:
        import_files(engine, [path])
    assert [(d.line, d.field, d.reason.split(";")[0]) for d in caught.value.details] == [
        (3, "id", "' P-1 ' begins or ends with spaces"), (4, "id", "an id must not be blank (it holds only spaces)")]
    assert rows(engine) == 0
