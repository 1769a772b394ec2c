"""Console entry point `vigil`: loads only the CLI module of the command being run.

Each `engine/cli/<domain>.py` registers its commands on the shared app when imported, and importing
all of them costs about two seconds on the development machine (SQLAlchemy, the pydantic record
models, the pipeline), a price every command paid before it did anything. Here the command's name
picks its one module from `COMMAND_MODULES`; `vigil --help`, `vigil` alone and a mistyped name load
every module, so the listing and click's "no such command" see the whole set.
`tests/cli/test_cli_entry.py` holds this table to what the modules register.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

#: Top-level command or command group -> the module that registers it.
COMMAND_MODULES: dict[str, str] = {
    "import": "engine.cli.records",
    "export": "engine.cli.records",
    "records": "engine.cli.records",
    "demo": "engine.cli.demo",
    "demo-data": "engine.cli.demo_data",
    "rules": "engine.cli.rules",
    "params": "engine.cli.params",
    "evaluate": "engine.cli.evaluate",
    "findings": "engine.cli.findings",
    "runs": "engine.cli.runs",
    "tasks": "engine.cli.tasks",
    "packet": "engine.cli.packets",
    "audit": "engine.cli.audit",
    "users": "engine.cli.users",
    "serve": "engine.cli.serve",
    "scheduler": "engine.cli.scheduler",
    "report": "engine.cli.reports",
}


def modules_for(args: Sequence[str]) -> list[str]:
    """The CLI modules to import for a command line (without the program name)."""
    module = COMMAND_MODULES.get(args[0]) if args else None
    return [module] if module else list(dict.fromkeys(COMMAND_MODULES.values()))


def load(modules: Sequence[str]) -> None:
    """Import CLI modules so their commands register on the shared app."""
    for name in modules:
        importlib.import_module(name)


def main() -> None:
    """Run `vigil` with only the module its command needs."""
    load(modules_for(sys.argv[1:]))
    from engine.cli.app import app

    app()


if __name__ == "__main__":  # pragma: no cover
    main()
