"""The synthetic practice as an in-memory model: establishments, workforce history and derived records.

The world is built in phases (see `engine.demo.generator`): background workforce, derived records
per worker (trainings, accounts, credentials, vaccination, screening plan), planted problems, then
access windows are recomputed from the final trainings so background activity never contradicts
what the plants did. Everything draws from named `random.Random` streams seeded from the seed,
size and anchor, so one stream's change does not shift another's.

Background data is meant to be clean: every rule in the catalog should be quiet on it, so that
`planted.json` is (close to) the complete list of what a careful compliance officer would flag.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.demo import names
from engine.demo.model import rec
from engine.demo.timeutil import (
    add_months,
    add_working_days,
    end_of_month,
    iso,
    iso_date,
    local,
    plus,
)
from engine.records.npi import check_digit as npi_check_digit

ORG_ID = "ORG-1"
ORG_NAME = "Vigil Health Partners"
ORG_STATES = ("CA", "CO", "FL", "HI", "IL", "NY", "TX", "WA")
HQ_TZ = "America/New_York"
TIN_MAIN = "84-7102935"
TIN_CHI = "36-4418207"


# ---- Establishments and roles --------------------------------------------------------------------


@dataclass(frozen=True)
class EstSpec:
    id: str
    name: str
    naics: str
    state: str
    tz: str
    osha_state_plan: bool
    mix: tuple[tuple[str, int], ...]


PRIMARY = (
    ("physician", 14), ("nurse_practitioner", 5), ("physician_assistant", 4), ("registered_nurse", 10),
    ("medical_assistant", 20), ("front_desk", 14), ("billing_specialist", 8), ("him_specialist", 3),
    ("practice_manager", 3), ("it_support", 2), ("facilities", 3),
)  # fmt: skip
OUTPATIENT = (
    ("physician", 10), ("nurse_practitioner", 8), ("licensed_therapist", 12), ("registered_nurse", 8),
    ("medical_assistant", 12), ("front_desk", 14), ("billing_specialist", 8), ("practice_manager", 3),
    ("facilities", 2),
)  # fmt: skip
AMBULATORY = (
    ("physician", 8), ("nurse_practitioner", 4), ("registered_nurse", 26), ("medical_assistant", 12),
    ("phlebotomist", 6), ("front_desk", 10), ("billing_specialist", 6), ("practice_manager", 3),
    ("facilities", 4),
)  # fmt: skip
LAB = (
    ("physician", 4), ("lab_technician", 40), ("phlebotomist", 20), ("front_desk", 10),
    ("billing_specialist", 5), ("practice_manager", 3), ("it_support", 2), ("facilities", 4),
)  # fmt: skip

ESTABLISHMENTS: tuple[EstSpec, ...] = (
    EstSpec("EST-NYC", f"{ORG_NAME} - Midtown Manhattan Primary Care", "621111", "NY", "America/New_York",
            False, PRIMARY),
    EstSpec("EST-CHI", f"{ORG_NAME} - Chicago Outpatient & Behavioral Health Center", "621498", "IL",
            "America/Chicago", False, OUTPATIENT),
    EstSpec("EST-DEN", f"{ORG_NAME} - Denver Infusion & Ambulatory Services", "621999", "CO",
            "America/Denver", False, AMBULATORY),
    EstSpec("EST-SAN", f"{ORG_NAME} - San Diego Family Medicine", "621111", "CA", "America/Los_Angeles",
            True, PRIMARY),
    EstSpec("EST-HNL", f"{ORG_NAME} - Honolulu Clinical Laboratory", "621511", "HI", "Pacific/Honolulu",
            True, LAB),
)  # fmt: skip
EST_BY_ID = {e.id: e for e in ESTABLISHMENTS}


@dataclass(frozen=True)
class RoleSpec:
    licensed: bool = False
    occ: bool = False
    phi: bool = True
    prescriber: bool = False
    clinician: bool = False  # sees patients in encounters
    bls: bool = False
    systems: tuple[str, ...] = ("M365",)


ROLES: dict[str, RoleSpec] = {
    "physician": RoleSpec(True, True, True, True, True, True, ("EHR", "M365", "VPN")),
    "nurse_practitioner": RoleSpec(True, True, True, True, True, True, ("EHR", "M365", "VPN")),
    "physician_assistant": RoleSpec(True, True, True, True, True, True, ("EHR", "M365")),
    "licensed_therapist": RoleSpec(True, False, True, False, True, False, ("EHR", "M365", "VPN")),
    "registered_nurse": RoleSpec(True, True, True, False, False, True, ("EHR", "M365")),
    "medical_assistant": RoleSpec(False, True, True, False, False, True, ("EHR", "M365")),
    "phlebotomist": RoleSpec(False, True, True, False, False, True, ("EHR", "M365")),
    "lab_technician": RoleSpec(False, True, True, False, False, False, ("LIS", "M365")),
    "front_desk": RoleSpec(systems=("EHR", "PM", "M365")),
    "billing_specialist": RoleSpec(systems=("EHR", "PM", "M365", "VPN")),
    "him_specialist": RoleSpec(systems=("EHR", "PM", "M365")),
    "practice_manager": RoleSpec(systems=("EHR", "PM", "M365", "VPN", "HR")),
    "it_support": RoleSpec(systems=("M365", "VPN", "HR")),
    "facilities": RoleSpec(phi=False, systems=()),
    "chief_executive_officer": RoleSpec(systems=("M365", "VPN", "HR")),
    "compliance_officer": RoleSpec(systems=("EHR", "PM", "M365", "VPN")),
    "security_officer": RoleSpec(systems=("M365", "VPN", "HR")),
    "site_administrator": RoleSpec(systems=("EHR", "PM", "M365", "HR")),
}
CLINICIAN_ROLES = frozenset(r for r, s in ROLES.items() if s.clinician)
MALPRACTICE_ROLES = frozenset({"physician", "nurse_practitioner", "physician_assistant", "licensed_therapist"})
# States issuing a separate controlled-substance registration [U]; the credentialing ruleset's default list.
STATES_WITH_CSR = frozenset({"AL", "CT", "DC", "DE", "HI", "IA", "ID", "IL", "IN", "LA", "MA", "MD", "MI", "MO",
                             "NJ", "NM", "NV", "OK", "RI", "SC", "SD", "UT", "WY"})

SYSTEM_NAMES = {
    "EHR": "Meridian EHR (certified EHR, all sites)",
    "PM": "Meridian Practice Management & Billing",
    "LIS": "Kilolani Laboratory Information System",
    "M365": "Email & office suite (tenant vigilhp)",
    "VPN": "Remote access VPN",
    "HR": "HR & payroll (Peoplewise)",
    "FAX": "CloudFax gateway",
    "PACS": "Imaging archive (PACS)",
}


# ---- Sizes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeSpec:
    active: dict[str, int]
    patients: int
    event_target: int
    window_days: int
    measure_n: int


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec({"EST-NYC": 12, "EST-CHI": 8, "EST-DEN": 23, "EST-SAN": 8, "EST-HNL": 4},
                      patients=1500, event_target=12_000, window_days=120, measure_n=300),
    "large": SizeSpec({"EST-NYC": 430, "EST-CHI": 290, "EST-DEN": 220, "EST-SAN": 300, "EST-HNL": 210},
                      patients=60_000, event_target=1_000_000, window_days=365, measure_n=3000),
}  # fmt: skip
MIN_ACTIVE = SIZES["small"].active


# ---- People --------------------------------------------------------------------------------------


@dataclass
class Episode:
    id: str
    person_id: str
    est: str
    role: str
    start: dt.datetime
    end: dt.datetime | None
    occ: bool
    exposure_at: dt.datetime | None
    phi: bool
    licensed: bool
    access_from: dt.datetime | None = None

    @property
    def tz(self) -> str:
        return EST_BY_ID[self.est].tz

    def active_on(self, day: dt.date) -> bool:
        return self.start.date() <= day and (self.end is None or self.end.date() > day)


@dataclass
class Training:
    course: str
    at: dt.datetime
    version: str | None
    trainer: str | None


@dataclass
class Worker:
    idx: int
    pid: str
    first: str
    last: str
    dob: dt.date
    address: str
    user_id: str = ""
    episodes: list[Episode] = field(default_factory=list)
    trainings: list[Training] = field(default_factory=list)
    hepb: dict[str, Any] | None = None
    credentials: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    npi: str | None = None
    lic_states: tuple[str, ...] = ()
    scribe: bool = False
    patient_id: str | None = None
    screen_skip: set[tuple[str, str]] = field(default_factory=set)  # (source, "YYYY-MM")
    screen_extra: list[dict[str, Any]] = field(default_factory=list)
    prehire_days: int = 5  # pre-hire exclusion check this many days before start (negative: after)
    tainted: bool = False  # used by a plant; background plants leave it alone
    no_bg_activity: bool = False

    @property
    def ep(self) -> Episode:
        return self.episodes[-1]

    @property
    def role(self) -> str:
        return self.episodes[-1].role

    @property
    def est(self) -> str:
        return self.episodes[-1].est

    @property
    def active(self) -> bool:
        return self.episodes[-1].end is None

    @property
    def spec(self) -> RoleSpec:
        return ROLES[self.role]

    def trainings_of(self, *courses: str) -> list[Training]:
        return [t for t in self.trainings if t.course in courses]

    def drop_trainings(self, courses: Iterable[str], *, after: dt.datetime | None = None) -> None:
        wanted = set(courses)
        self.trainings = [
            t for t in self.trainings if not (t.course in wanted and (after is None or t.at > after))
        ]


class AddressBook:
    """Unique street addresses per state (so a shared address is always a planted one)."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def take(self, state: str) -> str:
        k = self._next.get(state, 0)
        self._next[state] = k + 1
        cities = names.CITIES[state]
        n_streets = len(names.STREETS)
        street = names.STREETS[k % n_streets]
        city, zip3 = cities[(k // n_streets) % len(cities)]
        number = 100 + 4 * (k // (n_streets * len(cities))) + (k * 7) % 3
        return f"{number} {street}, {city}, {state} {zip3}{10 + k % n_streets:02d}"


# ---- The world -----------------------------------------------------------------------------------


class World:
    """Everything except the streamed activity, kept small enough for a 10x run."""

    def __init__(self, *, seed: int, size: str, anchor: dt.date, scale: float) -> None:
        self.seed = seed
        self.size = size
        self.anchor = anchor
        self.scale = scale
        spec = SIZES[size]
        self.active_target = {
            k: max(MIN_ACTIVE[k], round(v * scale)) for k, v in spec.active.items()
        }
        self.n_patients = max(SIZES["small"].patients, round(spec.patients * scale))
        self.event_target = max(2000, round(spec.event_target * scale))
        self.window_days = spec.window_days
        self.measure_n = max(60, round(spec.measure_n * scale)) if size == "large" else spec.measure_n
        self.Y = anchor.year
        self.horizon = dt.date(self.Y - 4, 1, 6)  # the group's records start here (merger date)
        self.addresses = AddressBook()
        self.workers: list[Worker] = []
        self.by_pid: dict[str, Worker] = {}
        self.user_ids: set[str] = set()
        self.npis: set[str] = set()
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.special_patients: list[dict[str, Any]] = []
        self.extra_events: list[tuple[dt.datetime, str, str, str, str, str, bool]] = []
        self.planted: list[dict[str, Any]] = []
        self.near_misses: list[dict[str, Any]] = []
        self.unplantable: dict[str, str] = {}
        self.partial: dict[str, str] = {}
        self.traps: list[str] = []
        self._rngs: dict[str, random.Random] = {}
        self._account_n: dict[tuple[str, str], int] = {}
        self.pacs_added = self.at(180, 9)  # an ePHI system added after the last risk analysis

    # -- randomness and time --------------------------------------------------------------------

    def rng(self, stream: str) -> random.Random:
        """A named, independent random stream (deterministic in seed, size, anchor and scale)."""
        if stream not in self._rngs:
            self._rngs[stream] = random.Random(f"{self.seed}/{self.size}/{self.anchor}/{self.scale}/{stream}")
        return self._rngs[stream]

    def day(self, days_ago: int) -> dt.date:
        return self.anchor - dt.timedelta(days=days_ago)

    def at(self, days_ago: int, hour: int, minute: int = 0, tz: str = HQ_TZ) -> dt.datetime:
        return local(self.day(days_ago), hour, minute, tz)

    def cutoff(self, tz: str) -> dt.datetime:
        """Start of the anchor day in a zone: generated facts happen strictly before it."""
        return local(self.anchor, 0, 0, tz)

    def past(self, instant: dt.datetime | None) -> bool:
        if instant is None:
            return False
        return instant < local(self.anchor, 0, 0, str(instant.tzinfo))

    @property
    def as_of(self) -> dt.datetime:
        """The evaluation instant the plants are built for: noon in New York on the anchor date."""
        return local(self.anchor, 12, 0, HQ_TZ).astimezone(dt.UTC)

    # -- record bookkeeping ---------------------------------------------------------------------

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        self.records.setdefault(record["type"], []).append(record)
        return record

    def find(self, record_type: str, record_id: str) -> dict[str, Any]:
        for r in self.records.get(record_type, []):
            if r["id"] == record_id:
                return r
        raise KeyError(f"{record_type} {record_id}")

    def plant(self, rule_id: str, subject_type: str, subject_id: str, note: str) -> None:
        self.planted.append({"rule_id": rule_id, "subject": {"type": subject_type, "id": subject_id}, "note": note})

    def near(self, rule_id: str, subject_type: str, subject_id: str, note: str) -> None:
        self.near_misses.append(
            {"rule_id": rule_id, "subject": {"type": subject_type, "id": subject_id}, "note": note}
        )

    # -- people ---------------------------------------------------------------------------------

    def _pid(self, idx: int) -> str:
        width = max(4, len(str(self._person_capacity())))
        return f"P-{idx:0{width}d}"

    def _person_capacity(self) -> int:
        return int(sum(self.active_target.values()) * 1.6) + 200

    def new_person(self, state: str, *, first: str | None = None, last: str | None = None,
                   dob: dt.date | None = None, rng: random.Random | None = None) -> Worker:
        r = rng or self.rng("people")
        idx = len(self.workers) + 1
        w = Worker(
            idx=idx,
            pid=self._pid(idx),
            first=first or r.choice(names.FIRST_NAMES),
            last=last or r.choice(names.SURNAMES),
            dob=dob or (self.anchor - dt.timedelta(days=r.randint(22 * 365, 66 * 365))),
            address=self.addresses.take(state),
        )
        w.user_id = self._user_id(w.first, w.last)
        self.workers.append(w)
        self.by_pid[w.pid] = w
        return w

    def _user_id(self, first: str, last: str) -> str:
        base = "".join(c for c in (first[0] + last).lower() if c.isalnum())
        candidate, n = base, 1
        while candidate in self.user_ids:
            n += 1
            candidate = f"{base}{n}"
        self.user_ids.add(candidate)
        return candidate

    def add_episode(self, w: Worker, est: str, role: str, start: dt.date, end: dt.date | None = None) -> Episode:
        spec = ROLES[role]
        tz = EST_BY_ID[est].tz
        start_at = local(start, 8, 0, tz)
        exposure_at = local(add_working_days(start, 1), 8, 30, tz) if spec.occ else None
        ep = Episode(
            id=f"EP-{w.pid[2:]}-{len(w.episodes) + 1}",
            person_id=w.pid,
            est=est,
            role=role,
            start=start_at,
            end=local(end, 17, 0, tz) if end else None,
            occ=spec.occ,
            exposure_at=exposure_at,
            phi=spec.phi,
            licensed=spec.licensed,
        )
        w.episodes.append(ep)
        if spec.licensed and not w.npi:
            w.npi = self._npi()
        return ep

    def _npi(self) -> str:
        r = self.rng("npi")
        while True:
            base = f"1{r.randint(0, 99_999_999):08d}"
            npi = base + str(npi_check_digit(base))
            if npi not in self.npis:
                self.npis.add(npi)
                return npi

    def hire(self, est: str, role: str, start: dt.date, *, end: dt.date | None = None,
             first: str | None = None, last: str | None = None, derive: bool = True,
             rng_stream: str = "people") -> Worker:
        """A new person with one episode; with `derive`, their trainings, accounts, ... too."""
        w = self.new_person(EST_BY_ID[est].state, first=first, last=last, rng=self.rng(rng_stream))
        self.add_episode(w, est, role, start, end)
        if derive:
            self.derive(w)
        return w

    # -- background workforce -------------------------------------------------------------------

    def build_workforce(self) -> None:
        """Four years of hires, departures and a few rehires per establishment."""
        r = self.rng("workforce")
        # leadership first: stable, readable ids P-0001..P-0005
        self.ceo = self.hire("EST-NYC", "chief_executive_officer", self.horizon, derive=False)
        self.privacy_officer = self.hire("EST-NYC", "compliance_officer", self.horizon, derive=False)
        self.security_officer = self.hire("EST-NYC", "security_officer", self.horizon, derive=False)
        self.medical_director = self.hire("EST-NYC", "physician", self.horizon, derive=False)
        self.den_admin = self.hire("EST-DEN", "site_administrator", self.horizon, derive=False)
        for e in ESTABLISHMENTS:
            target = self.active_target[e.id]
            founding = roster(e.mix, round(target * 0.9))
            active: list[Worker] = []
            for role in founding:
                start = self.horizon + dt.timedelta(days=r.randint(0, 80))
                active.append(self.hire(e.id, role, start, derive=False))
            former: list[Worker] = []
            month = self.horizon.replace(day=1)
            last_month = self.anchor.replace(day=1)
            total_months = (last_month.year - month.year) * 12 + last_month.month - month.month + 1
            m_index = 0
            while month <= last_month:
                m_index += 1
                month_end = min(end_of_month(month), self.anchor - dt.timedelta(days=2))
                # departures
                leavers = []
                for w in active:
                    if w.ep.start.date() + dt.timedelta(days=60) > month_end:
                        continue
                    if r.random() < 0.009:
                        first_day = max(month, w.ep.start.date() + dt.timedelta(days=60))
                        if first_day > month_end:
                            continue
                        end = first_day + dt.timedelta(days=r.randint(0, (month_end - first_day).days))
                        w.ep.end = local(end, 17, 0, w.ep.tz)
                        leavers.append(w)
                for w in leavers:
                    active.remove(w)
                    former.append(w)
                # hires up to a target that ramps from 90% to 100%
                goal = round(target * (0.9 + 0.1 * m_index / total_months))
                need = goal - len(active)
                for n in range(max(0, need)):
                    role = leavers[n].role if n < len(leavers) else r.choices(
                        [x for x, _ in e.mix], [wt for _, wt in e.mix])[0]
                    lo = month if month > self.horizon else self.horizon + dt.timedelta(days=90)
                    hi = min(end_of_month(month), self.anchor - dt.timedelta(days=1))
                    if lo > hi:
                        continue
                    start = lo + dt.timedelta(days=r.randint(0, (hi - lo).days))
                    rehire = [
                        w for w in former
                        if w.role == role and w.ep.end is not None
                        and (start - w.ep.end.date()).days >= 120 and not w.tainted
                    ]
                    if rehire and r.random() < 0.25 and start < self.anchor - dt.timedelta(days=60):
                        w = rehire[0]
                        former.remove(w)
                        self.add_episode(w, e.id, role, start)
                    else:
                        w = self.hire(e.id, role, start, derive=False)
                    active.append(w)
                month = add_months(month, 1)
        for w in self.workers:
            self.derive(w)

    # -- derived records ------------------------------------------------------------------------

    def derive(self, w: Worker) -> None:
        """Trainings, vaccination, credentials, accounts and telehealth/scribe traits of a worker."""
        r = random.Random(f"{self.seed}/{self.size}/{self.anchor}/{self.scale}/derive/{w.pid}")
        w.trainings = []
        w.credentials = []
        w.accounts = []
        w.hepb = None
        for ep in w.episodes:
            self._trainings(w, ep, r)
        self._hepb(w, r)
        spec = ROLES[w.role]
        if spec.clinician:
            extra = [s for s in ORG_STATES if s != EST_BY_ID[w.est].state]
            w.lic_states = (EST_BY_ID[w.est].state,)
            if r.random() < 0.35:
                w.lic_states += tuple(sorted(r.sample(extra, r.randint(1, 3))))
            w.scribe = r.random() < 0.45
        elif spec.licensed:
            w.lic_states = (EST_BY_ID[w.est].state,)
        self._credentials(w, r)
        self._accounts(w)

    def _cut(self, instant: dt.datetime, ep: Episode) -> bool:
        """True when an instant is usable for this episode: before the anchor day and its end."""
        return self.past(instant) and (ep.end is None or instant < ep.end)

    def _trainings(self, w: Worker, ep: Episode, r: random.Random) -> None:
        tz = ep.tz
        start = ep.start.date()
        spec = ROLES[ep.role]

        def add(course: str, at: dt.datetime) -> None:
            if self._cut(at, ep):
                ver = f"{course}-{at.year}.{1 if at.month <= 6 else 2}"
                w.trainings.append(Training(course, at, ver, r.choice(names.TRAINERS)))

        def annual(course: str, first: dt.datetime) -> None:
            at = first
            while self._cut(at, ep):
                add(course, at)
                at = plus(at, days=r.randint(330, 362))

        if spec.phi:
            d = r.randint(0, 6)
            annual("HIPAA_PRIVACY", local(start + dt.timedelta(days=d), 13, r.randint(0, 50), tz))
            annual("HIPAA_SECURITY", local(start + dt.timedelta(days=d), 14, r.randint(0, 50), tz))
        if spec.occ:
            annual("BBP", local(start, 10, r.randint(0, 40), tz))
            add("HAZCOM", local(start, 11, r.randint(0, 40), tz))
        annual("FIRE_EXT", local(start + dt.timedelta(days=r.randint(3, 12)), 15, r.randint(0, 50), tz))
        add("EAP", local(start, 9, r.randint(0, 50), tz))
        add("S1557", local(start + dt.timedelta(days=r.randint(1, 9)), 16, r.randint(0, 50), tz))
        if spec.clinician:
            add("AI_USE", local(start + dt.timedelta(days=r.randint(2, 9)), 16, r.randint(0, 50), tz))
        w.trainings.sort(key=lambda t: t.at)

    def _hepb(self, w: Worker, r: random.Random) -> None:
        eps = [e for e in w.episodes if e.occ and e.exposure_at]
        if not eps:
            return
        ep = eps[0]
        assert ep.exposure_at is not None
        offer_day = add_working_days(ep.exposure_at.date(), r.randint(1, 8))
        offered = local(offer_day, 10, r.randint(0, 59), ep.tz)
        if not self._cut(offered, ep):
            return
        roll = r.random()
        rec_ = {"offered_at": offered, "declined_at": None, "series_completed_at": None,
                "antibody_immune": False, "contraindicated": False}
        if roll < 0.62:
            done = plus(offered, days=r.randint(170, 200))
            rec_["series_completed_at"] = done if self.past(done) else None
        elif roll < 0.78:
            rec_["declined_at"] = plus(offered, minutes=r.randint(5, 60))
        elif roll < 0.95:
            rec_["antibody_immune"] = True
        else:
            rec_["contraindicated"] = True
        w.hepb = rec_

    def cred(self, w: Worker, kind: str, jurisdiction: str | None, number: str, issued: dt.datetime,
             expires: dt.datetime | None, *, rule: str = "exact", verified: dt.datetime | None = None,
             source: str, renewal: dt.datetime | None = None, status: str | None = None) -> dict[str, Any]:
        n = sum(1 for c in w.credentials if c["kind"] == kind and c["jurisdiction"] == jurisdiction) + 1
        cid = f"CR-{w.pid}-{kind}" + (f"-{jurisdiction}" if jurisdiction else "") + f"-{n}"
        if status is None:
            status = "active" if expires is None or not self.past(expires) else "expired"
        c = rec("credential", cid, person_id=w.pid, kind=kind, jurisdiction=jurisdiction, number=number,
                issued_at=iso(issued), expires_at=iso(expires), expiry_rule=rule, status=status,
                verified_at=iso(verified), source=source, renewal_submitted_at=iso(renewal))
        w.credentials.append(c)
        return c

    def _credentials(self, w: Worker, r: random.Random) -> None:
        role = w.role
        spec = ROLES[role]
        first = w.episodes[0]
        tz = first.tz
        span_start = first.start.date()
        last = w.episodes[-1]
        active = last.end is None
        ref = self.anchor if active else last.end.date()  # type: ignore[union-attr]
        horizon = self.anchor + dt.timedelta(days=120)

        def cycle(issued: dt.date, months: int, beyond: dt.date) -> dt.date:
            exp = add_months(issued, months)
            while exp <= beyond:
                exp = add_months(exp, months)
            return exp

        def verified() -> dt.datetime:
            return local(ref - dt.timedelta(days=r.randint(2, 26)), 10, r.randint(0, 59), tz)

        if spec.licensed:
            code = {"physician": "MD", "nurse_practitioner": "NP", "physician_assistant": "PA",
                    "licensed_therapist": "LCSW", "registered_nurse": "RN"}[role]
            for st in w.lic_states or (EST_BY_ID[w.est].state,):
                issued = span_start - dt.timedelta(days=r.randint(200, 3000))
                self.cred(w, "STATE_LICENSE", st, f"{st}-{code}-{r.randint(100000, 999999)}",
                          local(issued, 9, 0, tz), local(cycle(issued, 24, horizon), 23, 59, tz),
                          verified=verified(), source="state board (primary source)")
        if spec.prescriber:
            st = EST_BY_ID[w.est].state
            issued = span_start - dt.timedelta(days=r.randint(100, 2000))
            prefix = "B" if role == "physician" else "M"
            self.cred(w, "DEA", st, f"{prefix}{w.last[0].upper()}{r.randint(1000000, 9999999)}",
                      local(issued, 9, 0, tz), local(cycle(issued, 36, horizon), 23, 59, tz),
                      verified=verified(), source="DEA registration validation")
            if st in STATES_WITH_CSR:
                issued = span_start - dt.timedelta(days=r.randint(100, 1500))
                self.cred(w, "STATE_CSR", st, f"{st}-CSR-{r.randint(100000, 999999)}",
                          local(issued, 9, 0, tz), local(cycle(issued, 36, horizon), 23, 59, tz),
                          verified=verified(), source="state board (primary source)")
        if role == "physician":
            issued = span_start - dt.timedelta(days=r.randint(365, 5000))
            self.cred(w, "BOARD_CERT", None, f"ABMS-{r.randint(10000000, 99999999)}",
                      local(issued, 9, 0, tz), local(cycle(issued, 120, horizon + dt.timedelta(days=245)), 23, 59, tz),
                      verified=local(last.start.date() - dt.timedelta(days=r.randint(10, 60)), 11, 0, tz),
                      source="ABMS Certification Matters (primary source)")
        if role in MALPRACTICE_ROLES:
            term_start = span_start - dt.timedelta(days=r.randint(0, 300))
            policy = f"MPL-{r.randint(100000, 999999)}"
            stop = self.anchor - dt.timedelta(days=1) if active else ref
            while term_start <= stop:
                term_end = add_months(term_start, 12)
                self.cred(w, "MALPRACTICE", EST_BY_ID[w.est].state, policy, local(term_start, 0, 1, tz),
                          local(term_end, 0, 1, tz), verified=local(term_start, 10, 0, tz),
                          source="certificate of insurance (carrier)")
                term_start = term_end
        if spec.bls:
            self._card_chain(w, "BLS", span_start, ref, active, r)
            if w.est == "EST-DEN" and role in ("physician", "registered_nurse", "nurse_practitioner"):
                self._card_chain(w, "ACLS", span_start, ref, active, r)
            if w.est == "EST-SAN" and role == "physician":
                self._card_chain(w, "PALS", span_start, ref, active, r)
        if role in MALPRACTICE_ROLES and active:
            st = EST_BY_ID[w.est].state
            cycle_days = 180 if st == "IL" else 120
            attested = self.anchor - dt.timedelta(days=r.randint(5, cycle_days - 20))
            self.cred(w, "CAQH_ATTESTATION", st, f"{r.randint(10000000, 19999999)}",
                      local(attested, 10, 0, tz), local(attested + dt.timedelta(days=cycle_days), 23, 59, tz),
                      source="CAQH ProView", status="attested")

    def _card_chain(self, w: Worker, kind: str, span_start: dt.date, ref: dt.date, active: bool,
                    r: random.Random) -> None:
        """AHA cards: valid through the end of the month of issue + 24 months (C5)."""
        tz = w.episodes[0].tz
        issue = span_start - dt.timedelta(days=r.randint(10, 600))
        stop = self.anchor + dt.timedelta(days=35) if active else ref
        while True:
            expires = end_of_month(add_months(issue, 24))
            self.cred(w, kind, None, f"{kind}-{r.randint(10**11, 10**12 - 1)}", local(issue, 12, 0, tz),
                      local(expires, 23, 59, tz), rule="end_of_month", source="AHA eCard",
                      verified=local(min(issue + dt.timedelta(days=r.randint(1, 10)),
                                         self.anchor - dt.timedelta(days=1)), 12, 0, tz))
            if expires > stop:
                break
            nxt = expires - dt.timedelta(days=r.randint(5, 40))
            if active and expires <= self.anchor + dt.timedelta(days=35) and nxt >= self.anchor:
                nxt = self.anchor - dt.timedelta(days=r.randint(1, 5))
            issue = nxt

    def _accounts(self, w: Worker) -> None:
        r = random.Random(f"{self.seed}/{self.anchor}/acct/{w.pid}")
        for ep in w.episodes:
            systems = list(ROLES[ep.role].systems)
            if ep.est == "EST-HNL" and ep.role in ("physician", "phlebotomist") and "LIS" not in systems:
                systems.append("LIS")
            if ep.role == "physician":
                systems.append("PACS")
            for sys_id in systems:
                enabled = plus(ep.start, minutes=-15)
                if sys_id == "PACS":
                    enabled = max(enabled, self.pacs_added)
                    if ep.end is not None and enabled >= ep.end:
                        continue
                if not self.past(enabled):
                    continue
                disabled = plus(ep.end, hours=r.uniform(0.5, 6.0)) if ep.end else None
                if disabled is not None and not self.past(disabled):
                    disabled = None
                self.account(w, f"SYS-{sys_id}", ep, enabled, disabled)

    def account(self, w: Worker | None, system_id: str, ep: Episode | None, enabled: dt.datetime,
                disabled: dt.datetime | None, *, user_id: str | None = None, interactive: bool = True,
                generic: bool = False, mfa: bool | None = True) -> dict[str, Any]:
        uid = user_id or (w.user_id if w else "")
        short = system_id.removeprefix("SYS-")
        n = self._account_n.get((system_id, uid), 0) + 1
        self._account_n[(system_id, uid)] = n
        a = rec("account", f"ACC-{short}-{uid}-{n}", system_id=system_id, user_id=uid,
                person_id=w.pid if w else None, interactive=interactive, generic=generic,
                enabled_at=iso(enabled), disabled_at=iso(disabled), mfa_remote=mfa)
        if w is not None:
            w.accounts.append(a)
        else:
            self.add(a)
        return a

    # -- access windows -------------------------------------------------------------------------

    def compute_access(self) -> None:
        """Background chart access starts once both HIPAA courses of the episode are done (002)."""
        for w in self.workers:
            for ep in w.episodes:
                firsts = []
                for course in ("HIPAA_PRIVACY", "HIPAA_SECURITY"):
                    done = [t.at for t in w.trainings if t.course == course and t.at >= ep.start
                            and (ep.end is None or t.at < ep.end)]
                    firsts.append(min(done) if done else None)
                ep.access_from = None if None in firsts else max(f for f in firsts if f is not None)

    # -- special patients -----------------------------------------------------------------------

    def special_patient(self, *, state: str, last: str | None = None, first: str | None = None,
                        dob: dt.date | None = None, address: str | None = None, vip: bool = False,
                        restricted: bool = False, workforce: Worker | None = None) -> str:
        """A patient outside the background pools (no background visits ever touch them)."""
        r = self.rng("special-patients")
        pid = f"PT-{len(self.special_patients) + 1:06d}"
        p = rec("patient", pid,
                last_name=last or (workforce.last if workforce else r.choice(names.SURNAMES)),
                first_name=first or (workforce.first if workforce else r.choice(names.FIRST_NAMES)),
                dob=iso_date(dob or (workforce.dob if workforce else
                                     self.anchor - dt.timedelta(days=r.randint(20 * 365, 80 * 365)))),
                address=address or (workforce.address if workforce else self.addresses.take(state)),
                state=state, vip=vip, record_restricted=restricted,
                is_workforce_person_id=workforce.pid if workforce else None)
        if workforce is not None:
            workforce.patient_id = pid
        self.special_patients.append(p)
        return pid

    # -- picking workers for plants -------------------------------------------------------------

    def pick(self, *, roles: list[str], est: str | None = None, min_tenure_days: int = 400,
             active: bool = True) -> Worker:
        """An untouched background worker matching the criteria; marks it as used by a plant."""
        wanted = set(roles)
        r = self.rng("pick")
        pool = [
            w for w in self.workers
            if not w.tainted and w.role in wanted and (est is None or w.est == est)
            and w.active == active and len(w.episodes) == 1
            and (self.anchor - w.ep.start.date()).days >= min_tenure_days
            and w not in (self.ceo, self.privacy_officer, self.security_officer, self.medical_director,
                          self.den_admin)
        ]
        if not pool:
            # small practices run out of untouched staff: hire a dedicated (clean) person instead
            role = roles[0]
            if not active:
                raise LookupError(f"no former worker for roles={sorted(wanted)} est={est}")
            w = self.hire(est or "EST-NYC", role, self.day(min_tenure_days + r.randint(20, 200)),
                          rng_stream="pick-hire")
        else:
            w = r.choice(pool)
        w.tainted = True
        return w

    # -- records of a worker --------------------------------------------------------------------

    def worker_records(self, w: Worker) -> Iterator[dict[str, Any]]:
        yield rec("person", w.pid, first_name=w.first, last_name=w.last, dob=iso_date(w.dob),
                  address=w.address, patient_id=w.patient_id)
        for ep in w.episodes:
            yield rec("employment_episode", ep.id, person_id=w.pid, establishment_id=ep.est, role=ep.role,
                      start_at=iso(ep.start), end_at=iso(ep.end), occupational_exposure=ep.occ,
                      exposure_assignment_at=iso(ep.exposure_at), phi_access_required=ep.phi,
                      licensed_clinician=ep.licensed)
        counts: dict[str, int] = {}
        for t in sorted(w.trainings, key=lambda t: t.at):
            counts[t.course] = counts.get(t.course, 0) + 1
            yield rec("training_record", f"TR-{w.pid}-{t.course}-{counts[t.course]}", person_id=w.pid,
                      course=t.course, completed_at=iso(t.at), content_version=t.version, trainer=t.trainer)
        if w.hepb is not None:
            h = w.hepb
            yield rec("hepb_vaccination", f"HEPB-{w.pid}", person_id=w.pid, offered_at=iso(h["offered_at"]),
                      declined_at=iso(h["declined_at"]), series_completed_at=iso(h["series_completed_at"]),
                      antibody_immune=h["antibody_immune"], contraindicated=h["contraindicated"])
        yield from w.credentials
        yield from w.accounts
        yield from self.screenings(w)

    def screenings(self, w: Worker) -> Iterator[dict[str, Any]]:
        """Pre-hire LEIE/SAM (and state Medicaid for licensed staff) checks, then one per calendar month."""
        r = random.Random(f"{self.seed}/{self.anchor}/screen/{w.pid}")
        out: list[dict[str, Any]] = []
        for ep in w.episodes:
            sources = ["LEIE", "SAM"] + (["STATE_MEDICAID"] if ep.licensed else [])
            tz = ep.tz
            pre = ep.start.date() - dt.timedelta(days=w.prehire_days)
            checks: list[dt.date] = [pre]
            month = add_months(pre.replace(day=1), 1)
            last_day = ep.end.date() if ep.end else self.anchor - dt.timedelta(days=1)
            while month <= last_day:
                d = month + dt.timedelta(days=r.randint(1, 8))
                if ep.end is not None and d > last_day:
                    d = last_day
                if d <= last_day and d < self.anchor:
                    checks.append(d)
                month = add_months(month, 1)
            for d in checks:
                for src in sources:
                    if (src, d.strftime("%Y-%m")) in w.screen_skip:
                        continue
                    at = local(d, 6, 30 + sources.index(src), tz)
                    out.append(rec("screening", f"SCR-{w.pid}-{src}-{d.isoformat()}", person_id=w.pid,
                                   source=src, checked_at=iso(at), result="clear"))
        out.extend(w.screen_extra)
        by_id = {s["id"]: s for s in out}  # an extra record replaces a background one with the same id
        yield from sorted(by_id.values(), key=lambda s: s["id"])


def roster(mix: tuple[tuple[str, int], ...], n: int) -> list[str]:
    """`n` roles in the mix's proportions (largest remainder), at least one clinician and front desk."""
    total = sum(w for _, w in mix)
    quotas = [(role, n * w / total) for role, w in mix]
    counts = {role: int(q) for role, q in quotas}
    rest = n - sum(counts.values())
    for role, _q in sorted(quotas, key=lambda x: (-(x[1] - int(x[1])), x[0]))[:rest]:
        counts[role] += 1
    for must in ("physician", "front_desk"):
        if counts.get(must, 0) == 0 and must in counts:
            biggest = max(counts, key=lambda k: counts[k])
            counts[biggest] -= 1
            counts[must] = 1
    out: list[str] = []
    for role, _ in mix:
        out.extend([role] * counts[role])
    return out
