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
    """Every withdrawal recorded in the folder, in the order recorded, checked.

    A version may be withdrawn more than once only while its withdrawal is still to come: a liaison
    who typed 2099 for 2029 moves the day by withdrawing again, and the file keeps both entries (it
    is only ever appended to). A withdrawal recorded on or after the day the one before it took
    effect would rewrite days already judged without it, and is refused as a file not written by
    Vigil."""
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
    last: dict[str, Withdrawal] = {}
    ordered = sorted(parsed.withdrawals, key=lambda w: (w.at, w.version))
    for item in ordered:
        before = last.get(item.version)
        if before is not None and _utc_day(item.at) >= before.on:
            raise RulesetValidationError(f"{path}: version {item.version} is withdrawn again after its withdrawal "
                                         f"from {before.on} took effect", [ErrorDetail(
                                             reason=f"the entry recorded at {item.at.isoformat()} comes on or after "
                                                    f"{before.on}: a withdrawal is moved only before it takes effect",
                                             file=str(path), field=item.version)])
        last[item.version] = item
    return ordered


def _utc_day(at: dt.datetime) -> dt.date:
    """The UTC day of an instant, as withdrawals' days are compared with today's (`clock.now().date()`)."""
    return (at if at.tzinfo is None else at.astimezone(dt.UTC)).date()


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
