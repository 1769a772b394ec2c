"""Engagements: one person's continuous time with the practice, made of employment episodes.

An episode that starts while an earlier episode of the same person still runs, or by the day after
it ended, continues that engagement: a transfer between establishments, a back-to-back contract or
a concurrent role is the same person still at work, not a new hire. An episode that starts later
(left, came back months after) opens a new engagement and is a new hire.

Duties owed once per engagement belong here, not to the episode a record happens to be cut into:
the CMS pre-hire exclusion check and 30-day clock (cms.exclusion), the credentialing clocks that
run from joining (initial credentialing decision, recredentialing cycle, monthly monitoring, a
missing life-support card or board certification), HIPAA workforce training (hipaa.workforce) and
the OSHA duties owed at initial assignment and yearly after it (osha.employees: the hepatitis B
offer, BBP and HazCom training). A per-episode reading would let a transfer demand a new initial
credentialing or training, restart a cycle, or move a long-overdue duty to the move date.

The same rule says how long an ended episode still counts as the person at work (`engaged_on`):
through the day after its last day. Whatever happens after the evaluation instant has not happened
yet (CONTRACT), so at 02:00, between "ends 17:00 on day D" and "starts 08:00 on day D+1", the next
episode does not exist; yet it would continue the engagement when it comes. Counting the ended
episode through D+1 keeps a duty owed by a person at work (a lapsing license, a missing card) from
resolving in that night and reopening the next, while a departure with no new episode resolves it
once the person has been gone a full local day.

Days are local dates, each episode's in the zone of its own establishment (C7): a move from
Honolulu to New York ends on Honolulu's calendar and starts on New York's, and "the next day"
compares those two calendar dates (C1), whatever the hours of the end and the start.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar

CONTINUES_WITHIN = dt.timedelta(days=1)
"""A start at most this long after the engagement's last end day (the same day or the next) continues it."""


class Stint(Protocol):
    """What grouping needs of an episode: its first local day and its last (None while it runs)."""

    @property
    def start_on(self) -> dt.date: ...

    @property
    def end_on(self) -> dt.date | None: ...


S = TypeVar("S", bound=Stint)


def engaged_on(stint: Stint, day: dt.date) -> bool:
    """Whether `stint` still counts as the person at work on `day`, a local date in its zone.

    A running stint does; an ended one does through the day after its last day, the last day a
    next episode could start and continue the engagement (`CONTINUES_WITHIN`). Only for "is this
    person at work now"; a deadline that runs from the end instant (access revocation) runs from
    that instant, not from here.
    """
    return stint.end_on is None or day <= stint.end_on + CONTINUES_WITHIN


def engagements(episodes: Iterable[S]) -> list[list[S]]:
    """One person's episodes, given oldest first, grouped into engagements (each oldest first).

    An episode joins the current engagement when that engagement has an episode still running, or
    when it starts by the day after the latest end of the engagement's episodes; otherwise it opens
    a new engagement.
    """
    out: list[list[S]] = []
    reach: dt.date | None = None  # the current engagement's last end day; None while an episode runs
    for ep in episodes:
        if out and (reach is None or ep.start_on <= reach + CONTINUES_WITHIN):
            out[-1].append(ep)
            reach = None if reach is None or ep.end_on is None else max(reach, ep.end_on)
        else:
            out.append([ep])
            reach = ep.end_on
    return out


def engagement_of(episodes: Sequence[S], episode: S) -> list[S]:
    """The engagement `episode` belongs to among `episodes` (one person's, oldest first, including it)."""
    return next(group for group in engagements(episodes) if any(e is episode for e in group))


def at_work(episodes: Iterable[S], today: Callable[[S], dt.date]) -> list[tuple[list[S], S]]:
    """The engagements of one person's episodes (given oldest first) in which the person is at work
    today, each with the episode they work in now.

    `today(episode)` is the evaluation's local date in that episode's own zone (C7). An engagement
    counts while one of its episodes does (`engaged_on`); the episode worked in now is the latest
    started of those (at two sites at once, the site joined last), so a finding about a duty of the
    engagement, keyed by its first episode, cites the site the person is at now.
    """
    out: list[tuple[list[S], S]] = []
    for group in engagements(episodes):
        working = [ep for ep in group if engaged_on(ep, today(ep))]
        if working:
            out.append((group, working[-1]))
    return out
