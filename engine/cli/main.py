"""Console entry point `vigil`: imports every CLI module so their commands register."""

from __future__ import annotations

import importlib

from engine.cli.app import app

COMMAND_MODULES = [
    "engine.cli.records",
    "engine.cli.demo",
    "engine.cli.demo_data",
    "engine.cli.rules",
    "engine.cli.params",
    "engine.cli.evaluate",
    "engine.cli.findings",
    "engine.cli.runs",
    "engine.cli.tasks",
    "engine.cli.packets",
    "engine.cli.audit",
    "engine.cli.users",
    "engine.cli.serve",
    "engine.cli.scheduler",
    "engine.cli.reports",
]

for _name in COMMAND_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a domain not built yet
        if exc.name != _name:
            raise

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    app()
