"""`vigil runs`: the evaluation runs, newest first, and one run in full (`vigil runs show RUN_ID`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli import tables
from engine.cli.app import app, console, emit_json, run
from engine.cli.common import DbOpt, JsonOpt, OrgOpt, iso_z, nonblank, open_org
from engine.errors import ErrorDetail, InputError

if TYPE_CHECKING:
    from engine.findings.schemas import EvaluationRun

RunActionArg = Annotated[str | None, typer.Argument(
    metavar="show", show_default=False,
    help="`show RUN_ID`: one run in full, as GET /evaluations/{id} gives it; leave out to list the runs")]
RunIdArg = Annotated[str | None, typer.Argument(
    metavar="RUN_ID", show_default=False, help="with show: the run's id (see `vigil runs`), or its start if no other "
                                               "id starts so (R-4926)")]


@app.command("runs")
def runs(
    action: RunActionArg = None,
    run_id: RunIdArg = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, max=1000, help="how many runs, newest first (1-1000; default 20)")] = None,
    before: Annotated[str | None, typer.Option(
        "--before", help="the next page: the runs after this run id (the last one listed)")] = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List evaluation runs, newest first, with their ruleset versions, input hashes and counts
    (--before pages on); `vigil runs show RUN_ID` shows one run in full."""
    from engine.db import unit_of_work
    from engine.findings import service

    def check() -> str | None:
        if action is None:
            return None
        if action != "show":
            raise InputError(f"no runs action {action!r}", [ErrorDetail(
                reason="`vigil runs` lists the runs, `vigil runs show RUN_ID` shows one (--json for all of it)",
                field="show")], code="input.choice")
        if run_id is None or not run_id.strip():
            raise InputError("show needs a RUN_ID", [ErrorDetail(reason="give the run's id (see `vigil runs`)",
                                                                field="RUN_ID")], code="input.blank")
        given = [name for name, value in (("--limit", limit), ("--before", before)) if value is not None]
        if given:
            raise InputError(f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to the list of runs, "
                             "not to one run", [ErrorDetail(reason="leave it out with show", field=given[0])],
                             code="input.invalid_option")
        return run_id.strip()

    def one(wanted: str):  # type: ignore[no-untyped-def]
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            from engine.cli.ids import RUN, whole_id

            return service.get_run(s, org_id=org_id, run_id=whole_id(s, org_id, wanted, RUN, field="RUN_ID"))

    shown = limit or RUNS_SHOWN

    def many():  # type: ignore[no-untyped-def]
        if before is not None:
            nonblank(before, "--before")
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:  # one more than shown: is there a next page?
            return service.list_runs(s, org_id=org_id, limit=shown + 1, before=before)

    wanted = run(check)
    if wanted is not None:
        _show_run(run(lambda: one(wanted)), as_json)
        return
    items = run(many)
    more, items = len(items) > shown, items[:shown]
    if as_json:
        emit_json([r.model_dump(mode="json") for r in items])
        return
    title = f"the newest {shown} runs" + (f" after {before}" if before else "") if more else None
    listing = tables.table(tables.keep("run\nas of"), tables.keep("backend\ntrigger"), tables.keep("rulesets"),
                           tables.squeeze("violations\nchanges"), title=title)
    for r in items:
        listing.add_row(
            tables.stacked(r.id, iso_z(r.as_of.replace(microsecond=0))),
            tables.stacked(r.backend, r.trigger),
            tables.stacked(*(f"{x['id']}@{x['version']}" for x in r.rulesets)),
            tables.stacked(str(r.counts.get("violations", "")), _changes(r)),
        )
    console.print(listing)
    if more:
        console.print(f"next page: vigil runs --limit {shown} --before {items[-1].id}", highlight=False,
                      markup=False, soft_wrap=True)


#: How many runs `vigil runs` lists without --limit.
RUNS_SHOWN = 20


def _show_run(r: EvaluationRun, as_json: bool) -> None:
    """One run as `vigil runs show` prints it: what it judged, on what, and what it did to the store."""
    from engine.findings.currency import is_held

    if as_json:
        emit_json(r.model_dump(mode="json"))
        return
    say = [
        f"run {r.id} as of {iso_z(r.as_of)}" + (f", records as known at {iso_z(r.known_at)}" if r.known_at else ""),
        f"  started {iso_z(r.started_at)} by {r.actor} ({r.trigger}), {r.duration_ms} ms, backend {r.backend}",
        "  rulesets: " + (", ".join(f"{x['id']}@{x['version']} sha256 {x.get('sha256', '-')}" for x in r.rulesets)
                          or "none"),
        f"  input hash: {r.input_hash}",
        "  counts: " + (", ".join(f"{k} {v}" for k, v in r.counts.items()) or "-"),
        f"  changes: {_changes(r)}",
    ]
    if r.param_history:
        say.append("  dated parameters (a window counted from an anchor used the value of the anchor's day): "
                   + "; ".join(f"{fw}.{name} " + ", ".join(f"{value!r}" + (f" from {start}" if start else "")
                                                         for start, value in steps)
                               for fw, names in sorted(r.param_history.items())
                               for name, steps in sorted(names.items())))
    if is_held(r) and r.diff.get("reason"):
        say.append(f"  why: {r.diff['reason']}")
    for line in say:
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def _held_as(r: EvaluationRun) -> str:
    """What a held run was, as `findings.currency.why_held` decided it: a forecast (as of an instant
    after the moment it ran), a reproduction of what the database knew earlier, or a look back."""
    from engine.findings.currency import FORECAST_GRACE

    reason = str(r.diff.get("reason") or "")
    if r.as_of > r.started_at + FORECAST_GRACE or "a forecast" in reason:
        return "a forecast"
    if "a reproduction" in reason:
        return "a reproduction of an earlier state"
    return "a look back"


def _changes(r: EvaluationRun) -> str:
    """A run's diff in words: what changed in the findings store, or why nothing did."""
    from engine.findings.currency import is_held

    if is_held(r):
        return f"held ({_held_as(r)}, not applied)"
    said = [f"{kind} {n}" for kind, n in r.diff.items() if isinstance(n, int) and not isinstance(n, bool) and n]
    return ", ".join(said) or "no change"
