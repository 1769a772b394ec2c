"""The findings and tasks exports on SQLite and PostgreSQL: the CSV is the list (same filters, scope
and order, every row however many batches it takes), it parses back, and a cell a spreadsheet would
run as a formula comes out as text."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, update

from engine import clock, pipeline, timefmt
from engine.db import unit_of_work
from engine.errors import InputError
from engine.findings import export as findings_export
from engine.findings import service as findings
from engine.findings.schemas import Finding, FindingFilter, FindingScope
from engine.findings.tables import FindingRow
from engine.tasks import export as tasks_export
from engine.tasks import service as tasks
from engine.tasks.schemas import TaskFilter, TaskViewer
from engine.tasks.tables import TaskRow
from tests import factories as f

ORG = "clinic-a"
AS_OF = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.usefixtures("fixture_rules_and_policies")


@pytest.fixture
def practice(engine: Engine) -> Engine:
    """Two sites: three untrained new hires (high: E1 twice, E2 once) and two record exports (medium,
    org-wide), each finding with its SOP task (P-HR1, P-HR2 or the fallback P-CO)."""
    records = [f.establishment("E1"), f.establishment("E2", tz="America/New_York", state="NY"),
               f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"), f.episode("EP2", "P2", "2026-02-02T09:00:00-06:00"),
               f.episode("EP3", "P3", "2026-02-05T09:00:00-05:00", est="E2"),
               f.access("AE1", "U1", "PT1", "2026-03-02T10:00:00-06:00", action="export"),
               f.access("AE2", "U2", "PT2", "2026-03-03T10:00:00-06:00", action="export")]
    with clock.frozen(AS_OF):
        with unit_of_work(engine) as s:
            pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test", stream=False)
        with unit_of_work(engine) as s:
            pipeline.evaluate(s, org_id=ORG, as_of=AS_OF, actor="test")
    return engine


def _parsed(lines: Iterator[str]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(lines), newline="")))


def _findings_csv(engine: Engine, **kw: object) -> list[dict[str, str]]:
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        return _parsed(findings_export.findings_csv(s, org_id=ORG, **kw))  # type: ignore[arg-type]


def _listed(engine: Engine, **kw: object) -> list[Finding]:
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        return findings.list_findings(s, org_id=ORG, limit=1000, **kw).items  # type: ignore[arg-type]


# -- findings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["newest", "severity", "due"])
def test_the_findings_csv_is_the_list_in_its_order_read_in_batches(practice: Engine, sort: str) -> None:
    listed = _listed(practice, sort=sort)
    assert len(listed) == 5
    rows = _findings_csv(practice, sort=sort, batch=2)  # three batches, the last one short
    assert [r["id"] for r in rows] == [x.id for x in listed]
    assert list(rows[0]) == list(findings_export.COLUMNS)
    by_id = {x.id: x for x in listed}
    for row in rows:
        x = by_id[row["id"]]
        assert (row["rule_id"], row["severity"], row["state"], row["subject_id"]) == (
            x.rule_id, x.severity, x.state, x.subject_id)
        assert row["opened_at"] == timefmt.iso_utc(x.opened_at) and row["opened_at"].endswith("Z")
        assert row["establishment_id"] == (x.establishment_id or "") and row["message"] == x.message
    assert _findings_csv(practice, sort=sort, batch=5) == rows == _findings_csv(practice, sort=sort, batch=1000)


def test_the_findings_csv_takes_the_lists_filters_and_scope(practice: Engine) -> None:
    for filters in (FindingFilter(severity="high"), FindingFilter(establishment_id="E2"), FindingFilter(org_wide=True),
                    FindingFilter(rule_id="DEMO-EXPORT-002", subject_id="access_event/AE2"),
                    FindingFilter(assignee="none")):
        expected = [x.id for x in _listed(practice, filters=filters)]
        assert expected, filters
        assert [r["id"] for r in _findings_csv(practice, filters=filters, batch=2)] == expected, filters
    high = _findings_csv(practice, filters=FindingFilter(severity="high"))
    assert {r["rule_id"] for r in high} == {"DEMO-TRN-001"} and len(high) == 3
    scope = FindingScope(framework="demo", window_from=dt.date(2026, 1, 1), window_to=dt.date(2026, 12, 31),
                         establishments=["E1"])
    e1 = _findings_csv(practice, scope=scope)
    assert {r["subject_id"] for r in e1} == {"EP1", "EP2"}
    assert [r["id"] for r in e1] == [x.id for x in _listed(practice, scope=scope)]


def test_a_filter_that_can_never_match_is_refused_before_any_line(practice: Engine) -> None:
    with clock.frozen(AS_OF), unit_of_work(practice) as s:
        with pytest.raises(InputError) as listed:
            findings.list_findings(s, org_id=ORG, filters=FindingFilter(severity="urgent", establishment_id="E9"))
        with pytest.raises(InputError) as exported:
            findings_export.findings_csv(s, org_id=ORG, filters=FindingFilter(severity="urgent", establishment_id="E9"))
        with pytest.raises(InputError):
            findings_export.findings_csv(s, org_id=ORG, sort="oldest")
    assert exported.value.message == listed.value.message == "2 problems with the filters"
    assert [d.reason for d in exported.value.details] == [d.reason for d in listed.value.details]


def test_a_findings_cell_that_would_run_as_a_formula_is_text(practice: Engine) -> None:
    with unit_of_work(practice) as s:
        fid = s.scalars(select(FindingRow.id).where(FindingRow.subject_id == "EP1")).one()
        s.execute(update(FindingRow).where(FindingRow.id == fid).values(
            title='=HYPERLINK("http://x.test","click")', subject_id="@SUM(A1)", message="-2+3+cmd|' /C calc'!A0"))
    (row,) = [r for r in _findings_csv(practice) if r["id"] == fid]
    assert row["title"] == '\'=HYPERLINK("http://x.test","click")'
    assert row["subject_id"] == "'@SUM(A1)" and row["message"] == "'-2+3+cmd|' /C calc'!A0"


def test_each_batch_goes_through_what_the_face_shows(practice: Engine) -> None:
    """The face's transformation (an auditor's pseudonyms) sees every finding, a batch at a time."""
    seen: list[int] = []

    def shown(batch: list[Finding]) -> list[Finding]:
        seen.append(len(batch))
        return [x.model_copy(update={"message": "hidden"}) for x in batch]

    rows = _findings_csv(practice, shown=shown, batch=2)
    assert seen == [2, 2, 1] and {r["message"] for r in rows} == {"hidden"}


# -- tasks ---------------------------------------------------------------------------------------


def _tasks_csv(engine: Engine, **kw: object) -> list[dict[str, str]]:
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        return _parsed(tasks_export.tasks_csv(s, org_id=ORG, **kw))  # type: ignore[arg-type]


def test_the_tasks_csv_is_the_list_by_due_date_read_in_batches(practice: Engine) -> None:
    with clock.frozen(AS_OF), unit_of_work(practice) as s:
        listed = tasks.list_tasks(s, org_id=ORG, limit=1000).items
    assert len(listed) == 5
    rows = _tasks_csv(practice, batch=2)
    assert [r["id"] for r in rows] == [t.id for t in listed]
    assert list(rows[0]) == list(tasks_export.COLUMNS)
    for row, t in zip(rows, listed, strict=True):
        assert (row["owner"], row["sop"], row["kind"], row["state"], row["due"]) == (
            t.owner, t.sop, t.kind, t.state, t.due.isoformat())
        assert row["late_from"] == timefmt.local_time(t.due_at, t.tz)  # as `vigil tasks show` says it
        assert row["overdue"] == ("true" if t.overdue else "false") and row["severity"] == (t.severity or "")
        assert row["finding_id"] == t.finding_id and row["created_at"] == timefmt.iso_utc(t.created_at)
    assert any(r["overdue"] == "true" for r in rows) and any(r["late_from"].endswith(" EDT") or
                                                             r["late_from"].endswith(" EST") for r in rows)
    assert _tasks_csv(practice, batch=1) == rows


def test_tasks_filter_by_severity_in_the_list_and_the_csv(practice: Engine) -> None:
    with clock.frozen(AS_OF), unit_of_work(practice) as s:
        high = tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(severity="high")).items
        both = tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(severity="medium,high")).items
        with pytest.raises(InputError) as listed:
            tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(severity="urgent"))
        with pytest.raises(InputError) as exported:
            tasks_export.tasks_csv(s, org_id=ORG, filters=TaskFilter(severity="urgent"))
    assert len(high) == 3 and {t.severity for t in high} == {"high"} and len(both) == 5
    assert [r["id"] for r in _tasks_csv(practice, filters=TaskFilter(severity="high"))] == [t.id for t in high]
    (problem,) = listed.value.details
    assert problem.field == "severity" and "'urgent' is not a task severity" in problem.reason
    assert [d.reason for d in exported.value.details] == [problem.reason]


def test_staff_export_their_own_tasks_only(practice: Engine) -> None:
    hr1 = TaskViewer(actor="user:hr1", owners=frozenset({"P-HR1"}))
    rows = _tasks_csv(practice, viewer=hr1)
    assert len(rows) == 2 and {r["owner"] for r in rows} == {"P-HR1"}
    assert [r["id"] for r in _tasks_csv(practice, viewer=hr1, filters=TaskFilter(state="open", severity="high"))] == [
        r["id"] for r in rows]
    with clock.frozen(AS_OF), unit_of_work(practice) as s, pytest.raises(InputError) as refused:
        tasks_export.tasks_csv(s, org_id=ORG, viewer=hr1, filters=TaskFilter(owner="P-CO"))
    assert "is not you" in refused.value.details[0].reason


def test_a_task_title_that_would_run_as_a_formula_is_text(practice: Engine) -> None:
    with unit_of_work(practice) as s:
        s.execute(update(TaskRow).where(TaskRow.owner == "P-HR2").values(title="=1+2", owner_role="+role"))
    (row,) = [r for r in _tasks_csv(practice) if r["owner"] == "P-HR2"]
    assert (row["title"], row["owner_role"]) == ("'=1+2", "'+role")


def test_the_owners_a_manager_picks_from_are_those_who_own_tasks(practice: Engine) -> None:
    with unit_of_work(practice) as s:
        assert tasks.task_owners(s, org_id=ORG) == ["P-CO", "P-HR1", "P-HR2"]
        assert tasks.task_owners(s, org_id="elsewhere") == []
