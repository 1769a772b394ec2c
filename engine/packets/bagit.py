"""Make the BagIt bag with the `bagit` library, deterministically.

Two things in bagit-python 1.9.0 need care:
- `make_bag` stamps `Bagging-Date` with today's date and the library version in
  `Bag-Software-Agent`; both are pinned by the caller from the packet itself.
- it lists tag files in `os.listdir` order, which differs between file systems, so the tag
  manifests are rewritten with their lines sorted (same entries, so still valid).
- it changes the process's working directory while it runs (`os.chdir`). A lock keeps two
  builds in one process apart; code in other threads must not rely on relative paths during a
  build, so a threaded server should run builds in a worker process (see docs/packets.md).
- it writes `BagIt-Version: 0.97`. Packets are BagIt 1.0 (RFC 8493), as the interop spec asks and
  bagit-profile's audit profile accepts: the version line is rewritten and the tag manifests made
  again (`Bag.save` writes bag-info.txt again, stripping blanks around values, which ours never
  have; RFC 8493 changed no other file of ours).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import bagit

CHECKSUMS = ("sha256", "sha512")
#: bagit.txt of a BagIt 1.0 bag (RFC 8493 section 2.1.1), UTF-8 tag files.
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
_CHDIR_LOCK = threading.Lock()


def make_bag(bag_dir: Path, info: dict[str, str]) -> None:
    """Turn `bag_dir` (holding the payload) into a bag in place: payload moves under data/."""
    with _CHDIR_LOCK:
        bagit.make_bag(str(bag_dir.resolve()), dict(info), processes=1, checksums=list(CHECKSUMS))
        (bag_dir / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8", newline="")
        bagit.Bag(str(bag_dir.resolve())).save(processes=1)  # the tag manifests, over the new bagit.txt
    sort_tag_manifests(bag_dir)


def sort_tag_manifests(bag_dir: Path) -> None:
    """Rewrite the tag manifests with their lines sorted by path: the form a packet is written in,
    which verification holds an unsigned tag manifest to."""
    for algorithm in CHECKSUMS:
        tagmanifest = bag_dir / f"tagmanifest-{algorithm}.txt"
        lines = tagmanifest.read_text(encoding="utf-8").splitlines(keepends=True)
        tagmanifest.write_text("".join(sorted(lines, key=tag_line_path)), encoding="utf-8", newline="")


def validation_errors(bag_dir: Path) -> list[tuple[str, str]]:
    """Full bagit validation (every checksum, never `fast`): (file or "", message) per problem.

    bagit also logs each mismatch as a warning; the caller reports them, so the log is muted.
    """
    logger = logging.getLogger("bagit")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        bagit.Bag(str(bag_dir)).validate(processes=1, fast=False)
    except bagit.BagValidationError as exc:
        details = getattr(exc, "details", None) or []
        if not details:
            return [("", str(exc.message if hasattr(exc, "message") else exc))]
        return [(str(getattr(d, "path", "")), str(d)) for d in details]
    except bagit.BagError as exc:
        return [("", str(exc))]
    finally:
        logger.setLevel(level)
    return []


def tag_line_path(line: str) -> str:
    """The path a tag manifest line names: the order its lines are written in (and verified in)."""
    return line.split(" ", 1)[1]
