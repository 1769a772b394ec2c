"""`vigil serve`: the REST API and the web UI (what `make demo` runs after its set-up)."""

from __future__ import annotations

import os

import typer

from engine.cli.app import app, err_console, run
from engine.cli.common import DbOpt, database_url, open_database, shown_url


def serve_app(host: str = "127.0.0.1", port: int = 8000, db: str | None = None) -> None:
    """Serve the database `db` (default: $DATABASE_URL, else ./vigil.db), created and migrated if need be.

    The URL is also put in DATABASE_URL, so every part of the server that opens the database by
    itself (background checks, the scheduler) opens this one."""
    import uvicorn

    from engine.api.app import create_app

    def body():  # type: ignore[no-untyped-def]
        url = database_url(db)
        return url, open_database(url, must_exist=False)

    url, engine = run(body)
    os.environ["DATABASE_URL"] = url
    err_console.print(f"database: {shown_url(url)}", highlight=False, markup=False, soft_wrap=True)
    uvicorn.run(create_app(engine), host=host, port=port, log_level="info")


@app.command("serve")
def serve(host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
          port: int = typer.Option(8000, "--port", min=1, max=65535, help="port to listen on"),
          db: DbOpt = None) -> None:
    """Serve the API (OpenAPI docs at /docs) and the web UI on HOST:PORT."""
    serve_app(host=host, port=port, db=db)
