"""The UI's own CSS, JavaScript and icon: public, immutable for a release, served from a fixed list
(no path from the request ever reaches the file system)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, Response

from engine import __version__
from engine.api.deps import public
from engine.errors import NotFoundError

router = APIRouter()
STATIC = Path(__file__).resolve().parent.parent / "static"
MEDIA = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
FILES = {p.name: p for p in sorted(STATIC.iterdir()) if p.is_file() and p.suffix in MEDIA} if STATIC.is_dir() else {}


@router.get("/static/{name}", dependencies=[Depends(public())])
def static_file(name: str) -> Response:
    path = FILES.get(name)
    if path is None:
        raise NotFoundError(f"no static file {name!r}")
    return FileResponse(path, media_type=MEDIA[path.suffix],
                        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff",
                                 "ETag": f'"{__version__}-{int(path.stat().st_mtime)}"'})
