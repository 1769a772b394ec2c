"""Security safeguards and organisation-level documents of the hipaa rulesets: the risk analysis
(HIPAA-SEC-RA-001), audit controls (AUD-006), device encryption and disposal (ENC-008), business
associate agreements (HIPAA-BA-BAA-009, with `clause_codes`) and the Notice of Privacy Practices
(HIPAA-PRV-NPP-015).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from engine.records.vocab import fold, fold_set
from engine.rules import bundles
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.hipaa._common import (
    Inputs,
    _AsOf,
    _baseline,
    _date,
    _fact,
    _instant,
    _src,
    _tz,
    undated_start,
)

RISK_RATINGS_HIGH = ("high", "critical")


# ---- HIPAA-SEC-RA-001: risk analysis coverage, age, change triggers, MIPS year, risk items -------


class RiskAnalyses:
    """The risk analyses completed by the run's instant and which of them count: those whose scope
    covers every ePHI system in service when they were completed. HIPAA-SEC-RA-001 and the MIPS
    attestation of CMS-MIPS-PI-006 (PI_PPHI_1) read the same ones, so they cannot disagree."""

    def __init__(self, ctx: DeriveContext, systems: Iterable[RecordView], analyses: Iterable[RecordView]) -> None:
        now = _AsOf(ctx)
        self.systems = [s for s in systems if s.data.get("stores_ephi") is True and now.exists(s)]
        self.added = {s.id: _instant(s.data.get("added_at")) for s in self.systems}
        done = [(at, ra) for ra in analyses if (at := now.happened(ra.data.get("completed_at"))) is not None]
        #: every analysis completed by as_of, oldest first
        self.analyses = sorted(done, key=lambda x: (x[0], x[1].id))
        #: those covering every ePHI system in service when completed, oldest first
        self.covering = [(at, ra) for at, ra in self.analyses if self.needed(at) <= self.scope(ra)]

    def needed(self, at: dt.datetime) -> set[str]:
        """The ePHI systems in service at `at` (one with no `added_at` always was)."""
        return {s.id for s in self.systems if (when := self.added[s.id]) is None or when <= at}

    @staticmethod
    def scope(ra: RecordView) -> set[str]:
        return {str(x) for x in ra.data.get("scope_system_ids") or []}

    def omitted(self, at: dt.datetime, ra: RecordView) -> list[str]:
        """The ePHI systems in service at `at` that `ra` leaves out."""
        return sorted(self.needed(at) - self.scope(ra))


@derivation(
    name="hipaa.risk_analysis_duties",
    inputs=("organization", "system", "risk_analysis", "risk_item"),
    output="hipaa_ra_duty",
    fields={"kind": "string", "due_at": "date", "basis": "string", "ra_id": "string", "system_id": "string",
            "risk_item_id": "string", "year": "number", "systems_missing": "string", "no_deadline": "bool",
            "overdue_from": "instant"},
    family="org",
    example="kind=stale due_at=2026-12-15 basis='RA-2025 completed 2025-12-15 + 365 days'",
)
def risk_analysis_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """What the security risk analysis owes (HIPAA-SEC-RA-001), as duties with a due date.

    The analysis that counts is the latest one whose scope covers every ePHI system in service when
    it was completed. Kinds: `no_analysis` (none exists: due since the first ePHI system went into
    service), `stale` (that analysis + ra_max_age_days), `new_system` (an ePHI system added after it
    and not yet analysed: added + ra_change_trigger_days), `mips_year` (a MIPS performance year with
    no covering analysis completed in it: due 31 Dec of that year), `risk_item` (an open high or
    critical risk item: its own due date).
    """
    tz = _tz(ctx, "hipaa_ra_duty", {})
    today = cal.local_date(ctx.as_of, tz)
    found = RiskAnalyses(ctx, inputs["system"], inputs["risk_analysis"])
    systems, added, analyses, covering = found.systems, found.added, found.analyses, found.covering
    needed, scope = found.needed, found.scope
    out_bundle = "org:*"
    all_systems = [_src(s) for s in systems]
    if not covering:
        starts = [a for a in added.values() if a is not None]
        undated = None if starts else undated_start(ctx, tz)
        due = undated.day if undated is not None else cal.local_date(min(starts), tz)
        latest = analyses[-1][1] if analyses else None
        missing = sorted(needed(analyses[-1][0]) - scope(latest)) if latest is not None else sorted(added)
        if latest is None:
            basis = "no risk analysis has been completed"
        else:
            basis = (f"the latest risk analysis {latest.id} ({cal.local_date(analyses[-1][0], tz)}) omits "
                     f"{', '.join(missing)}; no analysis covers every ePHI system")
        if undated is not None and undated.standing:
            basis += f"; {undated.said}"
        # undated and past the baseline: overdue from the start of the baseline day, as the violation
        # of the day before it was (due soon that day, it had changed state twice in two days)
        held = ({} if undated is None else {"no_deadline": True} if undated.standing
                else {"overdue_from": undated.began_at()})
        yield _fact("hipaa_ra_duty", "no_analysis", {
            "kind": "no_analysis", "due_at": due, "basis": basis, "ra_id": latest.id if latest else None,
            "systems_missing": ", ".join(missing), **held,
        }, all_systems + ([_src(latest)] if latest else []), out_bundle)
    else:
        base_at, base = covering[-1]
        base_day = cal.local_date(base_at, tz)
        max_age = int(ctx.param_on("ra_max_age_days", base_day, 365))
        yield _fact("hipaa_ra_duty", f"stale:{base.id}", {
            "kind": "stale", "ra_id": base.id, "due_at": cal.add_days(base_day, max_age),
            "basis": f"risk analysis {base.id} completed {base_day} + {max_age} days (ra_max_age_days"
                     f"{ctx.then_said('ra_max_age_days', max_age, 365)})",
        }, [_src(base)], out_bundle)
        for s in sorted(systems, key=lambda v: v.id):
            when = added[s.id]
            if when is None or when <= base_at:
                continue
            if any(at >= when and s.id in scope(ra) for at, ra in analyses):
                continue
            day = cal.local_date(when, tz)
            trigger = int(ctx.param_on("ra_change_trigger_days", day, 90))
            yield _fact("hipaa_ra_duty", f"new_system:{s.id}", {
                "kind": "new_system", "system_id": s.id, "ra_id": base.id,
                "due_at": cal.add_days(day, trigger),
                "basis": (f"ePHI system {s.id} added {day}, after risk analysis {base.id} ({base_day}), "
                          f"+ {trigger} days (ra_change_trigger_days"
                          f"{ctx.then_said('ra_change_trigger_days', trigger, 90)})"),
            }, [_src(s), _src(base)], out_bundle)

    org = ctx.organization
    orgs = list(inputs.get("organization", []))
    if org is None and orgs:
        org = orgs[0]
    if org is not None:
        lookback = int(ctx.param("ra_mips_lookback_years", 1))
        for year_text, flag in sorted((org.data.get("mips_participant_by_py") or {}).items()):
            year = int(year_text)
            if flag is not True or not (today.year - lookback <= year <= today.year):
                continue
            if any(cal.local_date(at, tz).year == year for at, _ in covering):
                continue
            yield _fact("hipaa_ra_duty", f"mips_year:{year}", {
                "kind": "mips_year", "year": year, "due_at": dt.date(year, 12, 31),
                "basis": (f"MIPS participant for performance year {year}: a risk analysis covering every ePHI "
                          f"system must be completed in {year} (PI_PPHI_1)"),
            }, [_src(org)] + [_src(ra) for _, ra in analyses], out_bundle)

    known = {ra.id for ra in inputs["risk_analysis"]}
    completed = {ra.id: at for at, ra in analyses}
    for item in sorted(inputs["risk_item"], key=lambda v: v.id):
        d = item.data
        if d.get("rating") not in RISK_RATINGS_HIGH or d.get("status") == "closed":
            continue
        parent = d.get("risk_analysis_id")
        if parent in known and parent not in completed:
            continue  # its analysis is not complete yet
        due_at = _instant(d.get("due_at"))
        state = f"{d.get('rating')}-rated risk item {item.id} is {d.get('status') or 'not closed'}"
        if due_at is not None:
            due_day, basis = cal.local_date(due_at, tz), f"{state}; its due date"
        elif parent in completed:
            start = cal.local_date(completed[parent], tz)
            remediation = int(ctx.param_on("risk_high_remediation_days", start, 90))
            due_day = cal.add_days(start, remediation)
            basis = (f"{state}; no due date, so analysis {parent} ({start}) + {remediation} days "
                     f"(risk_high_remediation_days{ctx.then_said('risk_high_remediation_days', remediation, 90)})")
        else:
            continue
        yield _fact("hipaa_ra_duty", f"risk_item:{item.id}", {
            "kind": "risk_item", "risk_item_id": item.id, "ra_id": parent, "due_at": due_day, "basis": basis,
        }, [_src(item)], out_bundle)


# ---- HIPAA-SEC-AUD-006: audit logging, review cadence, retention -------------------------------


@derivation(
    name="hipaa.audit_duties",
    inputs=("system",),
    output="hipaa_audit_duty",
    fields={"kind": "string", "system_id": "string", "due_at": "date", "basis": "string", "no_deadline": "bool",
            "began_at": "instant"},
    family="org",
    example="kind=review system_id=SYS-PM due_at=2026-11-15",
)
def audit_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Audit-control duties of each ePHI system (HIPAA-SEC-AUD-006).

    `review`: last_audit_review_at (or, never reviewed, added_at; or hipaa_baseline_date) +
    audit_review_interval_days. `logging`: audit_logging_enabled is false; due since the system was
    added. `retention`: log_retention_days below audit_log_retention_days; due since added. Both are
    standing conditions (`no_deadline`: a violation with no due), the day they began kept for the
    message; a system with no added_at is held to `undated_start`'s day, from its start.

    The review of a never-reviewed system with no added_at stays a deadline from hipaa_baseline_date
    on either side of it: held to an earlier day before the baseline, it would have gone from the
    findings on the baseline day for the length of the review interval.
    """
    now = _AsOf(ctx)
    retention = int(ctx.param("audit_log_retention_days", 2190))
    tz = _tz(ctx, "hipaa_audit_duty", {})
    for s in sorted(inputs["system"], key=lambda v: v.id):
        d = s.data
        if d.get("stores_ephi") is not True or not now.exists(s):
            continue
        added = now.happened(d.get("added_at"))
        undated = undated_start(ctx, tz) if added is None else None
        since = undated.day if undated is not None else cal.local_date(added, tz)  # type: ignore[arg-type]
        since_text = f"added {since}" if undated is None else f"in service (no added_at; {undated.said})"
        began = {"began_at": undated.began_at()} if undated is not None else {}
        reviewed = now.happened(d.get("last_audit_review_at"))
        day = (cal.local_date(reviewed, tz) if reviewed is not None
               else cal.local_date(added, tz) if added is not None else _baseline(ctx))
        interval = int(ctx.param_on("audit_review_interval_days", day, 30))
        window = (f"{interval} days (audit_review_interval_days"
                  f"{ctx.then_said('audit_review_interval_days', interval, 30)})")
        if reviewed is not None:
            basis = f"last audit review {day} + {window}"
        elif added is not None:
            basis = f"never reviewed; added {day} + {window}"
        else:
            basis = f"never reviewed; in service (no added_at; hipaa_baseline_date {day}) + {window}"
        yield _fact("hipaa_audit_duty", f"{s.id}:review", {
            "kind": "review", "system_id": s.id, "due_at": cal.add_days(day, interval), "basis": basis,
        }, [_src(s)], "org:*")
        if d.get("audit_logging_enabled") is False:
            yield _fact("hipaa_audit_duty", f"{s.id}:logging", {
                "kind": "logging", "system_id": s.id, "due_at": since, "no_deadline": True,
                "basis": f"audit logging is disabled; required since the system was {since_text}", **began,
            }, [_src(s)], "org:*")
        kept = d.get("log_retention_days")
        if isinstance(kept, int | float) and kept < retention:
            yield _fact("hipaa_audit_duty", f"{s.id}:retention", {
                "kind": "retention", "system_id": s.id, "due_at": since, "no_deadline": True,
                "basis": f"logs kept {kept:g} days, below audit_log_retention_days {retention}", **began,
            }, [_src(s)], "org:*")


# ---- HIPAA-SEC-ENC-008: device encryption and sanitization --------------------------------------


@derivation(
    name="hipaa.device_duties",
    inputs=("device",),
    output="hipaa_device_duty",
    fields={"kind": "string", "device_id": "string", "due_at": "date", "met_at": "instant", "basis": "string",
            "no_deadline": "bool", "began_at": "instant"},
    family="device",
    example="kind=encryption_check device_id=DEV-3 due_at=2026-11-14",
)
def device_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Encryption and disposal duties of each device that stores ePHI (HIPAA-SEC-ENC-008).

    In service, of a kind in encryption_required_types: `encryption_check` (status verified: last
    check + encryption_check_days) or `not_encrypted` (status none, unverified or unknown: due since
    the last check, or hipaa_baseline_date). Status alternative_documented passes (addressable safeguard with
    a documented equivalent). Disposed: `sanitization` due on the disposal date, met when sanitized.
    `not_encrypted` and `sanitization` are standing conditions (`no_deadline`: a violation with no
    due; the catalog gives them no deadline), `encryption_check` a deadline. `began_at`: the check that
    found a device not encrypted, from which instant the finding stands (not from the next day).
    """
    now = _AsOf(ctx)
    required = fold_set(ctx.param("encryption_required_types", []))
    tz = _tz(ctx, "hipaa_device_duty", {})
    for dev in sorted(inputs["device"], key=lambda v: v.id):
        d = dev.data
        if d.get("stores_ephi") is not True:
            continue
        bundle = bundles.bundle_key("device", dev.id, d)
        disposed = now.happened(d.get("disposed_at"))
        if disposed is not None:
            day = cal.local_date(disposed, tz)
            yield _fact("hipaa_device_duty", f"{dev.id}:sanitization", {
                "kind": "sanitization", "device_id": dev.id, "due_at": day, "no_deadline": True,
                "met_at": now.happened(d.get("sanitized_at")),
                "basis": f"disposed {day}; media must be sanitized or destroyed by then",
            }, [_src(dev)], bundle)
            continue
        kind = fold(d.get("kind"))
        if required and kind and kind not in required:
            continue
        status = d.get("encryption_status")
        checked = now.happened(d.get("encryption_checked_at"))
        if status == "alternative_documented":
            continue
        if status == "verified" and checked is not None:
            day = cal.local_date(checked, tz)
            check_days = int(ctx.param_on("encryption_check_days", day, 30))
            yield _fact("hipaa_device_duty", f"{dev.id}:encryption_check", {
                "kind": "encryption_check", "device_id": dev.id, "due_at": cal.add_days(day, check_days),
                "basis": f"encryption last verified {day} + {check_days} days (encryption_check_days"
                         f"{ctx.then_said('encryption_check_days', check_days, 30)})",
            }, [_src(dev)], bundle)
            continue
        # a device recorded as verified with no check on file: the rule's message names its day as
        # hipaa_baseline_date's, so it is held to the baseline alone
        undated = None if checked is not None or status == "verified" else undated_start(ctx, tz)
        since = (cal.local_date(checked, tz) if checked is not None else undated.day if undated is not None
                 else _baseline(ctx))
        found = (f"found on the check of {since}" if checked is not None
                 else f"never verified; {undated.said}" if undated is not None and undated.standing
                 else f"never verified (hipaa_baseline_date {since})")
        began = (checked if checked is not None else undated.began_at() if undated is not None
                 else cal.start_of_local_day(since, tz))  # from the start of the baseline day, as the others
        yield _fact("hipaa_device_duty", f"{dev.id}:not_encrypted", {
            "kind": "not_encrypted", "device_id": dev.id, "due_at": since, "no_deadline": True, "began_at": began,
            "basis": f"encryption status {status or 'unknown'}, {found}",
        }, [_src(dev)], bundle)


# ---- HIPAA-BA-BAA-009: business associate agreements -------------------------------------------


def clause_codes(values: Iterable[Any] | None) -> list[str]:
    """BAA clause codes in their one spelling: trimmed and upper-case, in order, blanks and repeats dropped.

    `baa.clauses` is a list of free strings, and two rules read it against a list parameter of
    required codes (HIPAA-BA-BAA-009 here, AI-BAA-002 in `ai_use`, which imports this): a code
    matches whatever its case, so both the record's codes and each parameter's go through here, and
    a finding names the missing codes as this returns them.
    """
    out = (str(v).strip().upper() for v in values or () if v is not None)
    return list(dict.fromkeys(c for c in out if c))


def baa_in_place(baa: RecordView, as_of: dt.datetime) -> dt.datetime | None:
    """When an executed BAA took effect (signed, and effective if a later effective date is given),
    if that is by `as_of`. An agreement with an effective date but no signature is not executed: it
    covers nothing (both BAA rules, HIPAA-BA-BAA-009 and AI-BAA-002, read it here)."""
    signed = _instant(baa.data.get("signed_at"))
    if signed is None or signed > as_of:
        return None
    effective = _instant(baa.data.get("effective_at"))
    start = max(signed, effective) if effective is not None else signed
    return start if start <= as_of else None


@derivation(
    name="hipaa.vendor_duties",
    inputs=("vendor", "baa", "phi_flow"),
    output="hipaa_vendor_duty",
    fields={"kind": "string", "vendor_id": "string", "baa_id": "string", "due_at": "date", "met_at": "instant",
            "flowing": "bool", "first_flow_at": "instant", "clauses_missing": "string", "basis": "string",
            "no_deadline": "bool", "overdue_from": "instant"},
    family="vendor",
    example="kind=before_flow vendor_id=V-CLOUDFAX due_at=2026-05-14 met_at=2026-07-03T04:00:00Z",
)
def vendor_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """BAA duties of each vendor that handles PHI and is neither a treatment provider nor a conduit.

    `before_flow`: a BAA must be in place (signed and effective) by the first PHI flow, including a
    flow scheduled for a later date (go-live); met when one took effect. `clauses`: an executed, not
    terminated BAA lacks a clause of baa_required_clauses, compared case-insensitively (`clause_codes`;
    due since signature). `exit`: a terminated BAA needs a return-or-destroy attestation within
    baa_exit_days, unless another BAA of the vendor is in force at termination. Missing clauses are a
    standing condition (`no_deadline`: a violation with no due). `before_flow` and the exit
    attestation are deadlines: PHI that has flowed with no BAA is overdue, due the day of the first
    flow (CONTRACT: "deadline passed, obligation unmet"; it had been a violation with no due), and a
    BAA that took effect after it came late. `overdue_from`: the first flow's instant, from which PHI
    was unprotected, so a BAA taking effect later the same day came late.
    """
    now = _AsOf(ctx)
    baas: dict[str, list[RecordView]] = defaultdict(list)
    for b in inputs["baa"]:
        if b.data.get("vendor_id"):
            baas[str(b.data["vendor_id"])].append(b)
    flows: dict[str, list[tuple[dt.datetime, RecordView]]] = defaultdict(list)
    for f in inputs["phi_flow"]:
        first = _instant(f.data.get("first_at"))
        if f.data.get("vendor_id") and first is not None:
            flows[str(f.data["vendor_id"])].append((first, f))
    required = clause_codes(ctx.param("baa_required_clauses", []))
    exempt = {str(x) for x in ctx.param("baa_exempt_relationships", ["treatment_provider", "conduit"])}
    tz = _tz(ctx, "hipaa_vendor_duty", {})
    for v in sorted(inputs["vendor"], key=lambda x: x.id):
        if v.data.get("handles_phi") is not True or v.data.get("relationship_type") in exempt:
            continue
        bundle = bundles.bundle_key("vendor", v.id, v.data)
        mine = sorted(baas.get(v.id, []), key=lambda b: b.id)
        executed = [(start, b) for b in mine if (start := baa_in_place(b, now.at)) is not None]
        executed.sort(key=lambda x: (x[0], x[1].id))
        flowing = any(first <= now.at for first, _ in flows.get(v.id, []))
        if flows.get(v.id):
            first, flow = min(flows[v.id], key=lambda x: (x[0], x[1].id))
            covered = [b for start, b in executed if start <= first
                       and (_instant(b.data.get("terminated_at")) is None
                            or _instant(b.data.get("terminated_at")) > first)]  # type: ignore[operator]
            if not covered:
                later = [(start, b) for start, b in executed if start > first]
                met_at, met_baa = later[0] if later else (None, None)
                day = cal.local_date(first, tz)
                yield _fact("hipaa_vendor_duty", f"{v.id}:before_flow", {
                    "kind": "before_flow", "vendor_id": v.id, "baa_id": met_baa.id if met_baa else None,
                    "due_at": day, "met_at": met_at, "flowing": first <= now.at, "first_flow_at": first,
                    "overdue_from": first,
                    "basis": (f"PHI {'first flowed' if first <= now.at else 'is scheduled to flow'} "
                              f"{cal.iso_instant(first)} ({flow.id}); a signed BAA must be in effect by then"),
                }, [_src(v), _src(flow)] + [_src(b) for b in mine], bundle)
        for start, b in executed:
            terminated = now.happened(b.data.get("terminated_at"))
            signed_day = cal.local_date(start, tz)
            if terminated is None:
                clauses = set(clause_codes(b.data.get("clauses")))
                missing = [c for c in required if c not in clauses]
                if missing:
                    yield _fact("hipaa_vendor_duty", f"{v.id}:clauses:{b.id}", {
                        "flowing": flowing, "kind": "clauses", "vendor_id": v.id, "baa_id": b.id, "due_at": signed_day,
                        "no_deadline": True,
                        "clauses_missing": ", ".join(missing),
                        "basis": f"BAA {b.id} in effect since {signed_day} lacks {', '.join(missing)}",
                    }, [_src(v), _src(b)], bundle)
                continue
            day = cal.local_date(terminated, tz)
            exit_days = int(ctx.param_on("baa_exit_days", day, 30))
            successor = [x for s, x in executed if x.id != b.id and s <= cal.add_hours(terminated, 24 * exit_days)
                         and (now.happened(x.data.get("terminated_at")) is None)]
            if successor:
                continue
            yield _fact("hipaa_vendor_duty", f"{v.id}:exit:{b.id}", {
                "flowing": flowing, "kind": "exit", "vendor_id": v.id, "baa_id": b.id,
                "due_at": cal.add_days(day, exit_days),
                "met_at": now.happened(b.data.get("return_or_destroy_attested_at")),
                "basis": f"BAA {b.id} terminated {day} + {exit_days} days (baa_exit_days"
                         f"{ctx.then_said('baa_exit_days', exit_days, 30)}) for return or destruction",
            }, [_src(v), _src(b)], bundle)


# ---- HIPAA-PRV-NPP-015: the practice's attested Notice of Privacy Practices --------------------

#: Compliance date of the NPP changes tied to 42 CFR Part 2 (2024 Part 2 final rule; [S]).
NPP_PART2_COMPLIANCE_DATE = dt.date(2026, 2, 16)
#: Publication of the 2024 Part 2 final rule (89 FR 12472), the default of npp_part2_rule_date.
NPP_PART2_RULE_DATE = dt.date(2024, 2, 16)


def _part2_revision(version: dt.date | None, rule_date: dt.date, today: dt.date) -> tuple[dt.date | None, str]:
    """When the NPP in use met the Part 2 revision duty (None: not met), and why, in words.

    A version is what the practice attests by its effective date alone, so the date is all there is
    to judge by: a notice that took effect before the Part 2 final rule was published cannot carry
    the changes that rule requires, however long before the compliance date it took effect. A
    version dated on or after the rule meets the duty on its effective date (late, and so a finding,
    when that is after the compliance date); one dated after today is not in use yet.
    """
    if version is None:
        return None, "no NPP effective date is recorded (npp_version_date)"
    if version > today:
        return None, f"the NPP version recorded in npp_version_date takes effect only on {version}"
    if version < rule_date:
        return None, (f"the NPP in use (effective {version}) predates the Part 2 final rule of {rule_date} "
                      f"(npp_part2_rule_date) and cannot carry its changes")
    return version, f"the NPP in use took effect on {version}"


@derivation(
    name="hipaa.npp_duties",
    inputs=("organization",),
    output="hipaa_npp_duty",
    fields={"kind": "string", "due_at": "date", "met_at": "date", "basis": "string"},
    family="org",
    example="kind=part2_revision due_at=2026-02-16 met_at=2026-02-10",
)
def npp_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Organization-level NPP duties from the practice's attested parameters (HIPAA-PRV-NPP-015).

    The record contract carries no Notice of Privacy Practices data, so the practice attests the
    effective date of the NPP in use (npp_version_date) and the date it was posted at every site and
    on the website (npp_posted_date) in its effective-dated parameters. `part2_revision`: the NPP in
    use must carry the Part 2 changes by their compliance date (16 Feb 2026); it is met on the
    version's date only when that version is dated on or after the Part 2 final rule
    (npp_part2_rule_date), since an older notice cannot carry them (see `_part2_revision`).
    `posting`: once a version date is recorded, that version must be posted by its effective date.
    """
    now = _AsOf(ctx)
    org = ctx.organization
    orgs = list(inputs.get("organization", []))
    if org is None and orgs:
        org = orgs[0]
    if org is None:
        return
    version = _date(ctx.param("npp_version_date", "") or None)
    posted = _date(ctx.param("npp_posted_date", "") or None)
    rule_date = _date(ctx.param("npp_part2_rule_date", "") or None) or NPP_PART2_RULE_DATE
    tz = _tz(ctx, "hipaa_npp_duty", {})
    today = cal.local_date(now.at, tz)
    met_at, basis = _part2_revision(version, rule_date, today)
    yield _fact("hipaa_npp_duty", "part2_revision", {
        "kind": "part2_revision", "due_at": NPP_PART2_COMPLIANCE_DATE, "met_at": met_at, "basis": basis,
    }, [_src(org)], "org:*")
    if version is not None and version <= today:
        yield _fact("hipaa_npp_duty", "posting", {
            "kind": "posting", "due_at": version,
            "met_at": posted if posted is not None and posted <= today else None,
            "basis": (f"NPP effective {version} posted at each site and on the website by then; "
                      + (f"posted {posted}" if posted else "no posting date recorded (npp_posted_date)")),
        }, [_src(org)], "org:*")
