"""Resolve a ruleset's declared parameters against the practice's overrides."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from engine.errors import ErrorDetail, RulesetValidationError
from engine.rules.spec import RulesetSpec, check_param_value, check_window_param


def resolve_params(spec: RulesetSpec, overrides: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    """Defaults overlaid with overrides; an unknown name or a wrong type is an error naming the
    file and the key."""
    values = {name: p.default for name, p in spec.params.items()}
    problems: list[ErrorDetail] = []
    for name, value in sorted(overrides.items()):
        if name not in spec.params:
            close = difflib.get_close_matches(name, list(spec.params), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            problems.append(
                ErrorDetail(
                    reason=f"unknown parameter {name!r} for ruleset {spec.framework}{hint}",
                    file=source,
                    field=f"{spec.framework}.{name}",
                )
            )
            continue
        try:
            value = check_param_value(spec.params[name], value)
        except ValueError as exc:
            problems.append(
                ErrorDetail(reason=f"parameter {name}: {exc}", file=source, field=f"{spec.framework}.{name}")
            )
            continue
        windows = check_window_param(spec.rules, name, value)  # 1.5 for a window counted in whole days
        problems.extend(ErrorDetail(reason=f"parameter {name} = {value!r}: {reason}", file=source,
                                    field=f"{spec.framework}.{name}") for reason in windows)
        if windows:
            continue
        values[name] = value
    if problems:
        raise RulesetValidationError(f"{source}: invalid practice parameters", problems, code="ruleset.params.invalid")
    return values
