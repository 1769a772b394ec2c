"""Assemble a PacketInput from the database, as it stood at an instant.

The audit excerpt comes from engine.audit; findings, tasks, waivers, rulesets and runs come from
the other domains through `PacketSources`: this domain may not import theirs, so the composition
layer passes the adapter in (`engine.packet_sources.DatabaseSources`; a test passes its own).
Whatever the sources return, `collect_input` applies the as-of cut itself,
so `--as-of` means the same thing for every domain: nothing that happened after the instant is
in the packet, and each finding shows the state it had then. For a period that ended before the
as-of, "then" is the period's end (`shown_at`): the period bounds runs and the audit excerpt, so
it bounds what the findings, their waivers and tasks show too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy.orm import Session

from engine import clock
from engine.audit import service as audit_service
from engine.audit.chain import parse_instant
from engine.audit.schemas import AuditEntry
from engine.packets.redact import record_identifiers
from engine.packets.schemas import (
    FindingRevision,
    FindingTransition,
    PacketInput,
    PacketTask,
    PacketWaiver,
    Requirement,
    RulesetFile,
)
from engine.records import service as records_service
from engine.rules import blobs
from engine.rules.state_zones import establishment_tz

#: the fact a finding's `facts` hold of the instant its last run judged as of (findings service)
RUN_INSTANT_FACT = "as_of"
#: a record a finding cites: (type, id, version); version None for a finding's subject
CitedRef = tuple[str, str, int | None]


class PacketSources(Protocol):
    """What a packet needs from the findings, tasks and rules stores.

    Each method takes the session first and keyword arguments, like a service function, and
    returns plain data (dicts in the INTERFACES.md shapes, or this package's schemas). Today's
    services map onto it as: findings -> `findings_service.list_findings(session, org_id=...,
    scope=FindingScope(framework, window_from, window_to, establishments), cursor=...)` paged to
    the end, then `get_finding` per id for its history (`Finding.model_dump(mode="json")`);
    waivers -> `findings_service.list_waivers`; runs -> `findings_service.list_runs` limited to
    the period; tasks, evidence and ruleset bytes -> the tasks store and the rules registry.

    - `org_name(session, *, org_id) -> str | None`
    - `findings(session, *, org_id, framework, date_from, date_to, establishment, known_at)
      -> list[dict]`: every Finding (INTERFACES.md shape, with `history`) of the framework that
      was open at some time in [date_from, date_to], as the database knew it at `known_at`
      (findings_service.list_findings with a period filter and the record-history cut);
    - `finding_transitions(session, *, org_id, finding_ids, known_at) -> list[FindingTransition]`
      (finding history rows, if they are kept apart from `Finding.history`);
    - `finding_revisions(session, *, org_id, finding_ids) -> list[FindingRevision]`: what each
      finding said before a run refreshed it (findings_service.finding_revisions);
    - `audit_frameworks(session, *, org_id, entries) -> dict[int, list[str]]`: for each audit entry
      (by seq) about particular frameworks' things (their findings, tasks, waivers, rulesets,
      parameters, packets, runs), those frameworks; practice-wide entries are left out. An entry
      about other frameworks only is withheld from the packet (its place in the chain kept);
    - `waivers(session, *, org_id, finding_ids, known_at) -> list[PacketWaiver]`;
    - `tasks(session, *, org_id, finding_ids, known_at) -> list[PacketTask]`, each with its
      evidence as EvidenceRef (path, or `opener` over the content-addressed store, plus the
      sha256, size, media type and attached_at recorded at attachment);
    - `rulesets(session, *, framework, date_from, date_to, known_at) -> list[RulesetFile]`: the
      exact bytes of every ruleset version in force during the period (the rules registry);
    - `requirements(session, *, framework, known_at) -> list[Requirement]` (title/text per citation);
    - `runs(session, *, org_id, framework, date_from, date_to, known_at) -> list[dict]`: the
      EvaluationRuns in the period, with their input hashes; a run narrowed to `framework` (it
      evaluated others too) says so in `withheld` (the packet then recounts or withholds its
      counts for its scope: `run_counts.scope_run`);
    - `cited_records(session, *, org_id, refs, known_at) -> list[dict]`: the data (`type`, `id`
      and fields) of the records named by `refs`, (type, id, version or None) triples: the version
      cited, and the newest known at `known_at`; unknown types and ids are skipped. Asked only for
      a PHI-redacted packet, to learn the patient identifiers a finding's message may name;
    - `record_versions(session, *, org_id, refs, known_at) -> list[dict]`: each cited version as
      stored (`type`, `id`, `version`, `content_hash`, `recorded_at`, `source` file name, `data`):
      the evidence version a finding cites, and a subject's newest version known at `known_at`.
      The packet ships them (`records.json`), so an auditor traces a finding to its facts offline.

    `finding_transitions`, `waivers` and `tasks` are asked as of the instant the packet shows them
    (`shown_at`: the period's end when it is over), the others as of the packet's `as_of`.
    """

    def org_name(self, session: Session, *, org_id: str) -> str | None: ...

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
    ) -> list[dict[str, Any]]: ...

    def finding_transitions(
        self, session: Session, *, org_id: str, finding_ids: list[str], known_at: dt.datetime
    ) -> list[FindingTransition]: ...

    def finding_revisions(self, session: Session, *, org_id: str, finding_ids: list[str]) -> list[FindingRevision]: ...

    def audit_frameworks(self, session: Session, *, org_id: str, entries: list[AuditEntry]) -> dict[int, list[str]]: ...

    def waivers(
        self, session: Session, *, org_id: str, finding_ids: list[str], known_at: dt.datetime
    ) -> list[PacketWaiver]: ...

    def tasks(
        self, session: Session, *, org_id: str, finding_ids: list[str], known_at: dt.datetime
    ) -> list[PacketTask]: ...

    def rulesets(
        self, session: Session, *, framework: str, date_from: dt.date, date_to: dt.date, known_at: dt.datetime
    ) -> list[RulesetFile]: ...

    def requirements(self, session: Session, *, framework: str, known_at: dt.datetime) -> list[Requirement]: ...

    def runs(
        self,
        session: Session,
        *,
        org_id: str,
        framework: str,
        date_from: dt.date,
        date_to: dt.date,
        known_at: dt.datetime,
    ) -> list[dict[str, Any]]: ...

    def cited_records(
        self, session: Session, *, org_id: str, refs: list[CitedRef], known_at: dt.datetime
    ) -> list[dict[str, Any]]: ...

    def record_versions(
        self, session: Session, *, org_id: str, refs: list[CitedRef], known_at: dt.datetime
    ) -> list[dict[str, Any]]: ...


def period_window(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the period in UTC: date_from 00:00 to the day after date_to 00:00."""
    start = dt.datetime.combine(date_from, dt.time(), tzinfo=dt.UTC)
    return start, dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def shown_at(date_to: dt.date, as_of: dt.datetime) -> dt.datetime:
    """The instant a packet shows its findings, waivers and tasks as of: the period's last instant
    (date_to 23:59:59.999999Z), or `as_of` when that is earlier (a period not over yet).

    The one place that decides it. The period's UTC days bound the runs and the audit excerpt; a
    packet of October to 4 December built on 5 December had shown findings resolved, re-rated and
    re-dated by a run of 5 December that neither runs.json nor the excerpt held, and OSCAL judged a
    control `satisfied` in a period it was not."""
    return min(clock.ensure_utc(as_of), period_window(date_to, date_to)[1] - dt.timedelta(microseconds=1))


def collect_input(
    session: Session,
    *,
    org_id: str,
    framework: str,
    date_from: dt.date,
    date_to: dt.date,
    establishment: str | None = None,
    as_of: dt.datetime | None = None,
    redact_phi: bool = False,
    sources: PacketSources,
) -> PacketInput:
    """Everything the packet for this scope holds, as the database stood at `as_of` (default: now):
    its findings, their waivers and tasks as they stood at the period's end, or at `as_of` when that
    is earlier (`shown_at`)."""
    as_of = clock.ensure_utc(as_of) if as_of is not None else clock.now()
    shown = shown_at(date_to, as_of)
    start, end = period_window(date_from, date_to)
    findings = sources.findings(
        session,
        org_id=org_id,
        framework=framework,
        date_from=date_from,
        date_to=date_to,
        establishment=establishment,
        known_at=as_of,
    )
    ids = sorted(str(f["id"]) for f in findings)
    transitions = [
        t for t in sources.finding_transitions(session, org_id=org_id, finding_ids=ids, known_at=shown) if t.at <= shown
    ]
    findings = as_of_view(findings, transitions, shown,
                          sources.finding_revisions(session, org_id=org_id, finding_ids=ids))
    ids = sorted(str(f["id"]) for f in findings)
    runs = [r for r in sources.runs(session, org_id=org_id, framework=framework, date_from=date_from, date_to=date_to,
                                known_at=as_of) if _known_run(r, as_of)]
    excerpt = audit_service.excerpt(session, org_id=org_id, start=start, end=end, known_at=as_of)
    waivers = [w for w in sources.waivers(session, org_id=org_id, finding_ids=ids, known_at=shown)
               if w.granted_at <= shown]
    tasks = [_task_as_of(t, shown) for t in sources.tasks(session, org_id=org_id, finding_ids=ids, known_at=shown)]
    zones = {record_id: establishment_tz(data) or "" for record_id, _, data in records_service.iter_record_data(
        session, org_id=org_id, record_type="establishment", known_at=as_of)}
    return PacketInput(
        zones=zones,
        org_id=org_id,
        org_name=sources.org_name(session, org_id=org_id),
        framework=framework,
        period_from=date_from,
        period_to=date_to,
        as_of=as_of,
        establishment=establishment,
        findings=findings,
        finding_transitions=[t for t in transitions if t.finding_id in ids],
        waivers=waivers,
        tasks=tasks,
        rulesets=as_runs_used(session, sources.rulesets(session, framework=framework, date_from=date_from,
                                                     date_to=date_to, known_at=as_of), runs, framework),
        requirements=sources.requirements(session, framework=framework, known_at=as_of),
        runs=runs,
        audit=excerpt,
        audit_withheld={seq: fws for seq, fws in sources.audit_frameworks(
            session, org_id=org_id, entries=excerpt.entries).items() if framework not in fws},
        audit_out_of_scope=out_of_scope(excerpt.entries, finding_ids=set(ids), task_ids={t.id for t in tasks},
                                        waiver_ids={w.id for w in waivers}) if establishment else [],
        audit_accounts=account_entries(excerpt.entries, framework=framework),
        records=sources.record_versions(session, org_id=org_id, refs=cited_refs(findings), known_at=as_of),
        redact_phi=redact_phi,
        phi_identifiers=_phi_identifiers(session, sources, org_id=org_id, findings=findings, as_of=as_of)
        if redact_phi
        else [],
    )


def out_of_scope(entries: list[AuditEntry], *, finding_ids: set[str], task_ids: set[str],
                 waiver_ids: set[str]) -> list[int]:
    """The audit entries (by seq) about findings, tasks or waivers this packet does not hold.

    For a packet of some establishments, the period's chain also holds the framework's other
    findings: their owners, due dates and waivers belong to sites the auditor was not shown, so
    their payload is withheld as other frameworks' is (practice-wide entries stay whole)."""
    out = []
    for e in entries:
        kind = "waiver" if e.action.startswith("waiver.") else e.entity_type
        held = {"finding": finding_ids, "task": task_ids, "waiver": waiver_ids}.get(kind)
        if held is not None and e.entity_id not in held:
            out.append(e.seq)
    return out


#: Action families (the part before the dot) about Vigil's own accounts and their access.
ACCOUNT_FAMILIES = frozenset({"user", "token", "auth"})


def account_entries(entries: list[AuditEntry], *, framework: str) -> list[int]:
    """The audit entries (by seq) about Vigil's own users and access: accounts, tokens, sign-ins
    (`auth.*`: logins, failed ones, lock-outs), and the auditor grants of other frameworks.

    Why withheld: they are the compliance team's administration of this tool, not evidence about
    the framework, and a packet goes to an auditor of one framework, who learnt from them every
    user, role and token and the other auditors' grants (their frameworks, windows and sites). A
    grant for this packet's framework stays whole: who was given the audit's access, and when."""
    out = []
    for e in entries:
        family = e.action.partition(".")[0]
        if family in ACCOUNT_FAMILIES or (family == "grant" and e.payload.get("framework") != framework):
            out.append(e.seq)
    return out


def cited_refs(findings: list[dict[str, Any]]) -> list[CitedRef]:
    """Every record the findings cite: each subject, and each evidence reference (with its version)."""
    refs: set[CitedRef] = set()
    for f in findings:
        if f.get("subject_type") and f.get("subject_id"):
            refs.add((str(f["subject_type"]), str(f["subject_id"]), None))
        for ev in f.get("evidence") or []:
            if isinstance(ev, dict) and ev.get("type") and ev.get("id"):
                version = ev.get("version")
                refs.add((str(ev["type"]), str(ev["id"]), version if isinstance(version, int) else None))
    return sorted(refs, key=lambda r: (r[0], r[1], r[2] or 0))


def _phi_identifiers(
    session: Session, src: PacketSources, *, org_id: str, findings: list[dict[str, Any]], as_of: dt.datetime
) -> list[str]:
    """The patient identifiers in the records the findings cite, which their messages may name.

    The finding documents alone are not enough: "The access request AR-2 of PT-77 ..." cites only
    the access request, and the patient id sits in that record's `patient_id` field.
    """
    found: set[str] = set()
    for record in src.cited_records(session, org_id=org_id, refs=cited_refs(findings), known_at=as_of):
        found |= record_identifiers(record)
    return sorted(found)


def _known_run(run: dict[str, Any], as_of: dt.datetime) -> bool:
    """Whether the database knew of `run` at `as_of`: recorded (`started_at`) by then, and judging an
    instant not after it. Why recorded time: a run as of 16:03:02.25 that waited for a lock and was
    recorded at 16:03:07 was absent from a packet built at 16:03:02.67 yet present in its rebuild
    with that `--as-of`, so the same as-of gave different bytes."""
    ran, recorded = _instant(run.get("as_of")), _instant(run.get("started_at"))
    return (ran is None or ran <= as_of) and (recorded is None or recorded <= as_of)


def _instant(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return clock.ensure_utc(value)
    if isinstance(value, str) and value:
        return parse_instant(value)
    return None


def as_of_view(
    findings: list[dict[str, Any]],
    transitions: list[FindingTransition],
    as_of: dt.datetime,
    revisions: Iterable[FindingRevision] = (),
) -> list[dict[str, Any]]:
    """The findings as they stood at `as_of`: later ones dropped, later history undone.

    A finding's state at the instant is the target of its last transition at or before it; with
    no such transition it was `open` then, and a resolution after the instant had not happened.
    Its resolution (`resolved_at`, `resolved_by_run`) and waiver (`waiver_id`) are those of the
    transition that put it in that state, its content (status, severity, due, message, evidence,
    facts) is the revision that was current then, its assignee the last assignment by then. Which
    run last saw it, and the instant that run judged as of (`facts.as_of`), are left out: a run
    that changes nothing of a finding leaves no trace on it, so neither could be stated as of an
    earlier instant (the packet's runs list has every run of the period).
    """
    extra: dict[str, list[dict[str, Any]]] = {}
    for t in transitions:
        extra.setdefault(t.finding_id, []).append(t.model_dump(mode="json"))
    replaced: dict[str, list[FindingRevision]] = {}
    for r in sorted(revisions, key=lambda r: r.replaced_at):
        replaced.setdefault(r.finding_id, []).append(r)
    view = []
    for finding in findings:
        opened = _instant(finding.get("opened_at"))
        if opened is None or opened <= as_of:
            fid = str(finding["id"])
            view.append(_finding_then(finding, extra.get(fid, []), replaced.get(fid, []), as_of))
    return view


def _finding_then(finding: dict[str, Any], extra: list[dict[str, Any]], replaced: list[FindingRevision],
                  as_of: dt.datetime) -> dict[str, Any]:
    """One finding as it stood at `as_of` (see `as_of_view`)."""
    history = finding.get("history") or []
    own = [h for h in history if _happened(h, as_of)]
    known = sorted(own + [h for h in extra if _happened(h, as_of)], key=_at)
    changed = dict(finding, history=own)
    changed.pop("last_seen_run", None)
    resolved = _instant(finding.get("resolved_at"))
    resolved_later = resolved is not None and resolved > as_of
    moves = [h for h in known if h.get("to_state")]  # events such as "seen" change no state
    if moves:
        changed["state"] = moves[-1]["to_state"]
    elif history or extra or resolved_later:
        changed["state"] = "open"
    then = next((r for r in replaced if r.replaced_at > as_of), None)
    if then is not None:
        changed.update(then.content)
    if isinstance(changed.get("facts"), dict):  # the instant of the run that last judged it: see above
        changed["facts"] = {k: v for k, v in changed["facts"].items() if k != RUN_INSTANT_FACT}
    undone = len(own) < len(history) or then is not None  # something after the instant was undone
    if undone or resolved_later:
        changed.update(_standing(str(changed["state"]), moves[-1] if moves else {}))
    if undone:
        assigned = [h for h in own if h.get("kind") == "assign"]
        changed["assignee"] = _assignee(assigned[-1]) if assigned else None
        changed["updated_at"] = max((h["at"] for h in own), key=lambda a: _instant(a) or as_of,
                                    default=finding.get("opened_at"))
    return changed


def _standing(state: str, move: dict[str, Any]) -> dict[str, Any]:
    """The resolution and waiver of a finding in `state`, read from the transition into it (`move`).

    A run's resolution sets `resolved_at` and `resolved_by_run`, a waiver sets `waiver_id`, and the
    next transition clears them (engine.findings), so each holds exactly while the finding is in
    that state: the stored ones are the latest, which a later resolution or waiver overwrote, and a
    later reopening cleared."""
    resolved = state == "resolved"
    return {"resolved_at": move.get("at") if resolved else None,
            "resolved_by_run": move.get("run_id") if resolved else None,
            "waiver_id": _waiver_named(move) if state == "waived" else None}


def _waiver_named(move: dict[str, Any]) -> str | None:
    """The waiver a transition to `waived` names ("waiver W-... through ...: reason")."""
    words = str(move.get("reason") or "").split()
    return words[1] if len(words) > 1 and words[0] == "waiver" else None


def _assignee(entry: dict[str, Any]) -> str | None:
    """Who an assignment history entry ("assigned to NAME") names."""
    reason = str(entry.get("reason") or "")
    return reason.removeprefix("assigned to ") if reason.startswith("assigned to ") else None


def _at(item: dict[str, Any]) -> dt.datetime:
    return _instant(item.get("at")) or dt.datetime.min.replace(tzinfo=dt.UTC)


def _happened(item: dict[str, Any], as_of: dt.datetime) -> bool:
    at = _instant(item.get("at"))
    return at is not None and at <= as_of


def _task_as_of(task: PacketTask, as_of: dt.datetime) -> PacketTask:
    evidence = [e for e in task.evidence if e.attached_at is None or e.attached_at <= as_of]
    completed = task.completed_at if task.completed_at is not None and task.completed_at <= as_of else None
    return task.model_copy(update={"evidence": evidence, "completed_at": completed})


def as_runs_used(session: Session, files: list[RulesetFile], runs: list[dict[str, Any]],
                 framework: str) -> list[RulesetFile]:
    """The ruleset files to ship: the bytes the packet's runs recorded (kept in `ruleset_blob`),
    not those on disk now where they differ.

    A file changed under the same version (a new release of Vigil, an edit) is shipped as the runs
    used it; where the period's runs used both, the bytes no run used now are left out and the
    earlier ones ship beside them as `<name>@<sha256[:12]>`. Bytes never kept (runs older than the
    store) stay as on disk, and the build refuses the mismatch, naming it."""
    recorded: dict[str, set[str]] = {}
    for run in runs:
        for used in run.get("rulesets") or []:
            if isinstance(used, dict) and used.get("id") == framework and used.get("version") and used.get("sha256"):
                recorded.setdefault(str(used["version"]), set()).add(str(used["sha256"]))
    kept = blobs.fetch(session, {sha for shas in recorded.values() for sha in shas})
    out: list[RulesetFile] = []
    for f in files:
        shas = recorded.get(f.version or "", set())
        older = sorted(sha for sha in shas - {f.sha256} if sha in kept)
        if not older:
            out.append(f)
            continue
        if f.sha256 in shas:  # the current bytes were used too: both ship
            out.append(f)
            out += [_blob_file(f.name, kept[sha], suffix=True) for sha in older]
        else:
            out += [_blob_file(f.name, kept[sha], suffix=len(older) > 1) for sha in older]
    return sorted(out, key=lambda r: r.name)


def _blob_file(name: str, blob: Any, *, suffix: bool) -> RulesetFile:
    stem, dot, ext = name.rpartition(".")
    shown = f"{stem}@{blob.sha256[:12]}{dot}{ext}" if suffix else name
    return RulesetFile(name=shown, ruleset_id=blob.framework, version=blob.version, content=blob.content,
                       sha256=blob.sha256)
