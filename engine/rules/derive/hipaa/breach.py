"""Breach clocks and breach duties of the hipaa rulesets (HIPAA-BRN-DET-010 .. MEDIA-013): discovery,
law-enforcement delay, and the determination, individual, HHS and media notices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.rules import bundles
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.hipaa._common import (
    Inputs,
    Source,
    _AsOf,
    _fact,
    _instant,
    _src,
    _tz,
)

#: 45 CFR 164.404(b), 164.406(b), 164.410(b): notices no later than 60 calendar days after discovery.
BREACH_NOTICE_DAYS = 60
#: 164.408(c): the small-breach log is reported no later than 60 days after the end of the calendar year.
HHS_LOG_DAYS_AFTER_YEAR_END = 60
#: 164.408(b) and 164.406(a): "500 or more" for HHS, "more than 500" residents of a State for media.
HHS_IMMEDIATE_THRESHOLD = 500
MEDIA_STATE_THRESHOLD = 500
#: 164.412(b): an oral law-enforcement statement delays notice at most 30 days from the statement.
ORAL_LE_DELAY_MAX_DAYS = 30


# ---- HIPAA-BRN-DET-010 .. 013: breach clocks ---------------------------------------------------


@dataclass
class BreachClock:
    """The dates every breach duty of one incident is counted from (all local dates, C7)."""

    discovery: dt.datetime
    discovery_source: str  # covered_entity | business_associate_agent
    discovery_on: dt.date
    delay_days: int
    delay_note: str
    clock_start: dt.date
    notice_due: dt.date
    sources: list[Source] = field(default_factory=list)


def breach_clock(incident: Mapping[str, Any], tz: str, *, as_of: dt.datetime,
                 tolling: bool = True) -> BreachClock | None:
    """Discovery date, law-enforcement delay and the 60-day notice due date of an incident.

    Discovery (164.404(a)(2)): the business associate's discovery date when it acts as the practice's
    agent, else the practice's own. Law-enforcement delay (164.412), when `tolling`: a written
    statement delays for the period stated (start to until); an oral one for at most 30 days from the
    statement; a written one with no end date delays nothing (the period was not stated). The delay
    is added to the 60 days (the catalog's tolling reading, [U]), but only the part of its period
    after discovery: the clock it holds starts at discovery, so days before it hold nothing (a
    period ended by then adds none; `_delay_after_discovery`). A statement made after the notice
    was already due moves nothing: the deadline was missed before it (adding its days had erased the
    miss, and made the notice due again before the delay ended).
    """
    discovered = _instant(incident.get("discovered_at"))
    if discovered is None:
        return None
    source = "covered_entity"
    ba_at = _instant(incident.get("ba_discovered_at"))
    if incident.get("discovered_by") == "business_associate" and incident.get("ba_is_agent") is True and ba_at:
        discovered, source = ba_at, "business_associate_agent"
    day = cal.local_date(discovered, tz)
    delay, note = 0, ""
    start = _instant(incident.get("le_delay_start"))
    kind = incident.get("le_delay_kind")
    if tolling and kind in ("oral", "written") and start is not None and start <= as_of:
        until = _instant(incident.get("le_delay_until"))
        stated = (cal.local_date(until, tz) - cal.local_date(start, tz)).days if until is not None else None
        if kind == "oral":
            delay = ORAL_LE_DELAY_MAX_DAYS if stated is None else min(max(stated, 0), ORAL_LE_DELAY_MAX_DAYS)
            note = f"oral law-enforcement delay from {cal.local_date(start, tz)}: {delay} days (at most 30)"
        elif stated is not None:
            delay = max(stated, 0)
            end = cal.local_date(until, tz)  # type: ignore[arg-type]
            note = f"written law-enforcement delay {cal.local_date(start, tz)} to {end}: {delay} days"
        else:
            note = "written law-enforcement delay with no end date: no delay counted"
        if delay:
            delay, note = _delay_after_discovery(kind, cal.local_date(start, tz), delay, day, note)
        missed = cal.add_days(day, BREACH_NOTICE_DAYS)
        if cal.local_date(start, tz) > missed:
            delay = 0
            note = (f"{kind} law-enforcement delay from {cal.local_date(start, tz)}, after the notice was due "
                    f"{missed}: a deadline already missed is not moved")
    clock_start = cal.add_days(day, delay)
    return BreachClock(discovered, source, day, delay, note, clock_start,
                       cal.add_days(clock_start, BREACH_NOTICE_DAYS))


def _delay_after_discovery(kind: str, start: dt.date, days: int, discovery: dt.date, note: str) -> tuple[int, str]:
    """The days of a law-enforcement delay (`days` from local date `start`) that fall after
    `discovery`, with its note: only those hold the notice clock, which starts at discovery. A
    delay stated before discovery that ran past it adds the days after discovery; one over by then
    adds none (adding them all had moved the deadline by days the clock was not yet running)."""
    if start >= discovery:
        return days, note
    end = cal.add_days(start, days)
    after = max((end - discovery).days, 0)
    period = f"{kind} law-enforcement delay {start} to {end}"
    if not after:
        return 0, f"{period}, over by discovery on {discovery}: no delay counted"
    return after, f"{period}: {after} days after discovery on {discovery}"


def _supported_not_breach(d: Mapping[str, Any]) -> bool:
    """Whether a not_breach determination is backed (164.402, 164.414(b)): a four-factor assessment,
    an exception code, or evidence that the PHI was secured."""
    return d.get("four_factor_documented") is True or bool(d.get("exception_code")) or d.get("unsecured") is False


def _notifiable(d: Mapping[str, Any], determined: bool) -> bool:
    """Breach notice duties run for a determined breach, and (presumed breach, 164.402) while an
    incident with PHI is undetermined, unless the PHI was secured. A not_breach determination ends
    them only when it is backed (`_supported_not_breach`): the practice bears the burden of proof
    (164.414(b)), so an unsupported one leaves the presumption, and the notice clocks, running
    (HIPAA-BRN-DET-010 reports the determination itself)."""
    if determined and d.get("determination") == "breach":
        return True
    if determined and d.get("determination") == "not_breach" and _supported_not_breach(d):
        return False
    return d.get("phi_involved") is True and d.get("unsecured") is not False


def _affected(d: Mapping[str, Any]) -> tuple[Any, str]:
    """The number affected that routes the HHS notice (HIPAA-BRN-HHS-012), and a note when it is
    not affected_total.

    affected_total, or the sum of affected_by_state when that is larger: two counts that disagree
    are both on record, and the larger is the one the practice cannot rule out; reading the total
    alone had sent 501 residents of one State (a media duty, HIPAA-BRN-MEDIA-013) to the annual
    under-500 route. None (unknown) when affected_total is not recorded.
    """
    total = d.get("affected_total")
    if total is None:
        return None, ""
    by_state = sum(c for c in (d.get("affected_by_state") or {}).values() if isinstance(c, int | float))
    if by_state > total:
        return by_state, f"; the sum of affected_by_state, larger than affected_total {total}"
    return total, ""


@derivation(
    name="hipaa.breach_duties",
    inputs=("incident",),
    output="hipaa_breach_duty",
    fields={"rule": "string", "kind": "string", "incident_id": "string", "establishment_id": "string",
            "due_at": "date", "met_at": "instant", "state": "string", "count": "number", "route": "string",
            "discovery_on": "date", "discovery_source": "string", "delay_days": "number", "basis": "string",
            "no_deadline": "bool"},
    family="incident",
    example="rule=HIPAA-BRN-IND-011 kind=individual_notice due_at=2025-03-11 discovery_on=2025-01-10",
)
def breach_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Breach determination and notification duties of each incident (HIPAA-BRN-DET-010 to 013).

    DET-010 `determination` (discovery + breach_determination_days; met by determination_at) and
    `unsupported_not_breach` (not_breach without a four-factor assessment, an exception code or
    secured PHI: a standing condition, `no_deadline`, reported as a violation with no due). IND-011
    `individual_notice` (discovery + 60 days + law-enforcement delay), `ba_report_contract` /
    `ba_report_regulatory` (the business associate told the practice more than
    ba_breach_report_days_contract / 60 days after its own discovery). HHS-012 `hhs_immediate` (500 or
    more affected: with the individual notice) or `hhs_annual` (fewer: 60 days after the end of the
    discovery year, C2). MEDIA-013 `media` per State with more than 500 residents affected.
    """
    now = _AsOf(ctx)
    for inc in sorted(inputs["incident"], key=lambda v: v.id):
        if now.exists(inc):
            yield from _incident_duties(ctx, now, inc)


def _incident_duties(ctx: DeriveContext, now: _AsOf, inc: RecordView) -> Iterator[DerivedFact]:
    d = inc.data
    tolling = bool(ctx.param("le_delay_extends_deadline", True))
    base: dict[str, Any] = {"incident_id": inc.id, "establishment_id": d.get("establishment_id")}
    tz = _tz(ctx, "hipaa_breach_duty", base)
    clock = breach_clock(d, tz, as_of=ctx.as_of, tolling=tolling)
    if clock is None:
        return
    bundle = bundles.bundle_key("incident", inc.id, d)
    base.update(discovery_on=clock.discovery_on, discovery_source=clock.discovery_source,
                delay_days=clock.delay_days)
    found = f"discovered {clock.discovery_on}" + (" by the business associate acting as agent"
                                                   if clock.discovery_source != "covered_entity" else "")
    determined_at = now.happened(d.get("determination_at"))
    determined = d.get("determination") is not None and (
        d.get("determination_at") is None or determined_at is not None)

    def duty(rule: str, kind: str, key: str, **extra: Any) -> DerivedFact:
        return _fact("hipaa_breach_duty", f"{inc.id}:{rule}:{key}", dict(base, rule=rule, kind=kind, **extra),
                     [_src(inc)], bundle)

    if d.get("phi_involved") is not False:
        if not determined:
            det_days = int(ctx.param_on("breach_determination_days", clock.discovery_on, 30))
            yield duty("HIPAA-BRN-DET-010", "determination", "determination",
                       due_at=cal.add_days(clock.discovery_on, det_days),
                       basis=f"{found} + {det_days} days (breach_determination_days"
                             f"{ctx.then_said('breach_determination_days', det_days, 30)})")
        elif d.get("determination") == "not_breach" and not _supported_not_breach(d):
            when = cal.local_date(determined_at, tz) if determined_at is not None else clock.discovery_on
            yield duty("HIPAA-BRN-DET-010", "unsupported_not_breach", "unsupported_not_breach", due_at=when,
                       no_deadline=True,
                       basis=(f"determined not a breach on {when} without a four-factor assessment, an "
                              f"exception code or evidence the PHI was secured"))
        ba_at = _instant(d.get("ba_discovered_at"))
        if d.get("discovered_by") == "business_associate" and ba_at is not None:
            told = now.happened(d.get("ba_notified_ce_at")) or _instant(d.get("discovered_at"))
            assert told is not None
            ba_day, told_day = cal.local_date(ba_at, tz), cal.local_date(told, tz)
            lag = (told_day - ba_day).days
            contract_days = int(ctx.param_on("ba_breach_report_days_contract", ba_day, 10))
            limits = (("ba_report_regulatory", BREACH_NOTICE_DAYS), ("ba_report_contract", contract_days))
            for kind, limit in limits:
                if lag > limit:
                    yield duty("HIPAA-BRN-IND-011", kind, "ba_report", due_at=cal.add_days(ba_day, limit),
                               met_at=told,
                               basis=(f"business associate {d.get('ba_vendor_id') or ''} discovered it {ba_day} "
                                      f"and told the practice {told_day}, {lag} days later (limit {limit})"))
                    break
    if not _notifiable(d, determined):
        return
    delay = (f" + {clock.delay_days} days ({clock.delay_note})" if clock.delay_days
             else f" ({clock.delay_note})" if clock.delay_note else "")
    notice_basis = f"{found} + {BREACH_NOTICE_DAYS} days{delay}"
    if determined and d.get("determination") == "not_breach":
        notice_basis = (f"presumed a breach, the not_breach determination being unsupported (164.402); "
                        f"{notice_basis}")
    yield duty("HIPAA-BRN-IND-011", "individual_notice", "individual_notice", due_at=clock.notice_due,
               met_at=now.happened(d.get("individual_notice_at")), basis=notice_basis)
    total, larger = _affected(d)
    hhs_met = now.happened(d.get("hhs_notice_at"))
    if total is None or total >= HHS_IMMEDIATE_THRESHOLD:
        who = "number affected unknown" if total is None else f"{total} affected (500 or more{larger})"
        yield duty("HIPAA-BRN-HHS-012", "hhs_immediate", "hhs", due_at=clock.notice_due, met_at=hhs_met,
                   count=total, route="immediate",
                   basis=f"{who}: HHS notice with the individual notices, {notice_basis}")
    else:
        due = cal.year_end_plus(clock.discovery_on.year, HHS_LOG_DAYS_AFTER_YEAR_END)
        basis = (f"{total} affected (fewer than 500{larger}): annual log report, 31 Dec {clock.discovery_on.year} + "
                 f"{HHS_LOG_DAYS_AFTER_YEAR_END} days")
        if clock.delay_days and clock.clock_start > due:
            due = clock.clock_start
            basis += f", held until the law-enforcement delay ends {clock.clock_start}"
        yield duty("HIPAA-BRN-HHS-012", "hhs_annual", "hhs", due_at=due, met_at=hhs_met, count=total,
                   route="annual", basis=basis)
    media = d.get("media_notice_at") or {}
    for state, count in sorted((d.get("affected_by_state") or {}).items()):
        if count is None or count <= MEDIA_STATE_THRESHOLD:
            continue
        yield duty("HIPAA-BRN-MEDIA-013", "media", f"media:{state}", due_at=clock.notice_due, state=state,
                   count=count, met_at=now.happened(media.get(state)),
                   basis=f"{count} residents of {state} (more than 500): {notice_basis}")
