"""`vigil serve`: the REST API and the web UI (what `make demo` runs after its set-up)."""

from __future__ import annotations

import typer

from engine.cli.app import app


def serve_app(host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    from engine.api.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="info")


@app.command("serve")
def serve(host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
          port: int = typer.Option(8000, "--port", min=1, max=65535, help="port to listen on")) -> None:
    """Serve the API (OpenAPI docs at /docs) and the web UI on HOST:PORT."""
    serve_app(host=host, port=port)
