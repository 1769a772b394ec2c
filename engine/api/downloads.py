"""A list downloaded as CSV (the findings and tasks exports): one streamed response for the REST API
and the web UI, which call the same export functions (`engine.findings.export`, `engine.tasks.export`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from engine import clock
from engine.api.errors import attachment
from engine.db import unit_of_work

CSV_MEDIA = "text/csv; charset=utf-8"
#: bytes gathered before a chunk is sent: a line at a time was a thread hop per finding
CHUNK = 64 * 1024
#: what the OpenAPI document says a CSV export answers
CSV_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"description": "the CSV (UTF-8, a header row, CRLF line ends), as a download",
          "content": {"text/csv": {"schema": {"type": "string"}}}}}


def file_name(kind: str, org_id: str) -> str:
    """`findings-<org>-<date>.csv`: what was exported, for whom, on which (UTC) day."""
    return f"{kind}-{org_id}-{clock.now().date().isoformat()}.csv"


#: UTF-8's byte order mark: how Excel knows a CSV is UTF-8 (without it, Windows Excel reads
#: "Zoë" and "O’Brien" as "ZoÃ«" and "Oâ€™Brien")
BOM = "\ufeff"


def csv_download(engine: Engine, *, name: str, lines: Callable[[Session], Iterator[str]],
                 spreadsheet: bool = False) -> StreamingResponse:
    """The lines `lines(session)` makes, streamed as the download `name`, read in a session of its own.

    Why its own: the route's session (`get_session`, function scope) ends when the route returns,
    before a streamed body is sent, and the export reads its batches while it is sent; so it holds
    one unit of work of its own until the last line. The first line is made here, before the
    response starts: the export checks its filters then, so a bad one is the route's 422 (403
    outside a grant) rather than a download that breaks after it began.

    `spreadsheet`: the file starts with the UTF-8 byte order mark, for the web's "Download CSV", which
    a person opens in a spreadsheet; the REST API's export, read by programs, has none."""

    def body() -> Iterator[bytes]:
        with unit_of_work(engine) as session:
            produced = lines(session)
            yield b""  # the filters are checked: the response may start
            buffered: list[str] = [BOM] if spreadsheet else []
            size = 0
            for line in produced:
                buffered.append(line)
                size += len(line)
                if size >= CHUNK:
                    yield "".join(buffered).encode("utf-8")
                    buffered, size = [], 0
            yield "".join(buffered).encode("utf-8")

    stream = body()
    next(stream)  # raises the export's InputError / PermissionDeniedError now, in the route
    return StreamingResponse(stream, media_type=CSV_MEDIA, headers={
        "Content-Disposition": attachment(name), "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
