"""Ids typed at the CLI: a finding, task or run named by the start of its id, as git takes a commit's.

`vigil findings show F-87481e` worked while `vigil tasks show T-86351b` and `vigil runs show
R-4926` answered "not found": one rule for the three kinds of id a person copies from a list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine.errors import ErrorDetail, InputError

#: A start names an id when it has at least this many hex digits after the letter and the dash.
PREFIX_DIGITS = 4
#: How many candidates an ambiguous start names.
CANDIDATES_SHOWN = 5


@dataclass(frozen=True)
class IdKind:
    """One kind of id: its letter, how many hex digits a whole one has, and what it names."""

    letter: str
    digits: int
    noun: str

    def start(self, text: str) -> str | None:
        """The lower-case start `text` is, with its letter, if it is one shorter than a whole id."""
        hexes = rf"[0-9a-fA-F]{{{PREFIX_DIGITS},{self.digits - 1}}}"
        found = re.fullmatch(rf"[{self.letter}{self.letter.lower()}]-({hexes})", text)
        return f"{self.letter}-{found.group(1).lower()}" if found else None


FINDING = IdKind("F", 16, "finding")
TASK = IdKind("T", 16, "task")
RUN = IdKind("R", 12, "evaluation run")


def whole_id(session: Any, org_id: str, given: str, kind: IdKind, *, field: str) -> str:
    """The id `given` names: itself when it is whole, else the one id of the org it starts. An
    ambiguous start is refused naming the candidates; a start of no id is returned as given, for
    the lookup's own "not found" answer."""
    text = given.strip()
    start = kind.start(text)
    if start is None:
        return text
    found = starting(session, kind, org_id=org_id, prefix=start, limit=CANDIDATES_SHOWN + 1)
    if len(found) > 1:
        more = " and more" if len(found) > CANDIDATES_SHOWN else ""
        raise InputError(f"{text} starts more than one {kind.noun}'s id", [ErrorDetail(
            reason=f"it starts {', '.join(found[:CANDIDATES_SHOWN])}{more}: give more of the id", field=field)],
            code="input.ambiguous_id")
    return str(found[0]) if found else text


def starting(session: Any, kind: IdKind, *, org_id: str, prefix: str, limit: int) -> list[str]:
    """The org's ids of `kind` that start with `prefix`, sorted, at most `limit` (a start holds only
    hex digits after the letter: no LIKE wildcard can be in it, and `autoescape` keeps it so)."""
    column, org = _columns(kind)
    return [str(i) for i in session.scalars(select(column).where(
        org == org_id, column.startswith(prefix, autoescape=True)).order_by(column).limit(limit))]


def _columns(kind: IdKind) -> tuple[Any, Any]:
    """The id and org columns of the table holding `kind` (imported when asked: each domain's tables)."""
    if kind is TASK:
        from engine.tasks.tables import TaskRow

        return TaskRow.id, TaskRow.org_id
    from engine.findings.tables import EvaluationRunRow, FindingRow

    row = FindingRow if kind is FINDING else EvaluationRunRow
    return row.id, row.org_id
