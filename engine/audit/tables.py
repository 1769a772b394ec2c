"""The audit table, kept append-only by the database (`engine.audit.guard`).

`audit_entries` is written only by `engine.audit.service.append`. To stop the application (or a
careless operator) from rewriting history, both databases get triggers that refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL); `engine.audit.guard` installs them whenever the table is
created, and a migration that alters an existing table can call
`install_append_only_guard(connection)`. The triggers stop mistakes, not a database superuser:
tampering by someone who can drop them is what the hash chain detects.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from engine.audit.guard import GUARD_FUNCTION, TABLE_NAME, append_only_ddl, install_append_only_guard
from engine.clock import ensure_utc
from engine.db import Base

__all__ = ["GUARD_FUNCTION", "TABLE_NAME", "AuditEntryRow", "UTCDateTime", "append_only_ddl",
           "install_append_only_guard"]


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
        # the entries about given entities: a scoped run list's recount (`service.entries_of_action`
        # with `entity_ids`), the trail filtered by entity (`entries_page`); revision 0009
        Index(None, "org_id", "entity_id", "action"),
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
