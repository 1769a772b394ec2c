"""Findings lifecycle edges on SQLite and PostgreSQL: who may move a finding, when a waiver starts and
ends, what a sweep and a stream batch resolve, and the audit entries each change writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine import clock
from engine.audit import service as audit
from engine.audit.schemas import AuditEntry
from engine.db import unit_of_work
from engine.errors import InputError, InvalidTransition, NotFoundError
from engine.findings import lifecycle
from engine.findings import service as findings
from engine.findings.schemas import EvaluationRun, RunDiff, Waiver, WaiverIn
from engine.findings.tables import FindingRow, WaiverRow
from engine.rules.schemas import EvidenceRef, RunResult, SubjectRef, Violation

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rulesets"
ORG = "clinic-a"
RULE = "DEMO-TRN-001"
T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _rulesets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))


def violation(subject_id: str, *, subject_type: str = "employment_episode") -> Violation:
    """A DEMO-TRN-001 violation (a state finding) about one subject."""
    return Violation(
        rule_id=RULE, framework="demo", ruleset_version="1.0.0", title="Training", citation="45 CFR x",
        severity="medium", kind="state", state="overdue", variant="overdue", due="2026-03-03",
        subject=SubjectRef(type=subject_type, id=subject_id), message=f"{subject_id} is untrained",
        evidence=[EvidenceRef(type=subject_type, id=subject_id, version=1)], establishment_id="E1", sop="SOP-1")


def fid_of(v: Violation) -> str:
    return lifecycle.finding_id(ORG, v.rule_id, v.subject.type, v.subject.id, v.occurrence_key)


def run(engine: Engine, violations: list[Violation], *, at: dt.datetime = T0, as_of: dt.datetime | None = None,
        stream: bool = False) -> tuple[EvaluationRun, RunDiff]:
    """Record and apply one run of the demo framework at clock `at` (as of `as_of`, default `at`)."""
    result = RunResult(as_of=as_of or at, backend="durable", rulesets=[], params={}, input_hash="test", counts={},
                       duration_ms=0, violations=[])
    with clock.frozen(at), unit_of_work(engine) as s:
        stored = findings.record_run(s, org_id=ORG, result=result, frameworks=["demo"], actor="test",
                                     trigger="stream" if stream else "manual")
        diff = findings.apply_run(s, org_id=ORG, run=stored, violations=violations, actor="test", stream=stream)
    return stored, diff


def state(engine: Engine, fid: str) -> tuple[str, str | None]:
    with unit_of_work(engine) as s:
        row = s.get(FindingRow, fid)
        assert row is not None
        return row.state, row.waiver_id


def entries(engine: Engine, org: str = ORG) -> list[AuditEntry]:
    with unit_of_work(engine) as s:
        return audit.list_entries(s, org_id=org, limit=1000)


def transition(engine: Engine, fid: str, action: str, *, reason: str | None = None, org: str = ORG) -> None:
    with clock.frozen(T0 + HOUR), unit_of_work(engine) as s:
        lifecycle.transition(s, org_id=org, finding_id=fid, action=action, actor="officer", reason=reason)


def waive(engine: Engine, fid: str, *, ends_at: dt.datetime, starts_at: dt.datetime | None = None,
          at: dt.datetime = T0 + HOUR) -> Waiver:
    with clock.frozen(at), unit_of_work(engine) as s:
        return lifecycle.waive(s, org_id=ORG, actor="officer", finding_id=fid, data=WaiverIn(
            starts_at=starts_at, ends_at=ends_at, reason="on leave", approver="CMO"))


def test_a_resolved_finding_is_not_reopened_by_hand_only_by_a_run(engine: Engine) -> None:
    """The state diagram: resolved --(condition back, run)--> open; a person cannot reopen it."""
    v = violation("EP1")
    run(engine, [v])
    run(engine, [], at=T0 + HOUR)
    assert state(engine, fid_of(v)) == ("resolved", None)
    with pytest.raises(InvalidTransition, match="cannot reopen a finding that is resolved"):
        transition(engine, fid_of(v), "reopen")
    assert state(engine, fid_of(v)) == ("resolved", None)
    assert not [e for e in entries(engine) if e.action == "finding.reopen"]
    _, diff = run(engine, [v], at=T0 + 2 * HOUR)
    assert diff.reopened == [fid_of(v)] and state(engine, fid_of(v)) == ("open", None)


def test_each_hand_transition_writes_one_audit_entry_naming_the_finding_and_its_new_state(engine: Engine) -> None:
    v = violation("EP1")
    run(engine, [v])
    fid = fid_of(v)
    steps = [("acknowledge", None, "acknowledged"), ("false_positive", "contractor, not workforce", "false_positive"),
             ("reopen", None, "open")]
    for action, reason, to_state in steps:
        transition(engine, fid, action, reason=reason)
        assert state(engine, fid) == (to_state, None)
        written = [e for e in entries(engine) if e.action == f"finding.{action}"]
        assert [(e.entity_type, e.entity_id, e.payload) for e in written] == [
            ("finding", fid, {"to": to_state, "reason": reason})], action


def test_a_finding_of_another_organization_is_not_found(engine: Engine) -> None:
    v = violation("EP1")
    run(engine, [v])
    with pytest.raises(NotFoundError, match=f"no finding {fid_of(v)}"):
        transition(engine, fid_of(v), "acknowledge", org="clinic-b")
    assert state(engine, fid_of(v)) == ("open", None)
    assert entries(engine, org="clinic-b") == []


def test_a_waiver_starting_tomorrow_leaves_the_finding_open_until_it_starts(engine: Engine) -> None:
    v = violation("EP1")
    run(engine, [v])
    granted_at = T0 + HOUR
    waiver = waive(engine, fid_of(v), starts_at=granted_at + DAY, ends_at=granted_at + 30 * DAY, at=granted_at)
    assert waiver.findings == []
    assert state(engine, fid_of(v)) == ("open", None)
    _, diff = run(engine, [v], at=granted_at + HOUR)  # a sweep as of now, still before the waiver starts
    assert diff.waived == [] and diff.persisted == [fid_of(v)]
    assert state(engine, fid_of(v)) == ("open", None)


def test_a_run_judges_a_future_waiver_at_its_as_of_not_at_the_clock(engine: Engine) -> None:
    """A run as of an instant after the waiver starts waives the finding, even while the wall clock
    is still before that start."""
    v = violation("EP1")
    run(engine, [v])
    starts = T0 + 2 * DAY
    waiver = waive(engine, fid_of(v), starts_at=starts, ends_at=starts + 30 * DAY)
    _, diff = run(engine, [v], at=T0 + 2 * HOUR, as_of=starts + HOUR)
    assert diff.waived == [fid_of(v)]
    assert state(engine, fid_of(v)) == ("waived", waiver.id)


def test_a_waiver_for_a_person_does_not_cover_a_device_with_the_same_id(engine: Engine) -> None:
    person, device = violation("X-1", subject_type="person"), violation("X-1", subject_type="device")
    run(engine, [person, device])
    with clock.frozen(T0 + HOUR), unit_of_work(engine) as s:
        waiver = lifecycle.waive(s, org_id=ORG, actor="officer", data=WaiverIn(
            rule_id=RULE, subject_type="person", subject_id="X-1", ends_at=T0 + 30 * DAY, reason="on leave",
            approver="CMO"))
    assert waiver.findings == [fid_of(person)]
    assert state(engine, fid_of(person)) == ("waived", waiver.id)
    assert state(engine, fid_of(device)) == ("open", None)
    _, diff = run(engine, [person, device], at=T0 + 2 * HOUR)
    assert diff.waived == []
    assert state(engine, fid_of(device)) == ("open", None)


def test_a_waiver_lapses_at_the_very_instant_it_ends(engine: Engine) -> None:
    v = violation("EP1")
    run(engine, [v])
    ends = T0 + 3 * DAY
    waiver = waive(engine, fid_of(v), ends_at=ends)
    with unit_of_work(engine) as s:
        row = s.get(WaiverRow, waiver.id)
        assert lifecycle.lapse(row, ends - dt.timedelta(microseconds=1)) is None
        assert lifecycle.lapse(row, ends) == f"waiver {waiver.id} expired at {ends.isoformat()}"
    with clock.frozen(ends), unit_of_work(engine) as s:
        reopened = lifecycle.expire_waivers(s, org_id=ORG, at=ends, actor="system:scheduler")
    assert reopened == [fid_of(v)]
    assert state(engine, fid_of(v)) == ("open", None)


def test_a_waiver_is_refused_half_a_day_past_its_366_day_time_box(engine: Engine) -> None:
    v = violation("EP1")
    run(engine, [v])
    granted_at = T0 + HOUR
    with pytest.raises(InputError) as info:
        waive(engine, fid_of(v), ends_at=granted_at + 366 * DAY + 12 * HOUR, at=granted_at)
    (detail,) = info.value.details
    assert detail.field == "ends_at"
    assert detail.reason.startswith("a waiver is time-boxed: it runs at most 366 days from its start")
    assert state(engine, fid_of(v)) == ("open", None)


def test_a_sweep_resolves_a_waived_finding_whose_violation_is_gone(engine: Engine) -> None:
    v = violation("EP1")
    run(engine, [v])
    waive(engine, fid_of(v), ends_at=T0 + 30 * DAY)
    assert state(engine, fid_of(v))[0] == "waived"
    _, diff = run(engine, [], at=T0 + 2 * HOUR)
    assert diff.resolved == [fid_of(v)]
    assert state(engine, fid_of(v))[0] == "resolved"


def test_a_waived_finding_resolved_by_a_sweep_no_longer_names_its_waiver(engine: Engine) -> None:
    v = violation("EP1")
    run(engine, [v])
    waive(engine, fid_of(v), ends_at=T0 + 30 * DAY)
    run(engine, [], at=T0 + 2 * HOUR)
    assert state(engine, fid_of(v)) == ("resolved", None)


def test_a_stream_batch_resolves_no_finding_it_does_not_name(engine: Engine) -> None:
    """A stream batch judges one import's events alone: an open finding it does not mention stays open."""
    named, other = violation("EP1"), violation("EP2")
    run(engine, [named, other])
    _, diff = run(engine, [named], at=T0 + HOUR, stream=True)  # an existing finding: the general diff
    assert diff.resolved == [] and diff.persisted == [fid_of(named)]
    assert state(engine, fid_of(other)) == ("open", None)


def test_a_stream_batch_that_only_reopens_a_finding_writes_its_run_audit_entry(engine: Engine) -> None:
    v = violation("EP1")
    run(engine, [v])
    run(engine, [], at=T0 + HOUR)
    assert state(engine, fid_of(v))[0] == "resolved"
    streamed, diff = run(engine, [v], at=T0 + 2 * HOUR, stream=True)
    assert diff.opened == [] and diff.reopened == [fid_of(v)]
    (entry,) = [e for e in entries(engine) if e.action == "evaluation.run" and e.entity_id == streamed.id]
    assert entry.payload["diff"]["reopened"] == [fid_of(v)] and entry.payload["diff"]["opened"] == []
