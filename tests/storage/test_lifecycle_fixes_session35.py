"""Findings and their tasks through a lifecycle black-box pass, on SQLite and PostgreSQL.

- A finding about something finished (an event rule's, a deadline met late) is closed by a person
  and stays closed while the rule reports the same thing; its task closes, and completing its task
  while it is open confirms the task instead of reopening it after every evaluation.
- A task that reopens takes the due date and severity its finding has now (it had kept its first
  ones, so it read overdue and escalated before the finding's real deadline).
- A finding waived when it first appeared gets its task when the waiver is revoked or expires.
- A false positive whose run cites records it did not cite when it was marked reopens.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.errors import InputError, InvalidTransition
from engine.findings import lifecycle
from engine.findings import service as findings
from engine.findings.schemas import Finding, FindingFilter, WaiverIn
from engine.rules.schemas import EvidenceRef, RunResult, SubjectRef, Violation
from engine.tasks import escalation
from engine.tasks import service as tasks
from engine.tasks.schemas import Task, TaskFilter
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
T = dt.datetime.fromisoformat
ORG = "clinic-a"
START = "2026-02-01T09:00:00-06:00"  # DEMO-TRN-001: training due 2026-03-03 (30 days), due soon from 02-24


@pytest.fixture(autouse=True)
def _policies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The fixture rulesets, with DEMO-TRN-001 reporting a late training and critical once overdue."""
    shutil.copytree(FIXTURES / "rulesets", tmp_path / "rulesets")
    path = tmp_path / "rulesets" / "demo" / "demo-1.0.0.yaml"
    path.write_text(path.read_text().replace(
        "      warn: {days: 7}\n",
        "      warn: {days: 7}\n      late: true\n"
        "      severity: {overdue: critical, due_soon: medium, late: medium}\n", 1))
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(tmp_path / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)


def _import(engine: Engine, records: list[dict]) -> None:
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test", stream=False)


def _evaluate(engine: Engine, as_of: str) -> dict[str, int]:
    with clock.frozen(T(as_of)), unit_of_work(engine) as s:
        result = pipeline.evaluate(s, org_id=ORG, as_of=T(as_of), actor="test")
    assert result.tasks is not None
    return result.tasks


def _finding(engine: Engine, subject: str, rule: str | None = None) -> Finding:
    with unit_of_work(engine) as s:
        (item,) = findings.list_findings(s, org_id=ORG, filters=FindingFilter(subject_id=subject, rule_id=rule)).items
        return findings.get_finding(s, org_id=ORG, finding_id=item.id)


def _task(engine: Engine, finding_id: str) -> Task:
    with unit_of_work(engine) as s:
        page = tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(finding_id=finding_id))
        (item,) = page.items
        return tasks.get_task(s, org_id=ORG, task_id=item.id)


def _tasks_of(engine: Engine, finding_id: str) -> list[Task]:
    with unit_of_work(engine) as s:
        return tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(finding_id=finding_id)).items


def _act(engine: Engine, finding_id: str, action: str, reason: str | None, at: str) -> None:
    with clock.frozen(T(at)), unit_of_work(engine) as s:
        pipeline.act_on_finding(s, org_id=ORG, finding_id=finding_id, action=action, actor="user:officer",
                                reason=reason)


def _export(id: str, at: str) -> dict:
    return f.access(id, "U1", "PT1", at, action="export")


# -- 1. closing a finished finding ------------------------------------------------------------------


def test_an_event_finding_closed_by_a_person_stays_closed_and_its_done_task_holds(engine: Engine) -> None:
    _import(engine, [f.establishment(), _export("AE-1", "2026-03-02T10:00:00-06:00")])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    event = _finding(engine, "AE-1")
    assert event.kind == "event" and event.state == "open"
    task = _task(engine, event.id)
    with clock.frozen(T("2026-03-05T13:00:00+00:00")), unit_of_work(engine) as s:
        tasks.complete_task(s, org_id=ORG, task_id=task.id, actor="user:hr1", note="export recalled, user retrained")
    for day in ("2026-03-06", "2026-03-07"):  # the event stays in the records: the rule reports it every run
        counts = _evaluate(engine, f"{day}T12:00:00+00:00")
        assert counts["reopened"] == 0, day
    task = _task(engine, event.id)
    assert task.state == "done" and task.confirmed_at is not None
    assert "reports an event that has happened" in (task.history[-1].reason or "")

    _act(engine, event.id, "close", "export recalled, patient told, user retrained", "2026-03-08T09:00:00+00:00")
    closed = _finding(engine, "AE-1")
    assert closed.state == "resolved" and closed.resolved_by_run is None
    assert closed.resolved_at == T("2026-03-08T09:00:00+00:00")
    last = closed.history[-1]
    assert (last.actor, last.from_state, last.to_state, last.reason) == (
        "user:officer", "open", "resolved", "export recalled, patient told, user retrained")

    _import(engine, [_export("AE-2", "2026-03-09T10:00:00-06:00")])  # a new occurrence: a new finding
    counts = _evaluate(engine, "2026-03-10T12:00:00+00:00")
    assert counts["reopened"] == 0
    again = _finding(engine, "AE-1")
    assert again.state == "resolved" and again.resolved_by_run is None
    assert [h.to_state for h in again.history if h.kind == "transition"] == ["open", "resolved"]
    assert _finding(engine, "AE-2").state == "open" and _task(engine, _finding(engine, "AE-2").id).state == "open"


def test_closing_an_event_finding_closes_its_open_task_and_reopening_it_reopens_the_task(engine: Engine) -> None:
    _import(engine, [f.establishment(), _export("AE-1", "2026-03-02T10:00:00-06:00")])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    fid = _finding(engine, "AE-1").id
    _act(engine, fid, "close", "dealt with", "2026-03-05T13:00:00+00:00")
    task = _task(engine, fid)
    assert task.state == "closed" and "finding resolved: dealt with" in (task.history[-1].reason or "")
    _act(engine, fid, "reopen", "closed by mistake", "2026-03-05T14:00:00+00:00")
    assert _finding(engine, "AE-1").state == "open" and _finding(engine, "AE-1").resolved_at is None
    assert _task(engine, fid).state == "open"
    _evaluate(engine, "2026-03-06T12:00:00+00:00")
    assert _finding(engine, "AE-1").state == "open"  # reopened by hand, it is not closed again by a run


def test_a_deadline_met_late_is_closed_and_reopens_when_the_obligation_is_unmet_again(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")  # overdue
    _import(engine, [f.training("TR1", "P1", "2026-03-06T09:00:00-06:00")])  # three days late
    _evaluate(engine, "2026-03-06T18:00:00+00:00")
    late = _finding(engine, "EP1")
    assert (late.status, late.due) == ("violation", "2026-03-03")
    _act(engine, late.id, "close", "late training documented in the personnel file", "2026-03-07T09:00:00+00:00")
    _evaluate(engine, "2026-03-08T12:00:00+00:00")
    assert _finding(engine, "EP1").state == "resolved"
    # the training record was another person's: the obligation is unmet, the finding is overdue again
    _import(engine, [f.training("TR1", "P9", "2026-03-06T09:00:00-06:00")])
    _evaluate(engine, "2026-03-09T12:00:00+00:00")
    back = _finding(engine, "EP1")
    assert (back.state, back.status, back.resolved_at) == ("open", "overdue", None)
    assert "closed by hand, it is open again" in (back.history[-1].reason or "")
    assert _task(engine, back.id).state == "open"


def test_only_a_finished_finding_is_closed_with_a_reason_and_a_run_resolution_is_not_reopened_by_hand(
        engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START), _export("AE-1", "2026-03-02T10:00:00-06:00")])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    overdue, event = _finding(engine, "EP1"), _finding(engine, "AE-1")
    with pytest.raises(InvalidTransition) as refused:
        _act(engine, overdue.id, "close", "trained", "2026-03-05T13:00:00+00:00")
    assert refused.value.code == "conflict.finding_not_finished"
    assert "resolves by itself" in refused.value.details[0].reason
    with pytest.raises(InputError, match="closing a finding needs a reason"):
        _act(engine, event.id, "close", "  ", "2026-03-05T13:00:00+00:00")
    _import(engine, [f.training("TR1", "P1", "2026-03-01T09:00:00-06:00")])  # on time after all
    _evaluate(engine, "2026-03-06T12:00:00+00:00")
    assert _finding(engine, "EP1").state == "resolved"
    with pytest.raises(InvalidTransition, match="cannot reopen a finding that is resolved") as refused:
        _act(engine, overdue.id, "reopen", None, "2026-03-06T13:00:00+00:00")
    assert "only a finding a person closed is reopened by hand" in refused.value.details[0].reason


def test_a_closed_finding_is_kept_out_of_a_drafts_would_open(engine: Engine) -> None:
    """The liaison's impact preview counts what a sweep would open: a closed finding it raises again
    stays closed, so it is not "opening"."""
    _import(engine, [f.establishment(), _export("AE-1", "2026-03-02T10:00:00-06:00")])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    _act(engine, _finding(engine, "AE-1").id, "close", "dealt with", "2026-03-05T13:00:00+00:00")
    draft = (FIXTURES / "rulesets" / "demo" / "demo-2.0.0.yaml").read_bytes()
    with unit_of_work(engine) as s:
        impact = pipeline.preview_draft(s, org_id=ORG, draft=draft, name="demo-2.0.0.yaml",
                                        as_of=T("2026-03-06T12:00:00+00:00"))
    assert [i.subject_id for i in impact.would_open if i.rule_id == "DEMO-EXPORT-002"] == []


# -- 2. a reopened task follows its finding ----------------------------------------------------------


def test_a_reopened_task_takes_the_findings_new_due_date_and_severity(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")  # overdue since 03-03: critical
    fid = _finding(engine, "EP1").id
    with clock.frozen(T("2026-03-05T18:00:00+00:00")), unit_of_work(engine) as s:
        assert escalation.run_escalations(s, org_id=ORG, as_of=T("2026-03-05T18:00:00+00:00"))["steps"] == 1
    first = _task(engine, fid)
    assert (first.due.isoformat(), first.severity, first.escalation_level) == ("2026-03-03", "critical", 1)
    # the start date was wrong: 10 March, so the training is due 9 April; not due soon yet on 20 March
    _import(engine, [f.episode("EP1", "P1", "2026-03-10T09:00:00-06:00")])
    _evaluate(engine, "2026-03-20T12:00:00+00:00")
    assert _finding(engine, "EP1").state == "resolved" and _task(engine, fid).state == "closed"
    counts = _evaluate(engine, "2026-04-05T12:00:00+00:00")  # due soon: the finding is back
    with clock.frozen(T("2026-04-05T12:00:00+00:00")):
        back = _task(engine, fid)
    assert counts["reopened"] == 1 and counts["due_changed"] == 1
    assert (back.state, back.due.isoformat(), back.severity, back.escalation_level, back.overdue) == (
        "open", "2026-04-09", "medium", 0, False)
    assert any(h.kind == "due_changed" and "2026-03-03 -> 2026-04-09" in (h.reason or "") for h in back.history)
    with clock.frozen(T("2026-04-06T18:00:00+00:00")), unit_of_work(engine) as s:
        assert escalation.run_escalations(s, org_id=ORG, as_of=T("2026-04-06T18:00:00+00:00"))["steps"] == 0


def test_a_task_reopened_by_a_waivers_end_takes_the_findings_due_date(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-02-26T12:00:00+00:00")  # due soon, due 03-03
    fid = _finding(engine, "EP1").id
    with clock.frozen(T("2026-02-26T13:00:00+00:00")), unit_of_work(engine) as s:
        waiver = pipeline.waive(s, org_id=ORG, actor="user:officer", finding_id=fid, data=WaiverIn(
            ends_at=T("2026-04-30T00:00:00+00:00"), reason="start date disputed", approver="CMO"))[0]
    assert _task(engine, fid).state == "closed"
    _import(engine, [f.episode("EP1", "P1", "2026-03-10T09:00:00-06:00")])  # the start, corrected
    _evaluate(engine, "2026-04-03T12:00:00+00:00")  # due soon again (due 04-09), still waived
    with clock.frozen(T("2026-04-04T09:00:00+00:00")), unit_of_work(engine) as s:
        pipeline.revoke_waiver(s, org_id=ORG, waiver_id=waiver.id, actor="user:officer", reason="start settled")
    task = _task(engine, fid)
    assert (task.state, task.due.isoformat(), task.severity) == ("open", "2026-04-09", "medium")


# -- 3. a finding waived on arrival gets its task when the waiver ends ---------------------------------


def _waived_on_arrival(engine: Engine) -> tuple[str, str]:
    """A waiver of DEMO-TRN-001 at E1 granted from EP1's finding; EP2, hired later, is waived on arrival."""
    _import(engine, [f.establishment(), f.episode("EP1", "P1", START)])
    _evaluate(engine, "2026-03-05T12:00:00+00:00")
    with clock.frozen(T("2026-03-05T13:00:00+00:00")), unit_of_work(engine) as s:
        waiver = pipeline.waive(s, org_id=ORG, actor="user:officer", finding_id=_finding(engine, "EP1").id,
                                data=WaiverIn(ends_at=T("2026-03-20T00:00:00+00:00"), reason="site audit pending",
                                              approver="CMO", establishment_id="E1"))[0]
    _import(engine, [f.episode("EP2", "P2", "2026-02-02T09:00:00-06:00")])
    _evaluate(engine, "2026-03-06T12:00:00+00:00")
    new = _finding(engine, "EP2")
    assert new.state == "waived" and _tasks_of(engine, new.id) == []
    return new.id, waiver.id


def test_revoking_a_waiver_opens_the_task_of_a_finding_waived_on_arrival(engine: Engine) -> None:
    fid, waiver_id = _waived_on_arrival(engine)
    with clock.frozen(T("2026-03-06T15:00:00+00:00")), unit_of_work(engine) as s:
        pipeline.revoke_waiver(s, org_id=ORG, waiver_id=waiver_id, actor="user:officer", reason="audit done")
    task = _task(engine, fid)
    assert (task.state, task.due.isoformat(), task.severity) == ("open", "2026-03-04", "critical")


def test_a_waiver_that_runs_out_opens_the_task_of_a_finding_waived_on_arrival(engine: Engine) -> None:
    fid, _ = _waived_on_arrival(engine)
    with clock.frozen(T("2026-03-20T00:05:00+00:00")), unit_of_work(engine) as s:
        assert fid in pipeline.expire_waivers(s, org_id=ORG, at=T("2026-03-20T00:05:00+00:00"), actor="scheduler")
    assert _task(engine, fid).state == "open"


# -- 6. a false positive hears of new records ----------------------------------------------------------


def _access_violation(events: list[str]) -> Violation:
    """A state finding about account A1 citing its access events (as HIPAA-SEC-UID-005 cites them)."""
    return Violation(
        rule_id="DEMO-TRN-001", framework="demo", ruleset_version="1.0.0", title="Access", citation="test 1(a)",
        severity="medium", kind="state", state="violation", variant="violation",
        subject=SubjectRef(type="account", id="A1"), message=f"A1 made {len(events)} access event(s)",
        evidence=[EvidenceRef(type="account", id="A1", version=1)]
        + [EvidenceRef(type="access_event", id=e, version=1) for e in events], establishment_id="E1", sop="SOP-DEMO")


def _run(engine: Engine, violations: list[Violation], at: str) -> None:
    result = RunResult(as_of=T(at), backend="durable", rulesets=[], params={}, input_hash="test", counts={},
                       duration_ms=0, violations=[])
    with clock.frozen(T(at)), unit_of_work(engine) as s:
        run = findings.record_run(s, org_id=ORG, result=result, frameworks=["demo"], actor="test")
        findings.apply_run(s, org_id=ORG, run=run, violations=violations, actor="test")


def test_a_false_positive_reopens_when_its_run_cites_records_it_did_not(engine: Engine) -> None:
    v = _access_violation(["AE-1", "AE-2"])
    fid = lifecycle.finding_id(ORG, v.rule_id, v.subject.type, v.subject.id, v.occurrence_key)
    _run(engine, [v], "2026-03-05T12:00:00+00:00")
    _act(engine, fid, "false_positive", "care coordinator: these charts are her panel", "2026-03-05T13:00:00+00:00")
    bumped = v.model_copy(update={"evidence": [e.model_copy(update={"version": 2}) if e.id == "AE-2" else e
                                               for e in v.evidence]})
    _run(engine, [bumped], "2026-03-06T12:00:00+00:00")  # a new version of a cited record is nothing new
    assert _finding(engine, "A1").state == "false_positive"
    _run(engine, [_access_violation(["AE-1", "AE-2", "AE-3", "AE-4"])], "2026-03-07T12:00:00+00:00")
    back = _finding(engine, "A1")
    assert back.state == "open"
    assert back.history[-1].reason == (f"run {back.last_seen_run} cites 2 records (access_event AE-3, access_event "
                                       "AE-4) not cited when it was marked a false positive: judge it again")
