"""The signing key: created once with mode 0600 outside the database; signatures that OpenSSL accepts."""

from __future__ import annotations

import hashlib
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from engine.errors import InputError
from engine.packets.build import build_packet
from engine.packets.schemas import PacketInput
from engine.packets.sign import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    SigningKeyError,
    load_or_create_signer,
    load_public_key,
    resolve_key_dir,
)


def test_key_is_created_on_first_use_with_private_mode(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    signer = load_or_create_signer(key_dir)
    assert (key_dir / PRIVATE_KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert key_dir.stat().st_mode & 0o777 == 0o700
    assert (key_dir / PUBLIC_KEY_FILE).read_bytes() == signer.public_key_pem()
    assert load_or_create_signer(key_dir).fingerprint() == signer.fingerprint()


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_or_create_signer(tmp_path)
    os.chmod(tmp_path / PRIVATE_KEY_FILE, 0o644)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_or_create_signer(tmp_path)


def test_key_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_KEY_DIR", str(tmp_path / "env-keys"))
    assert resolve_key_dir() == tmp_path / "env-keys"
    monkeypatch.delenv("VIGIL_KEY_DIR")
    monkeypatch.setenv("VIGIL_VAR_DIR", str(tmp_path / "var"))
    assert resolve_key_dir() == tmp_path / "var" / "keys"  # the deployment's var/, not the current directory's


def test_not_a_key_is_an_input_error() -> None:
    with pytest.raises(InputError):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")


def test_derived_keys_differ_by_label_and_never_equal_the_key(tmp_path: Path) -> None:
    signer = load_or_create_signer(tmp_path)
    assert signer.derive_key(b"a") != signer.derive_key(b"b")
    assert signer.derive_key(b"a") == load_or_create_signer(tmp_path).derive_key(b"a")


def test_openssl_verifies_the_packet_signature_and_fingerprint(packet_input: PacketInput, tmp_path: Path) -> None:
    signer = load_or_create_signer(tmp_path / "keys")
    report = build_packet(packet_input, tmp_path / "p.zip", signer=signer)
    with zipfile.ZipFile(report.path) as zf:
        zf.extractall(tmp_path / "x")
    x = tmp_path / "x"
    tagmanifest = x / report.packet_id / "tagmanifest-sha256.txt"

    def openssl_verify(signed: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "signature/signer.pub.pem", "-rawin",
             "-in", str(signed), "-sigfile", "signature/tagmanifest-sha256.txt.sig"],
            cwd=x, capture_output=True, text=True, check=False,
        )  # fmt: skip

    ok = openssl_verify(tagmanifest)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout
    forged = tmp_path / "forged.txt"
    forged.write_bytes(tagmanifest.read_bytes().replace(b"bag-info.txt", b"bag-info.txx"))
    assert openssl_verify(forged).returncode != 0
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", "signature/signer.pub.pem", "-outform", "DER"],
        cwd=x, capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert "sha256:" + hashlib.sha256(der[-32:]).hexdigest() == report.fingerprint
    assert report.fingerprint in (x / report.packet_id / "data/index.html").read_text()
