"""Imports every domain's tables so that `Base.metadata` knows the whole schema.

Alembic and `init_db` read the metadata through this module; add a domain's `tables` here.
"""

from __future__ import annotations

import importlib

TABLE_MODULES = [
    "engine.audit.tables",
    "engine.records.tables",
    "engine.rules.tables",
    "engine.findings.tables",
    "engine.tasks.tables",
    "engine.packets.tables",
    "engine.auth.tables",
]


def load_all() -> None:
    """Import every domain's table module. Each must exist: a schema missing one table module would
    be created, migrated and guarded without its tables, and nothing would say so."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
