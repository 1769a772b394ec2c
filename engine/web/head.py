"""HEAD on the UI's pages: FastAPI's routes take only the methods they declare, so every page
answered a browser's or link checker's HEAD with 405."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.web.render import PREFIX


class HeadAsGet:
    """Answer HEAD on the UI's paths (and "/", which leads there) as GET without the body: the same
    status and headers, Content-Length included, as RFC 9110 allows. The API's paths keep FastAPI's
    behaviour (405 unless a route declares HEAD)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "HEAD" or not (
                path in ("/", PREFIX) or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
