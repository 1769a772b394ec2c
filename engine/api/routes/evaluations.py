"""Evaluation runs: start one, list them, read one."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from engine import clock, pipeline
from engine.api import scope
from engine.api.deps import get_session, require
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.errors import ErrorDetail, InputError
from engine.findings import run_checks
from engine.findings.schemas import EvaluationRun, InstantIn, RunDiff

router = APIRouter(tags=["evaluations"])


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 422, not ignored

    as_of: InstantIn | None = Field(default=None, description="evaluation instant (default: now); needs an offset",
                                      examples=["2026-11-30T17:00:00Z"])
    frameworks: list[str] | None = Field(default=None, examples=[["hipaa", "osha"]])
    backend: str | None = Field(default=None, pattern="^(durable|python)$")
    known_at: InstantIn | None = Field(default=None, description="database state to evaluate (default: latest); "
                                       "not before the first record was recorded")


class EvaluationOut(BaseModel):
    run: EvaluationRun
    diff: RunDiff
    findings: int


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
    run_checks.check_evaluation(session, org_id=principal.org_id, as_of=as_of, known_at=known_at,
                                frameworks=body.frameworks)
    outcome = pipeline.evaluate(session, org_id=principal.org_id, as_of=as_of,
                                actor=principal.actor, frameworks=body.frameworks, backend=body.backend,
                                known_at=known_at)
    assert outcome.run is not None and outcome.diff is not None
    return EvaluationOut(run=outcome.run, diff=outcome.diff, findings=len(outcome.result.violations))


@router.get("/evaluations", response_model=list[EvaluationRun])
def list_runs(principal: Principal = Depends(require(Permission.EVALUATIONS_READ)),
              session: Session = Depends(get_session, scope="function")) -> list[EvaluationRun]:
    """The latest runs, newest first. An auditor sees the runs of the granted framework as of an
    instant in the window, stripped to that framework (`engine.api.scope.visible_runs`)."""
    return scope.list_runs(session, principal, limit=50)


@router.get("/evaluations/{run_id}", response_model=EvaluationRun)
def get_run(run_id: str, principal: Principal = Depends(require(Permission.EVALUATIONS_READ)),
            session: Session = Depends(get_session, scope="function")) -> EvaluationRun:
    """One run; outside an auditor's grant it is not found, inside it is stripped to the grant."""
    return scope.get_run(session, principal, run_id=run_id)
