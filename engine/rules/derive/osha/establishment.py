"""Establishment OSHA duties: Form 300A certification and posting (1904.32) and the exposure
control plan (1910.1030(c))."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from engine.records.vocab import role_key
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.osha._common import (
    RETENTION_YEARS,
    _assigned_at,
    _by_id,
    _date,
    _day,
    _establishments,
    _flag,
    _group,
    _instant,
    _iso,
    _local,
    _Now,
    _sources,
    _still_at_work,
    _tz,
)
from engine.rules.derive.osha.scope import Scope, _ScopeCache

# ---- defaults (the ruleset's params override them; these keep the derivations usable alone) ----

#: 1904.32(b)(6) posting period: 1 February to 30 April of the year after the year covered.
POSTING_FROM = (2, 1)
POSTING_UNTIL = (4, 30)
DEFAULT_CERTIFIER_TITLES = (
    "owner", "partner", "managing partner", "president", "chief executive officer", "ceo",
    "chief operating officer", "coo", "chief financial officer", "cfo", "corporate officer",
    "site administrator", "practice administrator", "medical director", "highest-ranking official",
)  # fmt: skip


# ---- establishment family -----------------------------------------------------------------------


def certifier_allowed(title: str | None, allowed: Iterable[str]) -> bool:
    """Whether a certifier title names a company executive: one of the allowed titles
    (case-insensitively), alone or followed by a qualifier set off by punctuation, so "Site
    Administrator (highest-ranking official)" and "CEO, Acme Family Medicine" match, while "CEO
    Assistant", "Owner's assistant" and "Safety Officer" (against "corporate officer") do not."""
    text = " ".join(str(title or "").lower().split())
    for option in allowed:
        want = " ".join(str(option).lower().split())
        if not want or not text.startswith(want):
            continue
        rest = text[len(want):].lstrip()
        if not rest or rest[0] in _QUALIFIER_MARKS:
            return True
    return False


#: what may set a qualifier off an allowed certifier title ("CEO - Acme", "Owner / Physician", "CEO & President")
_QUALIFIER_MARKS = frozenset("(,;:/&-\u2013\u2014|")


@derivation(
    name="osha_300a_duty", inputs=("osha_summary", "establishment"), output="osha_300a_duty",
    family="establishment",
    fields={"establishment_id": "string", "summary_id": "string", "year": "number", "issue": "string",
            "key": "string", "due_at": "date", "done_at": "instant", "posted_from": "date", "detail": "string",
            "ita_required": "bool"},
    example="osha_300a_duty where establishment_id == est.id and key != null",
)
def osha_300a_duty(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Certification and posting duties of the Form 300A of each establishment and year in which
    records were required, from the last completed year back through the five-year retention
    period (1904.32): `certify` (certified by 1 Feb of the next year), `post` (posted from 1 Feb),
    `post_through` (taken down before 30 Apr: due is the first day it was missing) and `certifier`
    (certified by someone whose title is not in `certifier_titles`). Dates are the establishment's
    local dates, with no weekend relief (C6, C7).

    A year with no 300A on file at all has one duty, `certify` with no `summary_id`: the summary
    was not prepared, so it cannot have been certified (or posted) by 1 Feb. Its `key`
    (`<year>:certify`) is the one a summary filed later carries, so the finding continues (late,
    or resolved) rather than being replaced. `ita_required` says whether that year's 300A is also
    owed to OSHA's ITA (1904.41), for the message; OSHA-REC-ITA-005 judges that submission itself
    (`osha_ita_duty`), with or without a summary on file.
    """
    now = _Now(ctx.as_of)
    ests = _establishments(ctx, inputs)
    scopes = _ScopeCache(ctx, ests)
    titles = list(ctx.params.get("certifier_titles", DEFAULT_CERTIFIER_TITLES))
    on_file: set[tuple[str, int]] = set()
    for summary in _by_id(inputs.get("osha_summary", ())):
        est_id, year = summary.data.get("establishment_id"), summary.data.get("year")
        if est_id is None or year is None:
            continue
        year = int(year)
        on_file.add((str(est_id), year))
        est = scopes.ests.get(str(est_id))
        tz = _tz(ctx, summary, est_id)
        age = now.today(tz).year - year
        scope = scopes.get(str(est_id), year)
        if not 1 <= age <= RETENTION_YEARS or scope is None or scope.records_required is not True:
            continue
        due = cal.clamped_date(year + 1, *POSTING_FROM)
        until = cal.clamped_date(year + 1, *POSTING_UNTIL)

        def duty(issue: str, due_at: dt.date, done: dt.datetime | None, detail: str | None = None, *,
                 _s: RecordView = summary, _e: RecordView | None = est, _y: int = year,
                 _scope: Scope = scope) -> DerivedFact:
            return DerivedFact("osha_300a_duty", f"{_s.id}:{issue}", {
                "establishment_id": _s.data.get("establishment_id"), "summary_id": _s.id, "year": _y,
                "issue": issue, "key": f"{_y}:{issue}", "due_at": _day(due_at), "done_at": _iso(done),
                "posted_from": _s.data.get("posted_from"), "detail": detail, "ita_required": _scope.ita_required,
            }, _sources(_s, _e), f"establishment:{_s.data.get('establishment_id')}")

        certified = now.at(summary.data.get("certified_at"))
        yield duty("certify", due, certified)
        posted = now.on(summary.data.get("posted_from"), tz)
        yield duty("post", due, cal.start_of_local_day(posted, tz) if posted else None)
        taken_down = _date(summary.data.get("posted_until"))
        if posted is not None and taken_down is not None and taken_down < until:
            yield duty("post_through", cal.add_days(taken_down, 1), None,
                       f"taken down after {taken_down.isoformat()}, before {until.isoformat()}")
        if certified is not None and not certifier_allowed(summary.data.get("certifier_title"), titles):
            yield duty("certifier", due, None, str(summary.data.get("certifier_title") or "no title recorded"))
    for est in ests:
        tz = _tz(ctx, est, est.id)
        this_year = now.today(tz).year
        for year in range(this_year - RETENTION_YEARS, this_year):
            scope = scopes.get(est.id, year)
            if (est.id, year) in on_file or scope is None or scope.records_required is not True:
                continue
            yield DerivedFact("osha_300a_duty", f"{est.id}:{year}:missing", {
                "establishment_id": est.id, "summary_id": None, "year": year, "issue": "certify",
                "key": f"{year}:certify", "due_at": _day(cal.clamped_date(year + 1, *POSTING_FROM)),
                "done_at": None, "posted_from": None, "detail": "no Form 300A on file",
                "ita_required": scope.ita_required,
            }, _sources(est), f"establishment:{est.id}")


@derivation(
    name="osha_ecp_duty", inputs=("exposure_control_plan", "employment_episode", "establishment"),
    output="osha_ecp_duty", family="establishment",
    fields={"establishment_id": "string", "issue": "string", "key": "string", "due_at": "date",
            "plan_id": "string", "reviewed_at": "instant", "detail": "string", "exposed_count": "number"},
    example="osha_ecp_duty where establishment_id == est.id",
)
def osha_ecp_duty(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Open exposure control plan duties of an establishment that has employees with occupational
    exposure now (1910.1030(c)(1)-(2)); a duty exists only while it is open. An ended episode counts
    through the next local day (`_still_at_work`), so the night between two back-to-back episodes
    resolves nothing and a site whose last exposed employee left stops owing a day later.

    `no_plan`: no ECP at all (due the day the longest-serving exposed employee was assigned).
    `review`: the next review, `ecp_review_interval` months (C5) after the latest one.
    `content`: the latest review does not document the safer-device review or front-line input.
    `new_position`: an exposed position (role) first filled after a plan existed, with no review
    since; due `ecp_change_days` days (C1) after its first day.
    Each window is the value in force on the local day it runs from (the review, the first day):
    a practice that shortens it does not make an earlier review or position late.
    """
    now = _Now(ctx.as_of)
    plans = _group(inputs.get("exposure_control_plan", ()), "establishment_id")
    episodes = _group(inputs.get("employment_episode", ()), "establishment_id")
    for est in _establishments(ctx, inputs):
        tz = _tz(ctx, est, est.id)
        exposed_all = [e for e in episodes.get(est.id, [])
                       if _flag(e, "occupational_exposure") and now.at(e.data.get("start_at")) is not None]
        exposed = [e for e in exposed_all if _still_at_work(e, now, tz)]
        if not exposed:
            continue
        reviews = sorted(((t, p) for p in plans.get(est.id, []) if (t := now.at(p.data.get("reviewed_at")))),
                         key=lambda x: (x[0], x[1].id))
        base = {"establishment_id": est.id, "exposed_count": len(exposed)}

        def duty(issue: str, key: str, due_at: dt.date, plan: tuple[dt.datetime, RecordView] | None,
                 detail: str | None, extra: Sequence[RecordView] = (), *, _base: dict[str, Any] = base,
                 _est: RecordView = est) -> DerivedFact:
            return DerivedFact("osha_ecp_duty", f"{_est.id}:{key}", dict(
                _base, issue=issue, key=key, due_at=_day(due_at), plan_id=plan[1].id if plan else None,
                reviewed_at=_iso(plan[0]) if plan else None, detail=detail,
            ), _sources(_est, plan[1] if plan else None, *extra), f"establishment:{_est.id}")

        if not reviews:
            first = min(exposed, key=lambda e: (_assigned_at(e) or ctx.as_of, e.id))
            assigned = _assigned_at(first) or ctx.as_of
            yield duty("no_plan", "no_plan", _local(assigned, tz), None,
                       f"{len(exposed)} employee(s) with occupational exposure", [first])
            continue
        latest = reviews[-1]
        reviewed_on = _local(latest[0], tz)
        interval = int(ctx.param_on("ecp_review_interval", reviewed_on, 12))
        yield duty("review", "review", cal.add_months(reviewed_on, interval), latest, None)
        gaps = [label for name, label in (("safer_devices_reviewed", "safer-device evaluation"),
                                          ("frontline_input_documented", "front-line employee input"))
                if latest[1].data.get(name) is not True]
        if gaps:
            yield duty("content", "content", _local(latest[0], tz), latest, ", ".join(gaps))
        first_review = reviews[0][0]
        active_roles = {key for e in exposed if (key := role_key(e.data.get("role")))}
        for role in sorted(active_roles):
            holders = [e for e in exposed_all if role_key(e.data.get("role")) == role]
            first = min(holders, key=lambda e: (_instant(e.data.get("start_at")) or ctx.as_of, e.id))
            started = _instant(first.data.get("start_at"))
            if started is None or started < first_review:
                continue  # the position existed when the plan was written
            if any(t >= started for t, _ in reviews):
                continue  # reviewed since the position appeared
            filled_on = _local(started, tz)
            change_days = int(ctx.param_on("ecp_change_days", filled_on, 30))
            yield duty("new_position", f"new_position:{role}", cal.add_days(filled_on, change_days), latest,
                       f"position {role!r} first filled {filled_on.isoformat()}", [first])


#: OSHA-REC-ITA-005 judges the last two submission cycles (the years one and two before the current one).
ITA_CYCLES = 2


def _ita_summary(summaries: Sequence[RecordView], now: _Now) -> tuple[RecordView | None, dt.datetime | None]:
    """The summary of one establishment-year that speaks for its ITA submission: the one submitted
    first (as of the run), else the first on file by id; with the instant it was submitted."""
    submitted = sorted((t, s.id, s) for s in summaries if (t := now.at(s.data.get("ita_submitted_at"))) is not None)
    if submitted:
        return submitted[0][2], submitted[0][0]
    return (summaries[0] if summaries else None), None


@derivation(
    name="osha_ita_duty", inputs=("osha_summary", "establishment"), output="osha_ita_duty",
    family="establishment",
    fields={"establishment_id": "string", "year": "number", "key": "string", "year_start": "date",
            "summary_id": "string", "done_at": "instant", "ita_employees": "number", "naics": "string",
            "ita_case_data_required": "bool"},
    example="osha_ita_duty where establishment_id == est.id and key != null",
)
def osha_ita_duty(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """The 1904.41 electronic submission owed for each establishment and year that must submit
    (`osha_scope.ita_required`: records required and a size threshold met), for the last two
    completed years, whether or not a Form 300A is on file: the duty is the establishment's, and a
    year with no summary still owes its data by 2 March (the missing summary itself is
    OSHA-REC-300A-003's). `done_at` is the first ITA submission on file for that year (as of the run),
    `summary_id` the summary it was made for (else the summary on file, else null). The rule anchors
    the fixed 2 March date on `year_start`; `key` (the year) keeps a summary filed later on the same
    finding.
    """
    now = _Now(ctx.as_of)
    ests = _establishments(ctx, inputs)
    scopes = _ScopeCache(ctx, ests)
    filed: dict[tuple[str, int], list[RecordView]] = {}
    for summary in _by_id(inputs.get("osha_summary", ())):
        est_id, year = summary.data.get("establishment_id"), summary.data.get("year")
        if est_id is not None and year is not None:
            filed.setdefault((str(est_id), int(year)), []).append(summary)
    for est in ests:
        this_year = now.today(_tz(ctx, est, est.id)).year
        for year in range(this_year - ITA_CYCLES, this_year):
            scope = scopes.get(est.id, year)
            if scope is None or scope.ita_required is not True:
                continue
            on_file, submitted = _ita_summary(filed.get((est.id, year), []), now)
            yield DerivedFact("osha_ita_duty", f"{est.id}:{year}:ita", {
                "establishment_id": est.id, "year": year, "key": str(year),
                "year_start": _day(dt.date(year, 1, 1)), "summary_id": on_file.id if on_file else None,
                "done_at": on_file.data.get("ita_submitted_at") if submitted is not None and on_file else None,
                "ita_employees": scope.ita_employees, "naics": scope.naics,
                "ita_case_data_required": scope.ita_case_data_required,
            }, _sources(est, on_file), f"establishment:{est.id}")
