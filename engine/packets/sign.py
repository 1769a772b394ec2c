"""The packet signing key: Ed25519, generated on first use, kept outside the database.

Why outside: whoever can write the database must not also be able to forge packets. The
private key lives in a key directory (`--key-dir`, else VIGIL_KEY_DIR, else the deployment's
var/keys) as an unencrypted PKCS#8 PEM with mode 0600; a key file readable by others is refused, as ssh does.
The public key (SPKI PEM) sits beside it and in every packet; its fingerprint (sha256 of the
32 raw public-key bytes) is printed in the packet index so an auditor can compare it with the
one the practice published.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine import paths
from engine.errors import InputError, VigilError

PRIVATE_KEY_FILE = "packet-signing.key"
PUBLIC_KEY_FILE = "packet-signing.pub.pem"


class SigningKeyError(VigilError):
    """The key directory or key file is unusable (wrong mode, not Ed25519, unreadable)."""

    code = "packet.signing_key"


class Signer(Protocol):
    """What the builder needs from a key; tests may pass a fake."""

    def sign(self, data: bytes) -> bytes: ...

    def public_key_pem(self) -> bytes: ...

    def fingerprint(self) -> str: ...

    def derive_key(self, label: bytes) -> bytes: ...


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """`sha256:<hex>` over the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class Ed25519Signer:
    """A loaded private key. Ed25519 signatures are deterministic, which keeps packets byte-identical."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def public_key_pem(self) -> bytes:
        return public_pem(self._key.public_key())

    def fingerprint(self) -> str:
        return fingerprint(self._key.public_key())

    def derive_key(self, label: bytes) -> bytes:
        """A secret for one purpose (e.g. one packet's PHI pseudonyms) that never exposes the key."""
        raw = self._key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return hmac.new(raw, b"vigil-derive-v1|" + label, hashlib.sha256).digest()


def resolve_key_dir(key_dir: Path | str | None = None) -> Path:
    """The key directory as an absolute path: argument, then VIGIL_KEY_DIR, then the deployment's var/keys."""
    chosen = Path(key_dir) if key_dir else paths.under_var("VIGIL_KEY_DIR", "keys")
    return chosen.expanduser().resolve()


def load_or_create_signer(key_dir: Path | str | None = None) -> Ed25519Signer:
    """Load the packet signing key, creating it (0600, exclusively) if this is the first use."""
    directory = resolve_key_dir(key_dir)
    private_path = directory / PRIVATE_KEY_FILE
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not private_path.exists():
            _create(private_path)
        signer = Ed25519Signer(_load_private(private_path))
        public_path = directory / PUBLIC_KEY_FILE
        pem = signer.public_key_pem()
        if not public_path.exists() or public_path.read_bytes() != pem:
            public_path.write_bytes(pem)
    except OSError as exc:
        raise SigningKeyError(f"key directory {directory}: {exc.strerror or exc}") from None
    return signer


def _create(private_path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def _load_private(private_path: Path) -> Ed25519PrivateKey:
    mode = private_path.stat().st_mode & 0o777
    if mode & 0o077:
        raise SigningKeyError(
            f"{private_path} is readable by others (mode {mode:o}); run chmod 600 on it",
            code="packet.signing_key.mode",
        )
    try:
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{private_path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{private_path}: not an Ed25519 key")
    return key


def load_public_key(pem: bytes, *, source: str = "public key") -> Ed25519PublicKey:
    """Parse an SPKI PEM Ed25519 public key (as printed by `vigil packet key`)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise InputError(f"{source}: not a PEM public key", code="packet.public_key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{source}: not an Ed25519 public key", code="packet.public_key")
    return key


def signature_valid(public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
