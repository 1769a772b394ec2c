"""Rulesets for the liaison: versions, one version, a diff, and validation of a draft. An auditor
sees only the granted framework; other frameworks are not found (`engine.api.scope`), as in the web UI."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from engine import clock, pipeline
from engine.api import scope
from engine.api.deps import get_session, require
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.errors import VigilError
from engine.findings.schemas import DraftImpact, InstantIn
from engine.rules import versions
from engine.rules.compiler.compile import compile_ruleset
from engine.rules.loader import load_ruleset_bytes

router = APIRouter(tags=["rulesets"])


class RulesetText(BaseModel):
    version: versions.RulesetVersion
    yaml: str


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


@router.get("/rulesets/{framework}/{version}", response_model=RulesetText)
def show(
    framework: str, version: str, principal: Principal = Depends(require(Permission.RULESETS_READ))
) -> RulesetText:
    """One version: its summary and its YAML."""
    scope.require_framework(principal, framework)
    item = versions.get_version(framework, version)
    summary = next(v for v in versions.list_versions() if v.framework == framework and v.version == version)
    return RulesetText(version=summary, yaml=item.content.decode())


@router.post("/rulesets/validate", response_model=DraftReport)
def validate_draft(
    yaml_text: str = Body(..., media_type="text/plain", description="a ruleset draft (YAML)"),
    principal: Principal = Depends(require(Permission.RULESETS_WRITE)),
) -> DraftReport:
    """Validate a draft: format, expressions (safe subset), parameters, durable_rules limits."""
    try:
        compiled = compile_ruleset(load_ruleset_bytes(yaml_text.encode(), "draft.yaml"))
    except VigilError as exc:
        return DraftReport(ok=False, rules=0, problems=[d.to_dict() for d in exc.details] or [{"reason": exc.message}])
    return DraftReport(ok=True, rules=len(compiled.rules), problems=[])


@router.post("/rulesets/preview", response_model=DraftImpact)
def preview_draft(
    yaml_text: str = Body(..., media_type="text/plain", description="a ruleset draft (YAML)"),
    as_of: InstantIn | None = Query(None, description="judge the records as of this instant (default now)"),
    principal: Principal = Depends(require(Permission.RULESETS_WRITE)),
    session: Session = Depends(get_session, scope="function"),
) -> DraftImpact:
    """Which findings the draft would open and close if it were in force, on the records as they
    are (`vigil rules preview`); nothing is stored. A draft that does not validate is a 422 with
    every problem."""
    when = clock.checked_utc(as_of, field="as_of") if as_of is not None else None
    return pipeline.preview_draft(session, org_id=principal.org_id, draft=yaml_text.encode(), name="draft.yaml",
                                  as_of=when)
