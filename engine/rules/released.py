"""The ruleset versions Vigil ships, by SHA-256 (`rulesets/RELEASED.sha256`), and the files that are no
longer those bytes.

A version number names one file for ever: runs record its SHA-256 and packets ship its bytes. The
test suite holds the installation's own files to the list, but a copy in use (`VIGIL_RULESETS_DIR`)
edited by hand (`sed -i` on a rule's title) had validated clean and been evaluated under the same
version with other bytes; only `sha256sum -c RELEASED.sha256` noticed. `rules validate` now says
so of every listed file, and evaluations and `vigil audit verify` read the same list
(`engine.ruleset_integrity`).

Two lists are read: the installation's (the versions this Vigil ships), which wins for a file it
lists, and the one in the rulesets folder the file lies in, if any (a deployment's own releases).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from engine.errors import ErrorDetail
from engine.rules.catalog import RULESETS_DIR
from engine.rules.loader import LoadedRuleset

#: The list's file name, in a rulesets folder (`sha256sum` format: `<sha256>  <framework>/<file>`).
FILE_NAME = "RELEASED.sha256"


def released_sha(item: LoadedRuleset) -> tuple[str, Path] | None:
    """The SHA-256 a version file was released with and the list that says so, or None when no list
    names it (a version published by a liaison, a draft, a folder of other frameworks)."""
    path = Path(item.path)
    name = f"{path.parent.name}/{path.name}"
    for listing in (RULESETS_DIR / FILE_NAME, path.parent.parent / FILE_NAME):
        sha = _listed(listing).get(name)
        if sha is not None:
            return sha, listing
    return None


def released_problems(loaded: Iterable[LoadedRuleset]) -> list[ErrorDetail]:
    """Each version file whose bytes are not those it was released with, naming the file, both
    hashes and the way out (a change of content is a new version)."""
    out = []
    for item in loaded:
        found = released_sha(item)
        if found is None or found[0] == item.sha256:
            continue
        sha, listing = found
        out.append(ErrorDetail(
            reason=f"{item.spec.framework} {item.spec.version} is not the file released under that version: "
                   f"{listing} lists SHA-256 {sha}, the file's is {item.sha256}. Runs record a version's hash and "
                   "packets ship its bytes, so a released version never changes: restore the released file and "
                   "put the change in a new version (its own version number and effective_from), published with "
                   "`vigil rules publish`", file=item.path, field="sha256"))
    return out


def _listed(listing: Path) -> dict[str, str]:
    """The names and hashes of a list (empty when there is none), read once per content."""
    try:
        stat = listing.stat()
    except OSError:
        return {}
    return _read(str(listing), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _read(listing: str, _mtime: int, _size: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in Path(listing).read_text(encoding="utf-8").splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2:
            out[parts[1].strip().lstrip("*")] = parts[0].lower()
    return out
