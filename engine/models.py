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
    """Import each domain's table module that exists."""
    for name in TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
