"""Rulesets for the liaison: versions, one version (and its OSCAL catalog and profile), a diff,
validation and impact of a draft, and publishing or withdrawing a version. An auditor sees only the
granted framework; other frameworks are not found (`engine.api.scope`), as in the web UI."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from engine import clock, pipeline
from engine.api import scope
from engine.api.deps import get_session, require
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.clock import DayIn
from engine.errors import ErrorDetail, NotFoundError
from engine.findings.schemas import DraftImpact, InstantIn
from engine.json_body import JsonBody
from engine.rules import checks, oscal_export, versions
from engine.rules.catalog import frameworks_said, rulesets_dir
from engine.rules.publish import Publication, WithdrawalResult
from engine.rules.validate import validate_bytes

router = APIRouter(tags=["rulesets"])


class RulesetText(BaseModel):
    version: versions.RulesetVersion
    yaml: str


class WithdrawalIn(JsonBody):
    reason: str = Field(min_length=1, max_length=4000, examples=["2026.2.0 miscounts working days"])
    on: DayIn | None = Field(default=None, description="the first day it is no longer in force (default today)")


def _yaml_text(request: Request) -> None:
    """A draft is YAML sent as text: one sent as JSON is refused whatever it holds. FastAPI reads a
    JSON body before the route, and the draft is text: `"s"` passed as the text s (and was judged,
    200), while `{}` was refused; every JSON body is now told to come as text (`engine.api.errors`)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        raise RequestValidationError([{"type": "json_body", "loc": ("body",), "msg": "sent as JSON", "input": None}])


class DraftReport(BaseModel):
    ok: bool
    rules: int
    problems: list[dict[str, object]]


@router.get("/rulesets", response_model=list[versions.RulesetVersion])
def list_rulesets(principal: Principal = Depends(require(Permission.RULESETS_READ))) -> list[versions.RulesetVersion]:
    """Every version of every ruleset, with its effective dates and content hash."""
    return scope.visible_rulesets(principal, versions.list_versions())


@router.get("/rulesets/{framework}/diff", response_model=versions.RulesetDiff)
def diff(
    framework: str,
    from_version: str = Query(..., alias="from"),
    to_version: str = Query(..., alias="to"),
    principal: Principal = Depends(require(Permission.RULESETS_READ)),
) -> versions.RulesetDiff:
    """Rules added, removed and changed between two versions, and the unified diff of the files."""
    scope.require_framework(principal, framework)
    return versions.diff_versions(framework, from_version, to_version)


class FrameworkChecks(BaseModel):
    """A framework's checks: validation of its files now, and its last scenario run on both backends
    (null until one has run on the current files)."""

    validation: checks.ValidationView
    scenarios: checks.ScenarioRun | None


@router.get("/rulesets/{framework}/checks", response_model=FrameworkChecks)
def framework_checks(framework: str, principal: Principal = Depends(require(Permission.RULESETS_WRITE))
                     ) -> FrameworkChecks:
    """Validate the framework's ruleset files and scenario files (`vigil rules validate`), with the
    result of the last scenario run if the files have not changed since."""
    scope.require_framework(principal, framework)
    _require_folder(framework)
    return FrameworkChecks(validation=checks.validation(framework), scenarios=checks.scenario_results(framework))


@router.post("/rulesets/{framework}/checks", response_model=FrameworkChecks)
def run_framework_checks(framework: str, principal: Principal = Depends(require(Permission.RULESETS_WRITE))
                         ) -> FrameworkChecks:
    """Run the framework's scenario tests on both backends (`vigil rules test`), in a child process;
    each case passes only when both backends give the expected findings. Takes seconds to a minute."""
    scope.require_framework(principal, framework)
    _require_folder(framework)
    return FrameworkChecks(validation=checks.validation(framework), scenarios=checks.run_scenarios(framework))


def _require_folder(framework: str) -> None:
    """A 404 naming the frameworks there are, for a framework with no ruleset folder: the checks
    module's own error says where it looked, a path on the server the caller has no business with."""
    try:
        checks.framework_dir(framework)
    except NotFoundError:
        root = rulesets_dir()
        known = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name.replace("_", "").isalnum()) \
            if root.is_dir() else []
        raise NotFoundError(f"no ruleset {framework}", [ErrorDetail(
            reason=f"unknown framework; the frameworks are: {frameworks_said(known)}",
            field="framework")]) from None


@router.get("/rulesets/{framework}/{version}", response_model=RulesetText)
def show(
    framework: str, version: str, principal: Principal = Depends(require(Permission.RULESETS_READ))
) -> RulesetText:
    """One version: its summary and its YAML."""
    scope.require_framework(principal, framework)
    item = versions.get_version(framework, version)
    summary = next(v for v in versions.list_versions() if v.framework == framework and v.version == version)
    return RulesetText(version=summary, yaml=item.content.decode())


@router.get("/rulesets/{framework}/{version}/oscal/{document}", response_model=dict[str, Any])
def oscal(
    framework: str, version: str, document: str, principal: Principal = Depends(require(Permission.RULESETS_READ))
) -> dict[str, Any]:
    """One version as an OSCAL 1.2.1 `catalog` (a control per rule, with the control ids of packets'
    assessment results) or `profile` (every control, with the practice's parameter values), as
    `vigil rules oscal` writes them."""
    scope.require_framework(principal, framework)
    return oscal_export.oscal_document(framework, version, document)


@router.post("/rulesets/validate", response_model=DraftReport)
def validate_draft(
    yaml_text: str = Body(..., media_type="text/plain", description="a ruleset draft (YAML)"),
    principal: Principal = Depends(require(Permission.RULESETS_WRITE)),
    _text: None = Depends(_yaml_text),  # after the permission check
) -> DraftReport:
    """Validate a draft as `vigil rules validate` does: format, expressions (safe subset), parameters
    with the practice's overrides, durable_rules limits, SOP templates."""
    report = validate_bytes(yaml_text.encode(), "draft.yaml")
    return DraftReport(ok=report.ok, rules=report.rules if report.ok else 0,
                       problems=[d.to_dict() for d in report.problems])


@router.post("/rulesets/preview", response_model=DraftImpact)
def preview_draft(
    yaml_text: str = Body(..., media_type="text/plain", description="a ruleset draft (YAML)"),
    as_of: InstantIn | None = Query(None, description="judge the records as of this instant (default now, or the "
                                                      "draft's first day if later)"),
    effective_from: DayIn | None = Query(None, description="the day publishing is to write (default: the draft's "
                                                             "effective_from); a day before the first a version can "
                                                             "take effect is moved to it, and `notes` says so"),
    principal: Principal = Depends(require(Permission.RULESETS_WRITE)),
    _text: None = Depends(_yaml_text),
    session: Session = Depends(get_session, scope="function"),
) -> DraftImpact:
    """Which findings the draft would open and close if it were in force, on the records as they
    are (`vigil rules preview`); nothing is stored. A draft that does not validate is a 422 with
    every problem."""
    when = clock.checked_utc(as_of, field="as_of") if as_of is not None else None
    return pipeline.preview_draft(session, org_id=principal.org_id, draft=yaml_text.encode(), name="draft.yaml",
                                  as_of=when, effective_from=effective_from)


@router.post("/rulesets/publish", response_model=Publication, status_code=201)
def publish(
    yaml_text: str = Body(..., media_type="text/plain", description="the new version (YAML)"),
    effective_from: DayIn | None = Query(None, description="the day it takes effect, today or later (default: the "
                                                             "draft's effective_from)"),
    principal: Principal = Depends(require(Permission.RULESETS_PUBLISH)),
    _text: None = Depends(_yaml_text),
    session: Session = Depends(get_session, scope="function"),
) -> Publication:
    """Publish a version (`vigil rules publish`): validated, the framework's scenarios run with it in
    place, written beside the published versions and recorded in the audit trail. A check that fails
    is a 422 naming every problem, and nothing is written."""
    return pipeline.publish_ruleset(session, org_id=principal.org_id, actor=principal.actor,
                                    draft=yaml_text.encode(), name="draft.yaml", effective_from=effective_from)


@router.post("/rulesets/{framework}/rollback", response_model=WithdrawalResult)
def rollback(
    framework: str, body: WithdrawalIn, principal: Principal = Depends(require(Permission.RULESETS_PUBLISH)),
    session: Session = Depends(get_session, scope="function"),
) -> WithdrawalResult:
    """Withdraw the version in force on `on` (today), so the version before it is in force again."""
    return pipeline.withdraw_ruleset(session, org_id=principal.org_id, actor=principal.actor, framework=framework,
                                     version=None, reason=body.reason, on=body.on)


@router.post("/rulesets/{framework}/{version}/withdraw", response_model=WithdrawalResult)
def withdraw(
    framework: str, version: str, body: WithdrawalIn,
    principal: Principal = Depends(require(Permission.RULESETS_PUBLISH)),
    session: Session = Depends(get_session, scope="function"),
) -> WithdrawalResult:
    """Withdraw one version (in force or scheduled) from `on` (today); its file stays, so runs and
    packets made while it was in force still trace to its bytes."""
    return pipeline.withdraw_ruleset(session, org_id=principal.org_id, actor=principal.actor, framework=framework,
                                     version=version, reason=body.reason, on=body.on)
