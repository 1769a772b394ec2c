"""Private helpers the hipaa derivation modules share: the evaluation instant applied to raw
records (`_AsOf`), instant and date reading, zones and calendars of derived facts, employment
episodes, and the resolution of an access event to the account holding its log-in at the time.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.clock import ensure_utc
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView
from engine.rules.derive.engagements import at_work
from engine.rules.facts import EXISTENCE_FIELD

Inputs = Mapping[str, Iterable[RecordView]]
Source = tuple[str, str, int]


def _utc(at: dt.datetime | None) -> dt.datetime | None:
    """`at` in UTC, to compare with others many times.

    Two aware datetimes compare ten times slower (about 1 us) when their zones are different
    objects, as instants read with their offsets are (each `-05:00` read is a zone of its own): over
    a million access events, comparing them with episode bounds, account starts and `as_of` was
    most of the training duties' time. In UTC (`dt.UTC`, one object) they compare directly. Only
    for comparing: what a derivation yields keeps the instant as written.
    """
    return None if at is None else ensure_utc(at)


def _instant(value: Any) -> dt.datetime | None:
    """An aware datetime from a stored instant (ISO text with offset, or a datetime)."""
    if value is None:
        return None
    if type(value) is str:  # a stored instant: Python 3.11 reads its "Z" too
        return dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value))


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _iso(value: dt.datetime | None) -> str | None:
    return cal.iso_instant(value) if value is not None else None


def _src(view: RecordView) -> Source:
    return (view.type, view.id, view.version)


class _AsOf:
    """The evaluation instant applied to raw records (CONTRACT: two kinds of time)."""

    def __init__(self, ctx: DeriveContext) -> None:
        self.at = ctx.as_of

    def happened(self, value: Any) -> dt.datetime | None:
        """The instant if it is at or before `as_of`, else None (it has not happened yet)."""
        t = _instant(value)
        return t if t is not None and t <= self.at else None

    def exists(self, view: RecordView) -> bool:
        """False when the record's existence field lies after `as_of` (date fields: not handled here)."""
        name = EXISTENCE_FIELD.get(view.type)
        if not name or view.data.get(name) is None or name == "date":
            return True
        t = _instant(view.data.get(name))
        return t is None or t <= self.at


def _tz(ctx: DeriveContext, fact_type: str, data: Mapping[str, Any]) -> str:
    """The zone the engine will use for a derived fact with `data` (so our dates and its deadline agree)."""
    return ctx.tz_of(RecordView(fact_type, str(data.get("id", "")), 0, data))


def _holiday_calendar(ctx: DeriveContext, establishment_id: str | None) -> str:
    est = ctx.establishments.get(establishment_id or "")
    if est is not None and est.data.get("holiday_calendar"):
        return str(est.data["holiday_calendar"])
    return cal.DEFAULT_CALENDAR_NAME


def _baseline(ctx: DeriveContext) -> dt.date:
    """The date a duty with no recorded start is held from (parameter hipaa_baseline_date)."""
    return dt.date.fromisoformat(str(ctx.param("hipaa_baseline_date", "2026-01-01")))


#: The day the HIPAA Security Rule's standards applied to covered entities (45 CFR 164.318(a)(1)):
#: the earliest a safeguard with no recorded start can have been required.
SECURITY_RULE_COMPLIANCE_DATE = dt.date(2005, 4, 20)


@dataclass(frozen=True)
class UndatedStart:
    """When a duty with no recorded start (a system or device with no date) is held from.

    From hipaa_baseline_date, the day this practice's evidence starts from, as a deadline. As of a
    day before that baseline the duty was held back: an unencrypted laptop, or ePHI systems with no
    risk analysis, raised nothing as of 2025. It now stands as a condition with no deadline
    (`standing`: a violation with no due), held to the Security Rule's compliance date, the one day
    such a safeguard is known to have been required by. A fixed day, not the evaluation's: the
    finding's facts and message stay the same from one sweep to the next."""

    day: dt.date
    standing: bool
    said: str  # how the basis names the start: "hipaa_baseline_date 2026-01-01", or why not that
    tz: str

    def began_at(self) -> dt.datetime:
        """When a standing condition held from this start is in force: from the start of its local day.
        From the end of it, a condition in force the day before the baseline had gone for the
        baseline day itself (resolved, its task closed) and come back the day after."""
        return cal.start_of_local_day(self.day, self.tz)


def undated_start(ctx: DeriveContext, tz: str) -> UndatedStart:
    """The start of a duty with no recorded start, as of the evaluation (see `UndatedStart`)."""
    base, today = _baseline(ctx), cal.local_date(ctx.as_of, tz)
    if base <= today or today < SECURITY_RULE_COMPLIANCE_DATE:
        return UndatedStart(base, False, f"hipaa_baseline_date {base}", tz)
    return UndatedStart(SECURITY_RULE_COMPLIANCE_DATE, True,
                        f"no date on record, and hipaa_baseline_date {base} is later: held to the Security "
                        f"Rule's compliance date {SECURITY_RULE_COMPLIANCE_DATE}", tz)


def _fact(out_type: str, fid: str, data: dict[str, Any], sources: Iterable[Source], bundle: str) -> DerivedFact:
    clean = {k: v for k, v in data.items() if v is not None}
    unique = list(dict.fromkeys(sources))
    return DerivedFact(type=out_type, id=fid, data=clean, sources=unique, bundle_key=bundle)


@dataclass(slots=True)
class _Episode:
    view: RecordView
    person_id: str
    start: dt.datetime | None
    end: dt.datetime | None  # as of (a future end has not happened)
    #: read once: the access-log derivations ask for it per event
    establishment_id: str | None = field(init=False)
    #: `start` and `end` in UTC, for `contains`, asked per access event (see `_utc`)
    start_utc: dt.datetime | None = field(init=False)
    end_utc: dt.datetime | None = field(init=False)

    def __post_init__(self) -> None:
        value = self.view.data.get("establishment_id")
        self.establishment_id = str(value) if value else None
        self.start_utc = _utc(self.start)
        self.end_utc = _utc(self.end)

    @property
    def id(self) -> str:
        return self.view.id

    def contains(self, at: dt.datetime) -> bool:
        """Whether `at` falls in the episode (fastest with `at` in UTC: see `_utc`)."""
        return (self.start_utc is None or self.start_utc <= at) and (self.end_utc is None or at < self.end_utc)


def _episodes(views: Iterable[RecordView], now: _AsOf) -> dict[str, list[_Episode]]:
    """Episodes that exist as of the run, per person, in start order."""
    out: dict[str, list[_Episode]] = defaultdict(list)
    for v in views:
        person = v.data.get("person_id")
        if not person or not now.exists(v):
            continue
        out[str(person)].append(_Episode(v, str(person), _instant(v.data.get("start_at")),
                                         now.happened(v.data.get("end_at"))))
    for eps in out.values():
        eps.sort(key=lambda e: (e.start or dt.datetime.min.replace(tzinfo=dt.UTC), e.id))
    return out


@dataclass(frozen=True, slots=True)
class _Stint:
    """An episode with its first and last local days and today, in its own establishment's zone
    (C7), as engagements.at_work reads them."""

    episode: _Episode
    start_on: dt.date
    end_on: dt.date | None
    today: dt.date


def _engagements_at_work(ctx: DeriveContext,
                         episodes: Iterable[_Episode]) -> list[tuple[list[_Episode], _Episode]]:
    """(its episodes, oldest first, and the episode worked in now) of each engagement of one
    person's `episodes` (in start order, already narrowed to those the duty is about) in which the
    person is at work as of the run.

    Duties owed on joining (training within N days of hire) run from the first episode and are keyed
    by it: a transfer between sites, a back-to-back or concurrent episode is the same engagement and
    neither asks for the duty again nor moves its due date, while a return after a gap is a new
    member (engine.rules.derive.engagements). An ended episode counts through the next local day, so
    the night between leaving one site and starting at the next resolves nothing; the episode worked
    in now names the site a finding cites.
    """
    stints: list[_Stint] = []
    for ep in episodes:
        if ep.start is None:
            continue
        tz = ctx.tz_of(ep.view)
        stints.append(_Stint(ep, cal.local_date(ep.start, tz), cal.local_date(ep.end, tz) if ep.end else None,
                             cal.local_date(ctx.as_of, tz)))
    return [([s.episode for s in group], now.episode) for group, now in at_work(stints, lambda s: s.today)]


def _episode_at(episodes: list[_Episode], at: dt.datetime) -> _Episode | None:
    """The episode running at `at`, else the latest one started before it."""
    best = None
    for ep in episodes:
        if ep.contains(at):
            return ep
        if ep.start_utc is not None and ep.start_utc <= at:
            best = ep
    return best


class _Accounts:
    """Resolves (system_id, user_id, instant) to the account that user id belonged to at that time.

    A user id can be re-assigned (UID-005), so an access event belongs to the account of that key
    enabled most recently before the event, not to every account that ever carried the user id.
    """

    def __init__(self, views: Iterable[RecordView], now: _AsOf) -> None:
        self.by_id: dict[str, RecordView] = {}
        keyed: dict[tuple[str, str], list[tuple[dt.datetime, str, RecordView]]] = defaultdict(list)
        floor = dt.datetime.min.replace(tzinfo=dt.UTC)
        for v in views:
            enabled = _utc(_instant(v.data.get("enabled_at")))  # only compared (see `_utc`)
            if enabled is not None and enabled > now.at:
                continue  # not enabled yet
            self.by_id[v.id] = v
            keyed[(str(v.data.get("system_id")), str(v.data.get("user_id")))].append((enabled or floor, v.id, v))
        self.keyed = {k: sorted(x, key=lambda t: (t[0], t[1])) for k, x in keyed.items()}
        self.starts = {k: [t[0] for t in x] for k, x in self.keyed.items()}
        #: the usual case, one account ever held the log-in: (enabled, account), found in one lookup
        self.only = {k: (x[0][0], x[0][2]) for k, x in self.keyed.items() if len(x) == 1}

    def resolve(self, system_id: Any, user_id: Any, at: dt.datetime) -> RecordView | None:
        key = (str(system_id), str(user_id))
        only = self.only.get(key)
        if only is not None:
            return only[1] if only[0] <= at else None
        starts = self.starts.get(key)
        if not starts:
            return None
        i = bisect.bisect_right(starts, at) - 1
        return self.keyed[key][i][2] if i >= 0 else None



#: An access event's instant as written, the account it resolves to, and the instant in UTC.
_EventAccount = tuple[dt.datetime | None, RecordView | None, dt.datetime | None]


def _event_account(ev: RecordView, accounts: _Accounts, now: _AsOf) -> _EventAccount:
    """An access event's instant (as written, for what a derivation yields; in UTC, for comparing:
    see `_utc`) and the account it resolves to, computed once per event for all four derivations
    that read the access log (each builds an equal `_Accounts` from the same records as of the same
    instant). Keyed by the instant: a scenario re-evaluates the same record views as of several
    instants, and which accounts exist depends on it."""
    key = ("hipaa.event_account", now.at)
    memo = ev.scratch()
    got: _EventAccount | None = memo.get(key)
    if got is None:
        at = _instant(ev.data.get("at"))
        utc = _utc(at)
        acct = accounts.resolve(ev.data.get("system_id"), ev.data.get("user_id"), utc) if utc is not None else None
        got = memo[key] = (at, acct, utc)
    return got
