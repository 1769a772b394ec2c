"""`vigil packet key` and `vigil packet build --input` make a missing key only if the database
holds no packet signed before; otherwise they refuse as a build from the database does."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine
from typer.testing import CliRunner

from engine import clock, db
from engine.auth import service as auth
from engine.auth.schemas import UserIn
from engine.cli.main import app
from engine.packets import service as packet_service
from engine.packets.collect import collect_input
from tests.db_urls import cli_url
from tests.storage.test_packet_collect import FakeSources, at, trail

PRIVATE_KEY = "packet-signing.key"


@pytest.fixture(autouse=True)
def _no_database_around(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No DATABASE_URL and no ./vigil.db but what a test puts there: a developer's own must not decide."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)



def signed_packet(engine: Engine, keys: Path, tmp_path: Path) -> Path:
    """A packet signed with the key in `keys` and recorded in the database; returns its serialized input."""
    trail(engine)
    with db.unit_of_work(engine) as s:  # a user, so that `--org org-1` names an organization of the database
        auth.create_user(s, org_id="org-1", actor="test",
                         data=UserIn(username="officer", password="officer-password", role="officer"))
    with clock.frozen(at(4, 20)), db.unit_of_work(engine) as s:
        signer = packet_service.practice_signer(s, keys)
        packet_service.build(s, org_id="org-1", framework="hipaa", date_from=dt.date(2026, 1, 1),
                             date_to=dt.date(2026, 3, 31), as_of=at(4, 2), signer=signer, actor="user:po",
                             sources=FakeSources(), out=tmp_path / "a.zip")
    return serialized_input(engine, tmp_path)


def serialized_input(engine: Engine, tmp_path: Path) -> Path:
    with db.unit_of_work(engine) as s:
        inp = collect_input(s, org_id="org-1", framework="hipaa", date_from=dt.date(2026, 1, 1),
                            date_to=dt.date(2026, 3, 31), as_of=at(4, 2), sources=FakeSources())
    source = tmp_path / "input.json"
    source.write_text(inp.model_dump_json())
    return source


def vigil(*args: str, env: dict[str, str] | None = None) -> Result:
    with clock.frozen(at(4, 21)):
        return CliRunner().invoke(app, list(args), env=env)


def database_build(url: str, keys: Path, tmp_path: Path) -> Result:
    return vigil("packet", "build", "--framework", "hipaa", "--from", "2026-01-01", "--to", "2026-03-31",
                 "--org", "org-1", "--db", url, "--out", str(tmp_path / "db.zip"), "--key-dir", str(keys))


def test_a_lost_key_is_refused_by_key_and_offline_build_as_by_a_database_build(engine: Engine,
                                                                               tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    source = signed_packet(engine, keys, tmp_path)
    url = cli_url(engine)
    shutil.rmtree(keys)  # a restore without the key folder
    refused = database_build(url, keys, tmp_path)
    assert refused.exit_code != 0 and "packet.signing_key.missing" in refused.stderr, refused.output
    offline = ("packet", "build", "--input", str(source), "--out", str(tmp_path / "b.zip"), "--key-dir", str(keys))
    made = []
    for args, env in [
        (("packet", "key", "--db", url, "--key-dir", str(keys)), None),
        (("packet", "key", "--key-dir", str(keys)), {"DATABASE_URL": url}),
        ((*offline, "--db", url), None),
        (offline, {"DATABASE_URL": url}),
    ]:
        result = vigil(*args, env=env)
        made.append((args[:3], result.exit_code, result.stderr, result.stdout, (keys / PRIVATE_KEY).exists()))
        shutil.rmtree(keys, ignore_errors=True)  # each case starts without the key
    assert made == [(args, refused.exit_code, refused.stderr, "", False) for args, *_ in made]
    assert not (tmp_path / "b.zip").exists()
    as_json = vigil("packet", "key", "--key-dir", str(keys), "--json", env={"DATABASE_URL": url})  # the same, as JSON
    assert as_json.exit_code == refused.exit_code and as_json.stdout == "" and not (keys / PRIVATE_KEY).exists()
    assert json.loads(as_json.stderr)["error"]["code"] == "packet.signing_key.missing"


def test_a_database_without_packets_lets_the_first_key_be_made(engine: Engine, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    made = vigil("packet", "key", "--db", cli_url(engine), "--key-dir", str(keys), "--json")
    assert made.exit_code == 0, made.output
    assert (keys / PRIVATE_KEY).is_file()
    source = serialized_input(engine, tmp_path)
    other = tmp_path / "other-keys"
    built = vigil("packet", "build", "--input", str(source), "--out", str(tmp_path / "b.zip"), "--key-dir",
                  str(other), env={"DATABASE_URL": cli_url(engine)})
    assert built.exit_code == 0, built.output
    assert (other / PRIVATE_KEY).is_file() and "a new packet signing key was made" in built.output


def test_the_vigil_db_of_the_current_directory_is_asked_too(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'vigil.db'}")  # the default database, in the cwd
    db.init_db(engine)
    keys = tmp_path / "keys"
    signed_packet(engine, keys, tmp_path)
    engine.dispose()
    shutil.rmtree(keys)
    result = vigil("packet", "key", "--key-dir", str(keys))
    assert result.exit_code != 0 and "packet.signing_key.missing" in result.stderr, result.output
    assert not (keys / PRIVATE_KEY).exists()


def test_a_key_that_is_there_needs_no_database(sqlite_engine: Engine, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    signed_packet(sqlite_engine, keys, tmp_path)
    shown = vigil("packet", "key", "--key-dir", str(keys), env={"DATABASE_URL": f"sqlite:///{tmp_path / 'gone.db'}"})
    assert shown.exit_code == 0, shown.output
    assert "fingerprint: sha256:" in shown.stdout


def test_the_first_packet_a_key_signs_says_so_though_a_refused_build_made_the_key(engine: Engine,
                                                                                   tmp_path: Path) -> None:
    """A PostgreSQL parity pass (session 42): a build refused for an as-of later than now had made the
    key, and the next build, which used it, never said a new key was made and must be backed up."""
    from engine.records import service as records_service

    trail(engine)
    with clock.frozen(at(4, 1)), db.unit_of_work(engine) as s:
        auth.create_user(s, org_id="org-1", actor="test",
                         data=UserIn(username="officer", password="officer-password", role="officer"))
        records_service.import_records(s, org_id="org-1", actor="test", source="test", records=[
            {"type": "person", "id": "P-1", "first_name": "Ann", "last_name": "Lee"}])
    keys = tmp_path / "keys"
    later = vigil("packet", "build", "--framework", "hipaa", "--from", "2026-01-01", "--to", "2026-03-31",
                  "--as-of", "2027-01-01T00:00:00Z", "--org", "org-1", "--db", cli_url(engine), "--out",
                  str(tmp_path / "x.zip"), "--key-dir", str(keys))
    assert later.exit_code == 2 and "later than now" in later.output, later.output
    built = database_build(cli_url(engine), keys, tmp_path)
    assert built.exit_code == 0 and "a new packet signing key was made" in built.output, built.output
    again = database_build(cli_url(engine), keys, tmp_path)
    assert again.exit_code == 0 and "a new packet signing key was made" not in again.output, again.output
