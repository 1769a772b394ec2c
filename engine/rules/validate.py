"""`vigil rules validate`: every check a ruleset must pass before it can be published.

Schema and expressions (by compiling), messages (rendered on sample records), a released version's
bytes (`rulesets/RELEASED.sha256`), parameters (defaults and the practice's overrides), SOP
references (an SOP id, as the task engine reads it, whose policies/sops/<SOP>.md exists and passes
`vigil tasks sops`' checks), citations (not blank), rules (at least one; not another framework's
id) and scenario files (their format, records, instants and rule ids; `vigil rules test` runs them).
What only a database knows (a version's publication, the runs that used it) is `vigil rules
validate --db`'s, through `engine.ruleset_integrity`.

Each problem is said once: one found checking several versions (a practice value none of them can
take) names the versions, rather than print the same line once for each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine import clock
from engine.errors import ErrorDetail, RulesetValidationError, VigilError
from engine.rules import withdrawals
from engine.rules.catalog import (
    POLICIES_DIR,
    compile_for,
    framework_files,
    load_all,
    params_in_force,
    placement_problems,
    policies_dir,
    practice_fit_problems,
    practice_params_path,
    read_practice_params,
    ruleset_files,
    rulesets_dir,
)
from engine.rules.compiler.messages import check_compiles
from engine.rules.compiler.samples import sample_problems
from engine.rules.id_prefixes import prefix_clashes
from engine.rules.loader import LoadedRuleset, load_ruleset_bytes, load_ruleset_file, salvaged
from engine.rules.released import released_problems
from engine.rules.scenarios import looks_like_scenario, scenario_problems
from engine.rules.spec import RuleSpec
from engine.tasks import sop_checks, templates
from engine.tasks.errors import PolicyError

#: The SOP a hint names as an example (the template of HIPAA-SEC-TERM-004, shipped in policies/sops/).
EXAMPLE_SOP = "SOP-HIPAA-ACCESS-REVOKE"


@dataclass
class ValidationReport:
    files: list[str] = field(default_factory=list)
    scenarios: list[str] = field(default_factory=list)
    rules: int = 0
    problems: list[ErrorDetail] = field(default_factory=list)
    #: the files that did not load as a ruleset: their rules are not in `rules`
    unloaded: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def sop_path(sop: str, policies: Path = POLICIES_DIR) -> Path:
    """Where the template of SOP `sop` is, or PolicyError when `sop` is no SOP id: the task engine's
    own rule (`engine.tasks.templates.sop_path`), so a reference it would refuse when opening a task
    (`../sops/SOP-X`, and then generic steps) is refused here, before publishing."""
    return templates.sop_path(sop, policies)


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
        elif p.parent.name == "tests" or looks_like_scenario(p):
            # a scenario kept anywhere else (drafts/x.yaml) is one too: read as a ruleset, it had
            # given eight problems about keys a ruleset has, none of them the scenario's
            scenarios.append(p)
        else:
            files.append(p)
            # a version in a framework's folder carries that framework's scenarios (`rules test` and
            # publishing run them): a broken one had validated clean, then stopped both
            scenarios.extend(sorted((p.parent / "tests").glob("*.yaml")) if framework_files(p.parent) else [])
    scenarios = list(dict.fromkeys(scenarios))
    practice = _practice(report, params_path)
    elsewhere: dict[ErrorDetail, list[str]] = {}
    for path in files:
        report.files.append(str(path))
        _check(report, path.read_bytes, str(path), practice=practice, policies=policies,
               params_path=params_path, today=today, elsewhere=elsewhere)
    report.problems.extend(_naming_versions(elsewhere))
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
    # a released version is its released bytes for ever (`sha256sum -c RELEASED.sha256` had been the
    # only check of a copy edited with `sed -i`)
    report.problems.extend(released_problems([i for i in loadable if Path(i.path).resolve() not in drafts]))
    in_use = _in_use(rulesets or rulesets_dir(), besides=files)
    report.problems.extend(rule_id_clashes(loadable, in_use) + prefix_clashes(loadable, in_use))
    report.problems.extend(_practice_over_time([i for i in loadable if Path(i.path).resolve() not in drafts],
                                               rulesets or rulesets_dir(), practice, params_path, today,
                                               said=set(elsewhere)))
    versions: dict[str, dict[str, LoadedRuleset]] = {}
    # a scenario names rules and parameters of its framework's versions: those checked, those of the
    # framework folder its tests/ folder is in, and (for scenarios checked alone, or kept elsewhere)
    # those in use
    beside = {p.resolve().parent.parent for p in scenarios if p.parent.name == "tests"}
    alone = not files or any(p.parent.name != "tests" for p in scenarios)
    for item in [*loadable, *(_in_use(rulesets or rulesets_dir()) if scenarios and alone else []),
                 *(i for folder in sorted(beside) for i in _versions_in(folder))]:
        versions.setdefault(item.spec.framework, {}).setdefault(str(Path(item.path).resolve()), item)
    for path in scenarios:
        report.scenarios.append(str(path))
        report.problems.extend(scenario_problems(path, {fw: list(v.values()) for fw, v in versions.items()}))
    report.problems[:] = list(dict.fromkeys(report.problems))  # each once
    return report


def validate_bytes(draft: bytes, name: str, *, policies: Path | None = None, params_path: Path | None = None,
                   today: dt.date | None = None) -> ValidationReport:
    """Validate a draft held in memory (a REST body, the web editor, a preview) exactly as
    `validate_paths` validates a file: format, expressions, parameters with the practice's
    overrides, SOP templates."""
    report = ValidationReport(files=[name])
    practice = _practice(report, params_path)
    elsewhere: dict[ErrorDetail, list[str]] = {}
    _check(report, lambda: draft, name, practice=practice,
           policies=policies or policies_dir(), params_path=params_path, today=today, elsewhere=elsewhere)
    report.problems.extend(_naming_versions(elsewhere))
    try:
        loaded = [load_ruleset_bytes(draft, name)]
    except VigilError:
        loaded = []  # reported by _check above
    in_use = _in_use(rulesets_dir())
    report.problems.extend(rule_id_clashes(loaded, in_use) + prefix_clashes(loaded, in_use))
    return report


def _practice(report: ValidationReport, params_path: Path | None) -> dict[str, Any]:
    """The practice's values, each problem of the file said in `report`: an unknown framework or a
    dated entry that does not read is left out, and the other values are still checked against the
    rulesets (an unknown `gdpr:` had hidden every other problem of the file)."""
    try:
        practice, problems = read_practice_params(params_path)
    except VigilError as exc:  # not a file of values at all
        report.problems.extend(exc.details)
        return {}
    report.problems.extend(problems)
    return practice


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


def _versions_in(folder: Path) -> list[LoadedRuleset]:
    """The versions in a framework's folder that load (their own validation says why others do not)."""
    out = []
    for path in framework_files(folder) if folder.is_dir() else []:
        try:
            out.append(load_ruleset_file(path))
        except VigilError:
            pass
    return out


def _naming_versions(elsewhere: dict[ErrorDetail, list[str]]) -> list[ErrorDetail]:
    """Each problem found outside the version checked (in practice.yaml) once, naming the versions it
    was found checking: with two versions of a framework, the same line had been printed twice, with
    nothing telling them apart."""
    return [dataclasses.replace(d, reason=f"{d.reason} (checking {' and '.join(names)})")
            for d, names in elsewhere.items()]


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


def _no_rules(loaded: LoadedRuleset, label: str) -> list[ErrorDetail]:
    """A version with `rules: []`: it validated and published ("(0 rules)"), and every evaluation
    after it found nothing for the framework, without a word."""
    if loaded.spec.rules:
        return []
    return [ErrorDetail(
        reason=f"{loaded.spec.name} has no rules: a ruleset version with no rules would judge nothing, and "
               f"evaluations would report no {loaded.spec.framework} findings without a word. Nor would it retire "
               f"{loaded.spec.framework}: Vigil has no way to yet (withdrawing the last version in force is refused, "
               "and a version's effective_to puts the version before it back in force; docs/rulesets.md, "
               "Publishing, withdrawing and rolling back)",
        file=label, line=_top_level_line(loaded, "rules"), field="rules")]


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


def _practice_over_time(checked: list[LoadedRuleset], root: Path, practice: dict[str, Any],
                        params_path: Path | None, today: dt.date | None, *,
                        said: set[ErrorDetail]) -> list[ErrorDetail]:
    """The practice's values against the versions in force on every day from today on, withdrawals
    applied, for the frameworks checked that are in use (`catalog.practice_fit_problems`): each file
    is also compiled with today's values alone (`_check`), which had passed a rollback that put back a
    version refusing a value set for a later day. A problem `said` already (by `_check`) is not
    said again."""
    if not checked or not root.is_dir():
        return []
    source = str(params_path or practice_params_path())
    try:
        loaded = load_all(root)
    except VigilError:  # a file out of place or that does not load: said by the checks above
        return []
    day = today or clock.now().date()
    out: list[ErrorDetail] = []
    for framework in sorted({i.spec.framework for i in checked}):
        try:
            out.extend(told for bare, told, _ in practice_fit_problems(loaded, practice, source, framework, day)
                       if bare not in said)
        except VigilError as exc:  # a value that does not read is said by load_practice_params above
            out.extend(exc.details)
    return out


def _check(report: ValidationReport, content: Callable[[], bytes], label: str, *, practice: dict[str, Any],
           policies: Path, params_path: Path | None, today: dt.date | None,
           elsewhere: dict[ErrorDetail, list[str]]) -> None:
    """Every problem of one file at once: a rule whose expression is refused still has its message
    and its SOP checked (they do not depend on compiling), so fixing one mistake does not reveal the
    next; and a file whose format is refused for a key that stands alone (`severity: urgent`) has
    the rest checked as if it were mended (`loader.salvaged`), its other rules too. Only a file that
    does not read as a ruleset at all stops here. A problem in another file (practice.yaml) goes
    into `elsewhere`, with the version it was found checking."""
    source = str(params_path or practice_params_path())  # the file the values come from, wherever it is
    found: list[ErrorDetail] = []
    try:
        written = content()
        loaded = load_ruleset_bytes(written, label)
    except VigilError as exc:
        found = list(exc.details or [ErrorDetail(reason=exc.message, file=label)])
        mended = salvaged(written, label) if isinstance(exc, RulesetValidationError) else None
        if mended is None:
            report.problems.extend(found)
            report.unloaded.append(label)
            return
        loaded = mended
    else:
        found = _no_rules(loaded, label)  # of a file set aside, the rules left out say nothing of it
    found += _blank_citations(loaded, label) + _window_units(loaded, label)
    report.rules += len(loaded.spec.rules)  # the rules checked, compiled or not ("0 rules" beside a problem misled)
    values: dict[str, Any] = {}
    try:
        day = today or loaded.spec.effective_from
        values = {} if _never_takes_effect(loaded) else params_in_force(practice, loaded.spec.framework, day, source)
        values = dict(compile_for(loaded, values, source).params)
    except VigilError as exc:
        found.extend(exc.details or [ErrorDetail(reason=exc.message, file=label)])
        if any(d.file != label for d in exc.details):
            # the practice's values stopped the compiler before the rules: compile with the defaults
            # too, or the ruleset's own mistakes (a message reading a field the record lacks) hide
            # behind a line of practice.yaml until it is mended
            try:
                compile_for(loaded, {}, source)
            except VigilError as own:
                found.extend(own.details or [ErrorDetail(reason=own.message, file=label)])
    # a message the checker refused already is not compiled again: Jinja2's own words for the same
    # mistake ("No filter named 'shout'") had been said beside the checker's ("unknown filter `shout`")
    refused_messages = {d.rule_id for d in found if d.field == "message"}
    # a message the checks pass is rendered on sample records, as an evaluation renders it: what only
    # running it shows (an instant given to `round`, a macro calling itself) had stopped every evaluation
    sample_params = {name: p.default for name, p in loaded.spec.params.items()} | values
    for rule in loaded.spec.rules:
        if rule.id not in refused_messages:
            try:
                check_compiles(rule)
                found.extend(sample_problems(rule, sample_params, ruleset=loaded.spec.name, file=label))
            except VigilError as exc:
                found.extend(d if d.file else dataclasses.replace(d, file=label) for d in exc.details)
        found.extend(_sop_problems(rule, label, policies))
    found.extend(_sop_template_problems(loaded, policies))
    found.sort(key=lambda d: (d.file != label, d.line or 0, d.rule_id or "", d.field or ""))
    for d in dict.fromkeys(found):  # compiling and check_compiles both refuse a bad message: say it once
        if d.file == label:
            report.problems.append(d)
        else:
            elsewhere.setdefault(d, []).append(loaded.spec.name)


def _never_takes_effect(loaded: LoadedRuleset) -> bool:
    """Whether the version is withdrawn from its first day or before it: no practice value is ever
    applied to it, so none is checked against it (its own rules still are, with its defaults). The
    practice's value of a parameter it narrowed had been named against it after the rollback."""
    folder = Path(loaded.path).parent
    if folder.name != loaded.spec.framework:
        return False  # a draft kept elsewhere: no withdrawals file is its own
    try:
        withdrawn = withdrawals.read(folder).get(loaded.spec.version)
    except VigilError:  # a withdrawals file that does not read is said by the folder's checks
        return False
    return withdrawn is not None and withdrawn.on <= loaded.spec.effective_from


def _sop_problems(rule: RuleSpec, label: str, policies: Path) -> list[ErrorDetail]:
    """A rule's `sop` that is no SOP id, or names no template: either way the task engine would open
    the rule's tasks with generic steps."""
    line = rule.lines.get("sop", rule.line)
    try:
        path = sop_path(rule.sop, policies)
    except PolicyError as exc:  # the task engine's own words, and what to write instead
        return [ErrorDetail(
            reason=f"{exc.message}: the task engine would refuse it and open the rule's tasks with generic steps; "
                   f"write the SOP's id alone, not a path ({_sop_meant(rule.sop, policies)})",
            file=label, line=line, rule_id=rule.id, field="sop")]
    if not path.exists():
        return [ErrorDetail(reason=f"SOP {rule.sop} has no template at {path}", file=label, line=line,
                            rule_id=rule.id, field="sop")]
    return []


def _sop_template_problems(loaded: LoadedRuleset, policies: Path) -> list[ErrorDetail]:
    """The problems of each SOP template the version's rules name, as `vigil tasks sops` finds them
    (`engine.tasks.sop_checks`: front matter, owner role, the fields its template reads, a render
    for a sample finding), each naming the SOP's file and the rules that use it. Said once however
    many versions name the SOP (they are problems of the policies, not of the version). A broken
    template had validated and published, and every task of its rules was opened with generic steps."""
    users: dict[str, list[str]] = {}
    for rule in loaded.spec.rules:
        try:
            if sop_path(rule.sop, policies).is_file():
                users.setdefault(rule.sop, []).append(rule.id)
        except PolicyError:
            continue  # said by _sop_problems
    out = []
    for sop, rules in sorted(users.items()):
        path = sop_path(sop, policies)
        roles = policies / "roles.yaml"
        for d in _sop_checked(sop, str(policies), path.stat().st_mtime_ns,
                              roles.stat().st_mtime_ns if roles.is_file() else 0):
            out.append(dataclasses.replace(d, reason=f"{d.reason} (used by {', '.join(rules)})"))
    return out


@lru_cache(maxsize=512)
def _sop_checked(sop: str, policies: str, _mtime: int, _roles_mtime: int) -> tuple[ErrorDetail, ...]:
    """`sop_checks.sop_problems`, once per content of the SOP and of roles.yaml."""
    return tuple(sop_checks.sop_problems(sop, policies))


def _sop_meant(written: str, policies: Path) -> str:
    """The SOP id a path-like `sop` names when its template exists (`../sops/SOP-HIPAA-NPP.md` is
    SOP-HIPAA-NPP), else an id that has one: the hint had named SOP-ACCESS-REVOKE, which has none."""
    name = Path(written.replace("\\", "/")).name.removesuffix(".md")
    try:
        if sop_path(name, policies).exists():
            return f"sop: {name}, whose template is policies/sops/{name}.md"
    except PolicyError:
        pass
    return f"e.g. sop: {EXAMPLE_SOP}, whose template is policies/sops/{EXAMPLE_SOP}.md"

