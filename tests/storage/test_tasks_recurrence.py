"""Recurring SOPs open their next task on time, across month ends and leap days, once per period;
critical findings notify at once; evidence is content-addressed and immutable."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from engine import clock, pipeline
from engine.audit import service as audit
from engine.db import unit_of_work
from engine.findings import service as findings_service
from engine.rules.schemas import RunResult, SubjectRef, Violation
from engine.tasks import evidence, notify, recurrence
from engine.tasks import service as tasks
from engine.tasks.errors import EvidenceTooLarge, EvidenceTypeRefused
from engine.tasks.schemas import TaskFilter
from engine.tasks.tables import TaskAttachmentRow
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
T = dt.datetime.fromisoformat
ORG = "clinic-r"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _policies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.setenv("VIGIL_WEBHOOK_URL", "http://127.0.0.1:9/hook")


def _recur(engine: Engine, at: str) -> dict[str, int]:
    with clock.frozen(T(at)), unit_of_work(engine) as s:
        return recurrence.run_recurrence(s, org_id=ORG, as_of=T(at))


def _periods(engine: Engine, sop: str) -> list[tuple[str, str, str | None]]:
    with unit_of_work(engine) as s:
        page = tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(sop=sop))
    return sorted((str(t.period_start), t.due.isoformat(), t.owner) for t in page.items)


def test_a_monthly_sop_opens_its_task_on_time_across_month_ends_and_a_leap_day(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=[f.establishment()], actor="t", source="t", stream=False)
    assert _recur(engine, "2028-01-30T12:00:00+00:00")["created"] == 0  # before the anchor (31 Jan)
    assert _recur(engine, "2028-01-31T12:00:00+00:00")["created"] == 1  # the anchor day
    assert _recur(engine, "2028-01-31T23:00:00+00:00")["created"] == 0  # run again: nothing more
    assert _recur(engine, "2028-02-29T05:59:00+00:00")["created"] == 0  # 28 Feb 23:59 in Chicago
    assert _recur(engine, "2028-02-29T06:00:00+00:00")["created"] == 2  # 29 Feb local: Jan 31 + 1 month (C5),
    # and the annual org-level review anchored on 29 February
    assert _recur(engine, "2028-03-30T12:00:00+00:00")["created"] == 0
    assert _recur(engine, "2028-03-31T12:00:00+00:00")["created"] == 1  # counted from the anchor: no drift to 29th
    assert _recur(engine, "2028-04-30T12:00:00+00:00")["created"] == 1
    assert _periods(engine, "SOP-MONTHLY-CHECK") == [
        ("2028-01-31", "2028-02-03", "P-SAFE"), ("2028-02-29", "2028-03-03", "P-SAFE"),
        ("2028-03-31", "2028-04-03", "P-SAFE"), ("2028-04-30", "2028-05-03", "P-SAFE")]
    with unit_of_work(engine) as s:
        april = tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(sop="SOP-MONTHLY-CHECK")).items[-1]
    assert april.kind == "recurring" and april.finding_id is None
    assert april.title == "Monthly extinguisher check at E1"
    assert april.checklist[0].text == "Check every extinguisher at E1 for the period starting 2028-04-30."


def test_an_annual_sop_anchored_on_a_leap_day_clamps_to_28_february(engine: Engine) -> None:
    # no establishment records: every series is org-level, in the default zone (America/New_York)
    annual = []
    for at in ("2028-02-29T12:00:00+00:00", "2028-12-31T12:00:00+00:00", "2029-02-27T12:00:00+00:00",
               "2029-02-28T12:00:00+00:00", "2029-02-28T20:00:00+00:00", "2032-02-29T12:00:00+00:00"):
        _recur(engine, at)
        annual.append(len(_periods(engine, "SOP-ANNUAL-REVIEW")))
    assert annual == [1, 1, 1, 2, 2, 3]
    assert _periods(engine, "SOP-ANNUAL-REVIEW") == [
        ("2028-02-29", "2028-03-30", "P-CO"), ("2029-02-28", "2029-03-30", "P-CO"),
        ("2032-02-29", "2032-03-30", "P-CO")]  # back on the 29th in the next leap year
    with unit_of_work(engine) as s:
        assert audit.verify(s, org_id=ORG).ok


def test_a_period_due_before_its_series_existed_is_not_opened(engine: Engine) -> None:
    """Probe 15 #9: a calendar-anchored yearly duty found on installation day in April is not opened
    as weeks overdue; the next period opens on its first day."""
    assert _recur(engine, "2028-04-15T12:00:00+00:00")["created"] == 0  # 29 Feb period, due 30 March: over
    assert _periods(engine, "SOP-ANNUAL-REVIEW") == []
    _recur(engine, "2029-02-28T12:00:00+00:00")
    assert _periods(engine, "SOP-ANNUAL-REVIEW") == [("2029-02-28", "2029-03-30", "P-CO")]


def _critical_violation(subject: str) -> Violation:
    return Violation(rule_id="TEST-CRIT-001", framework="test", ruleset_version="1.0.0", title="Disclosure",
                     citation="test 5(e)", severity="critical", state="violation", variant="default",
                     subject=SubjectRef(type="access_event", id=subject), message=f"{subject} disclosed PHI",
                     evidence=[], establishment_id="E1", sop="SOP-CRIT")


def test_a_critical_finding_notifies_at_once_and_only_once(engine: Engine) -> None:
    at = T("2026-05-01T12:00:00+00:00")
    for _ in range(2):
        with clock.frozen(at), unit_of_work(engine) as s:
            result = RunResult(as_of=at, backend="python", rulesets=[], params={}, input_hash="0" * 64,
                               counts={}, duration_ms=0, violations=[_critical_violation("AE9")])
            run = findings_service.record_run(s, org_id=ORG, result=result, frameworks=["test"], actor="t")
            findings_service.apply_run(s, org_id=ORG, run=run, violations=result.violations, actor="t")
            counts = tasks.sync_from_findings(s, org_id=ORG, actor="t", as_of=at)
    assert counts["created"] == 0 and counts["notified"] == 0  # the second run: nothing new
    with unit_of_work(engine) as s:
        sent = notify.list_notifications(s, org_id=ORG, key_prefix="critical:")
        task = tasks.list_tasks(s, org_id=ORG).items[0]
    # privacy_officer is unassigned in the fixture roles: the compliance officer owns it
    assert task.owner == "P-CO" and task.severity == "critical"
    assert sorted((n.channel, n.recipient) for n in sent) == [("email", "P-CO"), ("webhook", "http://127.0.0.1:9/hook")]
    hook = next(n for n in sent if n.channel == "webhook")
    assert hook.payload["data"]["task_id"] == task.id and hook.payload["id"] == hook.id


def test_evidence_is_content_addressed_immutable_and_recorded(engine: Engine, tmp_path: Path) -> None:
    with clock.frozen(T("2028-01-31T12:00:00+00:00")), unit_of_work(engine) as s:
        recurrence.run_recurrence(s, org_id=ORG, as_of=clock.now())
        task_id = tasks.list_tasks(s, org_id=ORG).items[0].id
        first = tasks.attach_evidence(s, org_id=ORG, task_id=task_id, actor="user:co", stream=io.BytesIO(PNG),
                                      filename="scan.pdf")  # the name lies; the bytes are a PNG
        again = tasks.attach_evidence(s, org_id=ORG, task_id=task_id, actor="user:mgr", stream=io.BytesIO(PNG),
                                      filename="../../etc/same.png")
        tasks.add_note(s, org_id=ORG, task_id=task_id, actor="user:co", text="tags initialled")
    assert first.media_type == "image/png" and first.sha256 == again.sha256 and first.id != again.id
    assert again.filename == ".._.._etc_same.png" and again.attached_by == "user:mgr"  # one name, never a path
    path = evidence.blob_path(first.sha256)
    assert path.read_bytes() == PNG and not path.stat().st_mode & 0o222  # read-only
    with tasks.open_evidence(first.sha256) as fh:
        assert fh.read() == PNG
    with pytest.raises(EvidenceTooLarge), unit_of_work(engine) as s:
        tasks.attach_evidence(s, org_id=ORG, task_id=task_id, actor="u", stream=io.BytesIO(b"x" * 101),
                              filename="big.txt", limit=100)
    with pytest.raises(EvidenceTypeRefused), unit_of_work(engine) as s:
        tasks.attach_evidence(s, org_id=ORG, task_id=task_id, actor="u", stream=io.BytesIO(b"MZ\x90\x00" * 8),
                              filename="invoice.pdf")
    # binary of no known kind, and a name a desktop would run whatever the bytes (probe 25: accepted)
    with pytest.raises(EvidenceTypeRefused, match="not a kind kept"), unit_of_work(engine) as s:
        tasks.attach_evidence(s, org_id=ORG, task_id=task_id, actor="u", stream=io.BytesIO(bytes(range(256)) * 8),
                              filename="evidence.dat")
    with pytest.raises(EvidenceTypeRefused, match="named to run"), unit_of_work(engine) as s:
        tasks.attach_evidence(s, org_id=ORG, task_id=task_id, actor="u", stream=io.BytesIO(b"echo hi\n"),
                              filename="notes.BAT")
    with unit_of_work(engine) as s:
        detail = tasks.get_task(s, org_id=ORG, task_id=task_id)
        assert s.scalar(select(func.count()).select_from(TaskAttachmentRow)) == 2
    assert [a.sha256 for a in detail.attachments] == [first.sha256] * 2 and detail.notes[0].text == "tags initialled"
    assert [h.kind for h in detail.history] == ["created", "attached", "attached", "note"]
    assert not list((tmp_path / "evidence" / "incoming").iterdir())  # refused uploads leave nothing behind


def test_osha_filing_series_open_only_where_the_rules_say_records_are_kept(engine: Engine,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The 300A posting and ITA series had opened at every site, the partially exempt ones too,
    whose own 300A report said 'no 300A row' (probe 25). They follow the rules' scope now."""
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(Path(__file__).resolve().parents[2] / "policies"))
    sites = [f.establishment("E-HOSP", naics="622110", max_concurrent_employees={"2025": 30, "2026": 30},
                             employees_any_time={"2025": 30, "2026": 30}),
             f.establishment("E-OFFICE", naics="621111", max_concurrent_employees={"2025": 30, "2026": 30},
                             employees_any_time={"2025": 30, "2026": 30})]
    with unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=sites, actor="t", source="t", stream=False)

    def opened(sop: str) -> list[str]:
        with unit_of_work(engine) as s:
            page = tasks.list_tasks(s, org_id=ORG, filters=TaskFilter(sop=sop))
        return sorted(t.establishment_id or "" for t in page.items)

    _recur(engine, "2027-01-18T18:00:00+00:00")
    assert opened("SOP-OSHA-300A-POSTING") == ["E-HOSP"]  # offices of physicians keep no 300 log (1904.2)
    _recur(engine, "2027-02-16T18:00:00+00:00")
    assert opened("SOP-OSHA-ITA-SUBMISSION") == ["E-HOSP"]  # a hospital of 20+ submits (1904.41, appendix A)
    assert set(opened("SOP-OSHA-FIRE-EXTINGUISHER")) == {"E-HOSP", "E-OFFICE"}  # no `only_where`: every site


def test_every_only_where_an_sop_may_name_has_its_test() -> None:
    from typing import get_args

    from engine.tasks.applicability import TESTS
    from engine.tasks.schemas import Recurrence

    named = get_args(get_args(Recurrence.model_fields["only_where"].annotation)[0])
    assert set(named) == set(TESTS)
