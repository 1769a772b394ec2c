"""The values a practice's parameters took over time.

An obligation is judged by the value in force on the day it arose, not by the value of the
evaluation's day: a practice that tightens `access_revoke_hours` from 24 to 4 today has not made
an October departure, disabled after 10 hours under the 24 then in force, a violation. A deadline
counted from an anchor (an employment's end, an injury, a training) reads its amount here for the
anchor's local date; what is judged about the present (thresholds, warning windows, lists of
categories) keeps the value in force at the evaluation's instant.

A parameter has a history when the practice dated it (`[{value, from[, to]}, ...]` in
policies/practice.yaml) or when a later version of its ruleset changed its default; a plain practice
value is the same on every day."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import RulesetValidationError
from engine.rules.compiler.params import resolve_params
from engine.rules.spec import RulesetSpec

if TYPE_CHECKING:
    from engine.rules.loader import LoadedRuleset

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


def history_of(spec: RulesetSpec, section: Mapping[str, Any], source: str,
               versions: Sequence[LoadedRuleset] = ()) -> ParamHistory:
    """The history of the parameters `spec` (the version judging) declares, over the practice's dated
    values (`section`: the practice file's values for this framework) and the defaults of the
    framework's `versions` on the days each was in force: a version published with a new default
    changes the value from its effective day, as a dated practice value does, and `params list`
    shows it as a scheduled change. Each day's value is resolved as an evaluation that day would
    resolve it (type and window checks), against the version in force then; a parameter that
    version did not declare has the judging version's default, or the practice's value then."""
    from engine.rules.catalog import check_dated, entry_bounds, in_force, is_dated, params_in_force

    framework = spec.framework
    check_dated(section, framework, source)
    dated = {name: value for name, value in section.items() if name in spec.params and is_dated(value)}
    # a plain value holds on every day (the compilation checks it, naming every problem at once)
    plain = {name for name, value in section.items() if not is_dated(value)}
    days = {dt.date.min}
    for name, value in dated.items():
        days |= entry_bounds(value, source, f"{framework}.{name}")
    own = [v for v in versions if v.spec.framework == framework]
    if len(own) > 1:
        days |= {v.spec.effective_from for v in own} | {v.ends for v in own if v.ends is not None}
    if len(days) == 1:
        return NO_HISTORY
    values: dict[str, list[tuple[dt.date, Any]]] = {name: [] for name in spec.params}
    first = min(own, key=lambda v: v.spec.effective_from).spec if own else spec
    for day in sorted(days):
        then = in_force(own, day, [framework]) if own else []
        # before the first version took effect, its values; after every version ended, the judging one's
        version = then[0].spec if then else first if day < first.effective_from else spec
        practice = params_in_force({framework: dated}, framework, day, source)
        resolved = _resolved(version, {k: v for k, v in practice.items() if k in version.params}, source, day)
        for name in spec.params:
            if name in plain:
                continue
            value = (resolved[name] if name in version.params
                     else _resolved(spec, {name: practice[name]} if name in practice else {}, source, day)[name])
            seq = values[name]
            if not seq or seq[-1][1] != value:
                seq.append((day, value))
    steps = {name: tuple(seq) for name, seq in values.items() if len(seq) > 1}
    return ParamHistory(steps) if steps else NO_HISTORY


def _resolved(spec: RulesetSpec, overrides: Mapping[str, Any], source: str, day: dt.date) -> dict[str, Any]:
    """`resolve_params`, an error naming the day whose value does not fit."""
    try:
        return resolve_params(spec, overrides, source=source)
    except RulesetValidationError as exc:
        since = "before any dated entry" if day == dt.date.min else f"from {day}"
        raise RulesetValidationError(
            f"{source}: a value of params.{spec.framework} in force {since} does not fit {spec.name}",
            [dataclasses.replace(d, reason=f"{d.reason} (the value in force {since})") for d in exc.details],
            code=exc.code) from None
