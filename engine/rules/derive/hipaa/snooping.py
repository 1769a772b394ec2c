"""Snooping alerts over EHR access events (HIPAA-PRV-SNOOP-007): the per-event flags, their grouping
into patient and activity alerts, and BULK (too many patients in one clock hour).
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.hipaa._common import (
    Inputs,
    Source,
    _Accounts,
    _AsOf,
    _date,
    _Episode,
    _episode_at,
    _episodes,
    _event_account,
    _fact,
    _holiday_calendar,
    _src,
    _tz,
)

#: Entries of the snooping alerts' per-visit flag memo kept at most (see _Scan.read_log).
STATIC_FLAGS_KEPT = 200_000


# ---- HIPAA-PRV-SNOOP-007: inappropriate access patterns -----------------------------------------

PATIENT_FLAGS = ("SELF", "SAME_SURNAME", "SAME_ADDRESS", "COWORKER", "VIP")
ACTIVITY_FLAGS = ("NO_RELATIONSHIP", "AFTER_HOURS_EXPORT", "BULK")
PATIENT_FLAG_SET = frozenset(PATIENT_FLAGS)


def _norm_name(text: Any) -> str:
    return re.sub(r"[^A-Z]", "", str(text or "").upper())


def _norm_address(text: Any) -> str:
    return " ".join(re.sub(r"[^A-Z0-9 ]", " ", str(text or "").upper()).split())


@dataclass
class _Group:
    """Access events that raise one alert, with the union of their flags and, per event, how many
    flags that event raised itself.

    The level is the catalog's per event ("alert high if count(flags) >= 2" for an access event x): a
    view of one chart with no care link and an export of another at 19:30 are two medium matters, and
    grouped into one alert of the user's day they had made it high by counting the flags together.
    """

    events: dict[str, tuple[dt.datetime, Source, int]] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    patients: set[str] = field(default_factory=set)
    extra: list[Source] = field(default_factory=list)

    def add(self, at: dt.datetime, src: Source, flags: set[str], patient: str) -> None:
        held = self.events.get(src[1])
        self.events[src[1]] = (at, src, len(flags) + (held[2] if held is not None else 0))
        self.flags |= flags
        self.patients.add(patient)

    def flag_event(self, event_id: str, flag: str) -> None:
        """One more flag for an event already held (BULK, known once every user's hours are counted)."""
        at, src, count = self.events[event_id]
        self.events[event_id] = (at, src, count + 1)
        self.flags.add(flag)

    @property
    def most_flags(self) -> int:
        """The most flags one of its events raised."""
        return max((count for _, _, count in self.events.values()), default=0)


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


@dataclass(frozen=True)
class _Settings:
    """The practice's parameters of the alerts, read once a scan."""

    before: int  # relationship_window_days_before
    after: int  # relationship_window_days_after
    common_surnames: set[str]  # surname_common_list, normalised: no SAME_SURNAME for these
    vip_ids: set[str]
    bulk_n: int  # bulk_patients_per_hour
    open_hour: int  # snoop_business_hours_start
    close_hour: int  # snoop_business_hours_end
    exempt: dict[str, set[str]]  # role -> the flags dropped for it (exempt_roles_by_flag, "role:FLAG")

    @classmethod
    def of(cls, ctx: DeriveContext) -> _Settings:
        exempt: dict[str, set[str]] = defaultdict(set)
        for entry in ctx.param("exempt_roles_by_flag", []):
            role_name, _, flag = str(entry).partition(":")
            exempt[role_name.strip()].add(flag.strip().upper())
        return cls(
            before=int(ctx.param("relationship_window_days_before", 30)),
            after=int(ctx.param("relationship_window_days_after", 7)),
            common_surnames={_norm_name(x) for x in ctx.param("surname_common_list", [])},
            vip_ids={str(x) for x in ctx.param("vip_patient_ids", [])},
            bulk_n=int(ctx.param("bulk_patients_per_hour", 25)),
            open_hour=int(ctx.param("snoop_business_hours_start", 7)),
            close_hour=int(ctx.param("snoop_business_hours_end", 19)),
            exempt=exempt,
        )


class _CareLinks:
    """Who is in a patient's care and when (NO_RELATIONSHIP): patient -> person or department -> the
    day of its care link, as a day ordinal, or the sorted ordinals of its links when it has several.

    Why nested, and bare ordinals: at 10x the large practice 5.75 million links make 5.74 million
    (patient, who) pairs, which as (patient, who) tuples -> date lists took a list, a tuple and dates
    each and half as long again to build; and a lookup hashes no tuple.
    """

    __slots__ = ("by_patient", "before", "after", "windows")

    def __init__(self, care_links: Iterable[RecordView], before: int, after: int) -> None:
        self.by_patient = _index_care_links(care_links)
        self.before, self.after = before, after
        self.windows: dict[dt.date, tuple[int, int]] = {}  # local day -> ordinals of its window's ends

    def related(self, patient: str, who: Iterable[str], day: dt.date) -> bool:
        """Has one of `who` a care link to `patient` dated within the window around `day`?"""
        by_who = self.by_patient.get(patient)
        if not by_who:
            return False
        window = self.windows.get(day)
        if window is None:
            window = self.windows[day] = (cal.add_days(day, -self.before).toordinal(),
                                          cal.add_days(day, self.after).toordinal())
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


def _index_care_links(care_links: Iterable[RecordView]) -> dict[str, dict[str, int | list[int]]]:
    """`_CareLinks.by_patient` built from the care link records (links with no date or patient are
    none)."""
    links: dict[str, dict[str, int | list[int]]] = {}
    ordinals: dict[Any, int | None] = {}  # a link's date text -> its day ordinal (one int object per day)
    for cl in care_links:
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
    return links


#: Who made an access, as of its instant: the account, its person's id, the episode then running
#: (or the latest before), the zone of its establishment and the episode's role ('' with none).
_UserContext = tuple[RecordView, str, _Episode | None, str, str]


class _Users:
    """The user behind each access and the local clock of their establishment.

    Asked per access event, so each answer is worked out once: an account's person and episodes,
    an episode's (or an episode-less person's) zone and role, and each zone's local clock.
    """

    __slots__ = ("ctx", "accounts", "episodes", "people", "places", "clocks")

    def __init__(self, ctx: DeriveContext, accounts: _Accounts, episodes: dict[str, list[_Episode]]) -> None:
        self.ctx, self.accounts, self.episodes = ctx, accounts, episodes
        self.people: dict[str, tuple[str, list[_Episode]]] = {}  # account id -> (person id, episodes)
        self.places: dict[tuple[str | None, str], tuple[str, str]] = {}  # (episode id, person id) -> (zone, role)
        self.clocks: dict[str, cal.LocalClock] = {}  # zone name -> local dates and hours of its instants

    def context(self, key: tuple[str, str], at: dt.datetime, acct: RecordView | None = None) -> _UserContext:
        """The user of log-in `key` (system, user id) at `at`; `acct`: its account, when already resolved."""
        acct = acct or self.accounts.resolve(key[0], key[1], at)
        assert acct is not None
        person = self.people.get(acct.id)
        if person is None:
            person_id = str(acct.data["person_id"])
            person = self.people[acct.id] = (person_id, self.episodes.get(person_id, []))
        person_id, eps = person
        ep = _episode_at(eps, at)
        place_key = (ep.view.id if ep is not None else None, person_id)
        place = self.places.get(place_key)
        if place is None:
            est = ep.establishment_id if ep is not None else None
            place = self.places[place_key] = (
                _tz(self.ctx, "hipaa_access_alert", {"establishment_id": est, "person_id": person_id}),
                str(ep.view.data.get("role") or "") if ep is not None else "")
        return acct, person_id, ep, place[0], place[1]

    def local_day_and_hour(self, tz: str, epoch: int) -> tuple[dt.date, int]:
        """The local date and hour of epoch second `epoch` in zone `tz`."""
        clock = self.clocks.get(tz)
        if clock is None:
            clock = self.clocks[tz] = cal.LocalClock(tz)
        return clock.day_and_hour(epoch)


class _ChartFlags:
    """The flags that depend on the user, the patient and the day, not on the single event: SELF,
    SAME_SURNAME, SAME_ADDRESS, COWORKER, VIP and NO_RELATIONSHIP.

    Each flag is judged on its own, as the catalog lists them, and every one counts towards the
    alert's level: a user opening their own chart also shares its surname and address, and SELF with
    both is three flags (high), not one. Only COWORKER excludes the user's own chart (the catalog's
    "p != u"); SAME_SURNAME still skips surname_common_list.
    """

    __slots__ = ("persons", "patients", "episodes", "links", "settings", "workforce_of_patient", "norm")

    def __init__(self, persons: dict[str, RecordView], patients: dict[str, RecordView],
                 episodes: dict[str, list[_Episode]], links: _CareLinks, settings: _Settings) -> None:
        self.persons, self.patients, self.episodes = persons, patients, episodes
        self.links, self.settings = links, settings
        self.workforce_of_patient: dict[str, str] = {}  # patient id -> the workforce person whose chart it is
        for p in persons.values():
            if p.data.get("patient_id"):
                self.workforce_of_patient[str(p.data["patient_id"])] = p.id
        for pt in patients.values():
            if pt.data.get("is_workforce_person_id"):
                self.workforce_of_patient.setdefault(pt.id, str(pt.data["is_workforce_person_id"]))
        self.norm: dict[str, dict[str, tuple[str, str]]] = {"person": {}, "patient": {}}  # type -> id -> names

    def judge(self, person_id: str, ep: _Episode | None, role: str, patient: str, at: dt.datetime,
              day: dt.date) -> set[str]:
        """The flags of user `person_id` (in episode `ep`, with `role`) opening `patient`'s chart at
        `at`, on local day `day`."""
        settings = self.settings
        user = self.persons.get(person_id)
        chart = self.patients.get(patient)
        flags: set[str] = set()
        own = (user is not None and user.data.get("patient_id") == patient) or (
            chart is not None and chart.data.get("is_workforce_person_id") == person_id)
        if own:
            flags.add("SELF")
        if user is not None and chart is not None:
            (surname, address), (p_surname, p_address) = self.names(user), self.names(chart)
            if surname and surname == p_surname and surname not in settings.common_surnames:
                flags.add("SAME_SURNAME")
            if address and address == p_address:
                flags.add("SAME_ADDRESS")
        if not own:
            other = self.workforce_of_patient.get(patient)
            if other and other != person_id and any(e.contains(at) for e in self.episodes.get(other, [])):
                flags.add("COWORKER")
        if patient in settings.vip_ids or (chart is not None and (chart.data.get("vip") is True
                                                                  or chart.data.get("record_restricted") is True)):
            flags.add("VIP")
        est = ep.establishment_id if ep is not None else None
        if not self.links.related(patient, [person_id] + ([est] if est else []) + ([role] if role else []), day):
            flags.add("NO_RELATIONSHIP")
        return flags

    def names(self, view: RecordView) -> tuple[str, str]:
        """Normalised surname and address of a person or patient (computed once each)."""
        of_type = self.norm[view.type]
        got = of_type.get(view.id)
        if got is None:
            got = of_type[view.id] = (_norm_name(view.data.get("last_name")), _norm_address(view.data.get("address")))
        return got


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
    for the remaining flagged events. Level high when one of its events raised two or more flags
    (each judged on its own, so SELF with the same surname and address is three), else medium: the
    flags of different events are not added up. `triaged_at`:
    when the first investigation of the user's person open at or after the alert was (or already was)
    open.

    The facts are few and are registered as reference facts, so a rule can join an alert to the
    access_event record it starts with (events and derived event facts are evaluated in separate
    chunks, and a finding's subject must be a record the rule matched).
    """
    scan = _Scan(ctx, inputs)
    scan.read_log(inputs["access_event"])
    scan.add_bulk()
    yield from scan.alerts()


#: An investigation of a person: when it was opened, when closed (None: open or not closed yet), itself.
_Opened = tuple[dt.datetime, dt.datetime | None, RecordView]


class _Scan:
    """One run of the alerts: the tables read before the access log, then what the log builds up
    (the alerts' groups, each user's accesses for BULK).

    Reads its inputs in the order the derivation declares them (the derive process streams them so).
    """

    def __init__(self, ctx: DeriveContext, inputs: Inputs) -> None:
        self.ctx = ctx
        self.now = now = _AsOf(ctx)
        episodes = _episodes(inputs["employment_episode"], now)
        self.accounts = _Accounts(inputs["account"], now)
        self.persons = {p.id: p for p in inputs["person"]}
        self.patients = {p.id: p for p in inputs["patient"]}
        self.settings = settings = _Settings.of(ctx)
        links = _CareLinks(inputs["care_link"], settings.before, settings.after)
        self.chart_flags = _ChartFlags(self.persons, self.patients, episodes, links, settings)
        self.investigations = _investigations(inputs["investigation"], now)
        self.users = _Users(ctx, self.accounts, episodes)
        self.patient_groups: dict[tuple[str, str, str, dt.date], _Group] = {}  # (system, user, patient, day)
        self.activity: dict[tuple[str, str, dt.date], _Group] = {}  # (system, user, local day)
        self.accesses: dict[tuple[str, str], _UserAccesses] = {}  # (system, user) -> every access, for BULK
        self.roles: dict[tuple[str, str], str] = {}  # (system, user) -> the role of its latest access read

    def read_log(self, events: Iterable[RecordView]) -> None:
        """Judge each access event and file the flagged ones into the alerts' groups, and keep every
        access for BULK. The hot loop (a million events at 1x the large practice): the tables it
        reaches for are local names."""
        now, accounts, settings = self.now, self.accounts, self.settings
        user_context, local_day_and_hour = self.users.context, self.users.local_day_and_hour
        judge, patients, ctx = self.chart_flags.judge, self.patients, self.ctx
        open_hour, close_hour, exempt = settings.open_hour, settings.close_hour, settings.exempt
        accesses, roles = self.accesses, self.roles
        working: dict[tuple[str, dt.date], bool] = {}  # (zone, local day) -> a working day there?
        patient_ids: dict[str, str] = {}  # one string per patient id, shared by every access to it
        # the flags of (account, patient, local day), which repeat within a visit: 43% of the large
        # practice's events hit an entry, and as many with only the latest 100k entries kept; emptied
        # when full so it does not grow with the log (a pure memo: the flags are the same either way)
        static: dict[tuple[str, str, dt.date], tuple[frozenset[str], RecordView | None]] = {}
        for ev in events:
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
                    frozenset(judge(person_id, ep, role, patient, utc, day)), patients.get(patient))
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
            if flags:
                self.file(key, patient, day, at, src, flags, cached[1])

    def file(self, key: tuple[str, str], patient: str, day: dt.date, at: dt.datetime, src: Source,
             flags: set[str], chart: RecordView | None) -> None:
        """File a flagged event: into its patient alert when a flag is patient-specific, else into the
        user's activity alert of the day."""
        if flags & PATIENT_FLAG_SET:
            g = self.patient_groups.setdefault((key[0], key[1], patient, day), _Group())
            g.add(at, src, flags, patient)
            if chart is not None and _src(chart) not in g.extra:
                g.extra.append(_src(chart))
        else:
            g = self.activity.setdefault((key[0], key[1], day), _Group())
            g.add(at, src, flags, patient)
            # the chart opened with no care link is what the officer looks up: named, as a patient
            # alert names its chart (the first few; the events name the rest)
            if "NO_RELATIONSHIP" in flags and chart is not None and len(g.extra) < 5 and _src(chart) not in g.extra:
                g.extra.append(_src(chart))

    def add_bulk(self) -> None:
        """BULK, known once every user's hours are counted: flag the crowded hours' events already in
        a patient alert, and file each crowded hour's other first accesses into activity alerts (an
        event in a patient alert is in no activity alert)."""
        bulk = self.crowded_hours()
        covered: set[str] = set()
        for (system_id, user_id, _, _), g in self.patient_groups.items():
            covered.update(g.events)
            for event_id, (at, _, _) in list(g.events.items()):
                if (system_id, user_id, cal.epoch_seconds(at) // 3600) in bulk:
                    g.flag_event(event_id, "BULK")
        for system_id, user_id, hour in sorted(bulk):
            for patient, (epoch, event_id, version) in bulk[(system_id, user_id, hour)].items():
                src = ("access_event", event_id, version)
                if src[1] in covered:
                    continue
                at = dt.datetime.fromtimestamp(epoch, dt.UTC)
                day = self.users.local_day_and_hour(self.users.context((system_id, user_id), at)[3], epoch)[0]
                self.activity.setdefault((system_id, user_id, day), _Group()).add(at, src, {"BULK"}, patient)
        for g in self.activity.values():
            for eid in [e for e in g.events if e in covered]:
                del g.events[eid]

    def crowded_hours(self) -> dict[tuple[str, str, int], dict[str, tuple[int, str, int]]]:
        """(system, user, clock hour) -> patient -> (epoch seconds, id and version of the first access),
        for each hour with more than bulk_patients_per_hour patients of a user BULK is not exempt for.
        Frees the accesses as it goes."""
        bulk: dict[tuple[str, str, int], dict[str, tuple[int, str, int]]] = {}
        exempt = self.settings.exempt
        for (system_id, user_id), user_accesses in self.accesses.items():
            if "BULK" in exempt.get(self.roles.get((system_id, user_id), ""), set()):
                continue
            for hour, firsts in user_accesses.crowded_hours(self.settings.bulk_n):
                bulk[(system_id, user_id, hour)] = firsts
        self.accesses.clear()
        return bulk

    def alerts(self) -> list[DerivedFact]:
        """Every alert, by id."""
        out = [self.alert("patient", (k[0], k[1]), g, k[2]) for k, g in self.patient_groups.items()]
        out += [self.alert("activity", (k[0], k[1]), g, None) for k, g in self.activity.items() if g.events]
        return sorted(out, key=lambda f: f.id)

    def alert(self, kind: str, key: tuple[str, str], g: _Group, patient: str | None) -> DerivedFact:
        """The alert of group `g` of log-in `key`, keyed to its first event."""
        events = sorted(g.events.values(), key=lambda e: (e[0], e[1][1]))
        first_at, first_src, _ = events[0]
        acct, person_id, ep, _, role = self.users.context(key, first_at)
        ordered = [f for f in PATIENT_FLAGS + ACTIVITY_FLAGS if f in g.flags]
        opened = [(max(o, first_at), inv) for o, c, inv in self.investigations.get(person_id, [])
                  if c is None or c >= first_at]
        triaged = min(opened, key=lambda x: (x[0], x[1].id)) if opened else None
        sources = [src for _, src, _ in events[:50]] + [_src(acct)] + g.extra[:5]
        if person_id in self.persons:
            sources.append(_src(self.persons[person_id]))
        if ep is not None:
            sources.append(_src(ep.view))
        if triaged is not None:
            sources.append(_src(triaged[1]))
        return _fact("hipaa_access_alert", f"{first_src[1]}:{kind}", {
            "event_id": first_src[1], "kind": kind, "flags": ", ".join(ordered), "flag_count": len(ordered),
            "level": "high" if g.most_flags >= 2 else "medium", "person_id": person_id, "user_id": key[1],
            "system_id": key[0], "patient_id": patient, "role": role or None,
            "establishment_id": ep.establishment_id if ep is not None else None,
            "at": first_at, "last_at": events[-1][0], "event_count": len(events),
            "patient_count": len(g.patients), "triaged_at": triaged[0] if triaged else None,
        }, sources, f"access_event/{first_src[1]}")  # evaluated in the chunk of its first event


def _investigations(views: Iterable[RecordView], now: _AsOf) -> dict[str, list[_Opened]]:
    """Subject person -> (opened, closed or None, investigation) of each investigation opened by now
    (`triaged_at`)."""
    investigations: dict[str, list[_Opened]] = defaultdict(list)
    for inv in views:
        opened = now.happened(inv.data.get("opened_at"))
        if opened is not None and inv.data.get("subject_person_id"):
            investigations[str(inv.data["subject_person_id"])].append(
                (opened, now.happened(inv.data.get("closed_at")), inv))
    return investigations
