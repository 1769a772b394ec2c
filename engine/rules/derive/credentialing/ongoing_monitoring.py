"""Ongoing monitoring of active licensed clinicians against exclusion lists and licensing boards
(`cred_monitoring`, CRED-MON-009): monthly check cycles, missed months, adverse results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.credentialing._common import (
    Check,
    Source,
    _lower_set,
    active_episodes,
    chains,
    fact,
    inactive_statuses,
    iso,
    joined,
    latest,
    load_credentials,
    load_episodes,
    load_screenings,
    param,
    param_on,
    today,
)
from engine.rules.facttypes import FieldKind

# ---- ongoing monitoring ---------------------------------------------------------------------------

#: The day monthly monitoring became required (NCQA's 2025 standards; CRED-MON-009's effective_from).
#: The first check the rule can ask for is due by the end of that month: on 1 July 2025 a clinician
#: hired in 2024 had been reported as "never checked, due by 2024-02-29", and a June cycle as missed.
MONTHLY_FROM = dt.date(2025, 7, 1)
FIRST_DUE = cal.end_of_month(MONTHLY_FROM)


def _from_rule_start(due: dt.date) -> dt.date:
    """A monthly check's due date, never before the first one the rule requires."""
    return max(due, FIRST_DUE)


MON_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "source": "string", "check": "string", "key": "string", "list_id": "string",
    "result": "string", "record_id": "string", "last_checked_on": "date", "due_at": "date",
    "checked_late_on": "date",
    "review_by": "string",  # a future date for messages only: a string, so the as-of step never nulls it
    "establishment_id": "string",
}


@dataclass(frozen=True)
class Cycle:
    """One monthly check cycle of a list: opened by a check (or by the episode's start), due by the
    end of the month `mon_interval_months` (as in force on the opening day) later, and closed by the
    next check (None while open)."""

    key: str
    due: dt.date
    opened: Check | None
    closed: Check | None


def monthly_cycles(history: list[Check], start: dt.date, opener: str, today_: dt.date,
                   months: Callable[[dt.date], int], lookback: int,
                   not_before: dt.date = dt.date.min) -> tuple[Cycle, list[Cycle]]:
    """Walk an episode's checks of one list: each is due by the end of the month `months(day)` after
    the previous one, made on `day` (the first, after the episode's start month). `months` gives the
    interval in force on a cycle's opening day, so a cycle keeps the length it had when it opened.
    Returns the open cycle (after the last check) and the cycles closed late (a month went by
    without a check and a later check resumed the chain) whose due date is inside the last
    `lookback` months, oldest first.

    A cycle is keyed by what opened it, `monthly:<check id>` (`monthly:<opener>`, the episode, for
    the first), so an overdue cycle stays the same finding when the check is made late, and each
    missed month is its own finding.

    No cycle is due before `not_before` (the rule's first due date): the same clamped date makes a
    cycle overdue and, once a check closes it after that date, late; judging lateness by the
    unclamped date dropped a first-ever check made late, its due date seeming older than the rule."""
    def next_due(day: dt.date) -> dt.date:
        return max(cal.end_of_month(cal.add_months(day, months(day))), not_before)

    cycle = Cycle(f"monthly:{opener}", next_due(start), None, None)
    late: list[Cycle] = []
    since = cal.add_months(today_, -lookback)
    for check in history:
        if check.checked_on < start:
            continue
        if check.checked_on > cycle.due and cycle.due >= since:
            late.append(Cycle(cycle.key, cycle.due, cycle.opened, check))
        cycle = Cycle(f"monthly:{check.view.id}", next_due(check.checked_on), check, None)
    return cycle, late


@derivation(name="cred_monitoring", inputs=("credential", "employment_episode", "screening"),
            output="cred_monitoring", fields=MON_FIELDS, family="person", about=("person", "person_id"),
            example="mon: cred_monitoring where check == 'exclusion'",
            heavy=True)  # in the derive process with the other two readers of the screenings (bench/README.md)
def monitoring(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-MON-009: ongoing monitoring of each active licensed clinician, per list or board.

    Lists are `mon_sources` (LEIE, SAM, STATE_MEDICAID); boards are the clinician's state licenses
    in force today (a license's latest `verified_at` is the last board check, the only one the
    record keeps). Each list or board has one fact with `check` `list` (id `<person>/MON/<source>`,
    the rule's subject) and one fact per duty (`list_id` names the list fact, `key` is the
    finding's occurrence):
    - `monthly`: the open cycle, a check each calendar month: `due_at` = end of the month
      `mon_interval_months` after the last check (or after the engagement's start month), C5 end of
      month; key `monthly:<the check that opened it>` (`monthly:<first episode>` before the first);
      each cycle, a board's included, counts the interval in force on the day it opened;
    - `missed_month`: a cycle closed late (a month went by without a check and a later check
      resumed the chain): `due_at` is the missed deadline, `checked_late_on` the late check, the
      key that of the cycle (so the overdue finding becomes this late one); every such cycle due
      in the last `mon_lookback_months`, a first-ever check made late included (its due date, like
      the open cycle's, never before the rule's first month);
    - `missing`: a board with no verification on file; due on the first day of the engagement;
    - `exclusion` / `possible_match`: the latest screening found one; act the same day
      (`due_at` = check date; key `<check>:<screening id>`); `review_by` = + `adverse_review_days`
      (in force on the check date) for the committee; the open cycle is not reported beside it;
    - `restriction`: the license's status is adverse (restricted, on probation, suspended...);
      due the day that status was verified (the engagement's first day when no date is on file);
      `review_by` as for an exclusion, counted from that day.

    Monitoring follows the engagement, not the episode (`joined`): after a transfer to another site
    the running cycles, missed months and checks carry on (no fresh monthly clock, no duty moved to
    the transfer date); after a return from a gap they start afresh, checks made before it are not
    counted. Findings cite the establishment of the latest licensed episode, the current site.
    """
    adverse = _lower_set(param(ctx, "license_adverse_statuses"))
    inactive = inactive_statuses(ctx)
    lookback = int(param(ctx, "mon_lookback_months"))
    sources = [str(s) for s in param(ctx, "mon_sources")]
    creds = load_credentials(ctx, inputs["credential"], ("STATE_LICENSE",))
    staff = load_episodes(ctx, inputs["employment_episode"])
    checks = load_screenings(ctx, inputs["screening"])

    def src_of(check: Check) -> Source:
        return (check.view.type, check.view.id, check.view.version)

    def months(day: dt.date) -> int:
        """The interval of a cycle opened on `day` (a check's or the engagement start's local date)."""
        return int(param_on(ctx, "mon_interval_months", day))

    def review_by(day: dt.date) -> str | None:
        """The committee's review date for an adverse result seen on `day`: the window in force then."""
        return iso(cal.add_days(day, int(param_on(ctx, "adverse_review_days", day))))

    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid], licensed=True)
        if not eps:
            continue
        ep = eps[-1]
        first = joined([e for e in staff[pid] if e.licensed], ep)
        day = today(ctx, ctx.tz_of(ep.view))
        key = f"person:{pid}"
        base = {"person_id": pid, "establishment_id": ep.establishment_id, "review_by": None,
                "checked_late_on": None}

        def anchor(list_id: str, source: str, used: list[Source], *, _base: dict[str, Any] = base,
                   _key: str = key) -> DerivedFact:
            return fact("cred_monitoring", list_id, dict(_base, source=source, check="list"), used, _key)

        def duty(list_id: str, data: dict[str, Any], used: list[Source], *, _key: str = key) -> DerivedFact:
            return fact("cred_monitoring", f"{list_id}/{data['key']}", dict(data, list_id=list_id), used, _key)

        for src in sources:
            list_id = f"{pid}/MON/{src}"
            history = sorted(checks.get((pid, src), []), key=lambda s: (s.checked_at, s.view.id))
            last = history[-1] if history else None
            data: dict[str, Any] = dict(base, source=src, last_checked_on=iso(last.checked_on) if last else None,
                                        result=last.result.lower() if last else None,
                                        record_id=last.view.id if last else None)
            used = [ep.src, first.src] + ([src_of(last)] if last else [])
            yield anchor(list_id, src, used)
            current, late = monthly_cycles(history, first.start_on, first.view.id, day, months, lookback,
                                           not_before=FIRST_DUE)  # a month before the rule owed nothing
            for c in late:
                assert c.closed is not None
                yield duty(list_id, dict(data, check="missed_month", key=c.key, due_at=iso(c.due),
                                         checked_late_on=iso(c.closed.checked_on), record_id=c.closed.view.id),
                           [ep.src, first.src] + [src_of(x) for x in (c.opened, c.closed) if x is not None])
            if last is not None and last.result.lower() in ("excluded", "possible_match"):
                check = "exclusion" if last.result.lower() == "excluded" else "possible_match"
                yield duty(list_id, dict(data, check=check, key=f"{check}:{last.view.id}", due_at=iso(last.checked_on),
                                         review_by=review_by(last.checked_on)), used)
            else:
                yield duty(list_id, dict(data, check="monthly", key=current.key,
                                         due_at=iso(_from_rule_start(current.due))), used)
        for state, chain in sorted(chains(creds.get(pid, []), "STATE_LICENSE").items()):
            cur = latest(chain)
            if cur is None or not (cur.in_force(day, inactive) or cur.status in adverse):
                continue
            list_id = f"{pid}/MON/BOARD:{state}"
            used = [cur.src, ep.src, first.src]
            yield anchor(list_id, f"BOARD:{state}", used)
            data = dict(base, source=f"BOARD:{state}", result=cur.status or None, record_id=cur.id,
                        last_checked_on=iso(cur.verified_on))
            if cur.status in adverse:
                seen = cur.verified_on or first.start_on
                data.update(check="restriction", key=f"restriction:{cur.id}", due_at=iso(seen),
                            review_by=review_by(seen))
            elif cur.verified_on is None:
                data.update(check="missing", key=f"missing:{cur.id}", due_at=iso(max(first.start_on, FIRST_DUE)))
            else:
                data.update(check="monthly", key=f"monthly:{cur.id}:{iso(cur.verified_on)}",
                            due_at=iso(_from_rule_start(cal.end_of_month(cal.add_months(cur.verified_on,
                                                                                        months(cur.verified_on))))))
            yield duty(list_id, data, used)
