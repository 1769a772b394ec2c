"""Built packets: what was built, for which scope, with which hash and key (the zip lives on disk)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class PacketRow(Base):
    __tablename__ = "packet"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(100), index=True)
    framework: Mapped[str] = mapped_column(String(40))
    period_from: Mapped[dt.date] = mapped_column(Date)
    period_to: Mapped[dt.date] = mapped_column(Date)
    as_of: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    establishment: Mapped[str | None] = mapped_column(String(100), nullable=True)
    redacted: Mapped[bool] = mapped_column(Boolean, default=False)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(1000))
    fingerprint: Mapped[str] = mapped_column(String(100))
    built_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    built_by: Mapped[str] = mapped_column(String(200))
