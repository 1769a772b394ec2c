"""`vigil rules validate`: every check a ruleset must pass before it can be published.

Schema and expressions (by compiling), parameters (defaults and the practice's overrides), SOP
references (policies/sops/<SOP>.md must exist), citations (not blank), rule ids (not another
framework's) and scenario files (they must load).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from engine.errors import ErrorDetail, VigilError
from engine.rules import withdrawals
from engine.rules.catalog import (
    POLICIES_DIR,
    compile_for,
    framework_files,
    load_all,
    load_practice_params,
    params_in_force,
    placement_problems,
    policies_dir,
    ruleset_files,
    rulesets_dir,
)
from engine.rules.compiler.messages import check_compiles
from engine.rules.loader import LoadedRuleset, load_ruleset_bytes, load_ruleset_file
from engine.rules.scenarios import scenario_problems


@dataclass
class ValidationReport:
    files: list[str] = field(default_factory=list)
    scenarios: list[str] = field(default_factory=list)
    rules: int = 0
    problems: list[ErrorDetail] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def sop_path(sop: str, policies: Path = POLICIES_DIR) -> Path:
    return policies / "sops" / f"{sop}.md"


def validate_paths(
    paths: list[Path], *, policies: Path | None = None, params_path: Path | None = None, today: dt.date | None = None,
    rulesets: Path | None = None,
) -> ValidationReport:
    """Validate ruleset files (and folders of them, with their scenarios); SOP references are looked
    up in `policies`, default the policies in use (VIGIL_POLICIES_DIR, else the repository's). Rule
    ids are checked against the other frameworks of the files and of `rulesets`, default the
    rulesets folder in use (the one the files are published into)."""
    policies = policies or policies_dir()
    report = ValidationReport()
    files: list[Path] = []
    scenarios: list[Path] = []
    for p in paths:
        if p.is_dir() and p.name == "tests":  # a framework's scenarios (read as rulesets: hundreds of false problems)
            scenarios.extend(sorted(p.glob("*.yaml")))
        elif p.is_dir():
            files.extend(framework_files(p))
            files.extend(sorted(x for x in p.glob("*/*.yaml")
                                if x.parent.name != "tests" and x.name != withdrawals.FILE_NAME))
            scenarios.extend(sorted(p.glob("tests/*.yaml")) + sorted(p.glob("*/tests/*.yaml")))
        elif p.parent.name == "tests":
            scenarios.append(p)
        else:
            files.append(p)
    try:
        practice = load_practice_params(params_path)
    except VigilError as exc:
        report.problems.extend(exc.details)
        practice = {}
    for path in files:
        report.files.append(str(path))
        _check(report, partial(load_ruleset_file, path), str(path), practice=practice, policies=policies,
               params_path=params_path, today=today)
    loadable = []
    for path in files:
        try:
            loadable.append(load_ruleset_file(path))
        except VigilError:
            pass  # reported by _check above
    root = (rulesets or rulesets_dir()).resolve()
    drafts = {p.resolve() for p in paths if p.is_file() and not p.resolve().is_relative_to(root)}
    # a draft named on its own, outside the rulesets folder in use, may lie and be named anyhow: publishing
    # names its file. Placing it in the folder by hand, as the refusal had told the liaison, made it live
    # at once with none of publishing's checks (the liaison probe)
    report.problems.extend(placement_problems([i for i in loadable if Path(i.path).resolve() not in drafts]))
    report.problems.extend(rule_id_clashes(loadable, _in_use(rulesets or rulesets_dir(), besides=files)))
    rule_ids: dict[str, set[str]] = {}
    for item in loadable:
        rule_ids.setdefault(item.spec.framework, set()).update(r.id for r in item.spec.rules)
    if scenarios and not files:  # scenario files alone: check them against the rulesets in use
        for item in load_all(rulesets_dir()):
            rule_ids.setdefault(item.spec.framework, set()).update(r.id for r in item.spec.rules)
    for path in scenarios:
        report.scenarios.append(str(path))
        report.problems.extend(scenario_problems(path, rule_ids))
    return report


def validate_bytes(draft: bytes, name: str, *, policies: Path | None = None, params_path: Path | None = None,
                   today: dt.date | None = None) -> ValidationReport:
    """Validate a draft held in memory (a REST body, the web editor, a preview) exactly as
    `validate_paths` validates a file: format, expressions, parameters with the practice's
    overrides, SOP templates."""
    report = ValidationReport(files=[name])
    try:
        practice = load_practice_params(params_path)
    except VigilError as exc:
        report.problems.extend(exc.details)
        practice = {}
    _check(report, lambda: load_ruleset_bytes(draft, name), name, practice=practice,
           policies=policies or policies_dir(), params_path=params_path, today=today)
    try:
        loaded = [load_ruleset_bytes(draft, name)]
    except VigilError:
        loaded = []  # reported by _check above
    report.problems.extend(rule_id_clashes(loaded, _in_use(rulesets_dir())))
    return report


def rule_id_clashes(checked: list[LoadedRuleset], others: Iterable[LoadedRuleset]) -> list[ErrorDetail]:
    """Each rule of `checked` whose id is a rule of another framework (in `checked` or `others`).

    Why: a finding is known by its rule id, so one id in two frameworks gave findings of one rule
    in both, and packets, waivers and `rules show` could no longer tell whose regulation it cites.
    An id repeated across versions of one framework is that rule's history, and stays allowed."""
    in_checked: dict[str, set[str]] = {}
    in_others: dict[str, set[str]] = {}
    for items, holders in ((checked, in_checked), (others, in_others)):
        for item in items:
            for rule in item.spec.rules:
                holders.setdefault(rule.id, set()).add(item.spec.framework)
    problems = []
    for item in checked:
        mine = {item.spec.framework}
        for rule in item.spec.rules:
            published = in_others.get(rule.id, set()) - mine
            beside = in_checked.get(rule.id, set()) - mine - published
            said = [f"already a rule of {', '.join(sorted(published))} in the rulesets in use"] if published else []
            said += [f"also a rule of {', '.join(sorted(beside))} in the files checked"] if beside else []
            if said:
                problems.append(ErrorDetail(
                    reason=f"rule id {rule.id} is {' and '.join(said)}: a rule id names one rule of one framework "
                           "(its findings would be filed under both); give "
                           + (f"the {item.spec.framework} rule" if published else "one of them") + " an id of its own",
                    file=item.path, line=rule.lines.get("id", rule.line), rule_id=rule.id, field="id"))
    return problems


def _in_use(root: Path, besides: Iterable[Path] = ()) -> list[LoadedRuleset]:
    """The ruleset versions of the folder `root` other than the files `besides` (checked already),
    leaving out files that do not load (their own validation says why)."""
    skip = {p.resolve() for p in besides}
    out = []
    for path in ruleset_files(root) if root.is_dir() else []:
        if path.resolve() in skip:
            continue
        try:
            out.append(load_ruleset_file(path))
        except VigilError:
            pass
    return out


def _blank_citations(loaded: LoadedRuleset, label: str) -> list[ErrorDetail]:
    """A blank rule `citation` or ruleset `authority`: every finding of the rule would cite no
    regulation, and a packet would show an auditor a finding with nothing to check it against."""
    found = []
    if not loaded.spec.authority.strip():
        found.append(ErrorDetail(reason="authority is blank: name the regulation the ruleset implements, e.g. "
                                        "45 CFR Parts 160 and 164", file=label,
                                 line=_top_level_line(loaded, "authority"), field="authority"))
    for rule in loaded.spec.rules:
        if not rule.citation.strip():
            found.append(ErrorDetail(reason=f"rule {rule.id} has a blank citation: name the provision it enforces, "
                                            "e.g. 45 CFR 164.308(a)(3)(ii)(C)", file=label,
                                     line=rule.lines.get("citation", rule.line), rule_id=rule.id, field="citation"))
    return found


#: A parameter's declared unit, as liaisons write it, read as the window unit it counts in.
_UNIT_AS_WINDOW = {"day": "days", "days": "days", "calendar day": "days", "calendar days": "days",
                   "working day": "working_days", "working days": "working_days", "business day": "working_days",
                   "business days": "working_days", "hour": "hours", "hours": "hours", "month": "months",
                   "months": "months", "year": "years", "years": "years"}


def _window_units(loaded: LoadedRuleset, label: str) -> list[ErrorDetail]:
    """A window counting a parameter in another unit than the one it is declared in: `{days:
    params.pep_eval_start_hours}` validated clean and made a 4-hour window 4 days (the liaison probe).
    A parameter with no unit, or one that names no duration, is left to its description."""
    found = []
    for rule in loaded.spec.rules:
        ob = rule.obligation
        for key, win in (("within", ob.within if ob else None), ("warn", ob.warn if ob else None)):
            if win is None or not isinstance(win.amount, str):
                continue
            name = win.amount.removeprefix("params.")
            declared = loaded.spec.params.get(name)
            unit = " ".join((declared.unit or "").lower().split()) if declared else ""
            counts = _UNIT_AS_WINDOW.get(unit)
            if counts is None or counts == win.unit or (win.unit == "year_end_days" and counts == "days"):
                continue
            found.append(ErrorDetail(
                reason=f"rule {rule.id} counts params.{name} in {win.unit} ({key}: {{{win.unit}: params.{name}}}), "
                       f"but {name} is declared in {declared.unit if declared else unit}: write "
                       f"{{{counts}: params.{name}}}, or declare the parameter in {win.unit}",
                file=label, line=rule.lines.get("obligation", rule.line), rule_id=rule.id,
                field=f"obligation.{key}"))
    return found


def _top_level_line(loaded: LoadedRuleset, key: str) -> int | None:
    """The line of a top-level key of the file (the loader keeps lines for rules only)."""
    text = loaded.content.decode("utf-8", errors="replace")
    found = re.search(rf"^{re.escape(key)}:", text, re.MULTILINE)
    return text[: found.start()].count("\n") + 1 if found else None


def _check(report: ValidationReport, load: Callable[[], LoadedRuleset], label: str, *, practice: dict[str, Any],
           policies: Path, params_path: Path | None, today: dt.date | None) -> None:
    """Every problem of one file at once: a rule whose expression is refused still has its message
    and its SOP checked (they do not depend on compiling), so fixing one mistake does not reveal the
    next. Only a file that does not read as a ruleset at all stops here."""
    source = str(params_path or "policies/practice.yaml")
    try:
        loaded = load()
    except VigilError as exc:
        report.problems.extend(exc.details or [ErrorDetail(reason=exc.message, file=label)])
        return
    found: list[ErrorDetail] = _blank_citations(loaded, label) + _window_units(loaded, label)
    try:
        day = today or loaded.spec.effective_from
        compiled = compile_for(loaded, params_in_force(practice, loaded.spec.framework, day, source), source)
        report.rules += len(compiled.rules)
    except VigilError as exc:
        found.extend(exc.details or [ErrorDetail(reason=exc.message, file=label)])
    for rule in loaded.spec.rules:
        try:
            check_compiles(rule)
        except VigilError as exc:
            found.extend(d if d.file else dataclasses.replace(d, file=label) for d in exc.details)
        if not sop_path(rule.sop, policies).exists():
            found.append(ErrorDetail(
                reason=f"SOP {rule.sop} has no template at {sop_path(rule.sop, policies)}",
                file=label, line=rule.lines.get("sop", rule.line), rule_id=rule.id, field="sop"))
    found.sort(key=lambda d: (d.file != label, d.line or 0, d.rule_id or "", d.field or ""))
    report.problems.extend(found)
