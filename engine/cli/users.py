"""`vigil users add|list|grant|revoke|token`: accounts and auditor grants for setup and scripts."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table

from engine.cli.app import app, console, emit_json, run
from engine.cli.common import open_database, org_or_default, parse_instant

users_app = typer.Typer(help="Users, roles, auditor grants and API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")



@users_app.command("add")
def add(
    username: str,
    role: str = typer.Option(..., "--role", help="admin|officer|liaison|auditor|staff"),
    password: str = typer.Option(..., "--password", prompt=True, hide_input=True),
    name: str = typer.Option(None, "--name"),
    person: str = typer.Option(None, "--person", help="person record id"),
    org: str = typer.Option(None, "--org"),
    db: str = typer.Option(None, "--db"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a user (password stored as an argon2 hash)."""
    from engine.auth import service
    from engine.auth.schemas import UserIn
    from engine.db import unit_of_work

    def body():  # type: ignore[no-untyped-def]
        with unit_of_work(open_database(db)) as s:
            return service.create_user(
                s,
                org_id=org_or_default(org),
                actor="cli",
                data=UserIn(username=username, password=password, role=role, display_name=name, person_id=person),
            )

    user = run(body)
    emit_json(user.model_dump()) if as_json else console.print(f"created {user.username} ({user.role})")


@users_app.command("list")
def list_users(
    org: str = typer.Option(None, "--org"),
    db: str = typer.Option(None, "--db"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List users of the organization."""
    from engine.auth import service
    from engine.db import unit_of_work

    def body():  # type: ignore[no-untyped-def]
        with unit_of_work(open_database(db)) as s:
            return service.list_users(s, org_id=org_or_default(org))

    users = run(body)
    if as_json:
        emit_json([u.model_dump() for u in users])
        return
    table = Table("username", "role", "name", "person")
    for u in users:
        table.add_row(u.username, u.role, u.display_name, u.person_id or "")
    console.print(table)


@users_app.command("grant")
def grant(
    username: str,
    framework: str = typer.Option(..., "--framework"),
    window_from: str = typer.Option(..., "--from", help="audit window start YYYY-MM-DD"),
    window_to: str = typer.Option(..., "--to", help="audit window end YYYY-MM-DD"),
    expires: str = typer.Option(..., "--expires", help="instant the grant ends, with offset"),
    establishment: list[str] = typer.Option(None, "--establishment"),
    db: str = typer.Option(None, "--db"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Give an auditor read-only access to one framework and audit window."""
    from engine.auth import service
    from engine.auth.schemas import GrantIn
    from engine.db import unit_of_work

    def body():  # type: ignore[no-untyped-def]
        ends = parse_instant(expires, "--expires")
        assert ends is not None
        with unit_of_work(open_database(db)) as s:
            return service.grant_auditor(
                s,
                username=username,
                actor="cli",
                data=GrantIn(
                    framework=framework,
                    window_from=dt.date.fromisoformat(window_from),
                    window_to=dt.date.fromisoformat(window_to),
                    establishments=establishment or None,
                    expires_at=ends,
                ),
            )

    g = run(body)
    emit_json(g.model_dump(mode="json")) if as_json else console.print(
        f"grant {g.id}: {framework} {window_from}..{window_to}"
    )


@users_app.command("revoke")
def revoke(grant_id: str, db: str = typer.Option(None, "--db")) -> None:
    """Revoke an auditor grant."""
    from engine.auth import service
    from engine.db import unit_of_work

    def body() -> None:
        with unit_of_work(open_database(db)) as s:
            service.revoke_grant(s, grant_id=grant_id, actor="cli")

    run(body)
    console.print(f"revoked {grant_id}")


@users_app.command("token")
def token(
    username: str,
    name: str = typer.Option("cli", "--name"),
    days: int = typer.Option(90, "--days"),
    db: str = typer.Option(None, "--db"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Issue an API token for a user (printed once; stored hashed)."""
    from engine.auth import service
    from engine.db import unit_of_work

    def body():  # type: ignore[no-untyped-def]
        with unit_of_work(open_database(db)) as s:
            user = service.get_user(s, username=username)
            return service.issue_token(s, user_id=user.id, name=name, ttl=dt.timedelta(days=days), actor="cli")

    issued = run(body)
    emit_json(issued.model_dump(mode="json")) if as_json else console.print(issued.token)
