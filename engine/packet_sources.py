"""The packet builder's view of the other stores (findings, tasks, rulesets, records).

A composition module, at the level of `engine.pipeline`: the packets domain defines what it needs
(`engine.packets.collect.PacketSources`) and this adapter answers it from the services, so no
domain reaches into another's tables.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy.orm import Session

from engine.audit.schemas import AuditEntry
from engine.db import utc
from engine.errors import ErrorDetail, NotFoundError
from engine.findings import known
from engine.findings import service as findings_service
from engine.findings.schemas import Finding, FindingScope
from engine.packets.collect import CitedRef
from engine.packets.schemas import (
    FindingRevision,
    FindingTransition,
    PacketTask,
    PacketWaiver,
    Requirement,
    RulesetFile,
)
from engine.records import service as records_service
from engine.records.schemas import RECORD_MODELS
from engine.rules.catalog import load_all, rulesets_dir
from engine.tasks import service as tasks_service

#: why a run that evaluated other frameworks too shows no counts as stored (`EvaluationRun.narrowed`)
SHARED_RUN = "totals over every framework the run evaluated; not kept per framework"


class DatabaseSources:
    """PacketSources over the services; `known_at` cuts are applied by collect_input itself.

    Every read is a constant number of statements per 500 findings, tasks or cited records, never
    one per item: a credentialing packet of 1,492 findings issued 11,060 statements (3.9 s of
    collecting on PostgreSQL), a cms packet 12,529 for its record versions alone.
    """

    def __init__(self) -> None:
        # what `findings` read, for `waivers` of the same build (same session and org) to reuse
        self._read: tuple[Session, str, dict[str, Finding]] | None = None

    def org_name(self, session: Session, *, org_id: str) -> str | None:
        for rec in records_service.iter_records(session, org_id=org_id, types=["organization"]):
            return str(rec.data.get("name") or rec.id)
        return None

    def findings(
        self,
        session: Session,
        *,
        org_id: str,
        framework: str,
        date_from: dt.date,
        date_to: dt.date,
        establishment: str | None,
        known_at: dt.datetime,
    ) -> list[dict[str, Any]]:
        scope = FindingScope(
            framework=framework,
            window_from=date_from,
            window_to=date_to,
            establishments=[establishment] if establishment else None,
        )
        items: list[Finding] = []
        cursor = None
        while True:
            page = findings_service.list_findings(session, org_id=org_id, limit=500, cursor=cursor, scope=scope)
            items.extend(page.items)
            cursor = page.next_cursor
            if not cursor:
                break
        # the rows the pages read, each with its history (read in batches): what `get_finding` gave
        histories = findings_service.finding_histories(session, org_id=org_id, finding_ids=[f.id for f in items])
        full = [f.model_copy(update={"history": histories.get(f.id, [])}) for f in items]
        self._read = (session, org_id, {f.id: f for f in full})
        return sorted((f.model_dump(mode="json") for f in full), key=lambda f: f["id"])

    def finding_transitions(
        self, session: Session, *, org_id: str, finding_ids: list[str], known_at: dt.datetime
    ) -> list[FindingTransition]:
        return []  # kept inside each Finding's history

    def finding_revisions(self, session: Session, *, org_id: str, finding_ids: list[str]) -> list[FindingRevision]:
        return [FindingRevision(finding_id=r.finding_id, replaced_at=r.replaced_at, content=r.content)
                for r in findings_service.finding_revisions(session, org_id=org_id, finding_ids=finding_ids)]

    def audit_frameworks(self, session: Session, *, org_id: str, entries: list[AuditEntry]) -> dict[int, list[str]]:
        by_type: dict[str, set[str]] = defaultdict(set)
        for e in entries:
            by_type[_entity_type(e)].add(e.entity_id)
        findings = findings_service.finding_frameworks(session, org_id=org_id, finding_ids=by_type["finding"])
        tasks: dict[str, str | None] = {}
        if by_type["task"]:
            from engine.tasks import service as tasks_service

            tasks = tasks_service.task_findings(session, org_id=org_id, task_ids=sorted(by_type["task"]))
            findings |= findings_service.finding_frameworks(session, org_id=org_id,
                                                            finding_ids={f for f in tasks.values() if f})
        waiver_rules = {w.id: w.rule_id for w in findings_service.list_waivers(session, org_id=org_id)
                        if w.id in by_type["waiver"]}
        rules = known.ruleset_index().rules if waiver_rules else {}
        out: dict[int, list[str]] = {}
        for e in entries:
            named = _entry_frameworks(e, findings=findings, tasks=tasks, waiver_rules=waiver_rules, rules=rules)
            if named:
                out[e.seq] = sorted(named)
        return out

    def waivers(
        self, session: Session, *, org_id: str, finding_ids: list[str], known_at: dt.datetime
    ) -> list[PacketWaiver]:
        wanted = set(finding_ids)
        by_waiver: dict[str, str] = {}  # waiver id -> finding id
        for fid, f in self._findings(session, org_id=org_id, finding_ids=finding_ids):
            if f.waiver_id:
                by_waiver[f.waiver_id] = fid
            for h in f.history:
                if h.to_state == "waived" and h.reason and h.reason.startswith("waiver "):
                    by_waiver.setdefault(h.reason.split()[1], fid)
        out = []
        for w in findings_service.list_waivers(session, org_id=org_id):
            owner = by_waiver.get(w.id)
            if owner is None or owner not in wanted:
                continue
            out.append(
                PacketWaiver(
                    id=w.id,
                    finding_id=owner,
                    rule_id=w.rule_id,
                    reason=w.reason,
                    granted_by=w.created_by,
                    approved_by=w.approver,
                    granted_at=w.created_at,
                    starts_at=w.starts_at,
                    ends_at=w.ends_at,
                    valid_from=w.starts_at.date(),
                    valid_until=_last_day(w.ends_at),
                    **({"revoked_at": w.revoked_at, "revoked_by": w.revoked_by, "revoke_reason": w.revoke_reason}
                       if w.revoked_at is not None and w.revoked_at <= known_at else {}),
                )
            )
        return out

    def _findings(self, session: Session, *, org_id: str, finding_ids: list[str]) -> list[tuple[str, Finding]]:
        """(id, finding with history) for each id, in the order given: those `findings` read in this
        session reused, any other read in one batch; an id that is no finding of the org is not found."""
        read = dict(self._read[2]) if self._read and self._read[0] is session and self._read[1] == org_id else {}
        missing = [fid for fid in finding_ids if fid not in read]
        if missing:
            read.update((f.id, f) for f in findings_service.get_findings(session, org_id=org_id, finding_ids=missing))
        for fid in finding_ids:
            if fid not in read:
                raise NotFoundError(f"no finding {fid}", [ErrorDetail(reason="unknown finding", record_id=fid)])
        return [(fid, read[fid]) for fid in finding_ids]

    def tasks(
        self, session: Session, *, org_id: str, finding_ids: list[str], known_at: dt.datetime
    ) -> list[PacketTask]:
        return list(tasks_service.packet_tasks(session, org_id=org_id, finding_ids=finding_ids, known_at=known_at))

    def rulesets(
        self, session: Session, *, framework: str, date_from: dt.date, date_to: dt.date, known_at: dt.datetime
    ) -> list[RulesetFile]:
        out = []
        for item in load_all(rulesets_dir()):
            s = item.spec
            if s.framework != framework:
                continue
            if not item.overlaps(date_from, date_to):
                continue
            out.append(
                RulesetFile(
                    name=f"{framework}/{Path(item.path).name}",
                    ruleset_id=framework,
                    version=s.version,
                    content=item.content,
                    sha256=item.sha256,
                )
            )
        return sorted(out, key=lambda r: r.name)

    def requirements(self, session: Session, *, framework: str, known_at: dt.datetime) -> list[Requirement]:
        by_citation: dict[str, Requirement] = {}
        for item in load_all(rulesets_dir()):
            if item.spec.framework != framework:
                continue
            for rule in item.spec.rules:
                req = by_citation.setdefault(
                    rule.citation,
                    Requirement(citation=rule.citation, title=rule.title, text=rule.description or "", rule_ids=[]),
                )
                if rule.id not in req.rule_ids:
                    req.rule_ids.append(rule.id)
        return [by_citation[k] for k in sorted(by_citation)]

    def runs(
        self,
        session: Session,
        *,
        org_id: str,
        framework: str,
        date_from: dt.date,
        date_to: dt.date,
        known_at: dt.datetime,
    ) -> list[dict[str, Any]]:
        out = []
        for r in findings_service.list_runs(session, org_id=org_id, limit=100000):
            if framework not in r.frameworks:
                continue
            if not (date_from <= r.as_of.date() <= date_to):
                continue
            run = r.narrowed(framework).model_dump(mode="json")  # no other framework's params or totals
            if r.frameworks != [framework]:  # said, so the packet recounts or withholds them (`scope_run`)
                run["withheld"] = {"counts": SHARED_RUN, "diff": SHARED_RUN}
            out.append(run)
        return sorted(out, key=lambda r: (r["as_of"], r["id"]))

    def record_versions(
        self, session: Session, *, org_id: str, refs: list[CitedRef], known_at: dt.datetime
    ) -> list[dict[str, Any]]:
        return _record_versions(session, org_id=org_id, refs=refs, known_at=known_at)

    def cited_records(
        self, session: Session, *, org_id: str, refs: list[CitedRef], known_at: dt.datetime
    ) -> list[dict[str, Any]]:
        """The newest version of each cited record known at `known_at`, and the cited version when older.

        Subjects that are not stored records (derived subjects such as `ai_use_encounter`) are skipped.
        """
        wanted: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        for record_type, record_id, version in refs:
            if record_type in RECORD_MODELS:
                versions = wanted[record_type][record_id]
                if version is not None:
                    versions.add(version)
        out: list[dict[str, Any]] = []
        for record_type in sorted(wanted):
            cited = wanted[record_type]
            newest = list(records_service.iter_record_data_by_ids(
                session, org_id=org_id, record_type=record_type, ids=sorted(cited), known_at=known_at))
            older = records_service.record_histories(
                session, org_id=org_id, record_type=record_type,
                record_ids=[record_id for record_id, version, _ in newest if cited[record_id] - {version}])
            for record_id, version, data in newest:
                out.append(data)
                out.extend(old.data for old in older.get(record_id, [])
                           if old.version in cited[record_id] and old.version != version)
        return out


def _record_versions(session: Session, *, org_id: str, refs: list[CitedRef],
                     known_at: dt.datetime) -> list[dict[str, Any]]:
    wanted: dict[tuple[str, str], set[int | None]] = defaultdict(set)
    for record_type, record_id, version in refs:
        if record_type in RECORD_MODELS:
            wanted[record_type, record_id].add(version)
    ids_by_type: dict[str, list[str]] = defaultdict(list)
    for record_type, record_id in wanted:
        ids_by_type[record_type].append(record_id)
    histories = {record_type: records_service.record_histories(session, org_id=org_id, record_type=record_type,
                                                               record_ids=ids)
                 for record_type, ids in sorted(ids_by_type.items())}
    out: list[dict[str, Any]] = []
    for (record_type, record_id), versions in sorted(wanted.items()):
        stored = histories[record_type].get(record_id)
        if not stored:  # a subject with no record behind it (a tool named only by its outputs)
            continue
        known = [v for v in stored if utc(v.recorded_at) <= known_at]
        chosen = {v.version for v in known if v.version in versions}
        if None in versions and known:
            chosen.add(known[-1].version)
        out.extend({"type": v.type, "id": v.id, "version": v.version, "content_hash": v.content_hash,
                    "recorded_at": v.recorded_at.isoformat(), "source": PurePath(v.source).name or v.source,
                    "data": v.data} for v in known if v.version in chosen)
    return out


def _last_day(ends_at: dt.datetime) -> dt.date:
    """The last UTC day a waiver is in force: it ends at `ends_at`, exclusive (through 30 April ends
    on 1 May 00:00), so the day of that instant counts only when the waiver ends after its start."""
    return (ends_at - dt.timedelta(microseconds=1)).date()


def _entry_frameworks(entry: AuditEntry, *, findings: dict[str, str], tasks: dict[str, str | None],
                      waiver_rules: dict[str, str], rules: dict[str, known.RuleInfo]) -> set[str]:
    """The frameworks an audit entry is about; empty for practice-wide entries (records, users,
    grants, tokens, notifications, recurring obligations) and for what cannot be told."""
    payload = entry.payload or {}
    kind = _entity_type(entry)
    if kind == "finding":
        return {findings[entry.entity_id]} if entry.entity_id in findings else set()
    if kind == "task":
        finding = tasks.get(entry.entity_id)
        return {findings[finding]} if finding in findings else set()
    if kind == "waiver":
        rule = waiver_rules.get(entry.entity_id)
        return set(rules[rule].frameworks) if rule in rules else set()
    if kind in ("ruleset", "parameter", "packet"):
        framework = payload.get("framework")
        return {framework} if isinstance(framework, str) and framework else set()
    if kind == "evaluation_run":
        return {str(r["id"]) for r in payload.get("rulesets") or [] if isinstance(r, dict) and r.get("id")}
    return set()


def _entity_type(entry: AuditEntry) -> str:
    """What an entry is about; waiver entries written before 2026-12-01 said `finding`."""
    return "waiver" if entry.action.startswith("waiver.") else entry.entity_type
