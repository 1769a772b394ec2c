"""Options and parsing shared by CLI commands: the database, the organization, instants, dates, paths.

Every check here turns a user's mistake into an `InputError` that names the option and says why,
so `engine.cli.app.run` exits 2 with a sentence instead of a traceback.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar, Token
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine import clock, filter_values
from engine.errors import ErrorDetail, InputError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from engine.migrate import SchemaChange

DB_HELP = "database URL (default: $DATABASE_URL, else sqlite:///./vigil.db)"
ORG_HELP = ("organization id (default: $VIGIL_ORG, else 'default' if the database has it, else the database's "
            "only organization; a new database gets 'default')")

DbOption = typer.Option(None, "--db", help=DB_HELP)
DbOpt = Annotated[str | None, typer.Option("--db", help=DB_HELP)]
OrgOpt = Annotated[str | None, typer.Option("--org", help=ORG_HELP)]
#: Whether the command being run was given --json, for its error (`engine.cli.app.run`): set while
#: the options are read, as no click context is current when the command's body fails.
JSON_ASKED: ContextVar[bool] = ContextVar("json_asked", default=False)


def _note_json(value: bool) -> bool:
    JSON_ASKED.set(bool(value))
    return value


JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON on stdout (and an error as "
                                                      "JSON on stderr)", callback=_note_json)]


def json_flag(help: str) -> Any:
    """A command's --json with its own help: noted, as `JsonOpt` is, so its error is JSON too (an
    --json declared plainly had left `vigil evaluate --json`'s errors plain text)."""
    return typer.Option(False, "--json", help=help, callback=_note_json)

#: Instants and dates the CLI accepts. Wide enough for any real audit window, narrow enough that
#: lookbacks and deadlines computed from them (retention of decades) stay inside what Python can date.
MIN_DAY = dt.date(1900, 1, 1)
MAX_DAY = dt.date(2199, 12, 31)
RANGE_TEXT = f"{MIN_DAY.isoformat()} .. {MAX_DAY.isoformat()}"

ORGS_SHOWN = 20


# --- organization, text options -------------------------------------------------------------------


def org_or_default(org: str | None, option: str = "--org") -> str:
    """The organization: --org, then VIGIL_ORG, then 'default'; an explicitly empty one is refused.

    Commands that open a database go on to `require_org` (reads) or `org_to_write` (writes), which
    take the database's only organization instead of 'default' when none was named."""
    if org is not None:
        if not org.strip():
            raise InputError(f"{option} must not be empty",
                             [ErrorDetail(reason="give an organization id", field=option)], code="input.org_id")
        return org
    return os.environ.get("VIGIL_ORG") or "default"


def cli_actor(given: str | None = None, option: str = "--actor") -> str:
    """Who acts from the command line, for the audit trail and the finding history: the command's
    own option (`given`, its --actor), else VIGIL_ACTOR, else the login name (`cli:<login>`, as
    imports say). Findings and users had named every act "cli".

    Either one blank is refused and either is trimmed: `VIGIL_ACTOR="   "` had been stored as the
    actor of every act, where `--actor "  "` is refused. An empty VIGIL_ACTOR is taken as unset, as
    an empty VIGIL_ORG is."""
    import getpass

    if given is not None:
        return nonblank(given, option).strip()
    said = os.environ.get("VIGIL_ACTOR")
    if said:
        if not said.strip():
            raise InputError("VIGIL_ACTOR must not be blank", [ErrorDetail(
                reason="only spaces: set it to who acts, or unset it for the login name", field="VIGIL_ACTOR")],
                code="input.blank")
        return said.strip()
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def nonblank(value: str, option: str) -> str:
    """A text option that must say something: empty or only spaces is refused."""
    if not value.strip():
        raise InputError(f"{option} must not be blank", [ErrorDetail(reason="empty or only spaces", field=option)],
                         code="input.blank")
    return value


def filter_value(value: str | None, option: str) -> str | None:
    """A list filter's value (one, or several comma-separated): None when not given; blank, or with
    a blank item (`--state ','`), refused. The API refuses an empty filter (422), and here "" had
    listed everything while ",", matching nothing, listed nothing, both with exit 0."""
    if value is None:
        return None
    if not value.strip() or any(not item.strip() for item in value.split(",")):
        raise InputError(f"{option}: {value!r} names nothing", [ErrorDetail(
            reason="give a value (several comma-separated, none empty), or leave the option out for all",
            field=option)], code="input.blank")
    filter_values.check_count(option, [value])  # the API's cap: 1000 values had failed in the database
    return value


def framework_option(value: str | None, option: str = "--framework") -> str | None:
    """A --framework naming one framework with a ruleset, lower-cased; None when not given.

    An empty value is refused rather than read as "every framework": a script's `--framework "$FW"`
    with FW unset had widened its scope silently."""
    if value is None:
        return None
    nonblank(value, option)
    from engine.rules.catalog import require_frameworks

    name = value.strip().lower()
    require_frameworks([name])
    return name


def choices(value: str | None, option: str, allowed: tuple[str, ...]) -> str | None:
    """A comma-separated list of allowed words (e.g. --state open,done), refusing any unknown one."""
    if value is None:
        return None
    filter_values.check_count(option, [value])
    words = [w.strip() for w in value.split(",")]
    bad = [w for w in words if w not in allowed]
    if bad or not words:
        raise InputError(
            f"{option}: unknown value{'s' if len(bad) > 1 else ''} {', '.join(map(repr, bad))}",
            [ErrorDetail(reason=f"allowed: {', '.join(allowed)} (comma-separated)", field=option)],
            code="input.choice",
        )
    return ",".join(words)


def finite(value: float | None, option: str, *, low: float = 0.0, high: float = math.inf,
           low_open: bool = True) -> float | None:
    """A number of seconds (or a factor) that must be a finite number within (low, high]."""
    if value is None:
        return None
    too_low = value <= low if low_open else value < low
    if not math.isfinite(value) or too_low or value > high:
        bound = f"more than {low:g}" if low_open else f"at least {low:g}"
        limit = f" and at most {high:g}" if math.isfinite(high) else ""
        raise InputError(f"{option} must be a finite number {bound}{limit}, not {value!r}", code="input.number")
    return value


# --- instants and dates ------------------------------------------------------------------------------


def _out_of_range(option: str, value: str) -> InputError:
    return InputError(f"{option}: {value!r} is outside the supported range {RANGE_TEXT}", code="input.range")


def parse_instant(value: str | None, option: str, *, as_written: bool = False) -> dt.datetime | None:
    """An ISO 8601 instant with an offset (or Z), or `now` (the clock's instant, in UTC); a naive
    value is refused (C7: never guess a zone). In UTC, unless `as_written`: an instant a record will
    store (an LEIE screening's `checked_at`) keeps the offset it was given with, as every instant of a
    stored record does."""
    if value is None:
        return None
    if value.strip().lower() == "now":
        return clock.now().astimezone(dt.UTC)
    problem = clock.instant_problem(value)  # a date, a date with an offset, no offset: said alike everywhere
    if problem is not None:
        raise InputError(f"{option}: {problem.what}", [ErrorDetail(reason=problem.advice, field=option)],
                         code="input.instant")
    try:
        parsed = dt.datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value)
    except ValueError as exc:
        if "out of range" in str(exc) or "must be in" in str(exc):
            raise InputError(f"{option}: no such date or time: {value!r} ({exc})",
                             [ErrorDetail(reason=str(exc), field=option)], code="input.instant") from None
        raise InputError(f"{option}: not an ISO 8601 instant: {value!r}",
                         [ErrorDetail(reason="expected e.g. 2026-03-07T21:00:00-08:00", field=option)],
                         code="input.instant") from None
    try:
        utc = parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):  # 0001-01-01T00:00:00+05:00 is before year 1 in UTC
        raise _out_of_range(option, value) from None
    if not MIN_DAY <= utc.date() <= MAX_DAY:
        raise _out_of_range(option, value)
    return parsed if as_written else utc


def parse_date(value: str | None, option: str) -> dt.date | None:
    """A calendar date YYYY-MM-DD within the supported range."""
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        reason = str(exc) if "range" in str(exc) else "expected YYYY-MM-DD, e.g. 2026-03-07"
        raise InputError(f"{option}: not a date: {value!r}", [ErrorDetail(reason=reason, field=option)],
                         code="input.date") from None
    if not MIN_DAY <= day <= MAX_DAY:
        raise _out_of_range(option, value)
    return day


def iso_z(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --- output paths ------------------------------------------------------------------------------------


#: the places this command was told to write (--out), in the order they were checked: a write
#: that fails later (a full disk) raises an OSError naming no file, and the error names these
_OUTPUTS: ContextVar[tuple[Path, ...]] = ContextVar("vigil_cli_outputs", default=())


def outputs() -> tuple[Path, ...]:
    return _OUTPUTS.get()


def forget_outputs() -> Token[tuple[Path, ...]]:
    return _OUTPUTS.set(())


def restore_outputs(token: Token[tuple[Path, ...]]) -> None:
    _OUTPUTS.reset(token)


def _writing_to(path: Path) -> Path:
    _OUTPUTS.set((*_OUTPUTS.get(), path))
    return path


def cannot_write(path: Path, reason: str, option: str) -> InputError:
    return InputError(f"{option}: cannot write {path}: {reason}", code="input.output_path")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def out_dir(path: Path, option: str = "--out") -> Path:
    """A directory to write into: created if missing; a file or an unwritable place is refused."""
    if path.exists() and not path.is_dir():
        raise cannot_write(path, "it is a file, not a directory", option)
    _writable_dir(path, path, option)
    return _writing_to(path)


def out_file(path: Path, option: str = "--out") -> Path:
    """A file to write: its folder is created if missing; a directory or an unwritable place is refused."""
    if path.is_dir():
        raise cannot_write(path, "it is a directory; give a file name", option)
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise cannot_write(path, f"{parent} is a file, not a directory", option)
    _writable_dir(parent, path, option)
    return _writing_to(path)


def write_lines(lines: Iterable[str], target: Path | None) -> None:
    """Text made a line at a time (an export's CSV) written as it is made, in UTF-8, to `target`
    (checked with `out_file` first), or to stdout: a list of thousands is never held whole, and a
    CSV's CRLF line ends are written as they are."""
    if target is not None:
        with target.open("w", encoding="utf-8", newline="") as fh:
            fh.writelines(lines)
        return
    raw = getattr(sys.stdout, "buffer", None)
    try:
        if raw is None:  # a stdout that takes text only
            sys.stdout.writelines(lines)
            sys.stdout.flush()
            return
        sys.stdout.flush()
        for line in lines:
            raw.write(line.encode("utf-8"))
        raw.flush()
    except BrokenPipeError:
        # the reader took what it wanted (`| head`) and left: done, as any Unix filter is; stdout is
        # pointed at /dev/null so that the interpreter's own flush at exit finds no pipe to break
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _writable_dir(folder: Path, given: Path, option: str) -> None:
    """Create `folder` if missing and check it can be written to; errors name the path the user gave."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(given, _reason(exc), option) from None
    if not os.access(folder, os.W_OK):
        raise cannot_write(given, "permission denied", option)


# --- the database ------------------------------------------------------------------------------------


def shown_url(url: str) -> str:
    """The URL as it may be printed: without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def _cannot_open(url: str, reason: str, code: str = "input.database") -> InputError:
    return InputError(f"cannot open database {shown_url(url)}: {reason}", code=code)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def sqlite_file(url: str) -> Path | None:
    """The file a sqlite URL names, or None (memory, URI filenames, other databases)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database or ""
    if name in ("", ":memory:") or name.startswith("file:") or parsed.query.get("uri"):
        return None
    return Path(name).expanduser().absolute()


def database_url(url: str | None) -> str:
    """--db, then DATABASE_URL, then ./vigil.db; `--db ""` is a mistake, not a request for the default."""
    if url is not None and not url.strip():
        raise InputError("--db must not be empty", [ErrorDetail(reason="give a database URL, e.g. "
                                                                      "sqlite:///./vigil.db", field="--db")],
                         code="input.database")
    from engine import db

    return db.database_url(url)


def open_database(url: str | None, *, must_exist: bool = True, migrate: bool = True) -> Engine:
    """The database a command works on, checked and (unless `migrate=False`) migrated to the newest schema.

    `must_exist=True` (commands that only read or change what is there) refuses a SQLite file that
    does not exist, so a mistyped path is an error instead of a new, empty database answering
    "nothing found". Any URL, driver or connection problem is an `InputError` naming the URL
    (without its password) and the reason.
    """
    from sqlalchemy import exc as sa_exc

    from engine import db, pipeline

    full = database_url(url)
    try:
        path = sqlite_file(full)
    except (sa_exc.ArgumentError, ValueError):
        raise _cannot_open(full, "not a database URL (e.g. sqlite:///./vigil.db or "
                                 "postgresql+psycopg://user@host/name)") from None
    except sa_exc.NoSuchModuleError:
        raise _cannot_open(full, _unknown_kind(full)) from None
    if path is not None:
        if path.is_dir():
            raise _cannot_open(full, f"{path} is a directory")
        if must_exist and not path.exists():
            raise _cannot_open(full, f"no such file {path} (check the path; this command does not create a "
                                     "database)", code="input.database_missing")
        if not path.parent.is_dir():
            raise _cannot_open(full, f"directory {path.parent} does not exist")
    try:
        engine = db.make_engine(full)
    except sa_exc.NoSuchModuleError:
        raise _cannot_open(full, _unknown_kind(full)) from None
    except sa_exc.ArgumentError as exc:
        raise _cannot_open(full, _first_line(exc)) from None
    except ImportError as exc:
        raise _cannot_open(full, f"its driver is not installed ({exc})") from None
    try:
        if migrate:
            _say_upgraded(pipeline.upgrade_database(engine))
        else:
            with engine.connect():
                pass
    except sa_exc.SQLAlchemyError as exc:
        engine.dispose()
        if _unreachable(exc):
            from engine.errors import UnavailableError

            raise UnavailableError(
                f"cannot reach database {shown_url(full)}: {_first_line(exc)}; nothing was changed. Is the "
                "database server running, and reachable at that host and port? Run the command again once it "
                "answers", code="database.unreachable") from None
        raise _cannot_open(full, _refusal(exc)) from None
    return engine


def _refusal(exc: Exception) -> str:
    """The server's no, with what to do about it where that is clear."""
    said = _first_line(exc)
    if "FATAL:" in said and "database" in said and "does not exist" in said:
        return f"{said} (create it, e.g. createdb, or check the name in the URL)"
    return said


def _unreachable(exc: Exception) -> bool:
    """A server that did not answer at all (refused, down, timed out), as against one that answered
    no (a wrong password, no such database): an outage, exit 1 like a connection lost mid-command,
    not bad input (exit 2) for a script that retries on the one and stops on the other."""
    from sqlalchemy import exc as sa_exc

    orig = getattr(exc, "orig", None)
    if not (isinstance(exc, sa_exc.OperationalError) and orig is not None
            and getattr(orig, "sqlstate", None) is None and type(orig).__module__.startswith("psycopg")):
        return False
    # psycopg gives no sqlstate for a refused connection, whether the server is down or answered
    # FATAL (no such database or role, a wrong password): the latter is bad input, as documented, and
    # had been told to wait for a server that was running; a server starting up or full is an outage
    said = str(orig)
    return "FATAL:" not in said or any(word in said for word in _STILL_COMING)


#: The FATAL answers of a server that cannot take the connection yet: try again later.
_STILL_COMING = ("starting up", "shutting down", "too many clients", "in recovery mode", "not yet accepting")


def _say_upgraded(change: SchemaChange | None) -> None:
    """An upgrade is for good (there is no downgrade): the person who ran the command hears of it."""
    if change is None:
        return
    from engine import __version__
    from engine.cli.app import err_console

    before = repr(change.before) if change.before else "no revision (made before migrations)"
    err_console.print(f"Upgraded this database's schema from {before} to {change.after!r} (Vigil {__version__}); "
                      "an older Vigil can no longer open it. Recorded in each organization's audit trail.",
                      highlight=False, markup=False)


def _unknown_kind(url: str) -> str:
    kind = url.split(":", 1)[0]
    return f"unknown kind of database {kind!r} (use sqlite:///PATH or postgresql+psycopg://USER@HOST/NAME)"


def known_orgs(engine: Engine) -> list[str]:
    """Every organization with records, users or evaluation runs in the database, sorted (a
    database not set up yet has none of the tables, and so no organization)."""
    from sqlalchemy import inspect

    from engine.db import ORG_TABLES, org_ids

    present = [t for t in ORG_TABLES if inspect(engine).has_table(t)]
    with engine.connect() as conn:
        return org_ids(conn, present)


def org_exists(engine: Engine, org_id: str) -> bool:
    """Whether the organization has anything: one indexed probe per table, no scan."""
    from sqlalchemy import column, inspect, literal, select, table

    from engine.db import ORG_TABLES

    present = [t for t in ORG_TABLES if inspect(engine).has_table(t)]
    with engine.connect() as conn:
        for name in present:
            t = table(name, column("org_id"))
            if conn.execute(select(literal(1)).select_from(t).where(t.c.org_id == org_id).limit(1)).first():
                return True
    return False


def sole_org(engine: Engine) -> str | None:
    """The database's only organization, or None when it holds none or several.

    The least and greatest org_id of each table, each one probe of an index that starts with org_id
    (SQLite answers a lone min() or max() from the index, so they are asked apart): no scan."""
    from sqlalchemy import column, func, inspect, select, table

    from engine.db import ORG_TABLES

    present = [t for t in ORG_TABLES if inspect(engine).has_table(t)]
    seen: set[str] = set()
    with engine.connect() as conn:
        for name in present:
            org_id = table(name, column("org_id")).c.org_id
            for edge in (func.min(org_id), func.max(org_id)):
                value = conn.execute(select(edge)).scalar()
                if value is not None:
                    seen.add(str(value))
            if len(seen) > 1:
                return None
    return seen.pop() if seen else None


def _named(org: str | None) -> bool:
    """Whether the user named an organization (--org, or VIGIL_ORG in the environment)."""
    return org is not None or bool(os.environ.get("VIGIL_ORG"))


def org_to_write(engine: Engine, org: str | None, option: str = "--org") -> str:
    """The organization a command that creates data writes to: --org, then VIGIL_ORG, then the
    database's only organization (said on stderr, as what is stored depends on it), then 'default'
    when the database has it or holds no organization yet.

    So after `vigil demo` (org `demo`) `vigil import` adds to the demo practice rather than starting
    a second one, while a new or empty database still starts with 'default'. With several
    organizations and none named the write is refused, listing them, as reads are: it used to start
    an organization 'default' beside them that no read would then choose."""
    org_id = org_or_default(org, option)
    if _named(org):
        _say_if_new(engine, org_id, option)
        return org_id
    only = sole_org(engine)
    if only is None:
        if org_exists(engine, org_id) or not known_orgs(engine):
            return org_id
        raise _no_such_org(engine, org, org_id, option)
    if only == org_id:
        return org_id
    from engine.cli.app import err_console

    err_console.print(f"note: no {option} given; using organization {only!r}, the only one in "
                      f"{engine.url.render_as_string(hide_password=True)}", highlight=False, markup=False,
                      soft_wrap=True)
    return only


def _say_if_new(engine: Engine, org_id: str, option: str) -> None:
    """A named organization the database does not hold is created by the write, which is how a
    second practice is added; but a typo (`--org alhpa`) did it silently, and every later read of
    the real one missed what was written. So the write says so, naming those already there."""
    if org_exists(engine, org_id):
        return
    others = known_orgs(engine)
    if not others:
        return
    from engine.cli.app import err_console

    shown = ", ".join(others[:ORGS_SHOWN]) + (f" and {len(others) - ORGS_SHOWN} more" if len(others) > ORGS_SHOWN
                                               else "")
    err_console.print(f"note: {option} {org_id!r} names no organization in this database (it holds {shown}): "
                      "this creates it", highlight=False, markup=False, soft_wrap=True)


def require_org(engine: Engine, org: str | None, option: str = "--org") -> str:
    """The organization a read command works on, refused when the database holds nothing for it.

    With no --org and no VIGIL_ORG: 'default' if the database holds it, else its only organization;
    with several (and no 'default') the error lists them, as guessing among practices would be wrong."""
    org_id = org_or_default(org, option)
    if org_exists(engine, org_id):
        return org_id
    if not _named(org):
        only = sole_org(engine)
        if only is not None:
            return only
    raise _no_such_org(engine, org, org_id, option)


def _no_such_org(engine: Engine, org: str | None, org_id: str, option: str) -> InputError:
    """The refusal of an organization the database does not hold, saying where the name came from
    and listing the organizations it does hold."""
    orgs = known_orgs(engine)
    where = engine.url.render_as_string(hide_password=True)
    if org is not None:
        how = ""
    elif os.environ.get("VIGIL_ORG"):
        how = " (from VIGIL_ORG)"
    else:
        how = f" (no {option} given; set {option} or VIGIL_ORG)"
    if orgs:
        listed = ", ".join(orgs[:ORGS_SHOWN]) + (f" and {len(orgs) - ORGS_SHOWN} more" if len(orgs) > ORGS_SHOWN
                                                  else "")
        reason = f"organizations in this database: {listed}"
    else:
        reason = "this database holds no organization yet (vigil import FILE --org ID)"
    return InputError(f"{option}: no organization {org_id!r} in {where}{how}; {reason}", code="input.org_unknown")


def open_org(url: str | None, org: str | None) -> tuple[Engine, str]:
    """An existing database and an organization it holds something for (what read commands need)."""
    engine = open_database(url, must_exist=True)
    return engine, require_org(engine, org)
