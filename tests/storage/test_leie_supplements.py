"""OIG's monthly LEIE supplements (YYMMEXCL.csv, YYMMREIN.csv) list only the month's changes: read
alone they screen only the people they name, on SQLite and PostgreSQL. An interop pass (7 December
2026) imported a one-row 2611REIN.csv after a full screening: it recorded the whole workforce `clear`,
which ended a live exclusion ("6 people screened: 6 clear")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from engine import clock, db
from engine.records import service
from engine.records.connectors import leie_screen
from engine.records.schemas import ImportReport
from tests.conftest import SHARED

ORG = "org-a"
LEIE_EXAMPLE = SHARED / "formats" / "leie" / "leie-UPDATED-format-example.csv"
LEIE_HEADER = LEIE_EXAMPLE.read_text(encoding="latin-1").splitlines()[0]
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
CENTRAL = dt.timezone(dt.timedelta(hours=-6))
FULL_CHECK = dt.datetime(2026, 11, 1, 9, 0, tzinfo=CENTRAL)
MONTHLY_CHECK = dt.datetime(2026, 11, 20, 9, 0, tzinfo=CENTRAL)
PEOPLE = [
    {"type": "person", "id": "P-1", "first_name": "Jane", "last_name": "Example", "dob": "1975-03-12"},
    {"type": "person", "id": "P-2", "first_name": "John", "last_name": "Sample"},  # no DOB: a possible match
    {"type": "person", "id": "P-3", "first_name": "Ada", "last_name": "Clean", "dob": "1980-05-05"},
    {"type": "person", "id": "P-5", "first_name": "Rein", "last_name": "Stated", "dob": "1970-01-01"},
]
EPISODES = [{"type": "employment_episode", "id": f"E-{p['id']}", "person_id": p["id"],
             "start_at": "2025-01-06T08:00:00-06:00"} for p in PEOPLE]


def leie_row(last: str, first: str, dob: str, *, excldate: str = "20240115", reindate: str = "00000000") -> str:
    cells = [last, first, "", "", "", "", "", "0000000000", dob, "", "", "", "", "1128b4", excldate, reindate,
             "00000000", ""]
    return ",".join(f'"{c}"' for c in cells)


def leie_file(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([LEIE_HEADER, *rows]) + "\n", encoding="latin-1")
    return path


def seed_and_screen_in_full(engine: Engine, tmp_path: Path) -> None:
    """The workforce, then the full list of 1 November: P-1 excluded, P-2 a possible match, the others clear."""
    with clock.frozen(dt.datetime(2026, 10, 1, tzinfo=dt.UTC)), db.unit_of_work(engine) as session:
        service.import_records(session, org_id=ORG, records=PEOPLE + EPISODES, actor="user:ann", source="seed")
    assert screen(engine, [LEIE_EXAMPLE], FULL_CHECK).screened == {"clear": 2, "possible_match": 1, "excluded": 1}


def screen(engine: Engine, paths: list[Path], checked_at: dt.datetime, **options: Any) -> ImportReport:
    with clock.frozen(NOW), db.unit_of_work(engine) as session:
        return leie_screen.screen_files(session, org_id=ORG, paths=paths, actor="user:ann", checked_at=checked_at,
                                        **options)


def latest(engine: Engine) -> dict[str, str]:
    """Each person's result at the newest check."""
    found: dict[str, tuple[str, str]] = {}
    with db.unit_of_work(engine) as session:
        for record in service.iter_records(session, org_id=ORG, types=["screening"]):
            data = record.data
            instant = clock.ensure_utc(dt.datetime.fromisoformat(data["checked_at"])).isoformat()
            if data["person_id"] not in found or instant > found[data["person_id"]][0]:
                found[data["person_id"]] = (instant, data["result"])
    return {person: result for person, (_, result) in sorted(found.items())}


def screenings_at(engine: Engine, checked_at: dt.datetime) -> dict[str, str]:
    with db.unit_of_work(engine) as session:
        return {r.data["person_id"]: r.data["result"] for r in service.iter_records(session, org_id=ORG,
                                                                                    types=["screening"])
                if r.data["id"].startswith(f"LEIE-{clock.ensure_utc(checked_at):%Y%m%dT%H%M%SZ}-")}


def test_a_reinstatement_supplement_alone_leaves_a_live_exclusion_standing(engine: Engine, tmp_path: Path) -> None:
    seed_and_screen_in_full(engine, tmp_path)
    rein = leie_file(tmp_path / "2611REIN.csv", leie_row("STATED", "REIN", "19700101", excldate="20200101",
                                                         reindate="20261115"))
    report = screen(engine, [rein], MONTHLY_CHECK)
    assert (report.leie_supplement, report.unscreened, report.total) == (True, 4, 0)
    assert report.screened == {"clear": 0, "possible_match": 0, "excluded": 0}
    assert screenings_at(engine, MONTHLY_CHECK) == {}, "P-5 was never excluded on record: nothing to clear"
    assert latest(engine) == {"P-1": "excluded", "P-2": "possible_match", "P-3": "clear", "P-5": "clear"}
    assert leie_screen.supplement_line(report) == (
        "read as OIG's monthly supplement, which lists only the month's changes: 4 people were left unscreened "
        "(their latest screening stands)")


def test_a_reinstatement_clears_only_a_person_excluded_on_record_and_named_as_firmly(engine: Engine,
                                                                                     tmp_path: Path) -> None:
    seed_and_screen_in_full(engine, tmp_path)
    rein = leie_file(tmp_path / "2611REIN.csv",
                     leie_row("EXAMPLE", "JANE", "19750312", reindate="20261115"),
                     leie_row("SAMPLE", "JOHN", "19600102", excldate="20190101", reindate="20261110"))
    report = screen(engine, [rein], MONTHLY_CHECK)
    # P-2's possible match had no date of birth to confirm it: a reinstatement of a namesake clears nobody
    assert screenings_at(engine, MONTHLY_CHECK) == {"P-1": "clear"}
    assert (report.screened, report.unscreened) == ({"clear": 1, "possible_match": 0, "excluded": 0}, 3)
    assert latest(engine) == {"P-1": "clear", "P-2": "possible_match", "P-3": "clear", "P-5": "clear"}
    again = screen(engine, [rein], MONTHLY_CHECK.astimezone(dt.UTC))
    assert (again.unchanged, again.created, again.updated) == (1, 0, 0), "the same check in another offset"


def test_a_reinstatement_dated_after_the_check_day_clears_nobody(engine: Engine, tmp_path: Path) -> None:
    seed_and_screen_in_full(engine, tmp_path)
    rein = leie_file(tmp_path / "2611REIN.csv", leie_row("EXAMPLE", "JANE", "19750312", reindate="20261125"))
    assert screen(engine, [rein], MONTHLY_CHECK).total == 0
    assert latest(engine)["P-1"] == "excluded"


def test_a_new_exclusions_supplement_screens_only_the_people_it_names(engine: Engine, tmp_path: Path) -> None:
    seed_and_screen_in_full(engine, tmp_path)
    excl = leie_file(tmp_path / "2611excl.csv", leie_row("CLEAN", "ADA", "19800505", excldate="20261105"))
    report = screen(engine, [excl], MONTHLY_CHECK)
    assert screenings_at(engine, MONTHLY_CHECK) == {"P-3": "excluded"}
    assert (report.leie_supplement, report.unscreened) == (True, 3)
    assert latest(engine) == {"P-1": "excluded", "P-2": "possible_match", "P-3": "excluded", "P-5": "clear"}


def test_the_option_reads_any_file_as_a_supplement_and_a_full_list_beside_one_screens_everyone(
        engine: Engine, tmp_path: Path) -> None:
    seed_and_screen_in_full(engine, tmp_path)
    renamed = leie_file(tmp_path / "november-reinstatements.csv",
                        leie_row("EXAMPLE", "JANE", "19750312", reindate="20261115"))
    assert screen(engine, [renamed], MONTHLY_CHECK, supplement=True).screened == {
        "clear": 1, "possible_match": 0, "excluded": 0}
    excl = leie_file(tmp_path / "2612EXCL.csv", leie_row("CLEAN", "ADA", "19800505", excldate="20261202"))
    december = dt.datetime(2026, 12, 3, 9, 0, tzinfo=CENTRAL)
    together = screen(engine, [LEIE_EXAMPLE, excl], december)
    assert (together.leie_supplement, together.unscreened) == (False, 0)
    assert screenings_at(engine, december) == {"P-1": "excluded", "P-2": "possible_match", "P-3": "excluded",
                                               "P-5": "clear"}
    assert leie_screen.supplement_line(together) is None
