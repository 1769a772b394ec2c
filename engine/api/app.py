"""The FastAPI application: REST API at the root, web UI under /ui, one service layer beneath."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine

from engine import __version__, storable_text
from engine import db as dbmod
from engine.api import errors, openapi
from engine.api.body_limit import BodyLimit
from engine.api.deps import public, reject_unknown_query
from engine.api.routes import auth, evaluations, findings, records, rulesets, users
from engine.errors import ErrorDetail

MAX_BODY_BYTES = 200 * 1024 * 1024
OPTIONAL_ROUTERS = ["engine.api.routes.tasks", "engine.api.routes.packets", "engine.api.routes.audit",
                    "engine.api.routes.reports", "engine.api.routes.params"]
OPTIONAL_UI = "engine.web.app"


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        dependencies=[Depends(reject_unknown_query)],
        title="Vigil",
        version=__version__,
        description="Compliance and governance rules engine for US medical practices. Errors are RFC 9457 "
        "problem details. Authenticate with a session cookie (POST /auth/login) or "
        "`Authorization: Bearer <token>` (POST /tokens).",
    )
    if engine is None:
        engine = dbmod.make_engine()
        dbmod.init_db(engine)
    app.state.engine = engine
    errors.install(app)

    # inside BodyLimit: a body over the limit is refused before this reads it
    @app.middleware("http")
    async def refuse_unstorable_text(request: Request, call_next):  # type: ignore[no-untyped-def]
        found = await _unstorable_text(request)
        if found:
            return errors.problem(422, "InputError", f"the request {found[0][1]}", "input.unstorable_text",
                                  [ErrorDetail(reason=reason, field=f).to_dict() for f, reason in found],
                                  str(request.url.path))
        return await call_next(request)

    # outermost: counts the body's bytes as they arrive, chunked or not (engine.api.body_limit)
    app.add_middleware(BodyLimit, limit=lambda: MAX_BODY_BYTES)

    @app.get("/health", tags=["health"], dependencies=[Depends(public())])
    def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    for module in (auth, records, evaluations, findings, rulesets, users):
        app.include_router(module.router)
    for name in OPTIONAL_ROUTERS:
        try:
            app.include_router(importlib.import_module(name).router)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    try:
        ui = importlib.import_module(OPTIONAL_UI)
        ui.install(app)
    except ModuleNotFoundError as exc:
        if exc.name != OPTIONAL_UI:
            raise

        @app.get("/", include_in_schema=False, dependencies=[Depends(public())])
        def root() -> Response:
            return RedirectResponse("/docs")

    openapi.install(app)
    return app


async def _unstorable_text(request: Request) -> list[tuple[str, str]]:
    """(where, why) of the text in a request no database can store (see `engine.storable_text`):
    in the path, the query parameters, and the fields of a JSON or form body. Multipart bodies
    (file uploads) are left to what reads them."""
    nul = storable_text.NUL_REASON
    if storable_text.in_urlencoded(request.scope.get("raw_path") or b""):
        return [("path", nul)]
    if storable_text.in_urlencoded(request.scope.get("query_string") or b""):
        return _with_nul(request.query_params.multi_items()) or [("query", nul)]
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        body = await request.body()
        if storable_text.in_json(body):
            try:
                return storable_text.problems(json.loads(body))
            except ValueError:  # not JSON: the route's own validation says so
                return []
    elif kind == "application/x-www-form-urlencoded":
        body = await request.body()
        if storable_text.in_urlencoded(body):
            return _with_nul(parse_qsl(body.decode("latin-1"), keep_blank_values=True)) or [("body", nul)]
    return []


def _with_nul(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(name, why) of the decoded form or query parameters whose name or value holds U+0000."""
    return [(k, storable_text.NUL_REASON) for k, v in pairs if storable_text.has_nul(k) or storable_text.has_nul(v)]
