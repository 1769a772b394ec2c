"""The shared Typer application and the helpers every CLI module uses.

Each `engine/cli/<domain>.py` registers its commands on `app` (or a sub-app). Errors are mapped in
one place (`run`): Vigil input/ruleset errors exit 2 with every problem on stderr; other Vigil
errors exit 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from engine.errors import VigilError

app = typer.Typer(
    name="vigil",
    help="Vigil: compliance rules engine for US medical practices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")


def run(fn: Callable[[], T]) -> T:
    """Call a command body, mapping Vigil errors to exit codes and readable stderr."""
    try:
        return fn()
    except VigilError as exc:
        err_console.print(f"[bold red]error[/] {escape(f'[{exc.code}]')} {escape(exc.message)}", highlight=False)
        for detail in exc.details:
            err_console.print(f"  - {detail}", highlight=False, markup=False)
        raise typer.Exit(code=exc.exit_code) from None


def emit_json(payload: Any) -> None:
    """Print machine-readable output on stdout (no rich markup, stable key order)."""
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")
