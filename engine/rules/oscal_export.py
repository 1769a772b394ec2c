"""Export a ruleset version as OSCAL: which version, with which practice values, under which names.

The documents themselves are built in `engine.rules.oscal_catalog` (pure); this is the use case the
faces call (`vigil rules oscal`, `GET /rulesets/{framework}/{version}/oscal/{document}`), so both
pick the version, read the practice parameters and refuse an unknown name the same way.

Which values the profile sets: those in force today when the version is in force today; for a
version that has not started, those of its first day; for one that has ended or was withdrawn,
those of its last day. The day is not written into the documents, so the same ruleset and values
give the same bytes whatever day they are exported on.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from engine import clock
from engine.errors import ErrorDetail, NotFoundError
from engine.rules import oscal_catalog
from engine.rules.catalog import (
    entry_in_force,
    frameworks_said,
    in_force,
    is_dated,
    load_all,
    load_practice_params,
    params_in_force,
    practice_params_path,
    rulesets_dir,
    version_key,
)
from engine.rules.compiler.params import resolve_params
from engine.rules.loader import LoadedRuleset

DOCUMENTS = ("catalog", "profile")


class OscalExport(BaseModel):
    """A ruleset version's catalog and profile, with the file names they are written under."""

    framework: str
    version: str
    sha256: str
    rules: int
    controls: int
    parameters: int
    practice_values: int  # parameters whose value is the practice's, not the ruleset's default
    params_on: dt.date  # the day whose practice values the profile sets
    files: dict[str, str]  # document -> file name
    catalog: dict[str, Any]
    profile: dict[str, Any]

    def document(self, name: str) -> dict[str, Any]:
        return self.catalog if name == "catalog" else self.profile


def file_name(framework: str, version: str, document: str) -> str:
    """`hipaa-2026.1.0.catalog.json`: the profile imports the catalog by this name."""
    return f"{framework}-{version}.{document}.json"


def document_bytes(document: dict[str, Any]) -> bytes:
    """A document as written to a file: indented, keys in the order built, UTF-8, a final newline."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def export_ruleset(framework: str, version: str | None = None, *, day: dt.date | None = None,
                   root: Path | None = None, params_path: Path | None = None) -> OscalExport:
    """The catalog and profile of `framework`'s `version` (default: the one in force on `day`, today).

    An unknown framework or version is a NotFoundError naming those there are."""
    day = day or clock.now().date()
    loaded = load_all(root or rulesets_dir())
    item = _version(loaded, framework, version, day)
    spec = item.spec
    on = _params_day(item, day)
    settings = _settings(item, on, params_path, {i.spec.framework for i in loaded})
    files = {name: file_name(spec.framework, spec.version, name) for name in DOCUMENTS}
    catalog = oscal_catalog.catalog(item, href=f"rulesets/{spec.framework}/{Path(item.path).name}")
    profile = oscal_catalog.profile(item, settings, catalog_href=files["catalog"])
    return OscalExport(
        framework=spec.framework, version=spec.version, sha256=item.sha256, rules=len(spec.rules),
        controls=_count(catalog["catalog"]["groups"][0]["controls"]), parameters=len(spec.params),
        practice_values=sum(s.source == "practice" for s in settings), params_on=on, files=files,
        catalog=catalog, profile=profile)


def oscal_document(framework: str, version: str, document: str, *, day: dt.date | None = None) -> dict[str, Any]:
    """One document (`catalog` or `profile`) of a version; any other name is not found."""
    if document not in DOCUMENTS:
        raise NotFoundError(f"no OSCAL document {document!r}", [ErrorDetail(
            reason=f"the documents are: {', '.join(DOCUMENTS)}", field="document")])
    return export_ruleset(framework, version, day=day).document(document)


def _count(controls: list[dict[str, Any]]) -> int:
    return sum(1 + _count(c.get("controls", [])) for c in controls)


def _version(loaded: list[LoadedRuleset], framework: str, version: str | None, day: dt.date) -> LoadedRuleset:
    mine = sorted((i for i in loaded if i.spec.framework == framework), key=lambda i: version_key(i.spec.version))
    if not mine:
        raise NotFoundError(f"no ruleset for framework {framework!r}", [ErrorDetail(
            reason=f"the frameworks are: {frameworks_said(i.spec.framework for i in loaded)}", field="framework")])
    versions = ", ".join(i.spec.version for i in mine)
    if version is None:
        current = in_force(mine, day)
        if not current:
            raise NotFoundError(f"no {framework} version is in force on {day}", [ErrorDetail(
                reason=f"name one of the versions: {versions}", field="version")])
        return current[0]
    chosen = next((i for i in mine if i.spec.version == version), None)
    if chosen is None:
        raise NotFoundError(f"no ruleset {framework}@{version}", [ErrorDetail(
            reason=f"the {framework} versions are: {versions}", field="version")])
    return chosen


def _params_day(item: LoadedRuleset, day: dt.date) -> dt.date:
    """`day` when the version is in force then, else the nearest day it is (its first or last)."""
    start = item.spec.effective_from
    if day < start or (item.ends is not None and item.ends <= start):
        return start  # not started yet, or withdrawn before it ever took effect
    if item.ends is not None and day >= item.ends:
        return item.ends - dt.timedelta(days=1)
    return day


def _settings(item: LoadedRuleset, day: dt.date, params_path: Path | None, frameworks: set[str]
              ) -> list[oscal_catalog.ParamSetting]:
    """Each declared parameter's value on `day`: the practice's, checked as an evaluation checks it
    (a value the version cannot take is refused), else the default. A practice value of a parameter
    this version does not declare is not this version's business. A parameters file not written yet
    means the defaults, as `engine.rules.tuning.params_table` reads it: the server is pointed at the
    file the liaison's first change creates."""
    spec = item.spec
    path = params_path or practice_params_path()  # not there yet: the defaults, as GET /params reads it
    raw = load_practice_params(path, frameworks=frameworks)
    practice = {k: v for k, v in params_in_force(raw, spec.framework, day, str(path)).items() if k in spec.params}
    values = resolve_params(spec, practice, source=str(path))
    section = raw.get(spec.framework) or {}
    out = []
    for name in spec.params:
        entry = None
        if name in practice and is_dated(section.get(name)):
            entry = entry_in_force(section[name], day, str(path), f"{spec.framework}.{name}")
        since = entry.get("from") if entry else None
        out.append(oscal_catalog.ParamSetting(
            name=name, value=values[name], source="practice" if name in practice else "default",
            since=since if isinstance(since, dt.date) else dt.date.fromisoformat(str(since)) if since else None,
            approved_by=str(entry["approved_by"]) if entry and entry.get("approved_by") else None))
    return out
