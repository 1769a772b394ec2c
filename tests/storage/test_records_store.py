"""The record store on SQLite and PostgreSQL: versions, no-op re-imports, as-of reads, history,
org isolation, immutable events, export round trips."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from engine import clock, db
from engine.errors import InputError, NotFoundError, RecordValidationError
from engine.records import service
from engine.records.ingest import WrittenVersion
from engine.records.schemas import RECORD_MODELS, StoredRecord
from engine.records.tables import record_version
from engine.records.validation import validate_record

SAMPLES = Path(__file__).resolve().parents[1] / "unit" / "records" / "sample_records.ndjson"
T1 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
T3 = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)


def samples() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()]


def load(engine: Engine, records: list[dict[str, Any]], *, org: str = "org-a", at: dt.datetime = T1, **kw: Any) -> Any:
    with clock.frozen(at), db.unit_of_work(engine) as session:
        return service.import_records(
            session, org_id=org, records=records, actor=kw.pop("actor", "user:ann"), source="test", **kw
        )


def rows(engine: Engine, org: str | None = None) -> int:
    stmt = select(func.count()).select_from(record_version)
    if org is not None:
        stmt = stmt.where(record_version.c.org_id == org)
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def get(engine: Engine, record_type: str, record_id: str, *, org: str = "org-a", **kw: Any) -> StoredRecord:
    with db.unit_of_work(engine) as session:
        return service.get_record(session, org_id=org, record_type=record_type, record_id=record_id, **kw)


def org_record(**fields: Any) -> dict[str, Any]:
    return {"type": "organization", "id": "ORG-1", "name": "Sunrise Family Medicine", "states": ["CA"], **fields}


def test_first_import_creates_version_one_of_everything(engine: Engine) -> None:
    report = load(engine, samples())
    assert report.total == report.created == len(RECORD_MODELS) and report.updated == report.unchanged == 0
    assert set(report.counts) == set(RECORD_MODELS)
    stored = get(engine, "access_event", "ACC-1")
    assert (stored.version, stored.actor, stored.source, stored.recorded_at) == (1, "user:ann", "test", T1)
    assert stored.establishment_id is None
    assert get(engine, "incident", "INC-1").establishment_id == "EST-1"
    assert get(engine, "establishment", "EST-1").establishment_id == "EST-1"


def test_reimport_of_identical_content_is_a_no_op(engine: Engine) -> None:
    load(engine, samples())
    before = rows(engine)
    report = load(engine, samples(), at=T2)
    assert report.unchanged == report.total == len(RECORD_MODELS) and report.created == report.updated == 0
    assert rows(engine) == before
    assert get(engine, "organization", "ORG-1").recorded_at == T1


def test_same_instant_with_another_offset_is_unchanged_and_keeps_the_first_offset(engine: Engine) -> None:
    event = {"type": "access_event", "id": "AE-9", "at": "2026-03-07T21:00:00-08:00", "action": "view"}
    load(engine, [event])
    report = load(engine, [{**event, "at": "2026-03-08T05:00:00Z"}], at=T2)
    assert report.unchanged == 1
    assert get(engine, "access_event", "AE-9").data["at"] == "2026-03-07T21:00:00-08:00"


def test_changed_content_becomes_version_two_with_who_when_and_source(engine: Engine) -> None:
    load(engine, [org_record()])
    with clock.frozen(T2), db.unit_of_work(engine) as session:
        report = service.import_records(
            session, org_id="org-a", records=[org_record(states=["CA", "NV"])], actor="user:bo", source="hr.csv"
        )
    assert (report.updated, report.created) == (1, 0)
    latest = get(engine, "organization", "ORG-1")
    assert (latest.version, latest.actor, latest.source, latest.recorded_at) == (2, "user:bo", "hr.csv", T2)
    assert latest.data["states"] == ["CA", "NV"]


def test_known_at_reads_the_version_the_database_held(engine: Engine) -> None:
    load(engine, [org_record()], at=T1)
    load(engine, [org_record(name="Sunrise Health")], at=T3)
    between = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=-8)))
    assert get(engine, "organization", "ORG-1", known_at=between).data["name"] == "Sunrise Family Medicine"
    assert get(engine, "organization", "ORG-1", known_at=T3).data["name"] == "Sunrise Health"
    assert get(engine, "organization", "ORG-1").version == 2
    with pytest.raises(NotFoundError, match="as known at"):
        get(engine, "organization", "ORG-1", known_at=T1 - dt.timedelta(seconds=1))
    with db.unit_of_work(engine) as session:
        old = list(service.iter_records(session, org_id="org-a", known_at=T2))
        new = list(service.iter_records(session, org_id="org-a"))
    assert [(r.version, r.data["name"]) for r in old] == [(1, "Sunrise Family Medicine")]
    assert [(r.version, r.data["name"]) for r in new] == [(2, "Sunrise Health")]


def test_known_at_must_carry_an_offset(engine: Engine) -> None:
    load(engine, [org_record()])
    with pytest.raises(InputError, match="instant without an offset"):
        get(engine, "organization", "ORG-1", known_at=dt.datetime(2026, 3, 2))


def test_history_lists_every_version_oldest_first(engine: Engine) -> None:
    load(engine, [org_record()], at=T1)
    load(engine, [org_record()], at=T2)
    load(engine, [org_record(fte_count=9)], at=T3, actor="user:cy")
    with db.unit_of_work(engine) as session:
        versions = service.record_history(session, org_id="org-a", record_type="organization", record_id="ORG-1")
        with pytest.raises(NotFoundError):
            service.record_history(session, org_id="org-a", record_type="organization", record_id="nope")
        with pytest.raises(InputError, match="unknown record type 'organisation'"):
            service.record_history(session, org_id="org-a", record_type="organisation", record_id="ORG-1")
    assert [(v.version, v.recorded_at, v.actor) for v in versions] == [(1, T1, "user:ann"), (2, T3, "user:cy")]
    assert versions[0].content_hash != versions[1].content_hash
    assert "fte_count" not in versions[0].data and versions[1].data["fte_count"] == 9


def test_orgs_are_isolated(engine: Engine) -> None:
    load(engine, [org_record()], org="org-a")
    with pytest.raises(NotFoundError):
        get(engine, "organization", "ORG-1", org="org-b")
    with db.unit_of_work(engine) as session:
        assert list(service.iter_records(session, org_id="org-b")) == []
        with pytest.raises(NotFoundError):
            service.record_history(session, org_id="org-b", record_type="organization", record_id="ORG-1")
    # The same id in another org is another record: its own version 1, no effect on org-a.
    report = load(engine, [org_record(name="Other practice")], org="org-b")
    assert report.created == 1
    assert get(engine, "organization", "ORG-1", org="org-a").data["name"] == "Sunrise Family Medicine"
    assert get(engine, "organization", "ORG-1", org="org-b").version == 1
    assert (rows(engine, "org-a"), rows(engine, "org-b")) == (1, 1)


def test_events_are_immutable(engine: Engine) -> None:
    event = {"type": "access_event", "id": "AE-1", "at": "2026-03-07T21:00:00Z", "action": "view"}
    load(engine, [event])
    assert load(engine, [event], at=T2).unchanged == 1
    with pytest.raises(RecordValidationError) as info:
        load(engine, [org_record(), {**event, "action": "export"}], at=T2)
    (detail,) = info.value.details
    assert (detail.record_type, detail.record_id, detail.index) == ("access_event", "AE-1", 1)
    assert detail.reason == ("this access_event was already imported with different content (version 1); "
                             "changed: action; events are immutable and cannot be changed")
    assert rows(engine) == 1, "the valid organization in the same import was not written either"
    assert get(engine, "access_event", "AE-1").data["action"] == "view"


def test_changed_fields_are_those_whose_values_differ_not_their_offsets(engine: Engine) -> None:
    """Probe: an event re-imported with its instant written in UTC and another field changed was
    said to have changed `at` too (the stored texts differ; the instants, and the hash, do not);
    `vigil records history` named such fields the same way."""
    event = {"type": "access_event", "id": "AE-1", "at": "2026-03-07T21:00:00-08:00", "action": "view"}
    load(engine, [event])
    with pytest.raises(RecordValidationError) as info:
        load(engine, [{**event, "at": "2026-03-08T05:00:00+00:00", "action": "export"}], at=T2)
    assert info.value.details[0].reason == ("this access_event was already imported with different content "
                                            "(version 1); changed: action; events are immutable and cannot be changed")
    incident = {"type": "incident", "id": "I-1", "discovered_at": "2026-03-07T21:00:00-08:00",
                "media_notice_at": {"CA": "2026-03-09T10:00:00-08:00"}, "exception_code": "a"}
    load(engine, [incident])
    load(engine, [{**incident, "discovered_at": "2026-03-08T05:00:00Z", "exception_code": "b",
                   "media_notice_at": {"CA": "2026-03-09T18:00:00Z"}}], at=T2)
    load(engine, [{**incident, "media_notice_at": {"CA": "2026-03-09T11:00:00-08:00"}}], at=T3)
    with db.unit_of_work(engine) as session:
        versions = service.record_history(session, org_id="org-a", record_type="incident", record_id="I-1")
    assert service.version_changes(versions) == [[], ["exception_code"], ["exception_code", "media_notice_at"]]


def test_a_record_twice_in_one_import_must_say_the_same_both_times(engine: Engine, tmp_path: Path) -> None:
    """Taken in order, a file holding a record twice with different content wrote two versions on
    every re-import of it (Bob over Rob, then Rob over Bob): never idempotent, and the first of each
    pair could not be seen at any instant."""
    report = load(engine, [org_record(), org_record()])
    assert (report.created, report.updated, report.unchanged) == (1, 0, 1)
    with pytest.raises(RecordValidationError, match="nothing was imported") as twice:
        load(engine, [org_record(name="Renamed"), org_record(name="Again")], at=T2)
    assert twice.value.details[0].reason == (
        "this organization is given twice in this import with different content (first at records[0]); changed: "
        "name; give it once, as it is now")
    path = tmp_path / "person.csv"
    path.write_text("id,first_name\nP-1,Bob\nP-1,Rob\n")
    with pytest.raises(RecordValidationError) as in_csv, clock.frozen(T2), db.unit_of_work(engine) as session:
        service.import_files(session, org_id="org-a", paths=[path], actor="user:ann")
    assert (in_csv.value.details[0].line, in_csv.value.details[0].record_id) == (3, "P-1")
    assert f"(first at {path} line 2)" in in_csv.value.details[0].reason
    # first given unchanged from the store, then changed: refused too (the store's version is the one taken)
    with pytest.raises(RecordValidationError, match="given twice"):
        load(engine, [org_record(), org_record(name="Renamed")], at=T3)
    assert get(engine, "organization", "ORG-1").data["name"] == org_record()["name"]
    event = {"type": "encounter", "id": "ENC-1", "modality": "telehealth"}
    with pytest.raises(RecordValidationError, match="nothing was imported") as info:
        load(engine, [event, {**event, "modality": "in_person"}], at=T2)
    # not "already imported": nothing of it was (probe 17)
    assert info.value.details[0].reason == ("this encounter is given twice in this import with different content; "
                                            "events are immutable and cannot be changed")


def test_an_event_given_twice_batches_apart_is_named_though_an_earlier_problem_stopped_the_writing(
        engine: Engine, tmp_path: Path) -> None:
    """Session 46's records pass: after a first problem the batches are no longer written, and the
    next batch's read of the store no longer saw the earlier ones: an event given twice with
    different content 1,500 lines apart was said only once the first problem was mended."""
    lines = [json.dumps({"type": "access_event", "id": "BAD-1", "at": "2026-01-01T00:00:00"})]  # no offset
    events = [{"type": "access_event", "id": f"AE-{i:05d}", "at": "2026-01-01T00:00:00Z", "action": "view",
               "user_id": "U1", "patient_id": "PT-1"} for i in range(1500)]
    lines += [json.dumps(e) for e in events] + [json.dumps({**events[0], "action": "export"})]
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordValidationError) as info, clock.frozen(T1), db.unit_of_work(engine) as session:
        service.import_files(session, org_id="org-a", paths=[path], actor="user:ann")
    assert [(d.line, d.record_id) for d in info.value.details] == [(1, "BAD-1"), (1502, "AE-00000")]
    assert "given twice in this import with different content" in info.value.details[1].reason
    assert rows(engine) == 0


def test_iter_records_streams_latest_versions_in_type_then_id_order(engine: Engine) -> None:
    people = [{"type": "person", "id": f"P-{i:02d}", "last_name": f"L{i}"} for i in range(7)]
    load(engine, people + [org_record()], at=T1)
    load(engine, [{**people[3], "last_name": "Changed"}, {**people[6], "first_name": "Z"}], at=T2)
    with db.unit_of_work(engine) as session:
        streamed = list(service.iter_records(session, org_id="org-a", batch_size=2))
        only_people = list(service.iter_records(session, org_id="org-a", types=["person"], batch_size=3))
        with pytest.raises(InputError):
            list(service.iter_records(session, org_id="org-a", types=["persons"]))
    assert [(r.type, r.id) for r in streamed] == [("organization", "ORG-1")] + [("person", p["id"]) for p in people]
    assert [r.version for r in only_people] == [1, 1, 1, 2, 1, 1, 2]
    assert only_people[3].data["last_name"] == "Changed"



def test_the_sweep_read_gives_the_same_latest_versions(engine: Engine) -> None:
    people = [{"type": "person", "id": f"P-{i:02d}", "last_name": f"L{i}", "first_name": "A"} for i in range(7)]
    load(engine, people, at=T1)
    load(engine, [{**people[3], "last_name": "Changed"}], at=T3)
    with db.unit_of_work(engine) as session:
        full = [(r.id, r.version, r.data) for r in service.iter_records(session, org_id="org-a", types=["person"])]
        lean = list(service.iter_record_data(session, org_id="org-a", record_type="person", batch_size=3))
        earlier = list(service.iter_record_data(session, org_id="org-a", record_type="person", known_at=T2))
        with pytest.raises(InputError):
            list(service.iter_record_data(session, org_id="org-a", record_type="persons"))
    assert lean == full  # the same data; its keys in the database's order (no sweep result depends on it)
    assert [(i, v, d["last_name"]) for i, v, d in earlier][3] == ("P-03", 1, "L3")
    assert lean[3][1:] == (2, lean[3][2]) and lean[3][2]["last_name"] == "Changed"
    with db.unit_of_work(engine) as session:
        picked = list(service.iter_record_data_by_ids(session, org_id="org-a", record_type="person",
                                                      ids=["P-05", "P-03", "nope", "P-03"]))
        picked_then = list(service.iter_record_data_by_ids(session, org_id="org-a", record_type="person",
                                                           ids=["P-03"], known_at=T2))
    assert picked == [lean[3], lean[5]]
    assert [(i, v, d["last_name"]) for i, v, d in picked_then] == [("P-03", 1, "L3")]

def test_the_largest_numbers_a_record_may_hold_read_back_unchanged_and_larger_ones_are_refused(
        engine: Engine, tmp_path: Path) -> None:
    """The sweep reads stored JSON with orjson: a whole number past 64 bits would come back a float,
    and `1e999` (read as infinity, stored as `Infinity`) would not come back at all."""
    largest = [{"type": "organization", "id": "O-1", "fte_count": 2**63 - 1},
               {"type": "organization", "id": "O-2", "fte_count": 9.2e18},  # PostgreSQL gives it back as an int
               {"type": "system", "id": "S-1", "log_retention_days": 2**63 - 1}]
    load(engine, largest)
    with db.unit_of_work(engine) as session:
        back = [d for t in ("organization", "system")
                for _, _, d in service.iter_record_data(session, org_id="org-a", record_type=t)]
    assert back == largest and type(back[0]["fte_count"]) is int
    path = tmp_path / "big.ndjson"
    path.write_text('{"type": "organization", "id": "O-3", "fte_count": 1e999}\n'
                    '{"type": "system", "id": "S-2", "log_retention_days": 9223372036854775808}\n'
                    '{"type": "organization", "id": "O-4", "fte_count": 1e19}\n')
    with pytest.raises(RecordValidationError) as caught, clock.frozen(T2), db.unit_of_work(engine) as session:
        service.import_files(session, org_id="org-a", paths=[path], actor="user:ann")
    assert [(d.line, d.field, d.reason) for d in caught.value.details] == [
        (1, "fte_count", "must be a finite number; this one is too large to store"),
        (2, "log_retention_days", "must be at most 9223372036854775807, got 9223372036854775808"),
        (3, "fte_count", "must be at most 9223372036854775807, got 1e+19"),
    ]
    assert rows(engine) == 3


def test_a_record_holding_a_nul_character_is_refused_on_either_database(engine: Engine, tmp_path: Path) -> None:
    """PostgreSQL cannot store U+0000: such a record used to fail there with a database error."""
    path = tmp_path / "nul.ndjson"
    path.write_text('{"type": "organization", "id": "O-1", "name": "Good"}\n'
                    '{"type": "organization", "id": "O-2", "name": "Bad\\u0000name"}\n')
    with pytest.raises(RecordValidationError) as caught, clock.frozen(T1), db.unit_of_work(engine) as session:
        service.import_files(session, org_id="org-a", paths=[path], actor="user:ann")
    assert [(d.line, d.record_id, d.field) for d in caught.value.details] == [(2, "O-2", "name")]
    assert rows(engine) == 0


def test_export_round_trips_through_import(engine: Engine, tmp_path: Path) -> None:
    load(engine, samples(), at=T1)
    load(engine, [org_record(name="Renamed")], at=T2)
    with db.unit_of_work(engine) as session:
        counts = service.export_records(session, org_id="org-a", out_dir=tmp_path / "out")
        old_counts = service.export_records(session, org_id="org-a", out_dir=tmp_path / "old", known_at=T1)
    assert counts == old_counts == {t: 1 for t in sorted(RECORD_MODELS)}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [f"{t}.ndjson" for t in RECORD_MODELS] + [service.EXPORT_MARK])
    assert '"name":"Renamed"' in (tmp_path / "out" / "organization.ndjson").read_text(encoding="utf-8")
    assert '"name":"Renamed"' not in (tmp_path / "old" / "organization.ndjson").read_text(encoding="utf-8")
    # The exported data is the imported data in its stored form (+00:00 written Z), key order included.
    exported = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "old").glob("*.ndjson")}
    for record in samples():
        _, normalized = validate_record(record)
        assert exported[record["type"]] == normalized
        assert list(exported[record["type"]]) == list(record)
        assert all(exported[record["type"]][k] == v for k, v in record.items() if not str(v).endswith("+00:00"))
    # Importing the export changes nothing; exporting again gives the same bytes.
    with clock.frozen(T3), db.unit_of_work(engine) as session:
        report = service.import_files(
            session, org_id="org-a", paths=sorted((tmp_path / "out").glob("*.ndjson")), actor="user:ann"
        )
    assert report.unchanged == report.total == len(RECORD_MODELS)
    with db.unit_of_work(engine) as session:
        service.export_records(session, org_id="org-a", out_dir=tmp_path / "again")
    for path in (tmp_path / "out").glob("*.ndjson"):
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes()


def test_an_export_stopped_half_way_or_a_mangled_mark_never_locks_or_crashes_the_folder(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 46's adversarial pass: the mark was written last, so an export that stopped half way
    left files the next export refused as someone's; a mark whose `files` was not a list crashed
    it; and the mark was written through a link planted in its place."""
    load(engine, samples(), at=T1)
    out = tmp_path / "out"
    real_walk = service.history.walk_latest_data

    def failing_walk(session: Any, *, record_type: str, **kw: Any) -> Any:
        if record_type == "person":
            raise OSError("disk full")
        return real_walk(session, record_type=record_type, **kw)

    monkeypatch.setattr(service.history, "walk_latest_data", failing_walk)
    with pytest.raises(OSError), db.unit_of_work(engine) as session:
        service.export_records(session, org_id="org-a", out_dir=out)
    monkeypatch.setattr(service.history, "walk_latest_data", real_walk)
    assert (out / "access_event.ndjson").is_file() and not (out / "person.ndjson").exists()
    with db.unit_of_work(engine) as session:  # the next export writes over what the stopped one left
        assert service.export_records(session, org_id="org-a", out_dir=out) == {t: 1 for t in sorted(RECORD_MODELS)}
    assert not [p.name for p in out.iterdir() if p.name.endswith(".part")]
    for mangled in ('{"files": 5}', '{"files": "person"}', "[1, 2]", "not json"):
        (out / service.EXPORT_MARK).write_text(mangled)
        assert service.remove_stale_exports(out, written=["person"]) == []
        with pytest.raises(InputError, match="no export wrote"), db.unit_of_work(engine) as session:
            service.export_records(session, org_id="org-a", out_dir=out)  # unmarked: the files are someone's
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("mine\n")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / service.EXPORT_MARK).symlink_to(elsewhere)
    with db.unit_of_work(engine) as session:
        service.export_records(session, org_id="org-a", out_dir=fresh)
    assert elsewhere.read_text() == "mine\n" and not (fresh / service.EXPORT_MARK).is_symlink()


def test_export_sorts_by_id_bytewise(engine: Engine, tmp_path: Path) -> None:
    ids = ["b", "B", "a-2", "a-10", "é", "_x", "Z"]
    load(engine, [{"type": "person", "id": i} for i in ids])
    with db.unit_of_work(engine) as session:
        service.export_records(session, org_id="org-a", out_dir=tmp_path)
    lines = (tmp_path / "person.ndjson").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == sorted(ids)


def test_on_batch_sees_each_written_batch_of_new_versions(engine: Engine) -> None:
    events = [
        {"type": "access_event", "id": f"AE-{i:05d}", "at": "2026-03-07T21:00:00Z", "action": "view"}
        for i in range(2500)
    ]
    batches: list[list[WrittenVersion]] = []
    load(engine, events, on_batch=batches.append)
    assert [len(b) for b in batches] == [1000, 1000, 500]
    assert batches[0][0].id == "AE-00000" and batches[0][0].version == 1 and batches[0][0].recorded_at == T1
    again: list[list[WrittenVersion]] = []
    load(engine, events, at=T2, on_batch=again.append)
    assert again == []


def test_each_import_appends_one_audit_entry(engine: Engine) -> None:
    from engine.audit import service as audit

    load(engine, samples())
    load(engine, samples(), at=T2)
    with db.unit_of_work(engine) as session:
        entries = [e for e in audit.list_entries(session, org_id="org-a") if e.action == "records.import"]
    assert len(entries) == 2
    payloads = sorted((e.payload["created"], e.payload["unchanged"]) for e in entries)
    assert payloads == [(0, len(RECORD_MODELS)), (len(RECORD_MODELS), 0)]


def test_latest_hashes_returns_the_newest_version_of_each_known_key(engine: Engine) -> None:
    from engine.records.history import latest_hashes

    load(engine, [org_record(), {"type": "person", "id": "P-1"}], at=T1)
    load(engine, [org_record(name="v2")], at=T2)
    load(engine, [org_record(name="v3")], at=T3)
    with db.unit_of_work(engine) as session:
        found = latest_hashes(
            session,
            org_id="org-a",
            keys=[("organization", "ORG-1"), ("person", "P-1"), ("person", "missing"), ("organization", "ORG-1")],
        )
        other_org = latest_hashes(session, org_id="org-b", keys=[("organization", "ORG-1")])
    assert {k: v[0] for k, v in found.items()} == {("organization", "ORG-1"): 3, ("person", "P-1"): 1}
    assert found[("organization", "ORG-1")][1] == get(engine, "organization", "ORG-1").content_hash
    assert other_org == {}
