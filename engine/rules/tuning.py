"""Practice parameters, read as a table and changed from a day on (`policies/practice.yaml`).

A change is an effective-dated entry, never an edit of a value in place: the value in force on any
past day stays what it was, so a look-back evaluation judges that day as it was judged then, and each
run already records the values it used. A change takes effect today or later, names who approved it
and why, and is checked against the parameter's declared type and by compiling every version of the
framework in force from that day with it, before the file is replaced (atomically, its header
comment kept). Recording the change in the audit trail is the pipeline's job."""

from __future__ import annotations

import datetime as dt
import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from engine import clock
from engine.errors import ErrorDetail, InputError, NotFoundError, VigilError
from engine.rules import versions, withdrawals
from engine.rules.catalog import (
    compile_for,
    entry_in_force,
    frameworks_said,
    in_force,
    is_dated,
    load_all,
    load_practice_params,
    params_in_force,
    practice_params_path,
    rulesets_dir,
)
from engine.rules.loader import LoadedRuleset
from engine.rules.spec import check_param_value

_HEADER = ("# Practice parameters: override the defaults a ruleset declares (see docs/rulesets.md).\n"
           "# A value may be plain, or effective-dated: [{value: X, from: YYYY-MM-DD, approved_by: ...}, ...]\n")


class ScheduledValue(BaseModel):
    """A change of a parameter's value after the day shown: a practice value that starts later, or
    the default of a later version (`version`), where no practice value is in force then."""

    value: Any
    starts: dt.date | None
    approved_by: str | None = None
    reason: str | None = None
    version: str | None = None  # the ruleset version whose default the value is (None: a practice value)


class ParamRow(BaseModel):
    """One declared parameter of the version in force on a day, and the value the rules use then."""

    framework: str
    version: str
    name: str
    type: str
    unit: str | None
    description: str
    default: Any
    value: Any
    source: str  # "default" or "practice"
    since: dt.date | None  # the day the practice's value took effect, when it is effective-dated
    approved_by: str | None
    scheduled: list[ScheduledValue]  # values that take effect after the day (practice values, later versions' defaults)


class ParamChange(BaseModel):
    framework: str
    name: str
    value: Any
    before: Any  # the value in force on effective_from until now
    effective_from: dt.date
    approved_by: str
    reason: str
    replaces: dict[str, Any] | None = None  # a change already scheduled from the same day, which this one corrects


@dataclass(frozen=True)
class PlannedChange:
    change: ParamChange
    path: Path
    content: bytes


def params_table(day: dt.date | None = None, *, framework: str | None = None, root: Path | None = None,
                 path: Path | None = None) -> list[ParamRow]:
    """Every parameter of the versions in force on `day` (today), with its value and where it comes from."""
    day = day or clock.now().date()
    path = path or practice_params_path()
    loaded = load_all(root or rulesets_dir())
    raw = load_practice_params(path, frameworks={i.spec.framework for i in loaded})
    rows = []
    for item in in_force(loaded, day, [framework] if framework else None):
        fw = item.spec.framework
        practice = params_in_force(raw, fw, day, str(path))
        section = raw.get(fw) or {}
        later = versions.in_force_from(loaded, fw, day)[1:]
        for name, spec in sorted(item.spec.params.items()):
            entries = _entries(section.get(name))
            current = entry_in_force(entries, day, str(path), f"{fw}.{name}")
            rows.append(ParamRow(
                framework=fw, version=item.spec.version, name=name, type=spec.type, unit=spec.unit,
                description=spec.description, default=spec.default, value=practice.get(name, spec.default),
                source="practice" if name in practice else "default",
                since=_start(current) if current else None,
                approved_by=current.get("approved_by") if current else None,
                scheduled=_scheduled(entries, later, raw, loaded, fw, name, day, str(path))))
    if framework and not rows and not any(i.spec.framework == framework for i in loaded):
        raise NotFoundError(f"no ruleset for framework {framework!r}", [ErrorDetail(
            reason=f"the frameworks are: {frameworks_said(i.spec.framework for i in loaded)}",
            field="framework")])
    return rows


def _scheduled(entries: list[dict[str, Any]], later: list[tuple[dt.date, LoadedRuleset | None]],
               raw: dict[str, Any], loaded: list[LoadedRuleset], framework: str, name: str, day: dt.date,
               source: str) -> list[ScheduledValue]:
    """The changes of the value after `day`, in order: the practice's entries that start later, and
    each later version (`later`: from `versions.in_force_from`) whose default changes the value in
    force, the practice having none then. Why the versions too: a version published for next month
    with a new default changes what the rules use as surely as a practice entry, and the table had
    shown the old default with nothing scheduled."""
    out = [ScheduledValue(value=e["value"], starts=_start(e), approved_by=e.get("approved_by"), reason=e.get("reason"))
           for e in entries if (_start(e) or dt.date.min) > day]
    for start, item in later:
        if item is None or name in params_in_force(raw, framework, start, source):
            continue
        now = _value_on(raw, loaded, framework, name, start, source)
        if now == _value_on(raw, loaded, framework, name, start - dt.timedelta(days=1), source):
            continue
        said = (f"the default of {framework} {item.spec.version}" if name in item.spec.params
                else f"{framework} {item.spec.version} does not declare it")
        out.append(ScheduledValue(value=now, starts=start, reason=said, version=item.spec.version))
    return sorted(out, key=lambda v: v.starts or dt.date.min)


def set_param(framework: str, name: str, value: Any, *, approved_by: str, reason: str,
              effective_from: dt.date | None = None, root: Path | None = None,
              path: Path | None = None) -> ParamChange:
    plan = plan_change(framework, name, value, approved_by=approved_by, reason=reason,
                       effective_from=effective_from, root=root, path=path)
    write_change(plan)
    return plan.change


def write_change(plan: PlannedChange) -> None:
    plan.path.parent.mkdir(parents=True, exist_ok=True)
    withdrawals.write_atomically(plan.path, plan.content)


def plan_change(framework: str, name: str, value: Any, *, approved_by: str, reason: str,
                effective_from: dt.date | None = None, root: Path | None = None,
                path: Path | None = None, today: dt.date | None = None) -> PlannedChange:
    """Every check of a parameter change, writing nothing (see the module's docstring). `today` is
    the practice's local date (default: UTC's), the first day a change may take effect."""
    today = today or clock.now().date()
    day = effective_from or today
    path = path or practice_params_path()
    loaded = load_all(root or rulesets_dir())
    problems = []
    if day < today:
        problems.append(ErrorDetail(
            reason=f"effective_from {day} is before today ({today}): a change takes effect today or later, so the "
                   "value in force on past days stays what it was", field="effective_from"))
    for label, text in (("approved_by", approved_by), ("reason", reason)):
        if not text.strip():
            problems.append(ErrorDetail(reason=f"{label} is required: say who approved the change and why",
                                        field=label))
    meets = _versions_from(loaded, framework, day)
    declaring = [v for v in meets if name in v.spec.params]
    if not declaring:
        if problems:
            raise InputError(f"cannot change {framework}.{name}", problems, code="params.refused")
        known = sorted({n for v in meets for n in v.spec.params})
        close = difflib.get_close_matches(name, known, n=3)
        hint = (f"did you mean {' or '.join(close)}? (vigil params list --framework {framework} lists them)" if close
                else f"the parameters of {framework} are: {', '.join(known) or 'none'}")
        raise NotFoundError(f"{framework} declares no parameter {name!r}", [ErrorDetail(reason=hint, field="name")])
    # every problem at once (a past day had hidden a value no version takes, told only once the day
    # was mended), each refusal alone keeping its own code and words
    refusals = [("params.refused", f"cannot change {framework}.{name}", p) for p in problems]
    # a value set before the version declaring it takes over would meet the version before, which
    # refuses it: name the day it can start (it had said "2026.1.0 does not compile with the new value")
    # (from today at the earliest: a day in the past is refused above, and moves to today or later)
    earliest = max(day, today)
    starts = _first_day_declared(loaded, framework, name, earliest)
    if starts is not None and starts > earliest:
        version = next(i.spec.version for d, i in _in_force_from(loaded, framework, earliest) if d == starts and i)
        refusals.append(("params.not_yet", f"{framework}.{name} can be set from {starts}, when {framework} {version} "
                         "declares it", ErrorDetail(reason=f"{framework} in force from {earliest} does not declare "
                                                           f"{name}: set it with --from {starts} or later",
                                                    field="effective_from")))
    if starts is None and any(i is not None and name not in i.spec.params for _, i in _in_force_from(
            loaded, framework, earliest)):
        gap = _declared_only_for_a_while(loaded, framework, name, earliest, path)
        refusals += [(gap.code, gap.message, detail) for detail in gap.details or [ErrorDetail(reason=gap.message)]]
    for v in declaring:
        try:
            value = check_param_value(v.spec.params[name], value)
        except ValueError as exc:
            refusals.append(("params.type", f"{framework}.{name}: {exc}", ErrorDetail(
                reason=f"{exc} ({v.spec.params[name].description})", field="value")))
            break
    if len({code for code, _, _ in refusals}) == 1:
        code, message, _ = refusals[0]
        raise InputError(message, [detail for _, _, detail in refusals], code=code)
    if refusals:
        raise InputError(f"cannot change {framework}.{name}", [detail for _, _, detail in refusals],
                         code="params.refused")
    raw_file = _read(path)
    params = raw_file.setdefault("params", {}) or {}
    raw_file["params"] = params
    section = params.get(framework) or {}
    params[framework] = section
    before = _value_on(load_practice_params(path, frameworks={i.spec.framework for i in loaded}), loaded, framework,
                       name, day, str(path))
    replaced = next((dict(e) for e in _entries(section.get(name)) if _start(e) == day), None)
    entries = [e for e in _entries(section.get(name)) if _start(e) != day]
    entries.append({"value": value, "from": day, "approved_by": approved_by.strip(), "reason": reason.strip()})
    section[name] = sorted(entries, key=lambda e: _start(e) or dt.date.min)
    content = (_header(path) + yaml.safe_dump(raw_file, sort_keys=False, allow_unicode=True)).encode()
    _check_compiles(content, path, loaded, framework, day)
    change = ParamChange(framework=framework, name=name, value=value, before=before, effective_from=day,
                         approved_by=approved_by.strip(), reason=reason.strip(),
                         replaces=json.loads(json.dumps(replaced, default=str)) if replaced else None)
    return PlannedChange(change=change, path=path, content=content)


def _declared_only_for_a_while(loaded: list[LoadedRuleset], framework: str, name: str, day: dt.date,
                               path: Path) -> InputError:
    """The refusal of a value for a parameter that the versions in force declare only for a while (a
    scheduled version declares it and is withdrawn, or superseded by one that does not): which
    version declares it on which days, the --from to give, and the day the value must end by.
    It had said "hipaa 2026.1.0 does not compile with the new value: unknown parameter ... (did you
    mean audit_review_interval_days?)", naming neither the version that declares it nor a day."""
    changes = _in_force_from(loaded, framework, dt.date.min)  # the versions' own days, said whole
    stretches: list[tuple[dt.date, dt.date | None, LoadedRuleset]] = []
    for (start, item), (end, _) in zip(changes, [*changes[1:], (None, None)], strict=True):
        if item is not None and name in item.spec.params and (end is None or end > day):
            stretches.append((start, end, item))
    first, end, _ = stretches[0]
    said = " and ".join(f"{v.spec.version} ({a} to {b - dt.timedelta(days=1)})" if b else f"{v.spec.version} "
                        f"(from {a})" for a, b, v in stretches)
    # the first version after the first stretch that does not declare it: what the value would meet
    end, after = next(((d, i) for d, i in changes if d >= first and i is not None and name not in i.spec.params),
                      (end, None))
    then = f"{framework} {after.spec.version}, in force from {end}," if after is not None else "the next version"
    begin = f"set it with --from {first}" if day < first else f"a value from {day} is in force on later days too"
    reason = (f"{begin}; {then} does not declare it, so the value must end by then: write its entry in {path} "
              f"with `to: {end}` (vigil params set gives no end day)" if end is not None
              else f"{begin} or later")
    return InputError(f"{framework}.{name} is declared only by {framework} {said}: it cannot be set from {day}",
                      [ErrorDetail(reason=reason, field="effective_from")], code="params.not_declared")


def _value_on(raw: dict[str, Any], loaded: list[LoadedRuleset], framework: str, name: str, day: dt.date,
              source: str) -> Any:
    """The value of `name` in force on `day`, as `params_table` shows it: the practice's value then
    (`raw`: the practice file read), else the default of the version in force then (None when that
    version does not declare it). Not the first declaring version's default: a version published
    since may have changed it."""
    practice = params_in_force(raw, framework, day, source)
    if name in practice:
        return practice[name]
    current = in_force(loaded, day, [framework])
    spec = current[0].spec.params.get(name) if current else None
    return spec.default if spec is not None else None


def _first_day_declared(loaded: list[LoadedRuleset], framework: str, name: str, day: dt.date) -> dt.date | None:
    """The first day from `day` on from which every version in force declares `name` (None: never)."""
    first = None
    for start, item in _in_force_from(loaded, framework, day):
        if item is not None and name in item.spec.params:
            first = first or start
        else:
            first = None
    return first


def _versions_from(loaded: list[LoadedRuleset], framework: str, day: dt.date) -> list[LoadedRuleset]:
    """The framework's versions in force on some day from `day` on (the ones the new value will
    meet), oldest first: a version superseded before `day`, or withdrawn before it would take over,
    never meets it, though its own dates may cover those days."""
    out: list[LoadedRuleset] = []
    for _, item in _in_force_from(loaded, framework, day):
        if item is not None and all(item is not seen for seen in out):
            out.append(item)
    return out


def _in_force_from(loaded: list[LoadedRuleset], framework: str,
                   day: dt.date) -> list[tuple[dt.date, LoadedRuleset | None]]:
    """`versions.in_force_from`, refusing a framework with no ruleset at all."""
    if not any(i.spec.framework == framework for i in loaded):
        raise NotFoundError(f"no ruleset for framework {framework!r}", [ErrorDetail(
            reason=f"the frameworks are: {frameworks_said(i.spec.framework for i in loaded)}",
            field="framework")])
    return versions.in_force_from(loaded, framework, day)


def _check_compiles(content: bytes, path: Path, loaded: list[LoadedRuleset], framework: str, day: dt.date) -> None:
    """Compile each version the new value meets with the values in force on each first day it is in
    force from `day` on."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vigil-params-") as tmp:
        staged = Path(tmp) / path.name
        staged.write_bytes(content)
        raw = load_practice_params(staged, frameworks={i.spec.framework for i in loaded})
        for on, item in _in_force_from(loaded, framework, day):
            if item is None:
                continue
            try:
                compile_for(item, params_in_force(raw, framework, on, str(path)), str(path))
            except VigilError as exc:
                raise InputError(f"{framework} {item.spec.version} does not compile with the new value",
                                 exc.details, code="params.compile") from None


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return raw if isinstance(raw, dict) else {}


def _header(path: Path) -> str:
    if not path.exists():
        return _HEADER
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(lines) or _HEADER


def _entries(value: Any) -> list[dict[str, Any]]:
    """A practice value as effective-dated entries (a plain value is one entry with no start)."""
    if value is None:
        return []
    return [dict(v) for v in value] if is_dated(value) else [{"value": value}]


def _start(entry: dict[str, Any]) -> dt.date | None:
    start = entry.get("from")
    if start is None or isinstance(start, dt.date):
        return start
    return dt.date.fromisoformat(str(start))
