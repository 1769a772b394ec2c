"""Exclusion-screening duties for CMS-EXCL-LEIE-015 (catalog section 3), registered as `cms_excl_duty`.

A module of its own because one person's screening history, judged list by list against three
clocks (pre-hire, monthly or every 30 days, match review), is a responsibility apart from the MIPS
and enrollment derivations; the `engine.rules.derive.cms` package imports it last, so it registers
with the cms family, after the other cms derivations. The calendar service gives every date (C1
calendar days, C5 months, C7 local dates).

Every date of a duty is the local date in the zone of the establishment of the employment episode
the duty belongs to (a person transferred from Honolulu to New York has the months worked in
Honolulu judged in Honolulu time). `excl_lookback_months` bounds how far back gaps in checking are
reported (a gap is in view while it reaches into the lookback); it never hides an exclusion or a
possible match that was still unresolved inside it.

A duty's id is the identity of its finding, which persists from one evaluation to the next (and
carries its acknowledgement, assignee and waiver), so an id never depends on the evaluation instant
or on where the lookback starts: a monthly gap is named by the month it truly began, however long
before the lookback that was.

Pure: reads its inputs, `ctx.as_of` and `ctx.params`, and yields facts in a deterministic order.
Records dated after `as_of` have not happened yet and are ignored (CONTRACT: two kinds of time).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ErrorDetail, RulesetValidationError
from engine.rules import calendar as cal
from engine.rules.derive import DeriveContext, DerivedFact, RecordView, derivation
from engine.rules.derive.cms._common import _happened, _iso, _src  # the family's value helpers
from engine.rules.derive.engagements import engaged_on, engagements

SCREEN_FREQUENCIES = ("CALENDAR_MONTH", "EVERY_30_DAYS")
INTERVAL_DAYS = 30
"""EVERY_30_DAYS: at most 30 calendar days (C1) from one check of a list to the next."""


# ---- Small helpers -------------------------------------------------------------------------------


def _either(names: list[str]) -> str:
    """'LEIE', 'LEIE or SAM', 'LEIE, SAM or STATE_MEDICAID': the lists a duty is about, for messages."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    out, month = [], first.replace(day=1)
    while month <= last:
        out.append(month)
        month = cal.add_months(month, 1)
    return out


@dataclass(frozen=True)
class _Check:
    """One screening that has happened, with its local date per zone (computed once per zone)."""

    at: dt.datetime
    source: str
    result: str | None
    view: RecordView
    days: dict[str, dt.date] = field(default_factory=dict, compare=False, repr=False)

    def day(self, tz: str) -> dt.date:
        found = self.days.get(tz)
        if found is None:
            found = self.days[tz] = cal.local_date(self.at, tz)
        return found


@dataclass(frozen=True)
class _Episode:
    view: RecordView
    start: dt.datetime
    end: dt.datetime | None
    tz: str

    @property
    def start_on(self) -> dt.date:
        return cal.local_date(self.start, self.tz)

    @property
    def end_on(self) -> dt.date | None:
        return cal.local_date(self.end, self.tz) if self.end else None

    def last_day(self, today: dt.date) -> dt.date:
        return cal.local_date(self.end, self.tz) if self.end else today

    def active_at(self, at: dt.datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


@dataclass(frozen=True)
class _Settings:
    """The parameters judged as of the evaluation; `excl_match_review_days`, a window counted from
    each possible match, is read per match (`_PersonScreening.review_days`), and
    `excl_prehire_lookback_days` per engagement, on its start day (`pre_hire`)."""

    sources: list[str]
    frequency: str
    lookback: int

    @classmethod
    def of(cls, ctx: DeriveContext) -> _Settings:
        frequency = str(ctx.param("excl_screen_frequency", "CALENDAR_MONTH")).upper()
        if frequency not in SCREEN_FREQUENCIES:
            raise RulesetValidationError(
                f"practice parameter cms.excl_screen_frequency must be one of {', '.join(SCREEN_FREQUENCIES)}",
                [ErrorDetail(reason=f"got {frequency!r}", field="cms.excl_screen_frequency")],
                code="ruleset.params.invalid")
        return cls(sources=[str(s).upper() for s in ctx.param("excl_screen_sources", ["LEIE", "SAM"])],
                   frequency=frequency, lookback=int(ctx.param("excl_lookback_months", 12)))


# ---- The derivation ------------------------------------------------------------------------------


@derivation(
    name="cms_excl_duty",
    inputs=("person", "employment_episode", "screening"),
    output="cms_excl_duty",
    fields={"person_id": "string", "person_name": "string", "establishment_id": "string", "episode_id": "string",
            "kind": "string", "sources": "string", "period": "string", "due_at": "date", "cleared_at": "instant",
            "cleared_on": "date", "last_checked_at": "instant", "screening_id": "string", "still_employed": "bool",
            "ongoing": "bool", "started_on": "date", "source_checks": "list", "no_deadline": "bool"},
    family="person", about=("person", "person_id"),
    example="duty: cms_excl_duty (anchor duty.due_at, met_at duty.cleared_at)",
    # in the derive process, with the other two readers of the screenings (credentialing's PSV items
    # and monitoring): the sweep's own process is the longer side on a large practice (bench/README.md)
    heavy=True,
)
def exclusion_duties(ctx: DeriveContext, inputs: Mapping[str, Iterable[RecordView]]) -> Iterator[DerivedFact]:
    """Exclusion-screening duties of every person with an employment episode. Dates are local dates
    in the zone of the establishment of the episode a duty belongs to (C7); gaps in checking are
    judged over the last `excl_lookback_months` calendar months (a gap is reported while it reaches
    into them):

    - `pre_hire`: no check of a required source (`excl_screen_sources`) on the local start date or in
      the `excl_prehire_lookback_days` calendar days before it (C1: the start day is day 0; a transfer
      or back-to-back episode is not a new hire); due on the start date; cleared by the first check
      after the start.
    - `monthly` (`excl_screen_frequency: CALENDAR_MONTH`): calendar months the person was in scope
      with no check of a required source; consecutive months missing the same sources form one
      duty, due on the last day of its first month; cleared when every missing source was checked
      again. The hire month is one of them: a start with no pre-hire check is one duty, a hire month
      that then ends with no check is another (catalog: each is high). A
      run reaching into the lookback is followed back past its start, so that its id, due date and
      period are those of its true first month wherever the lookback starts (an ongoing gap keeps
      one id, month after month).
    - `interval` (`EVERY_30_DAYS`): more than 30 days (C1) since the previous check of a source, or,
      for a list not checked in the 30 days before an engagement started (never checked, or last
      checked long before), since the start (`started_on`). A gap is reported while it reaches into
      the lookback, however long ago it began.
    - `possible_match`: a near match to review within `excl_match_review_days` (the value in force
      on the match's local date); cleared by the next check of that source with a determination
      (clear or excluded). Reported while unresolved, however old, and when resolved inside the
      lookback.
    - `excluded`: a confirmed match (any source) for a person employed then or hired later; due the
      day of the check; cleared only by a later clear result from that source (reinstatement or a
      corrected match). Consecutive excluded results are one duty. Reported while unresolved, however
      old (for a person no longer employed too: claims must still be quantified), and when cleared
      inside the lookback, unless it was cleared before the person was employed (found and cleared
      before the hire, or between two engagements): no claims were made while it stood. A standing
      condition, not a deadline (`no_deadline`: a violation with no due; the catalog gives none).

    For messages: `sources` names the lists in prose, `cleared_on` is the local date of `cleared_at`,
    `ongoing` says a monthly run reaches the current (unfinished) month, and `source_checks` has one
    entry per list of a pre-hire, monthly or interval duty, `{source, last_on, next_on}`: the local
    dates of the last check of that list before the duty's period (before the start; before its first
    month; the check the 30 days run from, or the last one before `started_on`) and of the first one
    after it (null when none yet).
    """
    settings = _Settings.of(ctx)
    people = {v.id: v for v in inputs.get("person", ())}
    episodes: dict[str, list[RecordView]] = {}
    for v in inputs.get("employment_episode", ()):
        if v.data.get("person_id"):
            episodes.setdefault(str(v.data["person_id"]), []).append(v)
    checks: dict[str, list[RecordView]] = {}
    for v in inputs.get("screening", ()):
        if v.data.get("person_id"):
            checks.setdefault(str(v.data["person_id"]), []).append(v)

    for pid in sorted(episodes):
        eps = []
        for v in episodes[pid]:
            start = _happened(v.data.get("start_at"), ctx.as_of)
            if start is None:
                continue
            eps.append(_Episode(v, start, _happened(v.data.get("end_at"), ctx.as_of), ctx.tz_of(v)))
        if not eps:
            continue
        eps.sort(key=lambda e: (e.start, e.view.id))
        yield from _PersonScreening(ctx, settings, pid, people.get(pid), eps, checks.get(pid, [])).duties()


class _PersonScreening:
    """One person's episodes and checks, and the duties they give."""

    def __init__(self, ctx: DeriveContext, settings: _Settings, pid: str, person: RecordView | None,
                 eps: list[_Episode], raw_checks: list[RecordView]) -> None:
        self.ctx = ctx
        self.s = settings
        self.pid = pid
        self.eps = eps
        self.latest = eps[-1]
        self.today = cal.local_date(ctx.as_of, self.latest.tz)
        self.window = cal.add_months(self.today.replace(day=1), -settings.lookback)
        checks: list[_Check] = []
        for v in raw_checks:
            at = _happened(v.data.get("checked_at"), ctx.as_of)
            if at is not None and v.data.get("source"):
                checks.append(_Check(at, str(v.data["source"]).upper(), v.data.get("result"), v))
        checks.sort(key=lambda c: (c.at, c.source, c.view.id))
        self.checks = checks
        self.name = " ".join(str(person.data.get(k)) for k in ("first_name", "last_name")
                             if person and person.data.get(k))
        # at work, as the credentialing rules read it: an episode ended yesterday evening still counts
        # today (the night between a transfer's two episodes is no departure)
        self.still_employed = any(engaged_on(e, cal.local_date(ctx.as_of, e.tz)) for e in eps)
        self.base_sources = [_src(person)] if person else []
        # engagements: a transfer, a back-to-back or concurrent episode continues the engagement (no
        # pre-hire duty, no new 30-day clock); see engine.rules.derive.engagements
        self.stretches: list[list[_Episode]] = engagements(eps)
        self.excluded_spans = self._excluded_spans()
        self._covered: dict[str, dict[str, set[str]]] = {}

    def duties(self) -> Iterator[DerivedFact]:
        yield from self.pre_hire()
        if self.s.frequency == "CALENDAR_MONTH":
            yield from self.monthly()
        else:
            yield from self.interval()
        yield from self.matches()

    # ---- shared pieces -------------------------------------------------------------------------

    def episode_at(self, at: dt.datetime) -> _Episode | None:
        """The episode in force at `at`, or else the first one to start after it (hired later)."""
        return next((e for e in self.eps if e.active_at(at) or e.start > at), None)

    def duty(self, kind: str, key: str, *, due: dt.date, missing: list[str], period: str, cleared: dt.datetime | None,
             ep: _Episode | None, used: list[_Check], screening: _Check | None = None,
             per_source: Sequence[tuple[str, _Check | None, _Check | None]] = (), ongoing: bool = False,
             started_on: dt.date | None = None, tz: str | None = None,
             params_used: Mapping[str, Any] | None = None) -> DerivedFact:
        zone = tz or (ep or self.latest).tz
        before = [c for c in self.checks if c.day(zone) <= due and (not missing or c.source in missing)]
        last = before[-1].at if before else None
        evidence = self.base_sources + ([_src(ep.view)] if ep else [_src(e.view) for e in self.eps])
        evidence += [_src(c.view) for c in used]
        evidence += [_src(prev.view) for _, prev, _ in per_source if prev is not None]
        return DerivedFact(
            type="cms_excl_duty", id=f"{self.pid}/{kind}/{key}",
            data={"person_id": self.pid, "person_name": self.name or self.pid,
                  "establishment_id": (ep or self.latest).view.data.get("establishment_id"),
                  "episode_id": ep.view.id if ep else None, "kind": kind, "sources": _either(missing),
                  "period": period, "due_at": due.isoformat(), "cleared_at": _iso(cleared),
                  "cleared_on": _iso(cal.local_date(cleared, zone)) if cleared else None,
                  "last_checked_at": _iso(last), "screening_id": screening.view.id if screening else None,
                  "still_employed": self.still_employed, "ongoing": ongoing, "started_on": _iso(started_on),
                  "source_checks": [{"source": s, "last_on": _iso(prev.day(zone)) if prev else None,
                                     "next_on": _iso(nxt.day(zone)) if nxt else None} for s, prev, nxt in per_source],
                  "no_deadline": kind == "excluded", **(params_used or {})},
            sources=sorted(set(evidence)), bundle_key=f"person:{self.pid}",
        )

    def last_check(self, source: str, *, before: dt.datetime | None = None, before_day: dt.date | None = None,
                   tz: str | None = None) -> _Check | None:
        """The latest check of `source` at or before the instant `before`, or on a local day (in `tz`)
        before `before_day`."""
        tz = tz or self.latest.tz
        found = None
        for c in self.checks:
            if c.source == source and (before is None or c.at <= before) and (before_day is None
                                                                               or c.day(tz) < before_day):
                found = c
        return found

    def next_check(self, source: str, *, after: dt.datetime | None = None, after_day: dt.date | None = None,
                   tz: str | None = None, results: tuple[str | None, ...] | None = None) -> _Check | None:
        """The first check of `source` (with one of `results`) after the instant `after`, or on a local
        day (in `tz`) after `after_day`."""
        tz = tz or self.latest.tz
        for c in self.checks:
            if c.source != source or (after is not None and c.at <= after) or (after_day is not None
                                                                                 and c.day(tz) <= after_day):
                continue
            if results is None or c.result in results:
                return c
        return None

    def _excluded_spans(self) -> dict[str, list[tuple[dt.datetime, dt.datetime | None]]]:
        """Per list, from each confirmed exclusion to the next clear result from it (None: still open)."""
        spans: dict[str, list[tuple[dt.datetime, dt.datetime | None]]] = {}
        for c in self.checks:
            mine = spans.setdefault(c.source, [])
            if c.result == "excluded" and not (mine and mine[-1][1] is None):
                mine.append((c.at, None))
            elif c.result == "clear" and mine and mine[-1][1] is None:
                mine[-1] = (mine[-1][0], c.at)
        return spans

    def under_exclusion(self, source: str, first: dt.date, last: dt.date, tz: str) -> bool:
        """While a confirmed exclusion from a list is unresolved, re-checking that list adds nothing:
        the exclusion duty is the finding, so those months (or 30-day intervals) are not gaps."""
        return any(cal.local_date(start, tz) <= last and (end is None or cal.local_date(end, tz) >= first)
                   for start, end in self.excluded_spans.get(source, []))

    # ---- pre-hire ------------------------------------------------------------------------------

    def pre_hire(self) -> Iterator[DerivedFact]:
        """A check of every required source on the local start date or the days just before it, for
        each new engagement (C1 on local dates, C7)."""
        for stretch in self.stretches:
            ep = stretch[0]
            start_on = ep.start_on
            # the look-back in force on the start day: a hire judged by the policy it was made under
            lookback = int(self.ctx.param_on("excl_prehire_lookback_days", start_on, 30))
            since = cal.add_days(start_on, -lookback)
            missing = [s for s in self.s.sources
                       if not any(c.source == s and since <= c.day(ep.tz) <= start_on for c in self.checks)]
            if not missing:
                continue
            if start_on < self.window:
                continue
            later = [self.next_check(s, after=ep.start) for s in missing]
            cleared = max(c.at for c in later) if all(later) else None  # type: ignore[union-attr]
            yield self.duty("pre_hire", ep.view.id, due=start_on, missing=missing,
                            period=f"before the start on {start_on}", cleared=cleared, ep=ep,
                            params_used=self.ctx.used({"excl_prehire_lookback_days": (lookback, 30)}),
                            used=[c for c in later if c is not None],
                            per_source=[(s, self.last_check(s, before=ep.start), nxt)
                                        for s, nxt in zip(missing, later, strict=True)])

    # ---- periodic checks -----------------------------------------------------------------------

    def monthly(self) -> Iterator[DerivedFact]:
        """Runs of consecutive months missing the same lists, found over the lookback; the run that
        reaches the window's first month is followed back to its true first month, which names and
        dates it: as the window moves month by month, an ongoing gap keeps its id (its finding, with
        what is attached to it, persists) and its due date."""
        scope: dict[dt.date, _Episode] = {}
        for ep in self.eps:
            for month in _months(max(ep.start_on, self.window), ep.last_day(self.today)):
                scope[month] = ep
        runs: list[tuple[list[dt.date], list[str], _Episode]] = []
        for month in sorted(scope):
            ep = scope[month]
            missing = self._missing_in(month, ep)
            if not missing:
                continue
            if runs and runs[-1][1] == missing and cal.add_months(runs[-1][0][-1], 1) == month:
                runs[-1][0].append(month)
            else:
                runs.append(([month], missing, ep))
        if runs and runs[0][0][0] == min(scope):
            runs[0] = self._from_its_start(runs[0])
        for months, missing, ep in runs:
            first_end = cal.end_of_month(months[0])
            later = [self.next_check(s, after_day=first_end, tz=ep.tz) for s in missing]
            cleared = max(c.at for c in later) if all(later) else None  # type: ignore[union-attr]
            period = _month_key(months[0]) + (f" to {_month_key(months[-1])}" if len(months) > 1 else "")
            yield self.duty("monthly", _month_key(months[0]), due=first_end, missing=missing, period=period,
                            cleared=cleared, ep=ep, used=[c for c in later if c is not None],
                            per_source=[(s, self.last_check(s, before_day=months[0], tz=ep.tz), nxt)
                                        for s, nxt in zip(missing, later, strict=True)],
                            ongoing=months[-1] == self.today.replace(day=1))

    def _from_its_start(self, run: tuple[list[dt.date], list[str], _Episode]
                        ) -> tuple[list[dt.date], list[str], _Episode]:
        """The run that begins at the window's first month, with the months before the window that
        continue it (in scope, missing the same lists), back to where it truly began."""
        months, missing, ep = run
        earlier: list[dt.date] = []
        month = cal.add_months(months[0], -1)
        while True:
            owner = self._scope_episode(month)
            if owner is None or self._missing_in(month, owner) != missing:
                break
            earlier.append(month)
            ep = owner
            month = cal.add_months(month, -1)
        return earlier[::-1] + months, missing, ep

    def _scope_episode(self, month: dt.date) -> _Episode | None:
        """The episode a month is judged under (as in monthly(): the latest-starting one in it)."""
        return next((e for e in reversed(self.eps) if e.start_on.replace(day=1) <= month <= e.last_day(self.today)),
                    None)

    def _missing_in(self, month: dt.date, ep: _Episode) -> list[str]:
        """The required lists with no check in a month (local dates in the zone of its episode), less
        those under an unresolved exclusion."""
        key = _month_key(month)
        covered = self._covered_in(ep.tz).get(key, set())
        return [s for s in self.s.sources if s not in covered
                and not self.under_exclusion(s, month, cal.end_of_month(month), ep.tz)]

    def _covered_in(self, tz: str) -> dict[str, set[str]]:
        """The sources checked in each month, found once per zone: per month over every check of the
        person, this was most of the exclusion duties' time (a person screened monthly for years)."""
        found = self._covered.get(tz)
        if found is None:
            found = self._covered[tz] = {}
            for c in self.checks:
                found.setdefault(_month_key(c.day(tz)), set()).add(c.source)
        return found

    def interval(self) -> Iterator[DerivedFact]:
        """EVERY_30_DAYS, per list and engagement: the clock runs from each check, and from the start
        when no check in the 30 days before it covers the start (never checked, or long before)."""
        for source in self.s.sources:
            mine = [c for c in self.checks if c.source == source]
            for stretch in self.stretches:
                yield from self._interval_gaps(source, mine, stretch)

    def _interval_gaps(self, source: str, mine: list[_Check], stretch: list[_Episode]) -> Iterator[DerivedFact]:
        """The 30-day gaps of one list in one engagement. `mine` is that list's checks in time order;
        each anchor is (index in `mine` of the check after it, the check or None for the start, its
        local date, its zone)."""
        first = stretch[0]
        ended = all(e.end is not None for e in stretch)
        end_day = max(e.last_day(self.today) for e in stretch)
        left_at = max(e.end for e in stretch if e.end is not None) if ended else None
        k = bisect.bisect_right([c.at for c in mine], first.start)  # checks at or before the start
        anchors: list[tuple[int, _Check | None, dt.date, str]] = []
        if k and cal.add_days(mine[k - 1].day(first.tz), INTERVAL_DAYS) >= first.start_on:
            anchors.append((k, mine[k - 1], mine[k - 1].day(first.tz), first.tz))
        else:
            anchors.append((k, None, first.start_on, first.tz))
        for j in range(k, len(mine)):
            c = mine[j]
            if left_at is not None and c.at > left_at:
                break
            zone = next((e for e in reversed(stretch) if e.start <= c.at), first).tz
            anchors.append((j + 1, c, c.day(zone), zone))
        for after, check, day, zone in anchors:
            due = cal.add_days(day, INTERVAL_DAYS)
            nxt = mine[after] if after < len(mine) else None
            if nxt is not None and nxt.day(zone) <= due:
                continue
            if ended and due > end_day:
                continue  # left before the next check was due
            # a gap is in view while it reaches into the lookback, however long ago it began
            if due < self.window and (end_day < self.window or (nxt is not None and nxt.day(zone) <= self.window)):
                continue
            if self.under_exclusion(source, day, due, zone):
                continue
            owner = next((e for e in reversed(stretch) if e.start_on <= due), first)
            cleared = nxt.at if nxt else None
            if check is not None:
                yield self.duty("interval", f"{source}/{due.isoformat()}", due=due, missing=[source],
                                period=f"30 days after the check of {day}", cleared=cleared, ep=owner,
                                used=[check] + ([nxt] if nxt else []), per_source=[(source, check, nxt)], tz=zone)
            else:  # from the start: the list was never checked, or not in the 30 days before it
                prev = mine[k - 1] if k else None
                yield self.duty("interval", f"{source}/{due.isoformat()}", due=due, missing=[source],
                                period=f"30 days after the start on {day}", cleared=cleared, ep=owner,
                                used=[nxt] if nxt else [], per_source=[(source, prev, nxt)], started_on=day, tz=zone)

    # ---- matches -------------------------------------------------------------------------------

    def matches(self) -> Iterator[DerivedFact]:
        """Review near matches, act on confirmed exclusions. The lookback hides only what was resolved
        before it: an exclusion or near match still unresolved inside it stays a finding."""
        open_excluded: dict[str, _Check] = {}
        for c in self.checks:
            in_scope = self.episode_at(c.at)
            if c.result == "excluded":
                if c.source not in open_excluded and in_scope is not None:
                    open_excluded[c.source] = c
                continue
            if c.result == "clear" and c.source in open_excluded:
                first = open_excluded.pop(c.source)
                if c.day(self._zone_at(first)) >= self.window and self.employed_between(first.at, c.at):
                    yield self._excluded(first, c)
            if c.result == "possible_match" and in_scope is not None:
                resolved = self.next_check(c.source, after=c.at, results=("clear", "excluded"))
                zone = in_scope.tz
                if resolved is not None and resolved.day(zone) < self.window:
                    continue
                found_on = c.day(zone)
                yield self.duty("possible_match", c.view.id, due=cal.add_days(found_on, self.review_days(found_on)),
                                missing=[c.source], period=f"{c.source} possible match on {found_on}",
                                cleared=resolved.at if resolved else None, ep=in_scope,
                                used=[c] + ([resolved] if resolved else []), screening=c)
        for source in sorted(open_excluded):
            yield self._excluded(open_excluded[source], None)

    def review_days(self, day: dt.date) -> int:
        """`excl_match_review_days` in force on `day`, the local date of a possible match: a review
        window keeps the length it had when the match was found, though the practice changed it since."""
        return int(self.ctx.param_on("excl_match_review_days", day, 3))

    def employed_between(self, start: dt.datetime, end: dt.datetime) -> bool:
        """Whether an episode overlaps [start, end): an exclusion found and cleared before the hire
        (or between two engagements) stood while no claims could be made for the person, so there is
        nothing to remove, quantify or disclose."""
        return any(e.start < end and (e.end is None or e.end > start) for e in self.eps)

    def _zone_at(self, check: _Check) -> str:
        return (self.episode_at(check.at) or self.latest).tz

    def _excluded(self, first: _Check, clear: _Check | None) -> DerivedFact:
        """One confirmed exclusion from a list, until the clear result `clear` (None: still open);
        later excluded results from that list while it is open are the same duty."""
        day = first.day(self._zone_at(first))
        if clear is not None:
            used = [first, clear]
        else:
            used = [first] + [c for c in self.checks if c.source == first.source and c.result == "excluded"
                              and c.at > first.at]
        return self.duty("excluded", first.view.id, due=day, missing=[first.source],
                         period=f"{first.source} match on {day}", cleared=clear.at if clear else None,
                         ep=self.episode_at(first.at), used=used, screening=first)
