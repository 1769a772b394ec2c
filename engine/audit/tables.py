"""The audit table and the database guard that keeps it append-only.

`audit_entries` is written only by `engine.audit.service.append`. To stop the application (or a
careless operator) from rewriting history, both databases get triggers that refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL). They are installed by a DDL event on `Table` filtered by
name, so `Base.metadata.create_all` and Alembic's `op.create_table` (which builds its own Table
object) both get them; a migration that alters an existing table can call
`install_append_only_guard(connection)`. The triggers stop mistakes, not a database superuser:
tampering by someone who can drop them is what the hash chain detects.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from engine.clock import ensure_utc
from engine.db import Base

TABLE_NAME = "audit_entries"
GUARD_FUNCTION = "vigil_audit_append_only"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC instant on both databases (SQLite keeps no offset, so we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        value = ensure_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class AuditEntryRow(Base):
    """One stored audit entry; see engine.audit.chain for what `hash` covers."""

    __tablename__ = TABLE_NAME
    __table_args__ = (
        UniqueConstraint("org_id", "org_seq"),
        Index(None, "org_id", "at"),
    )

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    org_seq: Mapped[int] = mapped_column(BigInteger())
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(100))
    entity_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON())
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def append_only_ddl(dialect_name: str, table_sql: str = TABLE_NAME) -> list[str]:
    """The statements that make `table_sql` refuse UPDATE/DELETE on this dialect.

    Idempotent, so a migration may run them again. No `%` characters: the statements run
    through exec_driver_sql without parameters.
    """
    if dialect_name == "postgresql":
        return [
            f"CREATE OR REPLACE FUNCTION {GUARD_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION USING MESSAGE = 'audit_entries is append-only: ' || TG_OP || ' refused', "
            "ERRCODE = 'insufficient_privilege'; END $$",
            f"DROP TRIGGER IF EXISTS audit_entries_append_only ON {table_sql}",
            f"CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON {table_sql} "
            f"FOR EACH ROW EXECUTE FUNCTION {GUARD_FUNCTION}()",
            f"DROP TRIGGER IF EXISTS audit_entries_no_truncate ON {table_sql}",
            f"CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON {table_sql} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {GUARD_FUNCTION}()",
        ]
    if dialect_name == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS audit_entries_no_{op.lower()} BEFORE {op} ON {table_sql} "
            f"BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: {op} refused'); END"
            for op in ("UPDATE", "DELETE")
        ]
    return []


def install_append_only_guard(connection: Connection, table: Table | None = None) -> None:
    """Create the append-only triggers on `table` (default: the audit table) in this connection."""
    table = table if table is not None else AuditEntryRow.__table__  # type: ignore[assignment]
    assert table is not None
    table_sql = connection.dialect.identifier_preparer.format_table(table)
    for statement in append_only_ddl(connection.dialect.name, table_sql):
        connection.exec_driver_sql(statement)


@event.listens_for(Table, "after_create")
def _after_create(table: Table, connection: Connection, **_: Any) -> None:
    if table.name == TABLE_NAME:
        install_append_only_guard(connection, table)


@event.listens_for(Table, "after_drop")
def _after_drop(table: Table, connection: Connection, **_: Any) -> None:
    if table.name == TABLE_NAME and connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {GUARD_FUNCTION}()")
