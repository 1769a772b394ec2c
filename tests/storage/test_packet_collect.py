"""Collecting a packet from the database (audit trail on SQLite and PostgreSQL) and recording its build."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from engine import clock, db
from engine.audit import service as audit
from engine.packets import service as packet_service
from engine.packets.build import build_packet
from engine.packets.collect import as_of_view, collect_input
from engine.packets.schemas import (
    FindingTransition,
    PacketInput,
    PacketTask,
    PacketWaiver,
    Requirement,
    RulesetFile,
)
from engine.packets.sign import load_or_create_signer
from engine.packets.verify import verify_packet

UTC = dt.UTC
RULESET = b"framework: hipaa\nversion: 2026.1.0\n"


def at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, tzinfo=UTC)


class FakeSources:
    """Stands in for the findings, tasks and rules stores (their adapter is wired by the lead)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dt.datetime]] = []

    def org_name(self, session: Session, *, org_id: str) -> str | None:
        return "Example Family Practice"

    def findings(self, session: Session, *, known_at: dt.datetime, **_: Any) -> list[dict[str, Any]]:
        self.calls.append(("findings", known_at))
        return [
            {"id": "F-1", "rule_id": "R-1", "citation": "45 CFR 164.404(b)", "state": "resolved",
             "opened_at": "2026-01-10T00:00:00Z", "resolved_at": "2026-03-01T00:00:00Z",
             "history": [{"at": "2026-03-01T00:00:00Z", "actor": "run:R-9", "from_state": "open",
                          "to_state": "resolved"}]},
            {"id": "F-2", "rule_id": "R-2", "citation": "45 CFR 164.308(a)(5)(i)", "state": "open",
             "opened_at": "2026-03-20T00:00:00Z", "history": []},
        ]  # fmt: skip

    def finding_revisions(self, session: Session, **_: Any) -> list[Any]:
        return []

    def audit_frameworks(self, session: Session, **_: Any) -> dict[int, list[str]]:
        return {}

    def finding_transitions(self, session: Session, **_: Any) -> list[FindingTransition]:
        return [
            FindingTransition(
                finding_id="F-1", at=at(2, 1), actor="user:po", from_state="open", to_state="acknowledged"
            )
        ]

    def waivers(self, session: Session, **_: Any) -> list[PacketWaiver]:
        return [PacketWaiver(id="W-9", finding_id="F-1", reason="later", granted_by="user:po", granted_at=at(3, 25))]

    def tasks(self, session: Session, **_: Any) -> list[PacketTask]:
        return [PacketTask(id="T-1", title="Fix", state="done", finding_ids=["F-1"], completed_at=at(3, 1))]

    def rulesets(self, session: Session, **_: Any) -> list[RulesetFile]:
        return [RulesetFile(name="hipaa.yaml", content=RULESET, sha256=hashlib.sha256(RULESET).hexdigest())]

    def requirements(self, session: Session, **_: Any) -> list[Requirement]:
        return []

    def record_versions(self, session: Session, *, known_at: dt.datetime, **_: Any) -> list[dict[str, Any]]:
        self.calls.append(("record_versions", known_at))
        return []

    def runs(self, session: Session, **_: Any) -> list[dict[str, Any]]:
        return [{"id": "R-9", "as_of": "2026-03-01T00:00:00Z"}, {"id": "R-10", "as_of": "2026-03-25T00:00:00Z"}]


def trail(engine: Engine) -> None:
    """Entries before, inside and after the first quarter of 2026."""
    for when, what in [(at(1, 1) - dt.timedelta(days=3), "before"), (at(1, 5), "jan"), (at(2, 10), "feb"),
                       (at(3, 20), "mar"), (at(4, 10), "after")]:  # fmt: skip
        with clock.frozen(when), db.unit_of_work(engine) as s:
            audit.append(s, org_id="org-1", actor="user:po", action="note", entity_type="x", entity_id=what, payload={})


def test_collect_cuts_everything_at_as_of(engine: Engine) -> None:
    trail(engine)
    sources = FakeSources()
    with db.unit_of_work(engine) as s:
        inp = collect_input(
            s, org_id="org-1", framework="hipaa", date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 3, 31),
            as_of=at(2, 20), sources=sources,
        )  # fmt: skip
        before = audit.list_entries(s, org_id="org-1", limit=10)[0]
    assert sources.calls == [("findings", at(2, 20)), ("record_versions", at(2, 20))]
    assert inp.audit is not None
    assert [e.entity_id for e in inp.audit.entries] == ["jan", "feb"]
    assert inp.audit.anchor == before.hash  # the entry just before the period anchors the excerpt
    assert [f["id"] for f in inp.findings] == ["F-1"]  # F-2 was opened after as_of
    assert inp.findings[0]["state"] == "acknowledged" and inp.findings[0].get("resolved_at") is None
    assert inp.waivers == [] and inp.tasks[0].completed_at is None
    assert inp.runs == []  # R-9 ran on 1 March


def test_as_of_view_without_history_reopens_a_later_resolution() -> None:
    finding = {"id": "F", "rule_id": "R", "state": "resolved", "opened_at": "2026-01-01T00:00:00Z",
               "resolved_at": "2026-02-01T00:00:00Z"}  # fmt: skip
    (view,) = as_of_view([finding], [], at(1, 15))
    assert view["state"] == "open" and view["resolved_at"] is None
    (now,) = as_of_view([finding], [], at(3, 1))
    assert now["state"] == "resolved"


def test_build_records_itself_and_rebuilds_identically(engine: Engine, tmp_path: Path) -> None:
    trail(engine)
    signer = load_or_create_signer(tmp_path / "keys")
    kwargs: dict[str, Any] = {
        "org_id": "org-1", "framework": "hipaa", "date_from": dt.date(2026, 1, 1), "date_to": dt.date(2026, 3, 31),
        "as_of": at(4, 2), "signer": signer, "actor": "user:po", "sources": FakeSources(),
    }  # fmt: skip
    with clock.frozen(at(4, 20)), db.unit_of_work(engine) as s:
        first = packet_service.build(s, out=tmp_path / "a.zip", **kwargs)
    with clock.frozen(at(4, 21)), db.unit_of_work(engine) as s:
        second = packet_service.build(s, out=tmp_path / "b.zip", **kwargs)
    assert first.sha256 == second.sha256  # the build entries were appended after as_of
    assert verify_packet(first.path).ok
    with db.unit_of_work(engine) as s:
        entries = audit.list_entries(s, org_id="org-1", limit=2)
        assert audit.verify(s).ok
    assert [(e.action, e.entity_id) for e in entries] == [("packet.build", first.packet_id)] * 2
    assert entries[0].payload["sha256"] == first.sha256


def test_as_of_view_ignores_events_that_change_no_state() -> None:
    finding = {"id": "F", "rule_id": "R", "state": "resolved", "opened_at": "2026-01-01T00:00:00Z",
               "history": [{"at": "2026-01-02T00:00:00Z", "kind": "transition", "from_state": "open",
                            "to_state": "acknowledged"},
                           {"at": "2026-01-03T00:00:00Z", "kind": "seen", "to_state": None},
                           {"at": "2026-02-01T00:00:00Z", "kind": "transition", "from_state": "acknowledged",
                            "to_state": "resolved"}]}  # fmt: skip
    (view,) = as_of_view([finding], [], at(1, 15))
    assert view["state"] == "acknowledged" and len(view["history"]) == 2


def test_as_of_view_shows_the_content_and_assignee_of_then() -> None:
    from engine.packets.schemas import FindingRevision

    finding = {"id": "F", "rule_id": "R", "state": "open", "opened_at": "2026-01-01T00:00:00Z",
               "updated_at": "2026-03-01T00:00:00Z", "last_seen_run": "R-3", "assignee": "bo",
               "status": "overdue", "due": "2026-02-01", "message": "late", "facts": {"x": 2, "as_of": "2026-03-01"},
               "history": [{"at": "2026-01-01T00:00:00Z", "kind": "transition", "to_state": "open"},
                           {"at": "2026-01-05T00:00:00Z", "kind": "assign", "reason": "assigned to al"},
                           {"at": "2026-02-02T00:00:00Z", "kind": "update", "reason": "status due_soon -> overdue"},
                           {"at": "2026-03-01T00:00:00Z", "kind": "assign", "reason": "assigned to bo"}]}  # fmt: skip
    revisions = [FindingRevision(finding_id="F", replaced_at=at(2, 2).replace(hour=0),
                                 content={"status": "due_soon", "message": "soon", "facts": {"x": 1, "as_of": "x"}}),
                 FindingRevision(finding_id="F", replaced_at=at(2, 20),
                                 content={"status": "overdue", "message": "later", "facts": {"x": 2}})]
    (jan,) = as_of_view([finding], [], at(1, 15), revisions)
    assert (jan["status"], jan["message"], jan["facts"], jan["assignee"]) == ("due_soon", "soon", {"x": 1}, "al")
    assert jan["updated_at"] == "2026-01-05T00:00:00Z" and "last_seen_run" not in jan
    (feb,) = as_of_view([finding], [], at(2, 10), revisions)
    assert (feb["status"], feb["message"], feb["assignee"]) == ("overdue", "later", "al")
    (now,) = as_of_view([finding], [], at(3, 2), revisions)
    assert (now["status"], now["message"], now["facts"], now["assignee"]) == ("overdue", "late", {"x": 2}, "bo")
    assert now["updated_at"] == "2026-03-01T00:00:00Z"



def test_as_of_view_reads_the_resolution_and_waiver_of_then_from_the_history() -> None:
    """The stored resolution and waiver are the latest: a later reopening clears them, a later
    resolution or waiver overwrites them. At an earlier instant they are the transition's into the
    state the finding was in."""
    history = [{"at": "2026-01-01T00:00:00Z", "kind": "transition", "to_state": "open", "run_id": "R-1"},
               {"at": "2026-01-10T00:00:00Z", "kind": "transition", "from_state": "open", "to_state": "resolved",
                "run_id": "R-2", "reason": "condition no longer present in run R-2"},
               {"at": "2026-02-01T00:00:00Z", "kind": "transition", "from_state": "resolved", "to_state": "open",
                "run_id": "R-3"},
               {"at": "2026-02-05T00:00:00Z", "kind": "transition", "from_state": "open", "to_state": "waived",
                "reason": "waiver W-7 through 2026-02-28 (UTC): on leave"},
               {"at": "2026-03-01T00:00:00Z", "kind": "transition", "from_state": "waived", "to_state": "open",
                "reason": "waiver W-7 expired at 2026-03-01T00:00:00+00:00"},
               {"at": "2026-03-10T00:00:00Z", "kind": "transition", "from_state": "open", "to_state": "resolved",
                "run_id": "R-4"}]  # fmt: skip
    finding = {"id": "F", "rule_id": "R", "state": "resolved", "opened_at": "2026-01-01T00:00:00Z",
               "resolved_at": "2026-03-10T00:00:00Z", "resolved_by_run": "R-4", "waiver_id": None,
               "history": history}  # fmt: skip

    def standing(month: int, day: int) -> tuple[Any, ...]:
        (view,) = as_of_view([finding], [], at(month, day))
        return view["state"], view["resolved_at"], view["resolved_by_run"], view["waiver_id"]

    assert standing(1, 5) == ("open", None, None, None)
    assert standing(1, 20) == ("resolved", "2026-01-10T00:00:00Z", "R-2", None)
    assert standing(2, 3) == ("open", None, None, None)
    assert standing(2, 20) == ("waived", None, None, "W-7")
    assert standing(3, 5) == ("open", None, None, None)
    assert standing(3, 20) == ("resolved", "2026-03-10T00:00:00Z", "R-4", None)


def test_a_period_that_has_not_begun_is_refused(engine: Engine, tmp_path: Path) -> None:
    from engine.errors import InputError

    signer = load_or_create_signer(tmp_path / "keys")
    with clock.frozen(at(4, 20)), db.unit_of_work(engine) as s, pytest.raises(InputError, match="has not begun|after"):
        packet_service.build(s, org_id="org-1", framework="hipaa", date_from=dt.date(2026, 5, 1),
                             date_to=dt.date(2026, 5, 31), out=tmp_path / "x.zip", signer=signer, actor="t",
                             sources=FakeSources())
    assert not (tmp_path / "x.zip").exists()


def test_a_period_whose_runs_used_two_versions_of_one_file_ships_both(engine: Engine) -> None:
    """Runs before and after an edit under the same version: the current bytes under the file's name,
    the earlier ones beside them as <name>@<sha12>; bytes no run used are not shipped."""
    from engine.packets.collect import as_runs_used
    from engine.rules.tables import RulesetBlobRow

    old, new = b"version: 1.0.0\n# before\n", b"version: 1.0.0\n# after\n"
    sha = {b: hashlib.sha256(b).hexdigest() for b in (old, new)}
    current = RulesetFile(name="demo/demo-1.0.0.yaml", ruleset_id="demo", version="1.0.0", content=new,
                          sha256=sha[new])
    with db.unit_of_work(engine) as s:
        s.add(RulesetBlobRow(sha256=sha[old], framework="demo", version="1.0.0", name="demo-1.0.0.yaml",
                             content=old, stored_at=at(1, 1)))
    runs = [{"id": "R-1", "rulesets": [{"id": "demo", "version": "1.0.0", "sha256": sha[old]}]},
            {"id": "R-2", "rulesets": [{"id": "demo", "version": "1.0.0", "sha256": sha[new]}]}]
    with db.unit_of_work(engine) as s:
        both = as_runs_used(s, [current], runs, "demo")
        only_old = as_runs_used(s, [current], runs[:1], "demo")
        never_kept = as_runs_used(s, [current], [{"id": "R-3", "rulesets": [
            {"id": "demo", "version": "1.0.0", "sha256": "0" * 64}]}], "demo")
    assert [(f.name, f.content) for f in both] == [("demo/demo-1.0.0.yaml", new),
                                                   (f"demo/demo-1.0.0@{sha[old][:12]}.yaml", old)]
    assert [(f.name, f.content) for f in only_old] == [("demo/demo-1.0.0.yaml", old)]
    assert never_kept == [current]  # the build refuses it, naming the mismatch



# -- a finished period: its findings, waivers and tasks as they stood at its end ----------------------

FIXTURE_RULES = Path(__file__).resolve().parents[1] / "fixtures" / "rulesets"
FEBRUARY = {"org_id": "clinic", "framework": "demo", "date_from": dt.date(2026, 2, 1),
            "date_to": dt.date(2026, 2, 28)}


def _february_then_march(engine: Engine) -> PacketInput:
    """Two untrained new hires judged on 25 February (due 3 March, due soon), one finding acknowledged
    and the other commented on the next day; returns February's packet input as of 28 February 23:00.
    Then, after February: P1 trained and a run of 5 March resolves EP1's finding and finds EP2's
    overdue, and EP2's finding is waived on 6 March."""
    from engine import pipeline
    from engine.findings import lifecycle
    from engine.findings import service as findings_service
    from engine.findings.schemas import WaiverIn
    from engine.packet_sources import DatabaseSources
    from tests import factories as f

    start = "2026-02-01T09:00:00-06:00"
    with clock.frozen(at(2, 1)), db.unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id="clinic", records=[f.establishment(), f.episode("EP1", "P1", start),
                                                            f.episode("EP2", "P2", start)],
                                actor="t", source="t", stream=False)
    with clock.frozen(at(2, 25)), db.unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id="clinic", as_of=at(2, 25), actor="t")
    with clock.frozen(at(2, 26)), db.unit_of_work(engine) as s:
        ids = {x.subject_id: x.id for x in findings_service.list_findings(s, org_id="clinic", limit=10).items}
        lifecycle.transition(s, org_id="clinic", finding_id=ids["EP1"], action="acknowledge", actor="user:po")
        lifecycle.comment(s, org_id="clinic", finding_id=ids["EP2"], actor="user:po", text="asked HR")
    end_of_february = dt.datetime(2026, 2, 28, 23, tzinfo=UTC)
    with clock.frozen(end_of_february), db.unit_of_work(engine) as s:
        then = collect_input(s, **FEBRUARY, sources=DatabaseSources())  # type: ignore[arg-type]
    with clock.frozen(at(3, 4)), db.unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id="clinic", records=[f.training("TR1", "P1", "2026-03-04T09:00:00-06:00")],
                                actor="t", source="t", stream=False)
    with clock.frozen(at(3, 5)), db.unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id="clinic", as_of=at(3, 5), actor="t")
    with clock.frozen(at(3, 6)), db.unit_of_work(engine) as s:
        lifecycle.waive(s, org_id="clinic", actor="user:po", finding_id=ids["EP2"],
                        data=WaiverIn(ends_at=dt.datetime(2026, 6, 1, tzinfo=UTC), reason="on leave", approver="CMO"))
    return then


def test_a_finished_periods_packet_shows_its_findings_waivers_and_tasks_as_at_its_end(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """February's packet built on 7 March had shown a finding resolved, another overdue and waived, and
    history entries of March, from a run of 5 March that neither runs.json nor the audit excerpt held;
    OSCAL judged EP1's control satisfied in February. Built after the period, it shows what a packet
    built at its end showed."""
    from engine.packet_sources import DatabaseSources

    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURE_RULES))
    then = _february_then_march(engine)
    with clock.frozen(at(3, 7)), db.unit_of_work(engine) as s:
        later = collect_input(s, **FEBRUARY, sources=DatabaseSources())  # type: ignore[arg-type]
    shown = {x["subject_id"]: x for x in later.findings}
    assert (shown["EP1"]["state"], shown["EP1"]["resolved_at"], shown["EP1"]["resolved_by_run"]) == (
        "acknowledged", None, None)
    assert (shown["EP2"]["state"], shown["EP2"]["status"], shown["EP2"]["waiver_id"]) == ("open", "due_soon", None)
    assert all(h["at"] < "2026-03" for x in later.findings for h in x["history"])
    assert all(h["at"] < "2026-03" for t in later.tasks for h in t.model_dump()["history"])
    assert later.waivers == [] and [t.state for t in later.tasks] == ["open", "open"]
    assert [r["as_of"][:10] for r in later.runs] == ["2026-02-25"]
    # the same as at the period's end, in every file built from them
    assert json.dumps(later.findings, sort_keys=True) == json.dumps(then.findings, sort_keys=True)
    assert [t.model_dump(mode="json") for t in later.tasks] == [t.model_dump(mode="json") for t in then.tasks]

    report = build_packet(later, tmp_path / "p.zip", signer=load_or_create_signer(tmp_path / "keys"))
    with zipfile.ZipFile(report.path) as zf:
        def read(name: str) -> Any:
            return json.loads(zf.read(f"{report.packet_id}/data/{name}"))

        results = read("oscal/assessment-results.json")["assessment-results"]["results"][0]["findings"]
        risks = read("oscal/poam.json")["plan-of-action-and-milestones"]["risks"]
        text = zf.read(f"{report.packet_id}/data/index.html").decode()
    assert {x["target"]["status"]["state"] for x in results} == {"not-satisfied"}
    assert sorted(r["status"] for r in risks) == ["investigating", "open"]
    assert "2026-03-05" not in text and "overdue" not in text and "resolved" not in text


def test_a_run_recorded_after_the_packets_as_of_is_not_in_it(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run as of 16:03:02.25 that waited for a lock was recorded at 16:03:07: a packet built at
    16:03:02.67 had left it out, and its rebuild with that --as-of later held it (different bytes)."""
    from engine import pipeline
    from engine.packet_sources import DatabaseSources
    from tests import factories as f

    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURE_RULES))
    with clock.frozen(at(2, 1)), db.unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id="clinic", records=[f.establishment(), f.episode(
            "EP1", "P1", "2026-02-01T09:00:00-06:00")], actor="t", source="t", stream=False)
    ran = dt.datetime(2026, 2, 25, 16, 3, 2, 250000, tzinfo=UTC)
    built = dt.datetime(2026, 2, 25, 16, 3, 2, 676429, tzinfo=UTC)
    with clock.frozen(dt.datetime(2026, 2, 25, 16, 3, 7, tzinfo=UTC)), db.unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id="clinic", as_of=ran, actor="t")
    with db.unit_of_work(engine) as s:
        inp = collect_input(s, **FEBRUARY, as_of=built, sources=DatabaseSources())  # type: ignore[arg-type]
        later = collect_input(s, **FEBRUARY, as_of=built + dt.timedelta(seconds=5),  # type: ignore[arg-type]
                              sources=DatabaseSources())
    assert inp.runs == []
    assert [r["as_of"][:10] for r in later.runs] == ["2026-02-25"]


def test_a_scoped_packet_narrows_run_entries_to_its_findings_and_framework(
        engine: Engine, tmp_path: Path) -> None:
    """A run's audit entry listed every framework's rulesets and every site's opened and resolved
    findings; a packet of one framework (and of one establishment) now keeps only its own, and the
    excerpt still verifies."""
    with clock.frozen(at(3, 2)), db.unit_of_work(engine) as s:
        audit.append(s, org_id="org-1", actor="run", action="evaluation.run", entity_type="evaluation_run",
                     entity_id="R-9", payload={
                         "as_of": "2026-03-01T00:00:00+00:00", "backend": "sweep", "input_hash": "abc",
                         "rulesets": [{"id": "hipaa", "version": "1"}, {"id": "osha", "version": "2"}],
                         "diff": {"opened": ["F-2", "F-OTHER-SITE"], "resolved": ["F-1", "F-OSHA-9"]}})
    signer = load_or_create_signer(tmp_path / "keys")
    for establishment in ("EST-NYC", None):
        with db.unit_of_work(engine) as s:
            inp = collect_input(s, org_id="org-1", framework="hipaa", date_from=dt.date(2026, 1, 1),
                                date_to=dt.date(2026, 3, 31), as_of=at(4, 2), establishment=establishment,
                                sources=FakeSources())
        report = build_packet(inp, tmp_path / f"{establishment}.zip", signer=signer)
        assert verify_packet(report.path).ok
        with zipfile.ZipFile(report.path) as zf:
            every = b"".join(zf.read(n) for n in zf.namelist())
            lines = zf.read(f"{report.packet_id}/data/audit-trail.jsonl").decode().splitlines()
        for leaked in (b"F-OTHER-SITE", b"F-OSHA-9", b"osha"):
            assert leaked not in every
        (entry,) = [json.loads(x) for x in lines[1:] if json.loads(x)["action"] == "evaluation.run"]
        assert entry["redacted"] is True and entry["withheld"].startswith("in part")
        assert entry["payload"]["diff"] == {"opened": ["F-2"], "resolved": ["F-1"]}
        assert entry["payload"]["rulesets"] == [{"id": "hipaa", "version": "1"}]


def test_a_one_site_packets_runs_count_that_sites_findings_and_withhold_the_rest(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run of one framework at two sites: a packet of site E1 showed the run's totals in runs.json
    (3 opened, 3 violations: E2's two as well), which did not match its one finding. Now it counts
    E1's finding and marks each count it cannot split as withheld; the practice's packet keeps the
    totals. Both verify, and a rebuild is the same bytes."""
    from engine import pipeline
    from engine.packet_sources import DatabaseSources
    from tests import factories as f

    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURE_RULES))
    start = "2026-02-01T09:00:00-06:00"
    with clock.frozen(at(2, 1)), db.unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id="clinic", records=[
            f.establishment(), f.establishment("E2"), f.episode("EP1", "P1", start),
            f.episode("EP2", "P2", start, est="E2"), f.episode("EP3", "P3", start, est="E2")],
            actor="t", source="t", stream=False)
    with clock.frozen(at(2, 25)), db.unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id="clinic", as_of=at(2, 25), actor="t")
    signer = load_or_create_signer(tmp_path / "keys")
    built: dict[str | None, dict[str, Any]] = {}
    for establishment in ("E1", None):
        zips = []
        for again in ("a", "b"):
            with db.unit_of_work(engine) as s:
                inp = collect_input(s, **FEBRUARY, establishment=establishment, as_of=at(3, 2),  # type: ignore[arg-type]
                                    sources=DatabaseSources())
            report = build_packet(inp, tmp_path / again / f"{establishment}.zip", signer=signer)
            assert verify_packet(report.path).ok
            zips.append(report.path.read_bytes())
        assert zips[0] == zips[1]
        with zipfile.ZipFile(report.path) as zf:
            read = {name: zf.read(f"{report.packet_id}/data/{name}")
                    for name in ("runs.json", "findings.json", "index.html")}
        built[establishment] = {"runs": json.loads(read["runs.json"])["runs"],
                                "findings": json.loads(read["findings.json"])["findings"],
                                "index": read["index.html"].decode()}
    (site_run,) = built["E1"]["runs"]
    assert [x["subject_id"] for x in built["E1"]["findings"]] == ["EP1"]
    assert site_run["diff"] == {"opened": 1, "reopened": 0, "resolved": 0, "waived": 0}
    assert site_run["counts"] == {}
    assert set(site_run["withheld"]) == {"counts", "diff.persisted"}
    assert "establishment E1" in site_run["withheld"]["counts"]
    assert "<td>opened 1; persisted withheld</td>" in built["E1"]["index"]
    assert "<td>opened 3</td>" in built[None]["index"]
    (whole_run,) = built[None]["runs"]
    assert len(built[None]["findings"]) == 3
    assert whole_run["diff"]["opened"] == 3 and whole_run["counts"]["violations"] == 3
    assert "withheld" not in whole_run


class _SharedRunSources(FakeSources):
    """R-9 evaluated hipaa and osha at every site (totals over both); R-8 hipaa alone, R-7 held."""

    def runs(self, session: Session, **_: Any) -> list[dict[str, Any]]:
        return [{"id": "R-9", "as_of": "2026-03-01T00:00:00Z", "frameworks": ["hipaa", "osha"],
                 "counts": {"violations": 9}, "diff": {"opened": 2, "reopened": 0, "resolved": 2, "persisted": 5,
                                                       "waived": 0}},
                {"id": "R-8", "as_of": "2026-02-01T00:00:00Z", "frameworks": ["hipaa"],
                 "counts": {"violations": 4}, "diff": {"opened": 1, "reopened": 0, "resolved": 0, "persisted": 3,
                                                       "waived": 0}},
                {"id": "R-7", "as_of": "2026-01-01T00:00:00Z", "frameworks": ["hipaa"],
                 "counts": {"violations": 4}, "diff": {"held": True, "reason": "a look-back"}}]


def test_runs_json_counts_a_shared_run_for_the_packets_framework_and_site(engine: Engine, tmp_path: Path) -> None:
    """A hipaa packet showed R-9's totals over hipaa and osha at every site; now its diff counts are
    those of the findings the packet holds (as its narrowed audit entry lists them), the rest marked
    withheld with a reason. A run of hipaa alone keeps its totals in the practice's packet, not in a
    site's; a held run keeps its marker; a run whose audit entry is not in the excerpt is withheld."""
    with clock.frozen(at(3, 2)), db.unit_of_work(engine) as s:
        audit.append(s, org_id="org-1", actor="run", action="evaluation.run", entity_type="evaluation_run",
                     entity_id="R-9", payload={
                         "as_of": "2026-03-01T00:00:00+00:00", "backend": "sweep", "input_hash": "abc",
                         "rulesets": [{"id": "hipaa", "version": "1"}, {"id": "osha", "version": "2"}],
                         "diff": {"opened": ["F-2", "F-OTHER-SITE"], "reopened": [],
                                  "resolved": ["F-1", "F-OSHA-9"], "waived": []}})
    signer = load_or_create_signer(tmp_path / "keys")
    shown = {}
    for establishment in ("EST-NYC", None):
        with db.unit_of_work(engine) as s:
            inp = collect_input(s, org_id="org-1", framework="hipaa", date_from=dt.date(2026, 1, 1),
                                date_to=dt.date(2026, 3, 31), as_of=at(4, 2), establishment=establishment,
                                sources=_SharedRunSources())
        report = build_packet(inp, tmp_path / f"{establishment}.zip", signer=signer)
        assert verify_packet(report.path).ok
        with zipfile.ZipFile(report.path) as zf:
            shown[establishment] = {r["id"]: r for r in json.loads(
                zf.read(f"{report.packet_id}/data/runs.json"))["runs"]}
    for establishment, runs in shown.items():
        assert runs["R-9"]["diff"] == {"opened": 1, "reopened": 0, "resolved": 1, "waived": 0}  # F-2, F-1
        assert runs["R-9"]["counts"] == {} and set(runs["R-9"]["withheld"]) == {"counts", "diff.persisted"}
        assert runs["R-7"]["diff"] == {"held": True, "reason": "a look-back"}
        if establishment is None:
            assert runs["R-8"]["counts"] == {"violations": 4} and runs["R-8"]["diff"]["opened"] == 1
            assert "withheld" not in runs["R-8"] and runs["R-7"]["counts"] == {"violations": 4}
        else:
            assert runs["R-8"]["counts"] == {} and runs["R-8"]["diff"] == {}
            assert set(runs["R-8"]["withheld"]) == {"counts", "diff"}
            assert "audit excerpt" in runs["R-8"]["withheld"]["diff"]
            assert runs["R-7"]["counts"] == {} and "counts" in runs["R-7"]["withheld"]
