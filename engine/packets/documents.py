"""Turn a PacketInput into the plain documents every renderer shares (JSON, CSV, OSCAL, index).

Doing this once keeps the renderers dumb and consistent: the same sort order, the same merged
finding histories, the same evidence paths and, in a redacted packet, the same pseudonyms in
every file. Everything here is deterministic: sorted, no clock, no randomness.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import yaml

from engine.audit.chain import format_instant, normalise_payload, parse_instant
from engine.packets.oscal_ids import control_id
from engine.packets.redact import Pseudonymizer
from engine.packets.run_scope import scoped_runs
from engine.packets.schemas import EvidenceRef, PacketInput
from engine.records.hashing import canonical_fields
from engine.records.schemas import RECORD_MODELS

CLOSED_STATES = {"resolved", "false_positive"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def iso(instant: dt.datetime) -> str:
    """An instant as ISO 8601 in UTC with `Z` (every date-time in a packet carries its zone)."""
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def safe_name(text: str, limit: int = 80) -> str:
    """A file-name fragment that is the same on every OS and inside any zip tool."""
    cleaned = _UNSAFE.sub("_", text).strip("._") or "file"
    return cleaned[:limit]


@dataclass(frozen=True)
class EvidenceFile:
    """One evidence file to copy into the bag (or withheld from a redacted one)."""

    task_id: str
    ref: EvidenceRef
    name: str
    file: str | None  # payload-relative path, None when withheld


@dataclass
class CitationGroup:
    """What the index shows under one citation: the requirement and everything about it."""

    citation: str
    control_id: str
    title: str
    text: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    waivers: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PacketDocs:
    """The packet's content, ready to be written in each format."""

    packet_id: str
    meta: dict[str, Any]
    findings: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    waivers: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    rulesets: list[dict[str, Any]]
    audit_header: dict[str, Any]
    audit_entries: list[dict[str, Any]]
    evidence: list[EvidenceFile]
    groups: list[CitationGroup]
    summary: dict[str, Any]
    #: the record versions the findings cite, as stored (records.json)
    records: list[dict[str, Any]] = field(default_factory=list)
    #: record type -> the fields its content hash's canonical form rewrites (records.json's
    #: `content_hash_form`, which data/verify-data.py reads)
    records_form: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    #: establishment id -> IANA zone (`PacketInput.zones`)
    zones: dict[str, str] = field(default_factory=dict)
    #: the controls of every rule of the rulesets shipped (what an evaluation in the period reviewed)
    controls: list[str] = field(default_factory=list)


def _ruleset_controls(inp: PacketInput) -> list[str]:
    """The controls of the rules in the ruleset files shipped, as the findings name theirs: an
    evaluation reviews every rule, and a control with no finding was reviewed and found clean (the
    OSCAL results had listed only the controls with findings). A file that does not read as a
    ruleset gives none: the packet still ships its bytes."""
    out: set[str] = set()
    for ruleset in inp.rulesets:
        try:
            loaded = yaml.safe_load(ruleset.content)
        except yaml.YAMLError:
            continue
        rules = loaded.get("rules") if isinstance(loaded, dict) else None
        for rule in rules if isinstance(rules, list) else ():
            if isinstance(rule, dict) and isinstance(rule.get("id"), str):
                citation = rule.get("citation")
                out.add(control_id(inp.framework, citation if isinstance(citation, str) else None, rule["id"]))
    return sorted(out)


def _history(finding: dict[str, Any], transitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for item in list(finding.get("history") or []) + transitions:
        at = item.get("at")
        at_text = iso(parse_instant(at)) if isinstance(at, str) and at else str(at or "")
        entry = {"actor": None, "from_state": None, "to_state": None, "reason": None} | dict(item) | {"at": at_text}
        merged.setdefault((at_text, str(entry["from_state"]), str(entry["to_state"])), entry)
    return [merged[k] for k in sorted(merged)]


def _finding_key(f: dict[str, Any]) -> tuple[str, ...]:
    return (str(f.get("citation") or ""), f["rule_id"], str(f.get("subject_id") or ""), f["id"])


def prepare(inp: PacketInput, *, fingerprint: str, pseudonymizer: Pseudonymizer | None = None) -> PacketDocs:
    """Build the shared documents; with a pseudonymizer, every one of them is redacted."""
    transitions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in inp.finding_transitions:
        transitions[t.finding_id].append(t.model_dump(mode="json"))
    findings = [normalise_payload(f) for f in inp.findings]
    for f in findings:
        f["history"] = _history(f, transitions.get(f["id"], []))
    waivers = sorted((w.model_dump(mode="json") for w in inp.waivers), key=lambda w: w["id"])
    held = {str(f["id"]) for f in inp.findings}
    runs = scoped_runs(inp, held=held)
    tasks = sorted(
        (t.model_dump(mode="json", exclude={"evidence"}) | {"evidence": []} for t in inp.tasks), key=lambda t: t["id"]
    )
    evidence_names = {(t.id, i): ref.name for t in inp.tasks for i, ref in enumerate(t.evidence)}
    out_of_scope, accounts = set(inp.audit_out_of_scope), set(inp.audit_accounts)
    audit_entries = [
        _withhold(entry, inp.audit_withheld[e.seq]) if e.seq in inp.audit_withheld
        else _withhold_outside(entry, inp.establishment) if e.seq in out_of_scope
        else _withhold_accounts(entry) if e.seq in accounts
        else _narrow_run(entry, inp.framework, held) if e.action == "evaluation.run" else entry
        for e in (inp.audit.entries if inp.audit else [])
        for entry in [e.model_dump(mode="json") | {"at": format_instant(e.at)}]
    ]
    records = sorted((dict(r) for r in inp.records), key=lambda r: (str(r["type"]), str(r["id"]), int(r["version"])))
    if pseudonymizer is not None:
        pseudonymizer.learn(inp.phi_identifiers)
        pseudonymizer.collect([findings, waivers, tasks, runs, audit_entries, records])
        # a redacted record's content no longer hashes to content_hash: flagged, as audit entries are
        records = [pseudonymizer.scrub(r) | {"redacted": True} for r in records]
        findings = pseudonymizer.scrub(findings)
        waivers = pseudonymizer.scrub(waivers)
        tasks = pseudonymizer.scrub(tasks)
        runs = pseudonymizer.scrub(runs)
        audit_entries = [_redact_entry(e, pseudonymizer) for e in audit_entries]
        evidence_names = {k: pseudonymizer.scrub_text(v) for k, v in evidence_names.items()}
    findings.sort(key=_finding_key)

    evidence = _evidence(inp, tasks, evidence_names, pseudonymizer=pseudonymizer)
    _link(inp.framework, findings, waivers, tasks)
    rulesets = [
        {
            "name": r.name,
            "ruleset_id": r.ruleset_id,
            "version": r.version,
            "sha256": r.sha256,
            "size": len(r.content),
            "file": f"rulesets/{r.name}",
        }
        for r in sorted(inp.rulesets, key=lambda r: r.name)
    ]
    audit_header = {
        "type": "anchor",
        "org_id": inp.org_id,
        "anchor": inp.audit.anchor if inp.audit else None,
        "head": inp.audit.head if inp.audit else None,
        "entries": len(audit_entries),
        "first_org_seq": audit_entries[0]["org_seq"] if audit_entries else None,
        "hash": "sha256 over canonical JSON of org_id, org_seq, at, actor, action, entity_type, "
        "entity_id, payload, prev_hash (sorted keys, no whitespace, UTF-8); see VERIFY.txt step 5 and "
        "verify-data.py",
        "redacted_entries": sum(1 for e in audit_entries if e.get("redacted")),
        "withheld_entries": sum(1 for e in audit_entries if e.get("withheld")),
    }
    packet_id = inp.packet_id()
    meta = {
        "packet_id": packet_id,
        "org_id": inp.org_id,
        "org_name": inp.org_name,
        "framework": inp.framework,
        "period": {"from": inp.period_from.isoformat(), "to": inp.period_to.isoformat()},
        "as_of": iso(inp.as_of),
        "establishment": inp.establishment,
        "signing_key_fingerprint": fingerprint,
        "phi_redacted": pseudonymizer is not None,
        "content_digest": inp.content_digest(),
    }
    groups = _groups(inp, findings, waivers, tasks)
    return PacketDocs(
        packet_id=packet_id,
        meta=meta,
        findings=findings,
        tasks=tasks,
        waivers=waivers,
        runs=runs,
        rulesets=rulesets,
        audit_header=audit_header,
        audit_entries=audit_entries,
        evidence=evidence,
        groups=groups,
        controls=_ruleset_controls(inp),
        summary=_summary(findings, tasks, waivers, evidence, rulesets, runs, audit_entries)
        | {"evaluation": evaluation_coverage(inp, runs, findings=len(findings)), "records": len(records)},
        records=records,
        records_form={t: canonical_fields(RECORD_MODELS[t]) for t in sorted({str(r["type"]) for r in records})
                      if t in RECORD_MODELS},
        zones=dict(inp.zones),
    )


def held(run: dict[str, Any]) -> bool:
    """A look-back run that was recorded but not applied to the findings store (`diff.held`)."""
    diff = run.get("diff")
    return isinstance(diff, dict) and bool(diff.get("held"))


def evaluation_coverage(inp: PacketInput, runs: list[dict[str, Any]], *, findings: int = 0) -> dict[str, Any]:
    """Whether an applied evaluation run covered the period, in words an auditor cannot misread.

    Findings exist only from the moment a run applied them to the store. A period no applied run
    fell in therefore shows no findings although nobody judged it, and a held look-back run left
    its findings out of the store (they are only counted in runs.json). Either way "no findings"
    would read as a clean period, so the index and packet.json say which case this is. A period no
    run fell in can still show `findings` that runs before it raised and that were open during it;
    the note then says where they came from, so they are not read as the period's judgement.
    """
    applied = [r for r in runs if not held(r)]
    held_runs = len(runs) - len(applied)
    period = f"{inp.period_from.isoformat()} to {inp.period_to.isoformat()}"
    not_compliance = "The absence of findings in this packet is not evidence of compliance for the period."
    if findings:
        not_compliance = (
            f"The {findings} finding(s) shown were raised by evaluation runs before the period and were open "
            "during it; nothing judged the period itself, so a condition that arose in it is not among them, "
            "and the absence of other findings is not evidence of compliance for the period."
        )
    unfinished = _unfinished(inp)
    if not applied:
        status = "held_only" if held_runs else "not_evaluated"
        note = (
            f"No applied evaluation run covered this period ({period}). "
            + (
                f"{held_runs} evaluation run(s) in the period were look-backs that were recorded but held, "
                "not applied: their results are not among this packet's findings (runs.json lists their counts). "
                if held_runs
                else "No evaluation run at all is recorded in the period. "
            )
            + not_compliance
            + unfinished
        )
        return {"status": status, "applied_runs": 0, "held_runs": held_runs, "first_applied": None,
                "last_applied": None, "period_ended": not unfinished, "note": note}  # fmt: skip
    first, last = str(applied[0].get("as_of") or ""), str(applied[-1].get("as_of") or "")
    note = f"{len(applied)} applied evaluation run(s) in the period, as of {first} to {last}."
    if first[:10] > inp.period_from.isoformat():
        note += (
            f" Nothing evaluated the period before {first[:10]}: a condition that arose and cleared before "
            "then was never judged."
        )
    if not unfinished and last[:10] < inp.period_to.isoformat():
        note += (
            f" Nothing evaluated the period after {last[:10]}: a condition that arose after then is not among "
            "the findings."
        )
    if held_runs:
        note += f" {held_runs} look-back run(s) were held, not applied; their results are not among the findings."
    note += unfinished
    return {"status": "evaluated", "applied_runs": len(applied), "held_runs": held_runs, "first_applied": first,
            "last_applied": last, "period_ended": not unfinished, "note": note}  # fmt: skip


def _unfinished(inp: PacketInput) -> str:
    """The note for a packet made before its period ended ('' when it had ended): such a packet
    shows the period up to its instant only, and could be taken for the whole period."""
    end = dt.datetime.combine(inp.period_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    if inp.as_of >= end:
        return ""
    return (f" The period had not ended when this packet was made (as of {iso(inp.as_of)}): it shows "
            f"{inp.period_from.isoformat()} to {inp.as_of.date().isoformat()} only; build it again after "
            f"{inp.period_to.isoformat()} for the whole period.")


def _withhold(entry: dict[str, Any], frameworks: list[str]) -> dict[str, Any]:
    """An entry about other frameworks only: its place in the chain and what kind of change it was
    stay (so the excerpt still links from anchor to head), its payload does not, for the packet goes
    to an auditor of one framework. Like a PHI-redacted entry, its content hash cannot be rechecked."""
    return entry | {"payload": {}, "redacted": True,
                    "withheld": f"about {', '.join(frameworks)}, not this packet's framework"}


def _withhold_outside(entry: dict[str, Any], establishment: str | None) -> dict[str, Any]:
    """An entry about a finding (or its task or waiver) of another site or of the whole practice,
    in a packet of some establishments: withheld as `_withhold` does."""
    return entry | {"payload": {}, "redacted": True,
                    "withheld": f"about a finding outside this packet's scope (establishment {establishment})"}


def _narrow_run(entry: dict[str, Any], framework: str, held: set[str]) -> dict[str, Any]:
    """A run's entry, as a reader of this packet sees the run (`EvaluationRun.narrowed`): its payload
    kept but for the rulesets of other frameworks and the ids of findings the packet does not hold.

    Why: one run usually evaluates every framework at every site, and its entry listed each opened
    and resolved finding and every ruleset, which `GET /evaluations` hides from this auditor. Narrowed,
    it is flagged as a withheld entry is (its hash and links kept, its content not recomputable)."""
    payload = entry.get("payload") or {}
    narrowed = dict(payload)
    if isinstance(payload.get("rulesets"), list):
        narrowed["rulesets"] = [r for r in payload["rulesets"] if isinstance(r, dict) and r.get("id") == framework]
    if isinstance(payload.get("diff"), dict):
        narrowed["diff"] = {k: [i for i in v if str(i) in held] if isinstance(v, list) else v
                            for k, v in payload["diff"].items()}
    if narrowed == payload:
        return entry
    return entry | {"payload": narrowed, "redacted": True,
                    "withheld": "in part: other frameworks' rulesets and findings outside this packet's scope"}


def _withhold_accounts(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry about Vigil's own users, tokens or another framework's auditor grant: withheld as
    `_withhold` does (see `collect.account_entries`)."""
    return entry | {"payload": {}, "redacted": True,
                    "withheld": "about Vigil's own users and access, not this packet's framework"}


def _redact_entry(entry: dict[str, Any], pseudonymizer: Pseudonymizer) -> dict[str, Any]:
    scrubbed: dict[str, Any] = pseudonymizer.scrub(entry)
    if scrubbed != entry:
        # hash and linkage stay as stored; the content can no longer be recomputed
        scrubbed.update(hash=entry["hash"], prev_hash=entry["prev_hash"], redacted=True)
    return scrubbed


#: Evidence a browser would run when an auditor opens it from the unpacked packet (the index links
#: every file): HTML, SVG and XML documents can carry script, and `file://` pages run it. Such a file
#: is shipped with `.txt` added, so it opens as the text it is; its name, hash and size are unchanged.
_ACTIVE_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml", ".svg", ".svgz", ".xml", ".xsl", ".mht", ".mhtml")


_ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml")


def _inert(name: str, media_type: str | None) -> str:
    active = name.lower().endswith(_ACTIVE_SUFFIXES) or (media_type or "").split(";")[0].strip() in _ACTIVE_TYPES
    return name + ".txt" if active else name


def _evidence(
    inp: PacketInput, tasks: list[dict[str, Any]], names: dict[tuple[str, int], str], *,
    pseudonymizer: Pseudonymizer | None
) -> list[EvidenceFile]:
    """The evidence files to ship, and each task's `evidence` entries (one per attachment).

    Files are content-addressed within their task, `evidence/<task>/<sha256[:12]>-<name>`: the
    same bytes attached twice under one name are one file, which both entries name. So each entry
    also says which attachment it is: `attachment`, its number within the task (1, 2, ... in the
    order attached), and, where the store gave them, `attachment_id` (the id `GET /tasks/{id}` and
    the `task.attach` audit entry carry), who attached it and when."""
    by_id = {t["id"]: t for t in tasks}
    files: dict[str, EvidenceFile] = {}
    for task in sorted(inp.tasks, key=lambda t: t.id):
        for i, ref in enumerate(task.evidence):
            name = names[(task.id, i)]
            withheld = pseudonymizer is not None and ref.contains_phi
            shipped = _inert(safe_name(name), ref.media_type)
            path = None if withheld else f"evidence/{safe_name(task.id)}/{ref.sha256[:12]}-{shipped}"
            item = EvidenceFile(task_id=task.id, ref=ref, name=name, file=path)
            if path is not None:
                files.setdefault(path, item)
            entry = {"attachment": i + 1, "name": name, "sha256": ref.sha256, "size": ref.size,
                     "media_type": ref.media_type} | _attached(ref, pseudonymizer)
            entry |= {"file": path} if path else {"withheld": "may contain PHI; available from the practice"}
            by_id[task.id]["evidence"].append(entry)
    return [files[p] for p in sorted(files)]


def _attached(ref: EvidenceRef, pseudonymizer: Pseudonymizer | None) -> dict[str, Any]:
    """What the store recorded of an attachment beyond its file: its id, when and by whom (redacted
    as the task's history, where the same actor is named, is)."""
    by = ref.attached_by if ref.attached_by is None or pseudonymizer is None else pseudonymizer.scrub_text(
        ref.attached_by)
    known = {"attachment_id": ref.attachment_id, "attached_by": by,
             "attached_at": iso(ref.attached_at) if ref.attached_at is not None else None}
    return {k: v for k, v in known.items() if v is not None}


def _link(
    framework: str, findings: list[dict[str, Any]], waivers: list[dict[str, Any]], tasks: list[dict[str, Any]]
) -> None:
    for f in findings:
        f["control_id"] = control_id(framework, f.get("citation"), f["rule_id"])
        f["waiver_ids"] = [w["id"] for w in waivers if w.get("finding_id") == f["id"] or w["id"] == f.get("waiver_id")]
        f["task_ids"] = [t["id"] for t in tasks if f["id"] in t.get("finding_ids", [])]


def _groups(
    inp: PacketInput, findings: list[dict[str, Any]], waivers: list[dict[str, Any]], tasks: list[dict[str, Any]]
) -> list[CitationGroup]:
    by_citation = {r.citation: r for r in inp.requirements}
    by_rule = {rule: r for r in inp.requirements for rule in r.rule_ids}
    groups: dict[str, CitationGroup] = {}
    for f in findings:
        citation = str(f.get("citation") or f["rule_id"])
        if citation not in groups:
            req = by_citation.get(citation) or by_rule.get(f["rule_id"])
            groups[citation] = CitationGroup(
                citation=citation,
                control_id=f["control_id"],
                title=req.title if req else str(f.get("title") or f["rule_id"]),
                text=req.text if req else "",
            )
        group = groups[citation]
        group.findings.append(f)
        group.waivers.extend(w for w in waivers if w["id"] in f["waiver_ids"] and w not in group.waivers)
        group.tasks.extend(t for t in tasks if t["id"] in f["task_ids"] and t not in group.tasks)
    return [groups[c] for c in sorted(groups)]


def _summary(
    findings: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    waivers: list[dict[str, Any]],
    evidence: list[EvidenceFile],
    rulesets: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    audit_entries: list[dict[str, Any]],
) -> dict[str, Any]:
    def count(key: str, items: list[dict[str, Any]]) -> dict[str, int]:
        return dict(sorted(Counter(str(i.get(key) or "unknown") for i in items).items()))

    return {
        "findings": len(findings),
        "findings_open": sum(1 for f in findings if f.get("state") not in CLOSED_STATES | {"waived"}),
        "by_state": count("state", findings),
        "by_status": count("status", findings),
        "by_severity": count("severity", findings),
        "tasks": len(tasks),
        "tasks_by_state": count("state", tasks),
        "waivers": len(waivers),
        "evidence_files": len(evidence),
        "evidence_bytes": sum(e.ref.size for e in evidence),
        "rulesets": len(rulesets),
        "runs": len(runs),
        "audit_entries": len(audit_entries),
    }
