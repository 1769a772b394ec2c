"""Whether an evaluation run may change the findings store, or only be recorded beside it.

The findings store holds the practice's compliance as it stands now. Looking back ("how did we
stand on 30 June?", `--as-of` a past instant, or `--known-at` to reproduce what the database held
then) is a question about the past: applying its diff resolved every finding opened since (59 in
the demo practice) and closed their SOP tasks, until the next sweep reopened them, leaving
lifecycle noise in every history. Such a run is stored, with its findings returned to the caller,
but held: its diff is not applied.

Looking ahead is a question too ("what will be overdue on 2 January?"): applying it opened findings
that did not exist yet (49 in the demo), each with a task, and expired waivers weeks early, and the
next sweep of the present then resolved them "through the passage of time", history that never
happened. So a forecast is held as well.

A run is held when
- it is as of an instant after now (beyond FORECAST_GRACE, which absorbs a caller's clock running a
  little ahead of ours);
- or a run of one of its frameworks was applied as of a later instant that is not in the future;
- or it reads the database as known at an instant after which records were written.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.db import utc
from engine.findings.schemas import EvaluationRun
from engine.findings.tables import EvaluationRunRow
from engine.records import service as records_service

#: The key a held run's `diff` carries (with `reason`) instead of the applied counts.
HELD = "held"

#: How far ahead of now an as-of instant may be and still count as the present.
FORECAST_GRACE = dt.timedelta(minutes=5)


def why_held(session: Session, *, org_id: str, run: EvaluationRun) -> str | None:
    """Why `run` must not be applied to the findings store, or None when it may be."""
    now = clock.now()
    if run.as_of > now + FORECAST_GRACE:
        return (f"it is as of {run.as_of.isoformat()}, after now ({now.isoformat()}); a forecast is recorded and "
                f"returned, not applied: the store holds the findings as things stand")
    later = session.execute(
        select(EvaluationRunRow.id, EvaluationRunRow.as_of, EvaluationRunRow.frameworks, EvaluationRunRow.diff)
        .where(EvaluationRunRow.org_id == org_id, EvaluationRunRow.id != run.id,
               EvaluationRunRow.as_of > run.as_of, EvaluationRunRow.as_of <= now,
               # a stream run judges only the events of one import: an import landing while a sweep ran
               # had made the whole sweep a "look back" and thrown its changes away
               EvaluationRunRow.trigger != "stream")
        .order_by(EvaluationRunRow.as_of.desc())
    ).all()
    mine = set(run.frameworks)
    for run_id, as_of, frameworks, diff in later:
        if mine & set(frameworks or ()) and not (diff or {}).get(HELD):
            return (f"it is as of {run.as_of.isoformat()}, before run {run_id} (as of {utc(as_of).isoformat()}) "
                    f"whose findings the store holds; a look back is recorded and returned, not applied")
    if run.known_at is not None and records_service.written_since(session, org_id=org_id, instant=run.known_at):
        return (f"it reads the records as known at {run.known_at.isoformat()}, and records were written since; "
                f"a reproduction of an earlier state is recorded and returned, not applied")
    return None


def is_held(run: EvaluationRun) -> bool:
    """Whether a stored run was held (recorded, not applied): the one place that reads the marker."""
    return bool(run.diff.get(HELD))
