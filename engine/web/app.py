"""The web UI, mounted on the API's app under /ui (engine.api.app calls `install` when this module
exists). Every route declares its permission like the API's and calls the same service functions."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.responses import RedirectResponse, Response

from engine.api.deps import public
from engine.web import errors
from engine.web.head import HeadAsGet
from engine.web.routes import audit, auth, dashboard, findings, liaison, records, rulesets, static, tasks

ROUTERS = (static, auth, dashboard, findings, records, tasks, liaison, rulesets, audit)


def install(app: FastAPI) -> None:
    """Add the UI's routes and its error pages; "/" leads to the UI."""
    for module in ROUTERS:
        app.include_router(module.router, prefix="/ui", include_in_schema=False)
    errors.install(app)
    app.add_middleware(HeadAsGet)

    @app.get("/", include_in_schema=False, dependencies=[Depends(public())])
    def root() -> Response:
        return RedirectResponse("/ui/", status_code=303)

    @app.get("/ui", include_in_schema=False, dependencies=[Depends(public())])
    def ui_root() -> Response:
        return RedirectResponse("/ui/", status_code=303)
