"""The officer's dashboard: what is wrong now and what is due soon, across sites."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.web import dashboard
from engine.web.deps import page, web_session
from engine.web.render import page as render

router = APIRouter()


@router.get("/dashboard")
def show(request: Request, principal: Principal = Depends(page(Permission.FINDINGS_READ)),
         session: Session = Depends(web_session, scope="function")) -> Response:
    view = dashboard.build(session, principal)
    return render(request, "dashboard/index.html", principal=principal, title="Dashboard", active="dashboard", d=view)
