"""Per-employee OSHA duties (the person family): hepatitis B vaccine offer, bloodborne pathogens
training and hazard communication training."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from engine.records.vocab import role_key, role_set
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.osha._common import (
    _assigned_at,
    _day,
    _engagements_at_work,
    _flag,
    _group,
    _hbv_contraindicated,
    _hbv_protected,
    _holiday_calendar,
    _iso,
    _local,
    _Now,
    _sources,
    _trainings,
    _tz,
)

# ---- defaults (the ruleset's params override them; these keep the derivations usable alone) ----

#: 1910.1030(h)(2)(ii): training records are kept three years from the training date.
BBP_RECORD_YEARS = 3
#: 2024 HazCom revision (89 FR 44144), in force 19 July 2024; substances deadline as moved by the
#: 15 Jan 2026 rule [S].
HAZCOM_2024_EFFECTIVE = dt.date(2024, 7, 19)
HAZCOM_2024_SUBSTANCES_BY = dt.date(2026, 11, 20)
#: 1910.1030(f)(2)(i): the vaccine is made available within 10 working days of initial assignment.
HEPB_OFFER_WORKING_DAYS = 10


# ---- person family ------------------------------------------------------------------------------


def _exposed_engagements(
    ctx: DeriveContext, episodes: Iterable[RecordView], now: _Now,
) -> Iterator[tuple[RecordView, RecordView, dt.datetime]]:
    """Engagements in exposure work in which the person is at work and exposure work has begun:
    (first exposed episode, episode worked in now, when exposure work began in the first).

    See `_engagements_at_work`: a transfer between exposed positions continues the engagement, a
    move into exposure work (or a return after a gap) is an initial assignment.
    """
    for first, current in _engagements_at_work(ctx, episodes, now, lambda ep: _flag(ep, "occupational_exposure")):
        assigned = _assigned_at(first)
        if assigned is not None and assigned <= now.as_of:
            yield first, current, assigned


def _base(first: RecordView, current: RecordView, person: str) -> dict[str, Any]:
    """The fields every per-employee duty carries: keyed by the engagement's first episode, citing
    the site worked at now."""
    return {"episode_id": first.id, "person_id": person, "establishment_id": current.data.get("establishment_id")}


@derivation(
    name="osha_hepb_offer", inputs=("employment_episode", "hepb_vaccination", "training_record"),
    output="osha_hepb_offer", family="person",
    fields={"episode_id": "string", "person_id": "string", "establishment_id": "string", "assigned_at": "instant",
            "due_at": "date", "done_at": "instant", "first_offer_at": "instant", "bbp_trained_at": "instant",
            "offered_before_training": "bool"},
    example="osha_hepb_offer where episode_id == episode.id",
)
def osha_hepb_offer(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """The hepatitis B vaccine offer owed to an active employee with occupational exposure
    (1910.1030(f)(1)-(2)); none when the person is exempt (completed series, antibody immunity,
    contraindication).

    `done_at` is the first offer (or signed declination, which documents one) made at or after the
    person's first BBP training: the vaccine must be made available after the training.
    `offered_before_training` is true when offers exist but none followed the training.
    `assigned_at` is `exposure_assignment_at` (else the episode start) of the engagement's first
    exposed episode, the initial assignment (`_exposed_engagements`); `due_at` is 10 working days
    after its local date (C4) on the calendar and in the zone of the site it was made at, so a
    transfer to a site with another calendar or zone re-dates nothing.
    """
    now = _Now(ctx.as_of)
    hepb = _group(inputs.get("hepb_vaccination", ()), "person_id")
    bbp = _trainings(inputs.get("training_record", ()), "BBP", now)
    for ep, current, assigned in _exposed_engagements(ctx, inputs.get("employment_episode", ()), now):
        person = str(ep.data.get("person_id"))
        records = hepb.get(person, [])
        if _hbv_protected(records, now) or _hbv_contraindicated(records, now):
            continue
        offers = sorted((t, h) for h in records
                        if (t := now.at(h.data.get("offered_at")) or now.at(h.data.get("declined_at"))) is not None)
        trained = bbp.get(person, [])
        first_training = trained[0] if trained else None
        qualifying = [(t, h) for t, h in offers if first_training is not None and t >= first_training[0]]
        due = cal.add_working_days(_local(assigned, _tz(ctx, ep, ep.data.get("establishment_id"))),
                                   HEPB_OFFER_WORKING_DAYS, _holiday_calendar(ctx, ep.data.get("establishment_id")))
        yield DerivedFact("osha_hepb_offer", f"{ep.id}:hepb", {
            **_base(ep, current, person), "assigned_at": _iso(assigned), "due_at": _day(due),
            "done_at": _iso(qualifying[0][0] if qualifying else None),
            "first_offer_at": _iso(offers[0][0] if offers else None),
            "bbp_trained_at": _iso(first_training[0] if first_training else None),
            "offered_before_training": bool(offers) and not qualifying,
        }, _sources(ep, current, *[h for _, h in offers], first_training[1] if first_training else None),
            f"person:{person}")


def _bbp_annual_cycles(
    trained: Sequence[tuple[dt.datetime, RecordView]], tz: str, keep_from: dt.date,
) -> Iterator[tuple[tuple[dt.datetime, RecordView], tuple[dt.datetime, RecordView] | None]]:
    """The annual BBP training cycles of one episode that are still to be reported (OSHA-BBP-TRN-009),
    as (the training that opened the cycle, the training that closed it late, or None).

    Each training opens a cycle due 12 months after its local date (C5) and the next training
    closes it. Yielded: the open cycle (after the latest training; due soon or overdue by the
    engine), and every cycle closed after its due day, whose closing training is the late
    completion (`late: true` reports it). A late cycle is kept while its late training is within
    the three years training records are kept (1910.1030(h)(2)(ii), `keep_from`, the same bound as
    the `record` duty; the ruleset has no lookback parameter for it), so the history does not
    grow without end. Keyed by the opening training, an overdue cycle stays the same finding when
    the training is repeated late.
    """
    for i, opened in enumerate(trained):
        closed = trained[i + 1] if i + 1 < len(trained) else None
        if closed is not None:
            closed_day = _local(closed[0], tz)
            if closed_day <= cal.add_months(_local(opened[0], tz), 12) or closed_day < keep_from:
                continue  # repeated on time, or too long ago to report
        yield opened, closed


@derivation(
    name="osha_bbp_training_duty", inputs=("employment_episode", "training_record"), output="osha_bbp_training_duty",
    family="person",
    fields={"episode_id": "string", "person_id": "string", "establishment_id": "string", "issue": "string",
            "key": "string", "due_at": "date", "done_at": "instant", "training_id": "string", "detail": "string"},
    example="osha_bbp_training_duty where episode_id == episode.id",
)
def osha_bbp_training_duty(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Bloodborne pathogens training duties of an active employee with occupational exposure
    (1910.1030(g)(2), (h)(2)).

    `initial`: trained by the local day exposure work began; `done_at` is the first BBP training
    completed no earlier than 12 months before that day (so a current training from a previous
    assignment counts). `annual`: per cycle, see `_bbp_annual_cycles` (each training opens one, due
    12 months later, C5, 29 Feb -> 28 Feb; key `annual:<training id>`). `record`: a BBP training
    record of the last three years without trainer or content summary (`content_version`); that
    training record is among the fact's sources, so the finding cites it.
    """
    now = _Now(ctx.as_of)
    bbp = _trainings(inputs.get("training_record", ()), "BBP", now)
    for ep, current, assigned in _exposed_engagements(ctx, inputs.get("employment_episode", ()), now):
        person = str(ep.data.get("person_id"))
        tz = _tz(ctx, ep, ep.data.get("establishment_id"))  # the site of the initial assignment (C7)
        day = _local(assigned, tz)
        window = cal.add_months(day, -12)
        trained = [(t, v) for t, v in bbp.get(person, []) if _local(t, tz) >= window]
        base = _base(ep, current, person)

        def duty(issue: str, key: str, due_at: dt.date, done: tuple[dt.datetime, RecordView] | None,
                 detail: str | None = None, extra: Sequence[RecordView] = (), *, _base: dict[str, Any] = base,
                 _ep: RecordView = ep, _current: RecordView = current, _person: str = person) -> DerivedFact:
            return DerivedFact("osha_bbp_training_duty", f"{_ep.id}:{key}", dict(
                _base, issue=issue, key=key, due_at=_day(due_at), done_at=_iso(done[0]) if done else None,
                training_id=done[1].id if done else None, detail=detail,
            ), _sources(_ep, _current, *extra, done[1] if done else None), f"person:{_person}")

        first = trained[0] if trained else None
        yield duty("initial", "initial", day, first)
        if first is None:
            continue
        keep_from = cal.add_years(now.today(tz), -BBP_RECORD_YEARS)
        for opened, closed in _bbp_annual_cycles(trained, tz, keep_from):
            detail = f"last trained {_local(opened[0], tz).isoformat()} ({opened[1].id})"
            if closed is not None:
                detail = (f"trained {_local(opened[0], tz).isoformat()} ({opened[1].id}), next trained "
                          f"{_local(closed[0], tz).isoformat()} ({closed[1].id})")
            yield duty("annual", f"annual:{opened[1].id}", cal.add_months(_local(opened[0], tz), 12), closed,
                       detail, [opened[1]])
        for t, v in trained:
            if _local(t, tz) < keep_from:
                continue
            gaps = [label for name, label in (("trainer", "trainer"), ("content_version", "content summary"))
                    if not v.data.get(name)]
            if gaps:
                yield duty("record", f"record:{v.id}", _local(t, tz), None,
                           f"{v.id} lacks {', '.join(gaps)}", [v])


@derivation(
    name="osha_hazcom_duty", inputs=("employment_episode", "training_record"), output="osha_hazcom_duty",
    family="person",
    fields={"episode_id": "string", "person_id": "string", "establishment_id": "string", "issue": "string",
            "key": "string", "due_at": "date", "done_at": "instant"},
    example="osha_hazcom_duty where episode_id == episode.id",
)
def osha_hazcom_duty(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Hazard communication training of an active employee who works with hazardous chemicals
    (1910.1200(h)(1)): employees with occupational exposure, plus the roles in `hazcom_roles`.

    `initial`: trained by the local day the work began; `done_at` is the person's first HAZCOM
    training. `revision_2024` (only when `hazcom_rev2024_retrain` is true, i.e. the practice's
    chemicals gained newly classified hazards under the 2024 revision, and only for employees
    already trained once): a HAZCOM training completed on or after 19 July 2024, due 20 Nov 2026
    (substances).
    """
    now = _Now(ctx.as_of)
    roles = role_set(ctx.params.get("hazcom_roles"))
    retrain = ctx.params.get("hazcom_rev2024_retrain") is True
    hazcom = _trainings(inputs.get("training_record", ()), "HAZCOM", now)
    for ep, current in _engagements_at_work(ctx, inputs.get("employment_episode", ()), now, lambda v: (
            _flag(v, "occupational_exposure") or role_key(v.data.get("role")) in roles)):
        assigned = _assigned_at(ep)
        if assigned is None or assigned > now.as_of:
            continue
        person = str(ep.data.get("person_id"))
        tz = _tz(ctx, ep, ep.data.get("establishment_id"))  # the site of the initial assignment (C7)
        trained = hazcom.get(person, [])
        base = _base(ep, current, person)
        first = trained[0] if trained else None
        yield DerivedFact("osha_hazcom_duty", f"{ep.id}:initial", dict(
            base, issue="initial", key="initial", due_at=_day(_local(assigned, tz)),
            done_at=_iso(first[0]) if first else None,
        ), _sources(ep, current, first[1] if first else None), f"person:{person}")
        if retrain and first is not None:  # untrained employees are the `initial` duty's
            revised = next(((t, v) for t, v in trained if _local(t, tz) >= HAZCOM_2024_EFFECTIVE), None)
            yield DerivedFact("osha_hazcom_duty", f"{ep.id}:revision_2024", dict(
                base, issue="revision_2024", key="revision_2024", due_at=_day(HAZCOM_2024_SUBSTANCES_BY),
                done_at=_iso(revised[0]) if revised else None,
            ), _sources(ep, current, revised[1] if revised else None), f"person:{person}")
