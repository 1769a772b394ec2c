"""Task pages: my tasks, overdue tasks, every task (managers), and a task's page with its SOP
checklist, notes, evidence upload and history. The forms call the tasks service like the REST API;
staff only ever see their own tasks (the service's TaskViewer)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, replace

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from engine.api import downloads
from engine.auth import people
from engine.auth.roles import Permission, allowed
from engine.auth.schemas import Principal
from engine.errors import ErrorDetail, InputError
from engine.tasks import evidence
from engine.tasks import export as tasks_export
from engine.tasks import service as tasks_service
from engine.tasks.schemas import Task, TaskFilter, TaskPage
from engine.web import errors as web_errors
from engine.web import lookups, taskviews
from engine.web.deps import action, page, web_session
from engine.web.render import page as render
from engine.web.render import redirect

router = APIRouter()
VIEWS = {"mine": "My tasks", "overdue": "Overdue", "open": "All open", "done": "Done, awaiting confirmation",
         "closed": "Closed"}
#: tasks a page of a list shows
PAGE_SIZE = 100


@dataclass(frozen=True)
class ListFilters:
    """The tasks page's list and filters as asked for: what the list, its page links and its CSV
    download (`/ui/tasks/export.csv`) all read, so the download is the list on screen.

    A manager of several sites works through one site's tasks at a time (`establishment`: org-wide
    tasks belong to no site and drop out), through one person's (`owner`, managers only: anyone else
    sees their own tasks), or through the most severe first (`severity`, comma-separated)."""

    view: str
    establishment: str | None
    owner: str | None
    severity: str | None

    def query(self, **changes: str | None) -> dict[str, str]:
        """The query parameters that ask for this list again (with `changes`), empty ones left out."""
        values = {"view": self.view, "establishment": self.establishment, "owner": self.owner,
                  "severity": self.severity} | changes
        return {k: v for k, v in values.items() if v}

    def filters(self, principal: Principal) -> TaskFilter | None:
        """The service's filter for this list; None for "My tasks" of an account that is nobody."""
        site, severity = self.establishment, self.severity
        if self.view == "mine":
            me = taskviews.mine(principal)
            return TaskFilter(state="open", owner=me, establishment_id=site, severity=severity) if me else None
        if self.view == "overdue":
            return TaskFilter(overdue=True, establishment_id=site, owner=self.owner, severity=severity)
        return TaskFilter(state=self.view, establishment_id=site, owner=self.owner, severity=severity)

    def seen_by(self, principal: Principal) -> ListFilters:
        """The filters as `principal` may use them: the owner filter is a manager's, on a list other
        than "My tasks"; anyone else's list is their own tasks, whatever `owner` says. Dropped, not
        carried: "My tasks" with owner=P-0001 had listed the officer's own tasks while its links and
        its CSV download still named P-0001."""
        if self.view == "mine" or not allowed(principal.role, Permission.TASKS_MANAGE):
            return replace(self, owner=None)
        return self


def _owner_not_applied(asked: ListFilters, seen: ListFilters, principal: Principal) -> str | None:
    """What to say when the owner asked for is not the list's: the page had shown its own list
    without a word, where `GET /tasks` says "you see your own tasks only" (a 422)."""
    if asked.owner is None or seen.owner is not None or asked.owner in (taskviews.mine(principal) or "").split(","):
        return None
    if asked.view == "mine" and allowed(principal.role, Permission.TASKS_MANAGE):
        return f"My tasks are your own: choose another list to see the tasks of {asked.owner}."
    return f"You see your own tasks only, so the owner filter ({asked.owner}) is not applied."


def list_filters(view: str = Query("", pattern="^(mine|overdue|open|done|closed)?$"),
                 establishment: str | None = Query(None, max_length=100),
                 owner: str | None = Query(None, max_length=200),
                 severity: str | None = Query(None, max_length=60)) -> ListFilters:
    """The list's filters as asked; an empty `view` (`?view=`, a form sent with nothing chosen) is
    the default list, My tasks, as an empty filter is no filter: it was an error page."""
    return ListFilters(view=view or "mine", establishment=establishment or None, owner=owner or None,
                       severity=severity or None)


@router.get("/tasks")
def list_tasks(request: Request, q: ListFilters = Depends(list_filters),
               cursor: str | None = Query(None, max_length=400),
               principal: Principal = Depends(page(Permission.TASKS_READ)),
               session: Session = Depends(web_session, scope="function")) -> Response:
    """One of the task lists (`VIEWS`), narrowed by the filters of `list_filters`, `PAGE_SIZE` a page."""
    asked, q = q, q.seen_by(principal)
    filters = q.filters(principal)
    problems: list[str] = []
    notice = _owner_not_applied(asked, q, principal)
    try:
        result = (tasks_service.list_tasks(session, org_id=principal.org_id, filters=filters,
                                           viewer=taskviews.viewer(principal), limit=PAGE_SIZE, cursor=cursor or None)
                  if filters is not None else None)
    except InputError as exc:  # a filter that can never match: said above the list, the form kept, as findings do
        result, problems = TaskPage(items=[], total=0), web_errors.list_problems(exc)
    manager = allowed(principal.role, Permission.TASKS_MANAGE)
    # owners by name, as the Owner filter offers them: the list had shown P-0005 beside "Ana Diaz (P-0005)"
    named = people.Names(session, org_id=principal.org_id, nobody="unassigned")
    return render(request, "tasks/list.html", principal=principal, title=VIEWS[q.view], active="tasks", view=q.view,
                  views=VIEWS, page=result, cursor=cursor, manager=manager, q=q, problems=problems, notice=notice,
                  pages=_page_links(q, result, cursor=cursor), owner_name=named,
                  export_url="/ui/tasks/export.csv?" + urllib.parse.urlencode(q.query()),
                  owners=_owners(session, principal.org_id, named) if manager else [],
                  severities=tasks_service.SEVERITIES, establishment=q.establishment,
                  establishments=lookups.establishments(session, org_id=principal.org_id))


def _owners(session: Session, org_id: str, named: people.Names) -> list[tuple[str, str]]:
    """Who owns tasks, as the Owner filter offers them: (owner, "Ana Diaz (P-0001)")."""
    return [(owner, named(owner)) for owner in tasks_service.task_owners(session, org_id=org_id)]


def _page_links(q: ListFilters, result: TaskPage | None, *, cursor: str | None) -> dict[str, str | None]:
    """The first, previous and next pages' addresses, each with every filter of this list."""

    def at(**extra: str | None) -> str:
        return "/ui/tasks?" + urllib.parse.urlencode(q.query(**extra))

    if result is None:
        return {"first": None, "prev": None, "next": None}
    prev = None
    if result.has_prev:  # a null prev_cursor: the page before is the first
        prev = at(cursor=result.prev_cursor) if result.prev_cursor else at()
    return {"first": at() if cursor else None, "prev": prev,
            "next": at(cursor=result.next_cursor) if result.next_cursor else None}


@router.get("/tasks/export.csv")
def export_tasks(request: Request, q: ListFilters = Depends(list_filters),
                 principal: Principal = Depends(page(Permission.TASKS_READ))) -> Response:
    """The tasks page's "Download CSV": every task of the list on screen (its view and filters), as
    the REST API's `GET /tasks/export.csv` writes it (the same function; staff get their own)."""
    filters = q.seen_by(principal).filters(principal)
    if filters is None:
        raise InputError("no task is assigned to you: your account is not linked to a person",
                         [ErrorDetail(reason="ask an administrator to link it", field="view")])
    viewer = taskviews.viewer(principal)
    return downloads.csv_download(
        request.app.state.engine, name=downloads.file_name("tasks", principal.org_id),
        lines=lambda s: tasks_export.tasks_csv(s, org_id=principal.org_id, filters=filters, viewer=viewer),
        spreadsheet=True)


@router.get("/tasks/{task_id}")
def task_detail(request: Request, task_id: str, principal: Principal = Depends(page(Permission.TASKS_READ)),
                session: Session = Depends(web_session, scope="function")) -> Response:
    task = tasks_service.get_task(session, org_id=principal.org_id, task_id=task_id,
                                  viewer=taskviews.viewer(principal))
    return render(request, "tasks/detail.html", principal=principal, title=task.title, active="tasks", t=task,
                  quoted_id=urllib.parse.quote(task.id, safe=""))


def _back(task_id: str) -> str:
    return f"/ui/tasks/{urllib.parse.quote(task_id, safe='')}"


@router.post("/tasks/{task_id}/check")
def check_item(task_id: str, step: int = Form(..., ge=1, le=1000), done: bool = Form(True),
               principal: Principal = Depends(action(Permission.TASKS_UPDATE)),
               session: Session = Depends(web_session, scope="function")) -> Response:
    """A step already so (ticked from another page a moment ago) is left as it is, and the message says
    by whom it was ticked rather than claim this request marked it."""
    task, changed = tasks_service.check_step(session, org_id=principal.org_id, task_id=task_id, step=step,
                                             actor=principal.actor, done=done, viewer=taskviews.viewer(principal))
    return redirect(_back(task_id) + f"#step-{step}", flash=_step_said(task, step, changed=changed))


def _step_said(task: Task, step: int, *, changed: bool) -> str:
    """What a tick did: "Step 2 marked done.", or that it was already so (by whom, since when)."""
    item = task.checklist[step - 1]
    state = "done" if item.done else "not done"
    if changed:
        return f"Step {step} marked {state}."
    by = (f" (by {item.done_by}, {item.done_at:%Y-%m-%d %H:%M} UTC)"
          if item.done and item.done_by and item.done_at else "")
    return f"Step {step} was already {state}{by}; nothing changed."


@router.post("/tasks/{task_id}/complete")
def complete(task_id: str, note: str = Form("", max_length=4000),
             principal: Principal = Depends(action(Permission.TASKS_UPDATE)),
             session: Session = Depends(web_session, scope="function")) -> Response:
    """Steps left unticked do not block completion; the message says how many, as the history does
    (it had said only "Task completed" while the history recorded "5 of 5 checklist steps not ticked")."""
    task = tasks_service.complete_task(session, org_id=principal.org_id, task_id=task_id, actor=principal.actor,
                                       viewer=taskviews.viewer(principal), note=note.strip() or None)
    unticked = sum(1 for item in task.checklist if not item.done)
    said = (f"Task completed; {unticked} of {len(task.checklist)} checklist step"
            f"{'' if len(task.checklist) == 1 else 's'} {'was' if unticked == 1 else 'were'} not ticked"
            if unticked else "Task completed")
    # as the CLI says it: a completion the records do not bear out is reopened, not confirmed
    then = tasks_service.after_completion(task)
    return redirect(_back(task_id), flash=f"{said}. {then[0].upper()}{then[1:]}.")


@router.post("/tasks/{task_id}/note")
def add_note(task_id: str, text: str = Form(..., max_length=4000),
             principal: Principal = Depends(action(Permission.TASKS_UPDATE)),
             session: Session = Depends(web_session, scope="function")) -> Response:
    tasks_service.add_note(session, org_id=principal.org_id, task_id=task_id, actor=principal.actor, text=text,
                           viewer=taskviews.viewer(principal))
    return redirect(_back(task_id), flash="Note added.")


@router.post("/tasks/{task_id}/evidence")
def attach(task_id: str, file: UploadFile = File(...), note: str = Form("", max_length=4000),
           principal: Principal = Depends(action(Permission.TASKS_UPDATE)),
           session: Session = Depends(web_session, scope="function")) -> Response:
    if not file.filename:
        raise InputError("choose a file to attach", [ErrorDetail(reason="no file", field="file")])
    att = tasks_service.attach_evidence(session, org_id=principal.org_id, task_id=task_id, actor=principal.actor,
                                        stream=file.file, filename=file.filename, note=note.strip() or None,
                                        viewer=taskviews.viewer(principal))
    return redirect(_back(task_id), flash=f"Attached {att.filename} ({evidence.size_text(att.size)}).")
