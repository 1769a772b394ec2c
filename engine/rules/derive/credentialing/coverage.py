"""Coverage a clinician or testing site must keep in force: malpractice insurance
(`cred_malpractice_standing`), CLIA certificates (`cred_clia_standing`) and life-support cards
(`cred_card_standing`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from engine.records.vocab import role_set
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.credentialing._common import (
    Cred,
    Gap,
    active_episodes,
    encounters_seen,
    fact,
    inactive_statuses,
    iso,
    joined,
    lapse_before,
    latest,
    load_credentials,
    load_episodes,
    param,
    param_on,
    today,
)
from engine.rules.facttypes import FieldKind

# ---- malpractice, CLIA, life-support cards --------------------------------------------------------

MAL_FIELDS: dict[str, FieldKind] = {
    "person_id": "string", "check": "string", "credential_id": "string", "expires_at": "date", "due_at": "date",
    "uncovered_count": "number", "first_uncovered_at": "instant", "first_uncovered_on": "date",
    "last_uncovered_at": "instant", "last_uncovered_on": "date", "encounter_ids": "list",
    "establishment_id": "string", "no_deadline": "bool",
}


@derivation(name="cred_malpractice_standing", inputs=("credential", "employment_episode", "encounter"),
            output="cred_malpractice_standing", fields=MAL_FIELDS, family="person", about=("person", "person_id"),
            example="mal: cred_malpractice_standing where uncovered_count > 0")
def malpractice_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-MAL-010: professional liability coverage of each clinician, one fact per person.

    `check` is `uncovered` when encounters fell on local dates no MALPRACTICE policy of the
    clinician was in force (`due_at` = last day of the policy that lapsed before the first one, or
    that encounter's date when none did), else `expiry` for a person with an active episode who
    holds a policy (`due_at` = the latest policy's last day: coverage must continue past it).
    """
    inactive = inactive_statuses(ctx)
    creds = load_credentials(ctx, inputs["credential"], ("MALPRACTICE",))
    staff = load_episodes(ctx, inputs["employment_episode"])
    gaps: dict[str, Gap] = defaultdict(Gap)
    memo: dict[tuple[str, dt.date], bool] = {}
    for view, pid, at, day, _state, _placed_by in encounters_seen(ctx, inputs["encounter"]):
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
            # a standing condition (the catalog judges each encounter, with no deadline): no due
            data.update(gap.data(), check="uncovered", due_at=iso(lapsed.valid_through if lapsed else gap.first_on),
                        establishment_id=data["establishment_id"] or gap.establishment_id, no_deadline=True)
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
            fields=CLIA_FIELDS, family="establishment",
            about=("establishment", "establishment_id"), example="clia: cred_clia_standing where renewed_at == null")
def clia_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-CLIA-011: the latest CLIA certificate of each testing location, one fact per location.

    A certificate's location is its `jurisdiction` when that names an establishment, else the
    establishment of its holder's (the laboratory director's) latest episode. `due_at` is the
    certificate's last valid day; `renewed_at` is a renewal (fee paid, reissue requested) filed on
    or before it. A certificate whose status is inactive (revoked, suspended ...) was in force
    through the day before that status was verified (never, when nobody recorded a verification),
    as DEA registrations are read: it leaves the location with no certificate, as a lapse does; it
    had been skipped, so a revoked certificate went unreported while a lapsed one was critical.
    """
    inactive = inactive_statuses(ctx)
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
        if cur is None:
            continue
        day = today(ctx, cur.tz)
        if cur.status in inactive and not cur.in_force(day, inactive):
            # in force through the day before the status was verified, or its printed last day if earlier
            due, renewed = cur.inactive_through(day), None
            due = min(due, cur.valid_through or due)
        elif cur.valid_through is None:
            continue
        else:
            due, renewed = cur.valid_through, cur.timely_renewal()
        est = location if location in ctx.establishments else None
        data = {"establishment_id": est, "location": location, "credential_id": cur.id,
                "number": cur.view.data.get("number"), "expires_at": iso(cur.valid_through),
                "due_at": iso(due), "renewed_at": iso(renewed), "status": cur.status}
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


def card_months(ctx: DeriveContext, card: Cred) -> int:
    """`card_valid_months` in force on the card's issue date: a card keeps the validity it was issued
    with, though the practice changed the parameter since (no issue date: today's, unused then)."""
    if card.issued_on is None:
        return int(param(ctx, "card_valid_months"))
    return int(param_on(ctx, "card_valid_months", card.issued_on))


@derivation(name="cred_card_standing", inputs=("credential", "employment_episode"), output="cred_card_standing",
            fields=CARD_FIELDS, family="person",
            about=("person", "person_id"), example="card: cred_card_standing where kind == 'BLS'")
def card_standing(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """CRED-BLS-012: each life-support card a person's active role requires, one fact per (person, kind).

    `check` is `expiry` (`due_at` = the latest card's last valid day, see `card_through`, with the
    `card_valid_months` the card was issued under, see `card_months`) or `missing` (no card of that
    kind; due on the first day of the engagement in a role that requires it, see `joined`: the card
    is needed before the first clinical shift, a transfer to another site does not move that day, a
    return after a gap is a new hire). Findings cite the role and establishment of the latest
    episode in such a role, the person's current site.
    """
    inactive = inactive_statuses(ctx)
    creds = load_credentials(ctx, inputs["credential"], ("BLS", "ACLS", "PALS"))
    staff = load_episodes(ctx, inputs["employment_episode"])
    for pid in sorted(staff):
        eps = active_episodes(ctx, staff[pid])
        for kind, roles_param in CARD_KINDS:
            roles = role_set(param(ctx, roles_param))
            needing = [e for e in eps if e.role_key in roles]
            if not needing:
                continue
            ep = needing[-1]
            first = joined([e for e in staff[pid] if e.role_key in roles], ep)
            cards = [c for c in creds.get(pid, []) if c.kind == kind and c.status not in inactive]
            dated = [(card_through(c, card_months(ctx, c)), c) for c in cards]
            cur = max(((d, c) for d, c in dated if d is not None), key=lambda x: (x[0], x[1].id), default=None)
            data: dict[str, Any] = {"person_id": pid, "kind": kind, "role": ep.role,
                                    "establishment_id": ep.establishment_id}
            if cur is None:
                data.update(check="missing", credential_id=None, issued_on=None, expires_at=None,
                            due_at=iso(first.start_on))
            else:
                through, card = cur
                data.update(check="expiry", credential_id=card.id, issued_on=iso(card.issued_on),
                            expires_at=iso(through), due_at=iso(through))
            yield fact("cred_card_standing", f"{pid}/{kind}", data, [c.src for c in cards] + [ep.src, first.src],
                       f"person:{pid}")
