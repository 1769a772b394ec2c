"""`vigil serve`: the REST API and the web UI (what `make demo` runs after its set-up), and with
`--scheduler` the scheduler beside them in the same process."""

from __future__ import annotations

import errno
import os
import socket
import threading

import typer

from engine.cli.app import app, err_console, run
from engine.cli.common import DbOpt, database_url, open_database, shown_url
from engine.errors import ErrorDetail, InputError

#: how long a stopping server waits for a scheduler job in flight before leaving it to its lease
SCHEDULER_STOP_S = 60.0


def check_listen(host: str, port: int) -> None:
    """Raise InputError when this process could not listen on HOST:PORT (another program holds the
    port, or the address is not this machine's), before anything is set up.

    Why: uvicorn found out only after start-up, logged "[Errno 98] ... address already in use" and
    exited with 3; `make demo` had spent its whole set-up first. A port taken between this check and
    uvicorn's own bind is still reported by uvicorn."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise InputError(f"cannot listen on {host!r}", [ErrorDetail(
            field="host", reason=f"not an address of this machine ({exc.strerror}); try 127.0.0.1")]) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                detail = ErrorDetail(field="port", reason=f"port {port} on {host} is in use by another program: "
                                                          f"stop it, or pass another --port")
            else:
                detail = ErrorDetail(field="host", reason=f"cannot listen on {host}:{port}: {exc.strerror}")
            raise InputError(f"cannot serve on {host}:{port}", [detail]) from None


def settings_in_use() -> None:
    """Refuse to start on a VIGIL_RULESETS_DIR or VIGIL_POLICIES_DIR that does not exist, a
    VIGIL_PRACTICE_PARAMS in a folder that does not exist, or a VIGIL_SESSION_IDLE_MINUTES that is
    not minutes. The first three had been read as "none" (no rulesets, no SOPs, default parameters)
    while the server answered normally, the last as the default. (A parameters file not there yet
    is made by the first change.)"""
    from engine.auth.service import check_session_idle_setting
    from engine.rules.catalog import policies_dir, practice_params_path, rulesets_dir

    rulesets_dir()
    policies_dir()
    practice_params_path()
    check_session_idle_setting()


def serve_app(host: str = "127.0.0.1", port: int = 8000, db: str | None = None,
              scheduler_orgs: list[str] | None = None) -> None:
    """Serve the database `db` (default: $DATABASE_URL, else ./vigil.db), created and migrated if need be.

    The URL is also put in DATABASE_URL, so every part of the server that opens the database by
    itself (background checks, the scheduler) opens this one. `scheduler_orgs` (an empty list: the
    scheduler's own default) runs the scheduler in a thread for those practices: one process for a
    small practice, where a second one to keep alive is one thing more to forget. It takes the same
    leader lock as `vigil scheduler run`, so a separate scheduler process only stands by."""
    import uvicorn

    from engine.api.app import create_app

    def body():  # type: ignore[no-untyped-def]
        check_listen(host, port)
        settings_in_use()
        url = database_url(db)
        return url, open_database(url, must_exist=False)

    url, engine = run(body)
    os.environ["DATABASE_URL"] = url
    err_console.print(f"database: {shown_url(url)}", highlight=False, markup=False, soft_wrap=True)
    stop = threading.Event()
    worker = None
    if scheduler_orgs is not None:
        from engine import scheduler
        from engine.cli.common import org_to_write
        from engine.cli.scheduler import held_org

        # a named practice must be one the database holds (`vigil scheduler run` refuses a typo too)
        def held(name: str) -> str:
            return run(lambda: held_org(engine, name, "--org"))

        orgs = [held(o) for o in scheduler_orgs] if scheduler_orgs else [run(lambda: org_to_write(engine, None))]
        err_console.print(f"scheduler: {', '.join(orgs)}", highlight=False, markup=False, soft_wrap=True)
        worker = threading.Thread(target=scheduler.run, name="vigil-scheduler", daemon=True,
                                  kwargs={"orgs": orgs, "stop": stop, "engine": engine})
        worker.start()
    try:
        uvicorn.run(create_app(engine), host=host, port=port, log_level="info")
    finally:
        stop.set()
        if worker is not None:
            worker.join(SCHEDULER_STOP_S)


@app.command("serve")
def serve(host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
          port: int = typer.Option(8000, "--port", min=1, max=65535, help="port to listen on"),
          with_scheduler: bool = typer.Option(False, "--scheduler", help="also run the scheduler (nightly sweep, "
                                              "waivers, recurrence, escalation, digests, delivery) in this process"),
          org: list[str] = typer.Option(None, "--org", help="with --scheduler: practice to serve (repeat; default as "
                                                            "`vigil scheduler run`)"),
          db: DbOpt = None) -> None:
    """Serve the API (OpenAPI docs at /docs) and the web UI on HOST:PORT."""
    from engine.cli.scheduler import orgs_named

    if org and not with_scheduler:
        err_console.print("[bold red]error[/] --org names the practices of --scheduler: add --scheduler",
                          highlight=False)
        raise typer.Exit(code=2)
    serve_app(host=host, port=port, db=db, scheduler_orgs=(orgs_named(org) or []) if with_scheduler else None)
