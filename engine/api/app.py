"""The FastAPI application: REST API at the root, web UI under /ui, one service layer beneath."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qsl

import fastapi_offline
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine import __version__, storable_text
from engine import db as dbmod
from engine.api import errors, openapi
from engine.api.body_limit import BodyLimit
from engine.api.deps import public, reject_repeated_keys, reject_unknown_query
from engine.api.routes import (
    audit,
    auth,
    evaluations,
    findings,
    packets,
    params,
    records,
    reports,
    rulesets,
    tasks,
    users,
)
from engine.errors import ErrorDetail, InputError, NotFoundError

MAX_BODY_BYTES = 200 * 1024 * 1024


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        docs_url=None,  # served from this package's own copy below (install_docs), not a CDN
        redoc_url=None,
        dependencies=[Depends(reject_unknown_query), Depends(reject_repeated_keys)],
        title="Vigil",
        version=__version__,
        description="Compliance and governance rules engine for US medical practices. Errors are RFC 9457 "
        "problem details. Authenticate with a session cookie (POST /auth/login) or "
        "`Authorization: Bearer <token>` (POST /tokens).",
    )
    if engine is None:
        from engine import pipeline

        engine = dbmod.make_engine()
        change = pipeline.upgrade_database(engine)
        if change is not None:
            logging.getLogger("vigil").warning("upgraded the database's schema from %s to %s (Vigil %s)",
                                               change.before, change.after, __version__)
    app.state.engine = engine
    errors.install(app)

    # inside BodyLimit: a body over the limit is refused before this reads it
    @app.middleware("http")
    async def refuse_unstorable_text(request: Request, call_next):  # type: ignore[no-untyped-def]
        found = await _unstorable_text(request)
        if found:
            return await errors.refusal(request, 422, errors.TITLES[InputError], f"the request {found[0][1]}",
                                        "input.unstorable_text",
                                        [ErrorDetail(reason=reason, field=f).to_dict() for f, reason in found])
        return await call_next(request)

    # outermost: counts the body's bytes as they arrive, chunked or not (engine.api.body_limit)
    app.add_middleware(BodyLimit, limit=lambda: MAX_BODY_BYTES)
    app.add_middleware(SecurityHeaders)

    @app.get("/health", tags=["health"], dependencies=[Depends(public())],
             responses={503: {"description": "the database does not answer (`Retry-After`)"}})
    def health() -> JSONResponse:
        """Whether the server can serve: it answers, and so does its database. A load balancer or
        monitor had seen 200 "ok" with the database gone, while every other request was a 503."""
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (OperationalError, PoolTimeout) as exc:
            cause = getattr(exc, "orig", None) or exc
            logging.getLogger("vigil").warning("/health: the database does not answer: %s",
                                               str(cause).splitlines()[0] if str(cause) else type(cause).__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable", "version": __version__},
                                status_code=503, headers={"Retry-After": errors.RETRY_AFTER})
        return JSONResponse({"status": "ok", "database": "ok", "version": __version__})

    @app.head("/health", include_in_schema=False, dependencies=[Depends(public())])
    def health_head() -> Response:
        """GET /health's status and headers without its body: the operations guide checks a server
        with `curl -skI https://HOST/health`, which had been answered 405."""
        answer = health()
        return Response(status_code=answer.status_code, headers=dict(answer.headers))

    for module in (auth, records, evaluations, findings, rulesets, users, tasks, packets, audit, reports, params):
        app.include_router(module.router)
    from engine.web import app as web  # the web UI is a face over the same app: it needs its routes registered

    web.install(app)

    install_docs(app)
    openapi.install(app)
    return app


class SecurityHeaders:
    """`Cache-Control: no-store` and `X-Content-Type-Options: nosniff` on every response that does
    not say otherwise, and `Strict-Transport-Security` on HTTPS.

    The pages sent them, but the API's JSON (records with names and birth dates, a login's answer,
    the one-time token of POST /tokens) and its downloads (packets, task attachments) did not: a
    shared browser's or proxy's cache could keep them, and a download could be sniffed as HTML.
    A response that sets its own Cache-Control (the static files) keeps it. Whether a request came
    over HTTPS is the ASGI scheme, which uvicorn takes from X-Forwarded-Proto only when the proxy is
    one it trusts (--forwarded-allow-ips, FORWARDED_ALLOW_IPS; 127.0.0.1 by default)."""

    HSTS = "max-age=31536000"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if https and b"strict-transport-security" not in names:
                    headers.append((b"strict-transport-security", self.HSTS.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


#: the API documentation's scripts and styles, from the pinned `fastapi-offline` package (Swagger UI
#: 5 and Redoc 2), served by Vigil itself: loaded from a CDN (a floating major version, no
#: integrity check) they had run on Vigil's origin with a signed-in officer's rights, and the docs
#: did not load offline
DOCS_ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
_DOC_FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
              "redoc.standalone.js": "text/javascript"}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _docs_page(page: HTMLResponse) -> HTMLResponse:
    """A documentation page with a Content-Security-Policy: its own origin's scripts and the page's
    one inline script (by its hash), nothing from elsewhere."""
    body = bytes(page.body).decode()
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(m.encode()).digest()).decode()}'"
                      for m in _INLINE_SCRIPT.findall(body))
    response = HTMLResponse(body)
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def install_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc, with their assets under /docs/assets/, all from this server."""
    assert app.openapi_url is not None

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(public())])
    def swagger_ui() -> HTMLResponse:
        return _docs_page(get_swagger_ui_html(
            openapi_url=str(app.openapi_url), title=f"{app.title} API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js", swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/ui/static/favicon.svg"))

    @app.get("/redoc", include_in_schema=False, dependencies=[Depends(public())])
    def redoc() -> HTMLResponse:
        return _docs_page(get_redoc_html(
            openapi_url=str(app.openapi_url), title=f"{app.title} API",
            redoc_js_url="/docs/assets/redoc.standalone.js", redoc_favicon_url="/ui/static/favicon.svg",
            with_google_fonts=False))

    @app.get("/docs/assets/{name}", include_in_schema=False, dependencies=[Depends(public())])
    def docs_asset(name: str) -> Response:
        if name not in _DOC_FILES:
            raise NotFoundError(f"no documentation file {name[:100]!r}")
        return FileResponse(DOCS_ASSETS / name, media_type=_DOC_FILES[name],
                            headers={"Cache-Control": "public, max-age=86400"})


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
            except (ValueError, RecursionError):  # not JSON, or nested too deeply: the route's own parse says so
                return []
    elif kind == "application/x-www-form-urlencoded":
        body = await request.body()
        if storable_text.in_urlencoded(body):
            return _with_nul(parse_qsl(body.decode("latin-1"), keep_blank_values=True)) or [("body", nul)]
    return []


def _with_nul(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(name, why) of the decoded form or query parameters whose name or value holds U+0000."""
    return [(k, storable_text.NUL_REASON) for k, v in pairs if storable_text.has_nul(k) or storable_text.has_nul(v)]
