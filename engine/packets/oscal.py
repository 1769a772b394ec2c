"""OSCAL 1.2.1 assessment-results and POA&M documents for a packet.

Findings become observations (what the engine saw) and findings (the verdict against a control);
in the POA&M each finding is also a risk, with its tasks as remediations and its waivers as an
approved deviation. The ruleset files are back-matter resources (with their SHA-256) and the
assessment-results import them as the assessment plan, so every finding traces to the exact
ruleset bytes that produced it. Every resource is referenced by `#uuid` (an observation's evidence
names its ruleset's resource, and the metadata links each one; the relative path to the file is in
the resource's rlinks): a resource nothing references is one a reader (trestle's link check) cannot
tell the use of, and the POA&M's plan had been one. Optional arrays are omitted when empty (the schema wants at
least one item), every date-time is UTC with `Z`, and free-text props are squeezed to one line
(a prop value may not start or end with whitespace).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from engine.audit.chain import parse_instant
from engine.packets.documents import CLOSED_STATES, PacketDocs, iso
from engine.packets.oscal_ids import oscal_uuid
from engine.rules.calendar import end_of_local_day
from engine.tasks.store import zone_of

OSCAL_VERSION = "1.2.1"
VIGIL_NS = "https://vigil.dev/ns/oscal"
RISK_STATUS = {
    "open": "open",
    "acknowledged": "investigating",
    "waived": "deviation-approved",
    "resolved": "closed",
    "false_positive": "closed",
}
DONE_TASK_STATES = {"done", "completed"}  # someone did the work (`closed`: closed without it)
UNDONE_TASK_STATES = {"closed", "cancelled"}


def one_line(value: Any) -> str:
    """One line of literal text for a markup-line field (titles, link descriptions)."""
    return as_markup(plain_line(value))


#: OSCAL's titles and descriptions are Markdown (markup-line, markup-multiline): text taken from
#: records (a vendor's or a tool's name inside a finding's message) must stay text in an OSCAL
#: viewer, not become a link, an image, emphasis or HTML. A backslash escapes any ASCII punctuation
#: in CommonMark, so the text reads the same once rendered.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>!])")


def as_markup(value: Any) -> str:
    return _MARKDOWN.sub(r"\\\1", str(value))


def _instant(value: Any, default: str | None) -> str | None:
    """An ISO instant with a zone, or `default` when the value is absent, a date or zoneless."""
    if isinstance(value, str) and "T" in value:
        try:
            return iso(parse_instant(value))
        except ValueError:
            return default
    return default


def plain_line(value: Any) -> str:
    """One line of plain text, for a prop's `value`: an OSCAL string (no leading, trailing or
    line-breaking whitespace), not Markdown, so nothing is escaped."""
    return re.sub(r"\s+", " ", str(value)).strip()


def props_of(*pairs: tuple[str, Any], ns: str | None = VIGIL_NS) -> list[dict[str, str]]:
    """Props whose value is given. A value is plain text: escaped as Markdown (as titles are), a
    tool reading a finding's state got `false\\_positive`, and its subject `access\\_event/AE-1`."""
    props = []
    for name, value in pairs:
        text = plain_line(value) if value is not None else ""
        if text:
            props.append({"name": name, "value": text} | ({"ns": ns} if ns else {}))
    return props


def compact(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is empty: OSCAL arrays and strings must not be empty."""
    return {k: v for k, v in obj.items() if v not in (None, "", [], {})}


def _metadata(docs: PacketDocs, title: str, back_matter: dict[str, Any]) -> dict[str, Any]:
    meta = docs.meta
    return compact(
        {
            "title": title,
            "last-modified": meta["as_of"],
            "version": docs.packet_id,
            "oscal-version": OSCAL_VERSION,
            "props": props_of(
                ("packet-id", docs.packet_id),
                ("framework", meta["framework"]),
                ("as-of", meta["as_of"]),
                ("phi-redacted", "true" if meta["phi_redacted"] else "false"),
                ("signing-key", meta["signing_key_fingerprint"]),
            ),
            # each back-matter resource by its uuid, so every one is referenced whatever the findings cite
            "links": [{"href": f"#{r['uuid']}", "rel": "reference", "text": r["title"]}
                      for r in back_matter["resources"]],
        }
    )


def _period(docs: PacketDocs) -> tuple[str, str]:
    """The result's start and end: the period's UTC days, the end no later than the packet's as-of
    (a packet made before its period ended assessed nothing after that instant)."""
    period = docs.meta["period"]
    end = f"{period['to']}T23:59:59Z"
    as_of = str(docs.meta.get("as_of") or "")
    if as_of and parse_instant(as_of) < parse_instant(end):
        end = as_of
    return f"{period['from']}T00:00:00Z", end


def _evidence_links(docs: PacketDocs, finding: dict[str, Any]) -> list[dict[str, str]]:
    """What an auditor traces a finding to (PRODUCT, auditor): the ruleset file it was judged with (in
    the packet, by its hash), the record versions it cites (in the packet's records.json, with the
    content hash the store keeps), and the evidence files of its tasks."""
    links = []
    shipped = {(r["type"], r["id"], r["version"]): r for r in docs.records}
    framework = docs.meta.get("framework")
    for r in docs.rulesets:
        if r["version"] == finding.get("ruleset_version") and r["ruleset_id"] in (None, framework):
            # its back-matter resource, which holds the file's path and hash (a path here left it unreferenced)
            links.append({"href": f"#{_ruleset_uuid(docs, r)}",
                          "description": one_line(f"Ruleset {r['ruleset_id']} {r['version']}, sha256 {r['sha256']}")})
    for ref in finding.get("evidence") or []:
        if isinstance(ref, dict) and ref.get("type") and ref.get("id"):
            version = f" version {ref['version']}" if ref.get("version") is not None else ""
            record = shipped.get((ref["type"], ref["id"], ref.get("version")))
            if record is None:
                links.append({"description": one_line(f"Record {ref['type']} {ref['id']}{version}")})
            else:
                links.append({"href": "../records.json", "description": one_line(
                    f"Record {ref['type']} {ref['id']}{version}, content sha256 {record['content_hash']}")})
    for task in docs.tasks:
        if task["id"] not in finding["task_ids"]:
            continue
        for ev in task["evidence"]:
            if ev.get("file"):
                links.append({"href": f"../{ev['file']}", "description": one_line(f"Task {task['id']}: {ev['name']}")})
    return links


def _observation(docs: PacketDocs, f: dict[str, Any]) -> dict[str, Any]:
    return compact(
        {
            "uuid": oscal_uuid(docs.meta["org_id"], "observation", f["id"]),
            "title": one_line(f.get("title") or f["rule_id"]),
            "description": as_markup(f.get("message") or f.get("title") or f["rule_id"]),
            "props": props_of(
                ("rule-id", f["rule_id"]),
                ("ruleset-version", f.get("ruleset_version")),
                ("subject", f"{f.get('subject_type')}/{f.get('subject_id')}" if f.get("subject_id") else None),
                ("severity", f.get("severity")),
                ("status", f.get("status")),
                ("due", f.get("due")),
            ),
            "methods": ["TEST"],
            "types": ["finding"],
            "relevant-evidence": _evidence_links(docs, f),
            "collected": _instant(f.get("opened_at"), docs.meta["as_of"]),
        }
    )


def _closed_by_person(f: dict[str, Any]) -> bool:
    """A finding a person closed (an event, a deadline met late, dealt with: `engine.findings`'s
    `close`): resolved by a history entry that names no run. What it reports happened, so its
    control is not satisfied; the risk is closed by the person's entry, as a false positive's is."""
    if f.get("state") != "resolved" or f.get("resolved_by_run"):
        return False
    history: list[dict[str, Any]] = f.get("history") or []
    closed = next((h for h in reversed(history) if h.get("to_state") == "resolved"), None)
    return closed is not None and not closed.get("run_id")


def _finding(docs: PacketDocs, f: dict[str, Any]) -> dict[str, Any]:
    satisfied = f.get("state") in CLOSED_STATES and not _closed_by_person(f)
    return compact(
        {
            "uuid": oscal_uuid(docs.meta["org_id"], "finding", f["id"]),
            "title": one_line(f.get("title") or f["rule_id"]),
            "description": as_markup(f.get("message") or f.get("title") or f["rule_id"]),
            "props": props_of(("label", f.get("citation")), ns=None)
            + props_of(("finding-id", f["id"]), ("state", f.get("state"))),
            "target": {
                "type": "objective-id",
                "target-id": f["control_id"],
                "status": {"state": "satisfied" if satisfied else "not-satisfied"},
            },
            "related-observations": [{"observation-uuid": oscal_uuid(docs.meta["org_id"], "observation", f["id"])}],
        }
    )


def _ruleset_uuid(docs: PacketDocs, ruleset: dict[str, Any]) -> str:
    """The UUID of a ruleset file's back-matter resource."""
    return oscal_uuid(docs.packet_id, "ruleset", ruleset["name"], ruleset["sha256"])


def _back_matter(docs: PacketDocs) -> tuple[str, dict[str, Any]]:
    plan_uuid = oscal_uuid(docs.packet_id, "assessment-plan")
    rlinks = [
        {"href": f"../{r['file']}", "hashes": [{"algorithm": "SHA-256", "value": r["sha256"]}]} for r in docs.rulesets
    ]
    plan = compact(
        {
            "uuid": plan_uuid,
            "title": "Assessment plan: the Vigil rulesets in force for the period",
            "description": "Rules evaluated automatically by Vigil; the exact ruleset files are in rulesets/.",
            "rlinks": rlinks,
        }
    )
    resources = [plan] + [
        compact(
            {
                "uuid": _ruleset_uuid(docs, r),
                "title": one_line(f"Ruleset {r['ruleset_id'] or r['name']} {r['version'] or ''}"),
                "rlinks": [rlink],
            }
        )
        for r, rlink in zip(docs.rulesets, rlinks, strict=True)
    ]
    return plan_uuid, {"resources": resources}


def _reviewed(docs: PacketDocs) -> dict[str, Any]:
    """The controls the period's evaluations reviewed: every rule's of the rulesets shipped, when an
    applied run judged the period. When none did, nothing was reviewed: all controls but every one
    (OSCAL has no empty selection), said in remarks; `include-all` alone had told an OSCAL reader
    that every control was reviewed and nothing found."""
    controls = sorted(set(docs.controls) | {f["control_id"] for f in docs.findings}
                      | {g.control_id for g in docs.groups})
    if docs.summary["evaluation"]["status"] == "evaluated" and controls:
        return {"include-controls": [{"control-id": c} for c in controls]}
    remarks = ("No applied evaluation run judged this period: no control was reviewed "
               f"(evaluation-coverage {docs.summary['evaluation']['status']}).")
    if not controls:
        return {"include-all": {}, "remarks": remarks}
    return {"include-all": {}, "exclude-controls": [{"control-id": c} for c in controls], "remarks": remarks}


def assessment_results(docs: PacketDocs) -> dict[str, Any]:
    """The OSCAL assessment-results document (one result covering the packet's period)."""
    meta = docs.meta
    start, end = _period(docs)
    plan_uuid, back_matter = _back_matter(docs)
    selection = _reviewed(docs)
    result = compact(
        {
            "uuid": oscal_uuid(docs.packet_id, "result"),
            "title": f"Vigil evaluation: {meta['framework']} {meta['period']['from']} to {meta['period']['to']}",
            "description": "Automated evaluation of the practice's records against the rulesets in back-matter.",
            "props": props_of(
                ("as-of", meta["as_of"]),
                ("establishment", meta["establishment"]),
                ("evaluation-coverage", docs.summary["evaluation"]["status"]),
            ),
            "start": start,
            "end": end,
            "reviewed-controls": {"control-selections": [selection]},
            "observations": [_observation(docs, f) for f in docs.findings],
            "findings": [_finding(docs, f) for f in docs.findings],
        }
    )
    return {
        "assessment-results": {
            "uuid": oscal_uuid(docs.packet_id, "assessment-results"),
            "metadata": _metadata(docs, f"Assessment results: {meta['framework']} ({docs.packet_id})", back_matter),
            "import-ap": {"href": f"#{plan_uuid}"},
            "results": [result],
            "back-matter": back_matter,
        }
    }


def _remediation(org: str, f: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    return compact(
        {
            "uuid": oscal_uuid(org, "remediation", f["id"], task["id"]),
            "lifecycle": "completed" if task.get("state") in DONE_TASK_STATES else "planned",
            "title": one_line(task["title"]),
            "description": as_markup(task.get("sop") or task["title"]),
            "props": props_of(
                ("task-id", task["id"]),
                ("task-state", task.get("state")),
                ("due", task.get("due")),
                ("assignee", task.get("assignee")),
            ),
        }
    )


def _false_positive_log(docs: PacketDocs, f: dict[str, Any]) -> dict[str, Any]:
    """The risk-log entry that closes a false positive: who judged it so, when and why.

    Nothing was remediated, so the risk is closed by this entry rather than by a completed
    remediation (its task was closed without being done).
    """
    org = docs.meta["org_id"]
    history: list[dict[str, Any]] = f.get("history") or []
    judged: dict[str, Any] = next((h for h in reversed(history) if h.get("to_state") == "false_positive"), {})
    reason = judged.get("reason") or "no reason recorded"
    return compact(
        {
            "uuid": oscal_uuid(org, "risk-log", f["id"], "false_positive", str(judged.get("at") or "")),
            "title": "Closed as a false positive; nothing was remediated",
            "description": as_markup(
                f"Judged a false positive by {judged.get('actor') or 'an unknown actor'}: {reason}"),
            "start": _instant(judged.get("at"), None) or _instant(f.get("updated_at"), docs.meta["as_of"]),
            "status-change": "closed",
        }
    )


def _closed_log(docs: PacketDocs, f: dict[str, Any]) -> dict[str, Any]:
    """The risk-log entry of a finding a person closed: who, when and what was done about it."""
    org = docs.meta["org_id"]
    history: list[dict[str, Any]] = f.get("history") or []
    closed: dict[str, Any] = next((h for h in reversed(history) if h.get("to_state") == "resolved"), {})
    return compact(
        {
            "uuid": oscal_uuid(org, "risk-log", f["id"], "closed", str(closed.get("at") or "")),
            "title": "Closed by a person: what it reports happened and cannot be undone",
            "description": as_markup(f"Closed by {closed.get('actor') or 'an unknown actor'}: "
                               f"{closed.get('reason') or 'no reason recorded'}"),
            "start": _instant(closed.get("at"), None) or _instant(f.get("updated_at"), docs.meta["as_of"]),
            "status-change": "closed",
        }
    )


def _waiver_props(waiver: dict[str, Any]) -> list[tuple[str, Any]]:
    """A waiver as its risk's props: which one and why, and who approved the deviation (no prop
    when none is recorded). The approver is what makes an accepted risk an approved deviation, so a
    POA&M read alone must name them, as findings.json and the index do."""
    approver = waiver.get("approved_by")
    return [("waiver", f"{waiver['id']}: {waiver['reason']}"),
            ("waiver-approved-by", f"{waiver['id']}: {approver}" if approver else None)]


def _risk(docs: PacketDocs, f: dict[str, Any]) -> dict[str, Any]:
    """A finding as a POA&M risk. Only tasks someone completed are `completed` remediations: a task
    closed because its finding was waived, judged a false positive or cleared by itself was not
    carried out, so it is named in a prop instead of passing for remediation work."""
    org = docs.meta["org_id"]
    tasks = [t for t in docs.tasks if t["id"] in f["task_ids"]]
    remediations = [_remediation(org, f, t) for t in tasks if t.get("state") not in UNDONE_TASK_STATES]
    unremediated = [t for t in tasks if t.get("state") in UNDONE_TASK_STATES]
    waivers = [w for w in docs.waivers if w["id"] in f["waiver_ids"]]
    false_positive = f.get("state") == "false_positive"
    closed = _closed_by_person(f)
    due = f.get("due")
    if isinstance(due, str) and len(due) == 10:  # a local date (C7): its end in the finding's zone, as its task's
        end = end_of_local_day(dt.date.fromisoformat(due), zone_of(docs.zones, f.get("establishment_id")))
        deadline: str | None = iso(end)
    else:
        deadline = _instant(due, None)
    return compact(
        {
            "uuid": oscal_uuid(org, "risk", f["id"]),
            "title": one_line(f.get("title") or f["rule_id"]),
            "description": as_markup(f.get("message") or f.get("title") or f["rule_id"]),
            "statement": f"Requirement {f.get('citation') or f['rule_id']} is not met for "
            f"{f.get('subject_type') or 'subject'} {f.get('subject_id') or ''}".strip(),
            "props": props_of(
                *(prop for w in waivers for prop in _waiver_props(w)),
                ("closure", "false-positive" if false_positive else "closed-by-person" if closed else None),
                *(("task-closed-without-remediation", f"{t['id']}: {t['title']}") for t in unremediated),
            ),
            "status": RISK_STATUS.get(str(f.get("state")), "open"),
            "deadline": deadline,
            "remediations": remediations,
            "risk-log": {"entries": [_false_positive_log(docs, f)]} if false_positive
            else {"entries": [_closed_log(docs, f)]} if closed else None,
            "related-observations": [{"observation-uuid": oscal_uuid(org, "observation", f["id"])}],
        }
    )


def poam(docs: PacketDocs) -> dict[str, Any]:
    """The OSCAL POA&M: every finding as a risk with its remediation tasks and waivers."""
    org = docs.meta["org_id"]
    items = [
        compact(
            {
                "uuid": oscal_uuid(org, "poam-item", f["id"]),
                "title": one_line(f.get("title") or f["rule_id"]),
                "description": as_markup(f.get("message") or f.get("title") or f["rule_id"]),
                "props": props_of(("label", f.get("citation")), ns=None) + props_of(("finding-id", f["id"])),
                "related-observations": [{"observation-uuid": oscal_uuid(org, "observation", f["id"])}],
                "related-risks": [{"risk-uuid": oscal_uuid(org, "risk", f["id"])}],
            }
        )
        for f in docs.findings
    ] or [
        {
            "uuid": oscal_uuid(docs.packet_id, "poam-item", "none"),
            "title": "No findings in the period",
            "description": as_markup(docs.summary["evaluation"]["note"])
            if docs.summary["evaluation"]["status"] != "evaluated"
            else "The rulesets in force raised no finding for this scope and period.",
        }
    ]
    back_matter = _back_matter(docs)[1]
    document = compact(
        {
            "uuid": oscal_uuid(docs.packet_id, "poam"),
            "metadata": _metadata(docs, f"POA&M: {docs.meta['framework']} ({docs.packet_id})", back_matter),
            "system-id": {"identifier-type": "https://vigil.dev/ns/org-id", "id": org},
            "observations": [_observation(docs, f) for f in docs.findings],
            "risks": [_risk(docs, f) for f in docs.findings],
            "poam-items": items,
            "back-matter": back_matter,
        }
    )
    return {"plan-of-action-and-milestones": document}
