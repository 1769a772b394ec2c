"""`vigil findings`, `tasks` and `runs` take the start of an id: the lookup on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from engine.cli import ids
from engine.db import unit_of_work
from tests import factories as f
from tests.storage.test_tasks import ORG, _evaluate, _import

pytestmark = pytest.mark.usefixtures("fixture_rules_and_policies")


def test_ids_starting_finds_the_ids_a_start_names_and_no_others(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", "2026-07-20T09:00:00-05:00"),
                     f.episode("EP2", "P2", "2026-07-21T09:00:00-05:00")])
    outcome = _evaluate(engine, "2026-08-10T12:00:00+00:00")
    assert outcome.diff is not None
    with unit_of_work(engine) as s:
        every = ids.starting(s, ids.FINDING, org_id=ORG, prefix="F-", limit=100)
        assert len(every) == 2 and every == sorted(every)
        assert ids.starting(s, ids.FINDING, org_id=ORG, prefix="F-", limit=1) == every[:1]
        one = every[0]
        assert ids.starting(s, ids.FINDING, org_id=ORG, prefix=one[:12], limit=5) == [one]
        assert ids.starting(s, ids.FINDING, org_id="another-org", prefix="F-", limit=5) == []
        assert ids.starting(s, ids.FINDING, org_id=ORG, prefix="F-%", limit=5) == []  # a wildcard is a character


def test_a_task_and_a_run_are_found_by_the_start_of_their_id(engine: Engine) -> None:
    """The newcomer pass: `vigil tasks show T-86351b` and `vigil runs show R-4926` answered "not
    found" where `vigil findings show F-87481e` worked."""
    from engine.findings.tables import EvaluationRunRow
    from engine.tasks.tables import TaskRow

    _import(engine, [f.establishment(), f.episode("EP1", "P1", "2026-07-20T09:00:00-05:00")])
    _evaluate(engine, "2026-08-10T12:00:00+00:00")
    with unit_of_work(engine) as s:
        task = s.scalars(select(TaskRow.id)).first()
        run = s.scalars(select(EvaluationRunRow.id)).first()
        assert task and run
        assert ids.whole_id(s, ORG, task[:8], ids.TASK, field="TASK_ID") == task
        assert ids.whole_id(s, ORG, run[:6].lower(), ids.RUN, field="RUN_ID") == run
        assert ids.whole_id(s, ORG, "T-0000", ids.TASK, field="TASK_ID") == "T-0000"  # none: the lookup says so
        assert ids.starting(s, ids.TASK, org_id="another-org", prefix="T-", limit=5) == []

