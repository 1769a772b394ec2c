"""Small read-mostly lookups the pages share: ruleset versions (re-read only when a file under the
rulesets folder changes, since parsing YAML on every page would dominate render time) and the
practice's establishments (names and zones for filters and tables)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from engine.records import service as records_service
from engine.rules import versions
from engine.rules.catalog import load_all, rulesets_dir
from engine.rules.loader import LoadedRuleset
from engine.rules.state_zones import DEFAULT_ZONE, establishment_tz, practice_zone

FRAMEWORK_NAMES = {"hipaa": "HIPAA", "osha": "OSHA", "cms": "CMS / MIPS", "credentialing": "Credentialing",
                   "ai_use": "AI use"}
SEVERITIES = ("critical", "high", "medium", "low")
STATES = ("open", "acknowledged", "waived", "false_positive", "resolved")
STATUSES = ("overdue", "due_soon", "violation")
OPEN_STATES = "open,acknowledged"


class Establishment(BaseModel):
    id: str
    name: str
    tz: str | None = None


class Zones(BaseModel):
    """The zone each establishment's deadlines are local to, and the practice's for what belongs to
    no establishment (`practice_zone`), as the rules and a task's zone choose it
    (`tasks.store.zone_of`), so a finding's hour deadline reads as its task's does."""

    by_site: dict[str, str]
    default: str = DEFAULT_ZONE

    def of(self, establishment_id: str | None) -> str:
        return self.by_site.get(establishment_id or "") or self.default


def zones(sites: list[Establishment]) -> Zones:
    by_site = {e.id: e.tz for e in sites if e.tz}
    return Zones(by_site=by_site, default=practice_zone(by_site.values()))


class RuleRef(BaseModel):
    id: str
    framework: str
    version: str
    title: str


T = TypeVar("T")
_lock = threading.RLock()
_cache: dict[str, object] = {}


def _fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    files = sorted(root.glob("*/*.yaml")) + sorted(root.glob("*/tests/*.yaml"))
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def _current() -> dict[str, object]:
    """The cache for the rulesets folder as it is now (emptied when any file in it changes)."""
    root = rulesets_dir()
    key = (str(root), _fingerprint(root))
    with _lock:
        if _cache.get("key") != key:
            _cache.clear()
            _cache["key"] = key
        return _cache


def memo(name: str, compute: Callable[[], T]) -> T:
    """`compute()` once per state of the rulesets folder (pure functions of the YAML files only)."""
    cache = _current()
    if name not in cache:
        value = compute()
        with _lock:
            cache[name] = value
    return cache[name]  # type: ignore[return-value]


def _loaded() -> tuple[list[versions.RulesetVersion], dict[tuple[str, str], LoadedRuleset]]:
    def load() -> tuple[list[versions.RulesetVersion], dict[tuple[str, str], LoadedRuleset]]:
        items = {(i.spec.framework, i.spec.version): i for i in load_all(rulesets_dir())}
        return versions.list_versions(), items

    return memo("loaded", load)


def diff(framework: str, from_version: str, to_version: str) -> versions.RulesetDiff:
    """versions.diff_versions, kept until a ruleset file changes (it re-reads every file)."""
    return memo(f"diff:{framework}:{from_version}:{to_version}",
                lambda: versions.diff_versions(framework, from_version, to_version))


def ruleset_versions(framework: str | None = None) -> list[versions.RulesetVersion]:
    """Every ruleset version (optionally one framework's), oldest first."""
    items, _ = _loaded()
    return [v for v in items if framework is None or v.framework == framework]


def ruleset(framework: str, version: str) -> LoadedRuleset:
    """One loaded version (NotFoundError from the service when there is none)."""
    _, loaded = _loaded()
    found = loaded.get((framework, version))
    return found if found is not None else versions.get_version(framework, version)


def frameworks() -> list[str]:
    return sorted({v.framework for v in ruleset_versions()})


def rules(framework: str | None = None) -> list[RuleRef]:
    """The rules of the latest version of each framework, for pickers."""
    latest: dict[str, versions.RulesetVersion] = {}
    for v in ruleset_versions(framework):
        latest[v.framework] = v
    out: list[RuleRef] = []
    for fw, v in sorted(latest.items()):
        for r in ruleset(fw, v.version).spec.rules:
            out.append(RuleRef(id=r.id, framework=fw, version=v.version, title=r.title))
    return out


def rule_version_of(framework: str, rule_id: str, version: str | None = None) -> str | None:
    """The ruleset version holding a rule: `version` when it does, else the newest that does."""
    candidates = [v.version for v in ruleset_versions(framework)
                  if any(r.id == rule_id for r in ruleset(framework, v.version).spec.rules)]
    if version in candidates:
        return version
    return candidates[-1] if candidates else None


def establishments(session: Session, *, org_id: str) -> list[Establishment]:
    out = []
    for rec in records_service.iter_records(session, org_id=org_id, types=["establishment"]):
        out.append(Establishment(id=rec.id, name=str(rec.data.get("name") or rec.id), tz=establishment_tz(rec.data)))
    return sorted(out, key=lambda e: e.name)


def framework_label(framework: str) -> str:
    return FRAMEWORK_NAMES.get(framework, framework)
