"""A resolution names the evidence that cleared it (PRODUCT, capability 4), on SQLite and PostgreSQL:
a training recorded after the run that last saw the finding is named, though the finding never cited it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from engine import clock, pipeline
from engine.db import unit_of_work
from engine.findings import service as findings_service
from engine.findings.schemas import FindingFilter
from tests import factories as f

T = dt.datetime.fromisoformat
ORG = "clinic-a"


pytestmark = pytest.mark.usefixtures("fixture_rules_and_policies")


def _import(engine: Engine, records: list[dict], at: str) -> None:
    with clock.frozen(T(at)), unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test", stream=False)


def _evaluate(engine: Engine, at: str) -> None:
    with clock.frozen(T(at)), unit_of_work(engine) as s:
        pipeline.evaluate(s, org_id=ORG, as_of=T(at), actor="test")


def test_a_resolution_names_the_record_recorded_since_that_cleared_it(engine: Engine) -> None:
    _import(engine, [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
                     f.episode("EP2", "P2", "2026-02-01T09:00:00-06:00")], "2026-02-02T00:00:00+00:00")
    _evaluate(engine, "2026-03-05T12:00:00+00:00")  # both new hires overdue
    _import(engine, [f.training("TR1", "P1", "2026-03-06T09:00:00-06:00"),  # P1's: clears EP1
                     f.training("TR9", "P9", "2026-03-06T09:00:00-06:00")], "2026-03-06T16:00:00+00:00")
    _evaluate(engine, "2026-03-06T18:00:00+00:00")
    with unit_of_work(engine) as s:
        (gone,) = findings_service.list_findings(s, org_id=ORG, filters=FindingFilter(state="resolved")).items
        detail = findings_service.get_finding(s, org_id=ORG, finding_id=gone.id)
    assert detail.subject_id == "EP1"
    said = detail.history[-1].reason or ""
    assert "recorded since it was last seen: training_record TR1 v1" in said and "TR9" not in said, said


def test_a_resolution_names_the_record_on_file_whose_date_came_since(engine: Engine) -> None:
    """A training entered in advance (booked as completed on the 6th, imported on the 2nd) clears
    the finding when its day comes: nothing was recorded in between, and the history names the
    training and its date instead of "the passage of time"."""
    _import(engine, [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
                     f.training("TR0", "P1", "2026-01-10T09:00:00-06:00", course="BBP"),  # dated before: not named
                     f.training("TR1", "P1", "2026-03-06T09:00:00-06:00"),
                     f.training("TR9", "P9", "2026-03-06T09:00:00-06:00")], "2026-03-02T00:00:00+00:00")
    _evaluate(engine, "2026-03-05T12:00:00+00:00")  # the new hire's training overdue
    _evaluate(engine, "2026-03-06T18:00:00+00:00")
    with unit_of_work(engine) as s:
        (gone,) = findings_service.list_findings(s, org_id=ORG, filters=FindingFilter(state="resolved")).items
        detail = findings_service.get_finding(s, org_id=ORG, finding_id=gone.id)
    said = detail.history[-1].reason or ""
    assert ("dated since it was last seen (as of 2026-03-05 12:00:00 UTC): training_record TR1 v1 "
            "(completed_at 2026-03-06T09:00:00-06:00)") in said, said
    assert "TR9" not in said and "TR0" not in said and "recorded since" not in said, said
