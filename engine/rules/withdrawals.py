"""The withdrawals file of a framework: `rulesets/<framework>/withdrawals.yaml`.

A liaison rolls a ruleset version back by withdrawing it from a day on. The version's file is never
edited or deleted: runs record its hash and packets ship its bytes, so an auditor of a period when
it was in force must still find it. The withdrawal is data beside it, like every other content in
`rulesets/`, and `catalog.load_all` applies it (`LoadedRuleset.withdrawal`)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import ErrorDetail, RulesetValidationError

FILE_NAME = "withdrawals.yaml"

_HEADER = (
    "# Ruleset versions withdrawn by a liaison (vigil rules withdraw / rollback, POST /rulesets/.../withdraw).\n"
    "# A withdrawn version is no longer in force from `on`; its file stays as it was, because runs and\n"
    "# packets made while it was in force name its hash and ship its bytes. Written by Vigil: do not edit\n"
    "# an entry, add a new version instead.\n"
)


class Withdrawal(BaseModel):
    """One withdrawn version: from which day, why, by whom, and when it was decided."""

    model_config = ConfigDict(extra="forbid")

    version: str
    on: dt.date = Field(description="the first day the version is no longer in force")
    reason: str = Field(min_length=1)
    by: str = Field(min_length=1)
    at: dt.datetime = Field(description="when the withdrawal was recorded (UTC)")


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    withdrawals: list[Withdrawal] = Field(default_factory=list)


def path_of(folder: Path) -> Path:
    return folder / FILE_NAME


def read(folder: Path) -> dict[str, Withdrawal]:
    """The framework folder's withdrawals by version (none when the file does not exist)."""
    path = path_of(folder)
    if not path.is_file():
        return {}
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
    out: dict[str, Withdrawal] = {}
    for item in parsed.withdrawals:
        if item.version in out:
            raise RulesetValidationError(f"{path}: version {item.version} is withdrawn twice", [
                ErrorDetail(reason="one withdrawal per version", file=str(path), field=item.version)])
        out[item.version] = item
    return out


def append(folder: Path, item: Withdrawal) -> None:
    """Add one withdrawal, replacing the file atomically (a reader sees the old file or the new)."""
    items = sorted([*read(folder).values(), item], key=lambda w: (w.at, w.version))
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
