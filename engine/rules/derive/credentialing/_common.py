"""Parameter defaults and shared helpers of the credentialing derivations: credentials, employment
episodes, encounters and exclusion checks as of the evaluation instant, and the fact builder."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.records.vocab import role_key
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView
from engine.rules.derive.engagements import engaged_on, engagement_of
from engine.rules.state_zones import establishment_tz

#: Parameter defaults, mirrored from rulesets/credentialing (a unit test holds the two equal).
DEFAULTS: dict[str, Any] = {
    "compact_privileges_allowed": [],
    "credential_inactive_statuses": ["revoked", "suspended", "surrendered", "denied", "inactive",
                                     "relinquished", "retired", "void"],
    "credential_pending_statuses": ["pending", "applied", "application_pending", "in_process", "under_review"],
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


Source = tuple[str, str, int]


def param(ctx: DeriveContext, name: str) -> Any:
    """A ruleset parameter as resolved for this run, or its default."""
    return ctx.param(name, DEFAULTS[name])


def param_on(ctx: DeriveContext, name: str, day: dt.date) -> Any:
    """A parameter's value in force on `day` (a local date), or its default: for a window counted
    from an anchor (a verification, an attestation, a check), which keeps the length it had then."""
    return ctx.param_on(name, day, DEFAULTS[name])


def used(ctx: DeriveContext, name: str, value: Any) -> dict[str, Any]:
    """`DeriveContext.used` for one parameter of this framework: what a fact adds to its data when
    `value` (read with `param_on`) is not today's, so its message prints the value its due used."""
    return ctx.used({name: (value, DEFAULTS[name])})


def _lower_set(values: Iterable[Any]) -> frozenset[str]:
    return frozenset(str(v).strip().lower() for v in values)


#: Statuses that say a credential ended before its printed expiry, whatever
#: `credential_inactive_statuses` lists: the catalog asks for a credential "with status ACTIVE", and a
#: malpractice policy cancelled or lapsed for non-payment, or a license terminated, had counted as in
#: force to its printed date (the list names revocations and surrenders, and a practice's override
#: replaces it whole). "expired" is not among them: it is the status a credential carries once its
#: own date has passed, and an export made later says it of a credential that was valid then (the
#: expiry date, `expiry_rule`, decides when it ended; with no expiry date the status does, see
#: `Cred.in_force`).
ENDED_STATUSES = frozenset({"lapsed", "cancelled", "canceled", "terminated", "closed"})


def inactive_statuses(ctx: DeriveContext) -> frozenset[str]:
    """The statuses (lower case) under which a credential is not in force: the parameter's and the ended ones."""
    return _lower_set(param(ctx, "credential_inactive_statuses")) | ENDED_STATUSES


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
    #: the local date of `verified_at` even when that is after the run's instant: an inactive status
    #: verified later was not yet known then, so the credential was still in force
    status_from: dt.date | None = None
    #: an application not yet granted (`credential_pending_statuses`): in force on no day
    pending: bool = False

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
        day the status was verified (or throughout, when nobody recorded a verification). A
        verification after the run's instant had not happened then (CONTRACT: later has not
        happened yet), so until that day the credential is judged by its dates alone.
        """
        if self.pending or (self.issued_on is not None and day < self.issued_on):
            return False
        if self.valid_through is not None and day > self.valid_through:
            return False
        if self.status in inactive or (self.status == "expired" and self.valid_through is None):
            # "expired" with no expiry date: no date says when it ended, so the status does, as an
            # inactive one (it had covered every day, the contrary of what it says)
            return self.status_from is not None and day < self.status_from
        return True

    def inactive_through(self, day: dt.date) -> dt.date:
        """The last day an inactive status (revoked, suspended ...) left the credential in force: the
        day before that status was verified, else before its issue (never in force), else before
        `day` (DEA-002 and CLIA-011 date their findings by it)."""
        return cal.add_days(self.verified_on or self.issued_on or day, -1)

    def timely_renewal(self) -> dt.date | None:
        """The renewal filing date when it was filed on or before the expiry (else None)."""
        denied = self.status == "denied" and (self.verified_on is not None or self.status_from is None)
        if self.renewal_on is None or denied:  # a denial verified after the run was not known then
            return None
        if self.valid_through is not None and self.renewal_on > self.valid_through:
            return None
        return self.renewal_on


def load_credentials(ctx: DeriveContext, views: Iterable[RecordView],
                     kinds: Iterable[str] | None = None) -> dict[str, list[Cred]]:
    """Credentials by person (kinds filtered), as of the run; end_of_month expiry applied (C5)."""
    wanted = frozenset(kinds) if kinds is not None else None
    pending = _lower_set(param(ctx, "credential_pending_statuses"))
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
        verified_any = parse_instant(data.get("verified_at"))
        verified = verified_any if verified_any is not None and verified_any <= ctx.as_of else None
        out[str(data.get("person_id") or "")].append(Cred(
            view=view, kind=kind, person_id=str(data.get("person_id") or ""),
            jurisdiction=str(data.get("jurisdiction") or "").strip().upper(),
            status=str(data.get("status") or "").strip().lower(), tz=tz,
            issued_on=cal.local_date(issued, tz) if issued else None, valid_through=through,
            renewal_on=cal.local_date(renewal, tz) if renewal else None,
            verified_on=cal.local_date(verified, tz) if verified else None,
            status_from=cal.local_date(verified_any, tz) if verified_any else None,
            pending=str(data.get("status") or "").strip().lower() in pending,
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


def expiring(ctx: DeriveContext, views: Iterable[RecordView], *, within_days: int) -> list[tuple[Cred, int]]:
    """The chains (holder, kind, jurisdiction) about to lapse: the `latest` credential of each whose
    last valid local day is today or within `within_days` after it, with the local days left,
    soonest first (then by id).

    For the officer's dashboard, which chose a chain's current credential a second way (among the
    credentials with an expiry only) and so listed a license as expiring when the rules saw it
    replaced by one without an expiry (`latest`: it never lapses). Here the rules' own loader and
    `latest` decide, so the panel and the findings cannot disagree on whether or when a chain lapses.
    Links `latest` ranks equal (valid through the same day, issued the same local day), which it
    tells apart by id, are told apart here by the later issue instant: the later issued card is the
    one to list, and the choice never moves the day the chain lapses.
    """
    by_chain: dict[tuple[str, str, str], list[Cred]] = defaultdict(list)
    for held in load_credentials(ctx, views).values():
        for c in held:
            by_chain[(c.person_id, c.kind, c.jurisdiction)].append(c)
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    out: list[tuple[Cred, int]] = []
    for chain in by_chain.values():
        cur = latest(chain)
        if cur is None or cur.valid_through is None:
            continue
        same = [c for c in chain if (c.valid_through, c.issued_on) == (cur.valid_through, cur.issued_on)]
        cur = max(same, key=lambda c: (parse_instant(c.view.data.get("issued_at")) or never, c.id))
        assert cur.valid_through is not None
        left = (cur.valid_through - today(ctx, cur.tz)).days
        if 0 <= left <= within_days:
            out.append((cur, left))
    out.sort(key=lambda x: (x[0].valid_through or dt.date.max, x[0].id))
    return out


@dataclass(frozen=True)
class Episode:
    """An employment episode as of the run: local first and last days in its establishment's zone."""

    view: RecordView
    person_id: str
    establishment_id: str
    role: str
    tz: str
    start_at: dt.datetime
    start_on: dt.date
    end_at: dt.datetime | None
    end_on: dt.date | None
    licensed: bool

    @property
    def src(self) -> Source:
        return (self.view.type, self.view.id, self.view.version)

    @property
    def role_key(self) -> str:
        """The role as the role-list parameters are compared with it ("Registered Nurse", "RN" ->
        registered_nurse; see engine.records.vocab)."""
        return role_key(self.role)

    def active(self, as_of: dt.datetime) -> bool:
        """Whether the person counts as at work in this episode at `as_of`: while it runs, and after
        its end through the next local day (engagements.engaged_on), so that the night between
        leaving one site and starting at the next resolves none of their findings.

        A later end has already been nulled by `load_episodes` (it has not happened yet).
        """
        return self.end_on is None or engaged_on(self, cal.local_date(as_of, self.tz))


def load_episodes(ctx: DeriveContext, views: Iterable[RecordView]) -> dict[str, list[Episode]]:
    """Employment episodes by person, oldest first, as of the run (later starts dropped, later ends nulled).

    An episode naming no person is skipped, as the other frameworks' derivations skip it: filed
    under nobody, it had raised credential findings about a subject with no id ("(registered_nurse)
    has no BLS card"), which no record could ever resolve. `vigil records gaps` names it."""
    out: dict[str, list[Episode]] = defaultdict(list)
    for view in views:
        data = view.data
        start = parse_instant(data.get("start_at"))
        if start is None or start > ctx.as_of or not data.get("person_id"):
            continue
        tz = ctx.tz_of(view)
        end = happened(ctx, data.get("end_at"))
        out[str(data.get("person_id") or "")].append(Episode(
            view=view, person_id=str(data.get("person_id") or ""),
            establishment_id=str(data.get("establishment_id") or ""), role=str(data.get("role") or ""), tz=tz,
            start_at=start, start_on=cal.local_date(start, tz), end_at=end,
            end_on=cal.local_date(end, tz) if end is not None else None,
            licensed=data.get("licensed_clinician") is True,
        ))
    for eps in out.values():
        eps.sort(key=lambda e: (e.start_at, e.view.id))
    return out


def active_episodes(ctx: DeriveContext, eps: Iterable[Episode], *, licensed: bool = False) -> list[Episode]:
    """The episodes that count as the person at work as of the run (`Episode.active`: running, or
    ended no earlier than yesterday in their zone), oldest first; only licensed ones if asked."""
    return [e for e in eps if e.active(ctx.as_of) and (e.licensed or not licensed)]


def joined(eps: Sequence[Episode], current: Episode) -> Episode:
    """The first episode of the engagement `current` belongs to, among `eps` (one person's episodes
    that count for the duty, oldest first, ended ones included).

    Clocks that run from joining (the initial credentialing decision, the recredentialing cycle
    when no license verification dates it, the first monthly check, a card or certification
    needed from the first day) run from this episode's start: a transfer to another site, a
    back-to-back or concurrent episode continues the engagement and must neither restart those
    clocks nor move an overdue duty to the move date, while a return after a gap is a new hire
    (engine.rules.derive.engagements). Filter `eps` to the episodes the duty is about first (licensed
    ones, a role that needs the card) so that only time in such episodes counts.
    """
    return engagement_of(eps, current)[0]


def establishment_state(ctx: DeriveContext, est_id: str | None) -> str | None:
    est = ctx.establishments.get(est_id or "")
    state = est.data.get("state") if est is not None else None
    return str(state).upper() if state else None


def days_left(ctx: DeriveContext, data: Mapping[str, Any], fallback_tz: str) -> int | None:
    """Whole local days from today to `data["due_at"]` in the zone the fact's deadline uses (C7)."""
    if not data.get("due_at"):
        return None
    est = ctx.establishments.get(str(data.get("establishment_id") or ""))
    tz = (establishment_tz(est.data) or fallback_tz) if est is not None else fallback_tz
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
    #: the patient records that placed telehealth visits in the state (see encounters_seen)
    patients: list[Source] = field(default_factory=list)

    def add(self, view: RecordView, at: dt.datetime, day: dt.date, placed_by: RecordView | None = None) -> None:
        self.count += 1
        self.encounters.append((view.type, view.id, view.version))
        if placed_by is not None:
            self.patients.append((placed_by.type, placed_by.id, placed_by.version))
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


def encounters_seen(ctx: DeriveContext, views: Iterable[RecordView],
                    patients: Mapping[str, RecordView] | None = None
                    ) -> Iterator[tuple[RecordView, str, dt.datetime, dt.date, str | None, RecordView | None]]:
    """(encounter, clinician, instant, local date, patient's state, patient record that placed it)
    for each encounter up to `as_of`.

    The patient's state is `patient_state`; an in-person visit without one is in the
    establishment's state; a telehealth visit without one is in the state of the patient record
    (`patients`, by id), which is then returned for the evidence: a telehealth visit of a patient
    recorded in New Jersey had been skipped, so a clinician with no license anywhere went
    unreported for it. With neither, the visit cannot be placed and its state is None.
    """
    for view in views:
        data = view.data
        at = parse_instant(data.get("at"))
        clinician = data.get("clinician_person_id")
        if at is None or at > ctx.as_of or not clinician:
            continue
        state = data.get("patient_state")
        placed_by = None
        if not state and data.get("modality") != "telehealth":
            state = establishment_state(ctx, data.get("establishment_id"))
        elif not state and patients is not None:
            placed_by = patients.get(str(data.get("patient_id") or ""))
            state = placed_by.data.get("state") if placed_by is not None else None
            placed_by = placed_by if state else None
        yield (view, str(clinician), at, cal.local_date(at, ctx.tz_of(view)), str(state).upper() if state else None,
               placed_by)


def lapse_before(creds: Iterable[Cred], day: dt.date) -> Cred | None:
    """The latest credential that had ended before `day` (a lapse rather than never held)."""
    return latest(c for c in creds if c.valid_through is not None and c.valid_through < day)


# ---- exclusion checks -----------------------------------------------------------------------------


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
