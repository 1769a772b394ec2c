"""Which rulesets exist, which version is in force at an instant, and with which practice
parameters. Rulesets live in rulesets/<framework>/*.yaml; practice parameters in
policies/practice.yaml (effective-dated)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from engine.errors import ErrorDetail, InputError, RulesetSyntaxError, RulesetValidationError
from engine.rules.compiler.compile import compile_ruleset
from engine.rules.compiler.model import CompiledRuleset
from engine.rules.loader import LoadedRuleset, load_ruleset_file

REPO = Path(__file__).resolve().parents[2]
RULESETS_DIR = REPO / "rulesets"


def rulesets_dir() -> Path:
    """Where rulesets are read from: VIGIL_RULESETS_DIR, else the repository's rulesets/."""
    import os

    return Path(os.environ["VIGIL_RULESETS_DIR"]) if os.environ.get("VIGIL_RULESETS_DIR") else RULESETS_DIR


POLICIES_DIR = REPO / "policies"
PRACTICE_PARAMS = POLICIES_DIR / "practice.yaml"


def ruleset_files(root: Path = RULESETS_DIR) -> list[Path]:
    """Every ruleset file (scenario tests under */tests/ are not rulesets)."""
    return sorted(p for p in root.glob("*/*.yaml") if p.is_file())


def load_all(root: Path = RULESETS_DIR) -> list[LoadedRuleset]:
    return [load_ruleset_file(p) for p in ruleset_files(root)]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def in_force(
    loaded: Iterable[LoadedRuleset], day: dt.date, frameworks: Iterable[str] | None = None
) -> list[LoadedRuleset]:
    """Per framework, the version in force on `day` (the latest effective_from, then highest version)."""
    wanted = set(frameworks) if frameworks else None
    best: dict[str, LoadedRuleset] = {}
    for item in loaded:
        spec = item.spec
        if wanted is not None and spec.framework not in wanted:
            continue
        if not spec.in_force(day):
            continue
        cur = best.get(spec.framework)
        if cur is None or (spec.effective_from, _version_key(spec.version)) > (
            cur.spec.effective_from,
            _version_key(cur.spec.version),
        ):
            best[spec.framework] = item
    return [best[k] for k in sorted(best)]


def load_practice_params(path: Path | None = None) -> dict[str, Any]:
    """Read the practice parameter file (empty when it does not exist)."""
    path = path or PRACTICE_PARAMS
    if not path.exists():
        return {}
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise RulesetSyntaxError(
            f"{path}: not valid YAML",
            [ErrorDetail(reason=str(exc.problem), file=str(path), line=mark.line + 1 if mark else None)],
        ) from None
    params = raw.get("params", {}) if isinstance(raw, dict) else None
    if not isinstance(params, dict):
        raise RulesetValidationError(
            f"{path}: expected a mapping under params:",
            [ErrorDetail(reason="params must map framework -> parameter -> value", file=str(path))],
        )
    return params


def params_in_force(raw: Mapping[str, Any], framework: str, day: dt.date, source: str) -> dict[str, Any]:
    """Resolve effective-dated values: a plain value, or a list of {value, from[, to, approved_by]}."""
    section = raw.get(framework) or {}
    if not isinstance(section, dict):
        raise RulesetValidationError(
            f"{source}: params.{framework} must be a mapping",
            [ErrorDetail(reason="expected name: value", file=source, field=framework)],
        )
    out: dict[str, Any] = {}
    for name, value in section.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) and "value" in v for v in value):
            chosen = None
            for entry in value:
                start = _date(entry.get("from"), source, f"{framework}.{name}.from")
                end = _date(entry.get("to"), source, f"{framework}.{name}.to")
                if (start is None or start <= day) and (end is None or day < end):
                    if chosen is None or (start or dt.date.min) >= (chosen[0] or dt.date.min):
                        chosen = (start, entry["value"])
            if chosen is not None:
                out[name] = chosen[1]
        else:
            out[name] = value
    return out


def _date(value: Any, source: str, key: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise RulesetValidationError(
            f"{source}: {key} is not a date",
            [ErrorDetail(reason=f"{value!r} is not YYYY-MM-DD", file=source, field=key)],
        ) from None


_COMPILED: dict[tuple[str, str, str, frozenset[str] | None], CompiledRuleset] = {}


def compile_for(loaded: LoadedRuleset, overrides: Mapping[str, Any], source: str,
                on: dt.date | None = None) -> CompiledRuleset:
    """Compile once per (file content, parameter values, rules in force): evaluation never re-parses
    YAML. With `on`, only the rules in force that day (see `compile_ruleset`)."""
    in_force_ids = None if on is None else frozenset(r.id for r in loaded.spec.rules if r.in_force(on))
    if in_force_ids is not None and len(in_force_ids) == len(loaded.spec.rules):
        on, in_force_ids = None, None  # every rule: the same compilation as without a day
    key = (loaded.path, loaded.sha256, json.dumps(overrides, sort_keys=True, default=str), in_force_ids)
    if key not in _COMPILED:
        _COMPILED[key] = compile_ruleset(loaded, dict(overrides), overrides_source=source, on=on)
    return _COMPILED[key]


def require_frameworks(frameworks: Iterable[str], loaded: list[LoadedRuleset] | None = None) -> None:
    """Raise InputError naming every framework that has no ruleset in any version."""
    loaded = load_all(rulesets_dir()) if loaded is None else loaded
    known = sorted({item.spec.framework for item in loaded})
    unknown = [fw for fw in frameworks if fw not in known]
    if unknown:
        raise InputError(
            f"unknown framework{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}",
            [ErrorDetail(reason=f"no ruleset for {fw!r}; the frameworks are: {', '.join(known)}", field="framework")
             for fw in unknown])


def compile_in_force(
    as_of: dt.datetime,
    *,
    frameworks: Iterable[str] | None = None,
    params_path: Path | None = None,
    root: Path | None = None,
) -> list[CompiledRuleset]:
    """Compile the rulesets in force at `as_of` with the practice parameters in force then.

    A framework asked for by name must exist (in some version): a misspelt one would otherwise give
    an empty, clean-looking result."""
    day = as_of.date()
    raw = load_practice_params(params_path)
    source = str(params_path or PRACTICE_PARAMS)
    loaded = load_all(root or rulesets_dir())
    if frameworks is not None:
        frameworks = list(frameworks)
        require_frameworks(frameworks, loaded)
    out = []
    for item in in_force(loaded, day, frameworks):
        overrides = params_in_force(raw, item.spec.framework, day, source)
        out.append(compile_for(item, overrides, source, on=day))
    return out
