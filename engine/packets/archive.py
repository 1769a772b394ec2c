"""Deterministic zip writing and safe extraction for packets.

Same tree in, same bytes out: entries sorted by path, every timestamp set to the packet's as-of
instant, fixed permissions (0644 files, Unix host), no directory entries, and one compression
rule per file suffix. Files are copied in 1 MiB chunks, so a 1 GB evidence file never sits in
memory. Extraction refuses absolute paths, `..` and symbolic links (a packet comes from
outside and is opened by an auditor).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from engine.errors import ErrorDetail, InputError

CHUNK = 1 << 20
#: A packet unpacks to at most this many times the archive's size, plus the floor: evidence is
#: stored, text deflates ~5-20x, and a "zip bomb" (2 MB of zeros holding 2 GiB) must not fill the
#: disk of whoever checks it, least of all the server, where a read-only auditor may upload one.
MAX_EXPANSION = 100
EXPANSION_FLOOR = 32 << 20
# Text compresses well; evidence is mostly scans, images and PDFs that are compressed already, where
# deflate gains nothing and costs most of the build time (30 s of 31 s for 1 GB of such data).
DEFLATE_SUFFIXES = {".json", ".jsonl", ".csv", ".txt", ".html", ".htm", ".xml", ".yaml", ".yml", ".md", ".pem", ".log"}


def file_sha256(path: Path) -> str:
    """A file's SHA-256, read in CHUNK pieces (a packet or evidence file never sits in memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def zip_timestamp(instant: dt.datetime) -> tuple[int, int, int, int, int, int]:
    """The as-of instant in UTC as a zip date-time (zip cannot store years before 1980)."""
    t = max(instant.astimezone(dt.UTC), dt.datetime(1980, 1, 1, tzinfo=dt.UTC))
    return (t.year, t.month, t.day, t.hour, t.minute, t.second)


def write_zip(root: Path, out: Path, *, when: dt.datetime) -> None:
    """Zip every file under `root` into `out` (written beside it, then renamed into place)."""
    stamp = zip_timestamp(when)
    files = sorted((p.relative_to(root).as_posix(), p) for p in root.rglob("*") if p.is_file())
    partial = out.with_name(out.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", allowZip64=True) as zf:
            for name, path in files:
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.create_system = 3
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                text_like = path.suffix.lower() in DEFLATE_SUFFIXES or path.name.startswith("SHA256SUMS")
                info.compress_type = zipfile.ZIP_DEFLATED if text_like else zipfile.ZIP_STORED
                size = path.stat().st_size
                with path.open("rb") as src, zf.open(info, "w", force_zip64=size >= zipfile.ZIP64_LIMIT) as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def unpack_budget(archive_bytes: int) -> int:
    """How many bytes an archive of `archive_bytes` may unpack to."""
    return EXPANSION_FLOOR + MAX_EXPANSION * archive_bytes


def safe_extract(zip_path: Path, dest: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Extract a packet zip into `dest`, refusing entries that would land outside it.

    Returns the names of the entries (directory entries too, ending in "/", though nothing is
    created for them: packets hold none, and the caller reports them) and the entries to report
    (name, reason): those whose bytes fail the zip's own CRC check, reported as altered files rather
    than crashing the check, and every entry after the first of one path (`duplicate`). An archive
    that declares more than `unpack_budget` bytes is refused before anything is written, as one that
    is no zip is (an InputError whose details say it); an entry naming a path outside `dest` or a
    symbolic link is reported and not extracted.
    """
    try:
        zf = zipfile.ZipFile(zip_path)
        budget = unpack_budget(zip_path.stat().st_size)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refused(zip_path, f"not a readable zip file ({exc})") from None
    names: list[str] = []
    problems: list[tuple[str, str]] = []
    first_of: dict[tuple[str, ...], str] = {}  # each path unpacked, by its parts: the entry that gave it

    with zf:
        # zipfile reads each entry up to the central directory's size and no further (a longer
        # stream fails its CRC), so the sizes declared there bound what can be written
        declared = sum(info.file_size for info in zf.infolist())
        if declared > budget:
            # each figure as it is: "more than 62724632 bytes (100 times its size)" had been said of a
            # 291,702-byte zip, whose limit is the floor plus 100 times its size
            size = zip_path.stat().st_size
            raise _refused(zip_path, f"unpacks to {declared:,} bytes, more than the {budget:,} a zip of {size:,} "
                                     f"bytes may ({EXPANSION_FLOOR >> 20} MiB plus {MAX_EXPANSION} times its own "
                                     "size): not a packet Vigil wrote")
        for info in zf.infolist():
            path = PurePosixPath(info.filename)
            # a tampered packet, reported as its failures are (exit 1) and not extracted: it had been
            # refused as unreadable (exit 2), which the docs keep for a file that is no zip at all
            if path.is_absolute() or ".." in path.parts or "\\" in info.filename:
                names.append(info.filename)
                problems.append((info.filename, "unsafe entry name: it would unpack outside the packet's folder "
                                                "(not extracted); Vigil writes no such entry"))
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                names.append(info.filename)
                problems.append((info.filename, "symbolic link entry (not extracted); Vigil writes no such entry"))
                continue
            if info.is_dir():  # named (with its trailing slash) for the caller to judge, not created
                names.append(info.filename)
                continue
            names.append(info.filename)
            if path.parts in first_of:
                problems.append((info.filename, _duplicate(info.filename, first_of[path.parts])))
                continue
            first_of[path.parts] = info.filename
            target = dest.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                problems.append((info.filename, f"zip entry is damaged ({exc})"))
            except (RuntimeError, NotImplementedError):
                # zipfile's refusal of an entry flagged encrypted, or compressed by a method it does not
                # read (Deflate64): a traceback and a 500 before; Vigil writes plain deflated entries
                why = ("it is flagged encrypted" if info.flag_bits & 0x1 else
                       f"it is compressed by method {info.compress_type}, which Vigil never writes")
                problems.append((info.filename, f"zip entry cannot be read: {why} (packets hold plain "
                                                "stored or deflated entries)"))
    return sorted(names), problems


def _duplicate(name: str, first: str) -> str:
    """Why a second entry of one path fails a packet: which copy is "the" file depends on the tool.

    The checks read one copy (the first); `unzip` asks which to keep, `unzip -o` keeps the last and
    `unzip -n` the first, so a forged copy beside the genuine one would reach some auditors while
    the packet verified."""
    twin = "of this name" if name == first else f"unpacking to the same file as {first!r}"
    return (f"duplicate zip entry: a second entry {twin}; an unzip tool may extract either copy, so what "
            "the packet holds is ambiguous (packets hold one entry a file)")


def _refused(zip_path: Path, reason: str) -> InputError:
    """An archive that cannot be checked at all: the problem in the message and in its details,
    on the file, so every face lists it where it lists problems (the API's `errors`)."""
    return InputError(f"{zip_path}: {reason}", [ErrorDetail(reason=reason, file=str(zip_path))], code="packet.zip")
