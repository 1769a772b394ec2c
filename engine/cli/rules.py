"""`vigil rules ...`: validate, test, list, show, diff and document rulesets."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from engine.cli.app import app, console, emit_json, err_console, run
from engine.rules.catalog import RULESETS_DIR

rules_app = typer.Typer(help="Rulesets: validate, test, list, show, diff, docs.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@rules_app.command("validate")
def validate(
    paths: list[Path] = typer.Argument(None, help="ruleset files or folders (default: rulesets/)"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Check schema, expressions, parameters, SOP references and scenario files."""
    from engine.rules.validate import validate_paths

    def body() -> None:
        report = validate_paths(paths or [RULESETS_DIR])
        if as_json:
            emit_json(
                {
                    "ok": report.ok,
                    "files": report.files,
                    "rules": report.rules,
                    "problems": [d.to_dict() for d in report.problems],
                }
            )
        else:
            for d in report.problems:
                err_console.print(f"[red]✗[/] {d}", highlight=False)
            console.print(
                f"{len(report.files)} ruleset file(s), {report.rules} rules, {len(report.problems)} problem(s)"
            )
        if not report.ok:
            raise typer.Exit(code=2)

    run(body)


@rules_app.command("test")
def test(
    paths: list[Path] = typer.Argument(None, help="scenario files or ruleset folders (default: all)"),
    backend: list[str] = typer.Option(["python", "durable"], "--backend", help="backends to compare"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run ruleset scenarios on both backends; report like a test runner."""
    from engine.rules.scenarios import run_scenario, scenario_files

    def body() -> None:
        files: list[Path] = []
        for p in paths or [RULESETS_DIR]:
            if p.is_dir():
                files.extend(sorted(p.glob("tests/*.yaml")) or scenario_files(p))
            else:
                files.append(p)
        results = []
        for f in files:
            for r in run_scenario(f, backends=tuple(backend)):
                results.append(r)
                if not as_json:
                    mark = "[green]✓[/]" if r.ok else "[red]✗[/]"
                    shown = f.relative_to(Path.cwd()) if f.is_absolute() and Path.cwd() in f.parents else f
                    console.print(f"{mark} {shown} case {r.case} as of {r.as_of}", highlight=False)
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

    run(body)


@rules_app.command("list")
def list_rules(
    framework: str = typer.Option(None, "--framework"), as_json: bool = typer.Option(False, "--json")
) -> None:
    """List every rule of every ruleset version."""
    from engine.rules.catalog import load_all

    def body() -> None:
        rows: list[dict[str, str | None]] = []
        for loaded in load_all():
            s = loaded.spec
            if framework and s.framework != framework:
                continue
            for r in s.rules:
                rows.append(
                    {
                        "framework": s.framework,
                        "version": s.version,
                        "effective_from": str(s.effective_from),
                        "rule_effective_from": str(r.effective_from or s.effective_from),
                        "rule_effective_to": str(r.effective_to or s.effective_to or "") or None,
                        "rule_id": r.id,
                        "title": r.title,
                        "severity": r.severity,
                        "kind": r.kind,
                        "advisory": str(r.advisory).lower(),
                        "citation": r.citation,
                        "sop": r.sop,
                    }
                )
        if as_json:
            emit_json(rows)
            return
        table = Table("framework", "version", "rule", "severity", "title")
        for row in rows:
            table.add_row(row["framework"], row["version"], row["rule_id"], row["severity"], row["title"])
        console.print(table)

    run(body)


@rules_app.command("show")
def show(rule_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show one rule as written in its newest ruleset."""
    from engine.errors import NotFoundError
    from engine.rules.catalog import load_all

    def body() -> None:
        for loaded in sorted(load_all(), key=lambda x: x.spec.effective_from, reverse=True):
            for r in loaded.spec.rules:
                if r.id == rule_id:
                    data = r.model_dump(mode="json", exclude_none=True)
                    data["ruleset"] = loaded.spec.name
                    if as_json:
                        emit_json(data)
                    else:
                        console.print_json(json.dumps(data))
                    return
        raise NotFoundError(f"no rule {rule_id}")

    run(body)


@rules_app.command("docs")
def docs(
    out: Path = typer.Option(Path("docs/rules"), "--out", help="folder for the generated pages"),
    check: bool = typer.Option(False, "--check", help="fail if the pages are not current"),
) -> None:
    """Generate the rules catalog pages (rule id, title, citation, what it checks, parameters, SOP)."""
    from engine.rules.docs import render_all

    def body() -> None:
        pages = render_all()
        stale = [name for name, text in pages.items() if not (out / name).exists() or (out / name).read_text() != text]
        if check:
            if stale:
                err_console.print(f"stale rules docs: {', '.join(stale)}; run `vigil rules docs`")
                raise typer.Exit(code=1)
            console.print("rules docs are current")
            return
        out.mkdir(parents=True, exist_ok=True)
        for name, text in pages.items():
            (out / name).write_text(text)
        console.print(f"wrote {len(pages)} page(s) to {out}")

    run(body)
