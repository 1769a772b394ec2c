"""Schema migrations: Alembic revisions under engine/migrations, run programmatically.

Opening a database with a newer Vigil upgrades it (operations.md, Upgrades); `upgrade` says what it
changed, so the faces can tell the person and the trail can keep it (`pipeline.upgrade_database`).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, Index, MetaData, Table, create_engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from engine import models
from engine.db import Base
from engine.errors import DatabaseSchemaError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolates "%": a URL with encoded options (search_path) must be escaped
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


def _refuse_unknown_revision(cfg: Config, current: str) -> None:
    """A database at a revision this code does not have was written by a newer Vigil (or another
    branch): upgrading it is impossible and downgrading would lose data, so say so in one line
    instead of Alembic's traceback ("Can't locate revision identified by ...")."""
    scripts = ScriptDirectory.from_config(cfg)
    try:
        known = scripts.get_revision(current) is not None
    except CommandError:
        known = False
    if not known:
        raise DatabaseSchemaError(
            f"this database is at schema revision {current!r}, which this Vigil does not know (it knows up to "
            f"{scripts.get_current_head()!r}): it was written by a newer Vigil; run that version, or upgrade this one",
            code="database.schema_unknown")


@dataclass(frozen=True)
class SchemaChange:
    """An existing database moved to a newer schema: `before` is None for one made before Vigil had
    migrations (adopted at `after`). A new, empty database being set up is no change."""

    before: str | None
    after: str


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> SchemaChange | None:
    """Upgrade the database to the newest revision (creates it when empty); says what changed."""
    models.load_all()
    versions = [p for p in (MIGRATIONS / "versions").glob("*.py") if not p.name.startswith("_")]
    if not versions:
        Base.metadata.create_all(engine)
        return None
    cfg = alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    if _revision(engine) == head:  # every command's case: nothing to do, no lock taken
        return None
    with _upgrade_lock(engine):
        return _upgrade_locked(engine, cfg, head)


@contextlib.contextmanager
def _upgrade_lock(engine: Engine) -> Iterator[None]:
    """Held by one process at a time around reading the revision and upgrading from it: several
    commands opening a new database at once had each seen it empty and created the same tables
    (PostgreSQL: a duplicate key in pg_type), or seen another's tables without a revision yet and
    "adopted" it as made before migrations, with a false `database.upgraded` entry. The one that
    waited then reads the revision the other left and does nothing.
    PostgreSQL: a session advisory lock keyed by the schema (held on a connection of its own while
    the steps run on others, each its own transaction). SQLite: an exclusive lock on a file beside
    the database; SQLite's own write lock cannot span the steps (each step commits) nor be held by
    a connection other than the one running them."""
    if engine.dialect.name == "postgresql":
        key = text("SELECT hashtextextended('vigil.schema-upgrade@' || current_schema(), 0)")
        with engine.connect() as conn:
            held = conn.execute(key).scalar_one()
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": held})
            conn.commit()  # the session lock stays; no transaction stays open while the steps run
            try:
                yield
            finally:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": held})
                    conn.commit()
                except SQLAlchemyError:  # a connection lost has let go of its locks: it is not pooled again
                    conn.invalidate()
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":  # in memory: this process's alone
        yield
        return
    with open(f"{database}-upgrade-lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file is closed, or the process ends
        yield


def _upgrade_locked(engine: Engine, cfg: Config, head: str | None) -> SchemaChange | None:
    """`upgrade` once this process holds the upgrade lock: the revision is read again, as another
    process may have upgraded the database while this one waited."""
    existing = set(inspect(engine).get_table_names()) - {"alembic_version"}
    current = _revision(engine)
    if current is not None:
        _refuse_unknown_revision(cfg, current)
    # tables of Vigil's in a database with no revision: one made before migrations (another
    # application's tables alone are a new database's setting up, not an upgrade)
    adopted = current is None and bool(existing) and bool(existing & _vigil_tables())
    if adopted:
        # a database made before migrations existed: adopted at the revision its tables are
        current = _adopt(cfg, engine)
        if current == head:
            return SchemaChange(before=None, after=str(head))
    if current == head:
        return None
    try:
        command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        reached = _revision(engine)
        cause = getattr(exc, "orig", None) or exc  # the driver's words, without SQLAlchemy's statement dump
        reason = str(cause).splitlines()[0]
        raise DatabaseSchemaError(
            f"the upgrade of this database's schema from {current!r} to {head!r} stopped at {reached!r}: {reason}; "
            f"the database is whole at {reached!r} (each step is one transaction): remove the cause and run the "
            "command again to finish it", code="database.upgrade_failed") from None
    return SchemaChange(before=None if adopted else current, after=str(head)) if adopted or current else None


Shape = dict[str, frozenset[str]]


def _shape(engine: Engine, tables: set[str]) -> Shape:
    """The columns of each of `tables` the database holds."""
    found = inspect(engine)
    return {name: frozenset(c["name"] for c in found.get_columns(name))
            for name in sorted(set(found.get_table_names()) & tables)}


@functools.cache
def _shapes_by_revision() -> list[tuple[str, Shape]]:
    """Each revision, oldest first, with the tables and columns it leaves: the revisions run one by
    one on a scratch in-memory SQLite database (table and column names are the same on PostgreSQL).
    Only a database with no revision needs them."""
    scratch = create_engine("sqlite://", poolclass=StaticPool)
    try:
        scratch_cfg = alembic_config(scratch)
        revisions = [r.revision for r in reversed(list(ScriptDirectory.from_config(scratch_cfg).walk_revisions()))]
        shapes = []
        for revision in revisions:
            command.upgrade(scratch_cfg, revision)
            shapes.append((revision, _shape(scratch, set(inspect(scratch).get_table_names()) - {"alembic_version"})))
        return shapes
    finally:
        scratch.dispose()


def _vigil_tables() -> set[str]:
    """Every table any revision has: a database's other tables (another application's) are not Vigil's."""
    return set(Base.metadata.tables) | {name for _, shape in _shapes_by_revision() for name in shape}


def _adopt(cfg: Config, engine: Engine) -> str:
    """Stamp a database made before Vigil had migrations with the newest revision whose tables and
    columns it has exactly, so the upgrade from there adds what it lacks. It had been stamped at
    head after creating only the missing tables: the columns later revisions add to existing tables
    were never added, every later command failed on them, and running again changed nothing. One
    that matches no revision is refused, naming what differs from this Vigil's schema. The
    append-only triggers are installed too: a revision that only adds triggers (0008) leaves the
    columns as they were, so the database is stamped past it without it having run; and so are the
    indexes of the revision it is stamped at that it lacks, for the same reason (0009's)."""
    shapes = _shapes_by_revision()
    mine = _shape(engine, {name for _, shape in shapes for name in shape})
    matches = [revision for revision, shape in shapes if shape == mine]
    if not matches:
        head = shapes[-1][1]
        missing = sorted(f"{t}.{c}" for t, cols in head.items() for c in cols - mine.get(t, cols))
        extra = sorted(f"{t}.{c}" for t, cols in mine.items() for c in cols - head.get(t, frozenset()))
        absent = sorted(set(head) - set(mine))
        said = "; ".join(part for part in (
            f"missing columns {', '.join(missing[:12])}" if missing else "",
            f"missing tables {', '.join(absent[:12])}" if absent else "",
            f"columns this Vigil does not have {', '.join(extra[:12])}" if extra else "") if part)
        raise DatabaseSchemaError(
            f"this database records no schema revision and its tables match none this Vigil knows ({said}): it "
            "cannot be upgraded safely; export its records with the Vigil that made it (`vigil export`) and import "
            "them into a new database", code="database.schema_unknown")
    command.stamp(cfg, matches[-1])
    from engine.audit.guard import install_every_guard  # after models.load_all: every guarded table named

    with engine.begin() as connection:  # the triggers a revision adds (0008's) leave no mark on the columns
        install_every_guard(connection)
        _create_missing_indexes(connection, _indexes_at(matches[-1]))
    return matches[-1]


Indexes = dict[str, dict[str, tuple[list[str], bool]]]


@functools.cache
def _indexes_at(revision: str) -> Indexes:
    """The indexes (columns, unique) of each table `revision` leaves, by name: run on a scratch
    in-memory SQLite database as `_shapes_by_revision` does. Only a database adopted needs them."""
    scratch = create_engine("sqlite://", poolclass=StaticPool)
    try:
        command.upgrade(alembic_config(scratch), revision)
        found = inspect(scratch)
        return {table: {str(i["name"]): ([str(c) for c in i["column_names"]], bool(i["unique"]))
                        for i in found.get_indexes(table)}
                for table in found.get_table_names() if table != "alembic_version"}
    finally:
        scratch.dispose()


def _create_missing_indexes(connection: Connection, wanted: Indexes) -> None:
    """Create the indexes of `wanted` the database's tables lack: an index added by a revision
    (0009's on the audit entries' entity) leaves no mark on the columns either, and a database
    stamped past that revision would otherwise never get it."""
    found = inspect(connection)
    present = set(found.get_table_names())
    for table_name, indexes in sorted(wanted.items()):
        if table_name not in present:
            continue
        have = {i["name"] for i in found.get_indexes(table_name)}
        missing = {name: spec for name, spec in indexes.items() if name not in have}
        if not missing:
            continue
        table = Table(table_name, MetaData(), autoload_with=connection)
        for name, (columns, unique) in sorted(missing.items()):
            Index(name, *(table.c[c] for c in columns), unique=unique).create(connection)
