"""Session 35 task fixes on SQLite and PostgreSQL: a step ticked twice keeps who ticked it; the
Colorado impact assessment opens only at Colorado sites; each attachment downloads under its own
name, however many share its bytes."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from engine import clock, pipeline
from engine.audit.tables import AuditEntryRow
from engine.db import unit_of_work
from engine.tasks import recurrence
from engine.tasks import service as tasks
from engine.tasks.errors import EvidenceTypeRefused, TaskNotFound
from engine.tasks.schemas import TaskFilter
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
T = dt.datetime.fromisoformat
ORG = "clinic-35"
AT = T("2028-01-31T12:00:00+00:00")


@pytest.fixture(autouse=True)
def _policies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)


def _monthly_task(engine: Engine) -> str:
    with clock.frozen(AT), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.establishment()], actor="t", source="t", stream=False)
        recurrence.run_recurrence(s, org_id=ORG, as_of=AT)
        return tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(sop="SOP-MONTHLY-CHECK")).items[0].id


def _checks_written(engine: Engine, task_id: str) -> tuple[list[str], int]:
    with unit_of_work(engine) as s:
        history = [h.reason or "" for h in tasks.get_task(s, org_id=ORG, task_id=task_id).history
                   if h.kind == "checked"]
        audited = s.scalar(select(func.count()).select_from(AuditEntryRow).where(
            AuditEntryRow.action == "task.check", AuditEntryRow.entity_id == task_id))
    return [h[:11] for h in history], int(audited or 0)


def test_a_step_ticked_again_keeps_who_ticked_it_and_writes_nothing(engine: Engine) -> None:
    """Probe: staff ticked step 1; the officer, from a page loaded earlier, ticked it again, and
    done_by became user:officer with a second "checked step 1 done" in the history."""
    task_id = _monthly_task(engine)
    with clock.frozen(AT), unit_of_work(engine) as s:
        first, changed = tasks.check_step(s, org_id=ORG, task_id=task_id, step=1, actor="user:staff")
    assert changed and first.checklist[0].done_by == "user:staff"
    with clock.frozen(AT + dt.timedelta(hours=1)), unit_of_work(engine) as s:
        again, changed = tasks.check_step(s, org_id=ORG, task_id=task_id, step=1, actor="user:officer")
    assert not changed
    assert (again.checklist[0].done_by, again.checklist[0].done_at) == ("user:staff", first.checklist[0].done_at)
    assert _checks_written(engine, task_id) == (["step 1 done"], 1)


def test_unticking_a_step_not_ticked_writes_nothing(engine: Engine) -> None:
    task_id = _monthly_task(engine)
    for _ in range(2):
        with clock.frozen(AT), unit_of_work(engine) as s:
            task, changed = tasks.check_step(s, org_id=ORG, task_id=task_id, step=2, actor="u", done=False)
            assert not changed and not task.checklist[1].done
    assert _checks_written(engine, task_id) == ([], 0)
    with clock.frozen(AT), unit_of_work(engine) as s:  # a real change is still recorded
        tasks.check_item(s, org_id=ORG, task_id=task_id, step=2, actor="u")
        tasks.check_item(s, org_id=ORG, task_id=task_id, step=2, actor="u", done=False)
    assert _checks_written(engine, task_id) == (["step 2 done", "step 2 not "], 2)


def test_the_colorado_impact_assessment_opens_only_at_colorado_sites(engine: Engine,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe: "Complete the Colorado impact assessment" opened yearly at New York, Chicago, Honolulu
    and San Antonio as well as Denver; its text named the site as the tool."""
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(REPO_POLICIES))
    sites = [f.establishment("E-DEN", tz="America/Denver", state="CO"),
             f.establishment("E-NYC", tz="America/New_York", state="NY")]
    with clock.frozen(AT), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=sites, actor="t", source="t", stream=False)
        recurrence.run_recurrence(s, org_id=ORG, as_of=AT)
        opened = tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(sop="SOP-AI-CO-IMPACT")).items
        training = tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(sop="SOP-HIPAA-TRAINING")).items
    assert [t.establishment_id for t in opened] == ["E-DEN"]
    assert "for each high-risk AI tool" in opened[0].checklist[1].text and "tool E-DEN" not in opened[0].body
    assert sorted(t.establishment_id or "" for t in training) == ["E-DEN", "E-NYC"]  # no `only_where`: every site


def test_each_attachment_downloads_under_its_own_name(engine: Engine) -> None:
    """Probe: the same bytes attached as a.txt and b.html both came down as a.txt (looked up by hash)."""
    task_id = _monthly_task(engine)
    with clock.frozen(AT), unit_of_work(engine) as s:
        a = tasks.attach_evidence(s, org_id=ORG, task_id=task_id, actor="u", stream=io.BytesIO(b"same\n"),
                                  filename="a.txt")
        b = tasks.attach_evidence(s, org_id=ORG, task_id=task_id, actor="u", stream=io.BytesIO(b"same\n"),
                                  filename="b.html")
        odd = tasks.attach_evidence(s, org_id=ORG, task_id=task_id, actor="u", stream=io.BytesIO(b"odd\n"),
                                    filename="<script>alert(1)</script>.txt")
    assert a.sha256 == b.sha256 and odd.filename == "<script>alert(1)<_script>.txt"
    with unit_of_work(engine) as s:
        assert tasks.get_attachment(s, org_id=ORG, task_id=task_id, attachment_id=b.id).filename == "b.html"
        assert tasks.get_attachment(s, org_id=ORG, task_id=task_id, attachment_id=a.id).filename == "a.txt"
        assert tasks.get_attachment(s, org_id=ORG, task_id=task_id, sha256=a.sha256).filename == "a.txt"  # old links
        with pytest.raises(TaskNotFound, match="no attachment 999999"):
            tasks.get_attachment(s, org_id=ORG, task_id=task_id, attachment_id=999999)


@pytest.mark.parametrize("name", ["evil.bat.", "evil.bat ", "evil.cmd...", "evil.url"])
def test_a_runnable_name_behind_trailing_dots_is_refused(engine: Engine, name: str) -> None:
    task_id = _monthly_task(engine)
    with pytest.raises(EvidenceTypeRefused, match="named to run") as refused, unit_of_work(engine) as s:
        tasks.attach_evidence(s, org_id=ORG, task_id=task_id, actor="u", stream=io.BytesIO(b"echo hi\n"),
                              filename=name)
    assert "ends in ." in refused.value.details[0].reason
