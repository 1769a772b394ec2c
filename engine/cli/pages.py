"""Paging a CLI listing cut by --limit: its title, and the commands for the pages around it."""

from __future__ import annotations

from engine.cli.app import console


def paged_title(shown: int, total: int, noun: str) -> str:
    """A listing's title: how many there are, and how many of them this page shows (the next page is
    printed under the table, see `print_pages`)."""
    word = noun if total == 1 else noun + "s"
    return f"{total} {word}" if shown >= total else f"{shown} of {total} {word}"


def print_pages(command: str, same: str, *, next_cursor: str | None, has_prev: bool = False,
                prev_cursor: str | None = None) -> None:
    """Under a listing cut by --limit: the command for the next page (and the previous one), ready to
    paste; the cursor is whole on one line."""
    if next_cursor:
        console.print(f"next page: {command} --cursor {next_cursor} (with {same})", highlight=False,
                      markup=False, soft_wrap=True)
    if has_prev:
        back = f"--cursor {prev_cursor}" if prev_cursor else "without --cursor"
        console.print(f"previous page: {command} {back} (with {same})", highlight=False, markup=False,
                      soft_wrap=True)
