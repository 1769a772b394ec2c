"""The earliest and latest times a record may hold go through a whole evaluation on both backends.

A time in the year 1 (exports write 0001-01-01 for "no date") broke every sweep of the practice
with an OverflowError: the snooping alerts' relationship window, 30 days earlier, fell before the
calendar began. Such times are now refused at import (before 1800); these are the bounds left.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from engine import clock, db, pipeline

SAMPLES = Path(__file__).resolve().parents[2] / "unit" / "records" / "sample_records.ndjson"
AS_OF = dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC)
_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


def _at_the_edge(value: Any, latest: bool) -> Any:
    if isinstance(value, str) and _INSTANT.match(value):
        return "9999-12-30T00:00:00Z" if latest else "1800-01-01T00:00:00+14:00"
    if isinstance(value, str) and _DATE.match(value):
        return "9999-12-31" if latest else "1800-01-01"
    if isinstance(value, dict):
        return {k: _at_the_edge(v, latest) for k, v in value.items()}
    return value


@pytest.mark.parametrize("latest", [False, True], ids=["earliest", "latest"])
@pytest.mark.parametrize("backend", ["python", "durable"])
def test_every_time_at_the_edge_of_what_is_accepted_evaluates(tmp_path: Path, latest: bool, backend: str) -> None:
    records = [{k: v if k == "holiday_calendar" else _at_the_edge(v, latest) for k, v in json.loads(line).items()}
               for line in SAMPLES.read_text(encoding="utf-8").splitlines()]
    for r in records:
        if r["type"] == "establishment":
            r["holiday_calendar"] = "US-FEDERAL"
    engine = db.make_engine(f"sqlite:///{tmp_path / 'edge.db'}")
    db.init_db(engine)
    with clock.frozen(AS_OF), db.unit_of_work(engine) as s:
        pipeline.ingest_records(s, org_id="edge", records=records, actor="test", source="test")
    with clock.frozen(AS_OF), db.unit_of_work(engine) as s:
        result = pipeline.evaluate(s, org_id="edge", as_of=AS_OF, actor="test", backend=backend)
    assert result.run.backend == backend
    engine.dispose()
