"""Response duties of individuals' requests (HIPAA-PRV-ACC-014): right of access, amendment and
accounting of disclosures, with the single extension and state-law overrides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from engine.rules import bundles
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, derivation
from engine.rules.derive.hipaa._common import (
    Inputs,
    _AsOf,
    _fact,
    _holiday_calendar,
    _instant,
    _src,
    _tz,
)
from engine.rules.spec import parse_state_deadline

#: 164.524(b)(2), 164.526(b)(2), 164.528(c)(1): days to act on a request, and the single extension.
REQUEST_DAYS = {"access": 30, "amendment": 60, "accounting": 60}
REQUEST_EXTENSION_DAYS = 30


# ---- HIPAA-PRV-ACC-014: right of access, amendment, accounting ---------------------------------


def _state_override(ctx: DeriveContext, state: str | None, received: dt.date,
                    calendar_name: str) -> tuple[dt.date, str] | None:
    """The earliest state-law due date for an access request (access_state_overrides: "ST:N:UNIT"),
    with its working for the finding's message.

    The entries were checked when the parameter was set (`engine.rules.spec.parse_state_deadline`);
    business days are counted by the calendar service on the establishment's holiday calendar (C4),
    as every other business-day deadline is, so a practice closure lengthens them too."""
    best = None
    for entry in ctx.param_on("access_state_overrides", received, []):
        law = parse_state_deadline(entry)
        if law.state != (state or "").upper():
            continue
        if law.unit == "business_days":
            due, skipped = cal.count_working_days(received, law.count, calendar_name)
            holidays = f", skipping {', '.join(skipped)}" if skipped else ""
            words = f"{law.words} (on the {calendar_name} calendar{holidays})"
        else:
            due, words = cal.add_days(received, law.count), law.words
        if best is None or due < best[0]:
            best = (due, words)
    return best


@derivation(
    name="hipaa.request_duties",
    inputs=("access_request",),
    output="hipaa_request_duty",
    fields={"kind": "string", "request_id": "string", "establishment_id": "string", "due_at": "date",
            "met_at": "instant", "received_on": "date", "first_due": "date", "extended": "bool", "basis": "string"},
    family="access_request",
    example="kind=response request_id=AR-1 received_on=2026-03-02 first_due=2026-04-01 due_at=2026-05-01",
)
def request_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Response duties of each individual's request (HIPAA-PRV-ACC-014).

    `response`: received (local date, C7) + 30 days for access or + 60 for amendment and accounting;
    + 30 more when the written extension notice went out on or before the first due date; never later
    than a state override. Met by completion or written denial. `extension_void`: an extension notice
    sent after the first due date (due that date, met when sent late).
    """
    now = _AsOf(ctx)
    for req in sorted(inputs["access_request"], key=lambda v: v.id):
        d = req.data
        received = _instant(d.get("received_at"))
        if received is None or received > now.at:
            continue
        est = d.get("establishment_id")
        base = {"request_id": req.id, "establishment_id": est}
        tz = _tz(ctx, "hipaa_request_duty", base)
        kind = d.get("kind") or "access"
        r = cal.local_date(received, tz)
        first = cal.add_days(r, REQUEST_DAYS.get(kind, 30))
        ext = now.happened(d.get("extension_notice_at"))
        ext_day = cal.local_date(ext, tz) if ext is not None else None
        extended = ext_day is not None and ext_day <= first
        due = cal.add_days(first, REQUEST_EXTENSION_DAYS) if extended else first
        basis = f"{kind} request received {r} + {REQUEST_DAYS.get(kind, 30)} days"
        if extended:
            basis += f", extended {REQUEST_EXTENSION_DAYS} days by the notice of {ext_day}"
        est_view = ctx.establishments.get(str(est or ""))
        state = str(est_view.data.get("state")) if est_view is not None and est_view.data.get("state") else None
        if kind == "access":
            override = _state_override(ctx, state, r, _holiday_calendar(ctx, est))
            if override is not None and override[0] < due:
                due, basis = override[0], basis + f"; {override[1]} gives {override[0]}"
        done = [t for t in (now.happened(d.get("completed_at")), now.happened(d.get("denied_at"))) if t is not None]
        bundle = bundles.bundle_key("access_request", req.id, d)
        common = dict(base, received_on=r, first_due=first, extended=extended)
        yield _fact("hipaa_request_duty", f"{req.id}:response", dict(common, **{
            "kind": "response", "due_at": due, "met_at": min(done) if done else None, "basis": basis,
        }), [_src(req)], bundle)
        if ext_day is not None and not extended:
            yield _fact("hipaa_request_duty", f"{req.id}:extension_void", dict(common, **{
                "kind": "extension_void", "due_at": first, "met_at": ext,
                "basis": f"extension notice sent {ext_day}, after the first due date {first}: void",
            }), [_src(req)], bundle)
