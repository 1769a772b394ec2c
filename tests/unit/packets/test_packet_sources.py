"""The database adapter passes the as-of cut on to the stores that can apply it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from engine.packet_sources import DatabaseSources
from engine.tasks import service as tasks_service


def test_tasks_are_read_as_they_stood_at_known_at(monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe 15 #3: a task closed after the as-of instant showed as closed in a rebuilt packet."""
    asked: dict[str, Any] = {}

    def packet_tasks(session: Any, **kwargs: Any) -> list[Any]:
        asked.update(kwargs)
        return []

    monkeypatch.setattr(tasks_service, "packet_tasks", packet_tasks)
    known_at = dt.datetime(2026, 11, 30, 20, 29, tzinfo=dt.UTC)
    DatabaseSources().tasks(None, org_id="org-demo", finding_ids=["F-1"], known_at=known_at)  # type: ignore[arg-type]
    assert asked == {"org_id": "org-demo", "finding_ids": ["F-1"], "known_at": known_at}


def test_a_packets_runs_hold_only_its_framework(monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe 15 #6: a hipaa packet's runs.json carried every framework's parameters and totals."""
    from engine.findings import service as findings_service
    from engine.findings.schemas import EvaluationRun

    at = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    common: dict[str, Any] = {"org_id": "o", "as_of": at, "known_at": None, "backend": "python",
                              "input_hash": "h", "started_at": at, "duration_ms": 1, "actor": "t", "trigger": "t"}
    runs = [EvaluationRun(id="R-all", frameworks=["hipaa", "osha"], counts={"violations": 9},
                          rulesets=[{"id": "hipaa", "version": "1"}, {"id": "osha", "version": "1"}],
                          params={"hipaa": {"a": 1}, "osha": {"b": 2}}, diff={"opened": 3}, **common),
            EvaluationRun(id="R-hipaa", frameworks=["hipaa"], counts={"violations": 4},
                          rulesets=[{"id": "hipaa", "version": "1"}], params={"hipaa": {"a": 1}},
                          diff={"held": True, "reason": "a look back"}, **common),
            EvaluationRun(id="R-osha", frameworks=["osha"], counts={}, rulesets=[], params={}, diff={}, **common)]
    monkeypatch.setattr(findings_service, "list_runs", lambda session, **kw: runs)
    got = DatabaseSources().runs(None, org_id="o", framework="hipaa", date_from=dt.date(2026, 1, 1),  # type: ignore[arg-type]
                                 date_to=dt.date(2026, 12, 31), known_at=at)
    assert [r["id"] for r in got] == ["R-all", "R-hipaa"]
    assert got[0]["params"] == {"hipaa": {"a": 1}} and got[0]["rulesets"] == [{"id": "hipaa", "version": "1"}]
    assert got[0]["counts"] == {} and got[0]["diff"] == {} and got[0]["frameworks"] == ["hipaa"]
    assert got[1]["counts"] == {"violations": 4} and got[1]["diff"]["held"] is True  # its own run, as stored
    # said, not silent: the packet recounts R-all's diff for its scope or gives the reason (`scope_run`)
    assert set(got[0]["withheld"]) == {"counts", "diff"} and "withheld" not in got[1]


def test_a_packets_waiver_names_who_granted_who_approved_and_its_last_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe 15: `granted_by` showed the approver, and a waiver through 30 April read "valid until 1 May"."""
    from engine.findings import service as findings_service
    from engine.findings.schemas import Finding, Waiver

    utc = dt.UTC
    waiver = Waiver(id="W-1", org_id="o", rule_id="R", subject_type="t", subject_id="S", establishment_id=None,
                    starts_at=dt.datetime(2026, 3, 11, 12, tzinfo=utc), ends_at=dt.datetime(2026, 5, 1, tzinfo=utc),
                    reason="on leave", approver="Dr. Chen (CMO)", created_by="user:officer",
                    created_at=dt.datetime(2026, 3, 11, 12, tzinfo=utc),
                    revoked_at=dt.datetime(2026, 4, 2, tzinfo=utc), revoked_by="user:officer", revoke_reason="back")
    finding = Finding.model_construct(id="F-1", waiver_id="W-1", history=[])
    monkeypatch.setattr(findings_service, "get_findings", lambda *a, **k: [finding])
    monkeypatch.setattr(findings_service, "list_waivers", lambda *a, **k: [waiver])
    (before,) = DatabaseSources().waivers(None, org_id="o", finding_ids=["F-1"],  # type: ignore[arg-type]
                                          known_at=dt.datetime(2026, 4, 1, tzinfo=utc))
    assert (before.granted_by, before.approved_by) == ("user:officer", "Dr. Chen (CMO)")
    assert (before.valid_from, before.valid_until) == (dt.date(2026, 3, 11), dt.date(2026, 4, 30))
    assert "revoked_at" not in before.model_dump()  # revoked after the packet's instant
    (after,) = DatabaseSources().waivers(None, org_id="o", finding_ids=["F-1"],  # type: ignore[arg-type]
                                         known_at=dt.datetime(2026, 4, 3, tzinfo=utc))
    assert after.model_dump()["revoke_reason"] == "back"
