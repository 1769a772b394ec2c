"""Which rulesets exist, which version is in force at an instant, and with which practice
parameters. Rulesets live in rulesets/<framework>/*.yaml; practice parameters in
policies/practice.yaml (effective-dated)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from engine.errors import ErrorDetail, InputError, RulesetError, RulesetSyntaxError, RulesetValidationError
from engine.rules import withdrawals
from engine.rules.compiler.compile import compile_ruleset
from engine.rules.compiler.model import CompiledRuleset
from engine.rules.loader import LoadedRuleset, StrictSafeLoader, load_ruleset_file
from engine.rules.param_history import NO_HISTORY, ParamHistory, history_of

REPO = Path(__file__).resolve().parents[2]
RULESETS_DIR = REPO / "rulesets"


def rulesets_dir() -> Path:
    """Where rulesets are read from: VIGIL_RULESETS_DIR, else the repository's rulesets/.

    A VIGIL_RULESETS_DIR naming no folder is refused, as VIGIL_POLICIES_DIR is: read as a folder of
    no rulesets, a mistyped one made every evaluation a clean "nothing found" (exit 0, an empty run
    stored, `POST /evaluations` 200), and only `vigil rules validate` had said why."""
    if not os.environ.get("VIGIL_RULESETS_DIR"):
        return RULESETS_DIR
    root = Path(os.environ["VIGIL_RULESETS_DIR"])
    if not root.is_dir():
        raise InputError(f"the rulesets folder (VIGIL_RULESETS_DIR) {root} does not exist",
                         [ErrorDetail(reason="the folder does not exist: set VIGIL_RULESETS_DIR to a folder of "
                                             "rulesets, or unset it for the installation's rulesets/",
                                             file=str(root), field="VIGIL_RULESETS_DIR")],
                         code="input.path")
    return root


def frameworks_said(known: Iterable[str]) -> str:
    """The frameworks there are, for an error message; when there are none, why (without the path,
    which an API answer must not show): `VIGIL_RULESETS_DIR=tests/fixtures/rulesets` given from
    another folder had answered "the frameworks are: " and nothing more."""
    names = sorted(set(known))
    if names:
        return ", ".join(names)
    root = rulesets_dir()
    why = "does not exist" if not root.is_dir() else "holds no ruleset files"
    setting = "VIGIL_RULESETS_DIR" if os.environ.get("VIGIL_RULESETS_DIR") else "the installation's rulesets/"
    return f"none: the rulesets folder ({setting}) {why}"


POLICIES_DIR = REPO / "policies"
PRACTICE_PARAMS = POLICIES_DIR / "practice.yaml"


def policies_dir() -> Path:
    """Where policies (SOP templates, roles, escalation) are read from: VIGIL_POLICIES_DIR, else
    the repository's policies/. The rules check SOP references there; the tasks render them."""
    if not os.environ.get("VIGIL_POLICIES_DIR"):
        return POLICIES_DIR
    root = Path(os.environ["VIGIL_POLICIES_DIR"])
    if not root.is_dir():  # a mistyped folder had been read as "no policies": 0 SOPs, all valid
        raise InputError(f"the policies folder (VIGIL_POLICIES_DIR) {root} does not exist",
                         [ErrorDetail(reason="set VIGIL_POLICIES_DIR to a folder of policies, or unset it for the "
                                             "installation's policies/", file=str(root), field="VIGIL_POLICIES_DIR")],
                         code="input.path")
    return root


def ruleset_files(root: Path = RULESETS_DIR) -> list[Path]:
    """Every ruleset file (scenario tests under */tests/ and the withdrawals files are not rulesets)."""
    return sorted(p for p in root.glob("*/*.yaml") if p.is_file() and p.name != withdrawals.FILE_NAME)


def framework_files(folder: Path) -> list[Path]:
    """The ruleset files of one framework's folder."""
    return sorted(p for p in folder.glob("*.yaml") if p.is_file() and p.name != withdrawals.FILE_NAME)


def load_all(root: Path = RULESETS_DIR) -> list[LoadedRuleset]:
    """Every ruleset version under `root`, each with its withdrawal applied; refused (naming each
    file) when a file is not where its content says it belongs (`placement_problems`)."""
    loaded = [load_ruleset_file(p) for p in ruleset_files(root)]
    problems = placement_problems(loaded)
    if problems:
        raise RulesetValidationError(f"{len(problems)} ruleset file(s) not where their content says they belong",
                                     problems, code="ruleset.placement")
    return with_withdrawals(loaded)


def placement_problems(loaded: list[LoadedRuleset]) -> list[ErrorDetail]:
    """Files that are not `<framework>/<framework>-<version>.yaml` of what they hold, and versions held
    twice. A file in one folder declaring another framework had silently replaced that framework's
    rules (and skipped every publishing check); a second file of one version was used at random."""
    problems: list[ErrorDetail] = []
    seen: dict[tuple[str, str], str] = {}
    for item in loaded:
        path = Path(item.path)
        framework, version = item.spec.framework, item.spec.version
        if path.parent.name != framework:
            problems.append(ErrorDetail(reason=f"declares framework {framework!r} but lies in the folder "
                                               f"{path.parent.name!r}: a framework's versions live in "
                                               f"rulesets/{framework}/", file=str(path), field="framework"))
        elif path.name != f"{framework}-{version}.yaml":
            problems.append(ErrorDetail(reason=f"holds version {version}: name the file {framework}-{version}.yaml "
                                               "(a version number names one file for ever)", file=str(path),
                                        field="version"))
        first = seen.setdefault((framework, version), str(path))
        if first != str(path):
            problems.append(ErrorDetail(reason=f"{framework} {version} is also in {first}: a version is one file",
                                        file=str(path), field="version"))
    return problems


def with_withdrawals(loaded: list[LoadedRuleset]) -> list[LoadedRuleset]:
    """Apply each framework folder's withdrawals to the versions loaded from it."""
    by_folder: dict[Path, dict[str, withdrawals.Withdrawal]] = {}
    out = []
    for item in loaded:
        folder = Path(item.path).parent
        if folder not in by_folder:
            by_folder[folder] = withdrawals.read(folder)
        found = by_folder[folder].get(item.spec.version)
        out.append(item.withdrawn(found) if found is not None else item)
    return out


def version_key(version: str) -> tuple[int, ...]:
    """A semantic version as numbers, so 2026.10.0 sorts after 2026.2.0."""
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
        if not item.in_force(day):
            continue
        cur = best.get(spec.framework)
        if cur is None or (spec.effective_from, version_key(spec.version)) > (
            cur.spec.effective_from,
            version_key(cur.spec.version),
        ):
            best[spec.framework] = item
    return [best[k] for k in sorted(best)]


#: The top-level keys a practice parameter file may have.
PRACTICE_KEYS = ("params",)


def practice_params_path() -> Path:
    """Where the practice parameters are read from and written to: VIGIL_PRACTICE_PARAMS, else
    practice.yaml in the policies directory (`policies_dir`). A server pointed at its own
    policies with VIGIL_POLICIES_DIR had still read, and written, the repository's file.

    A VIGIL_PRACTICE_PARAMS whose folder does not exist, or that names a folder, is refused (it can
    be neither read nor written); a file not there yet is the defaults, and the first change made
    (`vigil params set`, the liaison's pages) creates it. Commands that only read refuse a missing
    file too (`require_practice_params`)."""
    if not os.environ.get("VIGIL_PRACTICE_PARAMS"):
        return policies_dir() / PRACTICE_PARAMS.name
    path = Path(os.environ["VIGIL_PRACTICE_PARAMS"])
    if path.is_dir() or not path.parent.is_dir():
        why = "is a folder" if path.is_dir() else f"is in a folder that does not exist ({path.parent})"
        raise InputError(f"the practice parameters file (VIGIL_PRACTICE_PARAMS) {path} {why}",
                         [ErrorDetail(reason="set VIGIL_PRACTICE_PARAMS to a YAML file, or unset it for "
                                             "practice.yaml in the policies folder", file=str(path),
                                      field="VIGIL_PRACTICE_PARAMS")], code="input.path")
    return path


def require_practice_params() -> Path:
    """`practice_params_path`, and a file VIGIL_PRACTICE_PARAMS names must exist: for the commands
    that only read the parameters (`vigil evaluate`, `vigil params list`, the scheduler), where a
    mistyped name had silently meant the defaults. (The default practice.yaml may be absent.)"""
    path = practice_params_path()
    if os.environ.get("VIGIL_PRACTICE_PARAMS") and not path.is_file():
        raise InputError(f"the practice parameters file (VIGIL_PRACTICE_PARAMS) {path} does not exist",
                         [ErrorDetail(reason="set VIGIL_PRACTICE_PARAMS to an existing YAML file (an empty one "
                                             "means the defaults), or unset it", file=str(path),
                                      field="VIGIL_PRACTICE_PARAMS")], code="input.path")
    return path


def load_practice_params(path: Path | None = None, *, frameworks: Iterable[str] | None = None) -> dict[str, Any]:
    """Read the practice parameter file (empty when it does not exist), refusing it naming every
    problem `read_practice_params` finds.

    A key the file may not have is refused, not ignored: a misspelt top-level key (`parms:`) or
    framework (`params: {hippa: ...}`) would leave the practice's override unapplied while every
    evaluation looked normal. The frameworks are those of `frameworks` (default: the rulesets in
    use) and of the rulesets shipped with Vigil, so one file serves both."""
    path = path or practice_params_path()
    params, problems = read_practice_params(path, frameworks=frameworks)
    if problems:
        strange = [d.field.removeprefix("params.") for d in problems
                   if d.field and d.field.startswith("params.") and d.reason.startswith("no ruleset for framework")]
        if strange:
            raise RulesetValidationError(
                f"{path}: unknown framework{'s' if len(strange) > 1 else ''} under params: "
                f"{', '.join(map(repr, strange))}", problems, code="ruleset.params.unknown_framework")
        raise RulesetValidationError(f"{path}: invalid dated values", problems, code="ruleset.params.invalid")
    return params


def read_practice_params(path: Path | None = None, *, frameworks: Iterable[str] | None = None
                         ) -> tuple[dict[str, Any], list[ErrorDetail]]:
    """The practice parameter file's values and what is wrong with them, each problem once: an unknown
    framework and the dated entries that do not read are named and left out of the values, so the
    values of the other frameworks can still be checked against their rulesets (`rules validate`,
    `params list` and `vigil evaluate` name every problem at once). An unknown framework (`gdpr:`)
    had hidden four problems of hipaa's values, and a dated entry's `form:` their value errors.

    A file that is not a mapping of frameworks under `params:` at all is refused at once: nothing
    in it can be read as a value."""
    path = path or practice_params_path()
    if not path.exists():
        return {}, []
    try:
        raw = yaml.load(path.read_text(), Loader=StrictSafeLoader) or {}  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise RulesetSyntaxError(
            f"{path}: not valid YAML",
            [ErrorDetail(reason=str(exc.problem), file=str(path), line=mark.line + 1 if mark else None)],
        ) from None
    if not isinstance(raw, dict):
        raise RulesetValidationError(
            f"{path}: expected a mapping with params:",
            [ErrorDetail(reason=f"the file is a {type(raw).__name__}, not a mapping", file=str(path))],
        )
    unknown = [str(k) for k in raw if k not in PRACTICE_KEYS]
    if unknown:
        raise RulesetValidationError(
            f"{path}: unknown top-level key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}",
            [ErrorDetail(reason=f"unknown key {k!r}{_near(k, PRACTICE_KEYS)}; the allowed top-level keys are: "
                                f"{', '.join(PRACTICE_KEYS)}", file=str(path), field=k) for k in unknown],
            code="ruleset.params.unknown_key",
        )
    params = raw.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise RulesetValidationError(
            f"{path}: expected a mapping under params:",
            [ErrorDetail(reason="params must map framework -> parameter -> value", file=str(path))],
        )
    known = set(frameworks if frameworks is not None else _frameworks(rulesets_dir()))
    if any(fw not in known for fw in params):
        known |= _frameworks(RULESETS_DIR)
    problems = [ErrorDetail(reason=f"no ruleset for framework {fw!r}{_near(str(fw), known)}; the frameworks are: "
                                   f"{', '.join(sorted(known))}", file=str(path), field=f"params.{fw}")
                for fw in params if fw not in known]
    values: dict[str, Any] = {}
    for fw, section in params.items():
        if fw not in known:
            continue
        if isinstance(section, dict):
            found = dated_problems(section, str(fw), str(path))
            problems.extend(found)
            section = _readable(section, str(fw), str(path)) if found else section
        values[fw] = section
    return values, problems


def _readable(section: Mapping[str, Any], framework: str, source: str) -> dict[str, Any]:
    """The section without the dated entries whose days do not read (their problem is said): the
    other values are still checked."""
    out: dict[str, Any] = {}
    for name, value in section.items():
        if is_dated(value):
            kept = []
            for entry in value:
                try:
                    _date(entry.get("from"), source, f"{framework}.{name}.from")
                    _date(entry.get("to"), source, f"{framework}.{name}.to")
                except RulesetValidationError:
                    continue
                kept.append(entry)
            if kept:
                out[name] = kept
        else:
            out[name] = value
    return out


def _frameworks(root: Path) -> set[str]:
    return {item.spec.framework for item in load_all(root)} if root.is_dir() else set()


def _near(value: str, choices: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(value, sorted(choices), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


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
        if is_dated(value):
            chosen = entry_in_force(value, day, source, f"{framework}.{name}")
            if chosen is not None:
                out[name] = chosen["value"]
        else:
            out[name] = value
    return out


def is_dated(value: Any) -> bool:
    """Whether a practice value is a list of effective-dated entries ({value, from[, to, ...]})."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and "value" in v for v in value)


def entry_in_force(entries: list[dict[str, Any]], day: dt.date, source: str, key: str) -> dict[str, Any] | None:
    """The entry in force on `day`: among those whose [from, to) covers it, the latest to start."""
    chosen: tuple[dt.date | None, dict[str, Any]] | None = None
    for entry in entries:
        start = _date(entry.get("from"), source, f"{key}.from")
        end = _date(entry.get("to"), source, f"{key}.to")
        if (start is None or start <= day) and (end is None or day < end):
            if chosen is None or (start or dt.date.min) >= (chosen[0] or dt.date.min):
                chosen = (start, entry)
    return chosen[1] if chosen is not None else None


#: The keys an entry of a dated practice value may have (`vigil params set` writes all but `to`).
DATED_KEYS = ("value", "from", "to", "approved_by", "reason")


def dated_problems(section: Mapping[str, Any], framework: str, source: str) -> list[ErrorDetail]:
    """What is wrong with the dated values of one framework's section: an entry with an unknown key
    (`form:` for `from:` had dropped the date, so the value applied on every day, past ones included),
    no value, a date that does not read, two entries from one day, or a `to` not after its `from`."""
    out: list[ErrorDetail] = []
    for name, value in section.items():
        if not (isinstance(value, list) and any(isinstance(e, dict) and "value" in e for e in value)):
            continue  # a plain value (a list parameter's list included)
        starts: dict[dt.date | None, int] = {}
        for i, entry in enumerate(value):
            where = f"{framework}.{name}[{i}]"
            if not isinstance(entry, dict) or "value" not in entry:
                out.append(ErrorDetail(reason="each entry of a dated value reads {value: V, from: YYYY-MM-DD} (to, "
                                              "approved_by and reason may follow)", file=source, field=where))
                continue
            out.extend(ErrorDetail(reason=f"unknown key {k!r}{_near(str(k), DATED_KEYS)}; an entry has "
                                          f"{', '.join(DATED_KEYS)}", file=source, field=f"{where}.{k}")
                       for k in entry if k not in DATED_KEYS)
            try:
                start, end = _date(entry.get("from"), source, f"{where}.from"), _date(entry.get("to"), source,
                                                                                       f"{where}.to")
            except RulesetValidationError as exc:
                out.extend(exc.details)
                continue
            if start in starts:
                out.append(ErrorDetail(reason=f"entries {starts[start]} and {i} both start "
                                              f"{'on ' + str(start) if start else 'with no from'}: keep one",
                                       file=source, field=where))
            starts.setdefault(start, i)
            if start is not None and end is not None and end <= start:
                out.append(ErrorDetail(reason=f"to {end} is not after from {start}", file=source, field=f"{where}.to"))
    return out


def check_dated(section: Mapping[str, Any], framework: str, source: str) -> None:
    """Raise naming every problem `dated_problems` finds."""
    problems = dated_problems(section, framework, source)
    if problems:
        raise RulesetValidationError(f"{source}: invalid dated values under params.{framework}", problems,
                                     code="ruleset.params.invalid")


def entry_bounds(entries: list[dict[str, Any]], source: str, key: str) -> set[dt.date]:
    """The days on which an entry of a dated value starts or ends: the only days its value can change."""
    return {day for entry in entries for end in ("from", "to")
            if (day := _date(entry.get(end), source, f"{key}.{end}")) is not None}


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


_COMPILED: dict[tuple[str, str, str, frozenset[str] | None, str], CompiledRuleset] = {}


def compile_for(loaded: LoadedRuleset, overrides: Mapping[str, Any], source: str,
                on: dt.date | None = None, history: ParamHistory = NO_HISTORY) -> CompiledRuleset:
    """Compile once per (file content, parameter values, rules in force, parameter history):
    evaluation never re-parses YAML. With `on`, only the rules in force that day (see
    `compile_ruleset`). The compiled object lives as long as the cache: the Python backend keys its
    own steps by the object's identity."""
    in_force_ids = None if on is None else frozenset(r.id for r in loaded.spec.rules if r.in_force(on))
    if in_force_ids is not None and len(in_force_ids) == len(loaded.spec.rules):
        on, in_force_ids = None, None  # every rule: the same compilation as without a day
    key = (loaded.path, loaded.sha256, json.dumps(overrides, sort_keys=True, default=str), in_force_ids,
           history.key() if history else "")
    if key not in _COMPILED:
        compiled = compile_ruleset(loaded, dict(overrides), overrides_source=source, on=on)
        _COMPILED[key] = dataclasses.replace(compiled, history=history) if history else compiled
    return _COMPILED[key]


def require_frameworks(frameworks: Iterable[str], loaded: list[LoadedRuleset] | None = None, *,
                       field: str = "framework") -> None:
    """Raise InputError naming every framework that has no ruleset in any version (under `field`,
    the name the caller gave them: `frameworks` in an evaluation's body)."""
    loaded = load_all(rulesets_dir()) if loaded is None else loaded
    known = sorted({item.spec.framework for item in loaded})
    unknown = [fw for fw in frameworks if fw not in known]
    if unknown:
        raise InputError(
            f"unknown framework{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}",
            [ErrorDetail(reason=f"no ruleset for {fw!r}; the frameworks are: {frameworks_said(known)}", field=field)
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
    loaded = load_all(root or rulesets_dir())
    raw = load_practice_params(params_path, frameworks={item.spec.framework for item in loaded})
    source = str(params_path or practice_params_path())
    if frameworks is not None:
        frameworks = list(frameworks)
        require_frameworks(frameworks, loaded)
    out = []
    for item in in_force(loaded, day, frameworks):
        overrides = params_in_force(raw, item.spec.framework, day, source)
        history = history_of(item.spec, raw.get(item.spec.framework) or {}, source, versions=loaded)
        out.append(compile_for(item, overrides, source, on=day, history=history))
    return out


def practice_fit_problems(loaded: list[LoadedRuleset], raw: Mapping[str, Any], source: str, framework: str,
                          start: dt.date) -> list[tuple[ErrorDetail, ErrorDetail, dt.date]]:
    """Why the practice's values of `framework` would stop some evaluation from `start` on: each day
    the version in force or a dated value changes is compiled with the values in force then, and each
    problem is said once: (as the compiler said it, with the day and version it was first met on,
    that day).

    Why every such day: a rollback put back a version that does not declare a parameter the practice
    had set for the withdrawn one, and every evaluation from that day on was refused, while
    `rules validate`, which compiled each version with today's values, said all was well."""
    from engine.rules import versions

    days = set(versions.change_days(loaded, framework, start))
    section = raw.get(framework) or {}
    for value in section.values() if isinstance(section, dict) else ():
        if is_dated(value):
            for entry in value:
                for key in ("from", "to"):
                    when = entry.get(key)
                    day = when if isinstance(when, dt.date) else _date_or_none(when)
                    if day is not None and day > start:
                        days.add(day)
    problems: dict[ErrorDetail, tuple[ErrorDetail, dt.date]] = {}  # each problem, as first met, and that day
    for day in sorted(days):
        chosen = in_force(loaded, day, [framework])
        if not chosen:
            continue
        try:
            compile_for(chosen[0], params_in_force(raw, framework, day, source), source, on=day)
        except RulesetError as exc:
            for d in exc.details or [ErrorDetail(reason=exc.message, file=source)]:
                problems.setdefault(d, (dataclasses.replace(
                    d, reason=f"{d.reason} (from {day}, when {framework} {chosen[0].spec.version} is in force)"), day))
    return [(bare, said, day) for bare, (said, day) in problems.items()]


def _date_or_none(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value is not None else None
    except ValueError:
        return None  # said by dated_problems


def check_practice_params(day: dt.date, *, frameworks: Iterable[str] | None = None, params_path: Path | None = None,
                          root: Path | None = None) -> None:
    """Refuse practice parameters that the versions in force on `day` cannot take, naming every problem.

    The check `vigil evaluate` makes first (the compilation of `compile_in_force`, cached), but
    collected over every framework instead of stopping at the first: a view of the parameters must
    not show as in force a value no evaluation would accept, and one refusal names every fix."""
    loaded = load_all(root or rulesets_dir())
    # read leniently: an unknown framework or an unreadable dated entry is named with the values the
    # rulesets refuse, not instead of them
    raw, problems = read_practice_params(params_path, frameworks={item.spec.framework for item in loaded})
    source = str(params_path or practice_params_path())
    for item in in_force(loaded, day, frameworks):
        try:
            compile_for(item, params_in_force(raw, item.spec.framework, day, source), source, on=day)
        except RulesetError as exc:
            problems.extend(exc.details or [ErrorDetail(reason=exc.message, file=source)])
    if problems:
        raise RulesetValidationError(f"{source}: invalid practice parameters", problems,
                                     code="ruleset.params.invalid")
