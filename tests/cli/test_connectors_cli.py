"""`vigil import --format fhir` and `vigil import --format leie [--checked-at]` through Typer's runner."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import engine.cli.records  # noqa: F401  (registers the commands)
from engine import clock
from engine.cli.app import app
from tests.conftest import SHARED

FHIR_EXAMPLE = SHARED / "formats" / "fhir" / "auditevent-r4-balp-patientread-example.json"
LEIE_EXAMPLE = SHARED / "formats" / "leie" / "leie-UPDATED-format-example.csv"
NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("VIGIL_ORG", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return f"sqlite:///{tmp_path / 'cli.db'}"


def vigil(*args: str) -> Result:
    with clock.frozen(NOW):
        return CliRunner(env={"COLUMNS": "250"}).invoke(app, list(args))


def test_fhir_import_and_its_errors(db_url: str, tmp_path: Path) -> None:
    result = vigil("import", str(FHIR_EXAMPLE), "--format", "fhir", "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["access_event"]["created"] == 1
    shown = vigil("records", "show", "access_event", "ehr-view-98765", "--db", db_url, "--json")
    assert json.loads(shown.stdout)["data"]["patient_id"] == "p456"
    bad = tmp_path / "bad.json"
    bad.write_text(FHIR_EXAMPLE.read_text(encoding="utf-8").replace('"2026-01-14T22:41:07-05:00"', '"2026-01-14"'),
                   encoding="utf-8")
    result = vigil("import", str(bad), "--format", "fhir", "--db", db_url)
    assert result.exit_code == 2
    assert "AuditEvent ehr-view-98765" in result.stderr and "field recorded" in result.stderr


def test_leie_screening_from_the_command_line(db_url: str, tmp_path: Path) -> None:
    people = tmp_path / "people.ndjson"
    people.write_text(
        json.dumps({"type": "person", "id": "P-1", "first_name": "Jane", "last_name": "Example", "dob": "1975-03-12"})
        + "\n" + json.dumps({"type": "employment_episode", "id": "E-1", "person_id": "P-1"}) + "\n", encoding="utf-8")
    assert vigil("import", str(people), "--db", db_url).exit_code == 0
    args = ("import", str(LEIE_EXAMPLE), "--format", "leie", "--checked-at", "2026-03-02T09:00:00-08:00",
            "--db", db_url, "--json")
    result = vigil(*args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["screening"]["created"] == 1
    shown = vigil("records", "show", "screening", "LEIE-20260302T170000Z-P-1", "--db", db_url, "--json")
    assert json.loads(shown.stdout)["data"]["result"] == "excluded"
    assert json.loads(vigil(*args).stdout)["unchanged"] == 1
    assert json.loads(result.stdout)["screened"] == {"clear": 0, "possible_match": 0, "excluded": 1}
    # the table says who matched at once (it had said only "1 records"; the match was found by export)
    table = vigil(*args[:-1])
    assert table.exit_code == 0 and "1 person screened: 0 clear, 0 excluded" not in table.stdout
    assert "1 person screened: 0 clear, 1 excluded" in table.stdout, table.stdout


def test_a_possible_match_is_counted_and_said_to_be_confirmed(db_url: str, tmp_path: Path) -> None:
    people = tmp_path / "people.ndjson"
    rows = [{"type": "person", "id": "P-1", "first_name": "Jane", "last_name": "Example"},  # no date of birth
            {"type": "employment_episode", "id": "E-1", "person_id": "P-1"},
            {"type": "person", "id": "P-2", "first_name": "Sam", "last_name": "Clearly", "dob": "1980-01-01"},
            {"type": "employment_episode", "id": "E-2", "person_id": "P-2"}]
    people.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert vigil("import", str(people), "--db", db_url).exit_code == 0
    result = vigil("import", str(LEIE_EXAMPLE), "--format", "leie", "--checked-at", "2026-03-02T09:00:00-08:00",
                   "--db", db_url)
    assert result.exit_code == 0, result.output
    assert ("2 people screened: 1 clear, 1 possible match (the same name with no date of birth to tell them apart: "
            "confirm it), 0 excluded") in " ".join(result.stdout.split())


def test_an_leie_file_with_only_the_header_is_refused_and_writes_nothing(db_url: str, tmp_path: Path) -> None:
    people = tmp_path / "people.ndjson"
    people.write_text(
        json.dumps({"type": "person", "id": "P-1", "first_name": "Jane", "last_name": "Example", "dob": "1975-03-12"})
        + "\n" + json.dumps({"type": "employment_episode", "id": "E-1", "person_id": "P-1"}) + "\n", encoding="utf-8")
    assert vigil("import", str(people), "--db", db_url).exit_code == 0
    truncated = tmp_path / "UPDATED.csv"
    truncated.write_text(LEIE_EXAMPLE.read_text(encoding="latin-1").splitlines()[0] + "\n", encoding="latin-1")
    result = vigil("import", str(truncated), "--format", "leie", "--checked-at", "2026-03-02T09:00:00-08:00",
                   "--db", db_url)
    assert result.exit_code == 2, result.output
    said = " ".join(result.stderr.replace("│", " ").split())
    assert str(truncated) in said and "holds no exclusion rows" in said and "download it again" in said
    out = tmp_path / "out"
    assert vigil("export", "--out", str(out), "--db", db_url).exit_code == 0
    assert sorted(f.name for f in out.glob("*.ndjson")) == ["employment_episode.ndjson", "person.ndjson"], \
        "no screening was written"


def test_checked_at_and_type_are_refused_where_they_do_not_apply(db_url: str) -> None:
    result = vigil("import", str(FHIR_EXAMPLE), "--format", "fhir", "--checked-at", "2026-03-02T09:00:00Z",
                   "--db", db_url)
    assert result.exit_code == 2 and "--checked-at applies only to --format leie" in result.stderr
    result = vigil("import", str(LEIE_EXAMPLE), "--format", "leie", "--type", "person", "--db", db_url)
    assert result.exit_code == 2 and "--type does not apply" in result.stderr
    result = vigil("import", str(LEIE_EXAMPLE), "--format", "leie", "--checked-at", "2026-03-02T09:00", "--db", db_url)
    assert result.exit_code == 2 and "instant without an offset" in result.stderr


def test_a_supplement_alone_screens_only_the_people_it_names_and_says_so(db_url: str, tmp_path: Path) -> None:
    """The interop pass's repro (7 December 2026): a one-row 2611REIN.csv for another person, after a
    full screening that found P-1 excluded, said "2 people screened: 2 clear" and ended the exclusion."""
    people = tmp_path / "people.ndjson"
    rows = [{"type": "person", "id": "P-1", "first_name": "Jane", "last_name": "Example", "dob": "1975-03-12"},
            {"type": "employment_episode", "id": "E-1", "person_id": "P-1"},
            {"type": "person", "id": "P-2", "first_name": "Rein", "last_name": "Stated", "dob": "1970-01-01"},
            {"type": "employment_episode", "id": "E-2", "person_id": "P-2"}]
    people.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert vigil("import", str(people), "--db", db_url).exit_code == 0
    full = vigil("import", str(LEIE_EXAMPLE), "--format", "leie", "--checked-at", "2026-03-01T09:00:00-06:00",
                 "--db", db_url)
    assert "2 people screened: 1 clear, 1 excluded" in full.stdout
    header = LEIE_EXAMPLE.read_text(encoding="latin-1").splitlines()[0]
    rein = tmp_path / "2603REIN.csv"
    rein.write_text(header + '\n"STATED","REIN","","","","","","0000000000","19700101","","","","","1128b4",'
                             '"20200101","20260305","00000000",""\n', encoding="latin-1")
    result = vigil("import", str(rein), "--format", "leie", "--checked-at", "2026-03-10T09:00:00-06:00",
                   "--db", db_url)
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "0 people screened: 0 clear, 0 excluded" in said
    assert ("read as OIG's monthly supplement, which lists only the month's changes: 2 people were left "
            "unscreened (their latest screening stands)") in said
    assert "no records in" not in result.stderr, "a supplement naming nobody of the workforce is no empty file"
    assert vigil("records", "show", "screening", "LEIE-20260310T150000Z-P-1", "--db", db_url).exit_code != 0
    renamed = tmp_path / "march.csv"
    renamed.write_text(rein.read_text(encoding="latin-1"), encoding="latin-1")
    as_json = vigil("import", str(renamed), "--format", "leie", "--leie-supplement", "--checked-at",
                    "2026-03-11T09:00:00-06:00", "--db", db_url, "--json")
    assert as_json.exit_code == 0, as_json.output
    assert {k: json.loads(as_json.stdout)[k] for k in ("total", "leie_supplement", "unscreened")} == {
        "total": 0, "leie_supplement": True, "unscreened": 2}
    refused = vigil("import", str(people), "--leie-supplement", "--db", db_url)
    assert refused.exit_code == 2 and "--leie-supplement applies only to --format leie" in refused.stderr


def test_checked_at_is_stored_with_the_offset_it_was_given_and_the_id_stays_utc(db_url: str,
                                                                                tmp_path: Path) -> None:
    """The interop pass (7 December 2026): --checked-at 2026-12-01T09:00:00-06:00 was stored as
    2026-12-01T15:00:00Z, where every other stored instant keeps the offset the source gave."""
    people = tmp_path / "people.ndjson"
    people.write_text(
        json.dumps({"type": "person", "id": "P-1", "first_name": "Jane", "last_name": "Example", "dob": "1975-03-12"})
        + "\n" + json.dumps({"type": "employment_episode", "id": "E-1", "person_id": "P-1"}) + "\n", encoding="utf-8")
    assert vigil("import", str(people), "--db", db_url).exit_code == 0
    with clock.frozen(dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)):
        runner = CliRunner(env={"COLUMNS": "250"})
        first = runner.invoke(app, ["import", str(LEIE_EXAMPLE), "--format", "leie", "--checked-at",
                                    "2026-12-01T09:00:00-06:00", "--db", db_url, "--json"])
        again = runner.invoke(app, ["import", str(LEIE_EXAMPLE), "--format", "leie", "--checked-at",
                                    "2026-12-01T15:00:00Z", "--db", db_url, "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["created"] == 1
    assert json.loads(again.stdout)["unchanged"] == 1, "the same instant in another offset is the same screening"
    shown = vigil("records", "show", "screening", "LEIE-20261201T150000Z-P-1", "--db", db_url, "--json")
    assert json.loads(shown.stdout)["data"]["checked_at"] == "2026-12-01T09:00:00-06:00"


def test_an_unknown_exclusion_type_is_said_in_the_summary_and_in_json(db_url: str, tmp_path: Path) -> None:
    people = tmp_path / "people.ndjson"
    people.write_text(
        json.dumps({"type": "person", "id": "P-1", "first_name": "Jane", "last_name": "Example", "dob": "1975-03-12"})
        + "\n" + json.dumps({"type": "employment_episode", "id": "E-1", "person_id": "P-1"}) + "\n", encoding="utf-8")
    assert vigil("import", str(people), "--db", db_url).exit_code == 0
    listed = tmp_path / "UPDATED.csv"
    listed.write_text(LEIE_EXAMPLE.read_text(encoding="latin-1").replace('"1128b4"', '"9999zz"'), encoding="latin-1")
    args = ("import", str(listed), "--format", "leie", "--checked-at", "2026-03-02T09:00:00-08:00", "--db", db_url)
    table = vigil(*args)
    assert table.exit_code == 0, table.output
    said = " ".join(table.stderr.split())
    assert f"warning: {listed}:2: EXCLTYPE '9999zz' is no exclusion authority OIG's layout lists" in said
    assert "1 person screened: 0 clear, 1 excluded" in table.stdout
    as_json = json.loads(vigil(*args, "--json").stdout)
    assert as_json["row_warnings_total"] == 1
    assert [(w["file"], w["line"], w["field"]) for w in as_json["row_warnings"]] == [(str(listed), 2, "EXCLTYPE")]


def test_a_quote_never_closed_in_an_leie_file_is_said_where_it_opens(db_url: str, tmp_path: Path) -> None:
    people = tmp_path / "people.ndjson"
    people.write_text(
        json.dumps({"type": "person", "id": "P-1", "first_name": "Jane", "last_name": "Example", "dob": "1975-03-12"})
        + "\n" + json.dumps({"type": "employment_episode", "id": "E-1", "person_id": "P-1"}) + "\n", encoding="utf-8")
    assert vigil("import", str(people), "--db", db_url).exit_code == 0
    broken = tmp_path / "UPDATED.csv"
    broken.write_text(LEIE_EXAMPLE.read_text(encoding="latin-1").replace('"123 FAKE ST"', '"1 X ST'),
                      encoding="latin-1")
    result = vigil("import", str(broken), "--format", "leie", "--checked-at", "2026-03-02T09:00:00-08:00",
                   "--db", db_url)
    assert result.exit_code == 2, result.output
    said = " ".join(result.stderr.replace("│", " ").split())
    assert 'the quote opened at line 2 (ADDRESS: "1 X ST,) is never closed' in said
    assert "cells but the header has" not in said
