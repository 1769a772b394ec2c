"""`vigil evaluate`: evaluate records as of an instant and print the findings (spec/CONTRACT.md)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from engine.cli import tables
from engine.cli.app import app, console, emit_json, err_console, run
from engine.cli.common import (
    ORG_HELP,
    cli_actor,
    database_url,
    iso_z,
    json_flag,
    open_database,
    org_or_default,
    org_to_write,
    parse_instant,
    require_org,
)
from engine.findings import currency, run_checks


def finding_json(v: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule_id": v.rule_id, "framework": v.framework, "severity": v.severity, "state": v.state,
    }
    if v.due is not None:
        out["due"] = v.due
    out.update({
        "subject": {"type": v.subject.type, "id": v.subject.id},
        "message": v.message,
        "citation": v.citation,
        "evidence": [{"type": e.type, "id": e.id, "version": e.version} for e in v.evidence],
    })
    if v.occurrence_key:
        out["occurrence_key"] = v.occurrence_key
    if v.advisory:
        out["advisory"] = True
    if v.establishment_id:
        out["establishment_id"] = v.establishment_id
    out["title"] = v.title
    out["ruleset_version"] = v.ruleset_version
    return out


def _params_problems(instant: Any, frameworks: list[str] | None, params: Path | None) -> list[Any]:
    """What is wrong with the practice parameters for the rulesets in force at `instant` (the
    compilation the evaluation makes anyway, and caches), so that they are named with the options'
    and the records' problems instead of after them."""
    from engine.errors import ErrorDetail, InputError, RulesetError
    from engine.rules.catalog import check_practice_params, compile_in_force

    try:  # every framework's, as `vigil params list` names them: hipaa's had hidden osha's
        check_practice_params(instant.date(), frameworks=frameworks, params_path=params)
        compile_in_force(instant, frameworks=frameworks, params_path=params)
    except (InputError, RulesetError) as exc:
        return list(exc.details) or [ErrorDetail(reason=exc.message)]
    return []


def _record_problems(files: list[Path], fmt: str | None = None, record_type: str | None = None) -> list[Any]:
    """Every problem of the record files, read into a throwaway database: run only when the options
    already failed, so one attempt lists the records' problems too (nothing is evaluated or kept)."""
    from engine import db as dbmod
    from engine.errors import InputError
    from engine.records import service as records_service

    if not files:
        return []
    engine = dbmod.make_engine("sqlite://")
    dbmod.init_db(engine)
    try:
        with dbmod.unit_of_work(engine) as session:
            records_service.import_files(session, org_id="check", paths=files, actor="cli:evaluate", fmt=fmt,
                                         record_type=record_type)
    except InputError as exc:
        return list(exc.details)
    finally:
        engine.dispose()
    return []


@app.command("evaluate")
def evaluate(
    extra: list[Path] = typer.Argument(None, help="more record files (so `--records dir/*.ndjson` works)"),
    records: list[Path] = typer.Option(None, "--records", help="record files (JSON, NDJSON, CSV); repeatable"),
    fmt: str = typer.Option(None, "--format", help="json, ndjson or csv: the records' format when the file "
                                                  "extension does not tell it"),
    record_type: str = typer.Option(None, "--type", help="the record type of CSV files not named <type>.csv"),
    as_of: str = typer.Option(..., "--as-of",
                              help="evaluation instant, ISO 8601 with an offset (2026-12-07T15:00:00Z), or now"),
    framework: list[str] = typer.Option(None, "--framework",
                                        help="limit to these frameworks; repeatable or comma-separated"),
    params: Path = typer.Option(None, "--params", help="practice parameters YAML (default: practice.yaml in "
                                "VIGIL_POLICIES_DIR, else in the installation's policies/)"),
    backend: str = typer.Option(None, "--backend", help="durable or python (default: python, the sweep backend; "
                                                        "events streamed in are matched on durable)"),
    known_at: str = typer.Option(None, "--known-at", help="database state to use (default: latest versions)"),
    db: str = typer.Option(None, "--db", help="evaluate the records in this database (default: with --records, a "
                           "fresh in-memory one even when $DATABASE_URL is set, as CONTRACT.md says; without "
                           "--records, $DATABASE_URL)"),
    org: str = typer.Option(None, "--org", help=ORG_HELP),
    actor: str = typer.Option(None, "--actor", help="who evaluates, for the records' history and the audit trail "
                              "(default: $VIGIL_ACTOR, else cli:<login>)"),
    as_json: bool = json_flag("print the findings as JSON (the contract's format)"),
) -> None:
    """Evaluate records as of an instant with the rulesets in force then; exit 0 whatever was found."""
    from engine import db as dbmod
    from engine import pipeline

    files = list(records or []) + list(extra or [])
    if db is None and not files and os.environ.get("DATABASE_URL"):
        db = os.environ["DATABASE_URL"]  # evaluate the database in use; records given go to a fresh one

    def options() -> tuple[Any, Any, str]:
        """Check every option before any work, and name every problem at once (CONTRACT: exit 2
        with every problem on stderr; one at a time took as many attempts as there were problems)."""
        from engine.errors import ErrorDetail, InputError
        from engine.rules.catalog import policies_dir, require_frameworks, require_practice_params

        problems: list[ErrorDetail] = []
        checks: list[Callable[[], Any]] = [lambda: parse_instant(as_of, "--as-of"),
                                           lambda: parse_instant(known_at, "--known-at"),
                                           lambda: cli_actor(actor),  # as every command names who acts
                                           policies_dir]  # a mistyped VIGIL_POLICIES_DIR had meant no policies
        if params is None:
            checks.append(require_practice_params)  # ... and a mistyped VIGIL_PRACTICE_PARAMS the defaults
        if backend not in (None, "durable", "python"):
            problems.append(ErrorDetail(reason=f"must be durable or python, not {backend!r}", field="--backend"))
        if params is not None and not params.is_file():
            problems.append(ErrorDetail(reason=f"no such file {params}", field="--params"))
        if db is not None:
            checks.append(lambda: database_url(db))  # `--db ""` is refused, not taken for "no database"
        if fmt is not None and fmt not in ("json", "ndjson", "csv"):
            problems.append(ErrorDetail(reason=f"must be json, ndjson or csv, not {fmt!r}", field="--format"))
        if known_at is not None and db is not None and files:
            problems.append(ErrorDetail(
                reason="the records given with --records are imported now, after the --known-at instant, so they "
                       "would be left out of the evaluation: import them first (vigil import), or leave out "
                       "--known-at", field="--known-at"))
        if not files and not db:
            problems.append(ErrorDetail(reason="give --records FILE (or --db URL, or set $DATABASE_URL, to evaluate "
                                               "a database)",
                                        field="--records"))
        problems.extend(ErrorDetail(reason=f"no such file {f}", field="--records")
                        for f in files if not Path(f).exists())
        problems.extend(ErrorDetail(reason=f"{f} is a folder: give its files (e.g. {Path(f) / '*.ndjson'})",
                                    field="--records") for f in files if Path(f).is_dir())
        def frameworks_known() -> None:
            require_frameworks(_names(framework) or [])  # before a large import

        if framework:
            checks.append(frameworks_known)
        values: list[Any] = []
        unknown_framework = missing_setting = False
        for check in checks:
            try:
                values.append(check())
            except InputError as exc:
                values.append(None)
                unknown_framework = unknown_framework or check is frameworks_known
                missing_setting = missing_setting or check in (policies_dir, require_practice_params)
                said = "; ".join(d.reason for d in exc.details)
                field = next((d.field for d in exc.details if d.field), None)  # kept: --json names the option
                reason = f"{exc.message}{': ' + said if said else ''}"
                problems.append(ErrorDetail(reason=reason.removeprefix(f"{field}: ") if field else reason,
                                            field=field))
        if values[0] is not None and not unknown_framework and (params is None or params.is_file()) \
                and not missing_setting:  # the policies and parameters in use are there
            problems.extend(_params_problems(values[0], _names(framework), params))
        if problems:
            if fmt in (None, "json", "ndjson", "csv"):
                problems.extend(_record_problems([Path(f) for f in files if Path(f).is_file()], fmt, record_type))
            raise InputError(str(problems[0]) if len(problems) == 1 else f"{len(problems)} problems with the input",
                             problems, code="input.options")
        return values[0], values[1], values[2]

    zones: dict[str, str] = {}

    def body() -> dict[str, Any]:
        instant, knowledge, who = options()
        assert instant is not None
        if knowledge is not None and not db:
            # a fresh database holds only the records given, and those are simply all known (CONTRACT.md)
            err_console.print("note: --known-at picks a database's state (--db); the records given with --records "
                              "are all known, so it changes nothing here", highlight=False, markup=False)
            knowledge = None
        org_id = org_or_default(org)
        if db is None:
            engine = dbmod.make_engine("sqlite://")
            dbmod.init_db(engine)
        elif files:  # records to import: the database may be new (then the organization is 'default')
            engine = open_database(db, must_exist=False)
            org_id = org_to_write(engine, org)
        else:  # evaluate what is there: it must exist and hold the organization
            engine = open_database(db, must_exist=True)
            org_id = require_org(engine, org)
        with dbmod.unit_of_work(engine) as session:
            if files and db is not None:  # a run to keep, refused before a long import rather than after it
                run_checks.check_evaluation(session, org_id=org_id, as_of=instant, frameworks=_names(framework))
            imported = None
            if files:
                imported = pipeline.ingest_files(session, org_id=org_id, paths=files, actor=who, stream=False,
                                                 fmt=fmt, record_type=record_type)
            outcome = pipeline.evaluate(session, org_id=org_id, as_of=instant, actor=who,
                                        frameworks=_names(framework), backend=backend, known_at=knowledge,
                                        params_path=params, persist=bool(db))
            zones.update(tables.due_zones(session, org_id))  # the table's hour deadlines, in local time
        result = outcome.result
        if outcome.run is not None and currency.is_held(outcome.run):
            err_console.print(f"note: run {outcome.run.id} was recorded but not applied to the findings store: "
                              f"{outcome.run.diff.get('reason')}", highlight=False, markup=False)
        if imported is not None and not as_json:  # what `vigil import` of the same files says (an unknown
            # reference...); not with --json, whose readers (scripts, suites) may take stderr with stdout
            from engine.cli import import_said

            import_said.say(import_said.import_warnings(files, imported, listed_in="vigil import --json"))
        for line in outcome.warnings:
            err_console.print(f"warning: {line}", highlight=False, markup=False, soft_wrap=True)
        if not result.rulesets:
            _say_none_in_force(instant.date(), _names(framework))
        else:
            _say_not_judged(instant.date(), _names(framework), {r.id for r in result.rulesets})
        payload = {
            "as_of": iso_z(instant),
            "rulesets": [{"id": r.id, "version": r.version, "sha256": r.sha256} for r in result.rulesets],
            "findings": [finding_json(v) for v in result.violations],
        }
        if outcome.sop_fallbacks:  # tasks opened with generic steps: said in the JSON too, where a script reads
            payload["sop_fallbacks"] = list(outcome.sop_fallbacks)
        return payload

    payload = run(body)
    if as_json:
        emit_json(payload)
        return
    listing = tables.table(tables.keep("rule\nseverity"), tables.keep("state\ndue"), tables.squeeze("subject\nmessage"),
                           title=f"Findings as of {payload['as_of']}")
    for f in payload["findings"]:
        due = tables.due_shown(f.get("due"), zones, f.get("establishment_id"))
        listing.add_row(tables.stacked(f["rule_id"], f["severity"]), tables.stacked(f["state"], due),
                        tables.Clamp(f["message"], lines=2, above=f"{f['subject']['type']}/{f['subject']['id']}"))
    console.print(listing)
    console.print(f"{len(payload['findings'])} finding(s); rulesets: "
                  + ", ".join(f"{r['id']}@{r['version']}" for r in payload["rulesets"]))


def _names(values: list[str] | None) -> list[str] | None:
    """--framework hipaa --framework osha, or --framework hipaa,osha. Given but naming nothing
    (`--framework ""`) is refused, not read as every framework."""
    names = [name.strip().lower() for value in values or [] for name in value.split(",") if name.strip()]
    if values and not names:
        from engine.errors import ErrorDetail, InputError

        raise InputError("--framework must name a framework", [ErrorDetail(
            reason="empty: name one (e.g. hipaa), or leave the option out for every framework", field="--framework")],
            code="input.blank")
    return names or None


def _say_not_judged(day: Any, frameworks: list[str] | None, judged: set[str]) -> None:
    """A framework with no version in force on the day is left out of the result: said on stderr
    (`run_checks.not_judged`)."""
    from engine.findings.run_checks import not_judged

    for line in not_judged(day, frameworks, judged, field="--as-of"):
        err_console.print(f"warning: {line}", highlight=False, markup=False)


def _say_none_in_force(day: Any, frameworks: list[str] | None) -> None:
    """An empty result before any ruleset starts is not a clean bill of health: say why it is empty."""
    from engine.rules.catalog import load_all, rulesets_dir

    starts = sorted((item.spec.effective_from, item.spec.framework) for item in load_all(rulesets_dir())
                    if (frameworks is None or item.spec.framework in frameworks)
                    and item.in_force(item.spec.effective_from))  # a version withdrawn before its start never is
    first: dict[str, Any] = {}
    for start, fw in starts:
        if start > day:
            first.setdefault(fw, start)
    later = [f"{fw} from {start}" for fw, start in sorted(first.items(), key=lambda kv: (kv[1], kv[0]))]
    err_console.print(f"warning: no ruleset is in force on {day} (the UTC date of --as-of), so nothing was judged"
                      + (f"; in force later: {', '.join(later)}" if later else ""), highlight=False, markup=False)

