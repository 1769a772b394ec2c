"""Derivations for the ai_use rulesets (registered explicitly; see engine.rules.derive).

What the AI-use rules cannot do by matching alone:

- *state applicability*: which states a practice, an AI output or an encounter touches
  (establishment state, patient state, clinician state, organisation states);
- *cross-family joins*: an AI output or encounter (events) against the reviewer's licence
  (person family), the tool's category (vendor family) or the patient's home state;
- *clocks*: inventory approval and completeness, performance reviews, Section 1557 input reviews
  and mitigation, Colorado impact assessments and note sign-off, all computed by the calendar
  service in the zone of the fact that carries them;
- *aggregates*: per-tool use before approval, per-vendor BAA coverage, per-tool chatbot use by state.

Every function is pure: it reads its input records and `ctx` (as_of, parameters, zones) and applies
the evaluation instant itself (a record that happens after `as_of` has not happened yet). A clock is
carried as `due_at` because that is the field name the fact builder treats as a schedule (a future
date that must not be nulled by `as_of`); rules anchor on it with a zero window.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.rules import bundles
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.hipaa import baa_in_place, clause_codes
from engine.rules.facttypes import record_fact_types

#: 45 CFR 92.210(b)-(c) compliance date (Section 1557 final rule, 89 FR 37522).
S1557_COMPLIANCE_DATE = dt.date(2025, 5, 1)
#: Utah 13-72a-203 (HB 452): disclose at the start of an interaction if not used in the previous 7 days.
UT_CHATBOT_IDLE = dt.timedelta(days=7)
DST_CATEGORIES = ("PCDST", "PREDICTIVE_DSI")
#: When the mental-health chatbot limits took effect: Illinois PA 104-0054 (HB 1806, effective on
#: approval, 1 Aug 2025) and Utah HB 452 (7 May 2025), at local midnight in each state.
MH_LAW_EFFECTIVE: dict[str, tuple[dt.date, str]] = {
    "IL": (dt.date(2025, 8, 1), "America/Chicago"),
    "UT": (dt.date(2025, 5, 7), "America/Denver"),
}

#: Defaults mirrored from rulesets/ai_use (used only when a ruleset does not supply the value).
DEFAULTS: dict[str, Any] = {
    "ai_high_risk_categories": ["PCDST", "PREDICTIVE_DSI", "MH_CHATBOT"],
    "ai_low_risk_categories": ["ADMIN"],
    "ai_perf_review_days": 365,
    "ai_perf_review_high_risk_days": 180,
    "pcdst_review_days": 30,
    "pcdst_mitigation_days": 30,
    "co_ai_act_effective_date": "2026-06-30",
    "ai_baa_required_clauses": ["AI_NO_TRAINING", "DATA_RETENTION_DELETION"],
    "ai_licensed_titles": ["Dr.", "Doctor", "MD", "M.D.", "DO", "D.O.", "RN", "NP", "PA", "Nurse", "Therapist"],
    "all_party_states": ["CA", "FL", "IL", "MD", "MA", "MT", "NH", "PA", "WA", "CT", "DE", "MI", "NV", "OR"],
    "ai_note_signoff_hours": 72,
    "ai_inventory_required_fields": ["name", "category", "vendor_id", "owner_person_id", "uses_phi"],
}


def _param(ctx: DeriveContext, name: str) -> Any:
    return ctx.param(name, DEFAULTS[name])


def _param_on(ctx: DeriveContext, name: str, day: dt.date) -> Any:
    """The value in force on `day`, the local date a clock starts (a review, a go-live, a note's
    creation): a window keeps the length it had then, though the practice changed it since."""
    return ctx.param_on(name, day, DEFAULTS[name])


# ---- time helpers (every date goes through the calendar service) ----------------------------------


def _instant(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _seen(value: Any, as_of: dt.datetime) -> dt.datetime | None:
    """The instant if it has happened by `as_of`, else None (CONTRACT: later = not yet)."""
    at = _instant(value)
    return at if at is not None and at <= as_of else None


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return cal.iso_instant(value)
    return value.isoformat()


def _zone(ctx: DeriveContext, fact_type: str, fact_id: str, data: Mapping[str, Any]) -> str:
    """The zone the fact builder will use for this derived fact (same keys, same lookup)."""
    return ctx.tz_of(RecordView(fact_type, fact_id, 0, data))


def _earliest(*values: dt.datetime | None) -> dt.datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _state_of(ctx: DeriveContext, establishment_id: Any) -> str | None:
    est = ctx.establishments.get(str(establishment_id)) if establishment_id else None
    state = est.data.get("state") if est else None
    if state:
        return str(state)
    org_states = list((ctx.organization.data.get("states") or []) if ctx.organization else [])
    return str(org_states[0]) if len(org_states) == 1 else None


# ---- shared lookups ------------------------------------------------------------------------------


@dataclass
class _Licences:
    """Who held a licensed-clinician employment episode when (employment_episode.licensed_clinician)."""

    spans: dict[str, list[tuple[dt.datetime | None, dt.datetime | None]]] = field(default_factory=dict)

    @classmethod
    def of(cls, episodes: Iterable[RecordView]) -> _Licences:
        out = cls()
        for ep in episodes:
            if ep.data.get("licensed_clinician") is True and ep.data.get("person_id"):
                span = (_instant(ep.data.get("start_at")), _instant(ep.data.get("end_at")))
                out.spans.setdefault(str(ep.data["person_id"]), []).append(span)
        return out

    def licensed_at(self, person_id: Any, at: dt.datetime | None) -> bool:
        if not person_id or at is None:
            return False
        return any((start is None or start <= at) and (end is None or at < end)
                   for start, end in self.spans.get(str(person_id), []))


@dataclass
class _Usage:
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    count: int = 0
    unapproved: int = 0
    first_unapproved: dt.datetime | None = None
    establishment_id: str | None = None
    first_source: tuple[str, str, int] | None = None
    first_unapproved_source: tuple[str, str, int] | None = None

    def sources(self) -> list[tuple[str, str, int]]:
        """The first output, and the first output made while unapproved (evidence of use)."""
        return sorted({s for s in (self.first_source, self.first_unapproved_source) if s is not None})


def _tools(inputs: Mapping[str, Iterable[RecordView]]) -> dict[str, RecordView]:
    return {t.id: t for t in inputs.get("ai_tool", ())}


def _usage(ctx: DeriveContext, tools: Mapping[str, RecordView], outputs: Iterable[RecordView]) -> dict[str, _Usage]:
    """Per tool id: outputs created by `as_of`, and how many came while the tool was not approved."""
    out: dict[str, _Usage] = {}
    for o in outputs:
        created = _seen(o.data.get("created_at"), ctx.as_of)
        tool_id = o.data.get("tool_id")
        if created is None or not tool_id:
            continue
        u = out.setdefault(str(tool_id), _Usage())
        tool = tools.get(str(tool_id))
        approved = _seen(tool.data.get("approved_at"), ctx.as_of) if tool else None
        ref = (o.type, o.id, o.version)
        if u.first is None or (created, ref) < (u.first, u.first_source or ref):
            u.first, u.first_source = created, ref
            u.establishment_id = o.data.get("establishment_id") or u.establishment_id
        u.last = created if u.last is None or created > u.last else u.last
        u.count += 1
        if approved is None or created < approved:
            u.unapproved += 1
            if u.first_unapproved is None or (created, ref) < (u.first_unapproved, u.first_unapproved_source or ref):
                u.first_unapproved, u.first_unapproved_source = created, ref
    return out


def licensed_title_in(name: str | None, titles: Iterable[str]) -> str | None:
    """The first licensed title (AB 489) that `name` uses as a whole word, or None.

    Abbreviations written in capitals (MD, RN, D.O.) match case-sensitively, so "do" or "pa" in
    ordinary words do not count; words (Doctor, Nurse, Dr.) match in any case.
    """
    if not name:
        return None
    for title in titles:
        core = str(title).strip().rstrip(".")
        if not core:
            continue
        letters = core.replace(".", "")
        flags = 0 if letters.isupper() else re.IGNORECASE
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(core)}\.?(?![A-Za-z0-9])", name, flags):
            return str(title)
    return None


# ---- practice-wide facts -------------------------------------------------------------------------


@derivation(
    name="ai_use_practice", inputs=("organization", "establishment"), output="ai_use_practice",
    fields={"states": "list", "establishment_states": "list", "fte_count": "number",
            "receives_federal_financial_assistance": "bool"},
    family="org", reference=True,
    example="practice: ai_use_practice where \"CA\" in states",
)
def practice(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """The states the practice operates in: the organisation's states plus every establishment's state."""
    orgs = list(inputs.get("organization", ()))
    ests = list(inputs.get("establishment", ()))
    est_states = sorted({str(e.data["state"]) for e in ests if e.data.get("state")})
    org = orgs[0] if orgs else None
    states = sorted(set(est_states) | {str(s) for s in ((org.data.get("states") or []) if org else [])})
    yield DerivedFact(
        type="ai_use_practice", id="practice",
        data={"states": states, "establishment_states": est_states,
              "fte_count": org.data.get("fte_count") if org else None,
              "receives_federal_financial_assistance": (
                  org.data.get("receives_federal_financial_assistance") if org else None)},
        sources=[(r.type, r.id, r.version) for r in orgs + ests], bundle_key="org:*",
    )


# ---- per tool: inventory, use and clocks ---------------------------------------------------------


@derivation(
    name="ai_use_tool", inputs=("ai_tool", "ai_output"), output="ai_use_tool",
    fields={"tool_id": "string", "name": "string", "category": "string", "vendor_id": "string",
            "in_inventory": "bool", "approved_at": "instant", "owner_person_id": "string",
            "establishment_id": "string", "first_used_at": "instant", "last_used_at": "instant",
            "output_count": "number", "unapproved_output_count": "number", "licensed_title": "string"},
    family="vendor", about=("ai_tool", "tool_id"),
    example="tool: ai_use_tool where unapproved_output_count > 0",
)
def tool_status(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Every AI tool in the inventory or seen in use (an output naming it), with its use as of the run."""
    tools = _tools(inputs)
    usage = _usage(ctx, tools, inputs.get("ai_output", ()))
    titles = _param(ctx, "ai_licensed_titles")
    for tool_id in sorted(set(tools) | set(usage)):
        tool, u = tools.get(tool_id), usage.get(tool_id, _Usage())
        data = dict(tool.data) if tool else {}
        yield DerivedFact(
            type="ai_use_tool", id=tool_id,
            data={"tool_id": tool_id, "name": data.get("name"), "category": data.get("category"),
                  "vendor_id": data.get("vendor_id"), "in_inventory": tool is not None,
                  "approved_at": _iso(_seen(data.get("approved_at"), ctx.as_of)),
                  "owner_person_id": data.get("owner_person_id"),
                  "establishment_id": None if tool else u.establishment_id,
                  "first_used_at": _iso(u.first), "last_used_at": _iso(u.last), "output_count": u.count,
                  "unapproved_output_count": u.unapproved,
                  "licensed_title": licensed_title_in(data.get("name"), titles)},
            sources=([(tool.type, tool.id, tool.version)] if tool else []) + u.sources(),
            bundle_key=bundles.bundle_key("ai_tool", tool_id, data),
        )


DUTY_FIELDS: dict[str, Any] = {
    "tool_id": "string", "kind": "string", "due_at": "date", "met_at": "instant", "past_due": "bool",
    "high_risk": "bool", "category": "string", "name": "string", "owner_person_id": "string",
    "establishment_id": "string", "go_live_at": "instant", "basis_at": "instant", "interval_days": "number",
    "missing_fields": "list",
}


@derivation(
    name="ai_use_tool_duty", inputs=("ai_tool", "ai_output"), output="ai_use_tool_duty", fields=DUTY_FIELDS,
    family="vendor",
    example="duty: ai_use_tool_duty where tool_id == tool.id and kind == 'performance_review'",
)
def tool_duties(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """The clocks of each inventoried AI tool, one fact per duty, each with its local due date (`due_at`).

    approval            first use of a tool with no approval before it (due the day of first use;
                        met_at = approval); also for a tool that outputs name but the inventory does
                        not hold (no approval to meet it, and no other clock: it has no record)
    inventory           tool in use or approved whose inventory record lacks a field of
                        ai_inventory_required_fields, e.g. its owner (due the go-live day)
    performance_review  last performance review (or go-live) + ai_perf_review_days (180 high risk);
                        not for ai_low_risk_categories (AI-MON-012)
    inventory_review    the same clock for a tool in ai_low_risk_categories: the periodic inventory
                        review every tool owes (AI-GOV-INV-001), which AI-MON-012 leaves out
    input_review        PCDST/PREDICTIVE_DSI whose protected-characteristic inputs are unrecorded:
                        go-live + pcdst_review_days, never before 1 May 2025 (92.210(b))
    mitigation          PCDST/PREDICTIVE_DSI that uses protected characteristics: go-live +
                        pcdst_review_days + pcdst_mitigation_days, never before 1 May 2025;
                        met_at = the tool's recorded performance (subgroup) review
    impact_assessment   high-risk tool: last performance review + 12 months (C5), or go-live,
                        never before co_ai_act_effective_date (Colorado 6-1-1703)
    Go-live is the earlier of approval and first use. Each window in days is the value in force on
    the local day its clock starts (the last review, or go-live); `interval_days` is the one used.
    """
    tools = _tools(inputs)
    usage = _usage(ctx, tools, inputs.get("ai_output", ()))
    for tool_id in sorted(set(tools) | set(usage)):
        if tool_id in tools:
            yield from _duties_of(ctx, tools[tool_id], usage.get(tool_id, _Usage()))
        else:
            yield _unlisted_approval(ctx, tool_id, usage[tool_id])


def _unlisted_approval(ctx: DeriveContext, tool_id: str, u: _Usage) -> DerivedFact:
    """The approval duty of a tool seen in use that the inventory does not hold: due the local day of
    its first output (at the establishment that made it), never met while it has no record."""
    assert u.first is not None
    base = {"tool_id": tool_id, "establishment_id": u.establishment_id}
    tz = _zone(ctx, "ai_use_tool_duty", tool_id, base)
    due = cal.local_date(u.first, tz)
    fact = dict(base, kind="approval", due_at=due.isoformat(), met_at=None, basis_at=_iso(u.first),
                go_live_at=_iso(u.first), high_risk=False, past_due=cal.local_date(ctx.as_of, tz) > due)
    return DerivedFact(type="ai_use_tool_duty", id=f"{tool_id}/approval", data=fact, sources=u.sources(),
                       bundle_key=bundles.bundle_key("ai_tool", tool_id, {}))


def _duties_of(ctx: DeriveContext, tool: RecordView, u: _Usage) -> Iterator[DerivedFact]:
    tool_id, data = tool.id, dict(tool.data)
    approved = _seen(data.get("approved_at"), ctx.as_of)
    reviewed = _seen(data.get("last_perf_review_at"), ctx.as_of)
    go_live = _earliest(approved, u.first)
    category = data.get("category")
    is_high = category in set(_param(ctx, "ai_high_risk_categories"))
    base = {"tool_id": tool_id, "category": category, "name": data.get("name"), "high_risk": is_high,
            "owner_person_id": data.get("owner_person_id"), "go_live_at": _iso(go_live)}
    tz = _zone(ctx, "ai_use_tool_duty", tool_id, base)
    today = cal.local_date(ctx.as_of, tz)
    sources = [(tool.type, tool.id, tool.version)]

    def duty(name: str, due: dt.date, *, met: dt.datetime | None = None, basis: dt.datetime | None = None,
             interval: int | None = None, evidence: list[tuple[str, str, int]] | None = None,
             **extra: Any) -> DerivedFact:
        fact = dict(base, kind=name, due_at=due.isoformat(), met_at=_iso(met), past_due=today > due,
                    basis_at=_iso(basis), interval_days=interval, **extra)
        return DerivedFact(type="ai_use_tool_duty", id=f"{tool_id}/{name}", data=fact,
                           sources=sources + (evidence or []), bundle_key=bundles.bundle_key("ai_tool", tool_id, data))

    if u.first is not None and (approved is None or approved > u.first):
        yield duty("approval", cal.local_date(u.first, tz), met=approved, basis=u.first, evidence=u.sources())
    if go_live is None:
        return
    live_day = cal.local_date(go_live, tz)
    known = record_fact_types()["ai_tool"].fields
    missing = [f for f in _param(ctx, "ai_inventory_required_fields") if f in known and data.get(f) in (None, "")]
    if missing:
        yield duty("inventory", live_day, basis=go_live, missing_fields=missing)
    basis = reviewed or go_live
    basis_day = cal.local_date(basis, tz)
    days = int(_param_on(ctx, "ai_perf_review_high_risk_days" if is_high else "ai_perf_review_days", basis_day))
    review = "inventory_review" if category in set(_param(ctx, "ai_low_risk_categories")) else "performance_review"
    yield duty(review, cal.add_days(basis_day, days), basis=basis, interval=days)
    if category in DST_CATEGORIES:
        review_days = int(_param_on(ctx, "pcdst_review_days", live_day))
        protected = data.get("uses_protected_characteristics")
        if protected is None:
            due = max(cal.add_days(live_day, review_days), S1557_COMPLIANCE_DATE)
            yield duty("input_review", due, basis=go_live, interval=review_days)
        elif protected is True:
            days = review_days + int(_param_on(ctx, "pcdst_mitigation_days", live_day))
            due = max(cal.add_days(live_day, days), S1557_COMPLIANCE_DATE)
            yield duty("mitigation", due, met=reviewed, basis=go_live, interval=days)
    if is_high:
        co_date = dt.date.fromisoformat(str(_param(ctx, "co_ai_act_effective_date")))
        due = cal.add_months(cal.local_date(reviewed, tz), 12) if reviewed else live_day
        yield duty("impact_assessment", max(due, co_date), basis=reviewed or go_live)


# ---- per vendor: BAA coverage of AI vendors --------------------------------------------------------


@derivation(
    name="ai_use_vendor", inputs=("vendor", "baa", "phi_flow", "ai_tool"), output="ai_use_vendor",
    fields={"vendor_id": "string", "name": "string", "phi": "bool", "baa_exempt": "bool",
            "phi_first_at": "instant", "baa_id": "string", "baa_active": "bool", "phi_before_baa": "bool",
            "missing_clauses": "list", "missing_clause_count": "number", "tool_ids": "list"},
    family="vendor",
    example="ai: ai_use_vendor where vendor_id == vendor.id and phi and not baa_active",
)
def ai_vendors(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Each AI vendor (is_ai, or the vendor of an inventoried AI tool): whether it touches PHI, whether
    a BAA was in force when PHI first reached it and is in force now, and which required AI clauses the
    BAA in force lacks (ai_baa_required_clauses, compared case-insensitively and named upper-case:
    `hipaa.clause_codes`, the one spelling of clause codes for both BAA rules)."""
    vendors = {v.id: v for v in inputs.get("vendor", ())}
    tools: dict[str, list[RecordView]] = {}
    for t in inputs.get("ai_tool", ()):
        if t.data.get("vendor_id"):
            tools.setdefault(str(t.data["vendor_id"]), []).append(t)
    baas: dict[str, list[RecordView]] = {}
    for b in inputs.get("baa", ()):
        signed = _instant(b.data.get("signed_at"))
        if b.data.get("vendor_id") and (signed is None or signed <= ctx.as_of):
            baas.setdefault(str(b.data["vendor_id"]), []).append(b)
    flows: dict[str, list[RecordView]] = {}
    for f in inputs.get("phi_flow", ()):
        if f.data.get("vendor_id") and _seen(f.data.get("first_at"), ctx.as_of):
            flows.setdefault(str(f.data["vendor_id"]), []).append(f)
    required = clause_codes(_param(ctx, "ai_baa_required_clauses"))

    def covering(vendor_id: str, at: dt.datetime) -> list[RecordView]:
        """BAAs signed and effective at `at` and not terminated by then (latest effective last)."""
        out = []
        for b in baas.get(vendor_id, []):
            start = baa_in_place(b, ctx.as_of)
            ended = _seen(b.data.get("terminated_at"), ctx.as_of)
            if start is not None and start <= at and (ended is None or ended > at):
                out.append(b)
        return sorted(out, key=lambda b: (_instant(b.data.get("effective_at")) or at, b.id))

    for vendor_id in sorted(set(vendors) | set(tools)):
        v = vendors.get(vendor_id)
        vdata = dict(v.data) if v else {}
        vtools = tools.get(vendor_id, [])
        if not (vdata.get("is_ai") is True or vtools):
            continue
        first = _earliest(*(_instant(f.data.get("first_at")) for f in flows.get(vendor_id, [])))
        phi = bool(vdata.get("handles_phi") is True or first is not None
                   or any(t.data.get("uses_phi") is True for t in vtools))
        now_cover = covering(vendor_id, ctx.as_of)
        active = now_cover[-1] if now_cover else None
        clauses = set(clause_codes(active.data.get("clauses"))) if active else set()
        missing = [c for c in required if c not in clauses] if active else []
        sources = ([(v.type, v.id, v.version)] if v else []) + [(t.type, t.id, t.version) for t in vtools]
        sources += [(f.type, f.id, f.version) for f in flows.get(vendor_id, [])]
        sources += [(b.type, b.id, b.version) for b in baas.get(vendor_id, [])]
        yield DerivedFact(
            type="ai_use_vendor", id=vendor_id,
            data={"vendor_id": vendor_id, "name": vdata.get("name"), "phi": phi,
                  "baa_exempt": vdata.get("relationship_type") in ("treatment_provider", "conduit"),
                  "phi_first_at": _iso(first), "baa_id": active.id if active else None,
                  "baa_active": active is not None,
                  "phi_before_baa": first is not None and not covering(vendor_id, first),
                  "missing_clauses": missing, "missing_clause_count": len(missing),
                  "tool_ids": sorted(t.id for t in vtools)},
            sources=sorted(set(sources)), bundle_key=bundles.bundle_key("vendor", vendor_id, vdata),
        )


# ---- per tool and state: mental-health chatbot use (IL, UT) ---------------------------------------


@derivation(
    name="ai_use_mh_chatbot", inputs=("ai_tool", "ai_output", "employment_episode", "establishment"),
    output="ai_use_mh_chatbot",
    fields={"tool_id": "string", "state": "string", "output_count": "number", "therapeutic_count": "number",
            "first_therapeutic_at": "instant", "last_therapeutic_at": "instant",
            "undisclosed_start_count": "number", "first_undisclosed_start_at": "instant"},
    family="vendor",
    example="use: ai_use_mh_chatbot where tool_id == tool.id and state == 'IL' and therapeutic_count > 0",
)
def mh_chatbot(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Per MH_CHATBOT tool and establishment state (IL, UT): its outputs delivered by `as_of` and on or
    after the state law's effective date (MH_LAW_EFFECTIVE).

    therapeutic: clinical content (or content not said to be non-clinical) delivered to the user
    without a licensed clinician's review before delivery (a chatbot reply is delivered when sent,
    or when created if no send time is recorded).
    undisclosed start: an output without the AI disclosure that opens an interaction, i.e. the
    tool's first output in that state or one after 7 days in which the tool was not used there at
    all; per-user sessions are not in the contract, so this undercounts rather than guesses.
    """
    tools = {k: t for k, t in _tools(inputs).items() if t.data.get("category") == "MH_CHATBOT"}
    licences = _Licences.of(inputs.get("employment_episode", ()))
    rows: dict[tuple[str, str], list[tuple[dt.datetime, bool, bool, tuple[str, str, int]]]] = {}
    for o in inputs.get("ai_output", ()):
        tool_id = str(o.data.get("tool_id") or "")
        created = _seen(o.data.get("created_at"), ctx.as_of)
        state = _state_of(ctx, o.data.get("establishment_id"))
        if tool_id not in tools or created is None or state not in ("IL", "UT"):
            continue
        delivered = _seen(o.data.get("sent_at"), ctx.as_of) or (None if o.data.get("sent_at") else created)
        if delivered is None or delivered < cal.start_of_local_day(*MH_LAW_EFFECTIVE[state]):
            continue
        reviewed = _seen(o.data.get("reviewed_at"), ctx.as_of)
        licensed_first = (licences.licensed_at(o.data.get("reviewed_by_person_id"), reviewed)
                          and reviewed is not None and reviewed <= delivered)
        # a null `clinical_content` counts as clinical, as AI-CA-3030-006 reads it: a mental-health
        # chatbot's reply of unknown content had passed Illinois' rule unseen
        therapeutic = o.data.get("clinical_content") is not False and not licensed_first
        rows.setdefault((tool_id, state), []).append(
            (delivered, therapeutic, o.data.get("disclaimer_present") is True, (o.type, o.id, o.version)))
    for (tool_id, state), items in sorted(rows.items()):
        items.sort(key=lambda r: (r[0], r[3]))
        therapy = [r for r in items if r[1]]
        starts, previous = [], None
        for r in items:
            if (previous is None or r[0] - previous > UT_CHATBOT_IDLE) and not r[2]:
                starts.append(r)
            previous = r[0]
        tool = tools[tool_id]
        flagged = therapy if state == "IL" else starts
        yield DerivedFact(
            type="ai_use_mh_chatbot", id=f"{tool_id}/{state}",
            data={"tool_id": tool_id, "state": state, "output_count": len(items),
                  "therapeutic_count": len(therapy),
                  "first_therapeutic_at": _iso(therapy[0][0]) if therapy else None,
                  "last_therapeutic_at": _iso(therapy[-1][0]) if therapy else None,
                  "undisclosed_start_count": len(starts),
                  "first_undisclosed_start_at": _iso(starts[0][0]) if starts else None},
            sources=[(tool.type, tool.id, tool.version)] + [r[3] for r in flagged[:20]],
            bundle_key=bundles.bundle_key("ai_tool", tool_id, tool.data),
        )


# ---- events: AI outputs and encounters ---------------------------------------------------------------


@derivation(
    name="ai_use_output", inputs=("ai_output", "ai_tool", "employment_episode", "establishment", "organization"),
    output="ai_use_output",
    fields={"output_id": "string", "tool_id": "string", "tool_category": "string", "kind": "string",
            "establishment_id": "string",
            "state": "string", "clinical": "bool", "created_at": "instant", "reviewed_at": "instant",
            "reviewed_by_person_id": "string", "reviewer_licensed": "bool", "licensed_review_at": "instant",
            "sent_at": "instant", "filed": "bool", "filed_unsigned": "bool", "reviewed_before_send": "bool",
            "disclaimed": "bool",
            "due_at": "instant", "no_deadline": "bool"},
    family="event:ai_use_output", event=True, about=("ai_output", "id"),
    example="out: ai_use_output where kind == 'PATIENT_MESSAGE' and state == 'CA' and not disclaimed",
)
def outputs(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Each AI output created by `as_of`, with the state of its establishment, whether a licensed
    clinician (an employment episode with licensed_clinician, active at the review) reviewed it and
    whether before it was sent, and for a NOTE_DRAFT the sign-off due instant: created_at +
    ai_note_signoff_hours elapsed (C3; as in force on the local day of creation), or the send
    (filing) instant when it was filed unsigned before.
    `filed_unsigned`: it was filed (sent) before any licensed review, even if one came afterwards.
    A note filed unsigned before its sign-off window ended is a standing condition, the catalog's
    "final without signature" (`no_deadline`: a violation with no due), not a deadline missed."""
    tools = _tools(inputs)
    licences = _Licences.of(inputs.get("employment_episode", ()))
    for o in inputs.get("ai_output", ()):
        created = _seen(o.data.get("created_at"), ctx.as_of)
        if created is None:
            continue
        reviewed = _seen(o.data.get("reviewed_at"), ctx.as_of)
        sent = _seen(o.data.get("sent_at"), ctx.as_of)
        licensed = licences.licensed_at(o.data.get("reviewed_by_person_id"), reviewed)
        licensed_at = reviewed if licensed else None
        # AI-CA-3030-006 exempts a message read by a licensed clinician before it went out: the
        # catalog's `reviewed_at < sent_at`, so a review stamped at the sending instant is not one
        before_send = licensed_at is not None and sent is not None and licensed_at < sent
        due, filed_early = None, False
        if o.data.get("kind") == "NOTE_DRAFT":
            due = cal.add_hours(created, float(ctx.param_at("ai_note_signoff_hours", o, created,
                                                            DEFAULTS["ai_note_signoff_hours"])))
            if sent is not None and sent < due and not (licensed_at is not None and licensed_at <= sent):
                due, filed_early = sent, True
        tool = tools.get(str(o.data.get("tool_id") or ""))
        yield DerivedFact(
            type="ai_use_output", id=o.id,
            data={"output_id": o.id, "tool_id": o.data.get("tool_id"),
                  "tool_category": tool.data.get("category") if tool else None,
                  "kind": o.data.get("kind"), "establishment_id": o.data.get("establishment_id"),
                  "state": _state_of(ctx, o.data.get("establishment_id")),
                  "clinical": o.data.get("clinical_content") is not False, "created_at": _iso(created),
                  "reviewed_at": _iso(reviewed), "reviewed_by_person_id": o.data.get("reviewed_by_person_id"),
                  "reviewer_licensed": licensed, "licensed_review_at": _iso(licensed_at), "sent_at": _iso(sent),
                  "filed": sent is not None,
                  "filed_unsigned": sent is not None and not (licensed_at is not None and licensed_at <= sent),
                  "reviewed_before_send": before_send, "disclaimed": o.data.get("disclaimer_present") is True,
                  "due_at": _iso(due), "no_deadline": filed_early},
            sources=[(o.type, o.id, o.version)], bundle_key=f"event:ai_use_output:{o.id}",
        )


@derivation(
    name="ai_use_encounter", inputs=("encounter", "patient", "establishment"), output="ai_use_encounter",
    fields={"encounter_id": "string", "patient_id": "string", "clinician_person_id": "string",
            "establishment_id": "string", "at": "instant", "modality": "string", "ambient_recording": "bool",
            "recording_started_at": "instant", "recording_consent_at": "instant", "states": "list",
            "all_party_states": "list", "all_party_state_count": "number",
            "disclosure_at": "instant", "disclosed_by_service_date": "bool"},
    family="event:ai_use_encounter", event=True, about=("encounter", "id"),
    example="enc: ai_use_encounter where ambient_recording and all_party_state_count > 0",
)
def encounters(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Each ambient-recorded (AI scribe) encounter that happened by `as_of`, with the states whose law
    reaches it and the consent and disclosure the patient gave.

    states: the establishment's state, the clinician's state and the patient's state (the encounter's
    patient_state, else the patient record's state); all_party_states: those of them in the
    all_party_states parameter. recording_started_at defaults to the encounter start.
    disclosure_at: the patient's earliest recorded recording consent on any encounter by `as_of` (the
    scribe consent script is the AI-use notice); disclosed_by_service_date: it was given on or before
    the local date of this encounter. Only ambient encounters are held in memory (one pass over the
    stream finds every patient's first consent); the other encounters are not yielded.
    """
    patients = {p.id: p for p in inputs.get("patient", ())}
    all_party = {str(s) for s in _param(ctx, "all_party_states")}
    held: list[tuple[RecordView, dt.datetime]] = []
    first_consent: dict[str, dt.datetime] = {}
    for e in inputs.get("encounter", ()):
        at = _seen(e.data.get("at"), ctx.as_of)
        if at is None:
            continue
        if e.data.get("ambient_recording") is True:
            held.append((e, at))
        consent = _seen(e.data.get("recording_consent_at"), ctx.as_of)
        pid = str(e.data.get("patient_id") or "")
        if consent is not None and pid:
            first_consent[pid] = min(consent, first_consent.get(pid, consent))
    for e, at in held:
        d = e.data
        patient = patients.get(str(d.get("patient_id") or ""))
        patient_state = d.get("patient_state") or (patient.data.get("state") if patient else None)
        est = ctx.establishments.get(str(d.get("establishment_id") or ""))
        states = sorted({str(s) for s in (est.data.get("state") if est else None, d.get("clinician_state"),
                                          patient_state) if s})
        consent = _seen(d.get("recording_consent_at"), ctx.as_of)
        pid = str(d.get("patient_id") or "")
        disclosure = first_consent.get(pid) if pid else consent
        base = {"establishment_id": d.get("establishment_id"), "clinician_person_id": d.get("clinician_person_id")}
        tz = _zone(ctx, "ai_use_encounter", e.id, base)
        disclosed = disclosure is not None and cal.local_date(disclosure, tz) <= cal.local_date(at, tz)
        involved = [s for s in states if s in all_party]
        sources = [(e.type, e.id, e.version)] + ([(patient.type, patient.id, patient.version)] if patient else [])
        yield DerivedFact(
            type="ai_use_encounter", id=e.id,
            data=dict(base, encounter_id=e.id, patient_id=d.get("patient_id"), at=_iso(at), modality=d.get("modality"),
                      ambient_recording=True,
                      recording_started_at=_iso(_seen(d.get("recording_started_at"), ctx.as_of) or at),
                      recording_consent_at=_iso(consent), states=states, all_party_states=involved,
                      all_party_state_count=len(involved), disclosure_at=_iso(disclosure),
                      disclosed_by_service_date=disclosed),
            sources=sources, bundle_key=f"event:ai_use_encounter:{e.id}",
        )
