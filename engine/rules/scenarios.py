"""Ruleset scenario tests: records + as_of (+ params) -> expected findings, on both backends.

A scenario lives beside its ruleset (rulesets/<framework>/tests/*.yaml), so a ruleset version
carries its own tests. Each case passes only if both backends produce exactly the expected
findings for the rules in scope, and byte-identical violation lists.

    name: access revoked within 24 h
    framework: hipaa
    rules: [HIPAA-SEC-TERM-004]          # rules in scope (default: every rule of the framework)
    params: {access_revoke_hours: 24}    # optional overrides
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
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine import clock
from engine.errors import ErrorDetail, RulesetValidationError, VigilError
from engine.rules.catalog import RULESETS_DIR, compile_for, framework_files, in_force, load_all, with_withdrawals
from engine.rules.derive import RecordView
from engine.rules.loader import StrictSafeLoader, load_ruleset_file
from engine.rules.runner import ListSource, evaluate_rules
from engine.rules.schemas import Violation

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


def load_scenario(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.load(path.read_text(), Loader=StrictSafeLoader)  # noqa: S506 - the safe loader, on libyaml
    except yaml.YAMLError as exc:
        raise RulesetValidationError(
            f"{path}: not valid YAML", [ErrorDetail(reason=str(exc), file=str(path))]
        ) from None
    if not isinstance(raw, dict) or "records" not in raw or "cases" not in raw:
        raise RulesetValidationError(
            f"{path}: a scenario needs records and cases", [ErrorDetail(reason="missing records/cases", file=str(path))]
        )
    return raw


def scenario_problems(path: Path, rule_ids: dict[str, set[str]]) -> list[ErrorDetail]:
    """What `rules validate` finds wrong with a scenario without running it: its shape, its records
    (as an import would check them), each case's `as_of`, and rule ids its framework's rulesets lack
    (`rule_ids`: framework -> every rule id of its versions). `rules test` runs it."""
    try:
        raw = load_scenario(path)
    except VigilError as exc:
        return list(exc.details)
    problems: list[ErrorDetail] = []
    if not isinstance(raw["records"], list) or not isinstance(raw["cases"], list):
        return [ErrorDetail(reason="records and cases must be lists", file=str(path))]
    try:
        _records(raw["records"], path)
    except VigilError as exc:
        problems.extend(exc.details)
    for i, case in enumerate(raw["cases"]):
        try:
            _case_instant(case.get("as_of") if isinstance(case, dict) else None, path, i)
        except VigilError as exc:
            problems.extend(exc.details)
    framework = str(raw.get("framework") or path.parent.parent.name)
    known = rule_ids.get(framework)
    if known is None:
        problems.append(ErrorDetail(reason=f"framework {framework!r} has no ruleset here", file=str(path),
                                    field="framework"))
    else:
        unknown = sorted(str(r) for r in raw.get("rules") or [] if str(r) not in known)
        if unknown:
            problems.append(ErrorDetail(reason=f"rules names {', '.join(unknown)}, which no {framework} ruleset has",
                                        file=str(path), field="rules"))
    return problems


def _records(raw: list[dict[str, Any]], path: Path) -> list[RecordView]:
    from engine.records.validation import Position, validate_record

    views: list[RecordView] = []
    problems: list[ErrorDetail] = []
    for i, rec in enumerate(raw):
        try:
            model, data = validate_record(rec, position=Position(file=str(path), index=i))
        except VigilError as exc:
            problems.extend(exc.details)
            continue
        views.append(RecordView(model.type, model.id, 1, data))
    if problems:
        raise RulesetValidationError(f"{path}: invalid records in scenario", problems)
    return views


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
            reason=str(exc), file=str(path), field=f"cases[{case}].as_of")]) from None


def _key(v: Violation) -> str:
    return f"{v.rule_id} {v.subject.type}/{v.subject.id} {v.state}"


def run_scenario(
    path: Path, *, root: Path = RULESETS_DIR, backends: tuple[str, ...] = BACKENDS
) -> Iterator[CaseResult]:
    """Run every case of one scenario file on each backend and compare."""
    raw = load_scenario(path)
    framework = raw.get("framework") or path.parent.parent.name
    records = _records(raw["records"], path)
    folder = root / framework
    loaded_all = (
        load_all(root)
        if not folder.is_dir()
        else with_withdrawals([load_ruleset_file(f) for f in framework_files(folder)])
    )
    for i, case in enumerate(raw["cases"]):
        as_of = _case_instant(case.get("as_of"), path, i)
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
        params = dict(raw.get("params") or {})
        params.update(case.get("params") or {})
        compiled = compile_for(chosen[0], params, str(path), on=day)
        scope = set(raw.get("rules") or [r.id for r in compiled.rules])
        unknown = sorted(scope - {r.id for r in chosen[0].spec.rules})
        if unknown:  # a misspelt id scoped the case to nothing, and `expect: []` passed
            result.ok = False
            result.problems.append(f"rules names {', '.join(unknown)}, which {framework} {chosen[0].spec.version} "
                                   "does not have")
        if case.get("ruleset_version") and compiled.version != case["ruleset_version"]:
            result.ok = False
            result.problems.append(f"expected ruleset version {case['ruleset_version']}, in force: {compiled.version}")
        outputs: dict[str, list[Violation]] = {}
        for backend in backends:
            run = evaluate_rules(ListSource(records), [compiled], as_of, backend=backend)
            outputs[backend] = [v for v in run.violations if v.rule_id in scope]
        _compare(result, outputs, case.get("expect") or [])
        yield result


def _compare(result: CaseResult, outputs: dict[str, list[Violation]], expect: list[dict[str, Any]]) -> None:
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
        rule_id, subject = exp["rule_id"], str(exp["subject"])
        candidates = [
            v
            for v in actual
            if v.rule_id == rule_id
            and f"{v.subject.type}/{v.subject.id}" == subject
            and ("occurrence_key" not in exp or v.occurrence_key == str(exp["occurrence_key"]))
        ]
        if not candidates:
            result.ok = False
            result.problems.append(f"missing finding {rule_id} on {subject} (expected {exp.get('state')})")
            continue
        exact = [
            v
            for v in candidates
            if all(str(getattr(v, a)) == str(exp[a]) for a in ("state", "due", "severity", "establishment_id")
                   if a in exp)
        ]
        v = (exact or candidates)[0]
        actual.remove(v)
        for attr in ("state", "due", "severity", "establishment_id", "occurrence_key"):
            if attr in exp and str(getattr(v, attr)) != str(exp[attr]):
                result.ok = False
                result.problems.append(
                    f"{rule_id} on {subject}: {attr} is {getattr(v, attr)!r}, expected {exp[attr]!r}"
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
