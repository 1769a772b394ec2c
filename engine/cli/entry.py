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
from typing import Any

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

    if "--json" not in sys.argv[1:]:
        app()
        return
    sys.exit(_run_for_a_script(app))


def _run_for_a_script(app: Any) -> int:
    """Run a command given `--json` and return its exit code, a usage error (a missing `--as-of`, an
    option given twice, one no command has) written as the JSON error every other refusal is, on
    stderr with exit code 2. Click's own box had been drawn there, which a script reading the JSON
    could not parse (README: "With --json an error is JSON on stderr too")."""
    import json

    from typer import _click
    from typer.exceptions import Abort

    try:
        code = app(standalone_mode=False)
    except _click.exceptions.UsageError as exc:
        param = getattr(exc, "param", None)
        opts = getattr(param, "opts", None) or []
        detail: dict[str, str] = {"reason": exc.format_message()}
        if opts:
            detail["field"] = max(opts, key=len)
        command = exc.ctx.command_path if exc.ctx is not None else "vigil"
        sys.stderr.write(json.dumps({"error": {
            "code": "input.usage", "message": f"{exc.format_message()} (see {command} --help)",
            "details": [detail]}}) + "\n")
        return 2
    except _click.exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except Abort:
        sys.stderr.write("Aborted!\n")
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    main()
