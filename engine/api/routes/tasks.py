"""SOP tasks: list with filters, detail, complete, check off steps, notes, evidence upload and download,
reassignment. Staff see and act on their own tasks only; the services apply that, not just the routes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlalchemy.orm import Session

from engine.api import downloads, uploads
from engine.api.deps import get_session, require
from engine.api.errors import attachment
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.json_body import JsonBody
from engine.tasks import export as tasks_export
from engine.tasks import service as tasks_service
from engine.tasks import sniff
from engine.tasks.schemas import Task, TaskAttachment, TaskFilter, TaskPage, TaskViewer

router = APIRouter(tags=["tasks"])


class CompleteIn(JsonBody):
    note: str | None = Field(default=None, max_length=4000, examples=["training booked and recorded"])


class NoteIn(JsonBody):
    text: str = Field(min_length=1, max_length=4000, examples=["called HR, certificate on the way"])


class CheckIn(JsonBody):
    done: bool = True


class AssignIn(JsonBody):
    owner: str = Field(min_length=1, max_length=200, examples=["P-0002"])


def task_filters(state: str | None = None,
                 owner: str | None = Query(None, description="person ids or usernames, comma-separated; either "
                                                             "name of a person finds the tasks owned under both"),
                 sop: str | None = None, kind: str | None = None,
                 finding: str | None = None, establishment: str | None = None, overdue: bool | None = None,
                 severity: str | None = Query(None, description="the severities of the tasks' findings, "
                                                                "comma-separated: critical, high, medium, low "
                                                                "(a recurring task has none)")) -> TaskFilter:
    """The tasks list's filters, as `GET /tasks` and its CSV export both take them."""
    return TaskFilter(state=state, owner=owner, sop=sop, kind=kind, finding_id=finding,
                      establishment_id=establishment, overdue=overdue, severity=severity)


def tasks_page(limit: int = Query(100, ge=1, le=1000), cursor: str | None = None) -> tuple[int, str | None]:
    """Which page of the list (`limit`, `cursor`): `GET /tasks` pages, its CSV export does not. A
    dependency after the filters', so the OpenAPI document lists the filters first, as it always has."""
    return limit, cursor


@router.get("/tasks", response_model=TaskPage)
def list_tasks(filters: TaskFilter = Depends(task_filters), paging: tuple[int, str | None] = Depends(tasks_page),
               principal: Principal = Depends(require(Permission.TASKS_READ)),
               session: Session = Depends(get_session, scope="function")) -> TaskPage:
    """Tasks by due date; filters take comma-separated values; `overdue=true` for open tasks past due."""
    limit, cursor = paging
    return tasks_service.list_tasks(session, org_id=principal.org_id, filters=filters, viewer=TaskViewer.of(principal),
                                    limit=limit, cursor=cursor)


@router.get("/tasks/export.csv", response_class=StreamingResponse, responses=downloads.CSV_RESPONSE)
def export_tasks(request: Request, filters: TaskFilter = Depends(task_filters),
                 principal: Principal = Depends(require(Permission.TASKS_READ))) -> StreamingResponse:
    """Every task `GET /tasks` would list with the same filters, by due date, as one CSV download
    (`tasks-<org>-<date>.csv`; columns in docs/tasks.md), read in batches however many there are.
    Staff get their own tasks only, as on the list; a filter that can match nothing is a 422 before
    the download starts."""
    viewer = TaskViewer.of(principal)
    return downloads.csv_download(
        request.app.state.engine, name=downloads.file_name("tasks", principal.org_id),
        lines=lambda s: tasks_export.tasks_csv(s, org_id=principal.org_id, filters=filters, viewer=viewer))


@router.get("/tasks/{task_id}", response_model=Task)
def get_task(task_id: str, principal: Principal = Depends(require(Permission.TASKS_READ)),
             session: Session = Depends(get_session, scope="function")) -> Task:
    """A task with its checklist, notes, evidence, escalations and history."""
    return tasks_service.get_task(session, org_id=principal.org_id, task_id=task_id, viewer=TaskViewer.of(principal))


@router.post("/tasks/{task_id}/complete", response_model=Task)
def complete_task(task_id: str, body: CompleteIn | None = None,
                  principal: Principal = Depends(require(Permission.TASKS_UPDATE)),
                  session: Session = Depends(get_session, scope="function")) -> Task:
    """Mark the task done: a finding's task is confirmed by the next evaluation, or reopened if the
    finding is still there; a recurring task is done for its period."""
    return tasks_service.complete_task(session, org_id=principal.org_id, task_id=task_id, actor=principal.actor,
                                       viewer=TaskViewer.of(principal), note=body.note if body else None)


@router.post("/tasks/{task_id}/steps/{step}", response_model=Task)
def check_item(task_id: str,
               step: int = Path(ge=1, description="the checklist step's number, 1..N, as the task page and the "
                                                  "history number it (a checklist item's `step`)"),
               body: CheckIn | None = None,
               principal: Principal = Depends(require(Permission.TASKS_UPDATE)),
               session: Session = Depends(get_session, scope="function")) -> Task:
    """Tick (or untick with `done: false`) checklist step `step`, numbered from 1.

    Replaces `POST /tasks/{task_id}/checklist/{index}`, which counted from 0: that route is gone (404)
    so an old client fails rather than tick the step after the one it meant."""
    return tasks_service.check_item(session, org_id=principal.org_id, task_id=task_id, step=step,
                                    actor=principal.actor, done=body.done if body else True,
                                    viewer=TaskViewer.of(principal))


@router.post("/tasks/{task_id}/notes", response_model=Task, status_code=201)
def add_note(task_id: str, body: NoteIn, principal: Principal = Depends(require(Permission.TASKS_UPDATE)),
             session: Session = Depends(get_session, scope="function")) -> Task:
    """Add a note (kept, never edited)."""
    return tasks_service.add_note(session, org_id=principal.org_id, task_id=task_id, actor=principal.actor,
                                  text=body.text, viewer=TaskViewer.of(principal))


@router.post("/tasks/{task_id}/attachments", response_model=TaskAttachment, status_code=201)
def attach(task_id: str, file: UploadFile = File(...), note: str | None = Form(default=None, max_length=4000),
           principal: Principal = Depends(require(Permission.TASKS_UPDATE)),
           _single: None = Depends(uploads.single_parts("file", "note", known=("file", "note"))),  # after sign-in
           session: Session = Depends(get_session, scope="function")) -> TaskAttachment:
    """Upload evidence (multipart `file`): stored by SHA-256, size-limited, type sniffed from the content."""
    return tasks_service.attach_evidence(session, org_id=principal.org_id, task_id=task_id, actor=principal.actor,
                                         stream=file.file, filename=file.filename or "evidence", note=note,
                                         viewer=TaskViewer.of(principal))


@router.get("/tasks/{task_id}/attachments/{ref}", response_class=StreamingResponse, responses={
    200: {"description": "the file, with the media type sniffed from its content when it was stored (text with "
                         "its charset, e.g. `text/plain; charset=windows-1252`)",
          "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in sniff.DOCUMENT_TYPES}}})
def download(task_id: str,
             ref: str = Path(description="the attachment's `id`, or the sha256 of its bytes (the first "
                                         "attachment of those bytes, as older links name it)"),
             principal: Principal = Depends(require(Permission.TASKS_READ)),
             session: Session = Depends(get_session, scope="function")) -> StreamingResponse:
    """The bytes of an attachment, as a download with the media type sniffed when it was stored, under
    the name it was attached with (by id: the same bytes attached under two names are stored once)."""
    by_id = ref.isascii() and ref.isdigit() and len(ref) <= 18  # "²" is a digit to isdigit(), not to int()
    att = tasks_service.get_attachment(session, org_id=principal.org_id, task_id=task_id,
                                       attachment_id=int(ref) if by_id else None, sha256=None if by_id else ref,
                                       viewer=TaskViewer.of(principal))
    stream = tasks_service.open_evidence(att.sha256)
    return StreamingResponse(stream, media_type=att.media_type, headers={
        "Content-Disposition": attachment(att.filename),
        "X-Content-Type-Options": "nosniff", "Content-Length": str(att.size),
        # opened in the browser all the same (an .html or .svg someone attached), it runs nothing and
        # reaches nothing of the site's: a security pass found the download was its only guard
        "Content-Security-Policy": "sandbox; default-src 'none'"})


@router.post("/tasks/{task_id}/assign", response_model=Task)
def assign(task_id: str, body: AssignIn, principal: Principal = Depends(require(Permission.TASKS_MANAGE)),
           session: Session = Depends(get_session, scope="function")) -> Task:
    """Give the task to another person."""
    return tasks_service.reassign_task(session, org_id=principal.org_id, task_id=task_id, owner=body.owner,
                                       actor=principal.actor)
