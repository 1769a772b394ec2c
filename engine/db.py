"""Database engine, the declarative base and the one commit point (`unit_of_work`).

SQLite (WAL) is the embedded default at ./vigil.db; PostgreSQL through DATABASE_URL.
Service functions never commit: the face that called them wraps the call in `unit_of_work`,
so a failed import or evaluation leaves the database exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, MetaData, column, create_engine, event, select, table, text, union
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from engine import json_codec

if TYPE_CHECKING:
    from engine.migrate import SchemaChange

DEFAULT_URL = "sqlite:///./vigil.db"

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every table in every domain."""

    metadata = MetaData(naming_convention=NAMING)


def database_url(url: str | None = None) -> str:
    """The URL to use: explicit argument, then DATABASE_URL, then the embedded SQLite file."""
    return url or os.environ.get("DATABASE_URL") or DEFAULT_URL


def make_engine(url: str | None = None, *, schema: str | None = None, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL and foreign keys, PostgreSQL an optional search_path."""
    url = database_url(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        # an absolute path: packet builds change the working directory (bagit), a relative one would move
        url = "sqlite:///" + os.path.abspath(url[len("sqlite:///"):])
    # JSON columns (findings' evidence and facts, runs, audit details) written and read at orjson's
    # speed with the standard library's values (json_codec): 12 of a stream finding's 38 us were
    # the standard library's encoder
    kwargs: dict[str, object] = {"echo": echo, "future": True, "json_serializer": json_codec.dumps,
                                 "json_deserializer": json_codec.loads}
    if url in ("sqlite://", "sqlite:///:memory:"):
        from sqlalchemy.pool import StaticPool

        kwargs["poolclass"] = StaticPool
        kwargs["connect_args"] = {"check_same_thread": False}
    if url.startswith("postgresql"):
        if schema:
            kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)  # type: ignore[arg-type]
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgresql_settings)
    return engine


#: How long a PostgreSQL statement waits for a lock (a practice's writer lock held by a sweep or an
#: import, a row another request is changing) before giving up, in ms (VIGIL_PG_LOCK_TIMEOUT_MS). It
#: had waited for ever: a stuck session froze every writer of the practice with no word, and a web
#: user's change went through a minute after their browser had given up. SQLite gives up after 5 s.
PG_LOCK_TIMEOUT_MS = 60_000


def _postgresql_settings(dbapi_connection: Any, _record: Any) -> None:
    wait = int(os.environ.get("VIGIL_PG_LOCK_TIMEOUT_MS") or PG_LOCK_TIMEOUT_MS)
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = {max(0, wait)}")
    dbapi_connection.commit()


#: ids per `IN (...)` list in the batch reads (`in_chunks`): SQLite builds before 3.32 take 999
#: bound parameters at most
IN_CHUNK = 500


def in_chunks(ids: Iterable[str]) -> list[list[str]]:
    """`ids` without repeats or empty ones, sorted, in lists of `IN_CHUNK` at most: one
    `IN (...)` statement each, for the reads that replaced one statement per item."""
    wanted = sorted({i for i in ids if i})
    return [wanted[start:start + IN_CHUNK] for start in range(0, len(wanted), IN_CHUNK)]


def hold_lock(connection: Connection, name: str) -> None:
    """Hold the lock called `name` until this transaction ends.

    PostgreSQL: a transaction-level advisory lock keyed by the name *and the schema*: advisory
    locks are the whole database's, so two deployments (or two test runs) in schemas of one
    database, each with a practice called "clinic-a", had waited on each other's locks.
    SQLite: the write lock, taken by starting the transaction with BEGIN IMMEDIATE (when none is
    open yet), since Python's sqlite3 runs SELECTs outside any transaction until the first write
    and what was read could be stale by the time the write lock came; a transaction that has
    already written holds it anyway.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:name || '@' || current_schema(), 0))"),
                           {"name": name})
    elif connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    is_memory = False
    try:
        cur.execute("PRAGMA database_list")
        rows = cur.fetchall()
        is_memory = all(not r[2] for r in rows)
    except Exception:  # pragma: no cover - defensive only
        pass
    if not is_memory:
        # 16 KB pages: an import's insert of a record version took 5-15% less than on the default
        # 4 KB. Only a new database takes it (before its first table, and before WAL, which fixes the
        # page size); on any other this is a no-op
        cur.execute("PRAGMA page_size=16384")
        cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def init_db(engine: Engine) -> SchemaChange | None:
    """Bring the schema to the current version (Alembic upgrade to head); what it changed, if anything."""
    from engine import migrate

    return migrate.upgrade(engine)


_factories: dict[int, sessionmaker[Session]] = {}


def session_factory(engine: Engine) -> sessionmaker[Session]:
    key = id(engine)
    if key not in _factories:
        _factories[key] = sessionmaker(bind=engine, expire_on_commit=False, future=True)
    return _factories[key]


@contextlib.contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction: commit if the block finishes, roll back everything if it raises."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def utc(value):  # type: ignore[no-untyped-def]
    """A datetime read back from the database, as aware UTC (SQLite drops the zone; we store UTC)."""
    import datetime as _dt

    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=_dt.UTC)
    return value.astimezone(_dt.UTC)


#: The tables whose rows say an organization is in the database: its records, users or runs.
ORG_TABLES = ("record_version", "app_user", "evaluation_run")


def org_ids(connection: Connection, tables: Sequence[str] = ORG_TABLES) -> list[str]:
    """Every organization with a row in `tables`, sorted: one query (a union of each table's org_id)."""
    if not tables:
        return []
    query = union(*(select(table(t, column("org_id")).c.org_id) for t in tables))
    return sorted(str(v) for v in connection.execute(query).scalars())
