"""State licenses (`cred_license_standing`), DEA registrations (`cred_dea_standing`) and state
controlled-substance registrations (`cred_csr_standing`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.credentialing._common import (
    Episode,
    Gap,
    active_episodes,
    chains,
    days_left,
    encounters_seen,
    establishment_state,
    fact,
    inactive_statuses,
    iso,
    joined,
    lapse_before,
    latest,
    load_credentials,
    load_episodes,
    param,
    today,
)
from engine.rules.facttypes import FieldKind

LICENSE_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "state": "string", "credential_id": "string", "expires_at": "date",
    "due_at": "date", "renewed_at": "date", "uncovered_count": "number", "first_uncovered_at": "instant",
    "first_uncovered_on": "date", "last_uncovered_at": "instant", "last_uncovered_on": "date",
    "encounter_ids": "list",
    "establishment_id": "string", "active_clinician": "bool", "days_left": "number", "no_deadline": "bool",
}


@derivation(name="cred_license_standing", inputs=("credential", "employment_episode", "encounter", "patient"),
             output="cred_license_standing", fields=LICENSE_FIELDS, family="person", about=("person", "person_id"),
             example="lic: cred_license_standing where uncovered_count > 0")
def license_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-LIC-001: a licensed clinician's standing in each state, one fact per (person, state).

    Emitted for every state whose patients a clinician saw without a STATE_LICENSE in force on the
    encounter's local date (nor a compact privilege the practice accepts), and for every state
    license of a clinician with an active licensed episode (its expiry clock). `due_at` is the
    license's last valid day, or, when there are uncovered encounters and no earlier license for
    that state, the local date of the first one; `renewed_at` is a renewal filed in time, and is
    null once an encounter went uncovered (a later renewal does not cure it). Uncovered encounters
    are a standing condition (`no_deadline`: a violation with no due; the catalog judges each
    encounter, with no deadline), the expiry clock a deadline.
    """
    inactive = inactive_statuses(ctx)
    compact = frozenset(str(s).upper() for s in param(ctx, "compact_privileges_allowed"))
    creds = load_credentials(ctx, inputs["credential"], ("STATE_LICENSE",))
    staff = load_episodes(ctx, inputs["employment_episode"])
    gaps: dict[tuple[str, str], Gap] = defaultdict(Gap)
    memo: dict[tuple[str, str, dt.date], bool] = {}
    patients = {v.id: v for v in inputs.get("patient", ())}
    for view, pid, at, day, state, placed_by in encounters_seen(ctx, inputs["encounter"], patients):
        if state is None:
            continue
        key = (pid, state, day)
        if key not in memo:
            held = creds.get(pid, [])
            memo[key] = any(c.jurisdiction == state and c.in_force(day, inactive) for c in held) or (
                state in compact and any(c.jurisdiction in compact and c.in_force(day, inactive) for c in held))
        if not memo[key]:
            gaps[(pid, state)].add(view, at, day, placed_by)

    active = {pid for pid, eps in staff.items() if active_episodes(ctx, eps, licensed=True)}
    keys = set(gaps)
    for pid in active:
        for state, chain in chains(creds.get(pid, []), "STATE_LICENSE").items():
            cur = latest(chain)
            if cur is not None and cur.valid_through is not None and cur.status not in inactive and not cur.pending:
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
                        establishment_id=data["establishment_id"] or gap.establishment_id, no_deadline=True)
            sources += gap.encounters + gap.patients
        else:
            assert cur is not None and cur.valid_through is not None
            data.update(due_at=iso(cur.valid_through), renewed_at=iso(cur.timely_renewal()))
        data["days_left"] = days_left(ctx, data, cur.tz if cur else "UTC")
        yield fact("cred_license_standing", f"{pid}/{state}", data, sources, f"person:{pid}")


# ---- controlled substances: DEA registration and state CSR ----------------------------------------

DEA_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "state": "string", "check": "string", "credential_id": "string",
    "expires_at": "date", "due_at": "date", "renewed_at": "date", "license_id": "string",
    "license_expires_at": "date", "establishment_id": "string", "days_left": "number", "status": "string",
    "verified_at": "date",
}


@derivation(name="cred_dea_standing", inputs=("credential", "employment_episode"), output="cred_dea_standing",
            fields=DEA_FIELDS, family="person",
            about=("person", "person_id"), example="dea: cred_dea_standing where check == 'no_state_license'")
def dea_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-DEA-002: each DEA registration of a person with an active episode, one fact per (person, state).

    `check` says which duty the fact tracks:
    - `expiry`: the registration's last valid day (`due_at`); a renewal filed on or before it
      (`renewed_at`) lets the registrant keep operating until DEA acts, unless DEA denied it;
    - `inactive`: the latest registration's status is one of `credential_inactive_statuses`
      (revoked, suspended, denied...): due the day before that status was verified (else before its
      issue date), so it is overdue at once; it was skipped before, which left a revoked registration unmentioned
      while a mere lapse was critical;
    - `no_state_license`: the registration is current but no STATE_LICENSE for its state is in
      force today; `due_at` is the last day of the last license (or the registration's issue date
      when none was ever on file), so the lapse is overdue from the next day;
    - `no_registration`: the person holds a current DEA registration elsewhere but none for the
      state of an establishment they work at (21 CFR 1301.12); `due_at` is the start of their
      engagement in that state (see `joined`, over their episodes at establishments there): the
      registration is needed before the first day of practice in the state, a transfer between two
      sites in it does not move that day, a return after a gap is a new start. Time in other states
      does not count. The fact cites the latest running episode in the state, the current site.
    """
    inactive = inactive_statuses(ctx)
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
            if reg is None:
                continue
            day = today(ctx, reg.tz)
            current = reg.in_force(day, inactive) or reg.timely_renewal() is not None
            current_anywhere = current_anywhere or current
            lic_chain = licenses.get(state, [])
            lic = latest(lic_chain)
            data: dict[str, Any] = {"person_id": pid, "state": state, "credential_id": reg.id,
                                    "expires_at": iso(reg.valid_through), "license_id": lic.id if lic else None,
                                    "license_expires_at": iso(lic.valid_through) if lic else None,
                                    "establishment_id": eps[-1].establishment_id, "status": reg.status or None}
            sources = [reg.src] + [c.src for c in lic_chain] + [eps[-1].src]
            if reg.status in inactive and not current:
                # revoked, suspended, denied...: as serious as a lapse, in force through the day
                # before that status was verified (never, when nobody recorded a verification)
                data.update(check="inactive", due_at=iso(reg.inactive_through(day)), renewed_at=None,
                            verified_at=iso(reg.verified_on))
            elif current and not any(c.in_force(day, inactive) for c in lic_chain):
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
        by_state: dict[str, list[Episode]] = defaultdict(list)
        for ep in staff[pid]:
            where = establishment_state(ctx, ep.establishment_id)
            if where is not None and where not in deas:
                by_state[where].append(ep)
        for where, there in sorted(by_state.items()):
            running = active_episodes(ctx, there)
            if not running:
                continue
            ep = running[-1]  # the site joined last in that state, the person's current one there
            first = joined(there, ep)
            data = {"person_id": pid, "state": where, "check": "no_registration", "credential_id": None, "status": None,
                    "expires_at": None, "due_at": iso(first.start_on), "renewed_at": None, "license_id": None,
                    "license_expires_at": None, "establishment_id": ep.establishment_id}
            data["days_left"] = days_left(ctx, data, ctx.tz_of(ep.view))
            sources = [ep.src, first.src] + [c.src for c in held if c.kind == "DEA"]
            yield fact("cred_dea_standing", f"{pid}/DEA/{where}", data, sources, key)


CSR_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "state": "string", "check": "string", "credential_id": "string",
    "dea_id": "string", "expires_at": "date", "due_at": "date", "renewed_at": "date", "establishment_id": "string",
    "days_left": "number", "status": "string",
}


@derivation(name="cred_csr_standing", inputs=("credential", "employment_episode"), output="cred_csr_standing",
            fields=CSR_FIELDS, family="person",
            about=("person", "person_id"), example="csr: cred_csr_standing where check == 'missing'")
def csr_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-CSR-003: the state controlled-substance registration behind each DEA registration held
    in a state of `states_requiring_csr`, for a person with an active episode.

    `check` is `missing` (no STATE_CSR for that state is on file, or its status is inactive;
    `due_at` is the DEA registration's issue date, since the state registration comes first, or
    the day the inactive status was verified) or `expiry` (the latest CSR's last valid day, met by
    a renewal filed on or before it).
    """
    inactive = inactive_statuses(ctx)
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
