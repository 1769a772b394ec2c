"""The findings' subject filter at the cap of values a filter takes (`engine.filter_values`), on SQLite
and PostgreSQL: each value `type/id` or an id alone. An OR of comparisons per value had made SQLite
refuse about 500 `type/id` values (expression tree deeper than 1000), a 503 over the API."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.filter_values import MAX_FILTER_VALUES
from engine.findings import service as findings
from engine.findings.schemas import FindingFilter
from tests import factories as f

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rulesets"
ORG = "clinic-a"
AS_OF = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)


@pytest.fixture
def db(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """One finding, DEMO-TRN-001 for employment_episode EP1, evaluated on 10 March 2026."""
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(FIXTURES))
    with clock.frozen(dt.datetime(2026, 3, 1, tzinfo=dt.UTC)), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, actor="test", source="test", stream=False,
                                records=[f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")])
    with clock.frozen(AS_OF), unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id=ORG, as_of=AS_OF, actor="test")
    return engine


def _subjects(engine: Engine, values: list[str]) -> list[str]:
    with unit_of_work(engine) as s:
        page = findings.list_findings(s, org_id=ORG, filters=FindingFilter(subject_id=",".join(values)), limit=1000)
    return [f"{x.subject_type}/{x.subject_id}" for x in page.items]


@pytest.mark.parametrize("wanted", ["employment_episode/EP1", "EP1"])
def test_as_many_subjects_as_a_filter_takes_are_one_statement_on_every_database(db: Engine, wanted: str) -> None:
    others = [f"employment_episode/EP-{i:04d}" for i in range(MAX_FILTER_VALUES - 1)]
    assert _subjects(db, [*others, wanted]) == ["employment_episode/EP1"]
    assert _subjects(db, [*others, "person/EP1"]) == []  # the type must match when it is given
    assert _subjects(db, others) == []
