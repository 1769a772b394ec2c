"""Paging a CLI listing cut by --limit: its title, and the commands for the pages around it."""

from __future__ import annotations

import shlex

from typer.main import get_current_context

from engine.cli.app import console
from engine.cli.common import shown_url


def paged_title(shown: int, total: int, noun: str) -> str:
    """A listing's title: how many there are, and how many of them this page shows (the next page is
    printed under the table, see `print_pages`)."""
    word = noun if total == 1 else noun + "s"
    return f"{total} {word}" if shown >= total else f"{shown} of {total} {word}"


def print_pages(command: str, same: str, *, next_cursor: str | None, has_prev: bool = False,
                prev_cursor: str | None = None) -> None:
    """Under a listing cut by --limit: the command for the next page (and the previous one), ready to
    paste with the options this one was given (the docs probe ran the printed `--cursor X` alone and
    got the next page of an unfiltered list); the cursor is whole on one line. `same` is said when
    the options cannot be read back (outside a command)."""
    given = _given_options()
    base = f"{command} {given}".rstrip() if given is not None else command
    tail = "" if given is not None else f" (with {same})"
    if next_cursor:
        console.print(f"next page: {base} --cursor {next_cursor}{tail}", highlight=False, markup=False,
                      soft_wrap=True)
    if has_prev:
        back = f" --cursor {prev_cursor}" if prev_cursor else ""
        console.print(f"previous page: {base}{back}{tail}", highlight=False, markup=False, soft_wrap=True)


def _given_options() -> str | None:
    """The options the running command was given on its command line, quoted for a shell, without
    --cursor; None outside a command."""
    ctx = get_current_context(silent=True)  # typer's own (vendored) click context
    if ctx is None:
        return None
    words: list[str] = []
    for param in ctx.command.params:
        if param.param_type_name != "option" or param.name in (None, "cursor"):
            continue
        source = ctx.get_parameter_source(param.name)
        if source is None or source.name in ("DEFAULT", "DEFAULT_MAP"):
            continue
        value = ctx.params.get(param.name)
        if getattr(param, "is_flag", False):
            flags = param.opts if value else getattr(param, "secondary_opts", [])
            words += flags[:1]
        elif param.multiple:
            for item in value or ():
                words += [param.opts[0], str(item)]
        elif value is not None:  # a database URL is shown without its password
            words += [param.opts[0], shown_url(str(value)) if param.name == "db" else str(value)]
    return shlex.join(words)
