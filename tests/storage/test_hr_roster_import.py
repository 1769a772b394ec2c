"""The HR roster connector (`--format roster`) on SQLite and PostgreSQL: through the CLI and REST,
dates as local days at the establishments, idempotent re-import, a later termination as version 2,
a practice's own headers, and a bad roster that imports nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner, Result

import engine.cli.records  # noqa: F401  (registers the commands)
from engine import clock, db
from engine.audit import service as audit
from engine.cli.app import app
from engine.errors import ImportFormatError, RecordValidationError
from engine.records import service
from engine.records.connectors import hr_roster_import
from engine.records.schemas import ImportReport
from engine.records.tables import record_version
from tests.clients import bearer_client
from tests.db_urls import cli_url

ORG = "clinic-a"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "roster"
ROSTER, TERMINATED = FIXTURES / "roster.csv", FIXTURES / "roster-terminated.csv"
CUSTOM, CUSTOM_MAP, BAD = FIXTURES / "roster-custom.csv", FIXTURES / "roster-map.yaml", FIXTURES / "roster-bad.csv"
ESTABLISHMENTS = [json.loads(line) for line in (FIXTURES / "establishments.ndjson").read_text().splitlines()]
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
ANA = "E-1001@EST-DEN:2026-03-08"  # hired on the day Denver springs forward
CARA = "E-1003@EST-NYC:2024-05-01"  # terminated (in roster-terminated.csv) on the day New York falls back


def seed(engine: Engine, records: list[dict[str, Any]] | None = None) -> None:
    with clock.frozen(NOW - dt.timedelta(days=30)), db.unit_of_work(engine) as session:
        service.import_records(session, org_id=ORG, records=ESTABLISHMENTS + (records or []), actor="t",
                               source="seed")


def import_roster(engine: Engine, *paths: Path, mapping: Path | None = None,
                  at: dt.datetime = NOW) -> ImportReport:
    with clock.frozen(at), db.unit_of_work(engine) as session:
        return hr_roster_import.import_roster(session, org_id=ORG, paths=list(paths), actor="user:hr", mapping=mapping)


def latest(engine: Engine, record_type: str) -> dict[str, dict[str, Any]]:
    with db.unit_of_work(engine) as session:
        return {r.id: r.data for r in service.iter_records(session, org_id=ORG, types=[record_type])}


def history(engine: Engine, record_type: str, record_id: str) -> list[dict[str, Any]]:
    with db.unit_of_work(engine) as session:
        return [v.data for v in service.record_history(session, org_id=ORG, record_type=record_type,
                                                       record_id=record_id)]


def audit_entries(engine: Engine) -> list[Any]:
    with db.unit_of_work(engine) as session:
        return audit.list_entries(session, org_id=ORG, limit=100)


def rows(engine: Engine, *types: str) -> int:
    query = select(func.count()).select_from(record_version)
    if types:
        query = query.where(record_version.c.record_type.in_(types))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


# ---- end to end ---------------------------------------------------------------------------------



def vigil(*args: str) -> Result:
    with clock.frozen(NOW):
        return CliRunner(env={"COLUMNS": "250"}).invoke(app, list(args))


def test_a_roster_imports_through_the_cli(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "VIGIL_ORG", "VIGIL_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    seed(engine)
    where = ("--db", cli_url(engine), "--org", ORG)
    result = vigil("import", str(ROSTER), "--format", "roster", *where, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["counts"]["person"]["created"], report["counts"]["employment_episode"]["created"]) == (3, 4)
    assert report["sources"] == [str(ROSTER)]
    shown = vigil("records", "show", "employment_episode", ANA, *where, "--json")
    assert json.loads(shown.stdout)["data"] == {
        "type": "employment_episode", "id": ANA, "person_id": "E-1001", "establishment_id": "EST-DEN",
        "role": "registered_nurse", "start_at": "2026-03-08T00:00:00-07:00", "occupational_exposure": True,
        "phi_access_required": True}
    again = vigil("import", str(ROSTER), "--format", "roster", *where)  # the table: created, updated, unchanged
    assert again.exit_code == 0 and "total 0 0 7" in " ".join(again.stdout.replace("│", " ").split())
    terminated = vigil("import", str(TERMINATED), "--format", "roster", *where, "--json")
    assert json.loads(terminated.stdout)["updated"] == 1
    listed = json.loads(vigil("records", "history", "employment_episode", CARA, *where, "--json").stdout)
    assert [v["version"] for v in listed] == [1, 2] and listed[1]["data"]["end_at"] == "2026-11-02T00:00:00-05:00"
    mapped = vigil("import", str(CUSTOM), "--format", "roster", "--map", str(CUSTOM_MAP), *where, "--json")
    assert mapped.exit_code == 0, mapped.output
    assert "open employment episodes at the roster's establishments are not on it" in " ".join(
        mapped.stderr.split()), "the mapped roster lists other people at the same sites"
    bad = vigil("import", str(BAD), "--format", "roster", *where)
    assert bad.exit_code == 2
    assert f"{BAD}:3:4, roster row E-2002, field Work Site: no establishment 'EST-XXX'" in bad.stderr
    assert rows(engine, "person", "employment_episode") == 3 + 4 + 1 + 2 + 2


def test_roster_options_are_refused_where_they_do_not_apply(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    where = ("--db", cli_url(engine), "--org", ORG)
    result = vigil("import", str(ROSTER), "--format", "csv", "--map", str(CUSTOM_MAP), *where)
    assert result.exit_code == 2 and "--map applies only to --format roster" in result.stderr
    result = vigil("import", str(ROSTER), "--format", "roster", "--type", "person", *where)
    assert result.exit_code == 2 and "--type does not apply to --format roster" in result.stderr
    result = vigil("import", str(ROSTER), "--format", "roster", "--checked-at", "2026-03-02T09:00:00Z", *where)
    assert result.exit_code == 2 and "--checked-at applies only to --format leie" in result.stderr
    assert rows(engine) == 0


def upload(path: Path, name: str | None = None) -> tuple[str, bytes, str]:
    return (name or path.name, path.read_bytes(), "text/csv")


def test_a_roster_imports_through_the_rest_api(engine: Engine) -> None:
    seed(engine)
    client, bearer = bearer_client(engine, org_id=ORG)
    with clock.frozen(NOW):
        r = client.post("/records/import", headers=bearer, params={"format": "roster"},
                        files={"file": upload(ROSTER)})
        assert r.status_code == 200, r.text
        assert (r.json()["created"], r.json()["sources"], r.json()["warnings"]) == (7, ["roster.csv"], [])
        again = client.post("/records/import", headers=bearer, params={"format": "roster"},
                            files={"file": upload(ROSTER)})
        assert (again.json()["unchanged"], again.json()["created"]) == (7, 0)
        mapped = client.post("/records/import", headers=bearer, params={"format": "roster"},
                             files={"file": upload(CUSTOM), "map": ("hr-map.yaml", CUSTOM_MAP.read_bytes(), "")})
        assert mapped.status_code == 200 and mapped.json()["created"] == 4, mapped.text
        unmapped = client.post("/records/import", headers=bearer, params={"format": "roster"},
                               files={"file": upload(CUSTOM)})
        bad_map = client.post("/records/import", headers=bearer, params={"format": "roster"},
                              files={"file": upload(CUSTOM), "map": ("hr-map.yaml", b"colums: {}\n", "")})
        bad = client.post("/records/import", headers=bearer, params={"format": "roster"},
                          files={"file": upload(BAD, "hr.csv")})
        map_elsewhere = client.post("/records/import", headers=bearer, params={"format": "csv"},
                                    files={"file": upload(ROSTER, "person.csv"), "map": ("m.yaml", b"{}", "")})
    assert unmapped.status_code == 422 and "the header has no employee_id column" in unmapped.text
    assert bad_map.status_code == 422
    assert bad_map.json()["errors"] == [{"reason": "unknown key; a roster map has columns, roles, establishments",
                                         "file": "hr-map.yaml", "field": "colums"}]
    assert bad.status_code == 422 and bad.json()["code"] == "input.format"
    first = bad.json()["errors"][0]
    assert (first["file"], first["line"], first["column"], first["field"], first["record_id"]) == (
        "hr.csv", 3, 4, "Work Site", "E-2002")
    assert "/tmp" not in bad.text
    assert map_elsewhere.status_code == 422 and map_elsewhere.json()["errors"][0]["field"] == "map"
    assert rows(engine, "person", "employment_episode") == 7 + 4


# ---- dates, versions, mapping --------------------------------------------------------------------


def test_dates_are_local_days_at_each_establishment_across_dst(engine: Engine) -> None:
    seed(engine)
    import_roster(engine, TERMINATED)
    episodes = latest(engine, "employment_episode")
    # Denver springs forward on 2026-03-08 at 02:00: the day still starts at midnight, -07:00
    assert episodes[ANA]["start_at"] == "2026-03-08T00:00:00-07:00"
    # one physician at two sites, hired on one date: two episodes, each at its own zone's midnight
    den, nyc = episodes["E-1002@EST-DEN:2025-01-06"], episodes["E-1002@EST-NYC:2025-01-06"]
    assert (den["start_at"], nyc["start_at"]) == ("2025-01-06T00:00:00-07:00", "2025-01-06T00:00:00-05:00")
    assert (den["role"], nyc["role"]) == ("physician", "physician")  # 'Physician' and 'MD'
    # New York falls back on 2026-11-01: the last day worked is 25 hours long and wholly inside the episode
    cara = episodes[CARA]
    assert (cara["start_at"], cara["end_at"]) == ("2024-05-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00")
    last_day = dt.datetime.fromisoformat(cara["end_at"]) - dt.datetime.fromisoformat("2026-11-01T00:00:00-04:00")
    assert last_day == dt.timedelta(hours=25)
    assert latest(engine, "person")["E-1002"] == {"type": "person", "id": "E-1002", "first_name": "Ben",
                                                  "last_name": "Okafor", "dob": "1978-03-09",
                                                  "address": "400 W 57th St, New York, NY 10019"}


def test_reimporting_an_unchanged_roster_changes_nothing(engine: Engine) -> None:
    seed(engine)
    first = import_roster(engine, ROSTER)
    assert (first.created, first.counts["person"].created, first.counts["employment_episode"].created) == (7, 3, 4)
    written = rows(engine)
    again = import_roster(engine, ROSTER, at=NOW + dt.timedelta(days=1))
    assert (again.unchanged, again.created, again.updated) == (7, 0, 0)
    assert rows(engine) == written, "no record version written"
    imports = [e for e in audit_entries(engine) if e.actor == "user:hr"]
    assert [(e.action, e.payload["created"], e.payload["unchanged"]) for e in imports] == [
        ("records.import", 7, 0), ("records.import", 0, 7)]
    assert imports[0].payload["sources"] == [str(ROSTER)]


def test_a_termination_added_later_is_version_2_with_history(engine: Engine) -> None:
    seed(engine)
    import_roster(engine, ROSTER)
    report = import_roster(engine, TERMINATED, at=NOW + dt.timedelta(days=31))
    assert (report.updated, report.unchanged, report.counts["employment_episode"].updated) == (1, 6, 1)
    versions = history(engine, "employment_episode", CARA)
    assert len(versions) == 2 and "end_at" not in versions[0]
    assert {k: v for k, v in versions[1].items() if versions[0].get(k) != v} == {
        "end_at": "2026-11-02T00:00:00-05:00"}
    assert import_roster(engine, TERMINATED, at=NOW + dt.timedelta(days=32)).unchanged == 7
    # the termination rescinded: the roster's empty cell clears it, as a third version
    assert import_roster(engine, ROSTER, at=NOW + dt.timedelta(days=33)).updated == 1
    assert "end_at" not in history(engine, "employment_episode", CARA)[-1]


def test_a_rehire_is_a_new_episode_and_people_left_out_are_not_ended(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    import_roster(engine, TERMINATED)
    rehired = tmp_path / "roster.csv"
    rehired.write_text("Employee ID,Work Site,Job Title,Hire Date\nE-1003,EST-NYC,Front Desk,2027-01-04\n",
                       encoding="utf-8")
    report = import_roster(engine, rehired, at=NOW + dt.timedelta(days=40))
    assert (report.counts["employment_episode"].created, report.counts["person"].unchanged) == (1, 1)
    episodes = latest(engine, "employment_episode")
    assert episodes["E-1003@EST-NYC:2027-01-04"]["start_at"] == "2027-01-04T00:00:00-05:00"
    assert episodes[CARA]["end_at"] == "2026-11-02T00:00:00-05:00", "the first episode keeps its end"
    assert "end_at" not in episodes[ANA], "E-1001 is not in this roster, and stays employed"
    assert len(episodes) == 5
    # but the report names the open episodes at the roster's site (New York) it left out, not Denver's
    assert (report.not_on_roster, report.not_on_roster_total) == (["E-1002@EST-NYC:2025-01-06"], 1)
    line = hr_roster_import.not_listed_line(report)
    assert line is not None and line.startswith("1 open employment episode at the roster's establishments is not "
                                                 "on it: E-1002@EST-NYC:2025-01-06. A roster does not end them")


def test_a_roster_that_lists_every_open_episode_at_its_sites_warns_of_none(engine: Engine) -> None:
    seed(engine)
    first = import_roster(engine, ROSTER)
    again = import_roster(engine, TERMINATED)
    assert (first.not_on_roster, first.not_on_roster_total, again.not_on_roster_total) == ([], 0, 0)
    assert hr_roster_import.not_listed_line(again) is None


def test_fields_the_roster_has_no_column_for_keep_their_stored_values(engine: Engine, tmp_path: Path) -> None:
    seed(engine, [{"type": "person", "id": "E-1001", "first_name": "Ana", "last_name": "Diaz",
                   "patient_id": "PT-77"}])
    import_roster(engine, ROSTER)
    assert latest(engine, "person")["E-1001"]["patient_id"] == "PT-77"
    lean = tmp_path / "lean.csv"  # no names, no flags: what the store has for them stays
    lean.write_text("Employee ID,Work Site,Job Title,Hire Date\nE-1001,EST-DEN,RN,2026-03-08\n", encoding="utf-8")
    assert import_roster(engine, lean).unchanged == 2
    assert latest(engine, "employment_episode")[ANA]["phi_access_required"] is True


def test_a_practice_maps_its_own_headers_titles_and_sites(engine: Engine) -> None:
    seed(engine)
    report = import_roster(engine, CUSTOM, mapping=CUSTOM_MAP)
    assert (report.counts["person"].created, report.counts["employment_episode"].created) == (2, 2)
    episodes = latest(engine, "employment_episode")
    assert episodes["7@EST-DEN:2026-11-01"] == {
        "type": "employment_episode", "id": "7@EST-DEN:2026-11-01", "person_id": "7", "establishment_id": "EST-DEN",
        "role": "registered_nurse", "start_at": "2026-11-01T00:00:00-06:00", "phi_access_required": True}
    # an instant with an offset is kept as given; 'LPN' is read without a map entry
    assert episodes["8@EST-DEN:2026-03-08"]["start_at"] == "2026-03-08T08:30:00-06:00"
    assert episodes["8@EST-DEN:2026-03-08"]["role"] == "licensed_practical_nurse"
    assert latest(engine, "person")["7"] == {"type": "person", "id": "7", "first_name": "Dee", "last_name": "Quinn"}
    assert import_roster(engine, CUSTOM, mapping=CUSTOM_MAP).unchanged == 4
    with pytest.raises(ImportFormatError) as info:
        import_roster(engine, CUSTOM)
    assert {d.reason.split(":")[0] for d in info.value.details} == {
        f"the header has no {f} column" for f in ("employee_id", "establishment_id", "role", "hire_date")}


# ---- bad input -----------------------------------------------------------------------------------


def test_a_bad_roster_imports_nothing_and_names_every_problem(engine: Engine) -> None:
    seed(engine)
    with pytest.raises(ImportFormatError) as info:
        import_roster(engine, BAD)
    error = info.value
    assert error.message == "7 problems (7 problems in the files themselves); nothing was imported"
    found = [(d.file, d.line, d.column, d.field, d.record_type, d.record_id) for d in error.details]
    assert found == [
        (str(BAD), 3, 4, "Work Site", "roster row", "E-2002"),
        (str(BAD), 4, 5, "Job Title", "roster row", "E-2003"),
        (str(BAD), 4, 6, "Hire Date", "roster row", "E-2003"),
        (str(BAD), 4, 8, "PHI Access", "roster row", "E-2003"),
        (str(BAD), 5, 1, "Employee ID", "roster row", None),
        (str(BAD), 6, 7, "Termination Date", "roster row", "E-2005"),
        (str(BAD), 7, 6, "Hire Date", "roster row", "E-2006"),
    ]
    reasons = [d.reason for d in error.details]
    assert reasons[0].startswith("no establishment 'EST-XXX' in the store (known: EST-DEN, EST-NYC)")
    assert reasons[1].startswith("'Nurse Ninja' is not a role the rulesets know")
    assert reasons[2:5] == ["no such date: '2026-02-30'",
                            "'maybe' is not yes or no: write true/false, yes/no, y/n or 1/0 (or leave it empty: "
                            "unknown)",
                            "no employee id: it is the person's id, every row needs one"]
    assert reasons[5] == "the termination (2026-02-01) is not after the hire (2026-02-02)"
    assert reasons[6].startswith("'2026-02-02T09:00:00' has a time but no offset")
    assert rows(engine, "person", "employment_episode") == 0, "E-2001's good row is not imported either"
    assert [e for e in audit_entries(engine) if e.actor == "user:hr"] == [], "nor audited"


def test_contradictions_between_rows_and_missing_zones_are_named(engine: Engine, tmp_path: Path) -> None:
    seed(engine, [{"type": "establishment", "id": "EST-NOTZ", "name": "no zone"}])
    path = tmp_path / "roster.csv"
    path.write_text("Employee ID,Date of Birth,Site,Role,Hire Date\n"
                    "E-1,1990-01-01,EST-DEN,RN,2026-01-05\n"
                    "E-1,1991-01-01,EST-NYC,RN,2026-01-05\n"
                    "E-2,,EST-DEN,MA,2026-01-05\n"
                    "E-2,,EST-DEN,Phlebotomist,01/05/2026\n"
                    "E-3,,EST-NOTZ,MA,2026-01-05\n"
                    "E-4,,EST-NOTZ,MA,2026-01-05T08:00:00-07:00\n", encoding="utf-8")
    with pytest.raises(ImportFormatError) as info:
        import_roster(engine, path)
    assert [(d.line, d.field, d.reason) for d in info.value.details] == [
        (3, "Date of Birth", "line 2 gives this employee the dob '1990-01-01', this row '1991-01-01': one person "
                             "has one dob"),
        (5, "Hire Date", "line 4 has the same employee, establishment and hire date: an episode is one employee "
                         "at one site from one hire date, so the two rows are one episode"),
        (6, "Hire Date", "establishment 'EST-NOTZ' has no tz, so the day 2026-01-05 there has no known start: give "
                         "the establishment record its IANA zone, or write the cell as an instant with an offset"),
    ]
    assert rows(engine, "person", "employment_episode") == 0


def test_a_record_the_contract_refuses_is_named_at_its_roster_line(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    path = tmp_path / "roster.csv"
    path.write_text(f"Employee ID,Site,Role,Hire Date\nE-1,EST-DEN,RN,2026-01-05\n{'E' * 256},EST-DEN,RN,2026-01-05\n",
                    encoding="utf-8")
    with pytest.raises(RecordValidationError) as info:
        import_roster(engine, path)
    assert {(d.file, d.line, d.record_type, d.field) for d in info.value.details} == {
        (str(path), 3, "person", "id"), (str(path), 3, "employment_episode", "person_id")}
    assert rows(engine, "person", "employment_episode") == 0


def test_a_plain_file_import_sends_a_roster_to_its_connector(engine: Engine) -> None:
    """`pipeline.ingest_files` (vigil evaluate --records, the demo) cannot read the days at the sites."""
    with db.unit_of_work(engine) as session, pytest.raises(ImportFormatError) as info:
        service.import_files(session, org_id=ORG, paths=[ROSTER], fmt="roster", actor="t")
    (detail,) = info.value.details
    assert detail.file == str(ROSTER) and "`vigil import FILE --format roster`" in detail.reason
    assert rows(engine) == 0
