"""Alembic environment: runs against the engine handed over by engine.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from engine import models
from engine.db import Base

models.load_all()
config = context.config
target_metadata = Base.metadata

connectable = config.attributes.get("engine") or create_engine(str(config.get_main_option("sqlalchemy.url")))
with connectable.connect() as connection:
    # one transaction per revision: an upgrade that fails keeps every step before it, on SQLite and
    # PostgreSQL alike, and says where it stopped (engine.migrate.upgrade)
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
