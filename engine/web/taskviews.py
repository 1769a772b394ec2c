"""Whose tasks a signed-in person sees (the tasks service's `TaskViewer`) and the task lists pages
share. Managers (tasks.manage) see every task; anyone else sees the tasks they own, matched by the
person id their account is linked to or their username (as the REST API's tasks routes do)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.auth.schemas import Principal
from engine.tasks import service as tasks_service
from engine.tasks.schemas import TaskFilter, TaskSummary, TaskViewer


def viewer(principal: Principal) -> TaskViewer:
    return TaskViewer.of(principal)


def mine(principal: Principal) -> str | None:
    """The owner values that mean "me" in a task filter (comma-separated), or None when nobody."""
    owners = [x for x in (principal.user.person_id, principal.user.username) if x]
    return ",".join(owners) or None


def tasks_of_finding(session: Session, *, principal: Principal, finding_id: str) -> list[TaskSummary]:
    page = tasks_service.list_tasks(session, org_id=principal.org_id, filters=TaskFilter(finding_id=finding_id),
                                    viewer=viewer(principal), limit=20)
    return page.items
