"""Schema migrations: Alembic revisions under engine/migrations, run programmatically.

Opening a database with a newer Vigil upgrades it (operations.md, Upgrades); `upgrade` says what it
changed, so the faces can tell the person and the trail can keep it (`pipeline.upgrade_database`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

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
    existing = set(inspect(engine).get_table_names()) - {"alembic_version"}
    current = _revision(engine)
    if current is not None:
        _refuse_unknown_revision(cfg, current)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    if existing and current is None:
        # a database made before migrations existed: add what is missing and adopt it at head
        Base.metadata.create_all(engine)
        command.stamp(cfg, "head")
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
    return SchemaChange(before=current, after=str(head)) if existing else None
