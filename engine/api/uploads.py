"""Uploaded files: spooled to a private temporary directory under the caller's file name, and the
server's temporary path never shown back.

The services name the files they read (`/tmp/tmpab12/packet.zip: not a readable zip file`); for an
upload that path is the server's business, and the caller knows the file by the name they sent.
Every error and report that comes back through `spooled` names the uploaded file instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from fastapi import Request, UploadFile

from engine.errors import ErrorDetail, ImportFormatError, InputError, VigilError

CHUNK = 1024 * 1024


def upload_name(upload: UploadFile, default: str) -> str:
    """The uploaded file's own name, without any directory part ('..' and the like: `default`)."""
    name = Path((upload.filename or "").replace("\\", "/")).name
    return name if name and name not in (".", "..") else default


@contextlib.contextmanager
def spooled(upload: UploadFile, *, default: str, limit: int | None = None) -> Iterator[tuple[Path, str]]:
    """The upload written to a temporary file (refused past `limit` bytes): yields (path, name).

    A VigilError raised inside names `name` wherever it named the temporary path."""
    name = upload_name(upload, default)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / name
        size = 0
        with target.open("wb") as out:
            while chunk := upload.file.read(CHUNK):
                size += len(chunk)
                if limit is not None and size > limit:
                    raise ImportFormatError("file too large", [ErrorDetail(reason=f"limit {limit} bytes", file=name)])
                out.write(chunk)
        try:
            yield target, name
        except VigilError as exc:
            hide_path(exc, {str(target): name, tmp: "(upload)"})
            raise


def hide_path(exc: VigilError, names: dict[str, str]) -> None:
    """Replace server paths in an error's message and details, in place."""

    def clean(text: str | None) -> str | None:
        if text is None:
            return None
        for path, shown in names.items():
            text = text.replace(path, shown)
        return text

    exc.message = clean(exc.message) or exc.message
    exc.args = (exc.message, *exc.args[1:])
    exc.details = [dataclasses.replace(d, reason=clean(d.reason) or d.reason, file=clean(d.file))
                   for d in exc.details]


def single_parts(*names: str, known: tuple[str, ...] = (), queried: tuple[str, ...] = ()
                 ) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing a multipart body that gives one of `names` more than once (422), and,
    given the parts the route reads (`known`), any other part, naming the query parameters
    (`queried`) a client may have meant to send as parts.

    FastAPI binds a repeated part to a single parameter by keeping the last: two evidence files sent
    in one request stored one of them and answered 201, and the other was lost without a word. It
    drops a part it has no parameter for as silently: `-F format=roster` imported the roster as
    generic CSV records, where `?format=xml` is a 422."""

    async def check(request: Request) -> None:
        if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            return
        form = await request.form()
        counts: dict[str, int] = {}
        for key, _ in form.multi_items():
            counts[key] = counts.get(key, 0) + 1
        repeated = [n for n in names if counts.get(n, 0) > 1]
        if repeated:
            raise InputError("a part is given more than once", [ErrorDetail(
                reason=f"sent {counts[n]} times: send one (one file per request)", field=n) for n in repeated])
        unknown = sorted(set(counts) - set(known)) if known else []
        if unknown and set(counts) & set(known):  # with none it reads, its missing file part is said first
            hint = f"; {', '.join(queried)} go in the query string" if queried else ""
            raise InputError("a part this route does not read", [ErrorDetail(
                reason=f"not a part of this upload (it reads {', '.join(known)}){hint}", field=n) for n in unknown])

    return check
