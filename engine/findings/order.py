"""The orders a findings list can be read in, and the keyset cursors that page through each.

Why more than newest first: an officer working down the list wants the worst first (critical,
then high, ...) or the nearest deadline first, and a list of hundreds paged newest first hides
both. Every order ends with (opened_at, id), newest first, so it is total and a page boundary
never splits ties; every key is non-null (a finding without a due date sorts after every dated
one through a key of its own), so "after the cursor" is one plain comparison per key.

A cursor names its order: one taken in another order is refused rather than read as a place in
this one. Cursors of the first form (newest first, before orders existed) still open their page.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, not_, or_
from sqlalchemy.orm import InstrumentedAttribute

from engine.db import utc
from engine.errors import ErrorDetail, InputError, invalid_cursor
from engine.findings.tables import FindingRow

SortName = Literal["newest", "severity", "due"]
SORTS: tuple[SortName, ...] = ("newest", "severity", "due")
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)
class Key:
    """One sort key: its SQL expression, its direction, and its value on a loaded row."""

    expr: ColumnElement[Any] | InstrumentedAttribute[Any]
    descending: bool
    of: Any  # Callable[[FindingRow], JSON-able value]
    kind: type = str  # what `of` gives: a cursor's value of another type was never given out

    def holds(self, value: Any) -> bool:
        """Whether a cursor's value could be this key's: a small rank for a number (a forged
        10**30 or a list had reached the database and answered 500), a bounded text for a text."""
        if self.kind is int:
            return type(value) is int and 0 <= value <= len(SEVERITY_RANK)
        return isinstance(value, str) and len(value) <= 512 and "\x00" not in value  # PostgreSQL refuses NUL

    def beyond(self, value: Any) -> ColumnElement[bool]:
        return self.expr < value if self.descending else self.expr > value


_OPENED = Key(FindingRow.opened_at, True, lambda r: utc(r.opened_at).isoformat())
_ID = Key(FindingRow.id, True, lambda r: r.id)
_RANK = Key(case(SEVERITY_RANK, value=FindingRow.severity, else_=len(SEVERITY_RANK)), False,
            lambda r: SEVERITY_RANK.get(r.severity, len(SEVERITY_RANK)), int)
_UNDATED = Key(case((FindingRow.due.is_(None), 1), else_=0), False, lambda r: 1 if r.due is None else 0, int)
def _overdue_after(row: FindingRow) -> str:
    deadline = row.facts.get("deadline") if isinstance(row.facts, dict) else None
    passed = deadline.get("overdue_after") if isinstance(deadline, dict) else None
    return str(passed or row.due or "")


#: When the deadline passes, in UTC (`facts.deadline.overdue_after`, ISO text with Z, so text order is
#: time order). Not `due`: a local date ("2026-12-03", passing at local midnight) and an instant
#: ("2026-12-03T01:00:00Z") compared as text put a deadline a day later first. A finding written
#: before the fact existed falls back to `due` until its next run refreshes it.
_DUE = Key(func.coalesce(FindingRow.facts[("deadline", "overdue_after")].as_string(), FindingRow.due, ""), False,
           _overdue_after)

KEYS: dict[str, tuple[Key, ...]] = {
    "newest": (_OPENED, _ID),
    "severity": (_RANK, _OPENED, _ID),
    "due": (_UNDATED, _DUE, _OPENED, _ID),
}


@dataclass(frozen=True)
class Order:
    """One order of the list: its keys, and the predicates and cursors of keyset paging."""

    name: str
    keys: tuple[Key, ...]

    @classmethod
    def named(cls, name: str | None) -> Order:
        chosen = name or "newest"
        if chosen not in KEYS:
            raise InputError(f"unknown sort {chosen!r}", [ErrorDetail(
                reason=f"sort by one of: {', '.join(SORTS)}", field="sort")])
        return cls(chosen, KEYS[chosen])

    def clauses(self, *, reverse: bool = False) -> list[ColumnElement[Any]]:
        """ORDER BY clauses, or those of the opposite order (to read the rows above a cursor)."""
        return [k.expr.desc() if k.descending != reverse else k.expr.asc() for k in self.keys]

    def after(self, values: list[Any]) -> ColumnElement[bool]:
        """Rows that come after the row whose key values are `values`, in this order."""
        alternatives = []
        for i, key in enumerate(self.keys):
            equal = [k.expr == v for k, v in zip(self.keys[:i], values[:i], strict=True)]
            alternatives.append(and_(*equal, key.beyond(values[i])))
        return or_(*alternatives)

    def not_after(self, values: list[Any]) -> ColumnElement[bool]:
        """The row with these key values and every row before it."""
        return not_(self.after(values))

    def cursor(self, row: FindingRow) -> str:
        values = [k.of(row) for k in self.keys]
        return base64.urlsafe_b64encode(json.dumps({"sort": self.name, "after": values}).encode()).decode()

    def read(self, cursor: str) -> list[Any]:
        """The key values a cursor of this order holds (as SQL parameters: the instant a datetime)."""
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            if isinstance(raw, list):  # the first form: [opened_at, id], newest first
                raw = {"sort": "newest", "after": raw}
            name, values = raw["sort"], raw["after"]
            if not isinstance(values, list) or len(values) != len(KEYS.get(name, ())):
                raise ValueError("not a findings cursor")
            if not all(key.holds(value) for key, value in zip(KEYS[name], values, strict=True)):
                raise ValueError("not a findings cursor")
            # a finding's id last, and its opening instant (not a date) before it: the tasks list's
            # cursor, [due date, task id], had read as this one's first form and given an empty page
            if not str(values[-1]).startswith("F") or "T" not in str(values[-2]):
                raise ValueError("not a findings cursor")
        except (ValueError, TypeError, KeyError, RecursionError):  # RecursionError: `[[[...]]]` nested deep
            raise invalid_cursor() from None
        if name != self.name:
            raise InputError("the cursor belongs to another order of the list", [ErrorDetail(
                reason=f"it pages the list sorted by {name}, not by {self.name}; start again without it",
                field="cursor")])
        try:
            values[-2] = dt.datetime.fromisoformat(values[-2])  # opened_at, every order's last key but one
        except (ValueError, TypeError):
            raise invalid_cursor() from None
        return [str(v) if isinstance(v, str) else v for v in values]
