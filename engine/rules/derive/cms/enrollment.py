"""The practice's Medicare enrollment register: revalidation due dates (`cms_enrollment`) and
reportable enrollment changes (`cms_enrollment_change`), from practice parameters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from engine.records.vocab import fold
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.cms._common import _entries, _entry_day, _iso, _org, _param_error, _src, org_today

ENROLLMENT_SHORT_CHANGES = frozenset({"OWNERSHIP", "ADVERSE_LEGAL_ACTION", "PRACTICE_LOCATION"})
"""42 CFR 424.516(d)(1)(i)-(iii): reported within 30 days; every other change within 90."""
#: other ways a practice's log names the three 30-day changes (compared folded and upper-cased)
ENROLLMENT_KIND_ALIASES = {
    "CHOW": "OWNERSHIP", "CHANGE_OF_OWNERSHIP": "OWNERSHIP", "OWNERSHIP_CHANGE": "OWNERSHIP",
    "CONTROL": "OWNERSHIP", "CHANGE_OF_CONTROL": "OWNERSHIP",
    "ADVERSE_ACTION": "ADVERSE_LEGAL_ACTION", "FINAL_ADVERSE_ACTION": "ADVERSE_LEGAL_ACTION",
    "ADVERSE_LEGAL_ACTIONS": "ADVERSE_LEGAL_ACTION",
    "LOCATION": "PRACTICE_LOCATION", "CHANGE_OF_LOCATION": "PRACTICE_LOCATION",
    "CHANGE_OF_PRACTICE_LOCATION": "PRACTICE_LOCATION", "PRACTICE_LOCATION_CHANGE": "PRACTICE_LOCATION",
}
ENROLLMENT_SHORT_DAYS = 30
ENROLLMENT_OTHER_DAYS = 90
REVALIDATION_YEARS = {"855S": 3}
"""42 CFR 424.515: revalidation every 5 years; DMEPOS suppliers (CMS-855S) every 3."""
REVALIDATION_DEFAULT_YEARS = 5


# ---- Medicare enrollment (practice register) ---------------------------------------------------


@derivation(
    name="cms_enrollment",
    inputs=("organization",),
    output="cms_enrollment",
    fields={"org_id": "string", "enrollment_id": "string", "label": "string", "form": "string", "due_at": "date",
            "submitted_on": "date", "high_window": "bool", "due_basis": "string"},
    family="org", about=("organization", "org_id"),
    example="enr: cms_enrollment (anchor enr.due_at, met_at enr.submitted_on)",
)
def enrollments(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """The practice's Medicare enrollments (`cms_enrollments`: id, label, form 855I/855B/855R/855S,
    the CMS-posted `revalidation_due` or else `last_revalidated_on` + 5 years (855S: 3), and the date
    the revalidation application was `submitted_on`). `high_window`: the due date is at most
    `reval_high_days` away and not yet past."""
    org = _org(inputs)
    today = org_today(ctx, org)
    high_days = int(ctx.param("reval_high_days", 30))
    for i, e in _entries(ctx, "cms_enrollments", ("id",)):
        form = str(e.get("form") or "").upper().replace("CMS-", "")
        due = _entry_day("cms_enrollments", i, e, "revalidation_due")
        basis = "CMS-posted revalidation due date"
        if due is None:
            last = _entry_day("cms_enrollments", i, e, "last_revalidated_on")
            if last is None:
                raise _param_error("cms_enrollments", i, "give revalidation_due or last_revalidated_on")
            years = REVALIDATION_YEARS.get(form, REVALIDATION_DEFAULT_YEARS)
            due = cal.add_years(last, years)
            basis = f"last revalidated {last} + {years} years"
        submitted = _entry_day("cms_enrollments", i, e, "submitted_on")
        if submitted is not None and submitted > today:
            submitted = None
        yield DerivedFact(
            type="cms_enrollment", id=str(e["id"]),
            data={"org_id": org.id if org else None,
                  "enrollment_id": str(e["id"]), "label": str(e.get("label") or e["id"]), "form": form or None,
                  "due_at": due.isoformat(), "submitted_on": _iso(submitted),
                  "high_window": cal.add_days(due, -high_days) <= today <= due, "due_basis": basis},
            sources=[_src(org)] if org else [], bundle_key="org:*",
        )


def enrollment_kind(raw: object) -> str:
    """A logged change's kind as the 30-day list names it: "change of ownership", "CHOW" and
    "practice-location" are OWNERSHIP and PRACTICE_LOCATION; a kind read otherwise would fall to the
    90-day window silently."""
    key = fold(raw).upper()
    return ENROLLMENT_KIND_ALIASES.get(key, key)


@derivation(
    name="cms_enrollment_change",
    inputs=("organization",),
    output="cms_enrollment_change",
    fields={"org_id": "string", "change_id": "string", "kind": "string", "description": "string", "occurred_on": "date",
            "window_days": "number", "due_at": "date", "reported_on": "date"},
    family="org", about=("organization", "org_id"),
    example="chg: cms_enrollment_change (anchor chg.due_at, met_at chg.reported_on)",
)
def enrollment_changes(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Enrollment changes the practice logged (`cms_enrollment_changes`: id, kind, occurred_on,
    reported_on, description). Due 30 calendar days after the change for OWNERSHIP,
    ADVERSE_LEGAL_ACTION and PRACTICE_LOCATION, 90 days for any other kind (42 CFR 424.516(d); C1)."""
    org = _org(inputs)
    today = org_today(ctx, org)
    for i, e in _entries(ctx, "cms_enrollment_changes", ("id", "kind", "occurred_on")):
        kind = enrollment_kind(e["kind"])
        occurred = _entry_day("cms_enrollment_changes", i, e, "occurred_on")
        assert occurred is not None
        if occurred > today:
            continue
        days = ENROLLMENT_SHORT_DAYS if kind in ENROLLMENT_SHORT_CHANGES else ENROLLMENT_OTHER_DAYS
        reported = _entry_day("cms_enrollment_changes", i, e, "reported_on")
        if reported is not None and reported > today:
            reported = None
        yield DerivedFact(
            type="cms_enrollment_change", id=str(e["id"]),
            data={"org_id": org.id if org else None,
                  "change_id": str(e["id"]), "kind": kind, "description": str(e.get("description") or kind),
                  "occurred_on": occurred.isoformat(), "window_days": days,
                  "due_at": cal.add_days(occurred, days).isoformat(), "reported_on": _iso(reported)},
            sources=[_src(org)] if org else [], bundle_key="org:*",
        )
