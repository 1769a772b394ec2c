"""Derivations for the hipaa rulesets (registered explicitly; see engine.rules.derive).

Matching is good at "this record, and that one related to it"; these derivations do the rest for
catalog section 1: "latest record" choices, coverage checks, counts per state or per hour, joins
across bundle families (an access event to its user, that user's person and the patient), and every
deadline whose start the law moves (a business associate acting as agent, a law-enforcement delay,
a void extension). Dates go through the calendar service (`engine.rules.calendar`); nothing here does
its own date arithmetic.

Conventions shared by every derivation in this module:

- Inputs are raw stored records, so the evaluation instant is applied here exactly as
  `engine.rules.facts` applies it to records: a record whose existence field lies after `as_of`
  does not exist yet, and any other "happened" instant after `as_of` has not happened
  (`_AsOf.happened`). Schedule fields (`due_at`, `le_delay_until`, `effective_at`, ...) keep
  future values.
- Most outputs are *duties*: one fact per thing the practice owes, with `due_at` (a local date, or
  a UTC instant for hour windows) computed with the calendar service in the zone of the establishment
  the duty belongs to, and `met_at` when it was done. A rule matches the duty next to the record it is
  about and declares `obligation: {anchor: duty.due_at, within: {days: 0}, met_at: duty.met_at}`, so
  `due_soon` / `overdue` / `late` are judged by the engine exactly as for any obligation, while the
  start of the clock and the length of the window (which vary per duty) are worked out here. Each
  duty carries `basis`, the working in words, for the finding's message.
- Each fact lists its source records as evidence and joins the bundle of the record it is about
  (`engine.rules.bundles`), so a rule can name that record as the finding's subject.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.clock import ensure_utc
from engine.rules import bundles
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.facts import EXISTENCE_FIELD

Inputs = Mapping[str, Iterable[RecordView]]
Source = tuple[str, str, int]

#: 45 CFR 164.404(b), 164.406(b), 164.410(b): notices no later than 60 calendar days after discovery.
BREACH_NOTICE_DAYS = 60
#: 164.408(c): the small-breach log is reported no later than 60 days after the end of the calendar year.
HHS_LOG_DAYS_AFTER_YEAR_END = 60
#: 164.408(b) and 164.406(a): "500 or more" for HHS, "more than 500" residents of a State for media.
HHS_IMMEDIATE_THRESHOLD = 500
MEDIA_STATE_THRESHOLD = 500
#: 164.412(b): an oral law-enforcement statement delays notice at most 30 days from the statement.
ORAL_LE_DELAY_MAX_DAYS = 30
#: 164.524(b)(2), 164.526(b)(2), 164.528(c)(1): days to act on a request, and the single extension.
REQUEST_DAYS = {"access": 30, "amendment": 60, "accounting": 60}
REQUEST_EXTENSION_DAYS = 30

HIPAA_COURSES = ("HIPAA_PRIVACY", "HIPAA_SECURITY")
#: Entries of the snooping alerts' per-visit flag memo kept at most (see access_alerts).
STATIC_FLAGS_KEPT = 200_000
RISK_RATINGS_HIGH = ("high", "critical")


# ---- shared helpers ------------------------------------------------------------------------------


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


def _norm_name(text: Any) -> str:
    return re.sub(r"[^A-Z]", "", str(text or "").upper())


def _norm_address(text: Any) -> str:
    return " ".join(re.sub(r"[^A-Z0-9 ]", " ", str(text or "").upper()).split())


def clause_codes(values: Iterable[Any] | None) -> list[str]:
    """BAA clause codes in their one spelling: trimmed and upper-case, in order, blanks and repeats dropped.

    `baa.clauses` is a list of free strings, and two rules read it against a list parameter of
    required codes (HIPAA-BA-BAA-009 here, AI-BAA-002 in `ai_use`, which imports this): a code
    matches whatever its case, so both the record's codes and each parameter's go through here, and
    a finding names the missing codes as this returns them.
    """
    out = (str(v).strip().upper() for v in values or () if v is not None)
    return list(dict.fromkeys(c for c in out if c))


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

# ---- HIPAA-SEC-RA-001: risk analysis coverage, age, change triggers, MIPS year, risk items -------


@derivation(
    name="hipaa.risk_analysis_duties",
    inputs=("organization", "system", "risk_analysis", "risk_item"),
    output="hipaa_ra_duty",
    fields={"kind": "string", "due_at": "date", "basis": "string", "ra_id": "string", "system_id": "string",
            "risk_item_id": "string", "year": "number", "systems_missing": "string"},
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
    now = _AsOf(ctx)
    tz = _tz(ctx, "hipaa_ra_duty", {})
    today = cal.local_date(ctx.as_of, tz)
    systems = [s for s in inputs["system"] if s.data.get("stores_ephi") is True and now.exists(s)]
    added = {s.id: _instant(s.data.get("added_at")) for s in systems}
    analyses = []
    for ra in inputs["risk_analysis"]:
        done = now.happened(ra.data.get("completed_at"))
        if done is not None:
            analyses.append((done, ra))
    analyses.sort(key=lambda x: (x[0], x[1].id))

    def needed(at: dt.datetime) -> set[str]:
        return {s.id for s in systems if added[s.id] is None or added[s.id] <= at}  # type: ignore[operator]

    def scope(ra: RecordView) -> set[str]:
        return {str(x) for x in ra.data.get("scope_system_ids") or []}

    covering = [(at, ra) for at, ra in analyses if needed(at) <= scope(ra)]
    out_bundle = "org:*"
    all_systems = [_src(s) for s in systems]
    if not covering:
        starts = [a for a in added.values() if a is not None]
        due = cal.local_date(min(starts), tz) if starts else _baseline(ctx)
        latest = analyses[-1][1] if analyses else None
        missing = sorted(needed(analyses[-1][0]) - scope(latest)) if latest is not None else sorted(added)
        if latest is None:
            basis = "no risk analysis has been completed"
        else:
            basis = (f"the latest risk analysis {latest.id} ({cal.local_date(analyses[-1][0], tz)}) omits "
                     f"{', '.join(missing)}; no analysis covers every ePHI system")
        yield _fact("hipaa_ra_duty", "no_analysis", {
            "kind": "no_analysis", "due_at": due, "basis": basis, "ra_id": latest.id if latest else None,
            "systems_missing": ", ".join(missing),
        }, all_systems + ([_src(latest)] if latest else []), out_bundle)
    else:
        base_at, base = covering[-1]
        base_day = cal.local_date(base_at, tz)
        max_age = int(ctx.param("ra_max_age_days", 365))
        yield _fact("hipaa_ra_duty", f"stale:{base.id}", {
            "kind": "stale", "ra_id": base.id, "due_at": cal.add_days(base_day, max_age),
            "basis": f"risk analysis {base.id} completed {base_day} + {max_age} days (ra_max_age_days)",
        }, [_src(base)], out_bundle)
        trigger = int(ctx.param("ra_change_trigger_days", 90))
        for s in sorted(systems, key=lambda v: v.id):
            when = added[s.id]
            if when is None or when <= base_at:
                continue
            if any(at >= when and s.id in scope(ra) for at, ra in analyses):
                continue
            day = cal.local_date(when, tz)
            yield _fact("hipaa_ra_duty", f"new_system:{s.id}", {
                "kind": "new_system", "system_id": s.id, "ra_id": base.id,
                "due_at": cal.add_days(day, trigger),
                "basis": (f"ePHI system {s.id} added {day}, after risk analysis {base.id} ({base_day}), "
                          f"+ {trigger} days (ra_change_trigger_days)"),
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
    remediation = int(ctx.param("risk_high_remediation_days", 90))
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
            due_day = cal.add_days(start, remediation)
            basis = (f"{state}; no due date, so analysis {parent} ({start}) + {remediation} days "
                     f"(risk_high_remediation_days)")
        else:
            continue
        yield _fact("hipaa_ra_duty", f"risk_item:{item.id}", {
            "kind": "risk_item", "risk_item_id": item.id, "ra_id": parent, "due_at": due_day, "basis": basis,
        }, [_src(item)], out_bundle)


# ---- HIPAA-ADM-TRN-002: new-member training, training before PHI access, refresher ---------------


def _first_access_by_episode(
    events: Iterable[RecordView], accounts: _Accounts, episodes: Mapping[str, list[_Episode]], now: _AsOf,
) -> dict[str, tuple[dt.datetime, RecordView]]:
    """Per episode id, the first access event made with one of the person's accounts during it
    (its instant as written, and the event)."""
    first: dict[str, tuple[dt.datetime, RecordView, dt.datetime]] = {}  # in UTC, the event, as written
    for ev in events:
        at, acct, utc = _event_account(ev, accounts, now)
        if at is None or utc is None or utc > now.at:
            continue
        person = acct.data.get("person_id") if acct is not None else None
        if not person:
            continue
        for ep in episodes.get(str(person), ()):
            if ep.contains(utc):
                cur = first.get(ep.id)
                if cur is None or (utc, ev.id) < (cur[0], cur[1].id):
                    first[ep.id] = (utc, ev, at)
                break
    return {episode: (at, ev) for episode, (_, ev, at) in first.items()}


def _refresher_duties(
    ep: _Episode, start: dt.datetime, course: str, done: list[tuple[dt.datetime, str, RecordView]], tz: str,
    months: int, base: Mapping[str, Any], bundle: str,
) -> Iterator[DerivedFact]:
    """The refresher cycles of one HIPAA course in one episode (HIPAA-ADM-TRN-002).

    Each completion opens a cycle due `hipaa_refresher_months` after its local date (C5) and the next
    completion closes it. Yielded: the open cycle (after the latest completion; the engine reports it
    due soon or overdue) and every cycle of the episode closed after its due day, with `met_at` the
    late completion (the engine reports it as late). A cycle is keyed by the completion that opened
    it, so the finding of an overdue course stays the same finding when the course is repeated late,
    and each course and cycle is its own finding.
    """
    seq = sorted(done, key=lambda x: (x[0], x[2].id))
    for i, (at, _, opened) in enumerate(seq):
        day = cal.local_date(at, tz)
        due = cal.add_months(day, months)
        closed = seq[i + 1] if i + 1 < len(seq) else None
        if closed is not None and (cal.local_date(closed[0], tz) <= due or closed[0] < start):
            continue  # repeated on time, or before this episode (rehire_counts_as_new_member = false)
        basis = f"{course} training {day} ({opened.id}) + {months} months (hipaa_refresher_months)"
        if closed is not None:
            basis += f"; repeated {cal.local_date(closed[0], tz)} ({closed[2].id})"
        key = f"refresher:{course}:{opened.id}"
        yield _fact("hipaa_training_duty", f"{ep.id}:{key}", dict(base, **{
            "kind": "refresher", "key": key, "course": course, "courses_missing": course, "due_at": due,
            "met_at": closed[0] if closed is not None else None, "basis": basis,
        }), [_src(ep.view), _src(opened)] + ([_src(closed[2])] if closed is not None else []), bundle)


@derivation(
    name="hipaa.training_duties",
    inputs=("employment_episode", "training_record", "account", "access_event"),
    output="hipaa_training_duty",
    fields={"kind": "string", "key": "string", "episode_id": "string", "person_id": "string",
            "establishment_id": "string", "due_at": "date", "met_at": "instant", "basis": "string",
            "course": "string", "courses_missing": "string", "first_access_at": "instant",
            "first_access_event_id": "string"},
    family="person",
    example="kind=new_hire episode_id=EP-1 due_at=2026-02-04 courses_missing='HIPAA_PRIVACY, HIPAA_SECURITY'",
    heavy=True,  # reads every access event: beside the snooping alerts in the derive process, over
                 # the same read of the log (bench/README.md)
)
def training_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """HIPAA privacy and security training owed by each active episode with PHI access (HIPAA-ADM-TRN-002).

    Both courses (HIPAA_PRIVACY, HIPAA_SECURITY) are required; with rehire_counts_as_new_member only
    completions on or after the episode's start count. Kinds (`key` is the finding's occurrence):
    `new_hire` (not both done: due start + hipaa_new_hire_days), `before_access`
    (hipaa_training_before_phi_access and the episode's first access event came before both courses
    were done: due the day before that access, met when the training was done), `refresher` (per
    course once it is done, per cycle: due its completion + hipaa_refresher_months, C5, met by the
    next completion; key `refresher:<course>:<completion id>`, see `_refresher_duties`).
    """
    now = _AsOf(ctx)
    episodes = _episodes(inputs["employment_episode"], now)
    trainings: dict[str, list[tuple[dt.datetime, str, RecordView]]] = defaultdict(list)
    for t in inputs["training_record"]:
        done = now.happened(t.data.get("completed_at"))
        if done is not None and t.data.get("course") in HIPAA_COURSES and t.data.get("person_id"):
            trainings[str(t.data["person_id"])].append((done, str(t.data["course"]), t))
    accounts = _Accounts(inputs["account"], now)
    before_access = bool(ctx.param("hipaa_training_before_phi_access", True))
    first_access = _first_access_by_episode(inputs["access_event"], accounts, episodes, now) if before_access else {}
    new_hire_days = int(ctx.param("hipaa_new_hire_days", 30))
    refresher_months = int(ctx.param("hipaa_refresher_months", 12))
    rehire_new = bool(ctx.param("rehire_counts_as_new_member", True))
    for person, eps in sorted(episodes.items()):
        for ep in eps:
            if ep.end is not None or ep.view.data.get("phi_access_required") is not True or ep.start is None:
                continue
            base = {"episode_id": ep.id, "person_id": person, "establishment_id": ep.establishment_id}
            tz = _tz(ctx, "hipaa_training_duty", base)
            start_day = cal.local_date(ep.start, tz)
            counted = [x for x in trainings.get(person, []) if not rehire_new or x[0] >= ep.start]
            firsts = {c: min((x for x in counted if x[1] == c), default=None, key=lambda x: (x[0], x[2].id))
                      for c in HIPAA_COURSES}
            missing = [c for c in HIPAA_COURSES if firsts[c] is None]
            bundle = f"person:{person}"
            if missing:
                yield _fact("hipaa_training_duty", f"{ep.id}:new_hire", dict(base, **{
                    "kind": "new_hire", "key": "new_hire", "due_at": cal.add_days(start_day, new_hire_days),
                    "courses_missing": ", ".join(missing),
                    "basis": f"episode started {start_day} + {new_hire_days} days (hipaa_new_hire_days)",
                }), [_src(ep.view)] + [_src(x[2]) for x in counted], bundle)
                trained_at = None
            else:
                trained_at = max(firsts[c][0] for c in HIPAA_COURSES)  # type: ignore[index]
            access = first_access.get(ep.id)
            if access is not None and (trained_at is None or access[0] < trained_at):
                access_day = cal.local_date(access[0], tz)
                yield _fact("hipaa_training_duty", f"{ep.id}:before_access", dict(base, **{
                    "kind": "before_access", "key": "before_access", "due_at": cal.add_days(access_day, -1),
                    "met_at": trained_at, "first_access_at": access[0], "first_access_event_id": access[1].id,
                    "courses_missing": ", ".join(missing),
                    "basis": (f"first PHI access {cal.iso_instant(access[0])} ({access[1].id}) came before "
                              f"HIPAA training was complete (hipaa_training_before_phi_access)"),
                }), [_src(ep.view), _src(access[1])] + [_src(x[2]) for x in counted], bundle)
            for c in HIPAA_COURSES:
                done_c = [x for x in counted if x[1] == c]
                if done_c:
                    yield from _refresher_duties(ep, ep.start, c, done_c, tz, refresher_months, base, bundle)


# ---- HIPAA-SEC-TERM-004: accounts disabled after employment ends, and not used after it ----------


@derivation(
    name="hipaa.termination_duties",
    inputs=("employment_episode", "account", "access_event"),
    output="hipaa_term_duty",
    fields={"kind": "string", "episode_id": "string", "account_id": "string", "person_id": "string",
            "establishment_id": "string", "end_at": "instant", "due_at": "instant", "met_at": "instant",
            "first_use_at": "instant", "first_use_event_id": "string", "use_count": "number", "basis": "string"},
    family="person",
    example="kind=revoke account_id=A1 end_at=2026-03-07T23:00:00Z due_at=2026-03-08T23:00:00Z",
    heavy=True,  # reads every access event (3 us each): the sweep's own process was the busier one, so
                 # this goes beside training duties, same family, over the same read of the log
)
def termination_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Per ended episode and each account enabled during it (HIPAA-SEC-TERM-004).

    `revoke`: disable within access_revoke_hours of the end (elapsed UTC hours, C3); met when the
    account was disabled. `used_after_end`: the account made access events after the end (and before
    any later episode of the same person); due at the end itself, never met. An episode followed
    within the window by another episode of the same person (a transfer), or overlapped by one, is
    not a departure and owes nothing. Events are attributed
    to the account holding that user id at the time, so a re-assigned user id does not count against
    the person who left.
    """
    now = _AsOf(ctx)
    episodes = _episodes(inputs["employment_episode"], now)
    accounts = _Accounts(inputs["account"], now)
    by_person: dict[str, list[RecordView]] = defaultdict(list)
    for acct in accounts.by_id.values():
        if acct.data.get("person_id"):
            by_person[str(acct.data["person_id"])].append(acct)
    hours = float(ctx.param("access_revoke_hours", 24))
    pairs: dict[str, list[tuple[_Episode, dt.datetime | None]]] = defaultdict(list)  # account id -> episodes
    for person, eps in episodes.items():
        for i, ep in enumerate(eps):
            if ep.end is None:
                continue
            grace_end = cal.add_hours(ep.end, hours)
            if any(other is not ep and (other.start is None or other.start <= grace_end)
                   and (other.end is None or other.end > ep.end) for other in eps):
                continue  # a transfer or concurrent role: the person is still in the workforce
            nxt = next((e.start_utc for e in eps[i + 1:] if e.start_utc is not None and e.start_utc >= ep.end), None)
            for acct in by_person.get(person, ()):
                enabled = _instant(acct.data.get("enabled_at"))
                disabled_raw = _instant(acct.data.get("disabled_at"))
                if enabled is not None and enabled >= ep.end:
                    continue
                if disabled_raw is not None and ep.start is not None and disabled_raw <= ep.start:
                    continue
                pairs[acct.id].append((ep, nxt))
    uses: dict[tuple[str, str], list[tuple[dt.datetime, RecordView]]] = defaultdict(list)
    if pairs:
        # an event can only belong to one of these accounts if it carries one of their log-ins
        keys = {(str(accounts.by_id[a].data.get("system_id")), str(accounts.by_id[a].data.get("user_id")))
                for a in pairs}
        for ev in inputs["access_event"]:
            if (str(ev.data.get("system_id")), str(ev.data.get("user_id"))) not in keys:
                continue
            at, owner, utc = _event_account(ev, accounts, now)
            if at is None or utc is None or utc > now.at:
                continue
            if owner is None or owner.id not in pairs:
                continue
            for ep, nxt in pairs[owner.id]:
                if utc > ep.end_utc and (nxt is None or utc < nxt):  # type: ignore[operator]
                    uses[(owner.id, ep.id)].append((at, ev))
    for acct_id in sorted(pairs):
        acct = accounts.by_id[acct_id]
        for ep, _ in pairs[acct_id]:
            assert ep.end is not None
            base = {"episode_id": ep.id, "account_id": acct_id, "person_id": ep.person_id,
                    "establishment_id": ep.establishment_id, "end_at": ep.end}
            bundle = bundles.bundle_key("account", acct_id, acct.data)
            disabled = now.happened(acct.data.get("disabled_at"))
            yield _fact("hipaa_term_duty", f"{ep.id}:{acct_id}:revoke", dict(base, **{
                "kind": "revoke", "due_at": cal.add_hours(ep.end, hours), "met_at": disabled,
                "basis": f"employment ended {cal.iso_instant(ep.end)} + {hours:g} elapsed hours (access_revoke_hours)",
            }), [_src(ep.view), _src(acct)], bundle)
            used = sorted(uses.get((acct_id, ep.id), []), key=lambda x: (x[0], x[1].id))
            if used:
                yield _fact("hipaa_term_duty", f"{ep.id}:{acct_id}:used_after_end", dict(base, **{
                    "kind": "used_after_end", "due_at": ep.end, "first_use_at": used[0][0],
                    "first_use_event_id": used[0][1].id, "use_count": len(used),
                    "basis": (f"{len(used)} access event(s) after employment ended, first {used[0][1].id} at "
                              f"{cal.iso_instant(used[0][0])}"),
                }), [_src(ep.view), _src(acct)] + [_src(ev) for _, ev in used[:50]], bundle)


# ---- HIPAA-SEC-UID-005: shared, re-assigned and misused log-ins --------------------------------


@derivation(
    name="hipaa.account_issues",
    inputs=("account", "system", "access_event"),
    output="hipaa_account_issue",
    fields={"kind": "string", "account_id": "string", "other_person_id": "string", "other_account_id": "string",
            "first_at": "instant", "event_count": "number", "detail": "string"},
    family="person",
    example="kind=reassigned account_id=ACC-EHR-jgarcia-2 other_person_id=P-0101",
)
def account_issues(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Unique-user-identification problems of enabled accounts in ePHI systems (HIPAA-SEC-UID-005).

    Kinds: `shared` (an interactive account with no person, or flagged generic), `reassigned` (the
    user id earlier belonged to a different person in the same system), `service_interactive` (a
    non-interactive service account made chart access events), `no_mfa` (mfa_remote is false).
    """
    now = _AsOf(ctx)
    ephi = {s.id for s in inputs["system"] if s.data.get("stores_ephi") is True and now.exists(s)}
    accounts = _Accounts(inputs["account"], now)
    service = {a.id for a in accounts.by_id.values() if a.data.get("interactive") is False}
    used: dict[str, list[tuple[dt.datetime, RecordView]]] = defaultdict(list)
    if service:
        keys = {(str(accounts.by_id[a].data.get("system_id")), str(accounts.by_id[a].data.get("user_id")))
                for a in service}
        for ev in inputs["access_event"]:
            if (str(ev.data.get("system_id")), str(ev.data.get("user_id"))) not in keys:
                continue  # not a log-in any service account ever had
            at, acct, utc = _event_account(ev, accounts, now)
            if at is None or utc is None or utc > now.at:
                continue
            if acct is not None and acct.id in service:
                used[acct.id].append((at, ev))

    def emit(acct: RecordView, kind: str, extra: dict[str, Any], sources: list[Source]) -> DerivedFact:
        return _fact("hipaa_account_issue", f"{acct.id}:{kind}", dict({"kind": kind, "account_id": acct.id}, **extra),
                     [_src(acct)] + sources, bundles.bundle_key("account", acct.id, acct.data))

    for key, rows in sorted(accounts.keyed.items()):
        for i, (_, _, acct) in enumerate(rows):
            d = acct.data
            if d.get("system_id") not in ephi or now.happened(d.get("disabled_at")) is not None:
                continue
            person = d.get("person_id")
            if d.get("interactive") is not False and (not person or d.get("generic") is True):
                why = "flagged generic" if d.get("generic") is True else "no person assigned"
                yield emit(acct, "shared", {"detail": why}, [])
            if person:
                earlier = [r[2] for r in rows[:i] if r[2].data.get("person_id") and r[2].data["person_id"] != person]
                if earlier:
                    prev = earlier[-1]
                    yield emit(acct, "reassigned", {
                        "other_person_id": prev.data["person_id"], "other_account_id": prev.id,
                        "detail": f"user id {key[1]} on {key[0]} earlier belonged to {prev.data['person_id']}"},
                        [_src(prev)])
            if acct.id in used:
                evs = sorted(used[acct.id], key=lambda x: (x[0], x[1].id))
                yield emit(acct, "service_interactive", {
                    "first_at": evs[0][0], "event_count": len(evs),
                    "detail": f"{len(evs)} chart access event(s), first {evs[0][1].id}"},
                    [_src(ev) for _, ev in evs[:50]])
            if d.get("mfa_remote") is False:
                yield emit(acct, "no_mfa", {"detail": "remote access without multi-factor authentication"}, [])


# ---- HIPAA-SEC-AUD-006: audit logging, review cadence, retention -------------------------------


@derivation(
    name="hipaa.audit_duties",
    inputs=("system",),
    output="hipaa_audit_duty",
    fields={"kind": "string", "system_id": "string", "due_at": "date", "basis": "string"},
    family="org",
    example="kind=review system_id=SYS-PM due_at=2026-11-15",
)
def audit_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Audit-control duties of each ePHI system (HIPAA-SEC-AUD-006).

    `review`: last_audit_review_at (or, never reviewed, added_at; or hipaa_baseline_date) +
    audit_review_interval_days. `logging`: audit_logging_enabled is false; due since the system was
    added. `retention`: log_retention_days below audit_log_retention_days; due since added.
    """
    now = _AsOf(ctx)
    interval = int(ctx.param("audit_review_interval_days", 30))
    retention = int(ctx.param("audit_log_retention_days", 2190))
    tz = _tz(ctx, "hipaa_audit_duty", {})
    for s in sorted(inputs["system"], key=lambda v: v.id):
        d = s.data
        if d.get("stores_ephi") is not True or not now.exists(s):
            continue
        added = now.happened(d.get("added_at"))
        since = cal.local_date(added, tz) if added is not None else _baseline(ctx)
        since_text = f"added {since}" if added is not None else f"in service (no added_at; hipaa_baseline_date {since})"
        reviewed = now.happened(d.get("last_audit_review_at"))
        if reviewed is not None:
            day = cal.local_date(reviewed, tz)
            basis = f"last audit review {day} + {interval} days (audit_review_interval_days)"
        else:
            day = since
            basis = f"never reviewed; {since_text} + {interval} days (audit_review_interval_days)"
        yield _fact("hipaa_audit_duty", f"{s.id}:review", {
            "kind": "review", "system_id": s.id, "due_at": cal.add_days(day, interval), "basis": basis,
        }, [_src(s)], "org:*")
        if d.get("audit_logging_enabled") is False:
            yield _fact("hipaa_audit_duty", f"{s.id}:logging", {
                "kind": "logging", "system_id": s.id, "due_at": since,
                "basis": f"audit logging is disabled; required since the system was {since_text}",
            }, [_src(s)], "org:*")
        kept = d.get("log_retention_days")
        if isinstance(kept, int | float) and kept < retention:
            yield _fact("hipaa_audit_duty", f"{s.id}:retention", {
                "kind": "retention", "system_id": s.id, "due_at": since,
                "basis": f"logs kept {kept:g} days, below audit_log_retention_days {retention}",
            }, [_src(s)], "org:*")


# ---- HIPAA-SEC-ENC-008: device encryption and sanitization --------------------------------------


@derivation(
    name="hipaa.device_duties",
    inputs=("device",),
    output="hipaa_device_duty",
    fields={"kind": "string", "device_id": "string", "due_at": "date", "met_at": "instant", "basis": "string"},
    family="device",
    example="kind=encryption_check device_id=DEV-3 due_at=2026-11-14",
)
def device_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Encryption and disposal duties of each device that stores ePHI (HIPAA-SEC-ENC-008).

    In service, of a kind in encryption_required_types: `encryption_check` (status verified: last
    check + encryption_check_days) or `not_encrypted` (status none, unverified or unknown: due since
    the last check, or hipaa_baseline_date). Status alternative_documented passes (addressable safeguard with
    a documented equivalent). Disposed: `sanitization` due on the disposal date, met when sanitized.
    """
    now = _AsOf(ctx)
    check_days = int(ctx.param("encryption_check_days", 30))
    required = {str(k).lower() for k in ctx.param("encryption_required_types", [])}
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
                "kind": "sanitization", "device_id": dev.id, "due_at": day,
                "met_at": now.happened(d.get("sanitized_at")),
                "basis": f"disposed {day}; media must be sanitized or destroyed by then",
            }, [_src(dev)], bundle)
            continue
        kind = str(d.get("kind") or "").lower()
        if required and kind and kind not in required:
            continue
        status = d.get("encryption_status")
        checked = now.happened(d.get("encryption_checked_at"))
        if status == "alternative_documented":
            continue
        if status == "verified" and checked is not None:
            day = cal.local_date(checked, tz)
            yield _fact("hipaa_device_duty", f"{dev.id}:encryption_check", {
                "kind": "encryption_check", "device_id": dev.id, "due_at": cal.add_days(day, check_days),
                "basis": f"encryption last verified {day} + {check_days} days (encryption_check_days)",
            }, [_src(dev)], bundle)
            continue
        since = cal.local_date(checked, tz) if checked is not None else _baseline(ctx)
        found = (f"found on the check of {since}" if checked is not None
                 else f"never verified (hipaa_baseline_date {since})")
        yield _fact("hipaa_device_duty", f"{dev.id}:not_encrypted", {
            "kind": "not_encrypted", "device_id": dev.id, "due_at": since,
            "basis": f"encryption status {status or 'unknown'}, {found}",
        }, [_src(dev)], bundle)


# ---- HIPAA-BA-BAA-009: business associate agreements -------------------------------------------


def _baa_in_place(baa: RecordView, now: _AsOf) -> dt.datetime | None:
    """When an executed BAA took effect (signed, and effective if a later effective date is given)."""
    signed = now.happened(baa.data.get("signed_at"))
    if signed is None:
        return None
    effective = _instant(baa.data.get("effective_at"))
    start = max(signed, effective) if effective is not None else signed
    return start if start <= now.at else None


@derivation(
    name="hipaa.vendor_duties",
    inputs=("vendor", "baa", "phi_flow"),
    output="hipaa_vendor_duty",
    fields={"kind": "string", "vendor_id": "string", "baa_id": "string", "due_at": "date", "met_at": "instant",
            "flowing": "bool", "first_flow_at": "instant", "clauses_missing": "string", "basis": "string"},
    family="vendor",
    example="kind=before_flow vendor_id=V-CLOUDFAX due_at=2026-05-14 met_at=2026-07-03T04:00:00Z",
)
def vendor_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """BAA duties of each vendor that handles PHI and is neither a treatment provider nor a conduit.

    `before_flow`: a BAA must be in place (signed and effective) by the first PHI flow, including a
    flow scheduled for a later date (go-live); met when one took effect. `clauses`: an executed, not
    terminated BAA lacks a clause of baa_required_clauses, compared case-insensitively (`clause_codes`;
    due since signature). `exit`: a terminated BAA needs a return-or-destroy attestation within
    baa_exit_days, unless another BAA of the vendor is in force at termination.
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
    exit_days = int(ctx.param("baa_exit_days", 30))
    exempt = {str(x) for x in ctx.param("baa_exempt_relationships", ["treatment_provider", "conduit"])}
    tz = _tz(ctx, "hipaa_vendor_duty", {})
    for v in sorted(inputs["vendor"], key=lambda x: x.id):
        if v.data.get("handles_phi") is not True or v.data.get("relationship_type") in exempt:
            continue
        bundle = bundles.bundle_key("vendor", v.id, v.data)
        mine = sorted(baas.get(v.id, []), key=lambda b: b.id)
        executed = [(start, b) for b in mine if (start := _baa_in_place(b, now)) is not None]
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
                        "clauses_missing": ", ".join(missing),
                        "basis": f"BAA {b.id} in effect since {signed_day} lacks {', '.join(missing)}",
                    }, [_src(v), _src(b)], bundle)
                continue
            successor = [x for s, x in executed if x.id != b.id and s <= cal.add_hours(terminated, 24 * exit_days)
                         and (now.happened(x.data.get("terminated_at")) is None)]
            if successor:
                continue
            day = cal.local_date(terminated, tz)
            yield _fact("hipaa_vendor_duty", f"{v.id}:exit:{b.id}", {
                "flowing": flowing, "kind": "exit", "vendor_id": v.id, "baa_id": b.id,
                "due_at": cal.add_days(day, exit_days),
                "met_at": now.happened(b.data.get("return_or_destroy_attested_at")),
                "basis": f"BAA {b.id} terminated {day} + {exit_days} days (baa_exit_days) for return or destruction",
            }, [_src(v), _src(b)], bundle)


# ---- HIPAA-ADM-SAN-003: sanctions decided, and escalated on repeat ------------------------------


@derivation(
    name="hipaa.sanction_duties",
    inputs=("investigation", "sanction_record"),
    output="hipaa_sanction_duty",
    fields={"kind": "string", "investigation_id": "string", "person_id": "string", "due_at": "date",
            "met_at": "instant", "sanction_id": "string", "prior_investigation_id": "string", "basis": "string"},
    family="person",
    example="kind=decision investigation_id=INV-0001 due_at=2026-11-15",
)
def sanction_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Sanction duties of each investigation that confirmed a workforce member's violation.

    `decision`: a sanction record with a level, decided within sanction_decision_days of the
    closure. `no_escalation` (advisory): a second confirmed violation by the same person with both
    closures inside the 12 months before the run whose sanction is not above the earlier one in
    sanction_level_order; due on the later sanction's date.
    """
    now = _AsOf(ctx)
    confirmed = {str(x).lower() for x in ctx.param("sanction_confirmed_outcomes", ["violation_confirmed"])}
    days = int(ctx.param("sanction_decision_days", 30))
    order = [str(x).lower() for x in ctx.param("sanction_level_order", [])]
    sanctions: dict[str, list[tuple[dt.datetime, RecordView]]] = defaultdict(list)
    for s in inputs["sanction_record"]:
        decided = now.happened(s.data.get("decided_at"))
        if decided is not None and s.data.get("investigation_id") and s.data.get("level"):
            sanctions[str(s.data["investigation_id"])].append((decided, s))
    closed_by_person: dict[str, list[tuple[dt.datetime, RecordView]]] = defaultdict(list)
    for inv in sorted(inputs["investigation"], key=lambda v: v.id):
        d = inv.data
        closed = now.happened(d.get("closed_at"))
        person = d.get("subject_person_id")
        if not now.exists(inv) or closed is None or str(d.get("outcome") or "").lower() not in confirmed or not person:
            continue
        closed_by_person[str(person)].append((closed, inv))
        data = {"investigation_id": inv.id, "person_id": person}
        tz = _tz(ctx, "hipaa_sanction_duty", data)
        day = cal.local_date(closed, tz)
        done = sorted(sanctions.get(inv.id, []), key=lambda x: (x[0], x[1].id))
        yield _fact("hipaa_sanction_duty", f"{inv.id}:decision", dict(data, **{
            "kind": "decision", "due_at": cal.add_days(day, days), "met_at": done[0][0] if done else None,
            "sanction_id": done[0][1].id if done else None,
            "basis": f"investigation closed {day} + {days} days (sanction_decision_days)",
        }), [_src(inv)] + [_src(s) for _, s in done], f"person:{person}")
    for person, closures in sorted(closed_by_person.items()):
        closures.sort(key=lambda x: (x[0], x[1].id))
        tz = _tz(ctx, "hipaa_sanction_duty", {"person_id": person})
        window_start = cal.add_months(cal.local_date(ctx.as_of, tz), -12)
        recent = [(at, inv) for at, inv in closures if cal.local_date(at, tz) >= window_start]
        for (_, prev), (_, cur) in zip(recent, recent[1:], strict=False):
            prev_s, cur_s = sanctions.get(prev.id), sanctions.get(cur.id)
            if not prev_s or not cur_s:
                continue
            p_at, p_rec = max(prev_s, key=lambda x: (x[0], x[1].id))
            c_at, c_rec = max(cur_s, key=lambda x: (x[0], x[1].id))
            p_level, c_level = str(p_rec.data["level"]).lower(), str(c_rec.data["level"]).lower()
            if p_level not in order or c_level not in order or order.index(c_level) > order.index(p_level):
                continue
            yield _fact("hipaa_sanction_duty", f"{cur.id}:no_escalation", {
                "kind": "no_escalation", "investigation_id": cur.id, "person_id": person,
                "due_at": cal.local_date(c_at, tz), "sanction_id": c_rec.id, "prior_investigation_id": prev.id,
                "basis": (f"second confirmed violation within 12 months ({prev.id}, {cur.id}); sanction "
                          f"{c_level} is not above the earlier {p_level}"),
            }, [_src(prev), _src(cur), _src(p_rec), _src(c_rec)], f"person:{person}")


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
    is added to the 60 days (the catalog's tolling reading, [U]).
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
    clock_start = cal.add_days(day, delay)
    return BreachClock(discovered, source, day, delay, note, clock_start,
                       cal.add_days(clock_start, BREACH_NOTICE_DAYS))


def _notifiable(d: Mapping[str, Any], determined: bool) -> bool:
    """Breach notice duties run for a determined breach, and (presumed breach, 164.402) while an
    incident with PHI is undetermined, unless the PHI was secured."""
    if determined and d.get("determination") == "breach":
        return True
    if determined and d.get("determination") == "not_breach":
        return False
    return d.get("phi_involved") is True and d.get("unsecured") is not False


@derivation(
    name="hipaa.breach_duties",
    inputs=("incident",),
    output="hipaa_breach_duty",
    fields={"rule": "string", "kind": "string", "incident_id": "string", "establishment_id": "string",
            "due_at": "date", "met_at": "instant", "state": "string", "count": "number", "route": "string",
            "discovery_on": "date", "discovery_source": "string", "delay_days": "number", "basis": "string"},
    family="incident",
    example="rule=HIPAA-BRN-IND-011 kind=individual_notice due_at=2025-03-11 discovery_on=2025-01-10",
)
def breach_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Breach determination and notification duties of each incident (HIPAA-BRN-DET-010 to 013).

    DET-010 `determination` (discovery + breach_determination_days; met by determination_at) and
    `unsupported_not_breach` (not_breach without a four-factor assessment, an exception code or
    secured PHI). IND-011 `individual_notice` (discovery + 60 days + law-enforcement delay),
    `ba_report_contract` / `ba_report_regulatory` (the business associate told the practice more than
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
    det_days = int(ctx.param("breach_determination_days", 30))
    contract_days = int(ctx.param("ba_breach_report_days_contract", 10))
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
            yield duty("HIPAA-BRN-DET-010", "determination", "determination",
                       due_at=cal.add_days(clock.discovery_on, det_days),
                       basis=f"{found} + {det_days} days (breach_determination_days)")
        elif d.get("determination") == "not_breach" and not (
                d.get("four_factor_documented") is True or d.get("exception_code") or d.get("unsecured") is False):
            when = cal.local_date(determined_at, tz) if determined_at is not None else clock.discovery_on
            yield duty("HIPAA-BRN-DET-010", "unsupported_not_breach", "unsupported_not_breach", due_at=when,
                       basis=(f"determined not a breach on {when} without a four-factor assessment, an "
                              f"exception code or evidence the PHI was secured"))
        ba_at = _instant(d.get("ba_discovered_at"))
        if d.get("discovered_by") == "business_associate" and ba_at is not None:
            told = now.happened(d.get("ba_notified_ce_at")) or _instant(d.get("discovered_at"))
            assert told is not None
            ba_day, told_day = cal.local_date(ba_at, tz), cal.local_date(told, tz)
            lag = (told_day - ba_day).days
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
    delay = f" + {clock.delay_days} days ({clock.delay_note})" if clock.delay_note else ""
    notice_basis = f"{found} + {BREACH_NOTICE_DAYS} days{delay}"
    yield duty("HIPAA-BRN-IND-011", "individual_notice", "individual_notice", due_at=clock.notice_due,
               met_at=now.happened(d.get("individual_notice_at")), basis=notice_basis)
    total = d.get("affected_total")
    hhs_met = now.happened(d.get("hhs_notice_at"))
    if total is None or total >= HHS_IMMEDIATE_THRESHOLD:
        who = "number affected unknown" if total is None else f"{total} affected (500 or more)"
        yield duty("HIPAA-BRN-HHS-012", "hhs_immediate", "hhs", due_at=clock.notice_due, met_at=hhs_met,
                   count=total, route="immediate",
                   basis=f"{who}: HHS notice with the individual notices, {notice_basis}")
    else:
        due = cal.year_end_plus(clock.discovery_on.year, HHS_LOG_DAYS_AFTER_YEAR_END)
        basis = (f"{total} affected (fewer than 500): annual log report, 31 Dec {clock.discovery_on.year} + "
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


# ---- HIPAA-PRV-ACC-014: right of access, amendment, accounting ---------------------------------


def _state_override(ctx: DeriveContext, state: str | None, received: dt.date,
                    calendar_name: str) -> tuple[dt.date, str] | None:
    """The earliest state-law due date for an access request (access_state_overrides: "ST:N:unit")."""
    best = None
    for entry in ctx.param("access_state_overrides", []):
        parts = str(entry).split(":")
        if len(parts) != 3 or parts[0].upper() != (state or "").upper():
            continue
        n, unit = int(parts[1]), parts[2]
        if unit == "working_days":
            due = cal.add_working_days(received, n, calendar_name)
        else:
            due = cal.add_days(received, n)
        if best is None or due < best[0]:
            best = (due, f"{parts[0].upper()} law: {n} {unit.replace('_', ' ')}")
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


# ---- HIPAA-PRV-SNOOP-007: inappropriate access patterns -----------------------------------------

PATIENT_FLAGS = ("SELF", "SAME_SURNAME", "SAME_ADDRESS", "COWORKER", "VIP")
ACTIVITY_FLAGS = ("NO_RELATIONSHIP", "AFTER_HOURS_EXPORT", "BULK")
PATIENT_FLAG_SET = frozenset(PATIENT_FLAGS)


@dataclass
class _Group:
    """Access events that raise one alert, with the union of their flags."""

    events: dict[str, tuple[dt.datetime, Source]] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    patients: set[str] = field(default_factory=set)
    extra: list[Source] = field(default_factory=list)

    def add(self, at: dt.datetime, src: Source, flags: set[str], patient: str) -> None:
        self.events.setdefault(src[1], (at, src))
        self.flags |= flags
        self.patients.add(patient)


class _UserAccesses:
    """Every access event of one user, as columns, for BULK (more than N distinct patients in one
    clock hour), worked out per user once the log is read.

    Why columns and not, as before, hour -> patient -> first access per user: that kept a dict entry
    and a tuple for nearly every event, about 245 bytes an event (2.4 GB over 10 million events),
    most of the derive process's memory at 10x the large practice. Here an event costs two machine
    integers and two references, one to a patient id string shared by every access to that patient
    and one to the event's own id (about 90 bytes with that id), and each user's hours are grouped
    only when their log is complete, one user at a time. The log need not be in time order.
    """

    __slots__ = ("epochs", "patients", "ids", "versions")

    def __init__(self) -> None:
        self.epochs = array("q")  # epoch seconds, exact (`calendar.epoch_seconds`)
        self.patients: list[str] = []
        self.ids: list[str] = []
        self.versions = array("q")

    def add(self, epoch: int, patient: str, event_id: str, version: int) -> None:
        self.epochs.append(epoch)
        self.patients.append(patient)
        self.ids.append(event_id)
        self.versions.append(version)

    def crowded_hours(self, most: int) -> Iterator[tuple[int, dict[str, tuple[int, str, int]]]]:
        """Each clock hour with more than `most` distinct patients, with each patient's first access
        in it (the earliest, then the smallest event id), patients in the order first seen."""
        epochs, patients, ids = self.epochs, self.patients, self.ids
        by_hour: dict[int, dict[str, int]] = {}  # hour -> patient -> index of its first access
        for i, epoch in enumerate(epochs):
            hour = epoch // 3600
            firsts = by_hour.get(hour)
            if firsts is None:
                firsts = by_hour[hour] = {}
            patient = patients[i]
            j = firsts.get(patient)
            if j is None or (epoch, ids[i]) < (epochs[j], ids[j]):
                firsts[patient] = i
        for hour, firsts in by_hour.items():
            if len(firsts) > most:
                yield hour, {p: (epochs[i], ids[i], self.versions[i]) for p, i in firsts.items()}


@derivation(
    name="hipaa.access_alerts",
    # in the order it reads them: care links before the access log (see shared_scan.start_derivations)
    inputs=("employment_episode", "account", "person", "patient", "care_link", "investigation", "access_event"),
    output="hipaa_access_alert",
    fields={"event_id": "string", "kind": "string", "flags": "string", "flag_count": "number", "level": "string",
            "person_id": "string", "user_id": "string", "system_id": "string", "patient_id": "string",
            "role": "string", "establishment_id": "string", "at": "instant", "last_at": "instant",
            "event_count": "number", "patient_count": "number", "triaged_at": "instant"},
    family="event:access_event",
    example="event_id=AE-1 kind=patient flags='SAME_SURNAME, NO_RELATIONSHIP' level=high",
    heavy=True,  # about 20 us an access event: on a large practice it runs beside the other three
)
def access_alerts(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Snooping alerts over EHR access events (HIPAA-PRV-SNOOP-007), keyed to their first event.

    Per event, with the user resolved to the account holding that user id at the time, its person and
    the episode then running: SELF (the user's own chart), SAME_SURNAME (not in surname_common_list),
    SAME_ADDRESS, COWORKER (a current workforce member's chart), VIP (vip, record_restricted or
    vip_patient_ids), NO_RELATIONSHIP (no care link of the user, or of a department named after the
    user's role or establishment, dated relationship_window_days_before .. _after around the access's
    local date), AFTER_HOURS_EXPORT (print/export outside snoop_business_hours_start .. _end or on a
    non-working day of the user's establishment calendar), BULK (more than bulk_patients_per_hour
    distinct patients in one clock hour). Flags exempt for the user's role (exempt_roles_by_flag,
    "role:FLAG") are dropped. Events of accounts with no person are skipped (HIPAA-SEC-UID-005).

    One `patient` alert per user, patient and local day with a patient-specific flag (SELF ... VIP;
    it carries the activity flags of those events too); one `activity` alert per user and local day
    for the remaining flagged events. Level high with two or more flags, else medium. `triaged_at`:
    when the first investigation of the user's person open at or after the alert was (or already was)
    open.

    The facts are few and are registered as reference facts, so a rule can join an alert to the
    access_event record it starts with (events and derived event facts are evaluated in separate
    chunks, and a finding's subject must be a record the rule matched).
    """
    now = _AsOf(ctx)
    episodes = _episodes(inputs["employment_episode"], now)
    accounts = _Accounts(inputs["account"], now)
    persons = {p.id: p for p in inputs["person"]}
    patients = {p.id: p for p in inputs["patient"]}
    workforce_of_patient: dict[str, str] = {}
    for p in persons.values():
        if p.data.get("patient_id"):
            workforce_of_patient[str(p.data["patient_id"])] = p.id
    for pt in patients.values():
        if pt.data.get("is_workforce_person_id"):
            workforce_of_patient.setdefault(pt.id, str(pt.data["is_workforce_person_id"]))
    # patient -> person or department -> the day of its care link, as a day ordinal, or the sorted
    # ordinals of its links when it has several: at 10x the large practice 5.75 million links make
    # 5.74 million (patient, who) pairs, which as (patient, who) tuples -> date lists took a list,
    # a tuple and dates each and half as long again to build; and a lookup hashes no tuple
    links: dict[str, dict[str, int | list[int]]] = {}
    ordinals: dict[Any, int | None] = {}  # a link's date text -> its day ordinal (one int object per day)
    for cl in inputs["care_link"]:
        text = cl.data.get("date")
        ordinal = ordinals.get(text, -1)
        if ordinal == -1:
            day = _date(text)
            ordinal = ordinals[text] = day.toordinal() if day is not None else None
        patient = cl.data.get("patient_id")
        if ordinal is None or not patient:
            continue
        patient = str(patient)
        by_who = links.get(patient)
        if by_who is None:
            by_who = links[patient] = {}
        for who in (cl.data.get("person_id"), cl.data.get("department_id")):
            if who:
                who = str(who)
                days = by_who.get(who)
                if days is None:
                    by_who[who] = ordinal
                elif isinstance(days, int):
                    by_who[who] = sorted((days, ordinal))
                else:
                    days.append(ordinal)
    for by_who in links.values():
        for days in by_who.values():
            if not isinstance(days, int):
                days.sort()
    investigations: dict[str, list[tuple[dt.datetime, dt.datetime | None, RecordView]]] = defaultdict(list)
    for inv in inputs["investigation"]:
        opened = now.happened(inv.data.get("opened_at"))
        if opened is not None and inv.data.get("subject_person_id"):
            investigations[str(inv.data["subject_person_id"])].append(
                (opened, now.happened(inv.data.get("closed_at")), inv))

    before = int(ctx.param("relationship_window_days_before", 30))
    after = int(ctx.param("relationship_window_days_after", 7))
    common = {_norm_name(x) for x in ctx.param("surname_common_list", [])}
    vip_ids = {str(x) for x in ctx.param("vip_patient_ids", [])}
    bulk_n = int(ctx.param("bulk_patients_per_hour", 25))
    open_hour = int(ctx.param("snoop_business_hours_start", 7))
    close_hour = int(ctx.param("snoop_business_hours_end", 19))
    exempt: dict[str, set[str]] = defaultdict(set)
    for entry in ctx.param("exempt_roles_by_flag", []):
        role_name, _, flag = str(entry).partition(":")
        exempt[role_name.strip()].add(flag.strip().upper())
    working: dict[tuple[str, dt.date], bool] = {}
    clocks: dict[str, cal.LocalClock] = {}  # zone name -> local dates and hours of its instants

    def local_day_and_hour(tz: str, epoch: int) -> tuple[dt.date, int]:
        clock = clocks.get(tz)
        if clock is None:
            clock = clocks[tz] = cal.LocalClock(tz)
        return clock.day_and_hour(epoch)

    windows: dict[dt.date, tuple[int, int]] = {}

    def related(patient: str, who: Iterable[str], day: dt.date) -> bool:
        by_who = links.get(patient)
        if not by_who:
            return False
        window = windows.get(day)
        if window is None:
            window = windows[day] = (cal.add_days(day, -before).toordinal(), cal.add_days(day, after).toordinal())
        lo, hi = window
        for w in who:
            days = by_who.get(w)
            if days is None:
                continue
            if isinstance(days, int):
                if lo <= days <= hi:
                    return True
                continue
            i = bisect.bisect_left(days, lo)
            if i < len(days) and days[i] <= hi:
                return True
        return False

    # asked per access event, so each answer is worked out once: an account's person and episodes,
    # and an episode's (or an episode-less person's) zone and role
    people: dict[str, tuple[str, list[_Episode]]] = {}  # account id -> (person id, episodes)
    places: dict[tuple[str | None, str], tuple[str, str]] = {}  # (episode id, person id) -> (zone, role)

    def user_context(key: tuple[str, str], at: dt.datetime,
                     acct: RecordView | None = None) -> tuple[RecordView, str, _Episode | None, str, str]:
        acct = acct or accounts.resolve(key[0], key[1], at)
        assert acct is not None
        person = people.get(acct.id)
        if person is None:
            person_id = str(acct.data["person_id"])
            person = people[acct.id] = (person_id, episodes.get(person_id, []))
        person_id, eps = person
        ep = _episode_at(eps, at)
        place_key = (ep.view.id if ep is not None else None, person_id)
        place = places.get(place_key)
        if place is None:
            est = ep.establishment_id if ep is not None else None
            place = places[place_key] = (
                _tz(ctx, "hipaa_access_alert", {"establishment_id": est, "person_id": person_id}),
                str(ep.view.data.get("role") or "") if ep is not None else "")
        return acct, person_id, ep, place[0], place[1]

    norm: dict[str, dict[str, tuple[str, str]]] = {"person": {}, "patient": {}}  # type -> id -> names

    def names(view: RecordView) -> tuple[str, str]:
        """Normalised surname and address of a person or patient (computed once each)."""
        of_type = norm[view.type]
        got = of_type.get(view.id)
        if got is None:
            got = of_type[view.id] = (_norm_name(view.data.get("last_name")), _norm_address(view.data.get("address")))
        return got

    patient_groups: dict[tuple[str, str, str, dt.date], _Group] = {}
    activity: dict[tuple[str, str, dt.date], _Group] = {}
    accesses: dict[tuple[str, str], _UserAccesses] = {}  # (system, user) -> every access, for BULK
    patient_ids: dict[str, str] = {}  # one string per patient id, shared by every access to it
    roles: dict[tuple[str, str], str] = {}

    # the flags of (account, patient, local day), which repeat within a visit: 43% of the large
    # practice's events hit an entry, and as many with only the latest 100k entries kept; emptied
    # when full so it does not grow with the log (a pure memo: the flags are the same either way)
    static: dict[tuple[str, str, dt.date], tuple[frozenset[str], RecordView | None]] = {}

    def patient_flags(person_id: str, ep: _Episode | None, role: str, patient: str, at: dt.datetime,
                      day: dt.date) -> set[str]:
        """The flags that depend on the user, the patient and the day (not on the single event)."""
        user = persons.get(person_id)
        chart = patients.get(patient)
        flags: set[str] = set()
        own = (user is not None and user.data.get("patient_id") == patient) or (
            chart is not None and chart.data.get("is_workforce_person_id") == person_id)
        if own:
            flags.add("SELF")
        else:
            if user is not None and chart is not None:
                (surname, address), (p_surname, p_address) = names(user), names(chart)
                if surname and surname == p_surname and surname not in common:
                    flags.add("SAME_SURNAME")
                if address and address == p_address:
                    flags.add("SAME_ADDRESS")
            other = workforce_of_patient.get(patient)
            if other and other != person_id and any(e.contains(at) for e in episodes.get(other, [])):
                flags.add("COWORKER")
        if patient in vip_ids or (chart is not None and (chart.data.get("vip") is True
                                                      or chart.data.get("record_restricted") is True)):
            flags.add("VIP")
        est = ep.establishment_id if ep is not None else None
        if not related(patient, [person_id] + ([est] if est else []) + ([role] if role else []), day):
            flags.add("NO_RELATIONSHIP")
        return flags

    for ev in inputs["access_event"]:
        d = ev.data
        at, acct, utc = _event_account(ev, accounts, now)
        patient = d.get("patient_id")
        if at is None or utc is None or utc > now.at or not patient:
            continue
        patient = str(patient)
        key = (str(d.get("system_id")), str(d.get("user_id")))
        if acct is None or not acct.data.get("person_id"):
            continue  # no named user to review (shared log-ins are HIPAA-SEC-UID-005's finding)
        _, person_id, ep, tz, role = user_context(key, utc, acct)
        roles[key] = role
        epoch = cal.epoch_seconds(utc)
        day, local_hour = local_day_and_hour(tz, epoch)
        src = _src(ev)
        cached = static.get((acct.id, patient, day))
        if cached is None:
            if len(static) >= STATIC_FLAGS_KEPT:
                static.clear()
            cached = static[(acct.id, patient, day)] = (
                frozenset(patient_flags(person_id, ep, role, patient, utc, day)), patients.get(patient))
        flags = set(cached[0])
        if d.get("action") in ("print", "export"):
            wk = working.get((tz, day))
            if wk is None:
                est = ep.establishment_id if ep is not None else None
                wk = working[(tz, day)] = cal.is_working_day(day, _holiday_calendar(ctx, est))
            if not wk or not (open_hour <= local_hour < close_hour):
                flags.add("AFTER_HOURS_EXPORT")
        flags -= exempt.get(role, set())
        user_accesses = accesses.get(key)
        if user_accesses is None:
            user_accesses = accesses[key] = _UserAccesses()
        user_accesses.add(epoch, patient_ids.setdefault(patient, patient), src[1], src[2])
        if flags & PATIENT_FLAG_SET:
            g = patient_groups.setdefault((key[0], key[1], patient, day), _Group())
            g.add(at, src, flags, patient)
            chart = cached[1]
            if chart is not None and _src(chart) not in g.extra:
                g.extra.append(_src(chart))
        elif flags:
            activity.setdefault((key[0], key[1], day), _Group()).add(at, src, flags, patient)

    # (system, user, clock hour) -> patient -> (epoch seconds, id and version of the first access)
    bulk: dict[tuple[str, str, int], dict[str, tuple[int, str, int]]] = {}
    for (system_id, user_id), user_accesses in accesses.items():
        if "BULK" in exempt.get(roles.get((system_id, user_id), ""), set()):
            continue
        for hour, firsts in user_accesses.crowded_hours(bulk_n):
            bulk[(system_id, user_id, hour)] = firsts
    accesses.clear()
    covered: set[str] = set()
    for (system_id, user_id, _, _), g in patient_groups.items():
        covered.update(g.events)
        if any((system_id, user_id, cal.epoch_seconds(at) // 3600) in bulk for at, _ in g.events.values()):
            g.flags.add("BULK")
    for system_id, user_id, hour in sorted(bulk):
        for patient, (epoch, event_id, version) in bulk[(system_id, user_id, hour)].items():
            src = ("access_event", event_id, version)
            if src[1] in covered:
                continue
            at = dt.datetime.fromtimestamp(epoch, dt.UTC)
            day = local_day_and_hour(user_context((system_id, user_id), at)[3], epoch)[0]
            activity.setdefault((system_id, user_id, day), _Group()).add(at, src, {"BULK"}, patient)
    for g in activity.values():
        for eid in [e for e in g.events if e in covered]:
            del g.events[eid]

    def alert(kind: str, key: tuple[str, str], g: _Group, patient: str | None) -> DerivedFact:
        events = sorted(g.events.values(), key=lambda e: (e[0], e[1][1]))
        first_at, first_src = events[0]
        acct, person_id, ep, _, role = user_context(key, first_at)
        ordered = [f for f in PATIENT_FLAGS + ACTIVITY_FLAGS if f in g.flags]
        opened = [(max(o, first_at), inv) for o, c, inv in investigations.get(person_id, [])
                  if c is None or c >= first_at]
        triaged = min(opened, key=lambda x: (x[0], x[1].id)) if opened else None
        sources = [src for _, src in events[:50]] + [_src(acct)] + g.extra[:5]
        if person_id in persons:
            sources.append(_src(persons[person_id]))
        if ep is not None:
            sources.append(_src(ep.view))
        if triaged is not None:
            sources.append(_src(triaged[1]))
        return _fact("hipaa_access_alert", f"{first_src[1]}:{kind}", {
            "event_id": first_src[1], "kind": kind, "flags": ", ".join(ordered), "flag_count": len(ordered),
            "level": "high" if len(ordered) >= 2 else "medium", "person_id": person_id, "user_id": key[1],
            "system_id": key[0], "patient_id": patient, "role": role or None,
            "establishment_id": ep.establishment_id if ep is not None else None,
            "at": first_at, "last_at": events[-1][0], "event_count": len(events),
            "patient_count": len(g.patients), "triaged_at": triaged[0] if triaged else None,
        }, sources, f"access_event/{first_src[1]}")  # evaluated in the chunk of its first event

    out = [alert("patient", (k[0], k[1]), g, k[2]) for k, g in patient_groups.items()]
    out += [alert("activity", (k[0], k[1]), g, None) for k, g in activity.items() if g.events]
    yield from sorted(out, key=lambda f: f.id)


# ---- HIPAA-PRV-NPP-015: the practice's attested Notice of Privacy Practices --------------------

#: Compliance date of the NPP changes tied to 42 CFR Part 2 (2024 Part 2 final rule; [S]).
NPP_PART2_COMPLIANCE_DATE = dt.date(2026, 2, 16)


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
    use must take effect by the Part 2 compliance date (16 Feb 2026), met on the version's date.
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
    tz = _tz(ctx, "hipaa_npp_duty", {})
    today = cal.local_date(now.at, tz)
    recorded = f"NPP in use effective {version}" if version else "no NPP effective date recorded (npp_version_date)"
    yield _fact("hipaa_npp_duty", "part2_revision", {
        "kind": "part2_revision", "due_at": NPP_PART2_COMPLIANCE_DATE,
        "met_at": version if version is not None and version <= today else None,
        "basis": f"NPP revised for the Part 2 changes by {NPP_PART2_COMPLIANCE_DATE}; {recorded}",
    }, [_src(org)], "org:*")
    if version is not None and version <= today:
        yield _fact("hipaa_npp_duty", "posting", {
            "kind": "posting", "due_at": version,
            "met_at": posted if posted is not None and posted <= today else None,
            "basis": (f"NPP effective {version} posted at each site and on the website by then; "
                      + (f"posted {posted}" if posted else "no posting date recorded (npp_posted_date)")),
        }, [_src(org)], "org:*")
