"""Task pages: my tasks, overdue tasks, every task (managers), and a task's page with its SOP
checklist, notes, evidence upload and history. The forms call the tasks service like the REST API;
staff only ever see their own tasks (the service's TaskViewer)."""

from __future__ import annotations

import urllib.parse

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from engine.auth.roles import Permission, allowed
from engine.auth.schemas import Principal
from engine.errors import ErrorDetail, InputError
from engine.tasks import evidence
from engine.tasks import service as tasks_service
from engine.tasks.schemas import Task, TaskFilter
from engine.web import lookups, taskviews
from engine.web.deps import action, page, web_session
from engine.web.render import page as render
from engine.web.render import redirect

router = APIRouter()
VIEWS = {"mine": "My tasks", "overdue": "Overdue", "open": "All open", "done": "Done, awaiting confirmation",
         "closed": "Closed"}


@router.get("/tasks")
def list_tasks(request: Request, view: str = Query("mine", pattern="^(mine|overdue|open|done|closed)$"),
               establishment: str | None = Query(None, max_length=100),
               cursor: str | None = Query(None, max_length=400),
               principal: Principal = Depends(page(Permission.TASKS_READ)),
               session: Session = Depends(web_session, scope="function")) -> Response:
    """A manager of several sites works through one site's tasks at a time: `establishment` narrows
    any list to that site's tasks (org-wide tasks belong to no site and drop out)."""
    viewer = taskviews.viewer(principal)
    site = establishment or None
    if view == "mine":
        me = taskviews.mine(principal)
        filters = TaskFilter(state="open", owner=me, establishment_id=site) if me else None
    elif view == "overdue":
        filters = TaskFilter(overdue=True, establishment_id=site)
    else:
        filters = TaskFilter(state=view, establishment_id=site)
    result = (tasks_service.list_tasks(session, org_id=principal.org_id, filters=filters, viewer=viewer, limit=100,
                                       cursor=cursor or None)
              if filters is not None else None)
    return render(request, "tasks/list.html", principal=principal, title=VIEWS[view], active="tasks", view=view,
                  views=VIEWS, page=result, cursor=cursor, manager=allowed(principal.role, Permission.TASKS_MANAGE),
                  establishment=site, establishments=lookups.establishments(session, org_id=principal.org_id))


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
    return redirect(_back(task_id), flash=f"{said}. The next evaluation confirms it.")


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
