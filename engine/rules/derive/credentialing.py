"""Derivations for the credentialing rulesets (regulatory catalog section 4, CRED-*).

Credentials, employment episodes, screenings and encounters sit in different bundle families,
and most credentialing clocks depend on the record itself (an Illinois CAQH cycle is 180 days,
an AHA card runs to the end of the month of issue + 24 months, a renewal only counts when it was
filed before the expiry, only the latest credential of a chain matters). So each CRED rule reads
one derived "standing" fact per subject, built here set-wise, and the YAML rule stays a readable
obligation: `anchor: <fact>.due_at`, `within: {days: 0}`, `met_at: <fact>.renewed_at`.

What every derivation here does the same way:
- the evaluation instant is applied as engine.rules.facts does for records (a credential issued,
  an episode started, a check run or an encounter seen after `as_of` does not exist yet; a
  renewal, verification or episode end dated later is null);
- local dates come from the calendar service in the zone of the record's establishment (C7), and
  month arithmetic, end-of-month expiry and card validity use its C5 functions;
- `due_at` is a local date; the rule's deadline is that date (C1 with N = 0), so an obligation
  met on `due_at` is on time and an unmet one is overdue from the next local midnight;
- each fact lists the records it was computed from as evidence and joins the bundle of the
  person (or establishment) it is about.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.facttypes import FieldKind

#: Parameter defaults, mirrored from rulesets/credentialing (a unit test holds the two equal).
DEFAULTS: dict[str, Any] = {
    "compact_privileges_allowed": [],
    "credential_inactive_statuses": ["revoked", "suspended", "surrendered", "denied", "inactive",
                                     "relinquished", "retired", "void"],
    "license_adverse_statuses": ["restricted", "probation", "probationary", "conditional", "suspended",
                                 "revoked"],
    "states_requiring_csr": ["AL", "CT", "DC", "DE", "HI", "IA", "ID", "IL", "IN", "LA", "MA", "MD", "MI",
                             "MO", "NJ", "NM", "NV", "OK", "RI", "SC", "SD", "UT", "WY"],
    "board_cert_required_roles": ["physician"],
    "board_eligibility_years": 5,
    "caqh_reattest_days": 120,
    "caqh_reattest_days_long": 180,
    "caqh_long_cycle_states": ["IL"],
    "recred_months": 36,
    "recred_count_to_month": False,
    "npdb_mode": "AT_EACH_CREDENTIALING",
    "npdb_interval_months": 24,
    "npdb_continuous_renewal_months": 12,
    "mon_interval_months": 1,
    "mon_lookback_months": 12,
    "mon_sources": ["LEIE", "SAM", "STATE_MEDICAID"],
    "adverse_review_days": 30,
    "bls_required_roles": ["physician", "nurse_practitioner", "physician_assistant", "registered_nurse",
                           "licensed_practical_nurse", "medical_assistant", "phlebotomist"],
    "acls_required_roles": [],
    "pals_required_roles": [],
    "card_valid_months": 24,
}

#: Credential sources that mean "queried at the National Practitioner Data Bank" (CRED-NPDB-005).
NPDB_SOURCES = ("npdb", "national practitioner data bank")

Source = tuple[str, str, int]


def param(ctx: DeriveContext, name: str) -> Any:
    """A ruleset parameter as resolved for this run, or its default."""
    return ctx.param(name, DEFAULTS[name])


def _lower_set(values: Iterable[Any]) -> frozenset[str]:
    return frozenset(str(v).strip().lower() for v in values)


# ---- records as of the evaluation instant ---------------------------------------------------------


def parse_instant(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def happened(ctx: DeriveContext, value: Any) -> dt.datetime | None:
    """An instant that has happened by `as_of`, else None (CONTRACT: later has not happened yet)."""
    instant = parse_instant(value)
    return instant if instant is not None and instant <= ctx.as_of else None


def today(ctx: DeriveContext, tz: str) -> dt.date:
    return cal.local_date(ctx.as_of, tz)


def iso(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return cal.iso_instant(value)
    return value.isoformat()


@dataclass(frozen=True)
class Cred:
    """A credential as of the run: local dates in its holder's zone, later events nulled."""

    view: RecordView
    kind: str
    person_id: str
    jurisdiction: str
    status: str
    tz: str
    issued_on: dt.date | None
    valid_through: dt.date | None
    renewal_on: dt.date | None
    verified_on: dt.date | None

    @property
    def id(self) -> str:
        return self.view.id

    @property
    def src(self) -> Source:
        return (self.view.type, self.view.id, self.view.version)

    @property
    def source_text(self) -> str:
        return str(self.view.data.get("source") or "")

    def in_force(self, day: dt.date, inactive: frozenset[str]) -> bool:
        """Whether the credential authorises `day` (a local date).

        A status in `inactive` is a snapshot without a start date: it is taken to apply from the
        day the status was verified (or throughout, when nobody recorded a verification).
        """
        if self.issued_on is not None and day < self.issued_on:
            return False
        if self.valid_through is not None and day > self.valid_through:
            return False
        if self.status in inactive:
            return self.verified_on is not None and day < self.verified_on
        return True

    def timely_renewal(self) -> dt.date | None:
        """The renewal filing date when it was filed on or before the expiry (else None)."""
        if self.renewal_on is None or self.status == "denied":
            return None
        if self.valid_through is not None and self.renewal_on > self.valid_through:
            return None
        return self.renewal_on


def load_credentials(ctx: DeriveContext, views: Iterable[RecordView],
                     kinds: Iterable[str] | None = None) -> dict[str, list[Cred]]:
    """Credentials by person (kinds filtered), as of the run; end_of_month expiry applied (C5)."""
    wanted = frozenset(kinds) if kinds is not None else None
    out: dict[str, list[Cred]] = defaultdict(list)
    for view in views:
        data = view.data
        kind = str(data.get("kind") or "")
        if wanted is not None and kind not in wanted:
            continue
        issued = parse_instant(data.get("issued_at"))
        if issued is not None and issued > ctx.as_of:
            continue  # not issued yet
        tz = ctx.tz_of(view)
        expires = parse_instant(data.get("expires_at"))
        through = None
        if expires is not None:
            through = cal.valid_through(cal.local_date(expires, tz), str(data.get("expiry_rule") or "exact"))
        renewal = happened(ctx, data.get("renewal_submitted_at"))
        verified = happened(ctx, data.get("verified_at"))
        out[str(data.get("person_id") or "")].append(Cred(
            view=view, kind=kind, person_id=str(data.get("person_id") or ""),
            jurisdiction=str(data.get("jurisdiction") or "").strip().upper(),
            status=str(data.get("status") or "").strip().lower(), tz=tz,
            issued_on=cal.local_date(issued, tz) if issued else None, valid_through=through,
            renewal_on=cal.local_date(renewal, tz) if renewal else None,
            verified_on=cal.local_date(verified, tz) if verified else None,
        ))
    return out


def latest(creds: Iterable[Cred]) -> Cred | None:
    """The latest credential of a chain: furthest validity, then latest issue, then id."""
    return max(creds, key=lambda c: (c.valid_through or dt.date.max, c.issued_on or dt.date.min, c.id),
               default=None)


def chains(creds: Iterable[Cred], kind: str) -> dict[str, list[Cred]]:
    """Credentials of one kind grouped by jurisdiction."""
    out: dict[str, list[Cred]] = defaultdict(list)
    for c in creds:
        if c.kind == kind:
            out[c.jurisdiction].append(c)
    return out


@dataclass(frozen=True)
class Episode:
    view: RecordView
    person_id: str
    establishment_id: str
    role: str
    start_at: dt.datetime
    start_on: dt.date
    end_at: dt.datetime | None
    licensed: bool

    @property
    def src(self) -> Source:
        return (self.view.type, self.view.id, self.view.version)

    def active(self, as_of: dt.datetime) -> bool:
        return self.end_at is None or self.end_at > as_of


def load_episodes(ctx: DeriveContext, views: Iterable[RecordView]) -> dict[str, list[Episode]]:
    """Employment episodes by person, oldest first, as of the run (later starts dropped, later ends nulled)."""
    out: dict[str, list[Episode]] = defaultdict(list)
    for view in views:
        data = view.data
        start = parse_instant(data.get("start_at"))
        if start is None or start > ctx.as_of:
            continue
        tz = ctx.tz_of(view)
        out[str(data.get("person_id") or "")].append(Episode(
            view=view, person_id=str(data.get("person_id") or ""),
            establishment_id=str(data.get("establishment_id") or ""), role=str(data.get("role") or ""),
            start_at=start, start_on=cal.local_date(start, tz), end_at=happened(ctx, data.get("end_at")),
            licensed=data.get("licensed_clinician") is True,
        ))
    for eps in out.values():
        eps.sort(key=lambda e: (e.start_at, e.view.id))
    return out


def active_episodes(ctx: DeriveContext, eps: Iterable[Episode], *, licensed: bool = False) -> list[Episode]:
    return [e for e in eps if e.active(ctx.as_of) and (e.licensed or not licensed)]


def establishment_state(ctx: DeriveContext, est_id: str | None) -> str | None:
    est = ctx.establishments.get(est_id or "")
    state = est.data.get("state") if est is not None else None
    return str(state).upper() if state else None


def days_left(ctx: DeriveContext, data: Mapping[str, Any], fallback_tz: str) -> int | None:
    """Whole local days from today to `data["due_at"]` in the zone the fact's deadline uses (C7)."""
    if not data.get("due_at"):
        return None
    est = ctx.establishments.get(str(data.get("establishment_id") or ""))
    tz = str(est.data.get("tz") or fallback_tz) if est is not None else fallback_tz
    return (dt.date.fromisoformat(str(data["due_at"])) - today(ctx, tz)).days


def fact(ftype: str, fid: str, data: dict[str, Any], sources: Iterable[Source], key: str) -> DerivedFact:
    unique = sorted(set(sources))
    return DerivedFact(type=ftype, id=fid, data=data, sources=unique, bundle_key=key)


# ---- encounters: who saw a patient located where, and on which local date -----------------------


@dataclass
class Gap:
    """Encounters of one clinician not covered by a credential (one state, or any)."""

    count: int = 0
    first_at: dt.datetime | None = None
    first_on: dt.date | None = None
    last_at: dt.datetime | None = None
    last_on: dt.date | None = None
    establishment_id: str = ""
    encounters: list[Source] = field(default_factory=list)

    def add(self, view: RecordView, at: dt.datetime, day: dt.date) -> None:
        self.count += 1
        self.encounters.append((view.type, view.id, view.version))
        if self.first_at is None or at < self.first_at:
            self.first_at, self.first_on = at, day
            self.establishment_id = str(view.data.get("establishment_id") or "")
        if self.last_at is None or at > self.last_at:
            self.last_at, self.last_on = at, day

    def data(self) -> dict[str, Any]:
        return {"uncovered_count": self.count, "first_uncovered_at": iso(self.first_at),
                "first_uncovered_on": iso(self.first_on), "last_uncovered_at": iso(self.last_at),
                "last_uncovered_on": iso(self.last_on),
                "encounter_ids": [e[1] for e in sorted(self.encounters, key=lambda s: s[1])[:20]]}


def encounters_seen(ctx: DeriveContext, views: Iterable[RecordView]) -> Iterator[tuple[RecordView, str, dt.datetime,
                                                                                         dt.date, str | None]]:
    """(encounter, clinician, instant, local date, patient's state) for each encounter up to `as_of`.

    The patient's state is `patient_state`; an in-person visit without one is in the
    establishment's state; a telehealth visit without one cannot be placed and is skipped.
    """
    for view in views:
        data = view.data
        at = parse_instant(data.get("at"))
        clinician = data.get("clinician_person_id")
        if at is None or at > ctx.as_of or not clinician:
            continue
        state = data.get("patient_state")
        if not state and data.get("modality") != "telehealth":
            state = establishment_state(ctx, data.get("establishment_id"))
        yield view, str(clinician), at, cal.local_date(at, ctx.tz_of(view)), str(state).upper() if state else None


def lapse_before(creds: Iterable[Cred], day: dt.date) -> Cred | None:
    """The latest credential that had ended before `day` (a lapse rather than never held)."""
    return latest(c for c in creds if c.valid_through is not None and c.valid_through < day)


LICENSE_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "state": "string", "credential_id": "string", "expires_at": "date",
    "due_at": "date", "renewed_at": "date", "uncovered_count": "number", "first_uncovered_at": "instant",
    "first_uncovered_on": "date", "last_uncovered_at": "instant", "last_uncovered_on": "date",
    "encounter_ids": "list",
    "establishment_id": "string", "active_clinician": "bool", "days_left": "number",
}


@derivation(name="cred_license_standing", inputs=("credential", "employment_episode", "encounter"),
             output="cred_license_standing", fields=LICENSE_FIELDS, family="person",
             example="lic: cred_license_standing where uncovered_count > 0")
def license_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-LIC-001: a licensed clinician's standing in each state, one fact per (person, state).

    Emitted for every state whose patients a clinician saw without a STATE_LICENSE in force on the
    encounter's local date (nor a compact privilege the practice accepts), and for every state
    license of a clinician with an active licensed episode (its expiry clock). `due_at` is the
    license's last valid day, or, when there are uncovered encounters and no earlier license for
    that state, the local date of the first one; `renewed_at` is a renewal filed in time, and is
    null once an encounter went uncovered (a later renewal does not cure it).
    """
    inactive = _lower_set(param(ctx, "credential_inactive_statuses"))
    compact = frozenset(str(s).upper() for s in param(ctx, "compact_privileges_allowed"))
    creds = load_credentials(ctx, inputs["credential"], ("STATE_LICENSE",))
    staff = load_episodes(ctx, inputs["employment_episode"])
    gaps: dict[tuple[str, str], Gap] = defaultdict(Gap)
    memo: dict[tuple[str, str, dt.date], bool] = {}
    for view, pid, at, day, state in encounters_seen(ctx, inputs["encounter"]):
        if state is None:
            continue
        key = (pid, state, day)
        if key not in memo:
            held = creds.get(pid, [])
            memo[key] = any(c.jurisdiction == state and c.in_force(day, inactive) for c in held) or (
                state in compact and any(c.jurisdiction in compact and c.in_force(day, inactive) for c in held))
        if not memo[key]:
            gaps[(pid, state)].add(view, at, day)

    active = {pid for pid, eps in staff.items() if active_episodes(ctx, eps, licensed=True)}
    keys = set(gaps)
    for pid in active:
        for state, chain in chains(creds.get(pid, []), "STATE_LICENSE").items():
            cur = latest(chain)
            if cur is not None and cur.valid_through is not None and cur.status not in inactive:
                keys.add((pid, state))
    for pid, state in sorted(keys):
        chain = [c for c in creds.get(pid, []) if c.jurisdiction == state]
        cur = latest(chain)
        eps = active_episodes(ctx, staff.get(pid, []), licensed=True)
        data: dict[str, Any] = {"person_id": pid, "state": state, "active_clinician": bool(eps),
                                "credential_id": cur.id if cur else None,
                                "expires_at": iso(cur.valid_through) if cur else None,
                                "establishment_id": eps[-1].establishment_id if eps else None,
                                "uncovered_count": 0}
        sources = [c.src for c in chain] + [e.src for e in eps[-1:]]
        gap = gaps.get((pid, state))
        if gap is not None:
            assert gap.first_on is not None
            lapsed = lapse_before(chain, gap.first_on)
            data.update(gap.data(), due_at=iso(lapsed.valid_through if lapsed else gap.first_on), renewed_at=None,
                        establishment_id=data["establishment_id"] or gap.establishment_id)
            sources += gap.encounters
        else:
            assert cur is not None and cur.valid_through is not None
            data.update(due_at=iso(cur.valid_through), renewed_at=iso(cur.timely_renewal()))
        data["days_left"] = days_left(ctx, data, cur.tz if cur else "UTC")
        yield fact("cred_license_standing", f"{pid}/{state}", data, sources, f"person:{pid}")


# ---- controlled substances: DEA registration and state CSR ----------------------------------------

DEA_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "state": "string", "check": "string", "credential_id": "string",
    "expires_at": "date", "due_at": "date", "renewed_at": "date", "license_id": "string",
    "license_expires_at": "date", "establishment_id": "string", "days_left": "number",
}


@derivation(name="cred_dea_standing", inputs=("credential", "employment_episode"), output="cred_dea_standing",
            fields=DEA_FIELDS, family="person", example="dea: cred_dea_standing where check == 'no_state_license'")
def dea_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-DEA-002: each DEA registration of a person with an active episode, one fact per (person, state).

    `check` says which duty the fact tracks:
    - `expiry`: the registration's last valid day (`due_at`); a renewal filed on or before it
      (`renewed_at`) lets the registrant keep operating until DEA acts, unless DEA denied it;
    - `no_state_license`: the registration is current but no STATE_LICENSE for its state is in
      force today; `due_at` is the last day of the last license (or the registration's issue date
      when none was ever on file), so the lapse is overdue from the next day;
    - `no_registration`: the person holds a current DEA registration elsewhere but none for the
      state of an establishment they work at (21 CFR 1301.12); `due_at` is that episode's start.
    """
    inactive = _lower_set(param(ctx, "credential_inactive_statuses"))
    creds = load_credentials(ctx, inputs["credential"], ("DEA", "STATE_LICENSE"))
    staff = load_episodes(ctx, inputs["employment_episode"])
    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid])
        if not eps:
            continue
        held = creds.get(pid, [])
        deas = {s: c for s, c in chains(held, "DEA").items()}
        licenses = chains(held, "STATE_LICENSE")
        key = f"person:{pid}"
        current_anywhere = False
        for state, chain in sorted(deas.items()):
            reg = latest(chain)
            if reg is None or reg.status in inactive:
                continue
            day = today(ctx, reg.tz)
            current = reg.in_force(day, inactive) or reg.timely_renewal() is not None
            current_anywhere = current_anywhere or current
            lic_chain = licenses.get(state, [])
            lic = latest(lic_chain)
            data: dict[str, Any] = {"person_id": pid, "state": state, "credential_id": reg.id,
                                    "expires_at": iso(reg.valid_through), "license_id": lic.id if lic else None,
                                    "license_expires_at": iso(lic.valid_through) if lic else None,
                                    "establishment_id": eps[-1].establishment_id}
            sources = [reg.src] + [c.src for c in lic_chain] + [eps[-1].src]
            if current and not any(c.in_force(day, inactive) for c in lic_chain):
                ended = lapse_before(lic_chain, day)
                due = ended.valid_through if ended else (reg.issued_on or day)
                data.update(check="no_state_license", due_at=iso(due), renewed_at=None)
            elif reg.valid_through is not None:
                data.update(check="expiry", due_at=iso(reg.valid_through), renewed_at=iso(reg.timely_renewal()))
            else:
                continue
            data["days_left"] = days_left(ctx, data, reg.tz)
            yield fact("cred_dea_standing", f"{pid}/DEA/{state}", data, sources, key)
        if not current_anywhere:
            continue
        for ep in eps:
            where = establishment_state(ctx, ep.establishment_id)
            if where is None or where in deas:
                continue
            deas[where] = []  # one finding per state, from the earliest active episode there
            data = {"person_id": pid, "state": where, "check": "no_registration", "credential_id": None,
                    "expires_at": None, "due_at": iso(ep.start_on), "renewed_at": None, "license_id": None,
                    "license_expires_at": None, "establishment_id": ep.establishment_id}
            data["days_left"] = days_left(ctx, data, ctx.tz_of(ep.view))
            sources = [ep.src] + [c.src for c in held if c.kind == "DEA"]
            yield fact("cred_dea_standing", f"{pid}/DEA/{where}", data, sources, key)


CSR_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "state": "string", "check": "string", "credential_id": "string",
    "dea_id": "string", "expires_at": "date", "due_at": "date", "renewed_at": "date", "establishment_id": "string",
    "days_left": "number", "status": "string",
}


@derivation(name="cred_csr_standing", inputs=("credential", "employment_episode"), output="cred_csr_standing",
            fields=CSR_FIELDS, family="person", example="csr: cred_csr_standing where check == 'missing'")
def csr_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-CSR-003: the state controlled-substance registration behind each DEA registration held
    in a state of `states_requiring_csr`, for a person with an active episode.

    `check` is `missing` (no STATE_CSR for that state is on file, or its status is inactive;
    `due_at` is the DEA registration's issue date, since the state registration comes first, or
    the day the inactive status was verified) or `expiry` (the latest CSR's last valid day, met by
    a renewal filed on or before it).
    """
    inactive = _lower_set(param(ctx, "credential_inactive_statuses"))
    csr_states = frozenset(str(s).upper() for s in param(ctx, "states_requiring_csr"))
    creds = load_credentials(ctx, inputs["credential"], ("DEA", "STATE_CSR"))
    staff = load_episodes(ctx, inputs["employment_episode"])
    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid])
        if not eps:
            continue
        held = creds.get(pid, [])
        csrs = chains(held, "STATE_CSR")
        for state, chain in sorted(chains(held, "DEA").items()):
            reg = latest(chain)
            if state not in csr_states or reg is None or reg.status in inactive:
                continue
            csr_chain = csrs.get(state, [])
            csr = latest(csr_chain)
            data: dict[str, Any] = {"person_id": pid, "state": state, "dea_id": reg.id,
                                    "establishment_id": eps[-1].establishment_id,
                                    "status": csr.status if csr is not None else None}
            if csr is None or csr.status in inactive:
                since = csr.verified_on if csr is not None and csr.verified_on else reg.issued_on
                data.update(check="missing", credential_id=csr.id if csr else None,
                            expires_at=iso(csr.valid_through) if csr else None, renewed_at=None,
                            due_at=iso(since or today(ctx, reg.tz)))
            elif csr.valid_through is not None:
                data.update(check="expiry", credential_id=csr.id, expires_at=iso(csr.valid_through),
                            due_at=iso(csr.valid_through), renewed_at=iso(csr.timely_renewal()))
            else:
                continue
            data["days_left"] = days_left(ctx, data, reg.tz)
            sources = [reg.src] + [c.src for c in csr_chain] + [eps[-1].src]
            yield fact("cred_csr_standing", f"{pid}/CSR/{state}", data, sources, f"person:{pid}")


# ---- board certification, CAQH, NCQA cycle and verifications, NPDB ----------------------------------

BOARD_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "check": "string", "credential_id": "string", "role": "string",
    "expires_at": "date", "due_at": "date", "renewed_at": "date", "establishment_id": "string",
}


@derivation(name="cred_board_standing", inputs=("credential", "employment_episode"), output="cred_board_standing",
            fields=BOARD_FIELDS, family="person", example="board: cred_board_standing where check == 'unverified'")
def board_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-BOARD-004: board certification of active clinicians and of roles that require it.

    One fact per duty (`check`):
    - `expiry`: the latest certificate's last valid day, met by a renewal filed in time;
    - `unverified`: the certificate has no primary-source verification; due on the later of its
      issue date and the start of the current clinical episode (verified before practising);
    - `not_in_good_standing`: its status is inactive or adverse; due on the day that was verified
      (or the start of the current clinical episode when no verification date is on file);
    - `not_certified`: the role requires certification and none is on file; due
      `board_eligibility_years` (C5) after the first episode in such a role began (the contract has
      no training-completion date, so the window is counted from joining the practice).
    """
    bad = _lower_set(param(ctx, "credential_inactive_statuses")) | _lower_set(param(ctx, "license_adverse_statuses"))
    required = frozenset(param(ctx, "board_cert_required_roles"))
    years = int(param(ctx, "board_eligibility_years"))
    creds = load_credentials(ctx, inputs["credential"], ("BOARD_CERT",))
    staff = load_episodes(ctx, inputs["employment_episode"])
    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid])
        in_role = [e for e in eps if e.role in required]
        clinical = [e for e in eps if e.licensed] + in_role
        if not clinical:
            continue
        ep = max(clinical, key=lambda e: (e.start_at, e.view.id))
        certs = creds.get(pid, [])
        cur = latest(certs)
        base: dict[str, Any] = {"person_id": pid, "role": ep.role, "establishment_id": ep.establishment_id,
                                "credential_id": cur.id if cur else None,
                                "expires_at": iso(cur.valid_through) if cur else None, "renewed_at": None}
        key = f"person:{pid}"
        if cur is None:
            if in_role:
                first = min(e.start_on for e in staff[pid] if e.role in required)
                yield fact("cred_board_standing", f"{pid}/BOARD/not_certified",
                           dict(base, check="not_certified", due_at=iso(cal.add_years(first, years))),
                           [e.src for e in in_role], key)
            continue
        sources = [c.src for c in certs] + [ep.src]
        if cur.status in bad:
            due = cur.verified_on or ep.start_on
            yield fact("cred_board_standing", f"{pid}/BOARD/not_in_good_standing",
                       dict(base, check="not_in_good_standing", due_at=iso(due)), sources, key)
            continue
        if cur.verified_on is None:
            due = max(cur.issued_on or ep.start_on, ep.start_on)
            yield fact("cred_board_standing", f"{pid}/BOARD/unverified",
                       dict(base, check="unverified", due_at=iso(due)), sources, key)
        if cur.valid_through is not None:
            yield fact("cred_board_standing", f"{pid}/BOARD/expiry",
                       dict(base, check="expiry", due_at=iso(cur.valid_through),
                            renewed_at=iso(cur.timely_renewal())), sources, key)


CAQH_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "state": "string", "credential_id": "string", "attested_on": "date",
    "cycle_days": "number", "due_at": "date", "establishment_id": "string",
}


@derivation(name="cred_caqh_standing", inputs=("credential", "employment_episode"), output="cred_caqh_standing",
            fields=CAQH_FIELDS, family="person", example="caqh: cred_caqh_standing where cycle_days == 180")
def caqh_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-CAQH-006: the CAQH ProView re-attestation clock of each active person with a profile.

    The latest CAQH_ATTESTATION (by its `issued_at`, the attestation instant) starts the clock:
    `due_at` = local attestation date + `caqh_reattest_days_long` (180) when the practice state is
    in `caqh_long_cycle_states` (Illinois), else + `caqh_reattest_days` (120), C1. The practice
    state is the attestation's jurisdiction, else the state of the person's latest active
    establishment. CAQH sets the profile to Expired the day after `due_at`.
    """
    short, long_ = int(param(ctx, "caqh_reattest_days")), int(param(ctx, "caqh_reattest_days_long"))
    long_states = frozenset(str(s).upper() for s in param(ctx, "caqh_long_cycle_states"))
    creds = load_credentials(ctx, inputs["credential"], ("CAQH_ATTESTATION",))
    staff = load_episodes(ctx, inputs["employment_episode"])
    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid])
        attested = [c for c in creds.get(pid, []) if c.issued_on is not None]
        if not eps or not attested:
            continue
        cur = max(attested, key=lambda c: (c.issued_on or dt.date.min, parse_instant(c.view.data.get("issued_at")),
                                           c.id))
        assert cur.issued_on is not None
        state = cur.jurisdiction or establishment_state(ctx, eps[-1].establishment_id) or ""
        cycle = long_ if state in long_states else short
        data = {"person_id": pid, "state": state, "credential_id": cur.id, "attested_on": iso(cur.issued_on),
                "cycle_days": cycle, "due_at": iso(cal.add_days(cur.issued_on, cycle)),
                "establishment_id": eps[-1].establishment_id}
        yield fact("cred_caqh_standing", f"{pid}/CAQH", data, [cur.src, eps[-1].src], f"person:{pid}")


RECRED_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "basis": "string", "last_on": "date", "due_at": "date", "establishment_id": "string",
}


@derivation(name="cred_recred_standing", inputs=("credential", "employment_episode"),
            output="cred_recred_standing", fields=RECRED_FIELDS, family="person",
            example="recred: cred_recred_standing where basis == 'start'")
def recred_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-NCQA-RECRED-007: when each active licensed clinician's next recredentialing is due.

    The contract has no credentialing-decision record, so the cycle is counted from the evidence a
    decision leaves: the oldest primary-source verification among the clinician's state licenses
    in force today (`basis: license_verification`), or, when one of them was never verified (or
    none is in force), the start of the current licensed episode (`basis: start`, the initial
    credentialing). `due_at` = that date + `recred_months` (C5, clamped), or the end of that month
    when `recred_count_to_month` is true.
    """
    inactive = _lower_set(param(ctx, "credential_inactive_statuses"))
    months = int(param(ctx, "recred_months"))
    to_month = bool(param(ctx, "recred_count_to_month"))
    creds = load_credentials(ctx, inputs["credential"], ("STATE_LICENSE",))
    staff = load_episodes(ctx, inputs["employment_episode"])
    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid], licensed=True)
        if not eps:
            continue
        ep = eps[-1]
        day = today(ctx, ctx.tz_of(ep.view))
        current = [c for c in (latest(ch) for ch in chains(creds.get(pid, []), "STATE_LICENSE").values())
                   if c is not None and c.in_force(day, inactive)]
        if current and all(c.verified_on is not None for c in current):
            basis, last = "license_verification", min(c.verified_on for c in current if c.verified_on)
        else:
            basis, last = "start", min(e.start_on for e in eps)
        due = cal.add_months(last, months)
        if to_month:
            due = cal.end_of_month(due)
        data = {"person_id": pid, "basis": basis, "last_on": iso(last), "due_at": iso(due),
                "establishment_id": ep.establishment_id}
        yield fact("cred_recred_standing", f"{pid}/RECRED", data, [c.src for c in current] + [e.src for e in eps],
                   f"person:{pid}")


PSV_LABELS = {"license": "state license verification", "dea": "DEA registration verification",
              "board_certification": "board certification verification", "leie": "OIG LEIE exclusion check",
              "sam": "SAM exclusion check"}
PSV_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "item": "string", "item_label": "string", "record_id": "string", "decision_on": "date",
    "verified_on": "date", "age_days": "number", "due_at": "date", "establishment_id": "string",
}


@derivation(name="cred_psv_item", inputs=("credential", "employment_episode", "screening"), output="cred_psv_item",
            fields=PSV_FIELDS, family="person", example="psv: cred_psv_item where verified_on == null",
            heavy=True)  # in the derive process with the other two readers of the screenings (bench/README.md)
def psv_items(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-NCQA-PSV-008: the age of each verification in an active clinician's initial credentialing file.

    The contract has no decision record, so the decision date is taken as the local start date of
    the current licensed episode (a practitioner is credentialed before seeing patients), and only
    files whose decision falls inside the current `recred_months` cycle are looked at. Items: the
    license for the establishment's state, a DEA registration there, a board certificate, and the
    LEIE and SAM exclusion checks. `verified_on` is the latest verification on or before the
    decision (the exact check history for screenings; a credential's `verified_at` only when it is
    not later than the decision: a later value means the item was re-verified since and the
    initial verification is not on file, so no fact). `age_days` = decision - verified_on.
    """
    inactive = _lower_set(param(ctx, "credential_inactive_statuses"))
    months = int(param(ctx, "recred_months"))
    creds = load_credentials(ctx, inputs["credential"], ("STATE_LICENSE", "DEA", "BOARD_CERT"))
    staff = load_episodes(ctx, inputs["employment_episode"])
    checks = load_screenings(ctx, inputs["screening"])
    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid], licensed=True)
        if not eps:
            continue
        ep = eps[-1]
        decision = ep.start_on
        if cal.add_months(decision, months) < today(ctx, ctx.tz_of(ep.view)):
            continue
        state = establishment_state(ctx, ep.establishment_id)
        held = creds.get(pid, [])
        items: list[tuple[str, RecordView | None, dt.date | None]] = []
        for kind, label in (("STATE_LICENSE", "license"), ("DEA", "dea"), ("BOARD_CERT", "board_certification")):
            pool = [c for c in held if c.kind == kind and (kind == "BOARD_CERT" or c.jurisdiction == state)]
            item = latest(c for c in pool if c.in_force(decision, inactive)) or latest(pool)
            if item is None or (item.verified_on is not None and item.verified_on > decision):
                continue
            items.append((label, item.view, item.verified_on))
        for src in ("LEIE", "SAM"):
            done = [s for s in checks.get((pid, src), []) if s.checked_on <= decision]
            last = max(done, key=lambda s: (s.checked_at, s.view.id), default=None)
            items.append((src.lower(), last.view if last else None, last.checked_on if last else None))
        for label, view, verified in items:
            data = {"person_id": pid, "item": label, "item_label": PSV_LABELS[label],
                    "record_id": view.id if view else None, "decision_on": iso(decision), "verified_on": iso(verified),
                    "age_days": (decision - verified).days if verified else None, "due_at": iso(decision),
                    "establishment_id": ep.establishment_id}
            sources = [ep.src] + ([(view.type, view.id, view.version)] if view else [])
            yield fact("cred_psv_item", f"{pid}/PSV/{label}", data, sources, f"person:{pid}")


NPDB_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "mode": "string", "credential_id": "string", "last_on": "date",
    "interval_months": "number", "due_at": "date", "establishment_id": "string",
}


@derivation(name="cred_npdb_standing", inputs=("credential", "employment_episode"), output="cred_npdb_standing",
            fields=NPDB_FIELDS, family="person", example="npdb: cred_npdb_standing where mode == 'CONTINUOUS'")
def npdb_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-NPDB-005: when an active licensed clinician's next NPDB query (or enrollment renewal) is due.

    The contract has no NPDB record; a query shows up as a credential whose `source` names the
    NPDB (e.g. malpractice history or licensure verified through it). Only clinicians with such
    evidence are followed: `last_on` is its latest verification (or issue) date and `due_at` adds
    `npdb_interval_months` (AT_EACH_CREDENTIALING) or `npdb_continuous_renewal_months`
    (CONTINUOUS: the Continuous Query enrollment is renewed yearly), C5.
    """
    mode = str(param(ctx, "npdb_mode")).upper()
    months = int(param(ctx, "npdb_continuous_renewal_months" if mode == "CONTINUOUS" else "npdb_interval_months"))
    creds = load_credentials(ctx, inputs["credential"])
    staff = load_episodes(ctx, inputs["employment_episode"])
    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid], licensed=True)
        queried = [(c.verified_on or c.issued_on, c) for c in creds.get(pid, [])
                   if any(s in c.source_text.lower() for s in NPDB_SOURCES) and (c.verified_on or c.issued_on)]
        if not eps or not queried:
            continue
        last, cur = max(queried, key=lambda x: (x[0], x[1].id))
        assert last is not None
        data = {"person_id": pid, "mode": mode, "credential_id": cur.id, "last_on": iso(last),
                "interval_months": months, "due_at": iso(cal.add_months(last, months)),
                "establishment_id": eps[-1].establishment_id}
        yield fact("cred_npdb_standing", f"{pid}/NPDB", data, [cur.src, eps[-1].src], f"person:{pid}")


# ---- ongoing monitoring ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    view: RecordView
    checked_at: dt.datetime
    checked_on: dt.date
    result: str


def load_screenings(ctx: DeriveContext, views: Iterable[RecordView]) -> dict[tuple[str, str], list[Check]]:
    """Exclusion checks by (person, source), as of the run (checks run later do not exist yet)."""
    out: dict[tuple[str, str], list[Check]] = defaultdict(list)
    for view in views:
        at = happened(ctx, view.data.get("checked_at"))
        if at is None:
            continue
        key = (str(view.data.get("person_id") or ""), str(view.data.get("source") or ""))
        out[key].append(Check(view, at, cal.local_date(at, ctx.tz_of(view)), str(view.data.get("result") or "")))
    return out


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
    end of the month `mon_interval_months` later, and closed by the next check (None while open)."""

    key: str
    due: dt.date
    opened: Check | None
    closed: Check | None


def monthly_cycles(history: list[Check], start: dt.date, opener: str, today_: dt.date, months: int,
                   lookback: int) -> tuple[Cycle, list[Cycle]]:
    """Walk an episode's checks of one list: each is due by the end of the month `months` after the
    previous one (the first, after the episode's start month). Returns the open cycle (after the
    last check) and the cycles closed late (a month went by without a check and a later check
    resumed the chain) whose due date is inside the last `lookback` months, oldest first.

    A cycle is keyed by what opened it, `monthly:<check id>` (`monthly:<opener>`, the episode, for
    the first), so an overdue cycle stays the same finding when the check is made late, and each
    missed month is its own finding."""
    def next_due(day: dt.date) -> dt.date:
        return cal.end_of_month(cal.add_months(day, months))

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
            output="cred_monitoring", fields=MON_FIELDS, family="person",
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
      `mon_interval_months` after the last check (or after the episode's start month), C5 end of
      month; key `monthly:<the check that opened it>` (`monthly:<episode>` before the first);
    - `missed_month`: a cycle closed late (a month went by without a check and a later check
      resumed the chain): `due_at` is the missed deadline, `checked_late_on` the late check, the
      key that of the cycle (so the overdue finding becomes this late one); every such cycle due
      in the last `mon_lookback_months`;
    - `missing`: a board with no verification on file; due on the first day of the episode;
    - `exclusion` / `possible_match`: the latest screening found one; act the same day
      (`due_at` = check date; key `<check>:<screening id>`); `review_by` = + `adverse_review_days`
      for the committee; the open cycle is not reported beside it;
    - `restriction`: the license's status is adverse (restricted, on probation, suspended...);
      due the day that status was verified.
    """
    adverse = _lower_set(param(ctx, "license_adverse_statuses"))
    inactive = _lower_set(param(ctx, "credential_inactive_statuses"))
    months = int(param(ctx, "mon_interval_months"))
    lookback = int(param(ctx, "mon_lookback_months"))
    review = int(param(ctx, "adverse_review_days"))
    sources = [str(s) for s in param(ctx, "mon_sources")]
    creds = load_credentials(ctx, inputs["credential"], ("STATE_LICENSE",))
    staff = load_episodes(ctx, inputs["employment_episode"])
    checks = load_screenings(ctx, inputs["screening"])

    def src_of(check: Check) -> Source:
        return (check.view.type, check.view.id, check.view.version)

    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid], licensed=True)
        if not eps:
            continue
        ep = eps[-1]
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
            used = [ep.src] + ([src_of(last)] if last else [])
            yield anchor(list_id, src, used)
            current, late = monthly_cycles(history, ep.start_on, ep.view.id, day, months, lookback)
            for c in late:
                assert c.closed is not None
                yield duty(list_id, dict(data, check="missed_month", key=c.key, due_at=iso(c.due),
                                         checked_late_on=iso(c.closed.checked_on), record_id=c.closed.view.id),
                           [ep.src] + [src_of(x) for x in (c.opened, c.closed) if x is not None])
            if last is not None and last.result.lower() in ("excluded", "possible_match"):
                check = "exclusion" if last.result.lower() == "excluded" else "possible_match"
                yield duty(list_id, dict(data, check=check, key=f"{check}:{last.view.id}", due_at=iso(last.checked_on),
                                         review_by=iso(cal.add_days(last.checked_on, review))), used)
            else:
                yield duty(list_id, dict(data, check="monthly", key=current.key, due_at=iso(current.due)), used)
        for state, chain in sorted(chains(creds.get(pid, []), "STATE_LICENSE").items()):
            cur = latest(chain)
            if cur is None or not (cur.in_force(day, inactive) or cur.status in adverse):
                continue
            list_id = f"{pid}/MON/BOARD:{state}"
            used = [cur.src, ep.src]
            yield anchor(list_id, f"BOARD:{state}", used)
            data = dict(base, source=f"BOARD:{state}", result=cur.status or None, record_id=cur.id,
                        last_checked_on=iso(cur.verified_on))
            if cur.status in adverse:
                seen = cur.verified_on or ep.start_on
                data.update(check="restriction", key=f"restriction:{cur.id}", due_at=iso(seen),
                            review_by=iso(cal.add_days(seen, review)))
            elif cur.verified_on is None:
                data.update(check="missing", key=f"missing:{cur.id}", due_at=iso(ep.start_on))
            else:
                data.update(check="monthly", key=f"monthly:{cur.id}:{iso(cur.verified_on)}",
                            due_at=iso(cal.end_of_month(cal.add_months(cur.verified_on, months))))
            yield duty(list_id, data, used)


# ---- malpractice, CLIA, life-support cards --------------------------------------------------------

MAL_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "check": "string", "credential_id": "string", "expires_at": "date", "due_at": "date",
    "uncovered_count": "number", "first_uncovered_at": "instant", "first_uncovered_on": "date",
    "last_uncovered_at": "instant", "last_uncovered_on": "date", "encounter_ids": "list",
    "establishment_id": "string",
}


@derivation(name="cred_malpractice_standing", inputs=("credential", "employment_episode", "encounter"),
            output="cred_malpractice_standing", fields=MAL_FIELDS, family="person",
            example="mal: cred_malpractice_standing where uncovered_count > 0")
def malpractice_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-MAL-010: professional liability coverage of each clinician, one fact per person.

    `check` is `uncovered` when encounters fell on local dates no MALPRACTICE policy of the
    clinician was in force (`due_at` = last day of the policy that lapsed before the first one, or
    that encounter's date when none did), else `expiry` for a person with an active episode who
    holds a policy (`due_at` = the latest policy's last day: coverage must continue past it).
    """
    inactive = _lower_set(param(ctx, "credential_inactive_statuses"))
    creds = load_credentials(ctx, inputs["credential"], ("MALPRACTICE",))
    staff = load_episodes(ctx, inputs["employment_episode"])
    gaps: dict[str, Gap] = defaultdict(Gap)
    memo: dict[tuple[str, dt.date], bool] = {}
    for view, pid, at, day, _state in encounters_seen(ctx, inputs["encounter"]):
        if (pid, day) not in memo:
            memo[(pid, day)] = any(c.in_force(day, inactive) for c in creds.get(pid, []))
        if not memo[(pid, day)]:
            gaps[pid].add(view, at, day)
    people = set(gaps) | {pid for pid, eps in staff.items() if active_episodes(ctx, eps) and creds.get(pid)}
    for pid in sorted(people):
        policies = creds.get(pid, [])
        cur = latest(policies)
        eps = active_episodes(ctx, staff.get(pid, []))
        data: dict[str, Any] = {"person_id": pid, "credential_id": cur.id if cur else None,
                                "expires_at": iso(cur.valid_through) if cur else None, "uncovered_count": 0,
                                "establishment_id": eps[-1].establishment_id if eps else None}
        sources = [c.src for c in policies] + [e.src for e in eps[-1:]]
        gap = gaps.get(pid)
        if gap is not None:
            assert gap.first_on is not None
            lapsed = lapse_before(policies, gap.first_on)
            data.update(gap.data(), check="uncovered", due_at=iso(lapsed.valid_through if lapsed else gap.first_on),
                        establishment_id=data["establishment_id"] or gap.establishment_id)
            sources += gap.encounters
        elif cur is not None and cur.valid_through is not None and cur.status not in inactive:
            data.update(check="expiry", due_at=iso(cur.valid_through))
        else:
            continue
        yield fact("cred_malpractice_standing", f"{pid}/MAL", data, sources, f"person:{pid}")


CLIA_FIELDS: dict[str, FieldKind] = {
    "establishment_id": "string", "location": "string", "credential_id": "string", "number": "string",
    "expires_at": "date", "due_at": "date", "renewed_at": "date", "status": "string",
}


@derivation(name="cred_clia_standing", inputs=("credential", "employment_episode"), output="cred_clia_standing",
            fields=CLIA_FIELDS, family="establishment", example="clia: cred_clia_standing where renewed_at == null")
def clia_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-CLIA-011: the latest CLIA certificate of each testing location, one fact per location.

    A certificate's location is its `jurisdiction` when that names an establishment, else the
    establishment of its holder's (the laboratory director's) latest episode. `due_at` is the
    certificate's last valid day; `renewed_at` is a renewal (fee paid, reissue requested) filed on
    or before it.
    """
    inactive = _lower_set(param(ctx, "credential_inactive_statuses"))
    creds = load_credentials(ctx, inputs["credential"], ("CLIA",))
    staff = load_episodes(ctx, inputs["employment_episode"])
    by_location: dict[str, list[Cred]] = defaultdict(list)
    for pid, held in creds.items():
        for c in held:
            raw = str(c.view.data.get("jurisdiction") or "")
            eps = staff.get(pid, [])
            location = raw if raw in ctx.establishments else (eps[-1].establishment_id if eps else raw or pid)
            by_location[location].append(c)
    for location in sorted(by_location):
        chain = by_location[location]
        cur = latest(chain)
        if cur is None or cur.valid_through is None or cur.status in inactive:
            continue
        est = location if location in ctx.establishments else None
        data = {"establishment_id": est, "location": location, "credential_id": cur.id,
                "number": cur.view.data.get("number"), "expires_at": iso(cur.valid_through),
                "due_at": iso(cur.valid_through), "renewed_at": iso(cur.timely_renewal()), "status": cur.status}
        yield fact("cred_clia_standing", f"CLIA/{location}", data, [c.src for c in chain],
                   f"establishment:{est or 'unassigned'}")


CARD_KINDS = (("BLS", "bls_required_roles"), ("ACLS", "acls_required_roles"), ("PALS", "pals_required_roles"))
CARD_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "kind": "string", "check": "string", "role": "string", "credential_id": "string",
    "issued_on": "date", "expires_at": "date", "due_at": "date", "establishment_id": "string",
}


def card_through(card: Cred, months: int) -> dt.date | None:
    """A course card's last valid day: end of the month of issue + `months` (C5), or the printed
    expiry (with its expiry rule) when that is earlier."""
    computed = cal.card_valid_through(card.issued_on, months) if card.issued_on else None
    dates = [d for d in (computed, card.valid_through) if d is not None]
    return min(dates) if dates else None


@derivation(name="cred_card_standing", inputs=("credential", "employment_episode"), output="cred_card_standing",
            fields=CARD_FIELDS, family="person", example="card: cred_card_standing where kind == 'BLS'")
def card_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-BLS-012: each life-support card a person's active role requires, one fact per (person, kind).

    `check` is `expiry` (`due_at` = the latest card's last valid day, see `card_through`) or
    `missing` (no card of that kind; due on the first day of the earliest active episode in a role
    that requires it: the card is needed before the first clinical shift).
    """
    inactive = _lower_set(param(ctx, "credential_inactive_statuses"))
    months = int(param(ctx, "card_valid_months"))
    creds = load_credentials(ctx, inputs["credential"], ("BLS", "ACLS", "PALS"))
    staff = load_episodes(ctx, inputs["employment_episode"])
    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid])
        for kind, roles_param in CARD_KINDS:
            roles = frozenset(param(ctx, roles_param))
            needing = [e for e in eps if e.role in roles]
            if not needing:
                continue
            ep = needing[0]
            cards = [c for c in creds.get(pid, []) if c.kind == kind and c.status not in inactive]
            dated = [(card_through(c, months), c) for c in cards]
            cur = max(((d, c) for d, c in dated if d is not None), key=lambda x: (x[0], x[1].id), default=None)
            data: dict[str, Any] = {"person_id": pid, "kind": kind, "role": ep.role,
                                    "establishment_id": ep.establishment_id}
            if cur is None:
                data.update(check="missing", credential_id=None, issued_on=None, expires_at=None,
                            due_at=iso(ep.start_on))
            else:
                through, card = cur
                data.update(check="expiry", credential_id=card.id, issued_on=iso(card.issued_on),
                            expires_at=iso(through), due_at=iso(through))
            yield fact("cred_card_standing", f"{pid}/{kind}", data, [c.src for c in cards] + [ep.src],
                       f"person:{pid}")
