"""`vigil rules ...`: validate, test, list, show, diff, preview, publish, withdraw and document rulesets."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from engine import clock
from engine.cli import tables
from engine.cli.app import app, console, emit_json, err_console, run
from engine.cli.common import (
    DbOpt,
    JsonOpt,
    OrgOpt,
    cli_actor,
    framework_option,
    json_flag,
    open_org,
    out_dir,
    parse_date,
    parse_instant,
)
from engine.errors import ErrorDetail, InputError, VigilError
from engine.rules.catalog import framework_files, rulesets_dir, version_key

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from engine.rules.publish import Unstaged
    from engine.rules.versions import RulesetVersion

rules_app = typer.Typer(help="Rulesets: validate, test, list, show, diff, preview, publish, withdraw, rollback, docs, "
                        "oscal.",
                        no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@rules_app.command("validate")
def validate(
    paths: list[Path] = typer.Argument(None, exists=True, help="ruleset files or folders (default: the rulesets "
                                                               "folder in use, VIGIL_RULESETS_DIR or rulesets/)"),
    db: str | None = typer.Option(None, "--db", help="also check the rulesets in use against this database's "
                                                     "publications and runs (default: $DATABASE_URL, if set)"),
    org: OrgOpt = None,
    as_json: bool = json_flag("print the report as JSON"),
) -> None:
    """Check schema, expressions, parameters, SOP references, a released version's bytes, and the
    scenario files' records, as_of and rule ids (without running them: `vigil rules test` runs them).
    With a database, also each version of the rulesets in use against its publication and the runs
    that used it (`engine.ruleset_integrity`)."""
    from engine.rules.validate import validate_paths

    def body() -> None:
        targets = paths or [_rulesets_in_use()]
        _require_rulesets(targets)
        report = validate_paths(targets)
        url = db or os.environ.get("DATABASE_URL")
        if url:
            report.problems[:] = list(dict.fromkeys(report.problems + _drift_problems(url, org, targets)))
        if as_json:
            emit_json(
                {
                    "ok": report.ok,
                    "files": report.files,
                    "scenarios": report.scenarios,
                    "rules": report.rules,
                    "unloaded": report.unloaded,
                    "problems": [d.to_dict() for d in report.problems],
                }
            )
        else:
            for d in report.problems:
                err_console.print(f"[red]✗[/] {escape(str(d))}", highlight=False)  # `[x for x ...]` is no markup
            console.print(f"{_files_said(report.files, report.unloaded, report.rules)}, {len(report.scenarios)} "
                          f"scenario file(s), {len(report.problems)} problem(s)", highlight=False, markup=False,
                          soft_wrap=True)
        if not report.ok:
            raise typer.Exit(code=2)

    run(body)


def _files_said(files: list[str], unloaded: list[str], rules: int) -> str:
    """`5 ruleset file(s), 70 rules`, and which did not load: a file refused before its rules were
    read had been summed up as "0 rules", as if it held none."""
    if not unloaded:
        return f"{len(files)} ruleset file(s), {rules} rules"
    if len(unloaded) == len(files) == 1:
        return "1 ruleset file, which did not load (its rules were not checked)"
    if len(unloaded) == len(files):
        return f"{len(files)} ruleset files, none of which loaded (their rules were not checked)"
    return (f"{len(files)} ruleset file(s), {len(unloaded)} of which did not load (their rules were not checked), "
            f"{rules} rules in the others")


@rules_app.command("test")
def test(
    paths: list[Path] = typer.Argument(None, exists=True, help="scenario files, ruleset folders, or a ruleset draft "
                                                               "to run its framework's scenarios with (default: "
                                                               "every scenario of the rulesets folder in use)"),
    backend: list[str] = typer.Option(["python", "durable"], "--backend", help="backends to compare"),
    as_json: bool = json_flag("print passed, failed and every result as JSON"),
) -> None:
    """Run ruleset scenarios on both backends; report like a test runner.

    A scenario is judged by the rulesets of the folder it lives in (<rulesets>/<framework>/tests/), as
    it carries that version's tests; one from elsewhere by the rulesets folder in use. A ruleset draft
    (a version not yet published) runs its framework's scenarios with the draft in place, as
    publishing will, writing nothing."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        run(lambda: _test(paths, backend, as_json, stack))


def _test(paths: list[Path] | None, backend: list[str], as_json: bool, stack: Any) -> None:
    from engine.errors import RulesetValidationError
    from engine.rules.publish import unstaged
    from engine.rules.scenarios import run_scenario, scenario_file_problems, scenario_files

    bad = sorted(set(backend) - {"python", "durable"})
    if bad:
        raise InputError(f"--backend must be python or durable, not {', '.join(map(repr, bad))}")
    files: list[tuple[Path, Path]] = []  # (scenario, the rulesets folder it runs against)
    empty: list[Path] = []
    labels: dict[Path, str] = {}  # a staged scenario as the person knows it
    unstage: list[Unstaged] = []  # what says a staged copy's paths as the files they copy
    for p in paths or [_rulesets_in_use()]:
        if p.is_file() and _is_draft(p):
            staged = _staged_draft(p, stack)
            unstage.append(unstaged(staged, str(p), _rulesets_in_use()))
            found = sorted((staged.parent / "tests").glob("*.yaml"))
            for f in found:
                labels[f] = f"{staged.parent.name}/tests/{f.name} (with {p})"
            files.extend((f, staged.parent.parent) for f in found)
            if not found:
                empty.append(p)
        elif p.is_dir() and p.resolve().name == "tests" and any(p.glob("*.yaml")):
            # a framework's tests folder itself: each scenario runs as it would from its framework
            files.extend((f, _scenario_root(f)) for f in sorted(p.glob("*.yaml")))
        elif p.is_dir():
            own = sorted(p.glob("tests/*.yaml"))  # a framework's folder, else a rulesets folder
            found = own or scenario_files(p)
            root = p.resolve().parent if own else p.resolve()
            files.extend((f, root) for f in found)
            if not found:
                empty.append(p)
        else:
            files.append((p, _scenario_root(p)))
    if empty:
        raise InputError("no scenario to run in " + ", ".join(map(str, empty)),
                         [ErrorDetail(reason="a folder needs *.yaml scenarios in a tests folder: tests/*.yaml, "
                                             "*/tests/*.yaml or the tests folder itself", file=str(p))
                          for p in empty], code="input.no_scenarios")
    # every file's format, records and instants first, all said at once (exit 2): a misspelt key had
    # stopped the run with a traceback, or been ignored and let a failing case pass
    problems = [dataclasses.replace(d, file=labels.get(Path(d.file), d.file)) if d.file else d
                for f, _ in files for d in scenario_file_problems(f)]
    if problems:
        broken = len({d.file for d in problems})
        raise RulesetValidationError(f"{broken} scenario file{'s' if broken > 1 else ''} cannot be run; nothing "
                                     "was run",
                                     problems, code="ruleset.scenario.invalid")
    results = []
    for f, root in files:
        try:
            cases = list(run_scenario(f, root=root, backends=tuple(backend)))
        except VigilError as exc:  # said of the files the person knows, never of a staged copy
            for real in unstage:
                exc = real.error(exc)
            raise exc from None
        for r in cases:
            for real in unstage:  # a case of a draft's scenarios names the scenario, not its copy
                r.scenario, r.problems = real.path(r.scenario), [real.path(t) for t in r.problems]
            results.append(r)
            if not as_json:
                mark = "[green]✓[/]" if r.ok else "[red]✗[/]"
                shown = labels.get(f) or (f.relative_to(Path.cwd()) if f.is_absolute() and Path.cwd() in f.parents
                                          else f)
                console.print(f"{mark} {escape(str(shown))} case {r.case} as of {r.as_of}", highlight=False)
                for problem in r.problems:
                    console.print(f"    {problem}", highlight=False, markup=False)
    passed = sum(r.ok for r in results)
    failed = len(results) - passed
    if as_json:
        emit_json({"passed": passed, "failed": failed, "results": [r.__dict__ for r in results]})
    else:
        console.print(f"{passed} passed, {failed} failed")
    if failed:
        raise typer.Exit(code=1)


def _drift_problems(url: str, org: str | None, targets: list[Path]) -> list[ErrorDetail]:
    """What the database says of the rulesets in use that the files alone cannot: a version edited
    since its `ruleset.published` entry or since runs used it, or placed by hand over days runs have
    judged. Only when a target is (in) the rulesets folder in use: a draft elsewhere has no record."""
    from engine.db import unit_of_work
    from engine.ruleset_integrity import drifts

    root = _rulesets_in_use().resolve()
    if not any(t.resolve() == root or t.resolve().is_relative_to(root) for t in targets):
        return []
    engine, org_id = open_org(url, org)
    with unit_of_work(engine) as session:
        return [d.detail for d in drifts(session, org_id=org_id)]


def _is_draft(path: Path) -> bool:
    """A ruleset file given to `rules test` (a version to try before publishing), not a scenario: it
    had been read as a scenario ("0: Input should be a valid string", twenty times)."""
    from engine.rules.scenarios import looks_like_scenario

    return path.resolve().parent.name != "tests" and not looks_like_scenario(path)


def _staged_draft(path: Path, stack: Any) -> Path:
    """The draft at `path` written, as if published, into a copy of its framework's folder of the
    rulesets in use (kept until `stack` closes). A draft that does not load, or that publishing would
    refuse as `rules validate` does, is refused with every problem before any case runs (exit 2),
    each said of the draft or of the scenario it is in: 146 cases had passed first, then the run
    stopped naming /tmp/vigil-publish-.../hipaa/hipaa-2026.3.0.yaml."""
    from engine.errors import RulesetValidationError
    from engine.rules.loader import load_ruleset_bytes
    from engine.rules.publish import staged_in_place, staged_problems, unix_lines
    from engine.rules.validate import validate_bytes

    content = unix_lines(path.read_bytes())
    try:
        loaded = load_ruleset_bytes(content, str(path))
    except RulesetValidationError as exc:  # every problem, as `rules validate` says them
        raise RulesetValidationError(f"{path}: the draft does not load; nothing was run",
                                     list(dict.fromkeys([*exc.details, *validate_bytes(content, str(path)).problems])),
                                     code="ruleset.draft.invalid") from None
    staged = Path(stack.enter_context(staged_in_place(loaded, _rulesets_in_use())))
    problems = staged_problems(staged, str(path), _rulesets_in_use())
    if problems:
        raise RulesetValidationError(f"{path}: the draft does not validate; nothing was run", problems,
                                     code="ruleset.draft.invalid")
    return staged


@rules_app.command("list")
def list_rules(
    framework: str = typer.Option(None, "--framework", help="only this framework, e.g. hipaa"),
    on: str = typer.Option(None, "--on", help="say where each version stands on this day, YYYY-MM-DD (default "
                                              "today)"),
    as_json: bool = json_flag("print one object per rule and version as JSON"),
) -> None:
    """List every rule of every ruleset version, with where the version stands on a day (in force,
    scheduled, superseded, ended or withdrawn; today unless --on says another) and its effective dates."""
    from engine.rules.catalog import load_all
    from engine.rules.versions import list_versions

    def body() -> None:
        rows: list[dict[str, str | bool | None]] = []
        day = parse_date(on, "--on")
        named = framework_option(framework)
        loaded_all = load_all(_rulesets_in_use())  # a mistyped VIGIL_RULESETS_DIR had listed nothing
        versions = {(v.framework, v.version): v for v in list_versions(day, loaded=loaded_all)}
        status_on = (day or clock.now().date()).isoformat()
        for loaded in loaded_all:
            s = loaded.spec
            if named and s.framework != named:
                continue
            v = versions[(s.framework, s.version)]
            for r in s.rules:
                ends = r.effective_to or s.effective_to
                rows.append(  # JSON types as `rules show` gives them: dates as ISO text, advisory a boolean
                    {
                        "framework": s.framework,
                        "version": s.version,
                        "status": v.status,  # the version's, on --on's day or today's (as GET /rulesets gives it)
                        "status_on": status_on,
                        "effective_from": s.effective_from.isoformat(),
                        "effective_to": _iso(s.effective_to),
                        "withdrawn_on": _iso(v.withdrawn_on),
                        "withdrawal_reason": v.withdrawal_reason,
                        "superseded_by": v.superseded_by,
                        "superseded_on": _iso(v.superseded_on),
                        "rule_effective_from": (r.effective_from or s.effective_from).isoformat(),
                        "rule_effective_to": ends.isoformat() if ends else None,
                        "rule_id": r.id,
                        "title": r.title,
                        "severity": r.severity,
                        "kind": r.kind,
                        "advisory": r.advisory,
                        "citation": r.citation,
                        "sop": r.sop,
                    }
                )
        if as_json:
            emit_json(rows)
            return
        listing = tables.table(tables.keep("framework\nversion"), tables.keep("status"), tables.keep("from\nto"),
                               tables.keep("rule\nseverity"), tables.squeeze("title"),
                               title=f"status on {status_on}" if day is not None else None)
        for row in rows:
            status = str(row["status"]) + (f"\n{row['withdrawn_on']}" if row["withdrawn_on"] else "")
            listing.add_row(tables.stacked(str(row["framework"]), str(row["version"])), tables.stacked(status),
                            tables.stacked(str(row["effective_from"]), _text(row["effective_to"]) if row["effective_to"]
                                           or not row["superseded_on"]
                                           else f"{row['superseded_on']} ({row['superseded_by']})"),
                            tables.stacked(str(row["rule_id"]), str(row["severity"])),
                            tables.Clamp(str(row["title"]), 2))
        console.print(listing)

    run(body)


@rules_app.command("show")
def show(
    rule_id: str = typer.Argument(..., help="the rule id, e.g. HIPAA-BRN-IND-011"),
    version: str = typer.Option(None, "--version", help="as written in this version of its ruleset, e.g. 2026.1.0 "
                                                        "(default: the newest version not withdrawn)"),
    as_json: bool = json_flag("print the rule as JSON without colour"),
) -> None:
    """Show one rule as written in a version of its ruleset, and which version that is: by default the
    newest that holds the rule and is not withdrawn (a withdrawn one only when no other holds it)."""
    from engine.errors import NotFoundError
    from engine.rules.catalog import load_all
    from engine.rules.versions import list_versions

    def body() -> tuple[dict[str, object], RulesetVersion, list[RulesetVersion]]:
        loaded_all = load_all(_rulesets_in_use())  # a mistyped VIGIL_RULESETS_DIR had listed nothing
        versions = {(v.framework, v.version): v for v in list_versions(loaded=loaded_all)}
        holding = sorted(((item, r) for item in loaded_all for r in item.spec.rules if r.id == rule_id),
                         key=lambda x: (x[0].spec.effective_from, version_key(x[0].spec.version)), reverse=True)
        if not holding:
            raise NotFoundError(f"no rule {rule_id}")
        held = [versions[(item.spec.framework, item.spec.version)] for item, _ in holding]
        if version is not None:
            chosen = [(item, r) for item, r in holding if item.spec.version == version]
            if not chosen:
                raise InputError(f"--version: {rule_id} is not in version {version!r}",
                                 [ErrorDetail(reason=f"the versions holding {rule_id} are: "
                                                     f"{', '.join(_named(v) for v in held)}")],
                                 code="input.version")
        else:
            chosen = [x for x, v in zip(holding, held, strict=True) if v.status != "withdrawn"] or holding
        item, r = chosen[0]
        data: dict[str, object] = r.model_dump(mode="json", exclude_none=True)
        data["ruleset"] = item.spec.name
        shown = versions[(item.spec.framework, item.spec.version)]
        data["ruleset_version"] = _version_json(shown)
        return data, shown, [v for v in held if v is not shown]

    data, shown, others = run(body)
    if as_json:
        emit_json(data)
        return
    console.print(f"{rule_id} as written in {shown.framework} {shown.version}: {_standing(shown)}",
                  highlight=False, markup=False, soft_wrap=True)
    if others:
        console.print(f"also in: {', '.join(_named(v) for v in others)} (--version to see one)",
                      highlight=False, markup=False, soft_wrap=True)
    console.print_json(json.dumps(data))


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _text(value: object) -> str:
    return "-" if value is None else str(value)


def _named(v: RulesetVersion) -> str:
    return f"{v.version} ({v.status})"


def _version_json(v: RulesetVersion) -> dict[str, object]:
    """Which ruleset version a rule is shown from, and where it stands today (as `rules list` says)."""
    return {"framework": v.framework, "version": v.version, "status": v.status,
            "effective_from": v.effective_from.isoformat(), "effective_to": _iso(v.effective_to),
            "withdrawn_on": _iso(v.withdrawn_on), "withdrawal_reason": v.withdrawal_reason,
            "superseded_by": v.superseded_by, "superseded_on": _iso(v.superseded_on)}


def _standing(v: RulesetVersion) -> str:
    """`in force, effective 2026-01-01 to 2027-01-01` and the withdrawal, for a person."""
    out = f"{v.status}, effective {v.effective_from}" + (f" to {v.effective_to}" if v.effective_to else "")
    if v.superseded_on is not None:
        out += f"; {v.superseded_by} takes over from {v.superseded_on}"
    if v.withdrawn_on is not None:
        out += f"; withdrawn from {v.withdrawn_on}: {v.withdrawal_reason}"
    return out


@rules_app.command("docs")
def docs(
    out: Path = typer.Option(Path("docs/rules"), "--out", help="folder for the generated pages"),
    check: bool = typer.Option(False, "--check", help="fail if the pages are not current"),
    as_json: bool = json_flag("print the catalog as JSON (each framework's versions, parameters and rules), with "
                              "the pages written or found stale"),
) -> None:
    """Generate the rules catalog pages (rule id, title, citation, what it checks, parameters, SOP) of the
    rulesets folder in use (VIGIL_RULESETS_DIR, else rulesets/), as every other `rules` command reads it."""
    from engine.rules.docs import catalog, render_pages

    def body() -> None:
        frameworks = catalog(_rulesets_in_use())
        pages = render_pages(frameworks)
        stale = [name for name, text in pages.items() if not (out / name).exists() or (out / name).read_text() != text]
        if check:
            if as_json:
                emit_json({"out": str(out), "current": not stale, "stale": stale, "frameworks": frameworks})
            elif stale:
                err_console.print(f"stale rules docs: {', '.join(stale)}; run `vigil rules docs`")
            else:
                console.print("rules docs are current")
            if stale:
                raise typer.Exit(code=1)
            return
        out_dir(out, "--out")
        for name, text in pages.items():
            (out / name).write_text(text)
        if as_json:
            emit_json({"out": str(out), "written": list(pages), "frameworks": frameworks})
            return
        console.print(f"wrote {len(pages)} page(s) to {out}")

    run(body)


@rules_app.command("oscal")
def oscal(
    framework: str = typer.Argument(..., help="the framework, e.g. hipaa"),
    version: str = typer.Argument(None, help="the version, e.g. 2026.1.0 (default: the one in force today)"),
    out: Path = typer.Option(..., "--out", help="folder to write <framework>-<version>.catalog.json and "
                                                ".profile.json into"),
    as_json: bool = json_flag("print what was written as JSON"),
) -> None:
    """Export a ruleset version as an OSCAL 1.2.1 catalog (one control per rule, with the control ids
    packets' assessment results use) and a profile selecting every control with the practice's
    parameter values (docs/rulesets.md, "OSCAL catalog and profile")."""
    from engine.rules.catalog import require_practice_params
    from engine.rules.oscal_export import DOCUMENTS, document_bytes, export_ruleset

    def body() -> tuple[Any, dict[str, Path]]:
        # a mistyped VIGIL_PRACTICE_PARAMS is refused, as `vigil params list` refuses it, not read as the defaults
        export = export_ruleset(framework, version, root=_rulesets_in_use(), params_path=require_practice_params())
        folder = out_dir(out, "--out")
        written = {name: folder / export.files[name] for name in DOCUMENTS}
        for name, path in written.items():
            path.write_bytes(document_bytes(export.document(name)))
        return export, written

    export, written = run(body)
    if as_json:
        emit_json({"framework": export.framework, "version": export.version, "sha256": export.sha256,
                   "rules": export.rules, "controls": export.controls, "parameters": export.parameters,
                   "practice_values": export.practice_values, "params_on": export.params_on.isoformat(),
                   "files": {name: str(path) for name, path in written.items()}})
        return
    console.print(f"{export.framework} {export.version}: {export.controls} controls for {export.rules} rules, "
                  f"{export.parameters} parameter{'' if export.parameters == 1 else 's'} "
                  f"({export.practice_values} set by the practice, as of {export.params_on})",
                  highlight=False, markup=False, soft_wrap=True)
    for path in written.values():
        console.print(f"wrote {path}", highlight=False, markup=False, soft_wrap=True)


@rules_app.command("diff")
def diff(
    framework: str = typer.Argument(..., help="the framework, e.g. hipaa"),
    from_version: str = typer.Argument(..., help="the older version, e.g. 2026.1.0"),
    to_version: str = typer.Argument(..., help="the newer version, or a draft's YAML file (not yet published)"),
    unified: bool = typer.Option(False, "--unified", help="also print the YAML as a unified diff"),
    as_json: bool = json_flag("print added, removed, changed and parameters as JSON"),
) -> None:
    """Compare two versions of a ruleset, or a version and a draft file: rules added, removed and
    changed (with the keys that changed), and parameter changes."""
    from engine.rules.catalog import frameworks_said
    from engine.rules.loader import load_ruleset_file
    from engine.rules.versions import diff_loaded, get_version, list_versions

    def body():  # type: ignore[no-untyped-def]
        versions = list_versions()
        frameworks = sorted({v.framework for v in versions})
        if framework not in frameworks:
            raise InputError(f"FRAMEWORK: no ruleset for {framework!r}",
                             [ErrorDetail(reason=f"the frameworks are: {frameworks_said(frameworks)}")],
                             code="input.framework")
        known = [v.version for v in versions if v.framework == framework]
        sides = []
        for name, version in (("FROM_VERSION", from_version), ("TO_VERSION", to_version)):
            if version in known:
                sides.append(get_version(framework, version))
                continue
            draft = Path(version)
            if draft.suffix in (".yaml", ".yml") and draft.is_file():
                loaded = load_ruleset_file(draft)
                if loaded.spec.framework != framework:
                    raise InputError(f"{name}: {draft} is a {loaded.spec.framework} ruleset, not {framework}",
                                     [ErrorDetail(reason="compare versions of one framework", file=str(draft))],
                                     code="input.version")
                sides.append(loaded)
                continue
            if draft.suffix in (".yaml", ".yml") or "/" in version:  # a file was meant: say it is not there
                raise InputError(f"{name}: {draft}: file not found",
                                 [ErrorDetail(reason=f"no draft file at {draft}; or give a {framework} version: "
                                                     f"{', '.join(known)}", file=str(draft))],
                                 code="input.version")
            raise InputError(f"{name}: {framework} has no version {version!r}",
                             [ErrorDetail(reason=f"the {framework} versions are: {', '.join(known)}; or give a "
                                                 "draft's .yaml file")],
                             code="input.version")
        return diff_loaded(sides[0], sides[1])

    d = run(body)
    if as_json:
        emit_json(d.model_dump(mode="json"))
        return
    console.print(f"{framework} {from_version} -> {to_version}", highlight=False, markup=False)
    for label, ids in (("added", d.added), ("removed", d.removed)):
        console.print(f"  {label}: {', '.join(ids) if ids else '-'}", highlight=False, markup=False, soft_wrap=True)
    changed = [f"{i} ({', '.join(d.changed_fields.get(i, []))})" for i in d.changed]
    console.print(f"  changed: {', '.join(changed) if changed else '-'}", highlight=False, markup=False,
                  soft_wrap=True)
    if d.params_changed:
        from engine.rules.versions import param_change_text

        console.print("  parameters:", highlight=False)
        for name, change in d.params_changed.items():
            console.print(f"    {name}: {param_change_text(change['from'], change['to'])}",
                          highlight=False, markup=False, soft_wrap=True)
    else:
        console.print("  parameters: -", highlight=False)
    for name, change in d.header_changed.items():
        console.print(f"  {name}: {change['from'] if change['from'] is not None else '-'} -> "
                      f"{change['to'] if change['to'] is not None else '-'}", highlight=False, markup=False,
                      soft_wrap=True)
    if unified:
        typer.echo(d.unified, nl=False)


def _rulesets_in_use() -> Path:
    """The rulesets folder every command reads (VIGIL_RULESETS_DIR, else the repository's rulesets/):
    validate and test check what evaluate, publish and the UI use."""
    root = rulesets_dir()
    if not root.is_dir():
        setting = " (VIGIL_RULESETS_DIR)" if os.environ.get("VIGIL_RULESETS_DIR") else ""
        raise InputError(f"the rulesets folder{setting} {root} does not exist",
                         [ErrorDetail(reason="set VIGIL_RULESETS_DIR to a folder of rulesets, or give a path",
                                      file=str(root))], code="input.path")
    return root


def _scenario_root(path: Path) -> Path:
    """The rulesets folder a scenario file runs against: the one it lives in (<root>/<framework>/tests/
    beside a ruleset), else the rulesets folder in use."""
    folder = path.resolve().parent.parent
    if path.resolve().parent.name == "tests" and framework_files(folder):
        return folder.parent
    return rulesets_dir()


def _require_rulesets(paths: list[Path]) -> None:
    """A folder given to `rules validate` must hold a ruleset: an empty one would pass with nothing checked."""
    empty = [p for p in paths if p.is_dir() and not any(p.glob("*.yaml"))
             and not any(x.parent.name != "tests" for x in p.glob("*/*.yaml"))]
    if empty:
        raise InputError("no ruleset to validate in " + ", ".join(map(str, empty)),
                         [ErrorDetail(reason="a folder needs *.yaml or */*.yaml ruleset files", file=str(p))
                          for p in empty], code="input.no_rulesets")


def _practice_or_none(db: str | None, org: str | None) -> tuple[Engine, str, str | None]:
    """The practice's database and organization; or, when no database is named (no --db, no
    DATABASE_URL) and ./vigil.db does not exist, an empty one in memory (no records, no findings, no
    runs, no audit trail) and the sentence that says so. A liaison drafting rules with no practice
    data had been told only that ./vigil.db did not exist, and could neither preview nor publish. A
    database that is named and missing is still refused: a mistyped path is not "no data"."""
    from engine import db as databases
    from engine.cli.common import open_database, org_or_default, sqlite_file

    if db is None and not os.environ.get("DATABASE_URL"):
        default = sqlite_file(databases.DEFAULT_URL)
        if default is not None and not default.exists():
            said = f"no database ({default} does not exist, and neither --db nor DATABASE_URL names one)"
            return open_database("sqlite://", must_exist=False), org_or_default(org), said
    engine, org_id = open_org(db, org)
    return engine, org_id, None


@rules_app.command("preview")
def preview(
    draft: Path = typer.Argument(..., help="a ruleset draft (YAML), e.g. a new version of one in rulesets/"),
    as_of: str = typer.Option(None, "--as-of", help="judge the records as of this instant, ISO 8601 with an "
                                                    "offset (default now, or the draft's first day if later)"),
    effective_from: str = typer.Option(None, "--effective-from", help="the day you will publish it from, YYYY-MM-DD "
                                                                      "(default: the draft's effective_from)"),
    db: DbOpt = None,
    org: OrgOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Which findings a draft would open, close or change if it were published, on today's records, and what the
    draft itself changes against the version in force at that instant; nothing is stored. A first day before the
    first a version can take effect is moved to it, and the preview says so."""
    from engine import pipeline
    from engine.db import unit_of_work

    def body():  # type: ignore[no-untyped-def]
        instant = parse_instant(as_of, "--as-of")
        first = parse_date(effective_from, "--effective-from")
        try:
            content = draft.read_bytes()
        except OSError as exc:
            raise InputError(f"DRAFT: cannot read {draft}: {exc.strerror or exc}", code="input.path") from None
        engine, org_id, nothing = _practice_or_none(db, org)
        with unit_of_work(engine) as session:
            impact = pipeline.preview_draft(session, org_id=org_id, draft=content, name=str(draft), as_of=instant,
                                            effective_from=first)
        if nothing is not None:
            impact.notes.insert(0, f"{nothing}: judged as a practice with no records, no findings and no evaluation "
                                   "runs; give --db (or DATABASE_URL) to preview it on a practice's records")
        return impact

    impact = run(body)
    if as_json:
        emit_json(impact.model_dump(mode="json"))
        return
    now = ", ".join(impact.in_force_now) or "none"
    console.print(f"{impact.framework} {impact.version} (in force now: {now}), {impact.rules} rules, as of "
                  f"{impact.as_of.isoformat()}", highlight=False, markup=False)
    for note in impact.notes:
        console.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
    for label, items in (("would open", impact.would_open), ("would close", impact.would_close),
                         ("would change", impact.would_change)):
        changing = items is impact.would_change
        # rule ids, statuses and dues kept whole; the long subject (and changes) take what is left, so
        # an 80-column terminal had shown 'HIPAA-' and no status at all
        columns = [tables.keep("rule\nstatus") if not changing else tables.keep("rule")] + (
            [tables.squeeze("subject\nchanges")] if changing else [tables.keep("due"), tables.squeeze("subject")])
        listing = tables.table(*columns, title=f"{label}: {len(items)}")
        for i in items:
            occurrence = f" · {i.occurrence_key}" if i.occurrence_key else ""
            subject = f"{i.subject_type}/{i.subject_id}{occurrence}"
            if changing:
                listing.add_row(i.rule_id, tables.Clamp("; ".join(i.changes), 3, above=subject))
            else:
                listing.add_row(tables.stacked(i.rule_id, i.status or ""), i.due or "", tables.Clamp(subject, 3))
        console.print(listing)
    console.print(f"unchanged: {impact.unchanged}", highlight=False)
    own = impact.draft_effect
    if own is not None:
        against = ", ".join(own.against) or "no version"
        console.print(f"the draft's own effect, against {against} at the same instant (what time alone changes left "
                      f"out): {len(own.opens)} would open, {len(own.closes)} would close, {len(own.changes)} would "
                      "change", highlight=False, markup=False)
        for verb, items in (("opens", own.opens), ("closes", own.closes), ("changes", own.changes)):
            for i in items:
                said = f": {'; '.join(i.changes)}" if i.changes else ""
                console.print(f"  {verb} {i.rule_id} {i.subject_type}/{i.subject_id}{said}", highlight=False,
                              markup=False, soft_wrap=True)


ByOpt = typer.Option(None, "--by", help="who does it, for the audit trail (default: $VIGIL_ACTOR, else the login "
                                        "name)")


def _actor(by: str | None) -> str:
    """`--by NAME` is recorded as `cli:NAME`; without it, whoever every other command names
    (`cli_actor`: VIGIL_ACTOR, else the login). A publication or a parameter change had taken $USER
    and ignored the VIGIL_ACTOR the officer's other acts were recorded under."""
    name = (by or "").strip()
    return f"cli:{name}" if name else cli_actor()


@rules_app.command("publish")
def publish(
    draft: Path = typer.Argument(..., help="the new version (YAML), e.g. a copy of rulesets/hipaa/*.yaml with a "
                                           "higher version"),
    effective_from: str = typer.Option(None, "--effective-from", help="the day it takes effect, YYYY-MM-DD, today "
                                                                      "or later (default: the draft's effective_from)"),
    by: str = ByOpt,
    db: DbOpt = None,
    org: OrgOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish a ruleset version with an effective date: validated, the framework's scenarios run with it in
    place, written to <framework>/ of VIGIL_RULESETS_DIR (else of the installation's rulesets/) and
    recorded in the audit trail. Nothing is written if a check fails."""
    from engine import pipeline
    from engine.db import unit_of_work

    def body():  # type: ignore[no-untyped-def]
        day = parse_date(effective_from, "--effective-from")
        try:
            content = draft.read_bytes()
        except OSError as exc:
            raise InputError(f"DRAFT: cannot read {draft}: {exc.strerror or exc}", code="input.path") from None
        engine, org_id, nothing = _practice_or_none(db, org)
        with unit_of_work(engine) as session:
            done = pipeline.publish_ruleset(session, org_id=org_id, actor=_actor(by), draft=content, name=str(draft),
                                            effective_from=day)
        notes = [f"{nothing}: no evaluation run's judged days were checked, and the publication is recorded in no "
                 "audit trail; give --db (or DATABASE_URL) to publish for a practice"] if nothing else []
        return done, notes

    pub, notes = run(body)
    if as_json:
        emit_json({**pub.model_dump(mode="json"), "notes": notes})
        return
    for note in notes:
        err_console.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"published {pub.framework} {pub.version} ({pub.rules} rules), in force from {pub.effective_from}"
                  + (f", replacing {pub.replaces}" if pub.replaces else "")
                  + f"; {pub.scenarios_said()}\n  {rulesets_dir() / pub.path}"
                  + f"\n  sha256 {pub.sha256}",
                  highlight=False, markup=False, soft_wrap=True)


def _withdraw(framework: str, version: str | None, reason: str, on: str | None, by: str | None, db: str | None,
              org: str | None, as_json: bool) -> None:
    from engine import pipeline
    from engine.db import unit_of_work

    def body():  # type: ignore[no-untyped-def]
        day = parse_date(on, "--on")
        if not reason.strip():
            raise InputError("--reason: say why the version is withdrawn", code="input.reason")
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as session:
            return pipeline.withdraw_ruleset(session, org_id=org_id, actor=_actor(by), framework=framework,
                                             version=version, reason=reason, on=day)

    w = run(body)
    if as_json:
        emit_json(w.model_dump(mode="json"))
        return
    then = ("it never took effect" if w.never_in_force else
            f"{w.restores} is in force again" if w.restores else "the version scheduled after it stays scheduled")
    did = (f"moved the withdrawal of {w.framework} {w.version} from {w.moved_from} to {w.on}" if w.moved_from
           else f"withdrew {w.framework} {w.version} from {w.on}")
    console.print(f"{did}: {then}", highlight=False, markup=False)


@rules_app.command("withdraw")
def withdraw(
    framework: str = typer.Argument(..., help="the framework, e.g. hipaa"),
    version: str = typer.Argument(..., help="the version to withdraw, e.g. 2026.2.0 (in force or scheduled)"),
    reason: str = typer.Option(..., "--reason", help="why it is withdrawn (kept in the audit trail)"),
    on: str = typer.Option(None, "--on", help="the first day it is no longer in force, YYYY-MM-DD (default today)"),
    by: str = ByOpt,
    db: DbOpt = None,
    org: OrgOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Withdraw a published version from a day on; its file stays, so past runs and packets still trace to it.

    Withdrawn again before the withdrawal takes effect, the version's withdrawal moves to the new day."""
    _withdraw(framework, version, reason, on, by, db, org, as_json)


@rules_app.command("rollback")
def rollback(
    framework: str = typer.Argument(..., help="the framework, e.g. hipaa"),
    reason: str = typer.Option(..., "--reason", help="why (kept in the audit trail)"),
    on: str = typer.Option(None, "--on", help="from which day, YYYY-MM-DD (default today)"),
    by: str = ByOpt,
    db: DbOpt = None,
    org: OrgOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Roll a framework back to its previous version: withdraw the version in force on --on (today)."""
    _withdraw(framework, None, reason, on, by, db, org, as_json)
