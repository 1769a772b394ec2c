"""Accounts: users, hashed API tokens and web sessions, auditor grants. Signing in and passwords
(argon2, the limit on failed logins) are `login`'s, and reached here too, as the faces call them."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
import uuid
from typing import NoReturn

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock, storable_text
from engine.auth import login, people
from engine.auth.login import (  # noqa: F401  (the domain's use cases, for the faces: see login.py)
    FAILED_LOGIN_WINDOW,
    MAX_FAILED_LOGINS,
    NoGrantSignIn,
    SignInBusy,
    authenticate,
    change_password,
    reset_password,
    unlock_user,
)
from engine.auth.roles import ROLES
from engine.auth.rows import audit_user as _audit
from engine.auth.rows import find_user, hash_secret, to_user
from engine.auth.schemas import (
    Grant,
    GrantIn,
    IssuedToken,
    Principal,
    TokenInfo,
    User,
    UserIn,
)
from engine.auth.tables import GrantRow, TokenRow, UserRow
from engine.db import utc
from engine.errors import (
    AuthenticationError,
    ConflictError,
    ErrorDetail,
    InputError,
    NotFoundError,
)
from engine.rules.catalog import require_frameworks

SESSION_TTL = dt.timedelta(hours=12)
#: a web session unused this long ends (VIGIL_SESSION_IDLE_MINUTES; 0 turns it off)
SESSION_IDLE_MINUTES = 30
#: how often a session's last use is written: at most once a minute, not on every request
LAST_SEEN_EVERY = dt.timedelta(minutes=1)
def create_user(session: Session, *, org_id: str, data: UserIn, actor: str) -> User:
    """Create an account. Its `person_id`, when given, must be a person of the org (a `person`
    record, or someone policies/roles.yaml names): a staff user sees the tasks owned by that person,
    so a person id that is nobody would show them nothing, silently."""
    if data.role not in ROLES:
        raise InputError(
            f"unknown role {data.role!r}", [ErrorDetail(reason=f"one of {', '.join(ROLES)}", field="role")]
        )
    if data.person_id is not None:
        person = data.person_id.strip()
        if not person:
            raise InputError("person_id is blank", [ErrorDetail(reason="give a person id or leave it out",
                                                                field="person_id")])
        if not people.person_ids(session, org_id=org_id, ids=[person]):
            raise InputError(f"no person {person[:100]!r} in this organization", [ErrorDetail(
                reason="not a person record of the organization, nor a person policies/roles.yaml names; import "
                       "the person first", field="person_id")], code="input.person_id")
        data = data.model_copy(update={"person_id": person})
    taken = session.scalar(select(UserRow).where(func.lower(UserRow.username) == data.username.lower()))
    if taken is not None and taken.org_id != org_id:  # says nothing of the other practice's account
        raise ConflictError(f"username {data.username!r} is taken", [ErrorDetail(
            reason="usernames are unique across the deployment, in every practice it serves: choose another",
            field="username")])
    if taken is not None:
        same = "" if taken.username == data.username else f" as {taken.username!r}"
        raise ConflictError(f"user {data.username!r} exists{same}", [ErrorDetail(
            reason="username taken (usernames are told apart without regard to case)", field="username")])
    like = people.person_like(session, org_id=org_id, name=data.username)
    if like is not None and like != data.person_id:
        raise InputError(
            f"username {data.username!r} reads as person {like}",
            [ErrorDetail(reason=f"work given to {data.username!r} would go to this account, not to {like}: choose "
                                f"another username, or link the account to {like} (person_id {like}) if it is "
                                "theirs", field="username")],
            code="input.username")
    if data.username != data.person_id and people.names_someone(session, org_id=org_id, name=data.username):
        # tasks are owned by a person id or a username, and an account sees the tasks of both
        raise InputError(
            f"username {data.username!r} is the id of a person of this organization (or owns their tasks)",
            [ErrorDetail(reason=f"this account would see and act on every task of person {data.username}: link it "
                                f"to that person (person_id {data.username}) if it is theirs, or choose another "
                                "username", field="username")],
            code="input.username")
    row = UserRow(
        id=f"U-{uuid.uuid4().hex[:12]}",
        org_id=org_id,
        username=data.username,
        password_hash=login.HASHER.hash(data.password),
        role=data.role,
        display_name=data.display_name or data.username,
        person_id=data.person_id,
        active=True,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    _audit(
        session,
        org_id=org_id,
        actor=actor,
        action="user.create",
        entity_id=row.id,
        payload={"username": row.username, "role": row.role},
    )
    return to_user(row)


def get_user(session: Session, *, username: str) -> User:
    row = find_user(session, username)
    if row is None:
        raise NotFoundError(f"no user {username!r}")
    return to_user(row)


def list_users(session: Session, *, org_id: str) -> list[User]:
    return [
        to_user(r) for r in session.scalars(select(UserRow).where(UserRow.org_id == org_id).order_by(UserRow.username))
    ]


def issue_token(
    session: Session, *, user_id: str, name: str, ttl: dt.timedelta, kind: str = "api", actor: str
) -> IssuedToken:
    """Create a token; the plaintext is returned once and only its SHA-256 is stored."""
    if not name.strip():
        raise InputError("a token needs a name", [ErrorDetail(
            reason="blank: name what the token is for, e.g. nightly export script", field="name")])
    control = storable_text.first_control(name)
    if control is not None:  # a BEL or ESC in a name listed by GET /tokens and `vigil users tokens` acts on a terminal
        raise InputError("a token's name is text", [ErrorDetail(reason=storable_text.control_reason(control),
                                                                field="name")])
    name = name.strip()
    if ttl <= dt.timedelta(0):
        raise InputError("a token must live for some time", [ErrorDetail(reason="lifetime <= 0", field="days")])
    user = session.get(UserRow, user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    grant_ends = _grant_end(session, user) if user.role == "auditor" else None
    if kind == "api" and user.role == "auditor" and grant_ends is None:
        _refuse_token_without_grant(session, user)
    token = ("vgl_" if kind == "api" else "vgs_") + secrets.token_urlsafe(32)
    now = clock.now()
    expires_at, note = now + ttl, None
    if grant_ends is not None and grant_ends < expires_at:
        expires_at = grant_ends
        note = (f"the token expires at {grant_ends.isoformat()}, when {user.username}'s auditor grant ends, "
                f"not in the {_lifetime(ttl)} asked for")
    row = TokenRow(
        id=f"TK-{uuid.uuid4().hex[:12]}",  # not T-: that is a task's (the docs probe mixed them up)
        user_id=user_id,
        token_hash=hash_secret(token),
        name=name,
        kind=kind,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    if kind == "api":
        payload: dict[str, object] = {"user": user.username, "expires_at": row.expires_at.isoformat()}
        if note is not None:
            payload["capped_at_grant_end"] = True
        _audit(session, org_id=user.org_id, actor=actor, action="token.issue", entity_id=row.id, payload=payload)
    return IssuedToken(id=row.id, token=token, expires_at=row.expires_at, note=note)


def _refuse_token_without_grant(session: Session, user: UserRow) -> NoReturn:
    """Refuse an API token to an auditor with no grant in force (422 / exit 2, `input.no_grant`).

    Such a token had been issued and then answered 403 to every request, so whoever set up the
    auditor's script learned nothing of why. Sign-in refuses the same auditor (`auth.no_grant`);
    here the one asking is an administrator, told which grant ended and to give one first. A web
    session is not refused here: sign-in has refused before one is made."""
    last = session.scalar(select(GrantRow).where(GrantRow.user_id == user.id)
                          .order_by(GrantRow.created_at.desc(), GrantRow.id).limit(1))
    past = ("no grant has ever been given to them" if last is None
            else f"their last grant {last.id} for {last.framework} {login.grant_ended(last)}")
    raise InputError(
        f"auditor {user.username!r} has no grant in force ({past}): an API token would be refused on every "
        "request", [ErrorDetail(
            reason=f"grant {user.username} access first (vigil users grant {user.username} --framework ... --from "
                   "... --to ... --expires ..., or POST /users/{username}/grants), then issue the token",
            field="username")], code="input.no_grant")


def _grant_end(session: Session, user: UserRow) -> dt.datetime | None:
    """When an auditor's access ends: the latest expiry of their grants in force (None without one).

    An auditor's credentials must not outlive the read-only, time-boxed access they exist for, so
    their tokens (and web sessions) end then at the latest."""
    now = clock.now()
    ends = [utc(row.expires_at) for row in session.scalars(
        select(GrantRow).where(GrantRow.user_id == user.id, GrantRow.revoked_at.is_(None)))]
    live = [end for end in ends if end is not None and end > now]
    return max(live, default=None)


def _lifetime(ttl: dt.timedelta) -> str:
    if ttl % dt.timedelta(days=1) == dt.timedelta(0):
        return f"{ttl.days} day{'s' if ttl.days != 1 else ''}"
    hours = ttl.total_seconds() / 3600
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


def revoke_token(session: Session, *, token_id: str, actor: str) -> None:
    row = session.get(TokenRow, token_id)
    if row is None:
        raise NotFoundError(f"no token {token_id}")
    if row.revoked_at is not None:  # kept as it was: when it was revoked is the record
        raise ConflictError(f"token {token_id} was revoked on {utc(row.revoked_at).isoformat()}",
                            [ErrorDetail(reason="already revoked", field="token_id")], code="state.revoked")
    row.revoked_at = clock.now()
    # the row now, before the audit trail's lock: a request writing under the token holds it FOR
    # SHARE (`resolve_token`) and may append to the trail before it commits; taken the other way
    # round, the two transactions deadlock on PostgreSQL
    session.flush()
    user = session.get(UserRow, row.user_id)
    if user is not None and row.kind == "api":
        _audit(session, org_id=user.org_id, actor=actor, action="token.revoke", entity_id=row.id, payload={})


def set_active(session: Session, *, org_id: str, username: str, active: bool, actor: str,
               acting_user_id: str | None = None) -> User:
    """Switch a user off (or back on). Switched off, they cannot sign in and every token and
    web session they hold stops working at once (revoked, so switching them back on does not
    revive a leaked one): how an admin withdraws a compromised account without its password.

    `acting_user_id` is the signed-in user doing it, who cannot switch themselves off: judged on
    the account the name finds, since `ADMIN` finds `admin` (a name compared as typed had let an
    admin lock out the practice's only admin)."""
    row = find_user(session, username, org_id=org_id)
    if row is None:
        raise NotFoundError(f"no user {username!r}")
    if not active and acting_user_id is not None and row.id == acting_user_id:
        raise InputError("you cannot switch yourself off", [ErrorDetail(reason="ask another admin", field="username")])
    if row.active == active:
        return to_user(row)
    revoked = 0
    if not active:
        # the tokens first, flushed before the user row and the audit trail's lock are taken: each
        # update waits for the requests writing under that token (`resolve_token` holds it FOR SHARE),
        # and one holding the user row or the trail's lock meanwhile deadlocks with them
        now = clock.now()
        for token in session.scalars(select(TokenRow).where(TokenRow.user_id == row.id, TokenRow.revoked_at.is_(None))):
            token.revoked_at = now
            revoked += 1
        session.flush()
    row.active = active
    _audit(session, org_id=row.org_id, actor=actor, action="user.activate" if active else "user.deactivate",
           entity_id=row.id, payload={"user": row.username, "tokens_revoked": revoked})
    return to_user(row)


def token_owner(session: Session, *, token_id: str) -> UserRow | None:
    """The user a token belongs to (None for an unknown token id)."""
    row = session.get(TokenRow, token_id)
    return session.get(UserRow, row.user_id) if row is not None else None


def end_session(session: Session, *, token: str) -> None:
    """Sign out: the session token stops working now, not when its cookie would have expired."""
    row = session.scalar(select(TokenRow).where(TokenRow.token_hash == hash_secret(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.now()


def list_tokens(session: Session, *, user_id: str) -> list[TokenInfo]:
    rows = session.scalars(select(TokenRow).where(TokenRow.user_id == user_id, TokenRow.kind == "api"))
    return [
        TokenInfo(
            id=r.id,
            name=r.name,
            kind=r.kind,
            created_at=utc(r.created_at),
            expires_at=utc(r.expires_at),
            revoked_at=utc(r.revoked_at),
        )
        for r in rows
    ]


def resolve_token(session: Session, *, token: str, touch: bool = False, for_write: bool = False) -> Principal:
    """Who a bearer token or session cookie belongs to; expired, revoked or unknown tokens fail,
    and so does a web session unused for longer than the idle timeout. With `touch` (a GET) a
    session's last use is written, at most once a minute: not a write on every request.

    With `for_write` (a request that may change data: not a GET or HEAD) the token's row is read
    FOR SHARE and stays locked until the request's transaction ends. Read plainly, a revoke that
    committed between this check and the request's commit let the request write under a token
    already revoked (PostgreSQL, READ COMMITTED). Locked, a revoke (an UPDATE of the row: revoking
    it, switching the user off, resetting their password) waits for the writes under way, and a
    write that starts after the revoke committed finds the token revoked. Reads take no lock.
    SQLite has no row locks; SQLAlchemy leaves the clause out there."""
    query = select(TokenRow).where(TokenRow.token_hash == hash_secret(token))
    if for_write:
        query = query.with_for_update(read=True)
    row = session.scalar(query)
    now = clock.now()
    if row is None or row.revoked_at is not None or utc(row.expires_at) <= now:
        raise AuthenticationError("invalid or expired credentials", code="auth.invalid_token")
    if row.kind == "session":
        idle = session_idle()
        last = utc(row.last_seen_at) or utc(row.created_at)
        if idle is not None and now - last > idle:
            raise AuthenticationError(f"the session ended after {int(idle.total_seconds() // 60)} minutes without "
                                      "use; sign in again", code="auth.session_idle")
        if touch and now - last >= LAST_SEEN_EVERY and _TOUCHES.due(row.id, now):
            row.last_seen_at = now
    user = session.get(UserRow, row.user_id)
    if user is None or not user.active:
        raise AuthenticationError("account disabled", code="auth.disabled")
    grant = active_grant(session, user_id=user.id) if user.role == "auditor" else None
    return Principal(user=to_user(user), grant=grant, via="session" if row.kind == "session" else "token",
                     token_id=row.id)


def session_idle() -> dt.timedelta | None:
    """How long a web session may go unused (VIGIL_SESSION_IDLE_MINUTES, default 30; 0: no limit).
    A value that is not a whole number keeps the default here: a typo must not switch the logoff
    off. `vigil serve` refuses such a value before it starts (`check_session_idle_setting`)."""
    raw = os.environ.get("VIGIL_SESSION_IDLE_MINUTES", "").strip()
    minutes = int(raw) if raw.isdigit() else SESSION_IDLE_MINUTES
    return dt.timedelta(minutes=minutes) if minutes > 0 else None


def check_session_idle_setting() -> None:
    """Refuse a VIGIL_SESSION_IDLE_MINUTES that is not a whole number of minutes: it had been
    accepted and quietly replaced by the default, so an administrator who set "45m" never learned
    the sessions still end after 30."""
    raw = os.environ.get("VIGIL_SESSION_IDLE_MINUTES", "").strip()
    if raw and not raw.isdigit():
        raise InputError(f"VIGIL_SESSION_IDLE_MINUTES={raw!r} is not a whole number of minutes",
                         [ErrorDetail(field="VIGIL_SESSION_IDLE_MINUTES",
                                      reason=f"set it to minutes such as {SESSION_IDLE_MINUTES} (0: sessions "
                                             f"never time out), or unset it for {SESSION_IDLE_MINUTES}")],
                         code="input.setting")


class _Touches:
    """When this process last wrote each session's last use: parallel requests of one session
    write it once, not each (on SQLite every write waits for the one write lock)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._at: dict[str, dt.datetime] = {}

    def due(self, token_id: str, now: dt.datetime) -> bool:
        with self._guard:
            last = self._at.get(token_id)
            if last is not None and dt.timedelta(0) <= now - last < LAST_SEEN_EVERY:
                return False
            if len(self._at) > 10_000:
                self._at.clear()
            self._at[token_id] = now
            return True


_TOUCHES = _Touches()


#: The longest an auditor grant may run from when it is given. PRODUCT: auditors are read-only and
#: scoped, and their access time-boxed; a grant of years (a typo in the year, or "just in case")
#: had been taken as given, and with it every token issued under it. A year, as a waiver's limit.
GRANT_MAX = dt.timedelta(days=366)


def grant_auditor(session: Session, *, username: str, data: GrantIn, actor: str, org_id: str | None = None) -> Grant:
    """Give an auditor read access to one framework, an audit window and (optionally) some
    establishments, until `expires_at`. A grant that could never show anything is refused: a
    framework with no ruleset, an establishment that is not one of the org's, an empty list of
    establishments, a window that ends before it starts, an expiry already past; and one that runs
    longer than `GRANT_MAX` from now. With `org_id` (the API: the admin's org) a user of another org
    does not exist."""
    user = find_user(session, username, org_id=org_id)
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    if user.role != "auditor":
        raise InputError(
            "grants are for auditors", [ErrorDetail(reason=f"{username} is {user.role}", field="username")]
        )
    problems: list[ErrorDetail] = []
    framework = data.framework.strip()
    if not framework:
        problems.append(ErrorDetail(reason="blank: name the one framework the auditor may read", field="framework"))
    else:
        try:
            require_frameworks([framework])
        except InputError as exc:
            problems.extend(exc.details)
    if data.window_to < data.window_from:
        problems.append(ErrorDetail(reason="window_to is before window_from", field="window_to"))
    establishments = None
    if data.establishments is not None:
        establishments = [e.strip() for e in data.establishments]
        if not establishments:
            problems.append(ErrorDetail(reason="an empty list would show nothing; leave establishments out for all",
                                        field="establishments"))
        found = _establishments(session, org_id=user.org_id, ids=establishments)
        problems += [ErrorDetail(reason=f"{e!r} is not an establishment of this organization",
                                 field=f"establishments[{i}]") for i, e in enumerate(establishments) if e not in found]
    expires_at = None
    try:
        expires_at = clock.checked_utc(data.expires_at, field="expires_at")
    except InputError as exc:
        problems.extend(exc.details)
    if expires_at is not None and expires_at <= clock.now():
        problems.append(ErrorDetail(reason=f"{expires_at.isoformat()} is already past: the grant would never be in "
                                           f"force", field="expires_at"))
    elif expires_at is not None and expires_at > clock.now() + GRANT_MAX:
        problems.append(ErrorDetail(
            reason=f"{expires_at.isoformat()} is more than {GRANT_MAX.days} days away: an auditor's access is "
                   f"time-boxed to an engagement; give an expiry within {GRANT_MAX.days} days (by "
                   f"{(clock.now() + GRANT_MAX).isoformat(timespec='seconds')}) and grant again if the audit runs on",
            field="expires_at"))
    if problems:
        raise InputError("the grant cannot be given", problems, code="input.grant")
    assert expires_at is not None
    data = data.model_copy(update={"framework": framework, "establishments": establishments,
                                   "expires_at": expires_at})
    now = clock.now()
    superseded = [old for old in session.scalars(select(GrantRow).where(
        GrantRow.user_id == user.id, GrantRow.revoked_at.is_(None))) if utc(old.expires_at) > now]
    row = GrantRow(
        id=f"G-{uuid.uuid4().hex[:12]}",
        user_id=user.id,
        framework=data.framework,
        window_from=data.window_from,
        window_to=data.window_to,
        establishments=data.establishments,
        expires_at=data.expires_at,
        phi=data.phi,
        pseudonym_key=secrets.token_hex(32) if data.phi == "pseudonymised" else None,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    # a token or session was made for the grant in force then (its expiry capped at that grant's
    # end): left alive, one made for a HIPAA engagement read OSHA once the new grant said so, and
    # one idle since its grant lapsed came back to life. The auditor signs in again.
    ended = _end_access(session, user, now)
    _audit(
        session,
        org_id=user.org_id,
        actor=actor,
        action="grant.create",
        entity_id=row.id,
        payload=data.model_dump(mode="json") | {"username": username, "supersedes": [g.id for g in superseded]}
        | ended,
    )
    # one grant in force per auditor: the new one replaces what they held, said in the trail. Kept in
    # force, an older grant had been hidden while the new one ran and come back when it ended.
    for old in superseded:
        old.revoked_at = now
        _audit(session, org_id=user.org_id, actor=actor, action="grant.revoke", entity_id=old.id,
               payload={"framework": old.framework, "username": username, "superseded_by": row.id})
    return to_grant(row)


def list_grants(session: Session, *, username: str, org_id: str | None = None) -> list[Grant]:
    """Every grant an auditor was given, newest first, in force or not (`revoked_at`, `expires_at`)."""
    user = find_user(session, username, org_id=org_id)
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    rows = session.scalars(select(GrantRow).where(GrantRow.user_id == user.id)
                           .order_by(GrantRow.created_at.desc(), GrantRow.id))
    return [to_grant(r) for r in rows]


def _establishments(session: Session, *, org_id: str, ids: list[str]) -> set[str]:
    """Which of `ids` are establishment records of the org."""
    from engine.records import service as records_service

    wanted = sorted({i for i in ids if i})
    if not wanted:
        return set()
    return {rid for rid, _v, _d in records_service.iter_record_data_by_ids(
        session, org_id=org_id, record_type="establishment", ids=wanted)}


def revoke_grant(session: Session, *, grant_id: str, actor: str, org_id: str | None = None) -> None:
    row = session.get(GrantRow, grant_id)
    user = session.get(UserRow, row.user_id) if row is not None else None
    if row is None or (org_id is not None and (user is None or user.org_id != org_id)):
        raise NotFoundError(f"no grant {grant_id}")
    if row.revoked_at is not None:
        raise ConflictError(f"grant {grant_id} was revoked on {utc(row.revoked_at).isoformat()}",
                            [ErrorDetail(reason="already revoked", field="grant_id")], code="state.revoked")
    now = row.revoked_at = clock.now()
    session.flush()
    ended = {"sessions_ended": 0, "tokens_revoked": 0}
    if user is not None and _grant_end(session, user) is None:
        # no grant left in force: the auditor's tokens and web sessions end with the access they
        # were for (docs/api.md). Left alive, a token came back to life with the next grant given.
        ended = _end_access(session, user, now)
    _audit(
        session,
        org_id=user.org_id if user else "default",
        actor=actor,
        action="grant.revoke",
        entity_id=row.id,
        payload={"framework": row.framework, "username": user.username if user else None, **ended},
    )


def _end_access(session: Session, user: UserRow, now: dt.datetime) -> dict[str, int]:
    """Revoke every live web session and API token of an auditor; how many of each, for the trail."""
    ended = {"sessions_ended": 0, "tokens_revoked": 0}
    for token in session.scalars(select(TokenRow).where(TokenRow.user_id == user.id, TokenRow.revoked_at.is_(None))):
        token.revoked_at = now
        ended["sessions_ended" if token.kind == "session" else "tokens_revoked"] += 1
    session.flush()  # before the audit trail's lock, as in `revoke_token`
    return ended


def active_grant(session: Session, *, user_id: str) -> Grant | None:
    now = clock.now()
    rows = session.scalars(
        select(GrantRow)
        .where(GrantRow.user_id == user_id, GrantRow.revoked_at.is_(None))
        .order_by(GrantRow.created_at.desc())
    )
    for row in rows:
        if utc(row.expires_at) > now:
            return to_grant(row)
    return None


def to_grant(row: GrantRow) -> Grant:
    return Grant(
        id=row.id,
        framework=row.framework,
        window_from=row.window_from,
        window_to=row.window_to,
        establishments=row.establishments,
        expires_at=utc(row.expires_at),
        revoked_at=utc(row.revoked_at),
        phi="pseudonymised" if row.phi == "pseudonymised" else "full",
    )


def pseudonym_key(session: Session, grant_id: str) -> bytes:
    """A pseudonymised grant's secret (engine/api/pseudonyms.py), read where it is used and never
    carried in a Grant or a Principal, so no response or log can hold it. A pseudonymised grant
    without one (a row written by hand) is refused rather than shown in the clear."""
    row = session.get(GrantRow, grant_id)
    if row is None or not row.pseudonym_key:
        raise NotFoundError(f"grant {grant_id} has no pseudonym key: give the auditor a new grant")
    return bytes.fromhex(row.pseudonym_key)
