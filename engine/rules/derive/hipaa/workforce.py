"""Workforce duties of the hipaa rulesets: HIPAA training (HIPAA-ADM-TRN-002), access removed at
termination (HIPAA-SEC-TERM-004), unique user identification (UID-005) and sanctions
(HIPAA-ADM-SAN-003).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from engine.rules import bundles
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.hipaa._common import (
    Inputs,
    Source,
    _Accounts,
    _AsOf,
    _engagements_at_work,
    _Episode,
    _episodes,
    _event_account,
    _fact,
    _instant,
    _src,
    _tz,
    _utc,
)

HIPAA_COURSES = ("HIPAA_PRIVACY", "HIPAA_SECURITY")
#: Local days before an engagement's start from which a HIPAA course completed counts for it as
#: onboarding (with rehire_counts_as_new_member): see `_counts_for_engagement`.
PRE_START_TRAINING_DAYS = 30


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


def _counts_for_engagement(done: dt.datetime, start: dt.datetime, start_day: dt.date, tz: str,
                           earlier_end: dt.datetime | None) -> bool:
    """Whether a HIPAA course completed at `done` counts for an engagement that started at `start`
    (local day `start_day` in `tz`), when rehire_counts_as_new_member keeps earlier engagements'
    training out; `earlier_end` is when the person's previous engagement with PHI access ended.

    On or after the start, it does. Before it, it does when it is onboarding for this engagement:
    on a local day at most PRE_START_TRAINING_DAYS before the start day (the same morning, or the
    days of hiring before the first shift) and after any earlier engagement ended, so it belongs
    to no earlier engagement. Counting only completions at or after the start instant had left a
    member trained at 07:30 for an 08:00 start owing the training.
    """
    if done >= start:
        return True
    if earlier_end is not None and done <= earlier_end:
        return False
    return cal.local_date(done, tz) >= cal.add_days(start_day, -PRE_START_TRAINING_DAYS)


def _refresher_duties(
    ctx: DeriveContext, ep: _Episode, start: dt.datetime, course: str,
    done: list[tuple[dt.datetime, str, RecordView]], tz: str, base: Mapping[str, Any], bundle: str,
    current: _Episode,
) -> Iterator[DerivedFact]:
    """The refresher cycles of one HIPAA course in one engagement (HIPAA-ADM-TRN-002), keyed by its
    first episode `ep`, which started at `start`; `current` is the episode worked in now.

    Each completion opens a cycle due `hipaa_refresher_months` after its local date (C5) and the next
    completion closes it. Yielded: the open cycle (after the latest completion; the engine reports it
    due soon or overdue) and every cycle of the engagement closed after its due day, with `met_at` the
    late completion (the engine reports it as late). A cycle is keyed by the completion that opened
    it, so the finding of an overdue course stays the same finding when the course is repeated late,
    and each course and cycle is its own finding. A cycle's length is the one in force on the day it
    opened.
    """
    seq = sorted(done, key=lambda x: (x[0], x[2].id))
    for i, (at, _, opened) in enumerate(seq):
        day = cal.local_date(at, tz)
        months = int(ctx.param_on("hipaa_refresher_months", day, 12))
        due = cal.add_months(day, months)
        closed = seq[i + 1] if i + 1 < len(seq) else None
        if closed is not None and (cal.local_date(closed[0], tz) <= due or closed[0] < start):
            continue  # repeated on time, or before this engagement (rehire_counts_as_new_member = false)
        basis = (f"{course} training {day} ({opened.id}) + {months} months (hipaa_refresher_months"
                 f"{ctx.then_said('hipaa_refresher_months', months, 12)})")
        if closed is not None:
            basis += f"; repeated {cal.local_date(closed[0], tz)} ({closed[2].id})"
        key = f"refresher:{course}:{opened.id}"
        yield _fact("hipaa_training_duty", f"{ep.id}:{key}", dict(base, **{
            "kind": "refresher", "key": key, "course": course, "courses_missing": course, "due_at": due,
            "met_at": closed[0] if closed is not None else None, "basis": basis,
        }), [_src(ep.view), _src(current.view), _src(opened)] + ([_src(closed[2])] if closed is not None else []),
            bundle)


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
    """HIPAA privacy and security training owed in each engagement with PHI access in which the
    person is at work (HIPAA-ADM-TRN-002).

    The unit is the engagement of episodes with PHI access (`_engagements_at_work`), not the
    episode: the catalog's training "within N days of joining" is owed once, so a transfer between
    sites (same day, next day, overlapping) neither asks for it again nor moves its due date, and
    the refresher cycles keep running; a return after a gap is a new member. Facts are keyed by the
    engagement's first episode (`episode_id`, the finding's subject), so a finding stays one finding
    across a transfer, and name the site of the episode worked in now (`establishment_id`).

    The courses of hipaa_training_courses are required (by default both, HIPAA_PRIVACY and
    HIPAA_SECURITY; a practice that teaches one combined course lists the code it records it under);
    with rehire_counts_as_new_member only completions for the engagement count: on or after its
    start, or onboarding before it (at most PRE_START_TRAINING_DAYS local days before the start day
    and after any earlier engagement ended; `_counts_for_engagement`). Kinds
    (`key` is the finding's occurrence): `new_hire` (not all done: due joining + hipaa_new_hire_days),
    `before_access` (hipaa_training_before_phi_access and the engagement's first access event came
    before the courses were done: due the day before that access, met when the training was done),
    `refresher` (per course once it is done, per cycle: due its completion + hipaa_refresher_months,
    C5, met by the next completion; key `refresher:<course>:<completion id>`, see `_refresher_duties`).
    """
    now = _AsOf(ctx)
    courses = tuple(c for c in HIPAA_COURSES if c in ctx.param("hipaa_training_courses", HIPAA_COURSES))
    episodes = _episodes(inputs["employment_episode"], now)
    trainings: dict[str, list[tuple[dt.datetime, str, RecordView]]] = defaultdict(list)
    for t in inputs["training_record"]:
        done = now.happened(t.data.get("completed_at"))
        if done is not None and t.data.get("course") in courses and t.data.get("person_id"):
            trainings[str(t.data["person_id"])].append((done, str(t.data["course"]), t))
    accounts = _Accounts(inputs["account"], now)
    before_access = bool(ctx.param("hipaa_training_before_phi_access", True))
    first_access = _first_access_by_episode(inputs["access_event"], accounts, episodes, now) if before_access else {}
    rehire_new = bool(ctx.param("rehire_counts_as_new_member", True))
    for person, eps in sorted(episodes.items()):
        with_phi = [ep for ep in eps if ep.view.data.get("phi_access_required") is True]
        for group, current in _engagements_at_work(ctx, with_phi):
            first, start = group[0], group[0].start
            if start is None:
                continue  # not returned by _engagements_at_work; for the type checker
            base = {"episode_id": first.id, "person_id": person, "establishment_id": current.establishment_id}
            # dates in the zone of the site joined (C7), so a move to another zone re-dates nothing
            tz = ctx.tz_of(first.view)
            start_day = cal.local_date(start, tz)
            views = [_src(first.view), _src(current.view)]
            # episodes ended by the start are those of earlier engagements (a gap parts them)
            earlier_end = max((ep.end for ep in with_phi if ep.end is not None and ep.end <= start), default=None)
            counted = [x for x in trainings.get(person, [])
                       if not rehire_new or _counts_for_engagement(x[0], start, start_day, tz, earlier_end)]
            firsts = {c: min((x for x in counted if x[1] == c), default=None, key=lambda x: (x[0], x[2].id))
                      for c in courses}
            missing = [c for c in courses if firsts[c] is None]
            bundle = f"person:{person}"
            if missing:
                new_hire_days = int(ctx.param_on("hipaa_new_hire_days", start_day, 30))
                yield _fact("hipaa_training_duty", f"{first.id}:new_hire", dict(base, **{
                    "kind": "new_hire", "key": "new_hire", "due_at": cal.add_days(start_day, new_hire_days),
                    "courses_missing": ", ".join(missing),
                    "basis": f"joined {start_day} ({first.id}) + {new_hire_days} days (hipaa_new_hire_days"
                             f"{ctx.then_said('hipaa_new_hire_days', new_hire_days, 30)})",
                }), views + [_src(x[2]) for x in counted], bundle)
                trained_at = None
            else:
                trained_at = max((firsts[c][0] for c in courses), default=start)  # type: ignore[index]
            access = min((first_access[ep.id] for ep in group if ep.id in first_access),
                         default=None, key=lambda a: (_utc(a[0]), a[1].id))
            if access is not None and (trained_at is None or access[0] < trained_at):
                access_day = cal.local_date(access[0], tz)
                yield _fact("hipaa_training_duty", f"{first.id}:before_access", dict(base, **{
                    "kind": "before_access", "key": "before_access", "due_at": cal.add_days(access_day, -1),
                    "met_at": trained_at, "first_access_at": access[0], "first_access_event_id": access[1].id,
                    "courses_missing": ", ".join(missing),
                    "basis": (f"first PHI access {cal.iso_instant(access[0])} ({access[1].id}) came before "
                              f"HIPAA training was complete (hipaa_training_before_phi_access)"),
                }), views + [_src(access[1])] + [_src(x[2]) for x in counted], bundle)
            for c in courses:
                done_c = [x for x in counted if x[1] == c]
                if done_c:
                    yield from _refresher_duties(ctx, first, start, c, done_c, tz, base, bundle, current)


# ---- HIPAA-SEC-TERM-004: accounts disabled after employment ends, and not used after it ----------


@derivation(
    name="hipaa.termination_duties",
    inputs=("employment_episode", "account", "access_event"),
    output="hipaa_term_duty",
    fields={"kind": "string", "episode_id": "string", "account_id": "string", "person_id": "string",
            "establishment_id": "string", "end_at": "instant", "due_at": "instant", "met_at": "instant",
            "first_use_at": "instant", "first_use_event_id": "string", "use_count": "number", "basis": "string",
            "rehired_at": "instant", "no_deadline": "bool"},
    family="person",
    example="kind=revoke account_id=A1 end_at=2026-03-07T23:00:00Z due_at=2026-03-08T23:00:00Z",
    heavy=True,  # reads every access event (3 us each): the sweep's own process was the busier one, so
                 # this goes beside training duties, same family, over the same read of the log
)
def termination_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Per ended episode and each account enabled during it (HIPAA-SEC-TERM-004).

    `revoke`: disable within access_revoke_hours of the end (elapsed UTC hours, C3); met when the
    account was disabled, or when the person was rehired with it still enabled (`rehired_at`: the
    lapse stays on record as a late revocation, but nobody is told to disable a current employee's
    account). `used_after_end`: the account made access events after the end (and before
    any later episode of the same person); due at the end itself, never met: a standing condition
    (`no_deadline`), reported as a violation with no due. An episode followed
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
    hours_of: dict[str, float] = {}  # episode id -> the window in force on the day it ended
    pairs: dict[str, list[tuple[_Episode, dt.datetime | None]]] = defaultdict(list)  # account id -> episodes
    for person, eps in episodes.items():
        for i, ep in enumerate(eps):
            if ep.end is None:
                continue
            hours = hours_of[ep.id] = float(ctx.param_at("access_revoke_hours", ep.view, ep.end, 24))
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
        for ep, nxt in pairs[acct_id]:
            assert ep.end is not None
            hours = hours_of[ep.id]
            base = {"episode_id": ep.id, "account_id": acct_id, "person_id": ep.person_id,
                    "establishment_id": ep.establishment_id, "end_at": ep.end}
            bundle = bundles.bundle_key("account", acct_id, acct.data)
            disabled = now.happened(acct.data.get("disabled_at"))
            rehired = nxt if nxt is not None and nxt <= now.at and (disabled is None or disabled > nxt) else None
            yield _fact("hipaa_term_duty", f"{ep.id}:{acct_id}:revoke", dict(base, **{
                "kind": "revoke", "due_at": cal.add_hours(ep.end, hours),
                "met_at": rehired if rehired is not None else disabled, "rehired_at": rehired,
                "basis": f"employment ended {cal.iso_instant(ep.end)} + {hours:g} elapsed hours (access_revoke_hours"
                         f"{ctx.then_said('access_revoke_hours', hours, 24)})",
            }), [_src(ep.view), _src(acct)], bundle)
            used = sorted(uses.get((acct_id, ep.id), []), key=lambda x: (x[0], x[1].id))
            if used:
                yield _fact("hipaa_term_duty", f"{ep.id}:{acct_id}:used_after_end", dict(base, **{
                    "kind": "used_after_end", "due_at": ep.end, "no_deadline": True, "first_use_at": used[0][0],
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
                # the message calls it a shared log-in: say why one with no person is read as one
                why = ("flagged generic" if d.get("generic") is True
                       else "no person assigned, so nothing ties it to one user")
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


# ---- HIPAA-ADM-SAN-003: sanctions decided, and escalated on repeat ------------------------------


def _workforce_episode(episodes: list[_Episode], closed: dt.datetime) -> _Episode | None:
    """The episode that makes an investigation's subject a workforce member, or None.

    164.530(e) sanctions workforce members, so a confirmed violation by anyone else (a visitor, a
    vendor's staff, a patient) owes no sanction record. The subject counts as workforce when an
    episode of theirs that exists as of the run started on or before the investigation closed; one
    that has ended since still counts (a former member was workforce when investigated). Of those,
    the latest started, cited as the finding's evidence. `episodes` is in start order (`_episodes`).
    """
    found = None
    for ep in episodes:
        if ep.start is None or ep.start <= closed:
            found = ep
    return found


def _unfinished_sanction(record: RecordView) -> str:
    """What a sanction record on file lacks to count as a decided sanction, for the finding's basis:
    without it the message's "no sanction has been recorded" read as if the record were not there."""
    missing = [what for field, what in (("level", "a level"), ("decided_at", "a decision date (decided_at)"))
               if not record.data.get(field)]
    return f"; sanction record {record.id} is on file without {' or '.join(missing)}, so it is no sanction yet"


@derivation(
    name="hipaa.sanction_duties",
    inputs=("investigation", "sanction_record", "employment_episode"),
    output="hipaa_sanction_duty",
    fields={"kind": "string", "investigation_id": "string", "person_id": "string", "due_at": "date",
            "met_at": "instant", "sanction_id": "string", "prior_investigation_id": "string", "basis": "string",
            "no_deadline": "bool"},
    family="person",
    example="kind=decision investigation_id=INV-0001 due_at=2026-11-15",
)
def sanction_duties(ctx: DeriveContext, inputs: Inputs) -> Iterator[DerivedFact]:
    """Sanction duties of each investigation that confirmed a workforce member's violation.

    Only investigations whose subject was workforce by the closure owe anything (`_workforce_episode`;
    that episode is cited with the investigation). `decision`: a sanction record with a level,
    decided within sanction_decision_days of the closure (a record on file with no level or no
    decision date is none, and the basis names it: `_unfinished_sanction`). `no_escalation` (advisory): a second
    confirmed violation by the same person with both closures inside the 12 months before the run
    whose sanction is not above the earlier one in sanction_level_order; a standing condition
    (`no_deadline`: a violation with no due) dated by the later sanction.
    """
    now = _AsOf(ctx)
    confirmed = {str(x).lower() for x in ctx.param("sanction_confirmed_outcomes", ["violation_confirmed"])}
    order = [str(x).lower() for x in ctx.param("sanction_level_order", [])]
    sanctions: dict[str, list[tuple[dt.datetime, RecordView]]] = defaultdict(list)
    incomplete: dict[str, list[RecordView]] = defaultdict(list)  # on file, but no decided sanction
    for s in inputs["sanction_record"]:
        if not s.data.get("investigation_id"):
            continue
        decided = now.happened(s.data.get("decided_at"))
        if decided is not None and s.data.get("level"):
            sanctions[str(s.data["investigation_id"])].append((decided, s))
        elif decided is not None or s.data.get("decided_at") is None:
            incomplete[str(s.data["investigation_id"])].append(s)
    episodes = _episodes(inputs["employment_episode"], now)
    closed_by_person: dict[str, list[tuple[dt.datetime, RecordView]]] = defaultdict(list)
    for inv in sorted(inputs["investigation"], key=lambda v: v.id):
        d = inv.data
        closed = now.happened(d.get("closed_at"))
        person = d.get("subject_person_id")
        if not now.exists(inv) or closed is None or str(d.get("outcome") or "").lower() not in confirmed or not person:
            continue
        episode = _workforce_episode(episodes.get(str(person), []), closed)
        if episode is None:
            continue  # not a workforce member when investigated: no sanction is owed (164.530(e))
        closed_by_person[str(person)].append((closed, inv))
        data = {"investigation_id": inv.id, "person_id": person}
        tz = _tz(ctx, "hipaa_sanction_duty", data)
        day = cal.local_date(closed, tz)
        days = int(ctx.param_on("sanction_decision_days", day, 30))
        done = sorted(sanctions.get(inv.id, []), key=lambda x: (x[0], x[1].id))
        unfinished = [] if done else sorted(incomplete.get(inv.id, []), key=lambda v: v.id)
        yield _fact("hipaa_sanction_duty", f"{inv.id}:decision", dict(data, **{
            "kind": "decision", "due_at": cal.add_days(day, days), "met_at": done[0][0] if done else None,
            "sanction_id": done[0][1].id if done else None,
            "basis": f"investigation closed {day} + {days} days (sanction_decision_days"
                     f"{ctx.then_said('sanction_decision_days', days, 30)})"
                     + "".join(_unfinished_sanction(s) for s in unfinished),
        }), [_src(inv), _src(episode.view)] + [_src(s) for _, s in done] + [_src(s) for s in unfinished],
            f"person:{person}")
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
                "due_at": cal.local_date(c_at, tz), "no_deadline": True, "sanction_id": c_rec.id,
                "prior_investigation_id": prev.id,
                "basis": (f"second confirmed violation within 12 months ({prev.id}, {cur.id}); sanction "
                          f"{c_level} is not above the earlier {p_level}"),
            }, [_src(prev), _src(cur), _src(p_rec), _src(c_rec)], f"person:{person}")
