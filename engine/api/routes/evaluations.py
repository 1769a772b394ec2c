"""Evaluation runs: start one, list them, read one."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from engine import clock, pipeline
from engine.api import scope
from engine.api.deps import get_session, require
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.errors import ErrorDetail, InputError, NotFoundError
from engine.findings import run_checks
from engine.findings import service as findings_service
from engine.findings.schemas import EvaluationRun, InstantIn, RunDiff
from engine.json_body import JsonBody

router = APIRouter(tags=["evaluations"])


class EvaluationIn(JsonBody):
    as_of: InstantIn | None = Field(default=None, description="evaluation instant (default: now); needs an offset",
                                      examples=["2026-11-30T17:00:00Z"])
    frameworks: list[str] | None = Field(default=None, examples=[["hipaa", "osha"]])
    backend: str | None = Field(default=None, pattern="^(durable|python)$",
                                description="the matcher (default: python, the sweep backend; events streamed in are "
                                            "matched on durable; both give the same findings)")
    known_at: InstantIn | None = Field(default=None, description="database state to evaluate (default: latest); "
                                       "not before the first record was recorded")


class EvaluationOut(BaseModel):
    run: EvaluationRun
    diff: RunDiff
    findings: int
    warnings: list[str] = Field(default_factory=list, description=(
        "each framework left out because no version of it is in force on as_of's UTC date (it has had "
        "or will have one), with the dates it is in force; an evaluation of every framework runs when "
        "some are in force, and the others are not in its result. Then each role holder policies/roles.yaml "
        "names whom the practice has no person record or user of: that role's tasks reach no one"))


@router.post("/evaluations", response_model=EvaluationOut, status_code=201)
def run_evaluation(body: EvaluationIn, principal: Principal = Depends(require(Permission.EVALUATIONS_RUN)),
                   session: Session = Depends(get_session, scope="function")) -> EvaluationOut:
    """Evaluate the rulesets in force at `as_of`; findings are diffed (open, resolve, keep). An
    evaluation that could only be empty is refused: a framework with no version in force at `as_of`,
    or a `known_at` before anything was recorded (the run would see an empty practice and resolve
    every finding)."""
    problems: list[ErrorDetail] = []
    instants: dict[str, dt.datetime | None] = {}
    for name, value in (("as_of", body.as_of), ("known_at", body.known_at)):
        try:
            instants[name] = clock.checked_utc(value, field=name) if value is not None else None
        except InputError as exc:
            problems.extend(exc.details)
    if problems:
        raise InputError("the evaluation instants are not usable", problems, code="input.instant")
    as_of, known_at = instants["as_of"] or clock.now(), instants["known_at"]
    outcome = pipeline.evaluate(session, org_id=principal.org_id, as_of=as_of,
                                actor=principal.actor, frameworks=body.frameworks, backend=body.backend,
                                known_at=known_at)
    assert outcome.run is not None and outcome.diff is not None
    judged = {str(r.get("id")) for r in outcome.run.rulesets}
    # the run as stored, as GET /evaluations/{id} gives it: the evaluation's own copy had `diff: {}`,
    # its counts (or a held look-back's `held`) being written once the findings were diffed
    session.flush()
    stored = scope.get_run(session, principal, run_id=outcome.run.id)
    return EvaluationOut(run=stored, diff=outcome.diff, findings=len(outcome.result.violations),
                         warnings=run_checks.not_judged(as_of.date(), body.frameworks, judged, field="as_of")
                         + outcome.warnings)


@router.get("/evaluations", response_model=list[EvaluationRun])
def list_runs(limit: int = Query(50, ge=1, le=1000, description="how many runs, newest first"),
              before: str | None = Query(None, min_length=1, max_length=40,
                                         description="the next page: the runs after this one, newest first (the "
                                                     "`id` of the last run of the page you have)"),
              principal: Principal = Depends(require(Permission.EVALUATIONS_READ)),
              session: Session = Depends(get_session, scope="function")) -> list[EvaluationRun]:
    """The newest runs first (by start); `before` pages on, so every run can be reached. An auditor
    sees the runs of the granted framework as of an instant in the window, stripped to that
    framework, with the totals that are not the grant's recounted for it or named in `withheld`
    (`engine.api.scope.shown_runs`)."""
    if scope.finding_scope(principal) is None:
        return findings_service.list_runs(session, org_id=principal.org_id, limit=limit, before=before)
    if before is not None:
        try:  # a run outside the grant is no cursor, the same answer as a run that does not exist
            if not scope.in_scope_runs(principal, [findings_service.get_run(session, org_id=principal.org_id,
                                                                            run_id=before)]):
                raise NotFoundError(f"no evaluation run {before}")
        except NotFoundError:
            raise InputError(f"no evaluation run {before}", [ErrorDetail(
                reason="not a run you can see: give the id of the last run of the page you have",
                field="before")], code="input.cursor") from None
    return _scoped_runs(session, principal, limit=limit, before=before)


def _scoped_runs(session: Session, principal: Principal, *, limit: int, before: str | None) -> list[EvaluationRun]:
    """An auditor's page: the runs service knows no grant, so the runs after `before` are read in
    growing batches and kept (`scope.in_scope_runs`) until `limit` are in the grant, the store
    runs out, or `scope.SCOPED_RUNS_READ` runs were read (an audit window long past is still
    listed, and the cost of one page stays bounded); the page's runs are then narrowed, their
    totals recounted or withheld (`scope.shown_runs`)."""
    shown: list[EvaluationRun] = []
    read, batch, cursor = 0, max(limit * 5, 250), before
    while len(shown) < limit and read < scope.SCOPED_RUNS_READ:
        runs = findings_service.list_runs(session, org_id=principal.org_id, limit=batch, before=cursor)
        shown.extend(scope.in_scope_runs(principal, runs))
        read += len(runs)
        if len(runs) < batch:
            break
        cursor, batch = runs[-1].id, min(batch * 5, scope.SCOPED_RUNS_READ)
    return scope.shown_runs(session, principal, shown[:limit])


@router.get("/evaluations/{run_id}", response_model=EvaluationRun)
def get_run(run_id: str, principal: Principal = Depends(require(Permission.EVALUATIONS_READ)),
            session: Session = Depends(get_session, scope="function")) -> EvaluationRun:
    """One run; outside an auditor's grant it is not found, inside it is stripped to the grant (its
    totals recounted for it or named in `withheld`, as in the list)."""
    return scope.get_run(session, principal, run_id=run_id)
