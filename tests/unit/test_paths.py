"""A deployment's files are in one place whatever the current directory (the docs probe: an
attachment made from another folder was stored in that folder's var/evidence, and every packet
build run from elsewhere then failed on it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import paths
from engine.errors import NotFoundError
from engine.packets import service as packets_service
from engine.packets.sign import resolve_key_dir
from engine.tasks import evidence


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("VIGIL_VAR_DIR", "VIGIL_EVIDENCE_DIR", "VIGIL_PACKET_DIR", "VIGIL_KEY_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_defaults_are_the_installations_var_not_the_current_directory(elsewhere: Path) -> None:
    var = paths.INSTALL / "var"
    assert evidence.evidence_dir() == var / "evidence"
    assert packets_service.packet_dir() == (var / "packets").resolve()
    assert resolve_key_dir() == (var / "keys").resolve()
    assert not str(evidence.evidence_dir()).startswith(str(elsewhere))


def test_vigil_var_dir_moves_them_all_and_each_variable_one(elsewhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_VAR_DIR", str(elsewhere / "state"))
    monkeypatch.setenv("VIGIL_PACKET_DIR", str(elsewhere / "issued"))
    assert evidence.evidence_dir() == elsewhere / "state" / "evidence"
    assert resolve_key_dir() == (elsewhere / "state" / "keys").resolve()
    assert packets_service.packet_dir() == (elsewhere / "issued").resolve()


def test_missing_evidence_names_the_store_it_looked_in(elsewhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(elsewhere / "ev"))
    with pytest.raises(NotFoundError) as caught:
        evidence.open_blob("a" * 64)
    assert str(elsewhere / "ev") in caught.value.details[0].reason
