"""Rulesets for the liaison: versions, one version, a diff, and validation of a draft. An auditor
sees only the granted framework; other frameworks are not found (`engine.api.scope`), as in the web UI."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel

from engine.api import scope
from engine.api.deps import require
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.errors import VigilError
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
