"""The withdrawals file of a framework: `rulesets/<framework>/withdrawals.yaml`.

A liaison rolls a ruleset version back by withdrawing it from a day on. The version's file is never
edited or deleted: runs record its hash and packets ship its bytes, so an auditor of a period when
it was in force must still find it. The withdrawal is data beside it, like every other content in
`rulesets/`, and `catalog.load_all` applies it (`LoadedRuleset.withdrawal`)."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.errors import ErrorDetail, RulesetValidationError

FILE_NAME = "withdrawals.yaml"

_HEADER = (
    "# Ruleset versions withdrawn by a liaison (vigil rules withdraw / rollback, POST /rulesets/.../withdraw).\n"
    "# A withdrawn version is no longer in force from `on`; its file stays as it was, because runs and\n"
    "# packets made while it was in force name its hash and ship its bytes. A later entry for the same\n"
    "# version moves a withdrawal not yet in effect to another day. Written by Vigil: do not edit an entry.\n"
)


class Withdrawal(BaseModel):
    """One withdrawn version: from which day, why, by whom, and when it was decided."""

    model_config = ConfigDict(extra="forbid")

    version: str
    on: dt.date = Field(description="the first day the version is no longer in force")
    reason: str = Field(min_length=1)
    by: str = Field(min_length=1)
    at: dt.datetime = Field(description="when the withdrawal was recorded (UTC)")

    @field_validator("at")
    @classmethod
    def _in_utc(cls, at: dt.datetime) -> dt.datetime:
        """An instant written without an offset (by hand, or by an older Vigil) is UTC, as Vigil writes
        them: compared with one that has an offset, it had stopped every read with a TypeError."""
        return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    withdrawals: list[Withdrawal] = Field(default_factory=list)


def path_of(folder: Path) -> Path:
    return folder / FILE_NAME


def read(folder: Path) -> dict[str, Withdrawal]:
    """The withdrawal in effect of each withdrawn version of the framework folder (none when the file
    does not exist): the last one recorded. A later entry moves a withdrawal that had not yet taken
    effect to another day (`history` keeps them all)."""
    out: dict[str, Withdrawal] = {}
    for item in history(folder):
        out[item.version] = item
    return out


def history(folder: Path) -> list[Withdrawal]:
    """Every withdrawal recorded in the folder, in the order recorded.

    A version may be withdrawn more than once while its withdrawal is still to come: a liaison who
    typed 2099 for 2029 moves the day by withdrawing again, and the file keeps both entries (it is
    only ever appended to); the last one recorded is in effect. Whether a move came in time is
    checked when it is written (`engine.rules.publish`, under the folder's lock), where the version's
    first day is known: a reader that refused the file had stopped every evaluation of the framework."""
    path = path_of(folder)
    if not path.is_file():
        return []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        parsed = _File.model_validate(raw)
    except yaml.YAMLError as exc:
        raise RulesetValidationError(f"{path}: not valid YAML",
                                     [ErrorDetail(reason=str(exc), file=str(path))]) from None
    except ValidationError as exc:
        raise RulesetValidationError(f"{path}: withdrawals do not match the format", [
            ErrorDetail(reason=f"{'.'.join(map(str, e['loc']))}: {e['msg']}", file=str(path)) for e in exc.errors()
        ]) from None
    return sorted(parsed.withdrawals, key=lambda w: (w.at, w.version))


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the framework folder's lock while a withdrawal is checked against the file and appended:
    two liaisons moving one withdrawal at once had both read the file, both appended, and left it
    holding a move recorded after the other had taken effect, which no evaluation could read. The lock
    is on the folder itself (flock on its descriptor), so no lock file is left beside the rulesets."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def append(folder: Path, item: Withdrawal) -> None:
    """Add one withdrawal, replacing the file atomically (a reader sees the old file or the new)."""
    items = sorted([*history(folder), item], key=lambda w: (w.at, w.version))
    body = yaml.safe_dump({"withdrawals": [w.model_dump(mode="json") for w in items]}, sort_keys=False,
                          allow_unicode=True)
    write_atomically(path_of(folder), (_HEADER + body).encode())


def write_atomically(path: Path, content: bytes) -> None:
    """Write `content` to `path` through a temporary file in the same folder and a rename, readable
    by all as the shipped rulesets are (mkstemp's file is its owner's alone: a version published
    from the web could not be read by a scheduler or a backup running as another user)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
