"""The shared Typer application and the helpers every CLI module uses.

Each `engine/cli/<domain>.py` registers its commands on `app` (or a sub-app). Errors are mapped in
one place (`run`), so a user's mistake is a sentence on stderr, never a traceback:

- Vigil input/ruleset errors and unknown ids (not found) exit 2 with every problem; other Vigil
  errors exit 1;
- a pydantic `ValidationError` (an option a schema refuses) exits 2 naming each option and why;
- an `OSError` on a path (a file that cannot be read or written) exits 2 naming the path;
- a database that fails mid-command (locked, a deadlock, connection lost) exits 1 with the driver's
  reason, and says to retry where a retry will do.

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from engine.cli import common, help_labels, once
from engine.errors import ErrorDetail, InputError, VigilError

app = typer.Typer(
    name="vigil",
    help="Vigil: compliance rules engine for US medical practices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
once.install()  # a single-value option given twice is an error, not the last one kept
help_labels.install()  # a flag's help line shows no `<bool>` label


@app.callback()
def _group() -> None:
    """Keep `vigil` a group of commands when only one command module is loaded (engine.cli.entry):
    Typer runs an app with a single command as that command, so `vigil runs` would read `runs`
    as the command's own argument.

    It also forgets the last command's --json (a test runner runs many in one process): this runs
    before a command's options are read, so --json holds for every `run` of the command. `run` had
    reset it after its first call, and `findings comment --json`, which checks its text in a run of
    its own first, wrote its errors as plain text."""
    common.JSON_ASKED.set(False)

console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")


#: Schema field -> the option (or argument) a user typed it with, for pydantic errors.
OPTION_FOR_FIELD: dict[str, str] = {
    "ends_at": "--until", "starts_at": "--from", "reason": "--reason", "approver": "--approver",
    "establishment_id": "--establishment", "establishments": "--establishment",
    "username": "USERNAME", "password": "--password", "role": "--role", "display_name": "--name",
    "person_id": "--person", "framework": "--framework", "window_from": "--from", "window_to": "--to",
    "expires_at": "--expires", "severity": "--severity", "state": "--state", "rule_id": "--rule",
    "finding_id": "--finding", "owner": "--owner", "sop": "--sop", "kind": "--kind", "org_id": "--org",
}


def run(fn: Callable[[], T], *, fields: Mapping[str, str] | None = None) -> T:
    """Call a command body, mapping errors to exit codes and readable stderr (see the module doc).

    `fields` names the option of a schema field where it differs from `OPTION_FOR_FIELD`.
    """
    started = common.forget_outputs()  # one command's outputs: a test runner calls many in one process
    try:
        return fn()
    except VigilError as exc:
        _fail(exc)
    except ValidationError as exc:
        _fail(validation_error(exc, {**OPTION_FOR_FIELD, **(fields or {})}))
    except OSError as exc:
        _fail(path_error(exc))
    except Exception as exc:
        failure = database_failure(exc)
        if failure is None:
            raise
        _fail(failure)
    finally:
        common.restore_outputs(started)


def database_failure(exc: Exception) -> VigilError | None:
    """The sentence for a database that failed mid-command (locked, a deadlock, connection lost, a
    concurrent writer's row first), or None for any other exception.

    SQLAlchemy is looked up rather than imported: importing it takes a third of a second that
    `--help` and the commands without a database need not pay, and an exception raised before
    anything imported it cannot be one of its errors."""
    errors = sys.modules.get("sqlalchemy.exc")
    if errors is not None and isinstance(exc, errors.IntegrityError) and _a_unique_row_taken(exc):
        # another command or the server wrote the same rows at the same moment (the checks that refuse
        # a duplicate ran before it committed): as the API's 409, not a traceback. Any other broken
        # constraint (a foreign key, a NOT NULL) is a bug, and keeps its traceback
        return VigilError("another writer changed the same data at the same moment; nothing was changed: retry",
                          code="conflict.concurrent")
    if errors is None or not isinstance(exc, errors.OperationalError):
        return None
    reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines() or ["database error"]
    said = reason[0]
    if "locked" in said:  # SQLite waited 5 s for another writer
        said += (": another process (a Vigil command, the server, the scheduler or a backup tool) holds a write "
                 "transaction on it; nothing was changed, retry when it ends")
    elif str(getattr(exc.orig, "sqlstate", "") or "") == "55P03":  # PostgreSQL's lock_timeout (engine.db)
        said += (": another process (a sweep, an import, the server or a stuck session) held the practice's lock "
                 "longer than VIGIL_PG_LOCK_TIMEOUT_MS allows (60 s by default); nothing was changed, retry when "
                 "it ends")
    elif str(getattr(exc.orig, "sqlstate", "") or "").startswith("40"):
        # PostgreSQL rolled this transaction back (a deadlock, a serialization failure): two
        # imports of the same records at once, crossing, end this way; a retry sees the other's work
        said += ": another writer changed the same data at the same moment; nothing was changed, retry"
    return VigilError(f"database error: {said}", code="database.operational")


def _a_unique_row_taken(exc: Exception) -> bool:
    """Whether a database refused a row because another with its key is there (PostgreSQL's
    SQLSTATE 23505, SQLite's "UNIQUE constraint failed")."""
    cause = getattr(exc, "orig", None)
    return str(getattr(cause, "sqlstate", "") or "") == "23505" or "UNIQUE constraint failed" in str(cause)


def _fail(exc: VigilError) -> NoReturn:
    if _wants_json():  # a script asked for JSON: its error is JSON too, on stderr, with the same exit code
        sys.stderr.write(json.dumps({"error": {"code": exc.code, "message": exc.message,
                                               "details": [d.to_dict() for d in exc.details]}}) + "\n")
        raise typer.Exit(code=exc.exit_code) from None
    # one line a problem when redirected: a file or a pipe is not 80 columns wide, and a script
    # reading it found `field \nreceives_federal_financial_assistance` split across lines
    wrap = err_console.is_terminal
    err_console.print(f"[bold red]error[/] {escape(f'[{exc.code}]')} {escape(exc.message)}", highlight=False,
                      soft_wrap=not wrap)
    details = exc.details
    if len(details) == 1 and str(details[0]) == exc.message:  # the header already says it all
        details = []
    for detail in details:
        err_console.print(f"  - {detail}", highlight=False, markup=False, soft_wrap=not wrap)
    raise typer.Exit(code=exc.exit_code) from None


def _wants_json() -> bool:
    """Whether the command that failed was given --json (a script reading its output): its error had
    been the same plain text as a person's."""
    return common.JSON_ASKED.get()


def validation_error(exc: ValidationError, options: Mapping[str, str]) -> InputError:
    """An InputError naming each refused option (or field, when no option carries it) and why.

    The value itself is never echoed: it may be a password."""
    details: list[ErrorDetail] = []
    names: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in error.get("loc", ())]
        first = loc[0] if loc else ""
        name = options.get(first) or ("field " + ".".join(loc) if loc else exc.title)
        if loc[1:] and first in options:
            name += "[" + "].[".join(loc[1:]) + "]"
        names.append(name)
        # a validator's own words, without the "Value error, " pydantic puts before them
        details.append(ErrorDetail(reason=f"{name}: {str(error.get('msg', 'invalid')).removeprefix('Value error, ')}"))
    unique = list(dict.fromkeys(names))
    return InputError(f"invalid value{'s' if len(unique) > 1 else ''} for {', '.join(unique)}", details,
                      code="input.invalid_option")


#: failures of the machine, not of what the user gave: exit 1, as any failure that retrying elsewhere fixes
_MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG})


def path_error(exc: OSError) -> VigilError:
    """A file-system failure on a path the user gave: the path and the system's reason. A write that
    fails once under way (a full disk) names no file: the output the command was told to write is
    named instead, and it is exit 1, not bad input."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        written = common.outputs()
        where = f"cannot write {written[-1]}: {reason}" if written else f"file system error: {reason}"
        if exc.errno in _MACHINE_ERRNOS:
            return VigilError(f"{where} (what was written there is incomplete)", code="io.write")
        return InputError(where, code="input.path")
    path = str(exc.filename) + (f" -> {exc.filename2}" if exc.filename2 is not None else "")
    return InputError(f"cannot use {path}: {reason}", code="input.path")


def emit_json(payload: Any) -> None:
    """Print machine-readable output on stdout (no rich markup, stable key order)."""
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")
