"""Unit tests for engine.rules.derive.engagements: which episodes continue an engagement.

The CMS exclusion and credentialing derivations both rely on this grouping, so its edges (the day
after an end, a concurrent episode, an episode inside a longer one, a gap of two days) are pinned
here once rather than through each rule's scenarios.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from engine.rules.derive.engagements import at_work, engaged_on, engagement_of, engagements


@dataclass(frozen=True)
class Ep:
    name: str
    start_on: dt.date
    end_on: dt.date | None


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def names(groups: list[list[Ep]]) -> list[list[str]]:
    return [[e.name for e in g] for g in groups]


@pytest.mark.parametrize(("second_start", "together"), [
    ("2026-03-01", True),   # the same day the first ended
    ("2026-03-02", True),   # the next day
    ("2026-03-03", False),  # a day in between: a new hire
    ("2026-09-01", False),  # months later
])
def test_a_start_by_the_day_after_an_end_continues_the_engagement(second_start: str, together: bool) -> None:
    eps = [Ep("A", d("2024-01-08"), d("2026-03-01")), Ep("B", d(second_start), None)]
    assert names(engagements(eps)) == ([["A", "B"]] if together else [["A"], ["B"]])


def test_overlapping_and_nested_episodes_are_one_engagement() -> None:
    eps = [Ep("A", d("2024-01-08"), d("2026-03-15")), Ep("B", d("2024-06-01"), d("2024-07-01")),
           Ep("C", d("2026-02-15"), None)]
    assert names(engagements(eps)) == [["A", "B", "C"]]


def test_the_engagement_reaches_to_its_latest_end_not_its_last_episodes() -> None:
    # B ends inside A; D starts the day after A (not B) ended
    eps = [Ep("A", d("2024-01-08"), d("2026-03-01")), Ep("B", d("2024-06-01"), d("2024-07-01")),
           Ep("D", d("2026-03-02"), None)]
    assert names(engagements(eps)) == [["A", "B", "D"]]


def test_a_running_episode_keeps_the_engagement_open() -> None:
    eps = [Ep("A", d("2020-01-06"), None), Ep("B", d("2026-02-01"), d("2026-02-10"))]
    assert names(engagements(eps)) == [["A", "B"]]


def test_engagement_of_finds_the_group_of_an_episode() -> None:
    a, b, c = Ep("A", d("2023-01-09"), d("2025-05-30")), Ep("B", d("2026-02-02"), d("2026-03-01")), \
        Ep("C", d("2026-03-02"), None)
    assert engagement_of([a, b, c], c) == [b, c]
    assert engagement_of([a, b, c], a) == [a]


@pytest.mark.parametrize(("day", "engaged"), [
    ("2026-03-01", True),   # the last day
    ("2026-03-02", True),   # the next day: a new episode starting today would continue the engagement
    ("2026-03-03", False),  # gone a full day: a departure
])
def test_an_ended_episode_counts_as_at_work_through_the_day_after_its_end(day: str, engaged: bool) -> None:
    assert engaged_on(Ep("A", d("2024-01-08"), d("2026-03-01")), d(day)) is engaged


def test_a_running_episode_is_engaged() -> None:
    assert engaged_on(Ep("A", d("2024-01-08"), None), d("2030-01-01"))


def test_at_work_names_each_engagement_still_at_work_with_the_episode_worked_in_now() -> None:
    """A transfer's engagement is at work through the day after the old site's last day (and names
    the new site once it runs, or the one joined last while two run); an engagement that ended
    more than a day ago is not."""
    old = [Ep("gone", d("2023-01-09"), d("2025-05-30"))]
    moved = [Ep("A", d("2025-06-02"), d("2026-03-01")), Ep("B", d("2026-02-15"), None)]
    today = d("2026-03-02")
    assert [(g[0].name, now.name) for g, now in at_work(old + moved, lambda e: today)] == [("A", "B")]
    gap = [Ep("A", d("2025-06-02"), d("2026-03-01"))]
    assert [(g[0].name, now.name) for g, now in at_work(gap, lambda e: d("2026-03-02"))] == [("A", "A")]
    assert at_work(gap, lambda e: d("2026-03-03")) == []
