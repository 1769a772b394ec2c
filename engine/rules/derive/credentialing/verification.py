"""Board certification, CAQH re-attestation, NCQA recredentialing cycle and primary-source
verification, and NPDB queries (`cred_board_standing` ... `cred_npdb_standing`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from engine.records.vocab import role_set
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.credentialing._common import (
    _lower_set,
    active_episodes,
    chains,
    establishment_state,
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
    parse_instant,
    today,
    used,
)
from engine.rules.facttypes import FieldKind

# ---- board certification, CAQH, NCQA cycle and verifications, NPDB ----------------------------------

#: Credential sources that mean "queried at the National Practitioner Data Bank" (CRED-NPDB-005).
NPDB_SOURCES = ("npdb", "national practitioner data bank")


BOARD_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "check": "string", "credential_id": "string", "role": "string",
    "expires_at": "date", "due_at": "date", "renewed_at": "date", "establishment_id": "string",
}


@derivation(name="cred_board_standing", inputs=("credential", "employment_episode"), output="cred_board_standing",
            fields=BOARD_FIELDS, family="person",
            about=("person", "person_id"), example="board: cred_board_standing where check == 'unverified'")
def board_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-BOARD-004: board certification of active clinicians and of roles that require it.

    One fact per duty (`check`):
    - `expiry`: the latest certificate's last valid day, met by a renewal filed in time;
    - `unverified`: the certificate has no primary-source verification; due on the later of its
      issue date and the start of the current clinical engagement (verified before practising);
    - `not_in_good_standing`: its status is inactive or adverse; due on the day that was verified
      (or the start of the current clinical engagement when no verification date is on file);
    - `not_certified`: the role requires certification and none is on file; due
      `board_eligibility_years` (C5, the value in force on that day) after the first episode in such
      a role began (the contract has no training-completion date, so the window is counted from
      first joining the practice in the role, the earliest evidence of it: a return after a gap does
      not reopen the window).

    The clinical engagement is the stretch of clinical episodes (licensed, or in a required role)
    the current one continues (`joined`): a transfer to another site does not move a duty owed
    since joining to the transfer date; a return after a gap is a new hire. Findings cite the
    establishment of the latest clinical episode, the person's current site.
    """
    bad = inactive_statuses(ctx) | _lower_set(param(ctx, "license_adverse_statuses"))
    required = role_set(param(ctx, "board_cert_required_roles"))
    creds = load_credentials(ctx, inputs["credential"], ("BOARD_CERT",))
    staff = load_episodes(ctx, inputs["employment_episode"])
    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid])
        in_role = [e for e in eps if e.role_key in required]
        clinical = [e for e in eps if e.licensed] + in_role
        if not clinical:
            continue
        ep = max(clinical, key=lambda e: (e.start_at, e.view.id))
        first = joined([e for e in staff[pid] if e.licensed or e.role_key in required], ep)
        certs = creds.get(pid, [])
        cur = latest(certs)
        base: dict[str, Any] = {"person_id": pid, "role": ep.role, "establishment_id": ep.establishment_id,
                                "credential_id": cur.id if cur else None,
                                "expires_at": iso(cur.valid_through) if cur else None, "renewed_at": None}
        key = f"person:{pid}"
        if cur is None:
            if in_role:
                since = min(e.start_on for e in staff[pid] if e.role_key in required)
                years = int(param_on(ctx, "board_eligibility_years", since))
                yield fact("cred_board_standing", f"{pid}/BOARD/not_certified",
                           dict(base, check="not_certified", due_at=iso(cal.add_years(since, years)),
                                **used(ctx, "board_eligibility_years", years)),
                           [e.src for e in in_role], key)
            continue
        sources = [c.src for c in certs] + [ep.src, first.src]
        if cur.status in bad:
            due = cur.verified_on or first.start_on
            yield fact("cred_board_standing", f"{pid}/BOARD/not_in_good_standing",
                       dict(base, check="not_in_good_standing", due_at=iso(due)), sources, key)
            continue
        if cur.verified_on is None:
            due = max(cur.issued_on or first.start_on, first.start_on)
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
            fields=CAQH_FIELDS, family="person",
            about=("person", "person_id"), example="caqh: cred_caqh_standing where cycle_days == 180")
def caqh_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-CAQH-006: the CAQH ProView re-attestation clock of each active person with a profile.

    The latest CAQH_ATTESTATION (by its `issued_at`, the attestation instant, or, when an export
    gives none, its `verified_at`: an attestation seen current on that day was made by then, and one
    with neither date had left the holder reading as never attested) starts the clock:
    `due_at` = local attestation date + `caqh_reattest_days_long` (180) when the practice state is
    in `caqh_long_cycle_states` (Illinois), else + `caqh_reattest_days` (120), C1, each as in force
    on the attestation date (`cycle_days` is the one used). The practice state is the attestation's
    jurisdiction, else the state of the person's latest active establishment. CAQH sets the
    profile to Expired the day after `due_at`.
    """
    long_states = frozenset(str(s).upper() for s in param(ctx, "caqh_long_cycle_states"))
    creds = load_credentials(ctx, inputs["credential"], ("CAQH_ATTESTATION",))
    staff = load_episodes(ctx, inputs["employment_episode"])
    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid])
        attested = [(on, c) for c in creds.get(pid, []) if (on := c.issued_on or c.verified_on) is not None]
        if not eps or not attested:
            continue
        on, cur = max(attested, key=lambda x: (x[0], parse_instant(x[1].view.data.get("issued_at")
                                                                   or x[1].view.data.get("verified_at")), x[1].id))
        state = cur.jurisdiction or establishment_state(ctx, eps[-1].establishment_id) or ""
        cycle = int(param_on(ctx, "caqh_reattest_days_long" if state in long_states else "caqh_reattest_days", on))
        data = {"person_id": pid, "state": state, "credential_id": cur.id, "attested_on": iso(on),
                "cycle_days": cycle, "due_at": iso(cal.add_days(on, cycle)),
                "establishment_id": eps[-1].establishment_id}
        yield fact("cred_caqh_standing", f"{pid}/CAQH", data, [cur.src, eps[-1].src], f"person:{pid}")


RECRED_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "basis": "string", "last_on": "date", "due_at": "date", "establishment_id": "string",
}


@derivation(name="cred_recred_standing", inputs=("credential", "employment_episode"),
            output="cred_recred_standing", fields=RECRED_FIELDS, family="person", about=("person", "person_id"),
            example="recred: cred_recred_standing where basis == 'start'")
def recred_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-NCQA-RECRED-007: when each active licensed clinician's next recredentialing is due.

    The contract has no credentialing-decision record, so the cycle is counted from the evidence a
    decision leaves: the oldest primary-source verification among the clinician's state licenses
    in force today (`basis: license_verification`), or, when one of them was never verified (or
    none is in force), the start of the current licensed engagement (`basis: start`, the initial
    credentialing; a transfer to another site continues the engagement and its cycle, a return after
    a gap is credentialed anew, see `joined`). `due_at` = that date + `recred_months` (C5, clamped;
    the value in force on that date: the cycle a decision started keeps its length), or the end of
    that month when `recred_count_to_month` is true. Findings cite the establishment of the latest
    licensed episode.
    """
    inactive = inactive_statuses(ctx)
    to_month = bool(param(ctx, "recred_count_to_month"))
    creds = load_credentials(ctx, inputs["credential"], ("STATE_LICENSE",))
    staff = load_episodes(ctx, inputs["employment_episode"])
    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid], licensed=True)
        if not eps:
            continue
        ep = eps[-1]
        first = joined([e for e in staff[pid] if e.licensed], ep)
        day = today(ctx, ctx.tz_of(ep.view))
        current = [c for c in (latest(ch) for ch in chains(creds.get(pid, []), "STATE_LICENSE").values())
                   if c is not None and c.in_force(day, inactive)]
        if current and all(c.verified_on is not None for c in current):
            basis, last = "license_verification", min(c.verified_on for c in current if c.verified_on)
        else:
            basis, last = "start", first.start_on
        months = int(param_on(ctx, "recred_months", last))
        due = cal.add_months(last, months)
        if to_month:
            due = cal.end_of_month(due)
        data = {"person_id": pid, "basis": basis, "last_on": iso(last), "due_at": iso(due),
                "establishment_id": ep.establishment_id, **used(ctx, "recred_months", months)}
        yield fact("cred_recred_standing", f"{pid}/RECRED", data,
                   [c.src for c in current] + [e.src for e in eps] + [first.src], f"person:{pid}")


PSV_LABELS = {"license": "state license verification", "dea": "DEA registration verification",
              "board_certification": "board certification verification", "leie": "OIG LEIE exclusion check",
              "sam": "SAM exclusion check"}
PSV_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "item": "string", "item_label": "string", "record_id": "string", "decision_on": "date",
    "verified_on": "date", "age_days": "number", "due_at": "date", "establishment_id": "string",
    "decided_from_2025_07": "bool",
}
#: NCQA's 2025 standards shortened the verification window (180 -> 120 days) for decisions from
#: this day on, a local date at the practice: `date("2025-07-01")` in a condition is midnight UTC,
#: and a date field is its local midnight, so a Guam (UTC+10) decision on 1 July had compared as
#: before it. The derivation compares the days and hands the rule a flag.
PSV_2025_CUTOVER = dt.date(2025, 7, 1)


@derivation(name="cred_psv_item", inputs=("credential", "employment_episode", "screening"), output="cred_psv_item",
            fields=PSV_FIELDS, family="person",
            about=("person", "person_id"), example="psv: cred_psv_item where verified_on == null",
            heavy=True)  # in the derive process with the other two readers of the screenings (bench/README.md)
def psv_items(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-NCQA-PSV-008: the age of each verification in an active clinician's initial credentialing file.

    The contract has no decision record, so the decision date is taken as the local start date of
    the current licensed engagement (a practitioner is credentialed before seeing patients; a
    transfer to another site continues the engagement and is no new decision, a return after a gap
    is one, see `joined`), and only files whose decision falls inside the current `recred_months`
    cycle (its length as in force on the decision day, as `cred_recred_standing` counts it) are
    looked at. Items: the license for the state of the establishment joined at the decision, a DEA
    registration there, a board certificate, and the LEIE and SAM exclusion checks. `verified_on` is
    the latest verification on or before the decision (the exact check history for screenings; a
    credential's `verified_at` only when it is not later than the decision: a later value means the
    item was re-verified since and the initial verification is not on file, so no fact).
    `age_days` = decision - verified_on.
    Findings cite the establishment of the latest licensed episode, the person's current site.
    """
    inactive = inactive_statuses(ctx)
    creds = load_credentials(ctx, inputs["credential"], ("STATE_LICENSE", "DEA", "BOARD_CERT"))
    staff = load_episodes(ctx, inputs["employment_episode"])
    checks = load_screenings(ctx, inputs["screening"])
    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid], licensed=True)
        if not eps:
            continue
        ep = eps[-1]
        first = joined([e for e in staff[pid] if e.licensed], ep)
        decision = first.start_on
        if cal.add_months(decision, int(param_on(ctx, "recred_months", decision))) < today(ctx, ctx.tz_of(ep.view)):
            continue
        state = establishment_state(ctx, first.establishment_id)
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
                    "establishment_id": ep.establishment_id, "decided_from_2025_07": decision >= PSV_2025_CUTOVER}
            sources = [ep.src, first.src] + ([(view.type, view.id, view.version)] if view else [])
            yield fact("cred_psv_item", f"{pid}/PSV/{label}", data, sources, f"person:{pid}")


NPDB_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "mode": "string", "credential_id": "string", "last_on": "date",
    "interval_months": "number", "due_at": "date", "establishment_id": "string",
}


@derivation(name="cred_npdb_standing", inputs=("credential", "employment_episode"), output="cred_npdb_standing",
            fields=NPDB_FIELDS, family="person",
            about=("person", "person_id"), example="npdb: cred_npdb_standing where mode == 'CONTINUOUS'")
def npdb_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-NPDB-005: when an active licensed clinician's next NPDB query (or enrollment renewal) is due.

    The contract has no NPDB record; a query shows up as a credential whose `source` names the
    NPDB (e.g. malpractice history or licensure verified through it). Only clinicians with such
    evidence are followed: `last_on` is its latest verification (or issue) date and `due_at` adds
    `npdb_interval_months` (AT_EACH_CREDENTIALING) or `npdb_continuous_renewal_months`
    (CONTINUOUS: the Continuous Query enrollment is renewed yearly), C5, as in force on `last_on`
    (`interval_months` is the one used). The mode is today's: it says how the practice queries now.
    """
    mode = str(param(ctx, "npdb_mode")).upper()
    interval = "npdb_continuous_renewal_months" if mode == "CONTINUOUS" else "npdb_interval_months"
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
        months = int(param_on(ctx, interval, last))
        data = {"person_id": pid, "mode": mode, "credential_id": cur.id, "last_on": iso(last),
                "interval_months": months, "due_at": iso(cal.add_months(last, months)),
                "establishment_id": eps[-1].establishment_id}
        yield fact("cred_npdb_standing", f"{pid}/NPDB", data, [cur.src, eps[-1].src], f"person:{pid}")
