"""Where records live: one append-only table of record versions, every row scoped by org.

Why one generic table rather than a table per record type: the contract is about thirty types
that will grow, history works the same for all of them, and the rules read records through the
pydantic models (the JSON `data`), never through columns. The columns are only what storage itself
needs: the identity (org, type, id, version), the content hash for no-op re-imports, and the
knowledge time (`recorded_at`) for as-of reads.

Reading the latest version is a walk of the unique index (org_id, record_type, record_id,
version); no separate "current" table is kept, so an import writes one row per new version and
nothing else. `record_id` and `record_type` sort bytewise on both databases (collation "C" on
PostgreSQL, SQLite's default BINARY), so exports come out in the same order everywhere.

Append-only in the database too: the audit table's triggers (`engine.audit.guard`) refuse UPDATE
and DELETE (and TRUNCATE on PostgreSQL) on it, so a version cannot be rewritten in place without
first dropping them; `vigil audit verify` recomputes every version's content hash and checks the
versions each import wrote against its audit entry (`engine.records.integrity`) for that case.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from engine.audit.guard import guard_append_only
from engine.clock import ensure_utc
from engine.db import Base

UTC = dt.UTC


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC instant on both databases (SQLite would otherwise hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        value = ensure_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


def _key(length: int) -> String:
    """A string key that sorts bytewise on PostgreSQL too."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class RecordVersionRow(Base):
    """One version of one record of one organization; never updated, never deleted."""

    __tablename__ = "record_version"

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(_key(64))
    record_type: Mapped[str] = mapped_column(_key(40))
    record_id: Mapped[str] = mapped_column(_key(255))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))
    content_hash: Mapped[str] = mapped_column(String(64))
    establishment_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(1024))

    # every read goes through this index and filters `recorded_at` there (an index on
    # (org_id, recorded_at) was only ever written: dropped in migration 0002)
    __table_args__ = (UniqueConstraint("org_id", "record_type", "record_id", "version"),)


record_version = cast(Table, RecordVersionRow.__table__)
guard_append_only(record_version.name)
