"""Ruleset scenario tests: records + as_of (+ params) -> expected findings, on both backends.

A scenario lives beside its ruleset (rulesets/<framework>/tests/*.yaml), so a ruleset version
carries its own tests. Each case passes only if both backends produce exactly the expected
findings for the rules in scope, and byte-identical violation lists.

    name: access revoked within 24 h
    framework: hipaa
    rules: [HIPAA-SEC-TERM-004]          # rules in scope (default: every rule of the framework)
    params: {access_revoke_hours: 24}    # optional overrides, plain or dated as in policies/practice.yaml
    records: [{type: establishment, id: E1, tz: America/Chicago}, ...]
    cases:
      - as_of: 2026-03-09T20:00:00Z
        expect:
          - {rule_id: HIPAA-SEC-TERM-004, subject: account/A1, state: due_soon, due: "2026-03-08T23:00:00Z"}
      - as_of: 2026-03-11T00:00:00Z
        expect: []

An expectation names its finding by rule and subject (and `occurrence_key` when the subject has
several) and may pin `state`, `due`, `severity` and `establishment_id` (the site the finding cites,
e.g. a clinician's current site after a transfer); what it leaves out is not compared.

The file is read strictly (`ScenarioSpec`): a key it does not know is refused, not ignored. A
misspelt `subjct:` had stopped `rules test` with a KeyError traceback, and a misspelt `severty:` or a
top-level `param:` had been ignored, so a case that should have failed passed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from engine import clock
from engine.errors import ErrorDetail, RulesetValidationError, VigilError
from engine.rules.catalog import (
    RULESETS_DIR,
    compile_for,
    framework_files,
    in_force,
    load_all,
    params_in_force,
    with_withdrawals,
)
from engine.rules.compiler.params import resolve_params
from engine.rules.derive import RecordView
from engine.rules.loader import LoadedRuleset, StrictSafeLoader, load_ruleset_file
from engine.rules.param_history import history_of
from engine.rules.runner import ListSource, evaluate_rules
from engine.rules.schemas import DeadlineStatus, Violation
from engine.rules.spec import Severity

BACKENDS = ("python", "durable")


@dataclass
class CaseResult:
    scenario: str
    case: int
    as_of: str
    ok: bool
    problems: list[str] = field(default_factory=list)


def scenario_files(root: Path = RULESETS_DIR) -> list[Path]:
    return sorted(root.glob("*/tests/*.yaml"))


class _Strict(BaseModel):
    # a number where text is meant (`occurrence_key: 2026`) is read as the text it is
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class Expectation(_Strict):
    """One finding a case expects: its rule and subject, and what of it is compared."""

    rule_id: str
    subject: str = Field(description="TYPE/ID of the record the finding is about, e.g. account/A1")
    occurrence_key: str | None = None
    state: DeadlineStatus | None = None
    due: str | None = None
    severity: Severity | None = None
    establishment_id: str | None = None

    @field_validator("due", mode="before")
    @classmethod
    def _due_as_written(cls, value: Any) -> Any:
        """An unquoted date or instant, as a finding's `due` says it (an instant in UTC, with Z)."""
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return clock.ensure_utc(value).isoformat().replace("+00:00", "Z")
        return _as_written(value) if isinstance(value, dt.date) else value

    @field_validator("subject")
    @classmethod
    def _type_slash_id(cls, value: str) -> str:
        if "/" not in value:
            raise ValueError(f"{value!r} is not TYPE/ID: write the record's type and id, e.g. account/A1")
        return value


class CaseSpec(_Strict):
    """One instant to judge the records at, and exactly the findings expected then."""

    as_of: Any = Field(description="an instant with an offset (`_instant` checks it)")
    params: dict[str, Any] | None = None
    expect: list[Expectation] | None = Field(description="the findings expected, [] for none")
    ruleset_version: str | None = None


class ScenarioSpec(_Strict):
    """A scenario file as written (the module's docstring shows one)."""

    name: str = Field(min_length=1)
    framework: str | None = None
    rules: list[str] | None = None
    params: dict[str, Any] | None = None
    records: list[Any]  # each checked as an import checks it (`_records`)
    cases: list[CaseSpec] = Field(min_length=1)


#: What each part of a scenario is called in a message.
_PART_WORDS: dict[type[BaseModel], str] = {ScenarioSpec: "a scenario", CaseSpec: "a case",
                                           Expectation: "an expectation"}
#: What to write, for each key a scenario requires.
_REQUIRED_HINTS = {
    "name": "what the scenario shows, in a sentence",
    "records": "the records to judge, a list (records: [] for none)",
    "cases": "a list of cases, each with as_of and expect",
    "as_of": "an instant with an offset, e.g. 2026-03-01T12:00:00Z",
    "expect": "the findings expected at as_of, a list (expect: [] for none)",
    "rule_id": "the rule the finding is of, e.g. HIPAA-SEC-TERM-004",
    "subject": "TYPE/ID of the record the finding is about, e.g. account/A1",
}


def _read(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(), Loader=StrictSafeLoader)  # noqa: S506 - the safe loader, on libyaml
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise RulesetValidationError(f"{path}: not valid YAML", [ErrorDetail(
            reason=str(exc.problem or exc), file=str(path), line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None)]) from None
    except yaml.YAMLError as exc:
        raise RulesetValidationError(
            f"{path}: not valid YAML", [ErrorDetail(reason=str(exc), file=str(path))]
        ) from None


def looks_like_scenario(path: Path) -> bool:
    """Whether a YAML file has a scenario's shape (records or cases, and none of a ruleset's own keys),
    so `rules validate` checks it as one rather than list the keys a ruleset would miss."""
    try:
        raw = _read(path)
    except (VigilError, OSError, UnicodeDecodeError):
        return False
    return (isinstance(raw, dict) and bool({"records", "cases"} & set(raw))
            and not {"version", "authority", "effective_from"} & set(raw))


def _shape(path: Path, raw: Any) -> tuple[ScenarioSpec | None, list[ErrorDetail]]:
    """The scenario `raw` holds, or every key it gets wrong, each with its file, line, key and reason."""
    if not isinstance(raw, dict):
        return None, [ErrorDetail(reason="a scenario is a mapping with name, records and cases (docs/rulesets.md, "
                                         "Scenario tests)", file=str(path))]
    try:
        return ScenarioSpec.model_validate(raw), []
    except ValidationError as exc:
        name = raw.get("name") if isinstance(raw.get("name"), str) and raw.get("name") else path.name
        nodes = _nodes(path)
        errors = exc.errors()
        # `subjct:` is one mistake: the unknown key says "did you mean 'subject'?", so the missing
        # `subject` is not said a second time
        misspelt = {(err["loc"][:-1], close) for err in errors if err["type"] == "extra_forbidden"
                    for close in difflib.get_close_matches(str(err["loc"][-1]),
                                                           list(_holder(err["loc"][:-1]).model_fields), n=1)}
        errors = [err for err in errors if not (err["type"] == "missing" and (err["loc"][:-1], str(err["loc"][-1]))
                                                in misspelt)]
        found = [ErrorDetail(reason=f"scenario {name!r}: {_said(err)}", file=str(path),
                             line=_line(nodes, err["loc"]), field=_field(err["loc"])) for err in errors]
        return None, sorted(found, key=lambda d: d.line or 0)


def _said(err: ErrorDetails) -> str:
    """One pydantic error about a scenario, in the scenario's words."""
    loc = err["loc"]
    key = str(loc[-1]) if loc else ""
    holder = _holder(loc[:-1])
    if err["type"] == "extra_forbidden":
        keys = list(holder.model_fields)
        close = difflib.get_close_matches(key, keys, n=1)
        return (f"unknown key {key!r} in {_PART_WORDS[holder]}" + (f": did you mean {close[0]!r}?" if close else "")
                + f" (its keys are {', '.join(keys)})")
    if err["type"] == "missing":
        hint = _REQUIRED_HINTS.get(key)
        return f"{_PART_WORDS[holder]} needs {key!r}" + (f": {hint}" if hint else "")
    if err["type"] == "too_short" and key == "cases":
        return "a scenario with no cases tests nothing: add one"
    if err["type"] == "too_short" and key == "name":
        return "name is blank: say what the scenario shows"
    message = str(err["msg"]).removeprefix("Value error, ")
    written = err.get("input")
    if isinstance(written, str | int | float | bool) and repr(written) not in message:
        return f"{key} {written!r}: {message}"
    return f"{key}: {message}"


def _holder(loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The model whose key the last part of an error's location is."""
    model: type[BaseModel] = ScenarioSpec
    for part in loc:
        if part == "cases" and model is ScenarioSpec:
            model = CaseSpec
        elif part == "expect" and model is CaseSpec:
            model = Expectation
    return model


def _field(loc: tuple[int | str, ...]) -> str:
    """`cases[0].expect[1].subjct`, as the other scenario problems name their key."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{part}"
    return out


def _nodes(path: Path) -> yaml.Node | None:
    try:
        return yaml.compose(path.read_text(), Loader=yaml.CSafeLoader)  # noqa: S506 - the safe loader
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return None


def _line(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The line of the key an error is about (of its mapping, for a key that is missing)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)),
                         None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def read_scenario(path: Path) -> tuple[dict[str, Any], ScenarioSpec]:
    """The scenario file as written and as checked; a RulesetValidationError naming every key it
    gets wrong (the file, the line, the scenario, the key and why)."""
    raw = _read(path)
    spec, problems = _shape(path, raw)
    if spec is None:
        name = raw.get("name") if isinstance(raw, dict) else None
        raise RulesetValidationError(
            f"{path}: " + (f"scenario {name!r}" if isinstance(name, str) and name else "the scenario")
            + " does not match the scenario format (docs/rulesets.md, Scenario tests)", problems)
    return raw, spec


def load_scenario(path: Path) -> dict[str, Any]:
    """The scenario file as written, once it has the scenario format (`read_scenario`)."""
    return read_scenario(path)[0]


def scenario_file_problems(path: Path) -> list[ErrorDetail]:
    """Every problem of a scenario file that running it would meet: its format (strictly: a key it does
    not know is refused), its records (as an import would check them) and each case's `as_of`."""
    try:
        raw = _read(path)
    except VigilError as exc:
        return list(exc.details)
    _, problems = _shape(path, raw)
    if not isinstance(raw, dict):
        return problems
    if isinstance(raw.get("records"), list):
        try:
            _records(raw["records"], path)
        except VigilError as exc:
            problems.extend(exc.details)
    for i, case in enumerate(raw["cases"] if isinstance(raw.get("cases"), list) else []):
        if isinstance(case, dict) and "as_of" in case:  # a missing one is said above
            try:
                _case_instant(case["as_of"], path, i)
            except VigilError as exc:
                problems.extend(exc.details)
    return problems


def scenario_problems(path: Path, versions: Mapping[str, Sequence[LoadedRuleset]]) -> list[ErrorDetail]:
    """What `rules validate` finds wrong with a scenario without running it: `scenario_file_problems`;
    rule ids its framework's rulesets lack, in `rules` and in an expectation (or an expectation of a
    rule `rules` leaves out); and `params` the version judging a case cannot take (`versions`:
    framework -> its versions). `rules test` runs it. A misspelt rule id in an expectation had
    validated clean, and so had a parameter `rules test` then refused."""
    problems = scenario_file_problems(path)
    try:
        raw = _read(path)
    except VigilError:
        return problems
    if not isinstance(raw, dict):
        return problems
    framework = str(raw.get("framework") or path.parent.parent.name)
    loaded = versions.get(framework)
    if not loaded:
        problems.append(ErrorDetail(reason=f"framework {framework!r} has no ruleset here", file=str(path),
                                    field="framework"))
        return problems
    known = {rule.id for item in loaded for rule in item.spec.rules}
    rules = [str(r) for r in raw["rules"]] if isinstance(raw.get("rules"), list) else None
    unknown = sorted(r for r in rules or [] if r not in known)
    if unknown:
        problems.append(ErrorDetail(reason=f"rules names {', '.join(unknown)}, which no {framework} ruleset has"
                                           + _did_you_mean(unknown[0], known), file=str(path), field="rules"))
    nodes = _nodes(path)
    cases = [c for c in raw["cases"] if isinstance(c, dict)] if isinstance(raw.get("cases"), list) else []
    for i, case in enumerate(cases):
        for j, exp in enumerate(case["expect"] if isinstance(case.get("expect"), list) else []):
            if isinstance(exp, dict) and "rule_id" in exp:
                loc = ("cases", i, "expect", j, "rule_id")
                reason = _expected_rule(str(exp["rule_id"]), framework, known, rules)
                if reason:
                    problems.append(ErrorDetail(reason=reason, file=str(path), line=_line(nodes, loc),
                                                field=_field(loc)))
    problems.extend(_param_problems(path, raw, cases, framework, loaded, nodes))
    return problems


def _did_you_mean(written: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(written, sorted(known), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _expected_rule(rule_id: str, framework: str, known: set[str], rules: list[str] | None) -> str | None:
    """Why an expectation's rule can never be found: no such rule, or one the scenario leaves out."""
    if rule_id not in known:
        return f"the expectation names rule {rule_id}, which no {framework} ruleset has" + _did_you_mean(rule_id, known)
    if rules is not None and rule_id not in rules:
        return (f"the expectation names rule {rule_id}, which is not among the scenario's rules "
                f"({', '.join(rules) or 'none'}): its findings are left out, so the case cannot pass; add it to "
                "rules or drop the expectation")
    return None


def _param_problems(path: Path, raw: dict[str, Any], cases: list[dict[str, Any]], framework: str,
                    loaded: Sequence[LoadedRuleset], nodes: yaml.Node | None) -> list[ErrorDetail]:
    """The scenario's and each case's `params` checked as practice values are (names, types, bounds,
    windows), against the version in force on each case's day, as `rules test` will compile them."""
    problems: list[ErrorDetail] = []
    for i, case in enumerate(cases):
        try:
            day = clock.ensure_utc(_instant(case.get("as_of"))).date()
        except ValueError:
            continue  # said by scenario_file_problems
        chosen = in_force(loaded, day, [framework])
        if not chosen:
            continue  # `rules test` says no version is in force
        for loc, given in ((("params",), raw.get("params")), (("cases", i, "params"), case.get("params"))):
            if not isinstance(given, dict):
                continue  # absent, or said by the format check
            try:
                resolve_params(chosen[0].spec, params_in_force({framework: given}, framework, day, str(path)),
                               source=str(path))
                history_of(chosen[0].spec, given, str(path), versions=loaded)
            except VigilError as exc:
                for d in exc.details:
                    name = (d.field or "").removeprefix(f"{framework}.")
                    where = (*loc, name)
                    problems.append(ErrorDetail(reason=d.reason, file=str(path), line=_line(nodes, where),
                                                field=_field(where)))
    return list(dict.fromkeys(problems))  # the scenario's own params are checked with each case


def _records(raw: list[dict[str, Any]], path: Path) -> list[RecordView]:
    from engine.records.validation import Position, validate_record

    views: list[RecordView] = []
    problems: list[ErrorDetail] = []
    for i, rec in enumerate(raw):
        try:
            model, data = validate_record(rec, position=Position(file=str(path), index=i))
        except VigilError as exc:
            problems.extend(_in_records(d, i) for d in exc.details)
            continue
        views.append(RecordView(model.type, model.id, 1, data))
    if problems:
        nodes = _nodes(path)
        # each at its line, the record's key named as the cases' are (`records[1].discovered_at`): the
        # problem had said "record #1", with no line and counting from 0
        problems = [replace(d, line=_line(nodes, _loc(d.field or ""))) for d in problems]
        raise RulesetValidationError(f"{path}: invalid records in scenario", problems)
    return views


def _in_records(detail: ErrorDetail, index: int) -> ErrorDetail:
    """A record's problem named by its place in the scenario's `records`, not by an import's count."""
    key = f"records[{index}]" + (f".{detail.field}" if detail.field else "")
    return replace(detail, index=None, field=key)


def _loc(field: str) -> tuple[int | str, ...]:
    """`records[1].discovered_at` as a location `_line` reads: ("records", 1, "discovered_at")."""
    out: list[int | str] = []
    for part in re.split(r"\.|(?=\[)", field):
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            out.append(int(part[1:-1]))
        elif part:
            out.append(part)
    return tuple(out)


def _as_written(value: Any) -> str:
    """A case's `as_of` as its file has it: YAML reads an unquoted 2026-04-02 as a date and an
    unquoted time as a datetime, which the message must not show as Python (datetime.date(2026, 4, 2))."""
    if isinstance(value, dt.date):  # a datetime too
        return value.isoformat()
    return str(value)


def _instant(value: Any) -> dt.datetime:
    """A case's `as_of` as an aware datetime, or ValueError saying what was written and a full
    instant to write instead (`engine.clock.instant_problem`, as the CLI and the API say it). An
    unquoted time without an offset is refused too: it had been taken for UTC."""
    if value is None:
        raise ValueError("as_of is missing: write an instant with an offset, e.g. 2026-03-01T12:00:00Z")
    written = _as_written(value)
    problem = clock.instant_problem(written)
    if problem is not None:
        raise ValueError(f"as_of: {problem}")
    try:
        instant = dt.datetime.fromisoformat(written.replace("Z", "+00:00"))
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ValueError(f"as_of {written!r} is not an ISO 8601 instant: write an instant with an offset, "
                         "e.g. 2026-03-01T12:00:00Z")
    return instant


def _case_instant(value: Any, path: Path, case: int) -> dt.datetime:
    """A case's `as_of`, or an error naming the file and the case (it had stopped `rules test` with
    a traceback, then shown a date as "datetime.date(2026, 4, 2)")."""
    try:
        return _instant(value)
    except ValueError as exc:
        raise RulesetValidationError(f"{path}: case {case} has no usable as_of", [ErrorDetail(
            reason=str(exc), file=str(path), line=_line(_nodes(path), ("cases", case, "as_of")),
            field=f"cases[{case}].as_of")]) from None


def _key(v: Violation) -> str:
    return f"{v.rule_id} {v.subject.type}/{v.subject.id} {v.state}"


def run_scenario(
    path: Path, *, root: Path = RULESETS_DIR, backends: tuple[str, ...] = BACKENDS
) -> Iterator[CaseResult]:
    """Run every case of one scenario file on each backend and compare."""
    _, spec = read_scenario(path)
    framework = spec.framework or path.parent.parent.name
    records = _records(spec.records, path)
    folder = root / framework
    loaded_all = (
        load_all(root)
        if not folder.is_dir()
        else with_withdrawals([load_ruleset_file(f) for f in framework_files(folder)])
    )
    for i, case in enumerate(spec.cases):
        as_of = _case_instant(case.as_of, path, i)
        result = CaseResult(scenario=str(path), case=i, as_of=as_of.isoformat(), ok=True)
        # the version (and rules) in force on the instant's UTC day, as `pipeline.evaluate` chooses them:
        # the case's own offset's day had chosen another version near midnight than an evaluation would
        day = clock.ensure_utc(as_of).date()
        chosen = in_force(loaded_all, day, [framework])
        if not chosen:
            result.ok = False
            result.problems.append(f"no {framework} ruleset in force on {day} (UTC)")
            yield result
            continue
        given = dict(spec.params or {})
        given.update(case.params or {})
        # a value may be dated as in policies/practice.yaml: the case's day picks the value compiled,
        # and each obligation's window is the value of the day it arose (engine.rules.param_history)
        params = params_in_force({framework: given}, framework, day, str(path))
        history = history_of(chosen[0].spec, given, str(path), versions=loaded_all)
        compiled = compile_for(chosen[0], params, str(path), on=day, history=history)
        scope = set(spec.rules or [r.id for r in compiled.rules])
        unknown = sorted(scope - {r.id for r in chosen[0].spec.rules})
        if unknown:  # a misspelt id scoped the case to nothing, and `expect: []` passed
            result.ok = False
            result.problems.append(f"rules names {', '.join(unknown)}, which {framework} {chosen[0].spec.version} "
                                   "does not have")
        if case.ruleset_version and compiled.version != case.ruleset_version:
            result.ok = False
            result.problems.append(f"expected ruleset version {case.ruleset_version}, in force: {compiled.version}")
        outputs: dict[str, list[Violation]] = {}
        for backend in backends:
            run = evaluate_rules(ListSource(records), [compiled], as_of, backend=backend)
            outputs[backend] = [v for v in run.violations if v.rule_id in scope]
        _compare(result, outputs, case.expect or [])
        yield result


#: What an expectation may pin of its finding besides its occurrence; what it leaves out (None) is not compared.
_PINNED = ("state", "due", "severity", "establishment_id")


def _compare(result: CaseResult, outputs: dict[str, list[Violation]], expect: list[Expectation]) -> None:
    dumps = {b: json.dumps([v.model_dump(mode="json") for v in vs], sort_keys=True) for b, vs in outputs.items()}
    if len(set(dumps.values())) > 1:
        result.ok = False
        names = list(outputs)
        a, b = outputs[names[0]], outputs[names[1]]
        only_a = sorted({_key(v) for v in a} - {_key(v) for v in b})
        only_b = sorted({_key(v) for v in b} - {_key(v) for v in a})
        result.problems.append(
            f"backends disagree: only {names[0]}: {only_a}; only {names[1]}: {only_b}"
            + ("" if only_a or only_b else " (same findings, different details)")
        )
    actual = list(outputs[next(iter(outputs))])
    for exp in expect:
        rule_id, subject = exp.rule_id, exp.subject
        candidates = [
            v
            for v in actual
            if v.rule_id == rule_id
            and f"{v.subject.type}/{v.subject.id}" == subject
            and (exp.occurrence_key is None or v.occurrence_key == exp.occurrence_key)
        ]
        if not candidates:
            result.ok = False
            result.problems.append(f"missing finding {rule_id} on {subject}"
                                   + (f" (expected {exp.state})" if exp.state else ""))
            continue
        exact = [
            v
            for v in candidates
            if all(str(getattr(v, a)) == getattr(exp, a) for a in _PINNED if getattr(exp, a) is not None)
        ]
        v = (exact or candidates)[0]
        actual.remove(v)
        for attr in (*_PINNED, "occurrence_key"):
            wanted = getattr(exp, attr)
            if wanted is not None and str(getattr(v, attr)) != wanted:
                result.ok = False
                result.problems.append(
                    f"{rule_id} on {subject}: {attr} is {getattr(v, attr)!r}, expected {wanted!r}"
                )
        if not v.evidence:
            result.ok = False
            result.problems.append(f"{rule_id} on {subject}: no evidence")
    for v in actual:  # every finding not expected, including a second one on an expected subject
        result.ok = False
        result.problems.append(
            f"unexpected finding {v.rule_id} on {v.subject.type}/{v.subject.id}"
            f"{' [' + v.occurrence_key + ']' if v.occurrence_key else ''} ({v.state}: {v.message})"
        )
