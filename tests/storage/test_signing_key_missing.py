"""A missing or unexpected signing key is refused once packets were signed; `rotate-key` replaces it on purpose."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from engine import clock, db
from engine.audit import service as audit
from engine.cli.main import app
from engine.packets import service as packet_service
from engine.packets.sign import MissingSigningKeyError, SigningKeyError, load_or_create_signer
from tests.storage.test_packet_collect import FakeSources, at, trail


def _build(engine: Engine, keys: Path, out: Path, day: int) -> str:
    with clock.frozen(at(4, day)), db.unit_of_work(engine) as s:
        signer = packet_service.practice_signer(s, keys)
        report = packet_service.build(s, org_id="org-1", framework="hipaa", date_from=dt.date(2026, 1, 1),
                                      date_to=dt.date(2026, 3, 31), as_of=at(4, 2), signer=signer, actor="user:po",
                                      sources=FakeSources(), out=out)
    return report.fingerprint


def test_the_first_key_is_made_and_said(engine: Engine, tmp_path: Path) -> None:
    with db.unit_of_work(engine) as s:
        signer = packet_service.practice_signer(s, tmp_path / "keys")
    assert signer.created and (tmp_path / "keys" / "packet-signing.key").is_file()
    with db.unit_of_work(engine) as s:
        assert not packet_service.practice_signer(s, tmp_path / "keys").created


def test_a_lost_key_is_refused_naming_the_folder_and_the_earlier_fingerprint(engine: Engine, tmp_path: Path) -> None:
    trail(engine)
    keys = tmp_path / "keys"
    first = _build(engine, keys, tmp_path / "a.zip", 20)
    shutil.rmtree(keys)  # a restore without the key folder
    with pytest.raises(MissingSigningKeyError) as err, db.unit_of_work(engine) as s:
        packet_service.practice_signer(s, keys)
    message = err.value.message
    assert "VIGIL_KEY_DIR" in message and str(keys / "packet-signing.key") in message and first in message
    assert "rotate-key --yes" in message and "Restore the key folder" in message
    assert not keys.exists()  # nothing was made in its place


def test_another_key_than_the_one_that_signed_is_refused(engine: Engine, tmp_path: Path) -> None:
    trail(engine)
    first = _build(engine, tmp_path / "keys", tmp_path / "a.zip", 20)
    stranger = load_or_create_signer(tmp_path / "other").fingerprint()  # a wrong VIGIL_KEY_DIR
    with pytest.raises(SigningKeyError) as err, db.unit_of_work(engine) as s:
        packet_service.practice_signer(s, tmp_path / "other")
    assert err.value.code == "packet.signing_key.unexpected"
    assert first in err.value.message and stranger in err.value.message and "VIGIL_KEY_DIR" in err.value.message


def test_rotation_records_itself_and_old_packets_still_verify(engine: Engine, tmp_path: Path) -> None:
    trail(engine)
    keys = tmp_path / "keys"
    first = _build(engine, keys, tmp_path / "a.zip", 20)
    with clock.frozen(at(4, 21)), db.unit_of_work(engine) as s:
        done = packet_service.rotate_signing_key(s, actor="user:admin", key_dir=keys)
    assert done.old_fingerprint == first and done.old_key_kept and done.new_fingerprint != first
    second = _build(engine, keys, tmp_path / "b.zip", 22)
    assert second == done.new_fingerprint
    with db.unit_of_work(engine) as s:
        old = packet_service.verify_as_practice(s, tmp_path / "a.zip", keys)
        new = packet_service.verify_as_practice(s, tmp_path / "b.zip", keys)
        entries = [e for e in audit.list_entries(s, org_id="org-1", limit=10) if e.action == "packet.key_rotated"]
        assert audit.verify(s).ok
    assert old.ok and old.fingerprint == first and new.ok and new.fingerprint == second
    assert [(e.actor, e.entity_id, e.payload["old_fingerprint"]) for e in entries] == [
        ("user:admin", done.new_fingerprint, first)]


def test_rotation_after_a_lost_key_lets_building_go_on(engine: Engine, tmp_path: Path) -> None:
    trail(engine)
    keys = tmp_path / "keys"
    first = _build(engine, keys, tmp_path / "a.zip", 20)
    shutil.rmtree(keys)
    with clock.frozen(at(4, 21)), db.unit_of_work(engine) as s:
        done = packet_service.rotate_signing_key(s, actor="user:admin", key_dir=keys)
    assert done.old_fingerprint == first and not done.old_key_kept
    assert _build(engine, keys, tmp_path / "b.zip", 22) == done.new_fingerprint


def test_rotate_key_needs_yes_and_then_says_the_new_fingerprint(sqlite_engine: Engine, tmp_path: Path,
                                                               monkeypatch: Any) -> None:
    url = str(sqlite_engine.url)
    keys = tmp_path / "keys"
    old = load_or_create_signer(keys).fingerprint()
    runner = CliRunner()
    refused = runner.invoke(app, ["packet", "rotate-key", "--key-dir", str(keys), "--db", url])
    assert refused.exit_code == 2 and "--yes" in refused.output
    assert load_or_create_signer(keys).fingerprint() == old
    done = runner.invoke(app, ["packet", "rotate-key", "--yes", "--key-dir", str(keys), "--db", url])
    assert done.exit_code == 0, done.output
    new = load_or_create_signer(keys).fingerprint()
    assert new != old and new in done.output and old in done.output
    assert (keys / "retired" / (old.removeprefix("sha256:") + ".pub.pem")).is_file()
