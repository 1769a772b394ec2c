"""Packet collection reads in batches, and collects exactly what the per-item reads collected.

The latency probe counted 11,060 statements collecting a credentialing packet of 1,492 findings
(`get_finding` twice a finding, a task's history and attachments one query each, a record's
versions one query each). `PerItemSources` keeps those per-item reads (the service calls of the
adapter as it was) as the reference: on the small demo practice, with history, waivers, evidence
and re-imported records added, the batched adapter's `PacketInput` is the same to the byte, on
SQLite and PostgreSQL, with the batches at their size, for a period still running and for one that
ended before the last sweep (shown as at its end); and cut small (several chunks per read) for the
fullest case of each framework, where every kind of item is read.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from functools import partial
from pathlib import Path, PurePath
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from engine import clock, db, pipeline
from engine.db import utc
from engine.errors import VigilError
from engine.findings import lifecycle
from engine.findings import service as findings_service
from engine.findings.schemas import FindingFilter, FindingScope, WaiverIn
from engine.packet_sources import DatabaseSources, _last_day
from engine.packets.collect import CitedRef, collect_input
from engine.packets.schemas import EvidenceRef, PacketTask, PacketWaiver
from engine.records import service as records_service
from engine.records.schemas import RECORD_MODELS
from engine.tasks import service as tasks_service
from engine.tasks.tables import TaskAttachmentRow, TaskEventRow, TaskRow
from tests import factories as f

UTC = dt.UTC
ORG = "demo"
FRAMEWORKS = ["ai_use", "cms", "credentialing", "hipaa", "osha"]
FIRST_SWEEP = dt.datetime(2026, 11, 16, 17, tzinfo=UTC)
CHANGES = dt.datetime(2026, 11, 20, 15, tzinfo=UTC)
LAST_SWEEP = dt.datetime(2026, 11, 30, 17, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class PerItemSources(DatabaseSources):
    """The adapter's reads as they were before batching: one service call (or query) per item."""

    def findings(self, session: Any, *, org_id: str, framework: str, date_from: dt.date, date_to: dt.date,
                 establishment: str | None, known_at: dt.datetime) -> list[dict[str, Any]]:
        scope = FindingScope(framework=framework, window_from=date_from, window_to=date_to,
                             establishments=[establishment] if establishment else None)
        out: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = findings_service.list_findings(session, org_id=org_id, limit=500, cursor=cursor, scope=scope)
            for item in page.items:
                full = findings_service.get_finding(session, org_id=org_id, finding_id=item.id)
                out.append(full.model_dump(mode="json"))
            cursor = page.next_cursor
            if not cursor:
                return sorted(out, key=lambda f: f["id"])

    def waivers(self, session: Any, *, org_id: str, finding_ids: list[str],
                known_at: dt.datetime) -> list[PacketWaiver]:
        wanted = set(finding_ids)
        by_waiver: dict[str, str] = {}
        for fid in finding_ids:
            found = findings_service.get_finding(session, org_id=org_id, finding_id=fid)
            if found.waiver_id:
                by_waiver[found.waiver_id] = fid
            for h in found.history:
                if h.to_state == "waived" and h.reason and h.reason.startswith("waiver "):
                    by_waiver.setdefault(h.reason.split()[1], fid)
        out = []
        for w in findings_service.list_waivers(session, org_id=org_id):
            owner = by_waiver.get(w.id)
            if owner is None or owner not in wanted:
                continue
            out.append(PacketWaiver(
                id=w.id, finding_id=owner, rule_id=w.rule_id, reason=w.reason, granted_by=w.created_by,
                approved_by=w.approver, granted_at=w.created_at, starts_at=w.starts_at, ends_at=w.ends_at,
                valid_from=w.starts_at.date(), valid_until=_last_day(w.ends_at),
                **({"revoked_at": w.revoked_at, "revoked_by": w.revoked_by, "revoke_reason": w.revoke_reason}
                   if w.revoked_at is not None and w.revoked_at <= known_at else {})))
        return out

    def tasks(self, session: Any, *, org_id: str, finding_ids: list[str], known_at: dt.datetime) -> list[PacketTask]:
        out = []
        for t in _tasks_per_item(session, org_id=org_id, finding_ids=finding_ids, known_at=known_at):
            refs = [EvidenceRef(name=e["name"], sha256=e["sha256"], size=e["size"], media_type=e["media_type"],
                                attached_at=e["attached_at"], attachment_id=e["id"], attached_by=e["attached_by"],
                                opener=partial(tasks_service.open_evidence, e["sha256"]))
                    for e in t["evidence"]]
            out.append(PacketTask.model_validate({**t, "evidence": refs}))
        return out

    def record_versions(self, session: Any, *, org_id: str, refs: list[CitedRef],
                        known_at: dt.datetime) -> list[dict[str, Any]]:
        wanted: dict[tuple[str, str], set[int | None]] = defaultdict(set)
        for record_type, record_id, version in refs:
            if record_type in RECORD_MODELS:
                wanted[record_type, record_id].add(version)
        out: list[dict[str, Any]] = []
        for (record_type, record_id), versions in sorted(wanted.items()):
            try:
                stored = records_service.record_history(session, org_id=org_id, record_type=record_type,
                                                        record_id=record_id)
            except VigilError:
                continue
            known = [v for v in stored if utc(v.recorded_at) <= known_at]
            chosen = {v.version for v in known if v.version in versions}
            if None in versions and known:
                chosen.add(known[-1].version)
            out.extend({"type": v.type, "id": v.id, "version": v.version, "content_hash": v.content_hash,
                        "recorded_at": v.recorded_at.isoformat(), "source": PurePath(v.source).name or v.source,
                        "data": v.data} for v in known if v.version in chosen)
        return out

    def cited_records(self, session: Any, *, org_id: str, refs: list[CitedRef],
                      known_at: dt.datetime) -> list[dict[str, Any]]:
        wanted: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        for record_type, record_id, version in refs:
            if record_type in RECORD_MODELS:
                versions = wanted[record_type][record_id]
                if version is not None:
                    versions.add(version)
        out: list[dict[str, Any]] = []
        for record_type in sorted(wanted):
            cited = wanted[record_type]
            for record_id, version, data in records_service.iter_record_data_by_ids(
                    session, org_id=org_id, record_type=record_type, ids=sorted(cited), known_at=known_at):
                out.append(data)
                if cited[record_id] - {version}:
                    out.extend(old.data for old in records_service.record_history(
                        session, org_id=org_id, record_type=record_type, record_id=record_id)
                        if old.version in cited[record_id] and old.version != version)
        return out


def _tasks_per_item(session: Any, *, org_id: str, finding_ids: list[str],
                    known_at: dt.datetime) -> list[dict[str, Any]]:
    """`tasks_service.tasks_for_packet` as it read before batching: two queries per task."""
    known_at = clock.ensure_utc(known_at)
    out: list[dict[str, Any]] = []
    if not finding_ids:
        return out
    rows = session.scalars(select(TaskRow).where(TaskRow.org_id == org_id, TaskRow.finding_id.in_(finding_ids),
                                                 TaskRow.created_at <= known_at).order_by(TaskRow.id))
    for row in rows:
        state = "open"
        history, late = [], 0
        owner, due, due_at = row.owner, row.due, utc(row.due_at)
        completed = None
        for ev in session.scalars(select(TaskEventRow).where(TaskEventRow.task_id == row.id,
                                                             TaskEventRow.at <= known_at).order_by(TaskEventRow.id)):
            at = utc(ev.at)
            state = ev.to_state or state
            if ev.due_at is not None:
                owner, due, due_at = ev.owner, ev.due or due, utc(ev.due_at)
            if ev.to_state == "done":
                completed = at
                late += at > due_at
            history.append({"at": at.isoformat(), "kind": ev.kind, "actor": ev.actor, "from_state": ev.from_state,
                            "to_state": ev.to_state, "reason": ev.reason})
        atts = session.scalars(select(TaskAttachmentRow).where(TaskAttachmentRow.task_id == row.id,
                                                               TaskAttachmentRow.attached_at <= known_at)
                               .order_by(TaskAttachmentRow.id))
        out.append({
            "id": row.id, "title": row.title, "state": state, "finding_ids": [row.finding_id],
            "assignee": owner, "due": due.isoformat(), "sop": row.sop,
            "completed_at": completed if state == "done" else None,
            "evidence": [{"id": a.id, "name": a.filename, "sha256": a.sha256, "size": a.size,
                          "media_type": a.media_type, "attached_at": utc(a.attached_at),
                          "attached_by": a.attached_by} for a in atts],
            "due_at": due_at.isoformat(), "completed_late": late, "history": history,
        })
    return out


def _collect(engine: Engine, sources: DatabaseSources, *, framework: str, as_of: dt.datetime,
             redact: bool, org_id: str = ORG, date_to: dt.date = dt.date(2026, 12, 31)) -> str:
    with db.unit_of_work(engine) as s:
        got = collect_input(s, org_id=org_id, framework=framework, date_from=dt.date(2026, 1, 1),
                            date_to=date_to, as_of=as_of, redact_phi=redact, sources=sources)
    return got.model_dump_json()


def _small_chunks(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(db, "IN_CHUNK", size)


def _demo_practice(engine: Engine, tmp_path: Path) -> None:
    """The small demo practice, swept twice, with a person's work in between: findings acknowledged,
    assigned, waived (one waiver revoked), task evidence attached, tasks completed and reassigned,
    and cited records imported again with other content (a finding then cites an older version)."""
    from engine.demo.generator import generate

    data = tmp_path / "practice"
    generate(data, size="small", seed=3, anchor=LAST_SWEEP.date())
    with clock.frozen(FIRST_SWEEP):
        with db.unit_of_work(engine) as s:
            pipeline.ingest_files(s, org_id=ORG, paths=sorted(data.glob("*.ndjson")), actor="t", stream=False)
        with db.unit_of_work(engine) as s:
            pipeline.evaluate(s, org_id=ORG, as_of=FIRST_SWEEP, actor="t", trigger="t")
    with clock.frozen(CHANGES), db.unit_of_work(engine) as s:
        for framework in FRAMEWORKS:
            found = findings_service.list_findings(s, org_id=ORG, limit=6, sort=None,
                                                   filters=FindingFilter(framework=framework, state="open")).items
            if len(found) < 4:
                continue
            lifecycle.transition(s, org_id=ORG, finding_id=found[0].id, action="acknowledge", actor="user:po",
                                 reason="looking into it")
            lifecycle.assign(s, org_id=ORG, finding_id=found[1].id, actor="user:po", assignee="P-0001")
            lifecycle.waive(s, org_id=ORG, actor="user:po", finding_id=found[2].id,
                            data=WaiverIn(ends_at=dt.datetime(2027, 1, 1, tzinfo=UTC), reason="on leave",
                                          approver="CMO"))
            revoked = lifecycle.waive(s, org_id=ORG, actor="user:po", finding_id=found[3].id,
                                      data=WaiverIn(ends_at=dt.datetime(2027, 2, 1, tzinfo=UTC), reason="covered",
                                                    approver="CMO"))
            lifecycle.revoke_waiver(s, org_id=ORG, waiver_id=revoked.id, actor="user:po", reason="not covered")
        open_tasks = [t for t in tasks_service.list_tasks(s, org_id=ORG, limit=1000).items
                      if t.state == "open" and t.finding_id]
        owners = sorted({t.owner for t in open_tasks if t.owner})
        for n, task in enumerate(open_tasks[:40]):
            if n % 2 == 0:
                tasks_service.attach_evidence(s, org_id=ORG, task_id=task.id, actor="user:po",
                                              stream=io.BytesIO(b"%PDF-1.4 " + str(n).encode()), filename="proof.pdf")
            if n % 3 == 0:
                tasks_service.complete_task(s, org_id=ORG, task_id=task.id, actor="user:po")
            elif n % 5 == 1 and owners:
                tasks_service.reassign_task(s, org_id=ORG, task_id=task.id, owner=owners[n % len(owners)],
                                            actor="user:po")
        people = sorted({x.subject_id for x in findings_service.list_findings(s, org_id=ORG, limit=1000).items
                         if x.subject_type == "person"})
        again = []
        for person in people[::3]:
            rec = records_service.get_record(s, org_id=ORG, record_type="person", record_id=person)
            again.append({**rec.data, "type": "person", "id": person, "address": f"{rec.data.get('address')} (moved)"})
        pipeline.ingest_records(s, org_id=ORG, records=again, actor="t", source="moves.ndjson", stream=False)
    with clock.frozen(LAST_SWEEP), db.unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id=ORG, as_of=LAST_SWEEP, actor="t", trigger="t")


def test_batched_collection_matches_the_per_item_reads_on_the_demo_practice(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _demo_practice(engine, tmp_path)
    seen = {"waivers": 0, "revoked": 0, "evidence": 0, "done": 0, "history": 0, "older_versions": 0, "cut": 0}
    between, after = CHANGES + dt.timedelta(hours=1), LAST_SWEEP + dt.timedelta(hours=1)
    year, ended = dt.date(2026, 12, 31), (CHANGES + dt.timedelta(days=2)).date()  # a period over before the sweep
    cases = [(fw, as_of, redact, to) for fw in FRAMEWORKS for as_of, redact, to in (
        (between, False, year), (after, False, year), (after, True, year), (after, False, ended))]
    findings_of: dict[tuple[str, dt.date], str] = {}
    for framework, as_of, redact, to in cases:
        want = _collect(engine, PerItemSources(), framework=framework, as_of=as_of, redact=redact, date_to=to)
        assert _collect(engine, DatabaseSources(), framework=framework, as_of=as_of, redact=redact,
                        date_to=to) == want, (framework, as_of, redact, to)
        if as_of == after and not redact and to == year:  # the fullest case: every kind of item, cut in chunks
            with monkeypatch.context() as m:
                _small_chunks(m, 3)  # every batched read in several chunks
                assert _collect(engine, DatabaseSources(), framework=framework, as_of=as_of, redact=redact,
                                date_to=to) == want, (framework, as_of, redact, to, "chunks of 3")
        packet = json.loads(want)
        if as_of == after and not redact:
            findings_of[framework, to] = json.dumps(packet["findings"])
        if to == ended:  # shown as at the period's end: the last sweep's changes undone
            assert all(h["at"][:10] <= to.isoformat() for x in packet["findings"] for h in x["history"])
            assert all(h["at"][:10] <= to.isoformat() for t in packet["tasks"] for h in t["history"])
            # built after the sweep, the packet of a period over before it is the one built before it
            before = json.loads(_collect(engine, DatabaseSources(), framework=framework, as_of=between,
                                         redact=False, date_to=to))
            assert packet | {"as_of": None} == before | {"as_of": None}, framework
            seen["cut"] += findings_of[framework, to] != findings_of[framework, year]
        seen["waivers"] += len(packet["waivers"])
        seen["revoked"] += sum(1 for w in packet["waivers"] if w.get("revoked_at"))
        seen["evidence"] += sum(len(t["evidence"]) for t in packet["tasks"])
        seen["done"] += sum(1 for t in packet["tasks"] if t["state"] == "done")
        seen["history"] += sum(len(x["history"]) for x in packet["findings"])
        versions: dict[tuple[str, str], int] = defaultdict(int)
        for r in packet["records"]:
            versions[r["type"], r["id"]] += 1
        seen["older_versions"] += sum(1 for n in versions.values() if n > 1)
    assert all(seen.values()), seen  # the comparison covered each kind of item


# -- statements -------------------------------------------------------------------------------------

@pytest.fixture
def _fixture_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))


def _practice_of(engine: Engine, org_id: str, n: int) -> None:
    """`n` untrained new hires: `n` findings, each with history, a task with evidence and history,
    and a cited record with two versions."""
    start = "2026-02-01T09:00:00-06:00"
    with clock.frozen(dt.datetime(2026, 2, 1, tzinfo=UTC)), db.unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=org_id, records=[f.establishment()] + [
            f.episode(f"EP{i}", f"P{i}", start) for i in range(n)], actor="t", source="t", stream=False)
    as_of = dt.datetime(2026, 3, 5, 12, tzinfo=UTC)
    with clock.frozen(as_of), db.unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id=org_id, as_of=as_of, actor="t")
    with clock.frozen(as_of + dt.timedelta(hours=1)), db.unit_of_work(engine) as s:
        for finding in findings_service.list_findings(s, org_id=org_id, limit=1000).items:
            lifecycle.transition(s, org_id=org_id, finding_id=finding.id, action="acknowledge", actor="user:po")
        for task in tasks_service.list_tasks(s, org_id=org_id, limit=1000).items:
            tasks_service.attach_evidence(s, org_id=org_id, task_id=task.id, actor="user:hr1",
                                          stream=io.BytesIO(b"%PDF-1.4 x"), filename="cert.pdf")
            tasks_service.complete_task(s, org_id=org_id, task_id=task.id, actor="user:hr1")
        pipeline.ingest_records(s, org_id=org_id, records=[
            f.episode(f"EP{i}", f"P{i}", start, role="nurse") for i in range(n)], actor="t", source="t2",
            stream=False)


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


@pytest.mark.usefixtures("_fixture_rules")
def test_collecting_takes_as_many_statements_for_three_times_the_findings(
        engine: Engine, statements: list[str]) -> None:
    """A packet's reads are per batch, not per finding, task or record: the probe's 11,060 statements."""
    _practice_of(engine, "small", 4)
    _practice_of(engine, "large", 12)
    counts = {}
    sizes = {}
    for org_id in ("small", "large"):
        for redact in (False, True):
            with db.unit_of_work(engine) as s:
                statements.clear()
                got = collect_input(s, org_id=org_id, framework="demo", date_from=dt.date(2026, 1, 1),
                                    date_to=dt.date(2026, 12, 31), as_of=dt.datetime(2026, 3, 6, tzinfo=UTC),
                                    redact_phi=redact, sources=DatabaseSources())
                counts[org_id, redact] = len(statements)
            sizes[org_id] = (len(got.findings), len(got.tasks), sum(len(t.evidence) for t in got.tasks),
                             len(got.records))
    assert sizes == {"small": (4, 4, 4, 8), "large": (12, 12, 12, 24)}, sizes
    for redact in (False, True):
        assert counts["large", redact] == counts["small", redact], counts
