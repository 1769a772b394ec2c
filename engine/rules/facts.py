"""The derive step for records: stored records become flat facts the matcher can test.

- Instants and dates become numbers (epoch seconds, UTC; a date is the start of that local day
  in the record's establishment zone), so both backends compare plain numbers. So do the fixed
  days a rule compares with (`date('2027-01-01')`, a field `ld_20270101` of the fact's own zone).
- The evaluation instant is applied (CONTRACT: whatever happened after `as_of` has not happened
  yet): a record whose existence field is later is dropped, and any later "happened" field is null.
- Facts carry only the fields rules read (durable_rules allows 255 properties per message).
- Each obligation's deadline is computed by the calendar service and becomes a `__deadline` fact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.clock import ensure_utc
from engine.records.fields import stored_instant
from engine.rules import calendar as cal
from engine.rules.compiler import local_days
from engine.rules.compiler.model import DEADLINE, TRIGGER, CompiledRuleset, DeadlineSpec, Flag
from engine.rules.derive import PARAMS_USED, DerivedFact, RecordView
from engine.rules.facttypes import FactType
from engine.rules.param_history import ParamHistory
from engine.rules.spec import window_amount
from engine.rules.state_zones import DEFAULT_ZONE, establishment_tz, practice_zone

#: The field that says when a record came to exist; a later value means "not yet" as of the run.
EXISTENCE_FIELD: dict[str, str] = {
    "access_event": "at", "ai_output": "created_at", "encounter": "at", "employment_episode": "start_at",
    "incident": "discovered_at", "access_request": "received_at", "osha_case": "incident_at",
    "training_record": "completed_at", "screening": "checked_at", "risk_analysis": "completed_at",
    "system": "added_at", "investigation": "opened_at", "sanction_record": "decided_at",
    "phi_flow": "first_at", "care_link": "date", "credential": "issued_at", "mips_submission": "submitted_at",
    "baa": "signed_at", "exposure_control_plan": "reviewed_at",
}
#: The fields through which a record belongs to an establishment (directly, or by a person's job there).
PERSON_KEYS = ("person_id", "subject_person_id", "clinician_person_id", "owner_person_id")
ZONE_KEYS = frozenset(("establishment_id", *PERSON_KEYS))
#: Fields that name a time in the future by nature (expiry, due dates): never nulled by as_of.
SCHEDULE_FIELDS = frozenset({"expires_at", "due_at", "le_delay_until", "posted_until", "effective_at"})


@dataclass(slots=True)
class FactInfo:
    """What the engine remembers about a fact besides its matchable fields: where it came from."""

    type: str
    record_id: str
    version: int | None
    raw: Mapping[str, Any]
    sources: list[tuple[str, str, int]] = field(default_factory=list)
    deadline: cal.Deadline | None = None
    #: the record a finding about this fact names as its subject: the fact's own type and id, or
    #: for a derived fact the record it is about (`Derivation.about`)
    subject_type: str = ""
    subject_id: str = ""
    #: what tells this fact apart from the subject's other facts of its type (a derived fact's id
    #: without the subject's id: the state of a license standing); the start of a finding's
    #: occurrence key
    occurrence: str = ""
    #: the establishment the fact belongs to, directly or through its person's latest episode
    #: (C7's lookup): a finding about an account belongs to its holder's site, not the whole practice
    establishment: str | None = None
    #: the zone of that establishment (C7), in which a finding's message writes the fact's instants
    tz: str | None = None

    def __post_init__(self) -> None:
        if not self.subject_type:
            self.subject_type = self.type
        if not self.subject_id:
            self.subject_id = self.record_id


@dataclass
class Zones:
    """Which IANA zone and holiday calendar a record's local dates use (C7)."""

    establishments: Mapping[str, Mapping[str, Any]]
    person_establishment: dict[str, str]
    default_tz: str = DEFAULT_ZONE

    def establishment_of(self, fact_type: str, data: Mapping[str, Any]) -> str | None:
        if fact_type == "establishment":
            return data.get("id")
        est = data.get("establishment_id")
        if est:
            return str(est)
        for key in PERSON_KEYS:
            person = data.get(key)
            if person and person in self.person_establishment:
                return self.person_establishment[person]
        if fact_type == "person":
            return self.person_establishment.get(str(data.get("id")))
        return None

    @classmethod
    def of(cls, establishments: Mapping[str, Mapping[str, Any]], episodes: Iterable[Mapping[str, Any]],
           as_of: dt.datetime) -> Zones:
        """The zones of a practice as of `as_of`, from its establishments (id -> record data) and the
        data of its employment episodes: a person's records take the zone of the establishment of their
        latest episode begun by then, and a record tied to no establishment takes the practice's zone
        (`practice_zone`: where most of its establishments are).

        One place for this, because every face that shows a local date (a sweep, the live stream, the
        dashboard) must pick the same zone the rules judged in. An episode that starts after `as_of`
        has not happened yet (CONTRACT), so a transfer booked for next month does not move today's
        deadlines into the new site's zone; starts are compared as instants, since the same moment
        written with two offsets sorts differently as text.
        """
        latest: dict[str, tuple[dt.datetime, str]] = {}
        for data in episodes:
            person, est = data.get("person_id"), data.get("establishment_id")
            start = stored_instant(data.get("start_at"))  # aware: compared as instants whatever the offsets
            if not (person and est) or (start is not None and start > as_of):
                continue
            moment = start or dt.datetime.min.replace(tzinfo=dt.UTC)
            if person not in latest or moment >= latest[str(person)][0]:
                latest[str(person)] = (moment, str(est))
        default = practice_zone(establishment_tz(e) for e in establishments.values())
        return cls(establishments, {p: est for p, (_, est) in latest.items()}, default)

    def tz(self, fact_type: str, data: Mapping[str, Any]) -> str:
        return self.tz_at(self.establishment_of(fact_type, data))

    def tz_at(self, est: str | None) -> str:
        if est and est in self.establishments:
            return establishment_tz(self.establishments[est]) or self.default_tz
        return self.default_tz

    def holiday_calendar(self, fact_type: str, data: Mapping[str, Any]) -> str:
        est = self.establishment_of(fact_type, data)
        if est and est in self.establishments:
            return str(self.establishments[est].get("holiday_calendar") or cal.DEFAULT_CALENDAR_NAME)
        return cal.DEFAULT_CALENDAR_NAME


def about(subject: tuple[str, str], fact_id: str, data: Mapping[str, Any]) -> tuple[str, str, str]:
    """The subject type, id and occurrence of a finding about a derived fact that names its record
    (`Derivation.about`): ("person", "person_id") turns a standing `P1/NV` into person P1, occurrence
    NV. A fact whose field is empty (an organization-wide fact with no organization on file) stays
    its own subject, so no finding is lost for want of a record to name."""
    record_type, id_field = subject
    if id_field == "id":
        return record_type, fact_id, ""
    value = data.get(id_field)
    if value is None or value == "":
        return "", "", ""
    record_id = str(value)
    parts = fact_id.split("/")
    if record_id in parts:
        parts.remove(record_id)
        return record_type, record_id, "/".join(parts)
    return record_type, record_id, fact_id


def parse_time(value: Any, kind: str) -> dt.datetime | dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value
    if kind == "instant":
        return dt.datetime.fromisoformat(value if type(value) is str else str(value))  # reads Z since 3.11
    if kind == "date":
        return dt.date.fromisoformat(str(value))
    return None


def to_seconds(value: dt.datetime | dt.date, tz: str) -> int:
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    return int(cal.start_of_local_day(value, tz).timestamp())


@dataclass(frozen=True)
class _Shape:
    """Per fact type, worked out once: its time fields and the fields rules read."""

    times: tuple[tuple[str, str], ...]
    needs: tuple[str, ...]
    #: the local days the rules compare its fields with (`date('2027-01-01')`), by fact field
    days: tuple[tuple[str, dt.date], ...]
    #: whether its records can belong to an establishment (else their zone is the default one)
    zoned: bool
    #: the record a finding about one of its facts names as the subject (see Derivation.about)
    about: tuple[str, str] | None


class FactBuilder:
    """Turns records and derived facts into matchable facts for a set of compiled rulesets."""

    def __init__(self, rulesets: Iterable[CompiledRuleset], types: Mapping[str, FactType], as_of: dt.datetime,
                 zones: Zones) -> None:
        self.as_of = as_of
        self.as_of_s = int(as_of.timestamp())
        self._as_of_utc = ensure_utc(as_of)
        self.types = types
        self.zones = zones
        self.needs: dict[str, set[str]] = {}
        self.flags: dict[str, list[Flag]] = {}
        self.deadlines: dict[str, list[DeadlineSpec]] = {}
        #: rule id -> its ruleset's parameter history, for the rules whose window is a parameter the
        #: practice changed over time
        self._history: dict[str, ParamHistory] = {}
        for rs in rulesets:
            for d in rs.deadlines:
                if d.amount_param is not None and d.amount_param in rs.history.steps:
                    self._history[d.rule_id] = rs.history
            for t, fields in rs.field_needs.items():
                self.needs.setdefault(t, set()).update(fields)
            for f in rs.flags:
                self.flags.setdefault(f.fact_type, []).append(f)
            for d in rs.deadlines:
                self.deadlines.setdefault(d.anchor_type, []).append(d)
        self._shapes: dict[str, _Shape] = {}
        self._today: dict[str, dt.date] = {}
        self._day_starts: dict[tuple[dt.date, str], int] = {}

    def wanted(self, fact_type: str) -> bool:
        return fact_type in self.needs or fact_type in self.deadlines

    def record(self, view: RecordView) -> list[tuple[dict[str, Any], FactInfo]]:
        return self._build(view.type, view.id, view.version, view.data, [])

    def derived(self, fact: DerivedFact) -> list[tuple[dict[str, Any], FactInfo]]:
        return self._build(fact.type, fact.id, None, fact.data, fact.sources)

    def trigger(self, rule_id: str) -> dict[str, Any]:
        return {"id": f"{TRIGGER}/{rule_id}", "t": TRIGGER, "rule": rule_id, "now": self.as_of_s}

    def _build(self, fact_type: str, record_id: str, version: int | None, data: Mapping[str, Any],
               sources: list[tuple[str, str, int]]) -> list[tuple[dict[str, Any], FactInfo]]:
        shape = self._shapes.get(fact_type)
        if shape is None:
            ft = self.types.get(fact_type)
            if ft is None:
                return []
            shape = self._shapes[fact_type] = _Shape(
                times=tuple((name, kind) for name, kind in ft.fields.items() if kind in ("instant", "date")),
                needs=tuple(sorted(n for n in self.needs.get(fact_type, ()) if n not in ("rid", "id")
                                   and not n.startswith(("p_", local_days.PREFIX)))),
                days=tuple(sorted((n, d) for n in self.needs.get(fact_type, ())
                                  if (d := local_days.day_of(n)) is not None)),
                zoned=ft.derived or fact_type in ("establishment", "person") or not ZONE_KEYS.isdisjoint(ft.fields),
                about=ft.about,
            )
        est = self.zones.establishment_of(fact_type, data) if shape.zoned else None
        tz = self.zones.tz_at(est) if shape.zoned else self.zones.default_tz
        local_today = self._today.get(tz)
        if local_today is None:
            local_today = self._today[tz] = cal.local_date(self.as_of, tz)
        raw: Mapping[str, Any] = data  # copied only when a field is nulled (most records keep all)
        existence = EXISTENCE_FIELD.get(fact_type)
        times: dict[str, dt.datetime | dt.date] = {}
        in_utc: dict[str, dt.datetime] = {}  # the instants among them, in UTC
        for name, kind in shape.times:
            value = data.get(name)
            if value is None:
                continue
            parsed = (dt.datetime.fromisoformat(value) if kind == "instant" and type(value) is str
                      else parse_time(value, kind))
            if parsed is None:
                continue
            if isinstance(parsed, dt.datetime):
                # An instant read with an offset (a zone object of its own) compares with `as_of` in
                # 1.5 us, and its timestamp takes 0.9 us; turned into UTC first (0.45 us), 0.02 and 0.2
                utc = ensure_utc(parsed)
                future = utc > self._as_of_utc
                in_utc[name] = utc
            else:
                future = parsed > local_today
            if future and name not in SCHEDULE_FIELDS:
                if name == existence:
                    return []
                if raw is data:
                    raw = dict(data)
                raw[name] = None  # type: ignore[index]
                continue
            times[name] = parsed
        fid = f"{fact_type}/{record_id}"
        fact: dict[str, Any] = {"id": fid, "rid": record_id, "t": fact_type}
        for name in shape.needs:
            if name in times:
                fact[name] = to_seconds(in_utc.get(name) or times[name], tz)
                continue
            value = raw.get(name)
            if value is None or isinstance(value, dict):
                continue
            fact[name] = value
        for name, day in shape.days:
            fact[name] = self._day_start(day, tz)
        for flag in self.flags.get(fact_type, ()):
            full = dict(fact)
            for name, value in raw.items():
                if name not in full and value is not None and not isinstance(value, dict):
                    if name in times:
                        value = to_seconds(in_utc.get(name) or times[name], tz)
                    full[name] = value
            fact[flag.name] = flag.fn({"self": full}) is True
        if shape.about is None:
            info = FactInfo(fact_type, record_id, version, raw, sources, establishment=est, tz=tz)
        else:
            subject_type, subject_id, occurrence = about(shape.about, record_id, raw)
            info = FactInfo(fact_type, record_id, version, raw, sources, subject_type=subject_type,
                            subject_id=subject_id, occurrence=occurrence, establishment=est, tz=tz)
        out = [(fact, info)]
        for spec in self.deadlines.get(fact_type, ()):
            anchor = times.get(spec.anchor_field)
            if anchor is None:
                continue
            # a standing condition is in force from when it began; a deadline may fall at an instant
            # within its due day (`overdue_from`: the BAA needed before PHI first flowed at 09:00)
            began = times.get("began_at") if raw.get("no_deadline") is True else times.get("overdue_from")
            out.append(self._deadline(spec, fid, anchor, fact_type, data, tz, info, began))
        return out

    def _day_start(self, day: dt.date, tz: str) -> int:
        """The first instant of `day` in `tz`, in epoch seconds: what `date('...')` means for a fact
        of that zone (`engine.rules.compiler.local_days`)."""
        key = (day, tz)
        start = self._day_starts.get(key)
        if start is None:
            start = self._day_starts[key] = to_seconds(day, tz)
        return start

    def _deadline(self, spec: DeadlineSpec, fid: str, anchor: dt.datetime | dt.date, fact_type: str,
                  data: Mapping[str, Any], tz: str, source: FactInfo, began: dt.datetime | dt.date | None = None
                  ) -> tuple[dict[str, Any], FactInfo]:
        zone = spec.tz or tz
        unit = "days" if spec.unit == "year_end_days" else spec.unit
        if spec.convention == "elapsed_hours" and not isinstance(anchor, dt.datetime):
            anchor = cal.start_of_local_day(anchor, zone)
        cutoff = dt.time.fromisoformat(spec.cutoff) if spec.cutoff else None
        # the amounts as compiled: exact hours (0.5 is thirty minutes), whole numbers of anything else
        # (`engine.rules.spec.window_amount`); rounding them here had made a 1.5-hour window one hour
        amount = spec.amount
        history = self._history.get(spec.rule_id)
        used: dict[str, Any] = {}
        if history is not None and spec.amount_param is not None:
            # the window in force on the day the obligation arose (the history's values were checked
            # as windows when it was resolved)
            arose = cal.local_date(anchor, zone) if isinstance(anchor, dt.datetime) else anchor
            value = history.value_on(spec.amount_param, arose, amount)
            amount = window_amount(spec.unit, value)
            if amount != spec.amount:
                used = {PARAMS_USED: {spec.amount_param: value}}
        deadline = cal.compute_deadline(
            anchor, amount, unit, spec.convention, zone,
            holiday_calendar=spec.holiday_calendar or self.zones.holiday_calendar(fact_type, data),
            roll_forward=spec.roll_forward, warn=spec.warn_amount, on=spec.on, cutoff=cutoff,
        )
        fact: dict[str, Any] = {
            "id": f"{DEADLINE}/{spec.rule_id}/{fid}", "t": DEADLINE, "rule": spec.rule_id,
            "of": fid.split("/", 1)[1],
            # the first second at which the obligation is overdue (and a completion late): within an hour
            # window or up to a cut-off (QPP 20:00 ET) the deadline instant itself still counts (C3, the
            # catalog's "now > due"); a day deadline ends at local midnight
            "overdue_s": int(deadline.overdue_after.timestamp()) + (1 if deadline.is_instant else 0),
        }
        if began is not None:
            # a standing condition (`no_deadline`) that says when it began, or a deadline that says the
            # instant it falls at (`overdue_from`), is in force from that instant, not from the end of
            # its day: PHI that flowed at 09:00 with no BAA is a finding at 10:00, and a BAA that took
            # effect at 15:00 the same day came late
            fact["overdue_s"] = to_seconds(began, tz)
        if deadline.warn_from is not None:
            fact["warn_s"] = int(deadline.warn_from.timestamp())
        if spec.met_field is not None:
            met = parse_time(source.raw.get(spec.met_field), "instant" if "T" in str(source.raw.get(spec.met_field))
                             else "date")
            if met is not None:
                fact["late"] = to_seconds(met, tz) >= fact["overdue_s"]
        info = FactInfo(DEADLINE, fact["id"], None, {"due": deadline.due_text, **used}, [], deadline)
        return fact, info
