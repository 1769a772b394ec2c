"""An LEIE screening is never checked later than now: a future --checked-at (the API's checked_at) is
refused by name, on SQLite and PostgreSQL. And an upload whose format cannot be told is told to
give the `format` query parameter, not the CLI's --format."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner, Result

import engine.cli.records  # noqa: F401  (registers the commands)
from engine import clock, db
from engine.cli.app import app
from engine.errors import InputError
from engine.records import service
from engine.records.connectors import leie_screen
from engine.records.tables import record_version
from tests.clients import bearer_client
from tests.conftest import SHARED
from tests.db_urls import cli_url

ORG = "clinic-a"
LEIE = SHARED / "formats" / "leie" / "leie-UPDATED-format-example.csv"
NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)
WORKFORCE = [{"type": "person", "id": "P-1", "first_name": "Jane", "last_name": "Example", "dob": "1975-03-12"},
             {"type": "employment_episode", "id": "E-1", "person_id": "P-1"}]


def seed(engine: Engine) -> None:
    with clock.frozen(NOW - dt.timedelta(days=1)), db.unit_of_work(engine) as session:
        service.import_records(session, org_id=ORG, records=WORKFORCE, actor="t", source="seed")


def screenings(engine: Engine) -> int:
    query = select(func.count()).select_from(record_version).where(record_version.c.record_type == "screening")
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())



def vigil(*args: str) -> Result:
    with clock.frozen(NOW):
        return CliRunner(env={"COLUMNS": "250"}).invoke(app, list(args))


def test_a_future_checked_at_is_refused_on_the_command_line(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    seed(engine)
    where = ("--db", cli_url(engine), "--org", ORG)
    future = vigil("import", str(LEIE), "--format", "leie", "--checked-at", "2027-11-30T09:00:00Z", *where)
    assert future.exit_code == 2, future.output
    said = " ".join(future.stderr.split())
    assert "--checked-at is in the future" in said
    assert "field --checked-at: 2027-11-30T09:00:00Z is later than now (2026-03-15T12:00:00Z)" in said
    a_second_late = vigil("import", str(LEIE), "--format", "leie", "--checked-at", "2026-03-15T04:00:01-08:00",
                          *where)
    assert a_second_late.exit_code == 2 and screenings(engine) == 0
    now = vigil("import", str(LEIE), "--format", "leie", "--checked-at", "2026-03-15T04:00:00-08:00", *where, "--json")
    assert now.exit_code == 0, now.output
    assert json.loads(now.stdout)["counts"]["screening"]["created"] == 1, "now itself is not in the future"


def test_the_service_names_the_option_its_caller_uses(engine: Engine) -> None:
    seed(engine)
    future = NOW + dt.timedelta(minutes=1)
    with clock.frozen(NOW), db.unit_of_work(engine) as session, pytest.raises(InputError) as info:
        leie_screen.screen_files(session, org_id=ORG, paths=[LEIE], actor="t", checked_at=future,
                                 checked_at_name="checked_at")
    assert (info.value.code, [d.field for d in info.value.details]) == ("input.instant", ["checked_at"])
    assert screenings(engine) == 0


def test_a_future_checked_at_is_a_422_over_rest(engine: Engine) -> None:
    seed(engine)
    client, bearer = bearer_client(engine, org_id=ORG)
    upload = {"file": ("UPDATED.csv", LEIE.read_bytes(), "text/csv")}
    with clock.frozen(NOW):
        future = client.post("/records/import", headers=bearer,
                             params={"format": "leie", "checked_at": "2027-11-30T09:00:00Z"}, files=upload)
        past = client.post("/records/import", headers=bearer,
                           params={"format": "leie", "checked_at": "2026-03-02T09:00:00-08:00"}, files=upload)
    assert future.status_code == 422 and future.json()["code"] == "input.instant"
    assert [e["field"] for e in future.json()["errors"]] == ["checked_at"]
    assert "later than now" in future.json()["errors"][0]["reason"]
    assert past.status_code == 200 and past.json()["counts"]["screening"]["created"] == 1
    assert screenings(engine) == 1
    with db.unit_of_work(engine) as session:  # kept with the offset it was sent with, as any stored instant
        (stored,) = service.iter_records(session, org_id=ORG, types=["screening"])
    assert (stored.id, stored.data["checked_at"]) == ("LEIE-20260302T170000Z-P-1", "2026-03-02T09:00:00-08:00")
    with clock.frozen(NOW):
        in_utc = client.post("/records/import", headers=bearer,
                             params={"format": "leie", "checked_at": "2026-03-02T17:00:00Z"}, files=upload)
    assert in_utc.json()["counts"]["screening"] == {"created": 0, "updated": 0, "unchanged": 1}


def test_an_upload_of_unknown_format_is_told_of_the_format_parameter(engine: Engine, tmp_path: Path) -> None:
    client, bearer = bearer_client(engine, org_id=ORG)
    r = client.post("/records/import", headers=bearer, files={"file": ("people.txt", b"[]", "text/plain")})
    assert r.status_code == 422 and r.json()["code"] == "input.format"
    (error,) = r.json()["errors"]
    assert error["file"] == "people.txt"
    assert "give the format query parameter (format=json, ndjson or csv" in error["reason"]
    assert "--format" not in r.text
    path = tmp_path / "people.txt"  # the command line keeps its own word for it
    path.write_text("[]", encoding="utf-8")
    result = vigil("import", str(path), "--db", cli_url(engine), "--org", ORG)
    assert result.exit_code == 2 and "or pass --format" in " ".join(result.stderr.split())


def test_a_supplement_upload_is_read_as_one_and_says_so(engine: Engine) -> None:
    """The upload keeps its name, so 2603REIN.csv is a supplement over REST too; `leie_supplement`
    says so of a file under another name, and is refused beside another format."""
    seed(engine)
    client, bearer = bearer_client(engine, org_id=ORG)
    listed = LEIE.read_bytes()
    with clock.frozen(NOW):
        named = client.post("/records/import", headers=bearer,
                            params={"format": "leie", "checked_at": "2026-03-02T09:00:00-08:00"},
                            files={"file": ("2603EXCL.csv", listed, "text/csv")})
        renamed = client.post("/records/import", headers=bearer,
                              params={"format": "leie", "checked_at": "2026-03-03T09:00:00-08:00",
                                      "leie_supplement": "true"},
                              files={"file": ("march.csv", listed, "text/csv")})
        refused = client.post("/records/import", headers=bearer, params={"leie_supplement": "true"},
                              files={"file": ("people.json", b"[]", "application/json")})
    for answer in (named, renamed):
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["leie_supplement"], body["unscreened"], body["screened"]["excluded"]) == (True, 0, 1)
        assert body["warnings"] == ["read as OIG's monthly supplement, which lists only the month's changes: "
                                    "0 people were left unscreened (their latest screening stands)"]
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == ["leie_supplement"]


def test_an_unknown_exclusion_type_in_an_upload_is_a_warning_naming_the_file_as_sent(engine: Engine) -> None:
    seed(engine)
    client, bearer = bearer_client(engine, org_id=ORG)
    listed = LEIE.read_bytes().replace(b'"1128b4"', b'"9999zz"')
    with clock.frozen(NOW):
        answer = client.post("/records/import", headers=bearer,
                             params={"format": "leie", "checked_at": "2026-03-02T09:00:00-08:00"},
                             files={"file": ("UPDATED.csv", listed, "text/csv")})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(w["file"], w["line"], w["field"]) for w in body["row_warnings"]] == [("UPDATED.csv", 2, "EXCLTYPE")]
    assert [w for w in body["warnings"] if "9999zz" in w] == [
        "UPDATED.csv:2: EXCLTYPE '9999zz' is no exclusion authority OIG's layout lists (1128a1-a4, 1128b1-b16, "
        "1128Aa, 1128c3gi, 1128c3gii, 1156, BRCH CIA or BRCH SA): review the row against OIG's record layout; it "
        "was matched as any other"]
    assert body["screened"]["excluded"] == 1
