"""`vigil report ...`: the reports the regulators take (OSHA ITA 300A CSV, MIPS/QPP submission JSON).

The file (CSV or submission JSON) goes to --out or stdout; what was left blank and why, and any check
the report fails, go to stderr, so a redirected stdout is exactly the file. `--json` prints the whole
report (rows or submission, notes, problems) instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError

from engine import yaml_numbers
from engine.cli.app import app, emit_json, err_console, run
from engine.cli.common import DbOpt, JsonOpt, OrgOpt, open_org, out_file, parse_instant
from engine.errors import ErrorDetail, InputError
from engine.reports.schemas import Ita300ADetails, ReportNote

report_app = typer.Typer(help="Reports the regulators take: OSHA ITA 300A CSV, MIPS/QPP submission JSON.",
                         no_args_is_help=True)
app.add_typer(report_app, name="report")

YearOpt = Annotated[int, typer.Option("--year", min=1900, max=2199, help="the calendar / performance year")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="write the file here (default: stdout)")]
KnownAtOpt = Annotated[str | None, typer.Option(
    "--known-at", help="as the database knew it at this instant (ISO 8601 with offset; default now)")]


def _details(path: Path | None) -> Ita300ADetails | None:
    """The filing details file (JSON or YAML), every refused value named."""
    if path is None:
        return None
    text = path.read_text(encoding="utf-8")
    try:
        raw: Any = yaml_numbers.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"--details {path}: not JSON or YAML: {str(exc).splitlines()[0]}",
                         code="input.details") from None
    try:
        return Ita300ADetails.model_validate(raw)
    except ValidationError as exc:
        details = [ErrorDetail(reason=f"{'.'.join(map(str, e['loc']))}: {e['msg']}", file=str(path))
                   for e in exc.errors(include_url=False, include_input=False)]
        raise InputError(f"--details {path}: {len(details)} invalid value(s)", details, code="input.details") from None


def _say(notes: list[ReportNote], problems: list[ReportNote]) -> None:
    for n in notes:
        err_console.print(f"note: {n}", highlight=False, markup=False)
    for p in problems:
        err_console.print(f"problem: {p}", highlight=False, markup=False)
    if problems:
        err_console.print(f"NOT READY TO FILE: {len(problems)} problem(s)", style="bold red", highlight=False)


def _write(text: str, out: Path | None, as_json: bool) -> None:
    if out is not None:
        out_file(out).write_text(text, encoding="utf-8")
    elif not as_json:
        typer.echo(text, nl=False)


@report_app.command("ita-300a")
def ita_300a(
    year: YearOpt,
    establishment: Annotated[str | None, typer.Option("--establishment", help="one establishment id only")] = None,
    details_file: Annotated[Path | None, typer.Option(
        "--details", exists=True, dir_okay=False,
        help="filing details the records have no field for (JSON or YAML; see docs/reports.md)")] = None,
    out: OutOpt = None,
    known_at: KnownAtOpt = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """OSHA ITA Form 300A summary CSV for a year: one row per establishment whose records were required."""
    from engine.db import unit_of_work
    from engine.reports import ita300a

    def body() -> tuple[Any, str]:
        details = _details(details_file)
        known = parse_instant(known_at, "--known-at")
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            report = ita300a.build_ita_300a(s, org_id=org_id, year=year, establishment_id=establishment,
                                            known_at=known, details=details)
        text = ita300a.render_csv(report)
        _write(text, out, as_json)
        return report, text

    report, text = run(body, fields={"year": "--year", "establishment": "--establishment"})
    if as_json:
        emit_json(dict(report.model_dump(mode="json"), csv=text))
        return
    _say(report.notes, report.problems)


@report_app.command("qpp")
def qpp_submission(
    year: YearOpt,
    tin: Annotated[str, typer.Option("--tin", help="the group's taxpayer identification number: 9 digits, "
                                                   "with or without the dash (847102935 or 84-7102935)")],
    npi: Annotated[str | None, typer.Option("--npi", help="one clinician (individual submission, 10 digits)")] = None,
    method: Annotated[str, typer.Option("--submission-method",
                                        help="registry or electronicHealthRecord")] = "registry",
    out: OutOpt = None,
    known_at: KnownAtOpt = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """MIPS/QPP submission JSON (quality category) for a performance year and TIN."""
    from engine.db import unit_of_work
    from engine.reports import qpp

    def body() -> tuple[Any, str]:
        known = parse_instant(known_at, "--known-at")
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            report = qpp.build_qpp_submission(s, org_id=org_id, year=year, tin=tin, npi=npi, known_at=known,
                                              submission_method=method)
        text = qpp.render_json(report)
        _write(text, out, as_json)
        return report, text

    report, _ = run(body, fields={"year": "--year", "tin": "--tin", "npi": "--npi",
                                  "submission_method": "--submission-method"})
    if as_json:
        emit_json(report.model_dump(mode="json"))
        return
    _say(report.notes, report.problems)

