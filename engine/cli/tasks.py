"""`vigil tasks ...`: list, show, complete, attach evidence, add notes, check the SOP templates."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from engine.cli.app import app, console, emit_json, run
from engine.cli.common import open_database, org_or_default

tasks_app = typer.Typer(help="SOP tasks: the owned, dated work that findings and recurring obligations create.",
                        no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")



@tasks_app.command("list")
def list_tasks(state: str = typer.Option(None, "--state", help="open,done,closed"),
               owner: str = typer.Option(None, "--owner"), sop: str = typer.Option(None, "--sop"),
               finding: str = typer.Option(None, "--finding"), kind: str = typer.Option(None, "--kind"),
               overdue: bool = typer.Option(False, "--overdue", help="open tasks past their due date only"),
               limit: int = typer.Option(200, "--limit"), org: str = typer.Option(None, "--org"),
               db: str = typer.Option(None, "--db"), as_json: bool = typer.Option(False, "--json")) -> None:
    """List tasks by due date."""
    from engine.db import unit_of_work
    from engine.tasks import service
    from engine.tasks.schemas import TaskFilter

    def body():  # type: ignore[no-untyped-def]
        with unit_of_work(open_database(db)) as s:
            return service.list_tasks(s, org_id=org_or_default(org), limit=limit, filters=TaskFilter(
                state=state, owner=owner, sop=sop, finding_id=finding, kind=kind, overdue=True if overdue else None))

    page = run(body)
    if as_json:
        emit_json(page.model_dump(mode="json"))
        return
    table = Table("id", "due", "state", "owner", "sop", "title", title=f"{page.total} task(s)")
    for t in page.items:
        due = f"[red]{t.due.isoformat()}[/]" if t.overdue else t.due.isoformat()
        table.add_row(t.id, due, t.state, t.owner or "-", t.sop, t.title)
    console.print(table)


@tasks_app.command("show")
def show(task_id: str, org: str = typer.Option(None, "--org"), db: str = typer.Option(None, "--db"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Show a task: its steps, notes, evidence, escalations and history."""
    from engine.db import unit_of_work
    from engine.tasks import service

    def body():  # type: ignore[no-untyped-def]
        with unit_of_work(open_database(db)) as s:
            return service.get_task(s, org_id=org_or_default(org), task_id=task_id)

    t = run(body)
    if as_json:
        emit_json(t.model_dump(mode="json"))
        return
    console.print(f"[bold]{t.id}[/] {t.title}", highlight=False)
    console.print(f"{t.state}{' (overdue)' if t.overdue else ''} · due {t.due.isoformat()} · owner {t.owner or '-'} "
                  f"({t.owner_via}) · {t.sop} · finding {t.finding_id or '-'}", highlight=False, markup=False)
    if t.close_reason:
        console.print(f"closed: {t.close_reason}", markup=False)
    for item in t.checklist:
        console.print(f"  [{'x' if item.done else ' '}] {item.index + 1}. {item.text}", markup=False)
    for n in t.notes:
        console.print(f"  note {n.at.isoformat()} {n.actor}: {n.text}", markup=False)
    for a in t.attachments:
        console.print(f"  evidence {a.filename} {a.media_type} {a.size} B sha256 {a.sha256} by {a.attached_by} "
                      f"at {a.attached_at.isoformat()}", markup=False)
    for e in t.escalations:
        console.print(f"  escalated step {e.step + 1} -> {e.target} ({e.person or '-'}) on {e.at.isoformat()}",
                      markup=False)
    for h in t.history:
        console.print(f"  {h.at.isoformat()} {h.actor}: {h.kind} {h.reason or ''}", markup=False)


@tasks_app.command("complete")
def complete(task_id: str, note: str = typer.Option(None, "--note"), actor: str = typer.Option("cli", "--actor"),
             org: str = typer.Option(None, "--org"), db: str = typer.Option(None, "--db"),
             as_json: bool = typer.Option(False, "--json")) -> None:
    """Mark a task done (the next evaluation confirms it or reopens it)."""
    from engine.db import unit_of_work
    from engine.tasks import service

    def body():  # type: ignore[no-untyped-def]
        with unit_of_work(open_database(db)) as s:
            return service.complete_task(s, org_id=org_or_default(org), task_id=task_id, actor=actor, note=note)

    t = run(body)
    emit_json(t.model_dump(mode="json")) if as_json else console.print(f"{t.id}: done")


@tasks_app.command("attach")
def attach(task_id: str, file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
           note: str = typer.Option(None, "--note"), actor: str = typer.Option("cli", "--actor"),
           org: str = typer.Option(None, "--org"), db: str = typer.Option(None, "--db"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Attach a file as evidence (kept by content hash, never overwritten)."""
    from engine.db import unit_of_work
    from engine.tasks import service

    def body():  # type: ignore[no-untyped-def]
        with unit_of_work(open_database(db)) as s, file.open("rb") as fh:
            return service.attach_evidence(s, org_id=org_or_default(org), task_id=task_id, actor=actor, stream=fh,
                                           filename=file.name, note=note)

    a = run(body)
    if as_json:
        emit_json(a.model_dump(mode="json"))
        return
    console.print(f"{task_id}: attached {a.filename} ({a.media_type}, {a.size} bytes) sha256 {a.sha256}",
                  highlight=False)


@tasks_app.command("note")
def note(task_id: str, text: str, actor: str = typer.Option("cli", "--actor"), org: str = typer.Option(None, "--org"),
         db: str = typer.Option(None, "--db")) -> None:
    """Add a note to a task."""
    from engine.db import unit_of_work
    from engine.tasks import service

    def body() -> None:
        with unit_of_work(open_database(db)) as s:
            service.add_note(s, org_id=org_or_default(org), task_id=task_id, actor=actor, text=text)

    run(body)
    console.print(f"{task_id}: note added")


@tasks_app.command("sops")
def sops(policies: Path = typer.Option(None, "--policies", help="policies directory (default VIGIL_POLICIES_DIR)"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Check every SOP template (front matter, template syntax) and list them."""
    from engine.tasks import templates

    items = run(lambda: templates.list_sops(policies))
    if as_json:
        emit_json([s.model_dump(mode="json", exclude={"body"}) for s in items])
        return
    table = Table("id", "owner role", "due days", "recurrence", "title", title=f"{len(items)} SOP(s), all valid")
    for s in items:
        rec = f"every {s.recurrence.every} {s.recurrence.unit}" if s.recurrence else "-"
        table.add_row(s.id, s.owner_role, str(s.default_due_days), rec, s.title)
    console.print(table)
