"""Findings on SQLite and PostgreSQL: no duplicates, resolution citing the run, waivers, streaming."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.errors import InvalidTransition
from engine.findings import lifecycle
from engine.findings import service as findings
from engine.findings.schemas import FindingFilter, Waiver, WaiverIn
from engine.findings.tables import FindingRow
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rulesets"
T = dt.datetime.fromisoformat
ORG = "clinic-a"


@pytest.fixture(autouse=True)
def _rulesets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))


def _import(engine: Engine, records: list[dict], org: str = ORG, stream: bool = False) -> None:
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=org, records=records, actor="test", source="test", stream=stream)


def _evaluate(engine: Engine, as_of: str, org: str = ORG) -> pipeline.Evaluation:
    with clock.frozen(T(as_of)), unit_of_work(engine) as s:
        return pipeline.evaluate(s, org_id=org, as_of=T(as_of), actor="test")


def _open(engine: Engine, org: str = ORG) -> list[tuple[str, str, str, str]]:
    with unit_of_work(engine) as s:
        page = findings.list_findings(s, org_id=org, filters=FindingFilter(), limit=1000)
    return sorted((x.rule_id, x.subject_id, x.state, x.status) for x in page.items)


def _waived_overdue_finding(engine: Engine, *, until: str) -> tuple[str, Waiver]:
    """EP1 untrained, evaluated on 10 March (overdue), its finding waived at 01:00 that day until `until`."""
    _import(engine, [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")])
    _evaluate(engine, "2026-03-10T00:00:00+00:00")
    with unit_of_work(engine) as s:
        fid = s.scalars(select(FindingRow.id)).one()
    with clock.frozen(T("2026-03-10T01:00:00+00:00")), unit_of_work(engine) as s:
        waiver = lifecycle.waive(s, org_id=ORG, actor="officer", finding_id=fid,
                                 data=WaiverIn(ends_at=T(until), reason="on leave", approver="CMO"))
    return fid, waiver


def test_rerun_creates_no_duplicates_and_fixing_data_resolves_citing_the_run(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")])
    first = _evaluate(engine, "2026-03-10T00:00:00+00:00")
    second = _evaluate(engine, "2026-03-10T00:00:00+00:00")
    assert first.diff and first.diff.opened and second.diff and not second.diff.opened
    assert _open(engine) == [("DEMO-TRN-001", "EP1", "open", "overdue")]
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(FindingRow)) == 1
    _import(engine, [f.training("T1", "P1", "2026-03-11T09:00:00-06:00")])
    third = _evaluate(engine, "2026-03-12T00:00:00+00:00")
    assert third.run is not None
    with unit_of_work(engine) as s:
        row = s.scalars(select(FindingRow)).one()
        assert row.state == "resolved" and row.resolved_by_run == third.run.id
        detail = findings.get_finding(s, org_id=ORG, finding_id=row.id)
    assert [h.to_state for h in detail.history if h.kind == "transition"] == ["open", "resolved"]
    assert third.run.id in (detail.history[-1].reason or "")


def test_a_resolution_cites_the_records_that_changed(engine: Engine) -> None:
    """PRODUCT: automatic resolution "with the evidence that cleared it"."""
    _import(engine, [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
                     f.episode("EP2", "P2", "2026-02-01T09:00:00-06:00")])
    _evaluate(engine, "2026-03-10T00:00:00+00:00")
    # EP1 ends (its record changes); P2 is trained (a record EP2's finding never cited)
    _import(engine, [f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00", end="2026-03-11T17:00:00-06:00"),
                     f.training("T2", "P2", "2026-03-11T09:00:00-06:00")])
    _evaluate(engine, "2026-03-12T00:00:00+00:00")
    reasons = {}
    with unit_of_work(engine) as s:
        for row in s.scalars(select(FindingRow)):
            assert row.state == "resolved"
            reasons[row.subject_id] = findings.get_finding(s, org_id=ORG, finding_id=row.id).history[-1].reason or ""
    assert "cited records since changed: employment_episode EP1 v1 -> v2" in reasons["EP1"]
    # what did clear it is named, so the history no longer says "other records or the passage of time"
    assert "the records it cited are unchanged; recorded since it was last seen: training_record T2 v1" \
        in reasons["EP2"] and "passage of time" not in reasons["EP2"]


def test_expired_waiver_reopens_the_finding(engine: Engine) -> None:
    fid, _ = _waived_overdue_finding(engine, until="2026-03-20T00:00:00+00:00")
    assert _open(engine) == [("DEMO-TRN-001", "EP1", "waived", "overdue")]
    _evaluate(engine, "2026-03-15T00:00:00+00:00")
    assert _open(engine) == [("DEMO-TRN-001", "EP1", "waived", "overdue")]
    _evaluate(engine, "2026-03-21T00:00:00+00:00")
    assert _open(engine) == [("DEMO-TRN-001", "EP1", "open", "overdue")]
    with unit_of_work(engine) as s:
        detail = findings.get_finding(s, org_id=ORG, finding_id=fid)
    assert any(h.reason and h.reason.startswith("waiver W-") and " expired at " in h.reason for h in detail.history)


def test_transitions_are_checked_and_recorded(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")])
    _evaluate(engine, "2026-03-10T00:00:00+00:00")
    with unit_of_work(engine) as s:
        fid = s.scalars(select(FindingRow.id)).one()
        lifecycle.transition(s, org_id=ORG, finding_id=fid, action="acknowledge", actor="officer")
        lifecycle.comment(s, org_id=ORG, finding_id=fid, actor="officer", text="calling HR")
    with pytest.raises(InvalidTransition), unit_of_work(engine) as s:
        lifecycle.transition(s, org_id=ORG, finding_id=fid, action="acknowledge", actor="officer")
    with unit_of_work(engine) as s:
        lifecycle.transition(s, org_id=ORG, finding_id=fid, action="false_positive", actor="officer",
                             reason="contractor, not workforce")
        detail = findings.get_finding(s, org_id=ORG, finding_id=fid)
    assert [h.kind for h in detail.history] == ["transition", "transition", "comment", "transition"]
    assert detail.state == "false_positive"
    _evaluate(engine, "2026-03-11T00:00:00+00:00")
    assert _open(engine)[0][2] == "false_positive"  # a person's decision is not overridden by a run


def test_streamed_events_raise_findings_at_once_and_orgs_do_not_leak(engine: Engine) -> None:
    _import(engine, [f.establishment()])
    with clock.frozen(T("2026-03-02T00:00:00+00:00")):
        _import(engine, [f.access("AE1", "u1", "PT1", "2026-03-01T10:00:00-06:00", "export"),
                         f.access("AE2", "u1", "PT1", "2026-03-01T10:01:00-06:00")], stream=True)
        _import(engine, [f.access("AE1", "u1", "PT1", "2026-03-01T10:00:00-06:00", "export")], stream=True)
    assert _open(engine) == [("DEMO-EXPORT-002", "AE1", "open", "violation")]
    assert _open(engine, org="clinic-b") == []


def test_keyset_pagination_walks_every_finding_once(engine: Engine) -> None:
    records = [f.establishment()] + [f.episode(f"EP{i}", f"P{i}", "2026-02-01T09:00:00-06:00") for i in range(7)]
    _import(engine, records)
    _evaluate(engine, "2026-03-10T00:00:00+00:00")
    seen: list[list[str]] = []
    cursors: list[str | None] = []
    cursor = None
    with unit_of_work(engine) as s:
        while True:
            page = findings.list_findings(s, org_id=ORG, limit=3, cursor=cursor)
            seen.append([x.id for x in page.items])
            cursors.append(cursor)
            cursor = page.next_cursor
            if not cursor:
                break
        assert [len(p) for p in seen] == [3, 3, 1]
        assert len({i for p in seen for i in p}) == 7
        # and back: each page's previous page is the one before it
        first = findings.list_findings(s, org_id=ORG, limit=3)
        assert not first.has_prev
        for k in (2, 1):
            page = findings.list_findings(s, org_id=ORG, limit=3, cursor=cursors[k])
            assert page.has_prev and page.prev_cursor == cursors[k - 1]
            back = findings.list_findings(s, org_id=ORG, limit=3, cursor=page.prev_cursor)
            assert [x.id for x in back.items] == seen[k - 1]


def test_run_records_versions_hashes_and_params(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")])
    out = _evaluate(engine, "2026-03-10T00:00:00+00:00")
    assert out.run is not None
    assert out.run.rulesets[0]["id"] == "demo" and out.run.rulesets[0]["version"] == "1.0.0"
    assert len(out.run.rulesets[0]["sha256"]) == 64 and len(out.run.input_hash) == 64
    assert out.run.params == {"demo": {"new_hire_days": 30}}
    json.dumps(out.run.model_dump(mode="json"))


def _stored_finding(engine: Engine, org: str) -> tuple[dict[str, object], list[dict[str, object]]]:
    """The org's one finding and its history, without what names the org or the run."""
    from engine.findings.tables import FindingEventRow

    with unit_of_work(engine) as s:
        row = s.scalars(select(FindingRow).where(FindingRow.org_id == org)).one()
        history = s.scalars(select(FindingEventRow).where(FindingEventRow.finding_id == row.id)).all()
        skip = {"id", "org_id", "opened_by_run", "last_seen_run", "finding_id", "run_id", "reason"}
        finding = {c.key: getattr(row, c.key) for c in FindingRow.__table__.columns if c.key not in skip}
        events = [{c.key: getattr(h, c.key) for c in FindingEventRow.__table__.columns if c.key not in skip}
                  | {"reason": (h.reason or "").split(": ", 1)[-1]} for h in history]
    return finding, events


def test_a_stream_batch_opens_findings_as_the_general_diff_does(engine: Engine) -> None:
    """The live stream's bulk write (`_open_new_stream_findings`) stores each new finding, column by
    column, as the general diff would: JSON evidence and facts, due, advisory, instants."""
    from engine.rules.schemas import EvidenceRef, RunResult, SubjectRef, Violation

    violation = Violation(
        rule_id="DEMO-EXPORT-002", framework="demo", ruleset_version="1.0.0", title="Export", citation="45 CFR x",
        severity="high", advisory=True, kind="event", state="violation", variant="violation", due="2026-03-09",
        subject=SubjectRef(type="access_event", id="AE1"), occurrence_key="k", message="u1 exported PT1",
        evidence=[EvidenceRef(type="access_event", id="AE1", version=1), EvidenceRef(type="system", id="S", version=2)],
        facts={"access": {"type": "access_event", "id": "AE1", "at": "2026-03-01T16:00:00Z"}, "as_of": "x"},
        establishment_id="EST1", sop="SOP-1")
    now = T("2026-03-02T00:00:00+00:00")
    for org, stream in (("fast", True), ("general", False)):
        result = RunResult(as_of=now, backend="durable", rulesets=[], params={}, input_hash="stream", counts={},
                           duration_ms=0, violations=[])
        with clock.frozen(now), unit_of_work(engine) as s:
            run = findings.record_run(s, org_id=org, result=result, frameworks=["demo"], actor="test", trigger="stream")
            findings.apply_run(s, org_id=org, run=run, violations=[violation], actor="test", stream=stream)
    fast, general = _stored_finding(engine, "fast"), _stored_finding(engine, "general")
    assert fast == general
    assert fast[0]["evidence"] == [e.model_dump() for e in violation.evidence] and fast[0]["advisory"] is True


def test_a_refreshed_finding_keeps_what_it_said_before_and_says_what_changed(engine: Engine, tmp_path: Path) -> None:
    """Nothing is silently changed: a persisting finding going from due soon to overdue keeps its
    earlier content as a revision, its history says what changed, and a packet as of the earlier
    instant, built before and after the later run, shows it due soon and is the same bytes."""
    from engine.findings.tables import FindingRevisionRow
    from engine.packet_sources import DatabaseSources
    from engine.packets import service as packets
    from engine.packets.sign import load_or_create_signer

    _import(engine, [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")])
    _evaluate(engine, "2026-02-28T00:00:00+00:00")
    assert _open(engine) == [("DEMO-TRN-001", "EP1", "open", "due_soon")]
    signer = load_or_create_signer(tmp_path / "keys")
    kwargs = {"org_id": ORG, "framework": "demo", "date_from": dt.date(2026, 2, 1), "date_to": dt.date(2026, 2, 28),
              "as_of": T("2026-02-28T06:00:00+00:00"), "signer": signer, "actor": "test", "sources": DatabaseSources()}

    def build(name: str, at: str) -> tuple[str, dict]:
        with clock.frozen(T(at)), unit_of_work(engine) as s:
            info = packets.build(s, out=tmp_path / name, **kwargs)  # type: ignore[arg-type]
        import zipfile
        with zipfile.ZipFile(info.path) as z:
            member = next(n for n in z.namelist() if n.endswith("data/findings.json"))
            (finding,) = json.loads(z.read(member))["findings"]
        return info.sha256, finding

    first, before = build("a.zip", "2026-02-28T07:00:00+00:00")
    assert before["status"] == "due_soon" and "last_seen_run" not in before

    later = _evaluate(engine, "2026-03-10T00:00:00+00:00")
    assert later.run is not None
    assert _open(engine) == [("DEMO-TRN-001", "EP1", "open", "overdue")]
    with unit_of_work(engine) as s:
        row = s.scalars(select(FindingRow)).one()
        (revision,) = s.scalars(select(FindingRevisionRow)).all()
        detail = findings.get_finding(s, org_id=ORG, finding_id=row.id)
    assert revision.content["status"] == "due_soon" and revision.replaced_by_run == later.run.id
    (update,) = [h for h in detail.history if h.kind == "update"]
    assert update.reason == f"run {later.run.id}: status due_soon -> overdue" and update.run_id == later.run.id
    assert [h.to_state for h in detail.history if h.kind == "transition"] == ["open"]

    second, again = build("b.zip", "2026-03-10T01:00:00+00:00")
    assert again == before and second == first

    _evaluate(engine, "2026-03-11T00:00:00+00:00")  # nothing changed: no new revision, no history entry
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(FindingRevisionRow)) == 1
        assert len(findings.get_finding(s, org_id=ORG, finding_id=row.id).history) == len(detail.history)


def test_the_scheduler_reopens_a_finding_when_its_waiver_ends_without_waiting_for_a_sweep(engine: Engine) -> None:
    from engine import scheduler
    from engine.audit import service as audit

    fid, _ = _waived_overdue_finding(engine, until="2026-03-10T10:00:00+00:00")
    rt = scheduler.Runtime(engine=engine, orgs=[ORG])
    with clock.frozen(T("2026-03-10T09:59:00+00:00")):
        (before,) = scheduler.run_all_once(rt, ["waivers"])
    assert before.summary == {"reopened": []} and _open(engine)[0][2] == "waived"
    with clock.frozen(T("2026-03-10T10:05:00+00:00")):
        (after,) = scheduler.run_all_once(rt, ["waivers"])
    assert after.summary == {"reopened": [fid]}
    assert _open(engine) == [("DEMO-TRN-001", "EP1", "open", "overdue")]
    with unit_of_work(engine) as s:
        detail = findings.get_finding(s, org_id=ORG, finding_id=fid)
        (entry,) = [e for e in audit.list_entries(s, org_id=ORG, limit=50) if e.action == "finding.reopen"]
    last = detail.history[-1]
    assert (last.to_state, detail.waiver_id) == ("open", None)
    assert last.reason == f"waiver {entry.payload['waiver_id']} expired at 2026-03-10T10:00:00+00:00"  # names it
    assert entry.entity_id == fid and entry.actor == "system:scheduler" and entry.payload["reason"] == last.reason
    with clock.frozen(T("2026-03-10T10:20:00+00:00")):
        (later,) = scheduler.run_all_once(rt, ["waivers"])
    assert later.summary == {"reopened": []}


def test_a_revoked_waiver_reopens_at_once_stays_on_record_and_no_run_applies_it_again(engine: Engine) -> None:
    from engine.audit import service as audit
    from engine.errors import InputError, NotFoundError

    fid, waiver = _waived_overdue_finding(engine, until="2026-06-01T00:00:00+00:00")
    with clock.frozen(T("2026-03-11T09:00:00+00:00")), unit_of_work(engine) as s:
        for bad, error in ((" x ", InputError), ):
            with pytest.raises(error):
                lifecycle.revoke_waiver(s, org_id=ORG, waiver_id=waiver.id, actor="officer", reason=bad)
        with pytest.raises(NotFoundError):
            lifecycle.revoke_waiver(s, org_id="other", waiver_id=waiver.id, actor="officer", reason="mistake")
        revoked = lifecycle.revoke_waiver(s, org_id=ORG, waiver_id=waiver.id, actor="officer",
                                          reason="approval withdrawn")
    assert (revoked.revoked_at, revoked.revoked_by, revoked.revoke_reason) == (
        T("2026-03-11T09:00:00+00:00"), "officer", "approval withdrawn")
    assert _open(engine) == [("DEMO-TRN-001", "EP1", "open", "overdue")]
    with clock.frozen(T("2026-03-11T10:00:00+00:00")), unit_of_work(engine) as s:
        with pytest.raises(InvalidTransition, match="was revoked"):
            lifecycle.revoke_waiver(s, org_id=ORG, waiver_id=waiver.id, actor="officer", reason="again")
    _evaluate(engine, "2026-03-12T00:00:00+00:00")
    assert _open(engine) == [("DEMO-TRN-001", "EP1", "open", "overdue")]  # the revoked waiver covers nothing
    with unit_of_work(engine) as s:
        detail = findings.get_finding(s, org_id=ORG, finding_id=fid)
        actions = [(e.action, e.entity_id) for e in audit.list_entries(s, org_id=ORG, limit=50)]
        (kept,) = findings.list_waivers(s, org_id=ORG)
    reopened = [h for h in detail.history if h.from_state == "waived"]
    assert [h.reason for h in reopened] == [f"waiver {waiver.id} revoked: approval withdrawn"]
    assert ("waiver.revoke", waiver.id) in actions and ("finding.reopen", fid) in actions
    assert kept.revoked_by == "officer"


def test_a_finding_cleared_by_a_rule_change_says_so_not_that_it_cleared_by_itself(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe 16 #4: findings closed by a new version without their rule, or by a parameter change,
    read "cleared through other records or the passage of time"."""
    import shutil

    root = tmp_path / "rulesets"
    shutil.copytree(FIXTURES, root)
    second = root / "demo" / "demo-2.0.0.yaml"
    text = second.read_text(encoding="utf-8")
    start, end = text.index("  - id: DEMO-TRN-001"), text.index("  - id: DEMO-EXPORT-002")
    second.write_text(text[:start] + text[end:], encoding="utf-8")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(root))
    params = tmp_path / "practice.yaml"
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(params))
    _import(engine, [f.establishment(), f.episode("EP1", "P1", "2026-05-01T09:00:00-05:00"),
                     f.episode("EP2", "P2", "2026-05-01T09:00:00-05:00")])
    _evaluate(engine, "2026-06-05T00:00:00+00:00")
    assert [x[2:] for x in _open(engine)] == [("open", "overdue")] * 2
    params.write_text("params:\n  demo: {new_hire_days: 90}\n", encoding="utf-8")
    _evaluate(engine, "2026-06-06T00:00:00+00:00")
    reasons = {}
    with unit_of_work(engine) as s:
        for row in s.scalars(select(FindingRow)):
            reasons[row.subject_id] = findings.get_finding(s, org_id=ORG, finding_id=row.id).history[-1].reason or ""
    assert all("parameters changed since it was last seen: new_hire_days 30 -> 90" in r for r in reasons.values())
    assert all("passage of time" not in r for r in reasons.values())
    params.write_text("params:\n  demo: {}\n", encoding="utf-8")
    _evaluate(engine, "2026-06-20T00:00:00+00:00")  # 30 days again: both reopen
    _evaluate(engine, "2026-07-02T00:00:00+00:00")  # 2.0.0 has no DEMO-TRN-001
    with unit_of_work(engine) as s:
        last = [findings.get_finding(s, org_id=ORG, finding_id=row.id).history[-1].reason or ""
                for row in s.scalars(select(FindingRow))]
    assert all("judged with demo 2.0.0, not 1.0.0 as when last seen: rule DEMO-TRN-001 is not in 2.0.0" in r
               for r in last), last


def test_a_waived_finding_is_reopened_by_revoking_its_waiver_not_by_hand(engine: Engine) -> None:
    """Web probe: "Reopen" on a waived finding left its waiver in force, and the next sweep waived it again."""
    fid, waiver = _waived_overdue_finding(engine, until="2026-06-01T00:00:00+00:00")
    with clock.frozen(T("2026-03-11T09:00:00+00:00")), unit_of_work(engine) as s:
        with pytest.raises(InvalidTransition, match=f"waived by {waiver.id}: revoke the waiver to reopen it"):
            lifecycle.transition(s, org_id=ORG, finding_id=fid, action="reopen", actor="officer")
    assert _open(engine) == [("DEMO-TRN-001", "EP1", "waived", "overdue")]


def test_a_second_waiver_of_the_same_scope_is_refused_while_the_first_is_in_force(engine: Engine) -> None:
    """Web probe: a stale tab waived a waived finding again; revoking the waiver on its page left the
    other one in force, and the next sweep waived the finding again."""
    from engine.errors import ConflictError

    fid, waiver = _waived_overdue_finding(engine, until="2026-06-01T00:00:00+00:00")
    other_terms = WaiverIn(ends_at=T("2026-07-01T00:00:00+00:00"), reason="longer leave", approver="CMO")
    with clock.frozen(T("2026-03-11T09:00:00+00:00")), unit_of_work(engine) as s:
        with pytest.raises(InvalidTransition, match=f"already waived by {waiver.id}") as through_finding:
            lifecycle.waive(s, org_id=ORG, actor="officer", finding_id=fid, data=other_terms)
        assert through_finding.value.code == "conflict.waiver_overlaps"  # as POST /waivers says it (API pass)
        by_scope = other_terms.model_copy(update={"rule_id": "DEMO-TRN-001", "subject_type": "employment_episode",
                                                  "subject_id": "EP1"})
        with pytest.raises(ConflictError, match=f"waiver {waiver.id} already waives this"):
            lifecycle.waive(s, org_id=ORG, actor="officer", data=by_scope)
        later = by_scope.model_copy(update={"starts_at": T("2026-06-01T00:00:00+00:00")})  # after it: allowed
        assert lifecycle.waive(s, org_id=ORG, actor="officer", data=later).id != waiver.id


def test_revoking_a_waiver_hands_its_finding_to_another_in_force_at_once(engine: Engine) -> None:
    """A subject's waiver and its establishment's both cover the finding: revoking one leaves it waived
    by the other, said in its history now, not by the next run out of sight."""
    fid, waiver = _waived_overdue_finding(engine, until="2026-06-01T00:00:00+00:00")
    with clock.frozen(T("2026-03-11T09:00:00+00:00")), unit_of_work(engine) as s:
        site = lifecycle.waive(s, org_id=ORG, actor="officer", data=WaiverIn(
            rule_id="DEMO-TRN-001", establishment_id="E1", ends_at=T("2026-05-01T00:00:00+00:00"),
            reason="site closed for works", approver="CMO"))
        lifecycle.revoke_waiver(s, org_id=ORG, waiver_id=waiver.id, actor="officer", reason="back from leave")
        detail = findings.get_finding(s, org_id=ORG, finding_id=fid)
    assert (detail.state, detail.waiver_id) == ("waived", site.id)
    assert [h.to_state for h in detail.history if h.kind == "transition"][-2:] == ["open", "waived"]
    _evaluate(engine, "2026-03-12T00:00:00+00:00")
    assert _open(engine) == [("DEMO-TRN-001", "EP1", "waived", "overdue")]
