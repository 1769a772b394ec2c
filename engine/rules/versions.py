"""Ruleset versions for the liaison: list, read and diff two versions (no draft impact preview yet)."""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

from pydantic import BaseModel

from engine.errors import NotFoundError
from engine.rules.catalog import load_all, rulesets_dir
from engine.rules.loader import LoadedRuleset


class RulesetVersion(BaseModel):
    framework: str
    version: str
    title: str
    effective_from: dt.date
    effective_to: dt.date | None
    sha256: str
    rules: int
    path: str


class RulesetDiff(BaseModel):
    framework: str
    from_version: str
    to_version: str
    added: list[str]
    removed: list[str]
    changed: list[str]
    params_changed: dict[str, dict[str, Any]]
    unified: str


def _summary(item: LoadedRuleset) -> RulesetVersion:
    s = item.spec
    return RulesetVersion(framework=s.framework, version=s.version, title=s.title, effective_from=s.effective_from,
                          effective_to=s.effective_to, sha256=item.sha256, rules=len(s.rules), path=item.path)


def list_versions() -> list[RulesetVersion]:
    return sorted((_summary(i) for i in load_all(rulesets_dir())), key=lambda v: (v.framework, v.effective_from))


def get_version(framework: str, version: str) -> LoadedRuleset:
    for item in load_all(rulesets_dir()):
        if item.spec.framework == framework and item.spec.version == version:
            return item
    raise NotFoundError(f"no ruleset {framework}@{version}")


def diff_versions(framework: str, from_version: str, to_version: str) -> RulesetDiff:
    a, b = get_version(framework, from_version), get_version(framework, to_version)
    ra = {r.id: r.model_dump(mode="json", exclude={"line"}) for r in a.spec.rules}
    rb = {r.id: r.model_dump(mode="json", exclude={"line"}) for r in b.spec.rules}
    pa = {k: v.model_dump(mode="json") for k, v in a.spec.params.items()}
    pb = {k: v.model_dump(mode="json") for k, v in b.spec.params.items()}
    params = {k: {"from": pa.get(k), "to": pb.get(k)} for k in sorted(set(pa) | set(pb)) if pa.get(k) != pb.get(k)}
    unified = "".join(difflib.unified_diff(a.content.decode().splitlines(keepends=True),
                                           b.content.decode().splitlines(keepends=True),
                                           fromfile=f"{framework}@{from_version}", tofile=f"{framework}@{to_version}"))
    return RulesetDiff(framework=framework, from_version=from_version, to_version=to_version,
                       added=sorted(set(rb) - set(ra)), removed=sorted(set(ra) - set(rb)),
                       changed=sorted(k for k in set(ra) & set(rb) if ra[k] != rb[k]), params_changed=params,
                       unified=unified)
