"""Deadlines: one computation for every obligation (anchor + amount, by a named convention).

The rule compiler turns `obligation: {anchor, within, convention, warn}` into one `compute_deadline`
call, so `due_soon`, `overdue` and "done late" follow from the same three instants for every rule
(ARCHITECTURE 3). A `Deadline` also carries the human working (`explanation`) that an evidence
packet prints beside the finding (X-EVID-003, C9).

Boundaries, fixed here once:
- day-based deadlines are judged on the establishment's local date: an action dated on `due` is on
  time, and an unmet obligation is overdue from local midnight after `due` (`overdue_after`);
- hour windows and cut-off times are judged on instants: an action at or before the deadline
  instant is on time, and an unmet obligation is overdue once it has passed (the catalog's
  "now > due"; a QPP upload stamped 8:00:00 p.m. Eastern is inside the window). Their `due` is that
  instant in UTC, as the contract gives hour-based deadlines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from math import isfinite
from typing import Any, Literal

from engine.clock import UTC, ensure_utc
from engine.rules.calendars import arithmetic as ar
from engine.rules.calendars.errors import DeadlineSpecError
from engine.rules.calendars.policy import default_calendar
from engine.rules.calendars.workdays import DEFAULT_CALENDAR_NAME, Calendar, count_working_days
from engine.rules.calendars.workdays import roll_forward as roll_to_working_day

Unit = Literal["days", "hours", "working_days", "months", "years"]
Convention = Literal[
    "calendar_days", "year_end", "elapsed_hours", "working_days", "months", "end_of_month", "fixed_date"
]
ObligationState = Literal["pending", "due_soon", "overdue", "met", "met_late"]

# Which units each convention accepts; the compiler checks a rule against this before it runs.
CONVENTION_UNITS: dict[str, frozenset[str]] = {
    "calendar_days": frozenset({"days"}),
    "year_end": frozenset({"days"}),
    "elapsed_hours": frozenset({"hours"}),
    "working_days": frozenset({"working_days"}),
    "months": frozenset({"months", "years"}),
    "end_of_month": frozenset({"months", "years"}),
    "fixed_date": frozenset({"years"}),
}
_TAGS = {
    "calendar_days": "C1",
    "year_end": "C2",
    "elapsed_hours": "C3",
    "working_days": "C4",
    "months": "C5",
    "end_of_month": "C5",
    "fixed_date": "fixed annual date",
}


@dataclass(frozen=True)
class Deadline:
    """When an obligation is due, from when it is overdue and due soon, and how that was worked out.

    `due` is a local date for day-based conventions and a UTC instant for hour windows and cut-offs
    (the contract's `due`); `overdue_after` and `warn_from` are always UTC instants so callers compare
    them with the run's `as_of` directly (for an instant deadline `overdue_after` is the deadline
    itself, still on time). `cutoff` is set when a day-based deadline closes at a local time of day
    (QPP: 20:00 America/New_York) instead of at local midnight.
    """

    due: dt.date | dt.datetime
    due_text: str
    overdue_after: dt.datetime
    warn_from: dt.datetime | None
    convention: str
    explanation: str
    tz: str
    cutoff: dt.time | None = None

    @property
    def is_instant(self) -> bool:
        """True when on-time is judged by instant (hour windows and cut-offs), not by local date."""
        return isinstance(self.due, dt.datetime) or self.cutoff is not None

    def to_dict(self) -> dict[str, Any]:
        """The deadline as plain JSON values, for findings and evidence packets."""
        return {
            "due": self.due_text,
            "overdue_after": ar.iso_instant(self.overdue_after),
            "warn_from": ar.iso_instant(self.warn_from) if self.warn_from else None,
            "convention": self.convention,
            "tz": self.tz,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "explanation": self.explanation,
        }


def compute_deadline(
    anchor: dt.datetime | dt.date,
    amount: int | float,
    unit: str,
    convention: str,
    tz: str,
    holiday_calendar: str = DEFAULT_CALENDAR_NAME,
    roll_forward: bool = False,
    warn: int | float | None = None,
    *,
    on: str | None = None,
    cutoff: dt.time | None = None,
    calendar: Calendar | None = None,
) -> Deadline:
    """The deadline `amount` `unit`s after `anchor` under `convention`, in the establishment zone `tz`.

    `amount` and `warn` are whole numbers, except for `elapsed_hours`, which takes a fraction of an
    hour exactly (1.5 is ninety minutes): elapsed time has no reason to round, and the days, months
    and years of the other conventions are never split.
    `warn` is in the deadline's own unit family: calendar days before `due` (from local midnight) for
    day-based conventions, hours before the instant for `elapsed_hours`, and days of 24 elapsed hours
    before the closing instant for a `cutoff` (C3: the catalog's "7 days before" the QPP close).
    `roll_forward` (C6) moves a day-based due date off weekends and holidays of `holiday_calendar`;
    only rules whose agency is documented to extend opt in. `fixed_date` ("2 March of the following
    year", OSHA ITA) takes `on="MM-DD"` and `amount` years. `cutoff` closes a day-based deadline at a
    local time of day.
    `calendar` replaces the default service (tests, alternative holiday data).
    """
    _check_spec(anchor, amount, unit, convention, roll_forward, warn, on, cutoff)
    ar.zone(tz)  # an unknown zone fails here, whatever the convention
    if convention == "elapsed_hours":
        assert isinstance(anchor, dt.datetime)
        return _hours_deadline(anchor, amount, tz, warn)
    assert isinstance(amount, int) and (warn is None or isinstance(warn, int))  # said by _check_spec

    local = anchor if not isinstance(anchor, dt.datetime) else ar.local_date(anchor, tz)
    anchor_text = f"{local.isoformat()} ({tz})"
    if isinstance(anchor, dt.datetime):  # which local day an instant falls on (C7), said as people read clocks
        anchor_text = f"{local.isoformat()} ({tz}; {_both_clocks(anchor, tz)})"
    months = amount * 12 if unit == "years" else amount

    if convention == "calendar_days":
        raw = ar.add_days(local, amount)
        math = (f"{anchor_text} + {amount} calendar days = {raw}" if amount else
                f"due on {anchor_text}: the date the rule's own facts name (see why it fired)")
    elif convention == "year_end":
        raw = ar.year_end_plus(local.year, amount)
        math = f"31 Dec {local.year} (year of {anchor_text}) + {amount} calendar days = {raw}"
    elif convention == "working_days":
        raw, skipped = count_working_days(local, amount, holiday_calendar, _service(calendar))
        holidays = f"skipped {', '.join(skipped)}" if skipped else "no holidays in between"
        math = (
            f"{anchor_text} + {amount} working days on {holiday_calendar} "
            f"(anchor not counted; {holidays}) = {raw}"
        )
    elif convention in ("months", "end_of_month"):
        raw = ar.add_months(local, months)
        clamp = " (clamped to the month's last day)" if raw.day != local.day else ""
        math = f"{anchor_text} + {months} months = {raw}{clamp}"
        if convention == "end_of_month":
            raw = ar.end_of_month(raw)
            math += f", end of month = {raw}"
    else:  # fixed_date
        assert on is not None
        month, day = _month_day(on)
        raw = ar.clamped_date(local.year + amount, month, day)
        math = f"{raw:%d %b} of {local.year} + {amount} (year of {anchor_text}) = {raw}"

    due = raw
    if roll_forward:
        cal = _service(calendar)
        due = roll_to_working_day(raw, holiday_calendar, cal)
        if due != raw:
            reason = cal.non_working_reason(raw, holiday_calendar)
            math += f", rolled forward from {raw} ({reason}) to {due} on {holiday_calendar} (C6)"
        else:
            math += f", a working day on {holiday_calendar} so no roll-forward needed (C6)"
    else:
        math += ", no roll-forward"

    due_at: dt.date | dt.datetime = due
    if cutoff is not None:  # an instant, judged as hour windows are (see the module doc)
        due_at = overdue_after = ensure_utc(dt.datetime.combine(due, cutoff, tzinfo=ar.zone(tz)))
        math += f", closing {cutoff.isoformat(timespec='minutes')} {tz} = {_both_clocks(overdue_after, tz)}"
        warn_from = None if warn is None else overdue_after - dt.timedelta(days=warn)
    else:
        overdue_after = ar.end_of_local_day(due, tz)
        warn_from = None if warn is None else ar.start_of_local_day(due - dt.timedelta(days=warn), tz)
    return Deadline(
        due=due_at,
        due_text=_due_text(due_at) if isinstance(due_at, dt.datetime) else due_at.isoformat(),
        overdue_after=overdue_after,
        warn_from=warn_from,
        convention=convention,
        explanation=f"{math} ({_TAGS[convention]})",
        tz=tz,
        cutoff=cutoff,
    )


def _service(calendar: Calendar | None) -> Calendar:
    """`calendar`, else the default service, asked for only when a working day is counted: finding
    it reads the environment (the policies directory), which most deadlines have no need of."""
    return calendar if calendar is not None else default_calendar()


def _hours_deadline(anchor: dt.datetime, hours: int | float, tz: str, warn: int | float | None) -> Deadline:
    """C3: elapsed UTC hours, a fraction included; the zone only labels the explanation."""
    start = ensure_utc(anchor)
    due = ar.add_hours(start, hours)
    if hours:
        # the local clocks first (what the officer reads), the UTC sum beside them (what was counted);
        # a clock change in between is said, as the local hours then differ from the elapsed ones
        moved = start.astimezone(ar.zone(tz)).utcoffset() != due.astimezone(ar.zone(tz)).utcoffset()
        explanation = (
            f"{_clock(start, tz)} + {_number(hours)} elapsed hours = {_clock(due, tz)} "
            f"({tz}; {_clock(start)} + {_number(hours)} h = {_clock(due)}), measured in UTC"
            f"{', across the clock change' if moved else ''} (C3)"
        )
    else:  # "+ 0 elapsed hours" hid where the hours went: the facts hold the instant already counted
        explanation = (
            f"due at {_both_clocks(due, tz)}: the instant the rule's own facts name, their hours already counted "
            "in UTC (see why it fired; C3)"
        )
    return Deadline(
        due=due,
        due_text=_due_text(due),
        overdue_after=due,
        warn_from=None if warn is None else due - dt.timedelta(hours=warn),
        convention="elapsed_hours",
        explanation=explanation,
        tz=tz,
    )


def _both_clocks(instant: dt.datetime, tz: str) -> str:
    """An instant on the establishment's clock, then UTC's: "2026-12-05 15:00 EST = 2026-12-05 20:00 UTC".
    The explanations had said "2026-12-05T20:00:00Z (2026-12-05T15:00:00-05:00 America/New_York)",
    which an officer had to decode."""
    return f"{_clock(instant, tz)} = {_clock(instant)}"


def _clock(instant: dt.datetime, tz: str | None = None) -> str:
    """An instant on one zone's clock (UTC's without `tz`), with its abbreviation, "2026-12-05 15:00 EST";
    to the second only when it is not on a minute, as a deadline is exact."""
    local = ensure_utc(instant).astimezone(ar.zone(tz) if tz else UTC)
    shown = f"{local:%Y-%m-%d %H:%M:%S}" if local.second or local.microsecond else f"{local:%Y-%m-%d %H:%M}"
    return f"{shown} {local.tzname()}"


def met_on_time(met_at: dt.datetime | dt.date, deadline: Deadline) -> bool:
    """Whether an action at `met_at` met `deadline`.

    Day-based: judged on the establishment's local date, so an action dated on the due day is on
    time even when it is already the next day in UTC. Hour windows and cut-offs: judged by instant,
    and an action exactly at the deadline instant is on time. A bare date can only meet a
    day-based deadline without a cut-off.
    """
    if deadline.is_instant:
        if not isinstance(met_at, dt.datetime):
            raise TypeError(f"{deadline.convention} deadline needs an instant, not the date {met_at!r}")
        return ensure_utc(met_at) <= deadline.overdue_after
    day = ar.local_date(met_at, deadline.tz) if isinstance(met_at, dt.datetime) else met_at
    return day <= deadline.due


def obligation_state(
    deadline: Deadline, as_of: dt.datetime, met_at: dt.datetime | dt.date | None = None
) -> ObligationState:
    """Where an obligation stands at `as_of`: pending, due_soon, overdue, met or met_late.

    An action recorded after `as_of` has not happened yet at `as_of` (CONTRACT: two kinds of time),
    so it is ignored here rather than counted early.
    """
    now = ensure_utc(as_of)
    if met_at is not None:
        happened = (
            ensure_utc(met_at) <= now
            if isinstance(met_at, dt.datetime)
            else met_at <= ar.local_date(now, deadline.tz)
        )
        if happened:
            return "met" if met_on_time(met_at, deadline) else "met_late"
    if deadline.is_instant:
        overdue = now > deadline.overdue_after  # the deadline instant itself is still on time
    else:
        overdue = now >= deadline.overdue_after  # from local midnight after the due day
    if overdue:
        return "overdue"
    if deadline.warn_from is not None and now >= deadline.warn_from:
        return "due_soon"
    return "pending"


def _check_spec(
    anchor: object,
    amount: object,
    unit: str,
    convention: str,
    roll_forward: bool,
    warn: object,
    on: str | None,
    cutoff: dt.time | None,
) -> None:
    """Refuse a deadline the conventions do not define, naming what would be accepted."""
    if convention not in CONVENTION_UNITS:
        raise DeadlineSpecError(
            f"unknown deadline convention {convention!r}; expected one of {', '.join(CONVENTION_UNITS)}"
        )
    if unit not in CONVENTION_UNITS[convention]:
        allowed = ", ".join(sorted(CONVENTION_UNITS[convention]))
        raise DeadlineSpecError(f"convention {convention!r} counts in {allowed}, not {unit!r}")
    hours = convention == "elapsed_hours"
    _check_amount("deadline amount", amount, fraction=hours)
    if warn is not None:
        _check_amount("warn", warn, fraction=hours)
    if isinstance(anchor, dt.datetime):
        ensure_utc(anchor)  # naive -> ValueError
    elif not isinstance(anchor, dt.date):
        raise TypeError(f"anchor must be an aware datetime or a local date, got {anchor!r}")
    if convention == "elapsed_hours":
        if not isinstance(anchor, dt.datetime):
            raise DeadlineSpecError("an hour window needs an instant as anchor, not a date (C3)")
        if roll_forward or cutoff is not None:
            raise DeadlineSpecError("hour windows neither roll forward nor take a cut-off time (C3, C6)")
    if (on is not None) != (convention == "fixed_date"):
        raise DeadlineSpecError("'on' (MM-DD) is required by, and only allowed with, convention 'fixed_date'")
    if on is not None:
        _month_day(on)


def _check_amount(label: str, amount: object, *, fraction: bool) -> None:
    """A number of units >= 0: whole, or with `fraction` (elapsed hours) any finite number."""
    number = isinstance(amount, int | float) and not isinstance(amount, bool) and isfinite(amount)
    if fraction and number and amount >= 0:  # type: ignore[operator]
        return
    if not fraction and isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0:
        return
    kind = "a number >= 0 (hours may have a fraction)" if fraction else "a whole number >= 0"
    raise DeadlineSpecError(f"{label} must be {kind}, got {amount!r}")


def _number(value: int | float) -> str:
    """An amount as the explanation says it: 24, 1.5 (never 24.0)."""
    return str(int(value)) if value == int(value) else str(value)


def _month_day(on: str) -> tuple[int, int]:
    try:
        month_text, day_text = on.split("-")
        month, day = int(month_text), int(day_text)
        dt.date(2024, month, day)  # a leap year, so 02-29 is allowed (and clamps in common years)
    except (ValueError, AttributeError):
        raise DeadlineSpecError(f"'on' must be a month and day as MM-DD, got {on!r}") from None
    return month, day


def _due_text(due: dt.datetime) -> str:
    """An instant `due` in whole seconds, as the contract writes it (`2026-11-01T13:30:00Z`): a fact
    stamped 01:30:00.123456789 had given a due of 13:30:00.123456Z, which readers comparing the
    text trip on. The deadline itself keeps the fraction; within that second nothing is yet late."""
    return ar.iso_instant(due.replace(microsecond=0))
