"""Shared helpers of the osha derivations: value parsing, the evaluation instant (`_Now`), time
zones, grouping of records, completed trainings, and the five-year retention period."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, RecordView
from engine.rules.derive.engagements import at_work, engaged_on
from engine.rules.state_zones import DEFAULT_ZONE, establishment_tz

# ---- defaults (the ruleset's params override them; these keep the derivations usable alone) ----

#: 1904.33: keep the records five years after the end of the calendar year they cover.
RETENTION_YEARS = 5


# ---- small helpers ------------------------------------------------------------------------------


def _instant(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        out = value
    else:
        out = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if out.tzinfo is None:
        return None
    return out.astimezone(dt.UTC)


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else cal.iso_instant(value)


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _src(view: RecordView) -> tuple[str, str, int]:
    return (view.type, view.id, view.version)


def _sources(*views: RecordView | None) -> list[tuple[str, str, int]]:
    out: dict[tuple[str, str, int], None] = {}
    for v in views:
        if v is not None:
            out[_src(v)] = None
    return list(out)


def _by_id(views: Iterable[RecordView]) -> list[RecordView]:
    return sorted(views, key=lambda v: v.id)


def _flag(view: RecordView, name: str) -> bool:
    return view.data.get(name) is True


def _prefix_match(code: str | None, prefixes: Sequence[str]) -> bool:
    return bool(code) and any(str(code).startswith(str(p)) for p in prefixes)


@dataclass(frozen=True)
class _Now:
    """The evaluation instant, and "has it happened yet" for instants and local dates."""

    as_of: dt.datetime

    def at(self, value: Any) -> dt.datetime | None:
        """The instant if it has happened by as_of, else None."""
        instant = _instant(value)
        return instant if instant is not None and instant <= self.as_of else None

    def on(self, value: Any, tz: str) -> dt.date | None:
        """The date if that local day has begun by as_of, else None."""
        day = _date(value)
        return day if day is not None and day <= cal.local_date(self.as_of, tz) else None

    def today(self, tz: str) -> dt.date:
        return cal.local_date(self.as_of, tz)


def _tz(ctx: DeriveContext, view: RecordView | None, establishment_id: Any = None) -> str:
    est = ctx.establishments.get(str(establishment_id)) if establishment_id else None
    if est is not None and (tz := establishment_tz(est.data)):
        return tz
    if view is not None:
        return ctx.tz_of(view)
    return DEFAULT_ZONE


def _holiday_calendar(ctx: DeriveContext, establishment_id: Any) -> str:
    """The named holiday calendar of an establishment's working days (C4), else the default."""
    est = ctx.establishments.get(str(establishment_id)) if establishment_id else None
    if est is not None and est.data.get("holiday_calendar"):
        return str(est.data["holiday_calendar"])
    return cal.DEFAULT_CALENDAR_NAME


@dataclass(frozen=True)
class _Stint:
    """An episode as of the run with its first and last local days and today, in its own
    establishment's zone (C7), as engagements.at_work reads them."""

    view: RecordView
    start_at: dt.datetime
    start_on: dt.date
    end_on: dt.date | None
    today: dt.date


def _still_at_work(ep: RecordView, now: _Now, tz: str) -> bool:
    """An employment episode that has started and either runs or counts through the local day after
    its end (engagements.engaged_on, in `tz`, its site's zone).

    For a site's duties (the exposure control plan): read as "started and not ended", the 02:00
    sweep between an episode ending at 17:00 and the next starting at 08:00 found nobody exposed,
    resolved the duties and closed their tasks, and the morning's sweep reopened them."""
    start = now.at(ep.data.get("start_at"))
    if start is None:
        return False
    end = now.at(ep.data.get("end_at"))
    stint = _Stint(ep, start, _local(start, tz), _local(end, tz) if end is not None else None, now.today(tz))
    return engaged_on(stint, stint.today)


def _engagements_at_work(ctx: DeriveContext, episodes: Iterable[RecordView], now: _Now,
                         wanted: Callable[[RecordView], bool]) -> Iterator[tuple[RecordView, RecordView]]:
    """(first episode, episode worked in now) of each engagement in which a person is at work as
    of the run, among the episodes `wanted` keeps (those the duty is about: exposure work, work
    with hazardous chemicals), by first episode id.

    The per-employee duties owed at initial assignment (the hepatitis B offer, BBP and HazCom
    training) and the yearly cycles after it belong to the engagement (engine.rules.derive.
    engagements), not to the episode: a transfer between sites (same day, next day, overlapping)
    neither owes them again nor moves their due dates nor restarts a cycle, while a return after a
    gap, or a move into such work, is an initial assignment. Keyed by the first episode, a finding
    stays one finding across a transfer; the episode worked in now is the site it cites. An ended
    episode counts through the next local day, so the night between two sites resolves nothing.
    """
    people: dict[str, list[_Stint]] = {}
    for ep in _by_id(episodes):
        start = now.at(ep.data.get("start_at"))
        if start is None or ep.data.get("person_id") is None or not wanted(ep):
            continue
        tz = _tz(ctx, ep, ep.data.get("establishment_id"))
        end = now.at(ep.data.get("end_at"))
        people.setdefault(str(ep.data["person_id"]), []).append(
            _Stint(ep, start, _local(start, tz), _local(end, tz) if end is not None else None, now.today(tz)))
    found: list[tuple[RecordView, RecordView]] = []
    for stints in people.values():
        stints.sort(key=lambda s: (s.start_at, s.view.id))
        found.extend((group[0].view, current.view) for group, current in at_work(stints, lambda s: s.today))
    return iter(sorted(found, key=lambda pair: pair[0].id))


def _assigned_at(ep: RecordView) -> dt.datetime | None:
    """When exposure work began: `exposure_assignment_at`, or the episode start when not recorded."""
    return _instant(ep.data.get("exposure_assignment_at")) or _instant(ep.data.get("start_at"))


def _group(views: Iterable[RecordView], key: str) -> dict[str, list[RecordView]]:
    out: dict[str, list[RecordView]] = {}
    for v in _by_id(views):
        k = v.data.get(key)
        if k is not None:
            out.setdefault(str(k), []).append(v)
    return out


def _trainings(views: Iterable[RecordView], course: str, now: _Now) -> dict[str, list[tuple[dt.datetime, RecordView]]]:
    """Completed trainings of one course per person, oldest first (completed after as_of: not yet)."""
    out: dict[str, list[tuple[dt.datetime, RecordView]]] = {}
    for v in _by_id(views):
        if v.data.get("course") != course or v.data.get("person_id") is None:
            continue
        done = now.at(v.data.get("completed_at"))
        if done is not None:
            out.setdefault(str(v.data["person_id"]), []).append((done, v))
    for items in out.values():
        items.sort(key=lambda t: (t[0], t[1].id))
    return out


def _establishments(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> list[RecordView]:
    views = list(inputs.get("establishment", ()))
    return _by_id(views) if views else _by_id(ctx.establishments.values())


#: The dates a hepatitis B record can carry; its flags (immune, contraindicated) have none of their own.
_HBV_DATES = ("offered_at", "declined_at", "series_completed_at")


def _hbv_said_by(record: RecordView, now: _Now) -> bool:
    """Whether a hepatitis B record's flags count at as_of: a record all of whose dates are still to
    come says what will be known then, not now (CONTRACT: whatever a record says happened after the
    evaluation instant has not happened yet); a record with no date at all counts."""
    dates = [record.data.get(name) for name in _HBV_DATES if record.data.get(name) is not None]
    return not dates or any(now.at(value) is not None for value in dates)


def _hbv_protected(records: Sequence[RecordView], now: _Now) -> bool:
    """Immune, or the series completed, by as_of."""
    return any((_flag(h, "antibody_immune") and _hbv_said_by(h, now))
               or now.at(h.data.get("series_completed_at")) is not None for h in records)


def _hbv_contraindicated(records: Sequence[RecordView], now: _Now) -> bool:
    return any(_flag(h, "contraindicated") and _hbv_said_by(h, now) for h in records)


def _local(instant: dt.datetime, tz: str) -> dt.date:
    return cal.local_date(instant, tz)
