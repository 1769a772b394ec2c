"""`vigil users add|list|grant|revoke|token|deactivate|activate|passwd|unlock`: accounts and auditor
grants for setup and scripts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from engine import timefmt
from engine.cli import tables
from engine.cli.app import app, console, emit_json, err_console, run
from engine.cli.common import (
    DbOpt,
    JsonOpt,
    OrgOpt,
    cli_actor,
    open_database,
    open_org,
    org_or_default,
    org_to_write,
    parse_date,
    parse_instant,
)
from engine.errors import NotFoundError

users_app = typer.Typer(help="Users, roles, auditor grants and API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")

UserArg = Annotated[str, typer.Argument(metavar="USERNAME", help="the login name")]
MAX_TOKEN_DAYS = 3650
_T = TypeVar("_T")


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(metavar="USERNAME",
                                            help="login name: 2-120 letters, digits or _ . @ -")],
    role: Annotated[str, typer.Option("--role", help="admin|officer|liaison|auditor|staff")],
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True,
                                          help="at least 10 characters, not a common word or a run of keys "
                                               "(prompted when left out)")],
    name: Annotated[str | None, typer.Option("--name", help="display name (default: the username)")] = None,
    person: Annotated[str | None, typer.Option("--person", help="person record id")] = None,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user (password stored as an argon2 hash); a SQLite database file that does not exist yet is
    created (a PostgreSQL database must exist)."""
    from engine.auth import service
    from engine.auth.schemas import UserIn
    from engine.db import unit_of_work

    def body():  # type: ignore[no-untyped-def]
        org_or_default(org)  # an empty --org is refused before the database is opened
        data = UserIn(username=username, password=password, role=role, display_name=name, person_id=person)
        engine = open_database(db, must_exist=False)
        org_id = org_to_write(engine, org)
        with unit_of_work(engine) as s:
            return service.create_user(s, org_id=org_id, actor=cli_actor(), data=data)

    user = run(body)
    emit_json(user.model_dump()) if as_json else console.print(f"created {user.username} ({user.role})")


@users_app.command("list")
def list_users(org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List users of the organization."""
    from engine.auth import service

    users = _in_org(db, org, lambda s, org_id: service.list_users(s, org_id=org_id))
    if as_json:
        emit_json([u.model_dump() for u in users])
        return
    listing = tables.table(tables.keep("username"), tables.keep("role"), tables.squeeze("name"), tables.keep("person"),
                           tables.keep("active"), stacked_rows=False)
    for u in users:
        listing.add_row(u.username, u.role, tables.Clamp(u.display_name or ""), u.person_id or "",
                        "yes" if u.active else "no")
    console.print(listing)


@users_app.command("grant")
def grant(
    username: UserArg,
    framework: Annotated[str, typer.Option("--framework", help="the one framework the auditor may read, e.g. hipaa")],
    window_from: Annotated[str, typer.Option("--from", help="audit window start YYYY-MM-DD")],
    window_to: Annotated[str, typer.Option("--to", help="audit window end YYYY-MM-DD")],
    expires: Annotated[str, typer.Option("--expires", help="instant the grant ends, with offset, "
                                                         "e.g. 2026-12-31T23:59:59Z")],
    establishment: Annotated[list[str] | None, typer.Option(
        "--establishment", help="limit to these establishment ids (repeatable; default: all)")] = None,
    phi: Annotated[str, typer.Option(
        "--phi", help="what the auditor sees of patients: full, or pseudonymised (every patient identifier a "
                      "pseudonym stable for the grant; only PHI-redacted packets)")] = "full",
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give an auditor read-only access to one framework and audit window."""
    from engine.auth import service
    from engine.auth.schemas import GrantIn
    from engine.db import unit_of_work

    def body():  # type: ignore[no-untyped-def]
        ends = parse_instant(expires, "--expires")
        start, end = parse_date(window_from, "--from"), parse_date(window_to, "--to")
        assert ends is not None and start is not None and end is not None
        # validated as the API's body is: a value other than full/pseudonymised exits 2 naming --phi
        data = GrantIn.model_validate({"framework": framework, "window_from": start, "window_to": end,
                                       "establishments": establishment or None, "expires_at": ends, "phi": phi})
        with unit_of_work(open_database(db, must_exist=True)) as s:
            return service.grant_auditor(s, username=username, actor=cli_actor(), data=data)

    g = run(body, fields={"phi": "--phi"})
    where = f" at {', '.join(g.establishments)}" if g.establishments else ""
    where += ", patients pseudonymised" if g.phi == "pseudonymised" else ""
    emit_json(g.model_dump(mode="json")) if as_json else console.print(
        f"grant {g.id}: {framework} {window_from}..{window_to}{where}, until {g.expires_at.isoformat()} "
        f"(replaces any grant {username} held, and ends their sessions and tokens made before it)"
    )


@users_app.command("grants")
def grants(username: UserArg, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List an auditor's grants, newest first: the one in force and those that ended."""
    from engine import clock
    from engine.auth import service
    from engine.db import unit_of_work

    def body() -> list[Any]:
        with unit_of_work(open_database(db, must_exist=True)) as s:
            return service.list_grants(s, username=username)

    found = run(body)
    if as_json:
        emit_json([g.model_dump(mode="json") for g in found])
        return
    now = clock.now()
    # two values a cell, the instants as people read them: at 80 columns the status had wrapped one
    # character a line, its expiry written to the microsecond
    listing = tables.table(tables.keep("grant\nframework"), tables.keep("window\npatients"),
                           tables.squeeze("sites"), tables.keep("status"))
    for g in found:
        status = (("revoked", timefmt.utc_text(g.revoked_at)) if g.revoked_at is not None
                  else ("expired", timefmt.utc_text(g.expires_at)) if g.expires_at <= now
                  else ("in force until", timefmt.utc_text(g.expires_at)))
        listing.add_row(tables.stacked(g.id, g.framework), tables.stacked(f"{g.window_from}..{g.window_to}", g.phi),
                        tables.Clamp(", ".join(g.establishments) if g.establishments else "all", 2),
                        tables.stacked(*status))
    console.print(listing if found else f"{username} has no grants")


@users_app.command("revoke")
def revoke(grant_id: Annotated[str, typer.Argument(metavar="GRANT_ID", help="the grant's id (G-...)")],
           db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke an auditor grant."""
    from engine.auth import service
    from engine.db import unit_of_work

    def body() -> None:
        with unit_of_work(open_database(db, must_exist=True)) as s:
            service.revoke_grant(s, grant_id=grant_id, actor=cli_actor())

    run(body)
    if as_json:  # revoke_grant returns nothing to print; say what was done
        emit_json({"id": grant_id, "revoked": True})
        return
    console.print(f"revoked {grant_id}")


@users_app.command("token")
def token(
    username: UserArg,
    name: Annotated[str, typer.Option("--name", help="a label for the token (shown in token lists)")] = "cli",
    days: Annotated[int, typer.Option("--days", min=1, max=MAX_TOKEN_DAYS,
                                      help=f"days until the token expires (1-{MAX_TOKEN_DAYS})")] = 90,
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue an API token for a user of the organization (printed once; stored hashed)."""
    from engine.auth import service

    issued = _in_org(db, org, lambda s, org_id: service.issue_token(
        s, user_id=_org_user(s, username, org_id).id, name=name, ttl=dt.timedelta(days=days), actor=cli_actor()))
    if issued.note:  # an auditor's token ends with their grant: say so, as it is shorter than asked for
        err_console.print(f"note: {issued.note}", highlight=False, markup=False, soft_wrap=True)
    emit_json(issued.model_dump(mode="json")) if as_json else console.print(issued.token)


def _in_org(db: str | None, org: str | None, work: Callable[[Any, str], _T]) -> _T:
    """`work(session, org_id)` in one unit of work on the organization the options name, its errors
    reported as every command's are (`run`)."""
    from engine.db import unit_of_work

    def body() -> _T:
        engine, org_id = open_org(db, org)
        with unit_of_work(engine) as s:
            return work(s, org_id)

    return run(body)


def _org_user(session: Any, username: str, org_id: str) -> Any:
    """The user of that name in the organization: one of another organization does not exist here."""
    from engine.auth import service

    user = service.get_user(session, username=username)
    if user.org_id != org_id:
        raise NotFoundError(f"no user {username!r}")
    return user


@users_app.command("tokens")
def tokens(username: UserArg, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List a user's API tokens, never their secrets (as GET /users/{username}/tokens); revoke one
    with `vigil users revoke-token TOKEN_ID`."""
    from engine.auth import service

    found = _in_org(db, org, lambda s, org_id: service.list_tokens(s, user_id=_org_user(s, username, org_id).id))
    if as_json:
        emit_json([t.model_dump(mode="json") for t in found])
        return
    listing = tables.table(tables.keep("token"), tables.squeeze("name"), tables.keep("expires"),
                           tables.keep("state"), stacked_rows=False)
    for t in found:
        state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "in force"
        listing.add_row(t.id, t.name, f"{t.expires_at:%Y-%m-%d %H:%M}Z", state)
    console.print(listing if found else f"{username} has no API tokens")


@users_app.command("revoke-token")
def revoke_token(token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID", help="the token's id (`vigil users "
                                                                                  "tokens USERNAME`)")],
                 org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke a user's API token now (as DELETE /tokens/{id}); a token already revoked is a conflict."""
    from engine.auth import service

    def revoke(s: Any, org_id: str) -> None:
        owner = service.token_owner(s, token_id=token_id)
        if owner is None or owner.org_id != org_id:
            raise NotFoundError(f"no token {token_id!r}")
        service.revoke_token(s, token_id=token_id, actor=cli_actor())

    _in_org(db, org, revoke)
    if as_json:
        emit_json({"id": token_id, "revoked": True})
        return
    console.print(f"revoked {token_id}")


def _set_active(username: str, active: bool, org: str | None, db: str | None, as_json: bool) -> None:
    from engine.auth import service

    user = _in_org(db, org, lambda s, org_id: service.set_active(s, org_id=org_id, username=username, active=active,
                                                                  actor=cli_actor()))
    if as_json:
        emit_json(user.model_dump())
        return
    said = "active" if user.active else "switched off; their tokens and sessions are revoked"
    console.print(f"{user.username} is {said}")


@users_app.command("deactivate")
def deactivate(username: UserArg, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Switch a user off: they cannot sign in, and every token and web session they hold is revoked."""
    _set_active(username, False, org, db, as_json)


@users_app.command("activate")
def activate(username: UserArg, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Switch a user back on (revoked tokens stay revoked: they sign in and issue new ones)."""
    _set_active(username, True, org, db, as_json)


@users_app.command("passwd")
def passwd(
    username: UserArg,
    password: Annotated[str, typer.Option("--password", prompt="New password", hide_input=True,
                                          confirmation_prompt=True,
                                          help="the new password, 10 or more characters, not the username "
                                               "(prompted twice when left out)")],
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set a user's password (an admin's reset): every web session and API token they hold ends."""
    from engine.auth import service

    user = _in_org(db, org, lambda s, org_id: service.reset_password(s, username=username, password=password,
                                                                      actor=cli_actor(), org_id=org_id))
    if as_json:
        emit_json(user.model_dump())
        return
    console.print(f"password of {user.username} set; their sessions and API tokens are revoked")


@users_app.command("unlock")
def unlock(username: UserArg, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Clear a user's failed logins: an account locked after 5 of them signs in again now."""
    from engine.auth import service

    done = _in_org(db, org, lambda s, org_id: service.unlock_user(s, username=username, actor=cli_actor(),
                                                                   org_id=org_id))
    if as_json:
        emit_json(done.model_dump())
        return
    console.print(f"{done.user.username} unlocked ({done.failures_cleared} failed login"
                  f"{'s' if done.failures_cleared != 1 else ''} cleared)" if done.was_locked
                  else f"{done.user.username} was not locked ({done.failures_cleared} recent failed login"
                       f"{'s' if done.failures_cleared != 1 else ''} cleared)")
