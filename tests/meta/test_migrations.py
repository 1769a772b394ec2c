"""The Alembic revisions build exactly the schema the models describe (a new column without a
migration fails here)."""

from __future__ import annotations

from pathlib import Path

from alembic import command

from engine import db, migrate


def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    db.init_db(engine)
    command.check(migrate.alembic_config(engine))  # raises when autogenerate would change anything
