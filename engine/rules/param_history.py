"""The values a practice's parameters took over time.

An obligation is judged by the value in force on the day it arose, not by the value of the
evaluation's day: a practice that tightens `access_revoke_hours` from 24 to 4 today has not made
an October departure, disabled after 10 hours under the 24 then in force, a violation. A deadline
counted from an anchor (an employment's end, an injury, a training) reads its amount here for the
anchor's local date; what is judged about the present (thresholds, warning windows, lists of
categories) keeps the value in force at the evaluation's instant.

Only parameters the practice dated (`[{value, from[, to]}, ...]` in policies/practice.yaml) have a
history; a plain value, or none, is the same on every day."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import RulesetValidationError
from engine.rules.compiler.params import resolve_params
from engine.rules.spec import RulesetSpec

#: (first day, value) steps, oldest first; the first starts on date.min
Steps = tuple[tuple[dt.date, Any], ...]


@dataclass(frozen=True)
class ParamHistory:
    """For each parameter whose value changed over time, the value on each day (plain data: it goes
    to the derive process with the derivations' context)."""

    steps: Mapping[str, Steps] = field(default_factory=dict)

    def value_on(self, name: str, day: dt.date, current: Any) -> Any:
        """The value in force on `day`; `current` (the evaluation's value) for a parameter that
        never changed."""
        steps = self.steps.get(name)
        if not steps:
            return current
        at = bisect.bisect_right([start for start, _ in steps], day) - 1
        return steps[max(at, 0)][1]

    def __bool__(self) -> bool:
        return bool(self.steps)

    def as_json(self) -> dict[str, list[list[Any]]]:
        """Each parameter's `[[first day, value], ...]`, the first day of the earliest value null (a run
        keeps it, beside the values of its own day)."""
        return {name: [[None if start == dt.date.min else start.isoformat(), value] for start, value in steps]
                for name, steps in sorted(self.steps.items())}

    def key(self) -> str:
        """A stable text of the history, for a cache key."""
        return json.dumps(self.as_json(), sort_keys=True, default=str)


def merged(histories: Iterable[ParamHistory]) -> ParamHistory:
    """One history over several frameworks (their parameter names do not overlap, as their values'
    merge in the derivations' context already assumes)."""
    steps: dict[str, Steps] = {}
    for history in histories:
        steps.update(history.steps)
    return ParamHistory(steps) if steps else NO_HISTORY


NO_HISTORY = ParamHistory()


def history_of(spec: RulesetSpec, section: Mapping[str, Any], source: str) -> ParamHistory:
    """The history of the parameters `spec` declares that the practice dated (`section`: the
    practice file's values for this framework). Each day's value is resolved as an evaluation that
    day would resolve it (defaults, type and window checks), against the version given."""
    from engine.rules.catalog import entry_bounds, entry_in_force, is_dated

    steps: dict[str, Steps] = {}
    for name, value in section.items():
        if name not in spec.params or not is_dated(value):
            continue
        key = f"{spec.framework}.{name}"
        seq: list[tuple[dt.date, Any]] = []
        for day in sorted({dt.date.min} | entry_bounds(value, source, key)):
            entry = entry_in_force(value, day, source, key)
            try:
                resolved = resolve_params(spec, {name: entry["value"]} if entry else {}, source=source)[name]
            except RulesetValidationError as exc:
                since = "before any dated entry" if day == dt.date.min else f"from {day}"
                raise RulesetValidationError(
                    f"{source}: the value of {key} in force {since} does not fit {spec.name}",
                    [dataclasses.replace(d, reason=f"{d.reason} (the value in force {since})") for d in exc.details],
                    code=exc.code) from None
            if not seq or seq[-1][1] != resolved:
                seq.append((day, resolved))
        if len(seq) > 1:
            steps[name] = tuple(seq)
    return ParamHistory(steps) if steps else NO_HISTORY
