"""`vigil params ...`: the practice parameters in force, and changing one from a day on."""

from __future__ import annotations

import json

import typer
import yaml

from engine import yaml_numbers
from engine.cli import tables
from engine.cli.app import app, console, emit_json, run
from engine.cli.common import DbOpt, JsonOpt, OrgOpt, framework_option, open_org, parse_date
from engine.cli.rules import ByOpt, _actor
from engine.errors import ErrorDetail, InputError

params_app = typer.Typer(help="Practice parameters: list the values in force, change one from a day on.",
                         no_args_is_help=True)
app.add_typer(params_app, name="params")


def _shown(value: object) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


@params_app.command("list")
def list_params(
    framework: str = typer.Option(None, "--framework", help="one framework, e.g. hipaa"),
    on: str = typer.Option(None, "--on", help="the day, YYYY-MM-DD (default today)"),
    as_json: JsonOpt = False,
) -> None:
    """Every parameter of the ruleset versions in force on a day: default, the value in force, since when and
    who approved it, and changes already scheduled. Practice values the rules cannot take are refused
    (exit 2, every problem named) as `vigil evaluate` refuses them, never listed as in force."""
    from engine import clock
    from engine.rules import tuning
    from engine.rules.catalog import check_practice_params, require_practice_params

    def body() -> list[tuning.ParamRow]:
        require_practice_params()  # a mistyped VIGIL_PRACTICE_PARAMS had listed the defaults as in force
        day = parse_date(on, "--on") or clock.now().date()
        named = framework_option(framework)
        check_practice_params(day, frameworks=[named] if named else None)
        return tuning.params_table(day, framework=named)

    rows = run(body)
    if as_json:
        emit_json([r.model_dump(mode="json") for r in rows])
        return
    by_framework: dict[tuple[str, str], list[tuning.ParamRow]] = {}
    for r in rows:
        by_framework.setdefault((r.framework, r.version), []).append(r)
    for (fw, version), items in by_framework.items():
        listing = tables.table(tables.keep("parameter"), tables.squeeze("value"), tables.squeeze("default"),
                               tables.squeeze("source"), tables.squeeze("later"), title=f"{fw} {version}",
                               stacked_rows=False)
        for r in items:
            source = "default" if r.source == "default" else (
                f"practice{' since ' + str(r.since) if r.since else ''}"
                f"{', ' + r.approved_by if r.approved_by else ''}")
            later = "; ".join(f"{_shown(s.value)} from {s.starts}" + (f" ({s.reason})" if s.version else "")
                              for s in r.scheduled)
            unit = f" {r.unit}" if r.unit else ""
            listing.add_row(r.name, tables.Clamp(_shown(r.value) + unit, 2), tables.Clamp(_shown(r.default), 2),
                            tables.Clamp(source, 2), tables.Clamp(later, 2))
        console.print(listing)


@params_app.command("set")
def set_param(
    framework: str = typer.Argument(..., help="the framework, e.g. hipaa"),
    name: str = typer.Argument(..., help="the parameter, e.g. access_revoke_hours"),
    value: str = typer.Argument(..., help="the new value, read as YAML: 12, 0.5, true, a string, \\[a, b]; a "
                                          "negative number after --, which ends the options: -- -4"),
    reason: str = typer.Option(..., "--reason", help="why the value changes (kept in the file and the audit trail)"),
    approved_by: str = typer.Option(..., "--approved-by", help="who approved the change"),
    effective_from: str = typer.Option(None, "--from", help="the first day the value is in force, YYYY-MM-DD, today "
                                                            "or later (default today, or the day after the last "
                                                            "evaluation that judged the framework)"),
    by: str = ByOpt,
    db: DbOpt = None,
    org: OrgOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a practice parameter from a day on (practice.yaml in VIGIL_POLICIES_DIR, else in the
    installation's policies/); the value in force on earlier days is kept, so past evaluations stay
    reproducible, and a deadline counted from an earlier day (a departure, an injury, a training)
    keeps the window of that day. Checked against the parameter's type and by compiling the rules.

    A negative value would be read as an option: give it after `--`, which ends the options, e.g.
    `vigil params set hipaa access_revoke_hours --approved-by WHO --reason WHY -- -4`."""
    from engine import pipeline
    from engine.db import unit_of_work
    from engine.rules.catalog import practice_params_path

    def body():  # type: ignore[no-untyped-def]
        day = parse_date(effective_from, "--from")
        try:
            parsed = yaml_numbers.safe_load(value)
        except yaml.YAMLError as exc:
            raise InputError(f"VALUE: not a YAML value: {value!r}", [ErrorDetail(reason=str(exc), field="value")],
                             code="input.value") from None
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as session:
            return pipeline.set_practice_param(session, org_id=org_id, actor=_actor(by), framework=framework,
                                               name=name, value=parsed, approved_by=approved_by, reason=reason,
                                               effective_from=day)

    change = run(body)
    if as_json:
        emit_json(change.model_dump(mode="json"))
        return
    console.print(f"{change.framework}.{change.name}: {_shown(change.before)} -> {_shown(change.value)} from "
                  f"{change.effective_from} (approved by {change.approved_by})\n  {practice_params_path()}",
                  highlight=False, markup=False, soft_wrap=True)
