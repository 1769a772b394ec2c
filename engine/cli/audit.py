"""`vigil audit ...`: check the hash-chained audit trail and read it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import Engine, inspect

from engine import db, pipeline
from engine.audit import service as audit_service
from engine.audit.schemas import AuditQuery, AuditVerifyReport
from engine.audit.tables import TABLE_NAME
from engine.auth.schemas import check_token_id
from engine.cli.app import app, console, emit_json, err_console, run
from engine.cli.common import DbOption, json_flag, nonblank, open_database, require_org
from engine.errors import ErrorDetail, InputError, NotFoundError

audit_app = typer.Typer(help="The append-only, hash-chained audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")



def _engine(url: str | None, org: str | None) -> Engine:
    """Open the database without creating or migrating anything: verifying must not change what it checks."""
    engine = open_database(url, must_exist=True, migrate=False)
    if not inspect(engine).has_table(TABLE_NAME):
        raise NotFoundError(f"no audit trail in {engine.url.render_as_string()} (table {TABLE_NAME} missing)")
    if org is not None:
        require_org(engine, org)
    return engine


@audit_app.command("verify")
def verify_cmd(
    url: str | None = DbOption,
    org: str | None = typer.Option(None, "--org", help="Check one organisation's chain only."),
    as_json: bool = json_flag("Print the report as JSON."),
) -> None:
    """Recompute the chain, check every stored record version against its content hash and its
    import's entry, every finding's state against its history and the chain, and every waiver, run,
    user, auditor grant and API token against its entries; exit 0 when intact, 1 naming the first
    entry, record version, finding, waiver, run, user, grant or token that does not match."""

    def body() -> None:
        with db.unit_of_work(_engine(url, org)) as session, _progress(enabled=not as_json) as progress:
            report = pipeline.verify_audit(session, org_id=org, progress=progress)
        if as_json:
            emit_json(report.model_dump(mode="json") | {"first_broken": _first(report)})
            if not report.ok:
                raise typer.Exit(code=1)
            return
        if report.ok:
            chains = ", ".join(f"{h.org_id}: {h.entries} (head {h.head_hash[:16]})" for h in report.chains)
            console.print(
                f"audit trail intact: {report.entries_checked} entries ({chains or 'empty'}); "
                f"{report.records_checked or 0} record versions match their content hashes and their imports' "
                f"entries; {report.findings_checked or 0} findings match their histories and the trail; "
                f"{report.accounts_checked or 0} users, auditor grants and API tokens match their entries",
                soft_wrap=True
            )
            return
        report.raise_if_broken()

    run(body)


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A bar on stderr for the record versions checked, at a terminal (2 million take about 20 s)."""
    if not enabled or not err_console.is_terminal:
        yield None
        return
    columns = (TextColumn("checking record versions"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("verify", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _first(report: AuditVerifyReport) -> dict[str, object] | None:
    first = report.first_broken
    return first.model_dump() if first else None


@audit_app.command("log")
def log_cmd(
    url: str | None = DbOption,
    org: str | None = typer.Option(None, "--org", help="One organisation only."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="How many of the newest entries (1-1000)."),
    actor: str | None = typer.Option(None, "--actor", help="Only this actor's entries."),
    action: str | None = typer.Option(None, "--action", help="One action (finding.waive) or a family (finding)."),
    entity: str | None = typer.Option(None, "--entity", help="One entity type (finding) or entity (finding/F-...)."),
    token: str | None = typer.Option(None, "--token", help="Only entries written with this API token (TK-..., "
                                                           "`vigil users tokens USERNAME`)."),
    before: int | None = typer.Option(None, "--before", min=1, max=audit_service.MAX_SEQ,
                                      help="Only entries older than this seq (page back): the seq of the oldest "
                                           "entry shown."),
    as_json: bool = json_flag("Print entries as JSON."),
) -> None:
    """Show the newest entries that match, oldest first."""

    def body() -> None:
        for value, option in ((actor, "--actor"), (action, "--action"), (entity, "--entity"), (token, "--token")):
            if value is not None:  # "" had listed every entry, where the API answers 422
                nonblank(value, option)
        try:  # the API's check: a mistyped id had listed nothing, read as "this token did nothing"
            check_token_id(token)
        except ValueError as exc:
            raise InputError(f"--token {token!r} names no token", [ErrorDetail(reason=str(exc), field="--token")],
                             code="input.token") from None
        where = AuditQuery(before=before, actor=actor, action=action, entity=entity, token=token)
        with db.unit_of_work(_engine(url, org)) as session:
            entries = audit_service.list_entries(session, org_id=org, limit=limit, where=where)
        if as_json:
            emit_json([e.model_dump(mode="json") for e in entries])
            return
        if not entries:  # a filter that matched nothing had printed nothing at all
            console.print("0 entries" + (" match" if (actor or action or entity or token or before) else ""),
                          highlight=False, markup=False)
        for e in entries:
            console.print(
                f"{e.seq:>6} {e.at.isoformat()} {e.org_id} #{e.org_seq} {e.actor} {e.action} "
                f"{e.entity_type}/{e.entity_id} {e.hash[:12]}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )

    run(body)
