"""The packet signing key: Ed25519, generated on first use, kept outside the database.

Why outside: whoever can write the database must not also be able to forge packets. The
private key lives in a key directory (`--key-dir`, else VIGIL_KEY_DIR, else the deployment's
var/keys) as an unencrypted PKCS#8 PEM with mode 0600; a key file readable by others is refused, as ssh does.
The public key (SPKI PEM) sits beside it and in every packet; its fingerprint (sha256 of the
32 raw public-key bytes) is printed in the packet index so an auditor can compare it with the
one the practice published.

A missing key is made silently only while no packet was signed yet: once packets exist, the key
that signed them is the one auditors hold, and a fresh key would sign new packets they cannot
place. Then the caller passes `signed_before` and a missing key is refused (restore the folder).
Replacing the key is deliberate: `rotate` makes a new one and keeps the old public key under
retired/, so packets signed before still verify against a key of the practice.
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
#: earlier public keys, one `<fingerprint hex>.pub.pem` each, kept by `rotate`
RETIRED_DIR = "retired"
#: in RETIRED_DIR: every fingerprint rotated away from, one a line (also those whose key file was lost)
RETIRED_LIST = "fingerprints.txt"


class SigningKeyError(VigilError):
    """The key directory or key file is unusable (wrong mode, not Ed25519, unreadable)."""

    code = "packet.signing_key"


class MissingSigningKeyError(SigningKeyError):
    """Packets were signed before, and the key that signed them is not in the key directory."""

    code = "packet.signing_key.missing"


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

    def __init__(self, private_key: Ed25519PrivateKey, *, created: bool = False) -> None:
        self._key = private_key
        #: made by this load (the first use): the builder says so, as the public key is now new
        self.created = created

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


def load_or_create_signer(key_dir: Path | str | None = None, *, signed_before: str | None = None) -> Ed25519Signer:
    """Load the packet signing key, creating it (0600, exclusively) if this is the first use.

    `signed_before`: the fingerprint earlier packets were signed with, if any. With it a missing
    key is refused rather than replaced, as a silent new key leaves auditors with packets signed
    by a key nobody told them of (a restore without the key folder, a wrong VIGIL_KEY_DIR).
    """
    directory = resolve_key_dir(key_dir)
    private_path = directory / PRIVATE_KEY_FILE
    created = False
    try:
        if signed_before is not None and not private_path.exists():
            raise missing_key(private_path, signed_before)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not private_path.exists():
            created = _create(private_path)
        signer = Ed25519Signer(_load_private(private_path), created=created)
        _write_public(directory, signer.public_key_pem())
    except OSError as exc:
        raise SigningKeyError(f"key directory {directory}: {exc.strerror or exc}") from None
    return signer


def missing_key(private_path: Path, signed_before: str) -> MissingSigningKeyError:
    return MissingSigningKeyError(
        f"no packet signing key at {private_path} (the folder VIGIL_KEY_DIR names, else var/keys), yet packets "
        f"were signed with the key {signed_before}: a new key would sign packets the auditors holding that "
        "key's fingerprint cannot place. Restore the key folder from the backup (or set VIGIL_KEY_DIR to where "
        "it is); to replace the key on purpose, run `vigil packet rotate-key --yes`",
        code="packet.signing_key.missing",
    )


def _write_public(directory: Path, pem: bytes) -> None:
    public_path = directory / PUBLIC_KEY_FILE
    if not public_path.exists() or public_path.read_bytes() != pem:
        public_path.write_bytes(pem)


def retired_public_keys(key_dir: Path | str | None = None) -> list[bytes]:
    """The public keys `rotate` set aside (PEM), oldest name first; none if there is no such folder."""
    folder = resolve_key_dir(key_dir) / RETIRED_DIR
    try:
        return [p.read_bytes() for p in sorted(folder.glob("*.pub.pem"))]
    except OSError as exc:
        raise SigningKeyError(f"key directory {folder}: {exc.strerror or exc}") from None


def retired_fingerprints(key_dir: Path | str | None = None) -> list[str]:
    """Every fingerprint rotated away from, sorted: of the kept public keys and of the list `rotate` keeps."""
    folder = resolve_key_dir(key_dir) / RETIRED_DIR
    found = {fingerprint(load_public_key(pem, source=RETIRED_DIR)) for pem in retired_public_keys(key_dir)}
    try:
        listed = (folder / RETIRED_LIST).read_text().split() if (folder / RETIRED_LIST).is_file() else []
    except OSError as exc:
        raise SigningKeyError(f"key directory {folder}: {exc.strerror or exc}") from None
    return sorted(found | set(listed))


def rotate(key_dir: Path | str | None = None, *, new_key: Ed25519PrivateKey | None = None,
           previous: str | None = None) -> tuple[str | None, Ed25519Signer]:
    """Replace the signing key on purpose (with `new_key`, else a fresh one); returns the old key's
    fingerprint (None if there was none) and the new signer.

    The old public key is kept under retired/ so packets it signed still verify as the practice's;
    the old private key is removed, so nothing signs with it again (the backup still holds it).
    The new key is written beside the old and renamed over it, so a failure leaves one or the other.
    """
    directory = resolve_key_dir(key_dir)
    private_path = directory / PRIVATE_KEY_FILE
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        old: Ed25519Signer | None = None
        retired = directory / RETIRED_DIR
        if private_path.exists():
            old = Ed25519Signer(_load_private(private_path))
            retired.mkdir(mode=0o700, exist_ok=True)
            name = old.fingerprint().removeprefix("sha256:") + ".pub.pem"
            (retired / name).write_bytes(old.public_key_pem())
        # `previous` (the latest packet's key) too, if it is not the file's: a lost or other folder's
        # key, whose packets are the practice's, not a stranger's
        earlier = sorted({f for f in (old.fingerprint() if old else None, previous) if f})
        if earlier:
            retired.mkdir(mode=0o700, exist_ok=True)
            with (retired / RETIRED_LIST).open("a") as fh:
                fh.write("".join(f + "\n" for f in earlier))
        pending = directory / (PRIVATE_KEY_FILE + ".new")
        pending.unlink(missing_ok=True)
        _create(pending, new_key)
        signer = Ed25519Signer(_load_private(pending), created=True)
        os.replace(pending, private_path)
        _write_public(directory, signer.public_key_pem())
    except OSError as exc:
        raise SigningKeyError(f"key directory {directory}: {exc.strerror or exc}") from None
    return (old.fingerprint() if old else None), signer


def _create(private_path: Path, key: Ed25519PrivateKey | None = None) -> bool:
    pem = (key or Ed25519PrivateKey.generate()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return False
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return True


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
