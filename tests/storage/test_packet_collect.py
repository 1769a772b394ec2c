"""Collecting a packet from the database (audit trail on SQLite and PostgreSQL) and recording its build."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from engine import clock, db
from engine.audit import service as audit
from engine.errors import NotFoundError
from engine.packets import service as packet_service
from engine.packets.collect import as_of_view, collect_input
from engine.packets.schemas import FindingTransition, PacketTask, PacketWaiver, Requirement, RulesetFile
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


def test_collect_without_sources_says_what_to_wire(engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="not wired"), db.unit_of_work(engine) as s:
        collect_input(s, org_id="o", framework="hipaa", date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 1, 2))


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
