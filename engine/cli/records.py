"""`vigil import`, `vigil export`, `vigil records show|history`: the record store from a shell.

Each command opens the database, runs one service call inside `unit_of_work` (so a failed import
leaves nothing behind) and renders the result; no business logic lives here. Errors go through
`engine.cli.app.run`: bad input exits 2 with every problem on stderr.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine

from engine import pipeline
from engine.cli import import_said
from engine.cli.app import app, console, emit_json, err_console, run
from engine.cli.common import (
    DbOpt,
    JsonOpt,
    OrgOpt,
    cli_actor,
    open_database,
    org_or_default,
    org_to_write,
    out_dir,
    parse_instant,
    require_org,
)
from engine.db import unit_of_work
from engine.errors import InputError
from engine.records import references, service, undated
from engine.records.connectors import leie_screen
from engine.records.schemas import ImportReport, PassedOver, StoredRecord

records_app = typer.Typer(name="records", help="Read stored records and their history.", no_args_is_help=True)
app.add_typer(records_app, name="records")

PROGRESS_MIN_BYTES = 1_000_000

AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        "--known-at",
        help="Read the records as the database knew them at this instant (ISO 8601 with offset).",
    ),
]


def org_of(org: str | None) -> str:
    """The organization: --org, then VIGIL_ORG, then 'default' (an empty --org is refused)."""
    return org_or_default(org)


def actor_of(actor: str | None) -> str:
    """Who is importing: --actor, then VIGIL_ACTOR, then the login name (blank refused, trimmed)."""
    return cli_actor(actor)


@contextmanager
def _database(db: str | None, *, must_exist: bool = True) -> Iterator[Engine]:
    engine = open_database(db, must_exist=must_exist)
    try:
        yield engine
    finally:
        engine.dispose()


@app.command("import")
def import_cmd(
    files: Annotated[list[Path], typer.Argument(help="JSON, NDJSON or CSV files.", show_default=False)],
    fmt: Annotated[str | None, typer.Option(
        "--format", help="json, ndjson, csv, fhir, leie or roster (default: by extension).")] = None,
    record_type: Annotated[str | None, typer.Option(
        "--type", help="The record type of CSV files not named <type>.csv.")] = None,
    checked_at: Annotated[str | None, typer.Option(
        "--checked-at", help="With --format leie: when the screening was done (default: the file's date).")] = None,
    leie_supplement: Annotated[bool, typer.Option(
        "--leie-supplement", help="With --format leie: the files are OIG's monthly supplements (new exclusions, "
        "reinstatements), whatever their names (YYMMEXCL.csv and YYMMREIN.csv are read so anyway): only the "
        "people they name are screened.")] = False,
    roster_map: Annotated[Path | None, typer.Option(
        "--map", help="With --format roster: a YAML or JSON file naming your columns, job titles and sites.")] = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Who is importing (for history).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import records; a file with any invalid record imports nothing (exit 2, every problem listed)."""

    committed = False

    def body() -> tuple[str, ImportReport]:
        nonlocal committed
        org_of(org)  # an empty --org is refused before the database is opened
        who = actor_of(actor)
        screened_at = parse_instant(checked_at, "--checked-at", as_written=True)  # stored as given
        if fmt == "leie" and record_type is not None:
            raise InputError("--type does not apply to --format leie (it writes screenings)", code="input.option")
        if fmt == "roster" and record_type is not None:
            raise InputError("--type does not apply to --format roster (it writes persons and employment episodes)",
                             code="input.option")
        if checked_at is not None and fmt != "leie":
            raise InputError("--checked-at applies only to --format leie", code="input.option")
        if leie_supplement and fmt != "leie":
            raise InputError("--leie-supplement applies only to --format leie", code="input.option")
        if roster_map is not None and fmt != "roster":
            raise InputError("--map applies only to --format roster", code="input.option")
        with _database(db, must_exist=False) as engine, _progress(files, enabled=not as_json) as progress:
            org_id = org_to_write(engine, org)
            with unit_of_work(engine) as session:
                report = pipeline.import_files(session, org_id=org_id, paths=files, actor=who, fmt=fmt,
                                               record_type=record_type, checked_at=screened_at,
                                               leie_supplement=leie_supplement, mapping=roster_map,
                                               progress=progress)
                with _stop_signals_held():  # so that what is said about an interrupted import is true
                    session.commit()
                    committed = True
            return org_id, report

    try:
        with _sigterm_as_interrupt():
            org_id, report = run(body)
    except KeyboardInterrupt as exc:
        _say_interrupted(committed=committed, signum=exc.signum if isinstance(exc, _Terminated) else signal.SIGINT)
    import_said.say(import_said.import_warnings(files, report))
    if as_json:
        emit_json({**report.model_dump(mode="json"), "records_per_second": round(report.records_per_second, 1)})
        return
    table = Table(title=f"Imported into {org_id}")
    for column in ("type", "created", "updated", "unchanged"):
        table.add_column(column, justify="left" if column == "type" else "right")
    for name, counts in sorted(report.counts.items()):
        table.add_row(name, str(counts.created), str(counts.updated), str(counts.unchanged))
    table.add_row("total", str(report.created), str(report.updated), str(report.unchanged), style="bold")
    console.print(table)
    console.print(
        f"{report.total} records in {report.duration_s:.2f} s ({report.records_per_second:,.0f} records/s)",
        highlight=False,
    )
    if report.screened is not None:
        console.print(leie_screen.screened_line(report.screened), highlight=False, markup=False)
    supplement = leie_screen.supplement_line(report)
    if supplement:
        console.print(supplement, highlight=False, markup=False)


class _Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, systemd, `docker stop`) raised as Ctrl-C is, so that the same code unwinds it:
    the unit of work rolls back and the person is told, where SIGTERM's default had ended the
    process without a word. It carries the signal's number for the exit code."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, _frame: object) -> None:
    raise _Terminated(signum)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into `_Terminated` until the block ends. Only the main thread handles signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _stop_signals_held() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) and SIGTERM until the block ends, then raise the first: a commit
    interrupted as it returned would otherwise be said to have imported nothing. Only the main
    thread handles signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, _frame: object) -> None:
        caught.append(signum)

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if caught:
        raise KeyboardInterrupt if caught[0] == signal.SIGINT else _Terminated(caught[0])


def _say_interrupted(*, committed: bool, signum: int) -> NoReturn:
    """One line on stderr for an import stopped by Ctrl-C or SIGTERM, then exit 128 + the signal's
    number as a shell expects (130, 143). Ctrl-C had exited 130 without a word (Typer's handling) and
    SIGTERM had ended the process without one, leaving the person to wonder what was kept."""
    said = ("interrupted after the import was committed: its records were imported" if committed else
            "import interrupted: nothing was imported (every record read so far was rolled back); run it again "
            "to import the files")
    err_console.print(said, highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(code=128 + signum)


@contextmanager
def _progress(files: list[Path], *, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A byte progress bar on stderr for large imports at a terminal; None otherwise."""
    total = sum(p.stat().st_size for p in files if p.is_file())
    if not enabled or total < PROGRESS_MIN_BYTES or not err_console.is_terminal:
        yield None
        return
    columns = (TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("import", total=total)

        def update(done: int, _total: int) -> None:
            bar.update(task, completed=done)

        yield update


@app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="Directory for <type>.ndjson files.")],
    as_of: AsOfOpt = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export the latest known version of every record, one NDJSON file per type, sorted by id; the
    <type>.ndjson files of types not exported this time are removed (and named)."""

    def body() -> tuple[dict[str, int], list[Path]]:
        known_at = parse_instant(as_of, "--as-of")
        with _database(db) as engine:
            org_id = require_org(engine, org)
            out_dir(out, "--out")
            with unit_of_work(engine) as session:
                if known_at is not None:  # before the first record: an export of nothing, as evaluations refuse
                    from engine.findings.run_checks import check_known_at

                    check_known_at(session, org_id=org_id, known_at=known_at, field="--as-of")
                counts = service.export_records(session, org_id=org_id, out_dir=out, known_at=known_at)
            return counts, service.remove_stale_exports(out, written=counts)

    counts, removed = run(body)
    if as_json:
        emit_json({"out": str(out), "counts": counts, "total": sum(counts.values()),
                   "removed": [str(p) for p in removed]})
        return
    for name, count in counts.items():
        console.print(f"{out / (name + '.ndjson')}: {count}", highlight=False)
    for path in removed:
        console.print(f"{path}: removed (left by an earlier export; no {path.stem} records now)", highlight=False)
    console.print(f"{sum(counts.values())} records exported", highlight=False)


@records_app.command("gaps")
def gaps_cmd(
    record_types: Annotated[list[str] | None, typer.Option(
        "--type", help="Only these record types (comma-separated or repeated), e.g. credential,screening.")] = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the records held now that the rules pass over: an id naming no record held, a null date a
    deadline counts from, or a null or unknown field some rule needs (the import's warnings, read
    again from the store)."""

    def body() -> PassedOver:
        with _database(db) as engine:
            org_id = require_org(engine, org)
            with unit_of_work(engine) as session:
                return service.passed_over(session, org_id=org_id, types=record_types)

    found = run(body)
    if as_json:
        emit_json(found.model_dump(mode="json"))
        return
    lines = (references.reference_lines(found, shown=undated.SHOWN)
             + undated.warning_lines(found, shown=undated.SHOWN, listed_in="--json"))
    for line in lines:
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    total = found.unknown_references_total + found.undated_records_total + found.incomplete_records_total
    console.print(f"{found.checked} records checked: {found.unknown_references_total} ids naming no record held, "
                  f"{found.undated_records_total} missing dates deadlines count from, "
                  f"{found.incomplete_records_total} missing or unknown fields the rules need (or dates out of order)"
                  + ("" if total else "; the rules pass over none"), highlight=False)


@records_app.command("show")
def show_cmd(
    record_type: Annotated[str, typer.Argument(metavar="TYPE", help="record type, e.g. person")],
    record_id: Annotated[str, typer.Argument(metavar="ID", help="the record's id")],
    as_of: AsOfOpt = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one record as the database knows it now (or knew it at --as-of)."""

    def body() -> StoredRecord:
        known_at = parse_instant(as_of, "--as-of")
        with _database(db) as engine:
            org_id = require_org(engine, org)
            with unit_of_work(engine) as session:
                return service.get_record(
                    session, org_id=org_id, record_type=record_type, record_id=record_id, known_at=known_at
                )

    record = run(body)
    if as_json:
        emit_json(record.model_dump(mode="json"))
        return
    console.print(
        f"[bold]{record.type} {record.id}[/] version {record.version}, "
        f"recorded {record.recorded_at.isoformat()} by {record.actor} from {record.source}",
        highlight=False,
    )
    console.print_json(data=record.data)


@records_app.command("history")
def history_cmd(
    record_type: Annotated[str, typer.Argument(metavar="TYPE", help="record type, e.g. person")],
    record_id: Annotated[str, typer.Argument(metavar="ID", help="the record's id")],
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List every version of one record: when, by whom, from where, and which fields changed."""

    def body() -> list[StoredRecord]:
        with _database(db) as engine:
            org_id = require_org(engine, org)
            with unit_of_work(engine) as session:
                return service.record_history(session, org_id=org_id, record_type=record_type, record_id=record_id)

    versions = run(body)
    changes = service.version_changes(versions)
    if as_json:  # each version with the fields it changed, as the table's column (none for the first)
        emit_json([{**v.model_dump(mode="json"), "changed": changed} for v, changed in zip(versions, changes,
                                                                                           strict=True)])
        return
    table = Table(title=f"{record_type} {record_id}")
    for column in ("version", "recorded_at", "actor", "source", "changed"):
        table.add_column(column)
    for version, changed in zip(versions, changes, strict=True):
        label = "(new)" if version.version == 1 else ", ".join(changed)
        table.add_row(str(version.version), version.recorded_at.isoformat(), version.actor, version.source, label)
    console.print(table)
