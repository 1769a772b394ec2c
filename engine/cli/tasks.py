"""`vigil tasks ...`: list, show, tick checklist steps, complete, attach evidence, add notes, give a task to
another person, check the SOP templates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_args

import typer

from engine import timefmt
from engine.cli import tables
from engine.cli.app import app, console, emit_json, err_console, run
from engine.cli.common import (
    DbOpt,
    JsonOpt,
    OrgOpt,
    choices,
    cli_actor,
    filter_value,
    nonblank,
    open_org,
    out_file,
    write_lines,
)
from engine.cli.pages import paged_title, print_pages
from engine.errors import ErrorDetail, InputError
from engine.tasks.schemas import TaskFilter, TaskKind, TaskSeverity, TaskState, TaskViewer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_T = TypeVar("_T")

tasks_app = typer.Typer(help="SOP tasks: the owned, dated work that findings and recurring obligations create.",
                        no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")

STATES: tuple[str, ...] = get_args(TaskState)
KINDS: tuple[str, ...] = get_args(TaskKind)
SEVERITIES: tuple[str, ...] = get_args(TaskSeverity)

TaskArg = Annotated[str, typer.Argument(metavar="TASK_ID", help="the task's id (see `vigil tasks list`), or its start "
                                                                "if no other id starts so (T-86351b)")]
ActorOpt = Annotated[str | None, typer.Option("--actor", help="who is acting, for the history and audit trail: a "
                                                            "username or person id, acting with that user's "
                                                            "access (staff: their own tasks), or a cli:<label>; "
                                                            "any other name is refused (default: VIGIL_ACTOR, "
                                                            "else cli:<login>)")]
StateOpt = Annotated[str | None, typer.Option("--state", help=f"{','.join(STATES)} (comma-separated; default every "
                                                                 "state, where the page's My tasks lists open ones)")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="only tasks owned by this person id or username")]
SopOpt = Annotated[str | None, typer.Option("--sop", help="only tasks of this SOP id (see `vigil tasks sops`)")]
FindingOpt = Annotated[str | None, typer.Option("--finding", help="only the task of this finding id")]
KindOpt = Annotated[str | None, typer.Option("--kind", help=f"{' or '.join(KINDS)}: from a finding, or from a "
                                                            "recurring SOP")]
OverdueOpt = Annotated[bool, typer.Option("--overdue", help="open tasks past their due date only")]
EstablishmentOpt = Annotated[str | None, typer.Option(
    "--establishment", help="only tasks at these establishments (comma-separated ids; org-wide tasks belong to none)")]
SeverityOpt = Annotated[str | None, typer.Option(
    "--severity", help=f"{','.join(SEVERITIES)}: the severity of the task's finding (comma-separated; a recurring "
                       "task has none)")]


@tasks_app.command("list")
def list_tasks(
    state: StateOpt = None,
    owner: OwnerOpt = None,
    sop: SopOpt = None,
    finding: FindingOpt = None,
    kind: KindOpt = None,
    establishment: EstablishmentOpt = None,
    overdue: OverdueOpt = False,
    severity: SeverityOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="how many tasks (1-1000)")] = 200,
    cursor: Annotated[str | None, typer.Option(
        "--cursor", help="the next page: next_cursor of the --json output before")] = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List tasks by due date; more than --limit page on with --cursor."""
    from engine.db import unit_of_work
    from engine.tasks import service

    def body():  # type: ignore[no-untyped-def]
        filters = _filters(state=state, owner=owner, sop=sop, finding=finding, kind=kind, overdue=overdue,
                           severity=severity, establishment=establishment)
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            return service.list_tasks(s, org_id=org_id, limit=limit, filters=filters, cursor=cursor)

    page = run(body)
    if as_json:
        emit_json(page.model_dump(mode="json"))
        return
    listing = tables.table(tables.keep("id\nowner"), tables.keep("due\nstate"), tables.squeeze("sop\ntitle"),
                           title=paged_title(len(page.items), page.total, "task"))
    for t in page.items:
        when = timefmt.task_due_text(t.due, t.due_at, t.tz)  # an hour deadline with its hour, as the page says
        due = tables.stacked(when + (" overdue" if t.overdue else ""), t.state)
        if t.overdue:
            due.stylize("red", 0, len(when))
        listing.add_row(tables.stacked(t.id, t.owner), due, tables.Clamp(t.title, lines=2, above=t.sop))
    console.print(listing)
    print_pages("vigil tasks list", "the same filters", next_cursor=page.next_cursor, has_prev=page.has_prev,
                prev_cursor=page.prev_cursor)


def _filters(*, state: str | None, owner: str | None, sop: str | None, finding: str | None, kind: str | None,
             overdue: bool, severity: str | None, establishment: str | None = None) -> TaskFilter:
    """The options of `tasks list` (and `tasks export`) as the service's filter, after the checks
    only the command line needs (a blank value, an unknown state, kind or severity)."""
    for value, option in ((owner, "--owner"), (sop, "--sop"), (finding, "--finding"),
                          (establishment, "--establishment")):
        filter_value(value, option)
    return TaskFilter(state=choices(state, "--state", STATES), owner=owner, sop=sop, finding_id=finding,
                      kind=choices(kind, "--kind", KINDS), overdue=True if overdue else None,
                      severity=choices(severity, "--severity", SEVERITIES), establishment_id=establishment)


@tasks_app.command("export")
def export(
    state: StateOpt = None,
    owner: OwnerOpt = None,
    sop: SopOpt = None,
    finding: FindingOpt = None,
    kind: KindOpt = None,
    establishment: EstablishmentOpt = None,
    overdue: OverdueOpt = False,
    severity: SeverityOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="write the CSV here (default: stdout)")] = None,
    org: OrgOpt = None,
    db: DbOpt = None,
) -> None:
    """Write every task `vigil tasks list` would list with the same options as CSV (UTF-8, a header
    row, by due date; columns in docs/tasks.md), however many there are: to --out, or to stdout."""
    from engine.db import unit_of_work
    from engine.tasks import export as tasks_export

    def body() -> None:
        filters = _filters(state=state, owner=owner, sop=sop, finding=finding, kind=kind, overdue=overdue,
                           severity=severity, establishment=establishment)
        target = out_file(out) if out is not None else None
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            lines = tasks_export.tasks_csv(s, org_id=org_id, filters=filters)  # checks the filters first
            write_lines(lines, target)

    run(body)


@tasks_app.command("show")
def show(task_id: TaskArg, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Show a task: its steps, notes, evidence, escalations and history."""
    from engine.db import unit_of_work
    from engine.tasks import service

    def body():  # type: ignore[no-untyped-def]
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            return service.get_task(s, org_id=org_id, task_id=_whole(s, org_id, task_id))

    t = run(body)
    if as_json:
        emit_json(t.model_dump(mode="json"))
        return
    console.print(f"[bold]{t.id}[/] {t.title}", highlight=False)
    # the local day and the instant it ends, as the task page says it ("end of day, America/Los_Angeles")
    by = f" (late from {timefmt.local_time(t.due_at, t.tz)})"
    console.print(f"{t.state}{' (overdue)' if t.overdue else ''} · due {t.due.isoformat()}{by} · "
                  f"owner {t.owner or '-'} ({t.owner_via}) · {t.sop} · finding {t.finding_id or '-'}",
                  highlight=False, markup=False)
    if t.close_reason:
        console.print(f"closed: {t.close_reason}", markup=False)
    for item in t.checklist:
        console.print(f"  [{'x' if item.done else ' '}] {item.step}. {item.text}", markup=False)
    # instants as the task page says them ("2026-12-07 03:28 UTC"); --json keeps them whole
    for n in t.notes:
        console.print(f"  note {timefmt.utc_text(n.at)} {n.actor}: {n.text}", markup=False)
    for a in t.attachments:
        console.print(f"  evidence {a.filename} {a.media_type} {a.size} B sha256 {a.sha256} by {a.attached_by} "
                      f"at {timefmt.utc_text(a.attached_at)}", markup=False)
    for e in t.escalations:
        console.print(f"  escalated step {e.step + 1} -> {e.target} ({e.person or '-'}) on "
                      f"{timefmt.utc_text(e.at)}", markup=False)
    for h in t.history:
        console.print(f"  {timefmt.utc_text(h.at)} {h.actor}: {h.kind} {h.reason or ''}", markup=False)


def _whole(session: Any, org_id: str, task_id: str) -> str:
    """The task id `task_id` names, or the one it starts (`engine.cli.ids`: T-86351b)."""
    from engine.cli.ids import TASK, whole_id

    return whole_id(session, org_id, task_id, TASK, field="TASK_ID")


def _acting(actor: str | None, org: str | None, db: str | None,
            work: Callable[[Any, str, str, TaskViewer | None], _T], check: Callable[[], object] | None = None,
            manage: bool = False) -> _T:
    """Run `work(session, org_id, who, viewer)` in one unit of work, as the actor named (--actor, else
    the login), after `check` of the command's own input; every act on a task goes through here.
    `manage`: the act is a manager's (giving a task to someone), refused to an actor who only works
    their own tasks."""
    from engine.db import unit_of_work

    def body() -> _T:
        who = nonblank(actor, "--actor").strip() if actor is not None else cli_actor()
        if check is not None:
            check()
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            if actor is None:
                return work(s, org_id, who, None)
            named, viewer = _named_actor(s, org_id, who)
            if manage and viewer is not None and viewer.owners is not None:
                raise InputError(f"--actor {who!r} cannot give tasks to others", [ErrorDetail(
                    reason=f"{who}'s role may not manage tasks (tasks.manage): only the compliance officer or an "
                           "admin gives a task to someone else", field="--actor")], code="input.actor")
            return work(s, org_id, named, viewer)

    return run(body)


def _named_actor(session: Session, org_id: str, who: str) -> tuple[str, TaskViewer | None]:
    """Who --actor names, as the history and audit trail record them (`engine.cli.actors`), and what
    they may act on: a user with their role's access (staff: their own tasks only), a person with no
    account on their own tasks, a `cli:` label for the operator on any task. Staff had been able to
    note a task the web hides from them."""
    from engine.auth import people
    from engine.auth.roles import Permission, allowed
    from engine.cli.actors import named

    actor = named(session, org_id=org_id, who=who)
    if actor.label:
        return who, None
    unable = people.cannot_act(session, org_id=org_id, name=who, work="task")
    if unable is not None:
        raise InputError(f"--actor {who!r} cannot act on tasks", [ErrorDetail(reason=unable, field="--actor")],
                         code="input.actor")
    user = actor.user
    if user is None:
        return who, TaskViewer(actor=who, owners=frozenset({who}))
    if allowed(user.role, Permission.TASKS_MANAGE):
        return actor.recorded, TaskViewer.everyone(actor.recorded)
    return actor.recorded, TaskViewer(actor=actor.recorded, owners=frozenset(
        x for x in (user.person_id, user.username) if x))


@tasks_app.command("check")
def check(task_id: TaskArg,
          step: Annotated[int, typer.Argument(metavar="STEP", help="the step's number, 1..N, as `vigil tasks show` "
                                                                   "and the task page show it")],
          undo: Annotated[bool, typer.Option("--undo", help="untick the step instead")] = False,
          actor: ActorOpt = None, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Tick a checklist step of an open task, or untick it with --undo (prints the task with --json)."""
    from engine.tasks import service

    t, changed = _acting(actor, org, db, lambda s, org_id, who, viewer: service.check_step(
        s, org_id=org_id, task_id=_whole(s, org_id, task_id), step=step, actor=who, done=not undo, viewer=viewer))
    if as_json:
        emit_json(t.model_dump(mode="json"))
        return
    item = t.checklist[step - 1]
    state = "done" if item.done else "not done"
    if not changed:  # a step already so keeps who did it, and the history gains nothing
        by = f" by {item.done_by} at {item.done_at.isoformat()}" if item.done and item.done_at else ""
        state = f"was already {state}{by}, nothing changed"
    console.print(f"{t.id}: step {step} {state}: {item.text}", highlight=False, markup=False)


@tasks_app.command("complete")
def complete(task_id: TaskArg,
             note: Annotated[str | None, typer.Option("--note", help="a note kept with the task")] = None,
             actor: ActorOpt = None, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Mark a task done (a finding's task: the next evaluation confirms it or reopens it)."""
    from engine.tasks import service

    t = _acting(actor, org, db, lambda s, org_id, who, viewer: service.complete_task(
        s, org_id=org_id, task_id=_whole(s, org_id, task_id), actor=who, note=note, viewer=viewer))
    if as_json:
        emit_json(t.model_dump(mode="json"))
        return
    # the completion's history says which steps were left; so does this line, while it can still be undone
    left = [str(item.step) for item in t.checklist if not item.done]
    unticked = (f" ({len(left)} of {len(t.checklist)} checklist steps not ticked: {', '.join(left)})"
                if left else "")
    console.print(f"{t.id}: done{unticked}; {service.after_completion(t)}", highlight=False, markup=False)


@tasks_app.command("attach")
def attach(task_id: TaskArg,
           file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                                help="the evidence file")],
           note: Annotated[str | None, typer.Option("--note", help="a note kept with the evidence")] = None,
           actor: ActorOpt = None, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Attach a file as evidence (kept by content hash, never overwritten)."""
    from engine.tasks import service

    def attach_file(s: Any, org_id: str, who: str, viewer: TaskViewer | None) -> Any:
        with file.open("rb") as fh:
            return service.attach_evidence(s, org_id=org_id, task_id=_whole(s, org_id, task_id), actor=who, stream=fh,
                                           filename=file.name, note=note, viewer=viewer)

    a = _acting(actor, org, db, attach_file)
    if as_json:
        emit_json(a.model_dump(mode="json"))
        return
    console.print(f"{task_id}: attached {a.filename} ({a.media_type}, {a.size} bytes) sha256 {a.sha256}",
                  highlight=False)


@tasks_app.command("note")
def note(task_id: TaskArg, text: Annotated[str, typer.Argument(help="the note (not blank)")],
         actor: ActorOpt = None, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Add a note to a task (prints the task as it is now with --json)."""
    from engine.tasks import service

    t = _acting(actor, org, db, lambda s, org_id, who, viewer: service.add_note(
        s, org_id=org_id, task_id=_whole(s, org_id, task_id), actor=who, text=text, viewer=viewer),
        check=lambda: nonblank(text, "TEXT"))
    if as_json:
        emit_json(t.model_dump(mode="json"))
        return
    console.print(f"{task_id}: note added")


@tasks_app.command("assign")
def assign(task_id: TaskArg,
           owner: Annotated[str, typer.Argument(metavar="OWNER", show_default=False,
                                                help="who takes the task: a person id (e.g. P-0002) or a username; "
                                                     "not a role")],
           actor: ActorOpt = None, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Give a task to another person (as POST /tasks/{id}/assign; prints the task with --json)."""
    from engine.tasks import service

    t = _acting(actor, org, db, lambda s, org_id, who, _viewer: service.reassign_task(
        s, org_id=org_id, task_id=_whole(s, org_id, task_id), owner=owner, actor=who), manage=True)
    if as_json:
        emit_json(t.model_dump(mode="json"))
        return
    console.print(f"{t.id}: assigned to {t.owner}", highlight=False, markup=False)


@tasks_app.command("sops")
def sops(policies: Annotated[Path | None, typer.Option(
             "--policies", help="policies directory (default VIGIL_POLICIES_DIR)")] = None,
         as_json: JsonOpt = False) -> None:
    """Check every SOP template (front matter, owner role, the fields its template reads, a render for
    a sample finding) and list them; every problem of every template is named (exit 2)."""
    from engine.tasks import sop_checks
    from engine.tasks.errors import PolicyError

    def checked() -> list[Any]:
        found, problems = sop_checks.check_all(policies)
        if problems:
            files = len({d.file for d in problems})
            raise PolicyError(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in {files} SOP "
                              f"template{'s' if files > 1 else ''}", problems)
        return found

    items = run(checked)
    if as_json:
        emit_json([s.model_dump(mode="json", exclude={"body"}) for s in items])
        return
    listing = tables.table(tables.squeeze("id\ntitle"), tables.keep("owner role\nrecurrence"),
                           tables.keep("due days", justify="right"),
                           title=f"{len(items)} SOP{'s' if len(items) != 1 else ''}, all valid")
    for s in items:
        rec = f"every {s.recurrence.every} {s.recurrence.unit}" if s.recurrence else "-"
        listing.add_row(tables.Clamp(s.title, above=s.id), tables.stacked(s.owner_role, rec), str(s.default_due_days))
    console.print(listing)


@tasks_app.command("roles")
def roles(org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Who policies/roles.yaml gives each role to (per site; * = every site), and where each holder
    stands: present, left on a day (their work goes to the fallback role), or not on file (no
    record or user names them: their tasks reach no one)."""
    from dataclasses import asdict

    from engine.db import unit_of_work
    from engine.tasks import holders

    def body():  # type: ignore[no-untyped-def]
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            return org_id, holders.role_holders(s, org_id=org_id)

    org_id, found = run(body)
    if as_json:
        emit_json([asdict(h) for h in found])
        return
    from engine.tasks.policy import policies_dir

    listing = tables.table(tables.keep("role"), tables.keep("site"), tables.squeeze("holder"), tables.keep("standing"),
                           title=f"{len(found)} role holder{'s' if len(found) != 1 else ''} "
                                 f"({policies_dir() / 'roles.yaml'})")
    for h in found:
        listing.add_row(h.role, h.establishment, f"{h.name} ({h.holder})" if h.name else h.holder, h.standing)
    console.print(listing)
    for line in holders.not_on_file_lines(found, org_id=org_id):
        err_console.print(f"warning: {line}", highlight=False, markup=False, soft_wrap=True)
