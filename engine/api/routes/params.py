"""Practice parameters: the values in force on a day, and changing one from a day on
(`engine.rules.tuning`). An auditor sees the granted framework's parameters only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy.orm import Session

from engine import clock, pipeline
from engine.api import scope
from engine.api.deps import get_session, require
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.clock import DayIn
from engine.json_body import JsonBody
from engine.rules import tuning
from engine.rules.catalog import check_practice_params

router = APIRouter(tags=["parameters"])


class ParamChangeIn(JsonBody):
    value: Any = Field(examples=[12])
    effective_from: DayIn | None = Field(default=None, description=(
        "the first day of the new value, today or later (default today, or the day after the last evaluation "
        "that judged the framework)"))
    approved_by: str = Field(min_length=1, max_length=200, examples=["Dr. A. Rivera, privacy officer"])
    reason: str = Field(min_length=1, max_length=4000, examples=["the 2025 NPRM's one-hour revocation"])


@router.get("/params", response_model=list[tuning.ParamRow])
def list_params(
    framework: str | None = Query(None, max_length=40),
    on: DayIn | None = Query(None, description="the day (default today)"),
    principal: Principal = Depends(require(Permission.RULESETS_READ)),
) -> list[tuning.ParamRow]:
    """Every parameter of the ruleset versions in force on a day, with its value and where it comes from.
    Practice values the rules cannot take are a 422 naming each (file, key, reason), as `vigil evaluate`
    refuses them: never listed as the value in force."""
    if framework is not None:
        scope.require_framework(principal, framework)
    granted = scope.finding_scope(principal)
    day = on or clock.now().date()
    shown = framework or (granted.framework if granted is not None else None)  # an auditor's problems: theirs
    check_practice_params(day, frameworks=[shown] if shown else None)
    rows = tuning.params_table(day, framework=framework)
    return [r for r in rows if granted is None or r.framework == granted.framework]


@router.put("/params/{framework}/{name}", response_model=tuning.ParamChange)
def set_param(
    framework: str, name: str, body: ParamChangeIn,
    principal: Principal = Depends(require(Permission.RULESETS_PUBLISH)),
    session: Session = Depends(get_session, scope="function"),
) -> tuning.ParamChange:
    """Change a parameter from a day on (`vigil params set`); earlier days keep their value. The
    value is checked against the parameter's type and by compiling the rules that use it."""
    return pipeline.set_practice_param(session, org_id=principal.org_id, actor=principal.actor, framework=framework,
                                       name=name, value=body.value, approved_by=body.approved_by, reason=body.reason,
                                       effective_from=body.effective_from)
