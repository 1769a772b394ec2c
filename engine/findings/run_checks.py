"""Checks on what an evaluation or a packet is asked to look at: a request that could only come
back empty is refused, rather than run and answered with nothing that reads as "all clear".

An evaluation of the database before its first record sees an empty practice and, persisted,
resolves every open finding of the frameworks it ran; one at an instant when no ruleset is in
force evaluates nothing; one within a century of the calendar's end counts its deadlines past the
year 9999. `pipeline.evaluate` calls `check_evaluation` for every run it keeps, whichever face or
job asked (a run not kept, `vigil evaluate --records` without --db, is CONTRACT.md's: it prints the
empty result and a warning on stderr); the packet service calls `check_known_at` for the database
state a packet shows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from engine import clock
from engine.errors import ErrorDetail, InputError
from engine.findings import known

#: The last year an evaluation may be as of (see `check_evaluation`).
LAST_EVALUATION_YEAR = 9899
#: How far ahead of this server's clock a `known_at` may be (a client's clock a little fast).
KNOWN_AT_GRACE = dt.timedelta(minutes=5)


def check_known_at(session: Session, *, org_id: str, known_at: dt.datetime, field: str = "known_at") -> None:
    """Refuse a knowledge instant at which the org's database held no record at all.

    An evaluation of that state sees an empty practice: it reports nothing and, persisted, resolves
    every open finding of the frameworks it ran ("condition no longer present"); a packet of it is a
    signed record of nothing. Neither is what anyone asking for an earlier state means, so it is an
    input error naming the field, not a clean-looking empty result."""
    if known_at > clock.now() + KNOWN_AT_GRACE:
        raise InputError(f"{field} {known_at.isoformat()} is in the future", [ErrorDetail(
            reason="what the database knew at an instant that has not come yet is not known; give now or an earlier "
                   "instant, or leave it out for the latest state", field=field)], code="input.instant")
    if not known.any_record_known(session, org_id=org_id, known_at=known_at):
        raise InputError(f"nothing was recorded for this organization at or before {field} "
                         f"{known_at.isoformat()}", [ErrorDetail(
                             reason="the database held no record then, so the result would be empty; give a later "
                                    "instant (or none, for the latest state)", field=field)],
                         code="input.before_first_record")


def check_evaluation(session: Session, *, org_id: str, as_of: dt.datetime, known_at: dt.datetime | None = None,
                     frameworks: list[str] | None = None) -> None:
    """Refuse an evaluation that could only come back empty, rather than run it and report nothing.

    Every framework asked for must have a ruleset (in some version) and a version in force on
    as_of's date; with none asked for, some ruleset must be in force then (an as_of in the year 1000
    evaluates nothing). as_of must leave a century before the calendar ends: deadlines and retention
    periods are counted years ahead of it (OSHA keeps exposure records 30 years), and an evaluation
    in 9999 would count past the year 9999. A `known_at` must not be before the first record
    (`check_known_at`)."""
    from engine.rules.catalog import frameworks_said, in_force, load_all, require_frameworks, rulesets_dir
    from engine.rules.versions import said_in_force, spans_in_force

    if as_of.year > LAST_EVALUATION_YEAR:
        raise InputError(f"as_of {as_of.isoformat()} is too far ahead", [ErrorDetail(
            reason=f"an evaluation instant must fall in {LAST_EVALUATION_YEAR} or earlier: the deadlines counted from "
                   f"it would run past the year 9999", field="as_of")], code="input.instant")

    if frameworks is not None and not frameworks:
        raise InputError("an empty list of frameworks evaluates nothing", [ErrorDetail(
            reason="name at least one framework, or leave the field out to evaluate every framework",
            field="frameworks")], code="input.invalid")
    loaded = load_all(rulesets_dir())
    if not loaded:  # a folder of no rulesets: every evaluation of it would be a clean "nothing found"
        raise InputError("there is no ruleset to evaluate", [ErrorDetail(
            reason=f"the frameworks are: {frameworks_said([])}")], code="input.nothing_in_force")
    if frameworks:
        require_frameworks(frameworks, loaded, field="frameworks")
    live = {item.spec.framework for item in in_force(loaded, as_of.date(), frameworks)}
    idle = [fw for fw in frameworks or sorted({i.spec.framework for i in loaded}) if fw not in live]
    if idle and (frameworks or not live):
        raise InputError(f"no ruleset is in force on {as_of.date().isoformat()} for "
                         f"{', '.join(idle)}", [ErrorDetail(
                             reason=f"{fw} {said_in_force(spans_in_force(loaded, fw))}; the evaluation would find "
                                    "nothing", field="as_of") for fw in idle], code="input.nothing_in_force")
    if known_at is not None:
        check_known_at(session, org_id=org_id, known_at=known_at)


def not_judged(day: dt.date, frameworks: list[str] | None, judged: set[str], *, field: str) -> list[str]:
    """What to say of each framework asked for (every one, with None) that has had or will have
    versions in force but has none on `day`, so that an evaluation left it out: one sentence each,
    naming `field` (the caller's word for the instant: the CLI's `--as-of`, the API's `as_of`).

    An evaluation of every framework runs when some are in force; the others are simply not in
    its result (CONTRACT.md's JSON lists the rulesets used). Without a word, a framework whose
    last version was withdrawn or ended, or which starts later, dropped out unnoticed."""
    from engine.rules.catalog import load_all, rulesets_dir
    from engine.rules.versions import said_in_force, spans_in_force

    loaded = load_all(rulesets_dir())
    said = []
    for fw in sorted(set(frameworks or (i.spec.framework for i in loaded)) - judged):
        spans = spans_in_force(loaded, fw)
        if spans:
            said.append(f"no {fw} ruleset is in force on {day} (the UTC date of {field}), so {fw} was not judged: "
                        f"{fw} {said_in_force(spans)}")
    return said
