"""Schema migrations: Alembic revisions under engine/migrations, run programmatically."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, inspect

from engine import models
from engine.db import Base
from engine.errors import VigilError

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
        raise VigilError(
            f"this database is at schema revision {current!r}, which this Vigil does not know (it knows up to "
            f"{scripts.get_current_head()!r}): it was written by a newer Vigil; run that version, or upgrade this one",
            code="database.schema_unknown")


def upgrade(engine: Engine) -> None:
    """Upgrade the database to the newest revision (creates it when empty)."""
    models.load_all()
    versions = [p for p in (MIGRATIONS / "versions").glob("*.py") if not p.name.startswith("_")]
    if not versions:
        Base.metadata.create_all(engine)
        return
    cfg = alembic_config(engine)
    existing = set(inspect(engine).get_table_names()) - {"alembic_version"}
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current is not None:
        _refuse_unknown_revision(cfg, current)
    if existing and current is None:
        # a database made before migrations existed: add what is missing and adopt it at head
        Base.metadata.create_all(engine)
        command.stamp(cfg, "head")
        return
    command.upgrade(cfg, "head")
