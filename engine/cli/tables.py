"""Tables the CLI prints: ids whole, free text squeezed.

An id (finding, task, run, SOP, rule) is what a user pastes into the next command, so it is never
cut with an ellipsis, in an 80-column terminal or in a pipe (where rich renders at 80 columns):
id and other short columns (states, dates) do not wrap, and only if even they cannot fit do they
fold onto a second line, every character kept. Free text (titles, messages, subjects) takes
whatever width is left, wrapped and cut with an ellipsis after a line or two, so one row stays one
or two lines high. Where a table has more short columns than 80 columns hold, two related values
share a cell, one above the other (a finding's id over its rule id).

A listing cut by --limit says so in its title ("3 of 179 findings").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

ELLIPSIS = "…"


def keep(header: str, **options: object) -> Column:
    """A column of ids or short values: never wrapped or cut (folded only as a last resort)."""
    return Column(header, no_wrap=True, overflow="fold", **options)  # type: ignore[arg-type]


def squeeze(header: str, **options: object) -> Column:
    """A column of free text (cells of `Clamp`): takes what width the others leave."""
    return Column(header, overflow="fold", **options)  # type: ignore[arg-type]


def table(*columns: Column, title: str | None = None, stacked_rows: bool = True) -> Table:
    """A listing in the usual box; rows two lines high are ruled apart, so a row reads as one."""
    return Table(*columns, title=title, show_lines=stacked_rows)


def stacked(*values: str | None) -> Text:
    """Values shown one above the other in one cell (each kept whole)."""
    return Text("\n".join(v or "-" for v in values))


def counted(shown: int, total: int, noun: str, plural: str | None = None) -> str:
    """A listing's title: how many there are and, when --limit cut the list, how many are shown."""
    word = noun if total == 1 else (plural or noun + "s")
    if shown >= total:
        return f"{total} {word}"
    return f"{shown} of {total} {word} (raise --limit to see more)"


class Clamp:
    """Free text wrapped to the cell's width and cut after `lines` lines with an ellipsis."""

    def __init__(self, text: str, lines: int = 1, *, above: str | None = None) -> None:
        self.text = Text(" ".join(text.split()))
        self.lines = lines
        self.above = above  # an id kept whole on the first line (e.g. a subject, an SOP id)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = Measurement.get(console, options, self.text)
        if self.above:
            width = Measurement(max(width.minimum, len(self.above)), max(width.maximum, len(self.above)))
        return Measurement(min(width.minimum, 8), width.maximum).with_maximum(options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width, 1)
        if self.above:
            yield Text(self.above, overflow="fold")
        yield from self._clamped(console, width)

    def _clamped(self, console: Console, width: int) -> Iterator[Text]:
        lines = list(self.text.wrap(console, width, overflow="fold"))
        if len(lines) <= self.lines:
            yield from lines
            return
        kept = lines[: self.lines]
        last = Text(kept[-1].plain.rstrip() + ELLIPSIS)
        if last.cell_len > width:
            last = Text(kept[-1].plain[: max(width - 1, 0)].rstrip() + ELLIPSIS)
        yield from kept[:-1]
        yield last


def due_zones(session: Any, org_id: str) -> dict[str, str]:
    """The zone of each establishment of the org, by id (`due_shown` reads an hour deadline in it)."""
    from engine.tasks import store

    return store.establishment_zones(session, org_id=org_id)


def due_shown(due: str | None, zones: dict[str, str], establishment_id: str | None) -> str:
    """A finding's due date as the web pages show it (`engine.timefmt`): a local date as written, an
    hour deadline in its establishment's local time with the zone ("2026-11-27 16:00 EST"; an
    org-wide finding in the practice's zone, as its task's), not the UTC instant stored ("2026-11-27T21:00:00Z")
    among local dates. `--json` keeps the stored value."""
    from engine import timefmt
    from engine.tasks import store

    return timefmt.due_text(due, store.zone_of(zones, establishment_id), missing="-")
