"""A side-by-side view of two texts (ruleset YAML files): aligned rows, changed lines paired, the
changed characters within a pair marked, unchanged stretches folded to a few lines of context.

Rows carry text segments, not HTML; the template escapes them and wraps changed ones in <del>/<ins>.
"""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import BaseModel

CONTEXT = 3


class Segment(BaseModel):
    text: str
    changed: bool = False


class DiffRow(BaseModel):
    kind: Literal["equal", "replace", "delete", "insert", "hunk"]
    left_no: int | None = None
    right_no: int | None = None
    left: list[Segment] = []
    right: list[Segment] = []
    note: str = ""


def _intraline(a: str, b: str) -> tuple[list[Segment], list[Segment]]:
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    left: list[Segment] = []
    right: list[Segment] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if i2 > i1:
            left.append(Segment(text=a[i1:i2], changed=tag != "equal"))
        if j2 > j1:
            right.append(Segment(text=b[j1:j2], changed=tag != "equal"))
    return left, right


def side_by_side(a: str, b: str, *, context: int = CONTEXT) -> list[DiffRow]:
    """Rows for a two-column diff of `a` (left, older) and `b` (right, newer)."""
    la, lb = a.splitlines(), b.splitlines()
    rows: list[DiffRow] = []
    sm = difflib.SequenceMatcher(None, la, lb, autojunk=False)
    for group in sm.get_grouped_opcodes(context):
        first = group[0]
        rows.append(DiffRow(kind="hunk", note=f"lines {first[1] + 1}–{group[-1][2]} → {first[3] + 1}–{group[-1][4]}"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for k in range(i2 - i1):
                    text = [Segment(text=la[i1 + k])]
                    rows.append(DiffRow(kind="equal", left_no=i1 + k + 1, right_no=j1 + k + 1, left=text, right=text))
                continue
            n = max(i2 - i1, j2 - j1)
            for k in range(n):
                li, rj = i1 + k, j1 + k
                has_l, has_r = li < i2, rj < j2
                if has_l and has_r:
                    left, right = _intraline(la[li], lb[rj])
                    rows.append(DiffRow(kind="replace", left_no=li + 1, right_no=rj + 1, left=left, right=right))
                elif has_l:
                    rows.append(DiffRow(kind="delete", left_no=li + 1, left=[Segment(text=la[li], changed=True)]))
                else:
                    rows.append(DiffRow(kind="insert", right_no=rj + 1, right=[Segment(text=lb[rj], changed=True)]))
    return rows
