"""`insert_many` on SQLite and PostgreSQL: the rows Core would write, shared values converted once."""

from __future__ import annotations

import datetime as dt
from typing import cast

import pytest
from sqlalchemy import Engine, Table, insert, select

from engine.bulk_insert import insert_many
from engine.db import unit_of_work
from engine.findings.tables import FindingEventRow, FindingRow

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def _finding(fid: str) -> dict[str, object]:
    return dict(id=fid, org_id="o", rule_id="R", framework="f", ruleset_version="1", title="t", citation="c",
                severity="low", advisory=False, kind="event", subject_type="access_event", subject_id=fid,
                occurrence_key="", establishment_id=None, status="violation", due=None, message="m", evidence=[],
                facts={}, sop="S", state="open", assignee=None, opened_at=AT, opened_by_run=None, resolved_at=None,
                resolved_by_run=None, last_seen_run=None, updated_at=AT, waiver_id=None)


def test_rows_are_written_as_core_writes_them(engine: Engine) -> None:
    events = cast(Table, FindingEventRow.__table__)
    with unit_of_work(engine) as s:
        s.connection().execute(insert(cast(Table, FindingRow.__table__)), [_finding("F1"), _finding("F2")])
        insert_many(s.connection(), events, {"at": AT, "actor": "me", "kind": "comment", "run_id": None},
                    ("finding_id", "reason", "from_state", "to_state"),
                    [("F1", "first", None, None), ("F2", "second", "open", "resolved")])
        s.connection().execute(insert(events), [
            {"finding_id": "F1", "reason": "first", "from_state": None, "to_state": None, "at": AT, "actor": "me",
             "kind": "comment", "run_id": None}])
    with unit_of_work(engine) as s:
        rows = s.scalars(select(FindingEventRow).order_by(FindingEventRow.id)).all()
        got = [(r.finding_id, r.reason, r.from_state, r.to_state, r.at.replace(tzinfo=dt.UTC) if r.at.tzinfo is None
                else r.at, r.actor, r.kind) for r in rows]
    assert got[0] == got[2] == ("F1", "first", None, None, AT, "me", "comment")  # ours, then Core's
    assert got[1] == ("F2", "second", "open", "resolved", AT, "me", "comment")


def test_a_row_of_the_wrong_length_is_refused(engine: Engine) -> None:
    with unit_of_work(engine) as s, pytest.raises(ValueError, match="a row of 1 values for 2 columns"):
        insert_many(s.connection(), cast(Table, FindingEventRow.__table__),
                    {"at": AT, "actor": "me", "kind": "comment"}, ("finding_id", "reason"), [("F1",)])
