"""An option that takes one value, given twice on a command line, is refused (exit 2).

Click keeps the last value of a repeated option: `vigil findings list --status overdue --status
violation` listed violations alone, without a word, while the API refuses a query parameter given
twice. Every Vigil command is a Typer command, so the check is installed once, on the class, by
`install()` (called where the application is made)."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand

__all__ = ["given_twice", "install"]


def given_twice(command: Any, args: list[str]) -> list[str]:
    """The single-value options of `command` (a Typer command) that `args` gives more than once."""
    single = {}
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option" and not (param.multiple or param.count or param.is_flag):
            for name in (*param.opts, *param.secondary_opts):
                single[name] = param.name
    seen: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            break
        name, eq, _ = arg.partition("=")
        if name in single:
            seen.setdefault(single[name] or name, []).append(name)
            i += 1 if eq else 2  # the value follows unless given with '='
            continue
        i += 1
    return [names[0] for names in seen.values() if len(names) > 1]


_parse_args = TyperCommand.parse_args


def _parse_args_once(self: Any, ctx: Any, args: list[str]) -> Any:
    repeated = given_twice(self, args)
    if repeated:  # a usage error: exit 2, "Invalid value for '--status': ..."
        raise typer.BadParameter("given more than once: give it once (an option that takes several values "
                                 "takes them comma-separated)", ctx=ctx, param_hint=", ".join(repeated))
    return _parse_args(self, ctx, args)


def install() -> None:
    """Refuse repeated single-value options on every Typer command (idempotent)."""
    TyperCommand.parse_args = _parse_args_once  # type: ignore[method-assign,assignment]
