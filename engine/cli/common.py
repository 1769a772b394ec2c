"""Options and parsing shared by CLI commands (database, organization, instants)."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import typer

from engine.errors import ErrorDetail, InputError

DbOption = typer.Option(None, "--db", help="database URL (default: DATABASE_URL or sqlite:///./vigil.db)")


def org_or_default(org: str | None) -> str:
    return org or os.environ.get("VIGIL_ORG") or "default"


def parse_instant(value: str | None, option: str) -> dt.datetime | None:
    """An ISO 8601 instant with an offset (or Z); a naive value is refused (C7: never guess a zone)."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{option}: not an ISO 8601 instant: {value!r}",
                         [ErrorDetail(reason="expected e.g. 2026-03-07T21:00:00-08:00", field=option)]) from None
    if parsed.tzinfo is None:
        raise InputError(f"{option}: instant without an offset: {value!r}",
                         [ErrorDetail(reason="add Z or an offset, e.g. 2026-03-07T21:00:00-08:00", field=option)])
    return parsed.astimezone(dt.UTC)


def iso_z(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def open_database(url: str | None) -> Any:
    """The database a command works on (--db, DATABASE_URL or ./vigil.db), migrated to the newest schema."""
    from engine import db

    engine = db.make_engine(url)
    db.init_db(engine)
    return engine
