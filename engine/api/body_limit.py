"""The request body limit, enforced on the bytes that arrive and not only on what a client declares.

A body sent with `Transfer-Encoding: chunked` carries no Content-Length: checking the header alone
let any caller, signed in or not, make the server hold gigabytes while the JSON checks read it.
This sits outside every other middleware and counts what `receive` hands on; past the limit the
request ends with a 413 and the rest of the body is never read, whatever the app made of the stop
(a parser that caught it and answered 400 is not heard)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from engine.api import errors

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


#: Routes that take files or many records: the whole upload limit. A ruleset draft (YAML text) takes
#: up to `DOCUMENT_BYTES`, and every other body (a sign-in, a comment, a waiver, a web form) up to
#: `FORM_BYTES`: one 200 MB limit for all had let an anonymous `POST /auth/login` of 40 MB of `{}`
#: take 2.7 GB while the JSON checks parsed it (about 55 bytes held per byte sent).
BULK_PATHS = re.compile(r"^/(records|records/import|packets/verify|tasks/[^/]+/attachments|ui/tasks/[^/]+/evidence)$")
DOCUMENT_PATHS = re.compile(r"^/rulesets/")
DOCUMENT_BYTES = 16 * 1024 * 1024
FORM_BYTES = 1024 * 1024


def limit_for(path: str, upload_limit: int) -> int:
    """The body limit of a request to `path`, given the upload limit (never above it)."""
    if BULK_PATHS.match(path):
        return upload_limit
    return min(upload_limit, DOCUMENT_BYTES if DOCUMENT_PATHS.match(path) else FORM_BYTES)


class _TooLarge(Exception):
    """Raised out of `receive` once the body passes the limit; caught by `BodyLimit` alone."""


class BodyLimit:
    """ASGI middleware: 413 for a body over `limit()` bytes, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit  # read per request, so a test can lower it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(str(scope.get("path") or ""), self.limit())
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0
        over = started = False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if over and not started:
                # the app's own answer to a body it could not finish reading: the multipart parser
                # catches the stop, and FastAPI answered "400 There was an error parsing the body"
                # to a chunked upload over the limit. The 413 below is sent instead
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if started:  # a response already under way cannot become a 413: end the connection
                raise
        if over and not started:
            await self._refuse(scope, receive, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        request = Request(scope, receive)
        response = await errors.refusal(request, 413, "Request body too large",
                                        f"request body over {limit:,} bytes: send less in one request",
                                        "input.too_large")
        await response(scope, receive, send)
