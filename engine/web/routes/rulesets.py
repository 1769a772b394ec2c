"""The liaison's pages: rulesets and their versions, one version, one rule, a side-by-side diff of
two versions, validation and scenario results, and the parameters in force.

An auditor with a grant sees only the granted framework (as GET /rulesets filters it)."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from engine import clock
from engine.api import scope
from engine.auth.roles import Permission, allowed
from engine.auth.schemas import Principal
from engine.errors import ErrorDetail, NotFoundError, RulesetError, VigilError
from engine.findings import service as findings_service
from engine.findings.schemas import FindingFilter
from engine.rules import checks, tuning, versions
from engine.rules.catalog import (
    check_practice_params,
    in_force,
    load_practice_params,
    params_in_force,
    rulesets_dir,
    version_key,
)
from engine.rules.scenarios import load_scenario, scenario_files
from engine.rules.spec import RulesetSpec
from engine.web import diffview, lookups
from engine.web.deps import action, page, web_session
from engine.web.render import page as render
from engine.web.render import redirect

router = APIRouter()
PARAM_REF = re.compile(r"params\.([A-Za-z_][A-Za-z0-9_]*)")


class RuleInVersion(BaseModel):
    version: str
    state: str
    diff_href: str | None = None


class ParamRow(BaseModel):
    name: str
    type: str
    unit: str | None
    description: str
    default: object
    practice: object | None
    overridden: bool
    effective: object


def _in_force_today() -> set[tuple[str, str]]:
    loaded = [lookups.ruleset(v.framework, v.version) for v in lookups.ruleset_versions()]
    return {(i.spec.framework, i.spec.version) for i in in_force(loaded, clock.now().date())}


def _param_rows(framework: str, version: str) -> list[ParamRow]:
    spec = lookups.ruleset(framework, version).spec
    practice = params_in_force(load_practice_params(), framework, clock.now().date(), "policies/practice.yaml")
    rows = []
    for name, p in sorted(spec.params.items()):
        has = name in practice
        rows.append(ParamRow(name=name, type=p.type, unit=p.unit, description=p.description, default=p.default,
                             practice=practice.get(name), overridden=has,
                             effective=practice[name] if has else p.default))
    return rows


@router.get("/rulesets")
def list_rulesets(request: Request, principal: Principal = Depends(page(Permission.RULESETS_READ))) -> Response:
    items = scope.visible_rulesets(principal, lookups.ruleset_versions())
    by_fw: dict[str, list[versions.RulesetVersion]] = {}
    for v in items:
        by_fw.setdefault(v.framework, []).append(v)
    # the selectors list versions by number; a new draft starts from the newest version not withdrawn
    # (the latest rules anyone meant to apply), not from the highest number, which may be withdrawn
    choices = {fw: sorted(vs, key=lambda v: version_key(v.version)) for fw, vs in by_fw.items()}
    bases = {fw: next((v for v in reversed(vs) if v.withdrawn_on is None), vs[-1]) for fw, vs in choices.items()}
    return render(request, "rulesets/list.html", principal=principal, title="Rulesets", active="rulesets",
                  by_fw=by_fw, choices=choices, bases=bases, live=_in_force_today(), root=str(rulesets_dir()))


@router.get("/rulesets/{framework}/diff")
def diff(request: Request, framework: str, from_version: str = Query(..., alias="from", max_length=40),
         to_version: str = Query(..., alias="to", max_length=40),
         principal: Principal = Depends(page(Permission.RULESETS_READ))) -> Response:
    scope.require_framework(principal, framework)
    summary = lookups.diff(framework, from_version, to_version)
    a = lookups.ruleset(framework, from_version).content.decode()
    b = lookups.ruleset(framework, to_version).content.decode()
    return render(request, "rulesets/diff.html", principal=principal, active="rulesets",
                  title=f"{framework} {from_version} → {to_version}", framework=framework, s=summary,
                  rows=diffview.side_by_side(a, b),
                  all_versions=sorted(lookups.ruleset_versions(framework), key=lambda v: version_key(v.version)))


@router.get("/rulesets/{framework}/checks")
def show_checks(request: Request, framework: str,
                principal: Principal = Depends(page(Permission.RULESETS_WRITE))) -> Response:
    scope.require_framework(principal, framework)
    return render(request, "rulesets/checks.html", principal=principal, active="rulesets",
                  title=f"{lookups.framework_label(framework)} checks", framework=framework,
                  validation=checks.validation(framework), scenarios=checks.scenario_results(framework))


@router.post("/rulesets/{framework}/checks")
def run_checks(framework: str, principal: Principal = Depends(action(Permission.RULESETS_WRITE))) -> Response:
    result = checks.run_scenarios(framework)
    text = (f"Scenarios: {result.passed} passed, {result.failed} failed in {result.seconds} s."
            + (f" {result.error}" if result.error else ""))
    return redirect(f"/ui/rulesets/{framework}/checks#scenarios", flash=text,
                    kind="success" if not result.failed and not result.error else "error")


@router.get("/rulesets/{framework}/{version}")
def show_version(request: Request, framework: str, version: str,
                 principal: Principal = Depends(page(Permission.RULESETS_READ))) -> Response:
    scope.require_framework(principal, framework)
    loaded = lookups.ruleset(framework, version)
    summary = next(v for v in lookups.ruleset_versions(framework) if v.version == version)
    return render(request, "rulesets/version.html", principal=principal, active="rulesets",
                  title=f"{framework} {version}", v=summary, spec=loaded.spec, params=_param_rows(framework, version),
                  yaml_text=loaded.content.decode(), live=(framework, version) in _in_force_today(),
                  others=[o for o in lookups.ruleset_versions(framework) if o.version != version])


def _scenario_index(framework: str) -> list[tuple[str, list[str] | None, int]]:
    """(file, rules in scope or None for all, number of cases) of each scenario of the framework."""
    out = []
    root = rulesets_dir()
    for path in scenario_files(root):
        if path.parent.parent.name != framework:
            continue
        try:
            raw = load_scenario(path)
        except (VigilError, OSError):  # a broken scenario is reported on the checks page, not here
            continue
        out.append((str(path.relative_to(root)), raw.get("rules"), len(raw.get("cases") or [])))
    return out


def _scenarios_for(framework: str, rule_id: str) -> list[tuple[str, int]]:
    index = lookups.memo(f"scenarios:{framework}", lambda: _scenario_index(framework))
    return [(path, n) for path, scope, n in index if scope is None or rule_id in scope]


@router.get("/rulesets/{framework}/{version}/rules/{rule_id}")
def show_rule(request: Request, framework: str, version: str, rule_id: str,
              principal: Principal = Depends(page(Permission.RULESETS_READ)),
              session: Session = Depends(web_session, scope="function")) -> Response:
    scope.require_framework(principal, framework)
    spec = lookups.ruleset(framework, version).spec
    rule = next((r for r in spec.rules if r.id == rule_id), None)
    if rule is None:
        raise NotFoundError(f"no rule {rule_id} in {framework}@{version}",
                            [ErrorDetail(reason="unknown rule", rule_id=rule_id)])
    text = rule.model_dump_json()
    names = set(PARAM_REF.findall(text)) | {name for name in spec.params
                                            if re.search(rf"\b{re.escape(name)}\b", text)}
    params = [p for p in _param_rows(framework, version) if p.name in names]
    history = []
    all_versions = [v.version for v in lookups.ruleset_versions(framework)]
    here = all_versions.index(version) if version in all_versions else 0

    def declared(of: RulesetSpec) -> dict[str, Any]:
        """The declarations of the parameters the rule uses: a new default (30 days -> 10) changes
        what the rule judges though its text is the same, and the page had said "same as this version"."""
        return {n: of.params[n].model_dump() for n in sorted(names) if n in of.params}

    for i, other in enumerate(all_versions):
        other_spec = lookups.ruleset(framework, other).spec
        found = next((r for r in other_spec.rules if r.id == rule_id), None)
        pair = {"from": other, "to": version} if i < here else {"from": version, "to": other}
        href: str | None = f"/ui/rulesets/{framework}/diff?" + urllib.parse.urlencode(pair)
        if other == version:
            state, href = "this version", None
        elif found is None:
            state, href = "absent", None
        elif found.model_dump() != rule.model_dump():
            state = "changed"
        elif declared(other_spec) != declared(spec):
            state = "the same rule, with its parameters changed"
        else:
            state, href = "same as this version", None
        history.append(RuleInVersion(version=other, state=state, diff_href=href))
    open_count = None
    if allowed(principal.role, Permission.FINDINGS_READ):
        from engine.api.scope import finding_scope

        open_count = findings_service.list_findings(
            session, org_id=principal.org_id, limit=1, scope=finding_scope(principal),
            filters=FindingFilter(rule_id=rule_id, state=lookups.OPEN_STATES)).total
    return render(request, "rulesets/rule.html", principal=principal, active="rulesets", title=rule.id,
                  framework=framework, version=version, rule=rule, params=params, history=history,
                  scenarios=_scenarios_for(framework, rule_id), open_count=open_count,
                  open_states=lookups.OPEN_STATES)


@router.get("/params")
def show_params(request: Request, principal: Principal = Depends(page(Permission.RULESETS_READ))) -> Response:
    live = sorted(_in_force_today())
    allowed = {v.framework for v in scope.visible_rulesets(principal, lookups.ruleset_versions())}
    live = [(fw, v) for fw, v in live if fw in allowed]
    today = clock.now().date()
    try:  # values the rules cannot take are not in force: the page names what to fix instead (as GET /params)
        if allowed:
            check_practice_params(today, frameworks=sorted(allowed))
    except RulesetError as exc:
        return render(request, "rulesets/params.html", principal=principal, title="Parameters in force",
                      active="params", sections=[], today=today, rows={}, refused=exc, status=exc.http_status)
    sections = [(fw, v, _param_rows(fw, v)) for fw, v in live]
    scheduled = {(r.framework, r.name): r for r in tuning.params_table(today) if r.framework in allowed}
    return render(request, "rulesets/params.html", principal=principal, title="Parameters in force", active="params",
                  sections=sections, today=today, rows=scheduled, refused=None)
