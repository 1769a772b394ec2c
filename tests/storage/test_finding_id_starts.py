"""`vigil findings` take the start of a finding's id: the lookup on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from engine.db import unit_of_work
from engine.findings import reads
from tests import factories as f
from tests.storage.test_tasks import ORG, _evaluate, _import

pytestmark = pytest.mark.usefixtures("fixture_rules_and_policies")


def test_ids_starting_finds_the_ids_a_start_names_and_no_others(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", "2026-07-20T09:00:00-05:00"),
                     f.episode("EP2", "P2", "2026-07-21T09:00:00-05:00")])
    outcome = _evaluate(engine, "2026-08-10T12:00:00+00:00")
    assert outcome.diff is not None
    with unit_of_work(engine) as s:
        every = reads.ids_starting(s, org_id=ORG, prefix="F-", limit=100)
        assert len(every) == 2 and every == sorted(every)
        assert reads.ids_starting(s, org_id=ORG, prefix="F-", limit=1) == every[:1]
        one = every[0]
        assert reads.ids_starting(s, org_id=ORG, prefix=one[:12], limit=5) == [one]
        assert reads.ids_starting(s, org_id="another-org", prefix="F-", limit=5) == []
        assert reads.ids_starting(s, org_id=ORG, prefix="F-%", limit=5) == []  # a wildcard is a character
