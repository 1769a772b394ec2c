"""The ruleset bytes evaluation runs used, kept by their SHA-256.

A run records the hash of each ruleset file it evaluated; a packet for its period ships those bytes.
The files on disk may change later (a new release of Vigil, a liaison's edit under the same version),
so the bytes are kept here the first time a run uses them: the packet ships what was applied, not
what happens to be on disk when it is built."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class RulesetBlobRow(Base):
    __tablename__ = "ruleset_blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    framework: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(40))
    #: the file's name inside its framework folder when it was kept (`hipaa-2026.1.0.yaml`)
    name: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
