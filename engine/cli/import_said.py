"""What an import says on stderr besides its counts: files that held no records, records naming one
the organization does not hold, and records the rules pass over (no date a deadline counts from, a
field some rule needs). `vigil import` says it, and so does `vigil evaluate --records`, whose import
had said nothing: an incident naming an establishment that was not given was judged in the practice's
zone without a word."""

from __future__ import annotations

from pathlib import Path

from engine.cli.app import err_console
from engine.records import references, undated
from engine.records.connectors import hr_roster_import, leie_screen
from engine.records.schemas import ImportReport

#: How many unknown references, and how many passed-over records, stderr lists (--json carries up to 100).
REFERENCES_SHOWN = 20
PASSED_OVER_SHOWN = 20


def import_warnings(files: list[Path], report: ImportReport, *, listed_in: str = "--json") -> list[str]:
    """The warning lines of an import of `files`; `listed_in` says where the full lists are."""
    # a supplement naming nobody of the workforce writes nothing, and says so in its own line (leie_screen)
    nothing = report.total == 0 and not report.leie_supplement
    empty = files if nothing else [p for p in files if p.is_file() and p.stat().st_size == 0]
    lines = [f"no records in {path}" for path in empty]
    lines += references.reference_lines(report, shown=REFERENCES_SHOWN, listed_in=listed_in)
    lines += undated.warning_lines(report, shown=PASSED_OVER_SHOWN, listed_in=listed_in)
    roster = hr_roster_import.not_listed_line(report)
    lines += leie_screen.warning_lines(report, shown=PASSED_OVER_SHOWN, listed_in=listed_in)
    return lines + ([roster] if roster else [])


def say(lines: list[str]) -> None:
    for line in lines:
        err_console.print(f"warning: {line}", highlight=False, markup=False, soft_wrap=True)
