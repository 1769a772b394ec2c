"""The findings list as CSV: what a compliance officer takes to a spreadsheet or a meeting.

One use case behind every face (REST `GET /findings/export.csv`, `vigil findings export`, the web
list's "Download CSV"): the findings a `FindingFilter` and a reader's scope admit, the same
statement a page of `list_findings` reads (`reads.filtered`), in the order `sort` names. A large
practice has thousands, so they are read `BATCH` at a time by keyset (as the list's cursor pages)
and written a line at a time: nothing holds the whole list. Every cell goes through
`engine.cells.csv_cell`, as the packet's findings.csv does, so a title or a subject that starts with
`=` reads as text in a spreadsheet rather than running as a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from engine import timefmt
from engine.cells import csv_lines
from engine.findings import reads
from engine.findings.order import Order
from engine.findings.schemas import Finding, FindingFilter, FindingScope
from engine.findings.tables import FindingRow

#: the columns, in order: the finding, what it is about and where, its dates, who has it, and why
COLUMNS: tuple[str, ...] = (
    "id", "rule_id", "framework", "severity", "state", "status", "title", "subject_type", "subject_id",
    "occurrence_key", "establishment_id", "due", "opened_at", "last_seen_run", "resolved_at", "assignee",
    "citation", "ruleset_version", "message",
)  # fmt: skip
#: findings read per statement: big enough that a practice's thousands take a few dozen reads,
#: small enough that a batch (and its pseudonymisation) stays a few megabytes
BATCH = 500

#: what a face does to each batch before it is written (an auditor's pseudonyms); None: nothing
Shown = Callable[[list[Finding]], list[Finding]]


def findings_csv(session: Session, *, org_id: str, filters: FindingFilter | None = None,
                 scope: FindingScope | None = None, sort: str | None = None, shown: Shown | None = None,
                 batch: int = BATCH) -> Iterator[str]:
    """The CSV lines (header first, CRLF-terminated) of the findings `filters` and `scope` admit, in
    the order `sort` names (`engine.findings.order`), read `batch` at a time.

    The filters and the sort are checked here, before any line is made: a value that can never match
    raises `InputError` (and one outside `scope` `PermissionDeniedError`) as `list_findings` does,
    so a face can refuse the request before it starts a download. `shown` transforms each batch
    (`engine.api.pseudonyms.PatientPseudonyms.findings` for a pseudonymised grant)."""
    order = Order.named(sort)
    stmt = reads.filtered(session, org_id=org_id, filters=filters, scope=scope)
    return csv_lines(COLUMNS, (row for found in _batches(session, stmt, order, batch)
                               for row in map(_row, shown(found) if shown is not None else found)))


def _batches(session: Session, stmt: Select[FindingRow], order: Order, batch: int) -> Iterator[list[Finding]]:
    """The findings of `stmt` in `order`, `batch` at a time, each read after the last of the one
    before (keyset: the keys a page cursor holds, so a batch boundary never splits ties)."""
    after: list[Any] | None = None
    while True:
        page = stmt if after is None else stmt.where(order.after(after))
        rows = list(session.scalars(page.order_by(*order.clauses()).limit(batch)))
        if rows:
            yield [reads.to_finding(r, []) for r in rows]
        if len(rows) < batch:
            return
        after = order.read(order.cursor(rows[-1]))  # the last row's keys, as SQL parameters


def _row(f: Finding) -> list[Any]:
    return [f.id, f.rule_id, f.framework, f.severity, f.state, f.status, f.title, f.subject_type, f.subject_id,
            f.occurrence_key, f.establishment_id, f.due, timefmt.iso_utc(f.opened_at), f.last_seen_run,
            timefmt.iso_utc(f.resolved_at), f.assignee, f.citation, f.ruleset_version, f.message]

