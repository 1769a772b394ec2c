"""Every scheduled job has what it does for a practice, and nothing is done that is not scheduled."""

from __future__ import annotations

from engine import scheduler


def test_every_job_has_a_body_and_every_body_a_job() -> None:
    assert list(scheduler.BODIES) == list(scheduler.JOBS)
