"""The evidence store: files kept by content (SHA-256), written once, never overwritten or deleted.

    <root>/sha256/ab/cd/abcdef...   read-only (0444); the same bytes attached twice are stored once

`root` is VIGIL_EVIDENCE_DIR (default: the deployment's var/evidence, `engine.paths`). A file is
streamed into a temporary file in the store while it is hashed and counted (so an upload over the
limit is refused without being held in memory), sniffed from its first bytes, then moved into
place with an atomic rename; if the path already exists its bytes are the same by construction,
and the existing file is kept.
`open_blob` re-checks nothing but existence: the packet builder re-hashes what it reads.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from engine import paths
from engine.errors import ErrorDetail, NotFoundError
from engine.tasks import sniff
from engine.tasks.errors import EvidenceEmpty, EvidenceTooLarge, EvidenceTypeRefused

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
CHUNK = 1024 * 1024
_HEX = re.compile(r"^[0-9a-f]{64}$")


def evidence_dir(override: Path | str | None = None) -> Path:
    return Path(override) if override is not None else paths.under_var("VIGIL_EVIDENCE_DIR", "evidence")


def max_bytes() -> int:
    value = os.environ.get("VIGIL_EVIDENCE_MAX_BYTES")
    return int(value) if value and value.isdigit() else DEFAULT_MAX_BYTES


def size_text(size: int) -> str:
    """A file's size as a person reads it: "25 MB", "27.3 MB", "512 KB", "900 bytes" (MB = 1,048,576 bytes)."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} byte{'' if size == 1 else 's'}"


def whole_size(stream: BinaryIO) -> int | None:
    """How big the whole upload is, when the stream can tell without being read (an upload spooled
    to disk, an open file); None for a pipe. Only for the refusal's words: reading stops at the limit."""
    try:
        return stream.seek(0, os.SEEK_END) if stream.seekable() else None
    except (OSError, ValueError):
        return None


def too_large(limit: int, size: int | None) -> EvidenceTooLarge:
    """The refusal of a file over the limit, for every face (web, API, CLI), in the units a person
    uses and saying what to do. It had said "the attachment is over the size limit (more than
    26214400 bytes)" to front-desk staff holding a 27 MB scan. A size that rounds to the limit's
    figure is given in bytes: "at most 25 MB ... it is 25 MB" read as a refusal of an allowed file."""
    how_big = f"it is over {size_text(limit)}"
    if size is not None and size > limit:
        how_big = f"it is {size_text(size)}"
        if size_text(size) == size_text(limit):
            over = size - limit
            how_big = f"it is {size:,} bytes, {over:,} byte{'' if over == 1 else 's'} over the limit of {limit:,}"
    return EvidenceTooLarge(f"the file is too large to keep as evidence: at most {size_text(limit)}", [ErrorDetail(
        reason=f"{how_big}; make it smaller (save or scan it at a lower resolution, compress the PDF) or split it "
               f"into parts of at most {size_text(limit)} each", field="file")])


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    media_type: str
    path: Path
    created: bool  # False when identical bytes were already stored


def blob_path(sha256: str, root: Path | str | None = None) -> Path:
    if not _HEX.match(sha256):
        raise NotFoundError(f"not a sha256: {sha256!r}", [ErrorDetail(reason="expected 64 hex digits", field="sha256")])
    return evidence_dir(root) / "sha256" / sha256[:2] / sha256[2:4] / sha256


def put(stream: BinaryIO, *, root: Path | str | None = None, limit: int | None = None) -> StoredBlob:
    """Store the bytes of `stream`; refuse an empty file, more than `limit` bytes and executable content."""
    limit = max_bytes() if limit is None else limit
    base = evidence_dir(root)
    incoming = base / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp_name = tempfile.mkstemp(dir=incoming, prefix="upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise too_large(limit, whole_size(stream))
                if len(head) < sniff.HEAD_BYTES:
                    head += chunk[: sniff.HEAD_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise EvidenceEmpty("the file is empty: an attachment of no bytes is evidence of nothing",
                                [ErrorDetail(reason="0 bytes", field="file")])
        whole = tmp.read_bytes() if head[:4] == b"PK\x03\x04" else None
        media_type = sniff.sniff(head, whole)
        if media_type in sniff.EXECUTABLE_TYPES:
            raise EvidenceTypeRefused("executable content is not kept as evidence",  # the detail names the type
                                      [ErrorDetail(reason=f"the file's content is {media_type}, whatever its name "
                                                          "says", field="file")])
        if media_type == sniff.OCTET:  # binary of no known kind: the upload form promises documents
            raise EvidenceTypeRefused("the file is not a kind kept as evidence", [ErrorDetail(
                reason="its content is binary of no known kind; attach a PDF, an image, text, an office document, "
                       "a ZIP, audio or video", field="file")])
        sha = digest.hexdigest()
        final = blob_path(sha, base)
        if final.exists():
            return StoredBlob(sha, size, media_type, final, created=False)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)
        try:
            os.link(tmp, final)  # fails if another writer got there first: never overwrite
        except FileExistsError:
            return StoredBlob(sha, size, media_type, final, created=False)
        return StoredBlob(sha, size, media_type, final, created=True)
    finally:
        tmp.unlink(missing_ok=True)


def open_blob(sha256: str, *, root: Path | str | None = None) -> BinaryIO:
    """Open stored evidence for reading by its sha256 (the packet builder's opener)."""
    path = blob_path(sha256, root)
    if not path.exists():
        raise NotFoundError(f"no evidence with sha256 {sha256}", [ErrorDetail(
            reason=f"not in the evidence store {path.parents[2]} (VIGIL_EVIDENCE_DIR): was it attached with "
                   "another VIGIL_EVIDENCE_DIR or VIGIL_VAR_DIR?", field="sha256")])
    return path.open("rb")
