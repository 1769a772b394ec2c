"""The findings list in each of its orders, paged forward and back, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json

import pytest
from sqlalchemy import Engine

from engine.db import unit_of_work
from engine.errors import InputError
from engine.findings import service as findings
from engine.findings.tables import FindingRow

ORG = "clinic-a"
BASE = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
SEVERITIES = ("low", "critical", "medium", "high")
DUES = (None, "2026-04-01", "2026-03-15", "2026-03-15T18:00:00Z", None, "2026-05-01")


def _row(i: int) -> FindingRow:
    """Finding i: severities and due dates cycle, and every third shares its opening instant with
    the one before (ties the last keys must settle)."""
    opened = BASE + dt.timedelta(hours=i - i % 3 // 2)
    return FindingRow(id=f"F{i:03d}", org_id=ORG, rule_id="R-1", framework="demo", ruleset_version="1.0.0",
                      title="t", citation="c", severity=SEVERITIES[i % 4], subject_type="person",
                      subject_id=f"P{i}", occurrence_key="", status="overdue" if DUES[i % 6] else "violation",
                      due=DUES[i % 6], message="m", evidence=[], facts={}, sop="SOP-X", state="open",
                      opened_at=opened, updated_at=opened)


@pytest.fixture
def stored(engine: Engine) -> list[FindingRow]:
    rows = [_row(i) for i in range(23)]
    with unit_of_work(engine) as s:
        s.add_all(rows)
    return [_row(i) for i in range(23)]


def _expected(rows: list[FindingRow], sort: str) -> list[str]:
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    newest = sorted(rows, key=lambda r: (r.opened_at, r.id), reverse=True)
    if sort == "newest":
        return [r.id for r in newest]
    if sort == "severity":
        return [r.id for r in sorted(newest, key=lambda r: rank[r.severity])]  # stable: newest within a severity
    return [r.id for r in sorted(newest, key=lambda r: (r.due is None, r.due or ""))]


@pytest.mark.parametrize("sort", ["newest", "severity", "due"])
def test_each_order_pages_forward_and_back_through_every_finding_once(engine: Engine, stored: list[FindingRow],
                                                                       sort: str) -> None:
    expected = _expected(stored, sort)
    assert expected[0] == {"newest": "F022", "severity": "F021", "due": "F020"}[sort]  # the fixture is as meant
    pages: list[list[str]] = []
    cursors: list[str | None] = [None]
    with unit_of_work(engine) as s:
        while True:
            page = findings.list_findings(s, org_id=ORG, limit=4, cursor=cursors[-1], sort=sort)
            pages.append([x.id for x in page.items])
            assert page.total == 23
            if not page.next_cursor:
                break
            cursors.append(page.next_cursor)
        assert list(itertools.chain(*pages)) == expected
        for k in range(len(pages) - 1, 0, -1):  # and back: each page's previous page is the one before it
            page = findings.list_findings(s, org_id=ORG, limit=4, cursor=cursors[k], sort=sort)
            assert page.has_prev and page.prev_cursor == cursors[k - 1]
            back = findings.list_findings(s, org_id=ORG, limit=4, cursor=page.prev_cursor, sort=sort)
            assert [x.id for x in back.items] == pages[k - 1]


def test_a_cursor_of_one_order_is_refused_in_another_and_an_unknown_order_is_named(
        engine: Engine, stored: list[FindingRow]) -> None:
    with unit_of_work(engine) as s:
        cursor = findings.list_findings(s, org_id=ORG, limit=4, sort="due").next_cursor
        assert cursor is not None
        with pytest.raises(InputError, match="another order") as refused:
            findings.list_findings(s, org_id=ORG, limit=4, cursor=cursor, sort="severity")
        assert refused.value.details[0].field == "cursor" and "sorted by due" in refused.value.details[0].reason
        with pytest.raises(InputError, match="unknown sort 'worst'") as unknown:
            findings.list_findings(s, org_id=ORG, sort="worst")
        assert "newest, severity, due" in unknown.value.details[0].reason


def test_a_cursor_of_the_first_form_still_opens_its_page(engine: Engine, stored: list[FindingRow]) -> None:
    """Cursors written before orders existed ([opened_at, id], newest first): a bookmarked page."""
    with unit_of_work(engine) as s:
        first = findings.list_findings(s, org_id=ORG, limit=4)
        last = first.items[-1]
        old = base64.urlsafe_b64encode(json.dumps([last.opened_at.isoformat(), last.id]).encode()).decode()
        assert [x.id for x in findings.list_findings(s, org_id=ORG, limit=4, cursor=old).items] == \
            _expected(stored, "newest")[4:8]


def test_due_order_is_when_each_deadline_passes_not_the_text_of_due(engine: Engine) -> None:
    """A date passes at local midnight after it, an instant at the instant: as text, the Los Angeles
    date 2026-12-02 (passing 2026-12-03T08:00Z) sorted before an instant passing seven hours sooner."""
    def row(fid: str, due: str, passes: str) -> FindingRow:
        return FindingRow(id=fid, org_id=ORG, rule_id="R-1", framework="demo", ruleset_version="1.0.0", title="t",
                          citation="c", severity="high", subject_type="person", subject_id=fid, occurrence_key="",
                          status="overdue", due=due, message="m", evidence=[],
                          facts={"deadline": {"due": due, "overdue_after": passes}}, sop="SOP-X", state="open",
                          opened_at=BASE, updated_at=BASE)

    with unit_of_work(engine) as s:
        s.add_all([row("F-DAY", "2026-12-02", "2026-12-03T08:00:00Z"),
                   row("F-HOUR", "2026-12-03T01:00:00Z", "2026-12-03T01:00:00Z"),
                   row("F-NYC", "2026-12-02", "2026-12-03T05:00:00Z")])
    with unit_of_work(engine) as s:
        first = findings.list_findings(s, org_id=ORG, limit=2, sort="due")
        assert [f.id for f in first.items] == ["F-HOUR", "F-NYC"]
        rest = findings.list_findings(s, org_id=ORG, limit=2, sort="due", cursor=first.next_cursor)
        assert [f.id for f in rest.items] == ["F-DAY"]
