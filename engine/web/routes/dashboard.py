"""The officer's dashboard: what is wrong now and what is due soon, across sites."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.web import dashboard
from engine.web.deps import page, web_session
from engine.web.render import page as render

router = APIRouter()


@router.get("/dashboard")
def show(request: Request, expiring: str = Query("", pattern="^(all)?$"),
         establishment: str | None = Query(None, max_length=100),
         principal: Principal = Depends(page(Permission.FINDINGS_READ)),
         session: Session = Depends(web_session, scope="function")) -> Response:
    """`?expiring=all` lists every credential expiring in the next 90 days, where the panel shows the
    soonest few: the rest stay one click away instead of a page of their own. `?establishment=E1`
    focuses the dashboard on one site. An empty `expiring` is the panel as it opens, as an empty
    filter is elsewhere; another value is refused naming the one offered (it said "Input should be
    'all'")."""
    view = dashboard.build(session, principal, all_expiries=expiring == "all", establishment=establishment or None)
    return render(request, "dashboard/index.html", principal=principal, title="Dashboard", active="dashboard", d=view,
                  expiry_rows=dashboard.EXPIRY_ROWS)
