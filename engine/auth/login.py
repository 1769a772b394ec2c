"""Signing in: the password check, bounded and counted.

    authenticate(session, username, password)   a User, or AuthenticationError (SignInBusy: 503;
                                                NoGrantSignIn: 403, an auditor with no grant in force)
    unlock_user(session, username, actor)        clear a locked account's failures (audited)
    HASHER                                      the argon2 hasher every password goes through

At most `PASSWORD_CHECKS` argon2 checks run at once and `PASSWORD_QUEUE` wait (`_PasswordGate`),
taken before any database connection; a name's failures are counted and its attempt claimed in
one step (`_NameLocks` in the process, the database's lock across processes), so at most
`MAX_FAILED_LOGINS` guesses are checked a window however many arrive at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import os
import secrets
import threading
from collections.abc import Iterator

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.auth.rows import audit_user as _audit
from engine.auth.rows import find_user, hash_secret, to_user
from engine.auth.rows import user_row as _user_row
from engine.auth.schemas import Unlocked, User, password_problem
from engine.auth.tables import GrantRow, LoginAttemptRow, TokenRow, UserRow
from engine.db import hold_lock, utc
from engine.errors import (
    AuthenticationError,
    ErrorDetail,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)

HASHER = PasswordHasher()
MAX_FAILED_LOGINS = 5
FAILED_LOGIN_WINDOW = dt.timedelta(minutes=15)
#: argon2 checks at once: CPU bound (~300 ms of a core each), so about one per core
PASSWORD_CHECKS = max(1, min(4, os.cpu_count() or 2))
#: sign-ins waiting for a check, and how long one waits, before a 503 that says to retry
PASSWORD_QUEUE = 8 * PASSWORD_CHECKS
PASSWORD_WAIT_S = 10.0


class SignInBusy(UnavailableError):
    """More sign-ins at once than the server checks passwords for: 503, retry in a moment."""

    code = "unavailable.sign_in"


class _PasswordGate:
    """Bounds the argon2 checks running at once, and the sign-ins waiting for one.

    Taken before any database connection: a flood of logins (unknown names cost the same argon2
    work as real ones) held a pooled connection each through ~300 ms of hashing, the pool (5 + 10)
    ran dry, and signed-in users waited 30 s for a 500. Waiters are capped too, so a flood cannot
    tie up the server's worker threads either; past the cap a login is a 503 with Retry-After."""

    def __init__(self, slots: int, queue: int, wait_s: float) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self._guard = threading.Lock()
        self._waiting = 0
        self.queue, self.wait_s = queue, wait_s

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        got = self._slots.acquire(blocking=False)
        if not got:
            with self._guard:
                if self._waiting >= self.queue:
                    raise _busy()
                self._waiting += 1
            try:
                got = self._slots.acquire(timeout=self.wait_s)
            finally:
                with self._guard:
                    self._waiting -= 1
        if not got:
            raise _busy()
        try:
            yield
        finally:
            self._slots.release()


class NoGrantSignIn(PermissionDeniedError):
    """An auditor's right password while no grant is in force: 403, saying why and whom to ask.

    Signing in had succeeded and every page after it answered a bare 403 "no grant in force", so
    the auditor never learned their access had ended nor what to do. Raised only after the password
    matched: a wrong one says nothing about grants."""

    code = "auth.no_grant"


def _busy() -> SignInBusy:
    return SignInBusy("too many sign-ins at this moment; nothing was changed: retry in a few seconds")


GATE = _PasswordGate(PASSWORD_CHECKS, PASSWORD_QUEUE, PASSWORD_WAIT_S)


class _NameLocks:
    """One lock per username within the process, kept while someone holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextlib.contextmanager
    def hold(self, name: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(name, (threading.Lock(), 0))
            self._locks[name] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[name]
                if users == 1:
                    del self._locks[name]
                else:
                    self._locks[name] = (lock, users - 1)


_NAME_LOCKS = _NameLocks()


@dataclasses.dataclass(frozen=True)
class _Claim:
    """A password check about to run: its attempt row (a failure until it matches), the failures
    counted before it, and the account the name is (None for an unknown name)."""

    username: str
    attempt_id: int
    failures: int
    user_id: str | None
    org_id: str | None
    password_hash: str | None
    active: bool
    role: str | None


def authenticate(session: Session, *, username: str, password: str) -> User:
    """Check a password; after 5 failures in 15 minutes the account refuses logins for a while.

    No connection of `session` is held while the password is hashed: the attempt is claimed in a
    short transaction of its own (counted as a failure before the check starts, so parallel
    guesses cannot all slip under the limit), the hash is checked with no transaction open, and
    only a success writes to `session` (the attempt turned ok, `auth.login` in the audit trail).
    A failure is in the audit trail of the account's organization (`auth.login_failed`, and
    `auth.locked` for the one that locks it); an unknown name is in none. An auditor with no grant
    in force is refused once the password matched (`NoGrantSignIn`, `auth.login_refused` in the
    trail): the attempt counts as no failed guess, the password being right."""
    bind = session.get_bind()
    now = clock.now()
    with GATE.slot():  # before any connection is taken
        claim = _claim_attempt(bind, username=username, now=now)
        ok = (check_password(claim.password_hash or _decoy_hash(), password)
              and claim.user_id is not None and claim.active)
    if not ok:
        _record_failure(bind, username=claim.username, claim=claim)
        raise AuthenticationError("wrong username or password", code="auth.invalid_credentials")
    assert claim.user_id is not None and claim.org_id is not None
    if claim.role == "auditor":
        _refuse_without_grant(bind, claim=claim, now=now)
    session.execute(update(LoginAttemptRow).where(LoginAttemptRow.id == claim.attempt_id).values(ok=True))
    row = session.get(UserRow, claim.user_id)
    if row is None:  # deleted between the check and now
        raise AuthenticationError("wrong username or password", code="auth.invalid_credentials")
    _audit(session, org_id=row.org_id, actor=f"user:{row.username}", action="auth.login", entity_id=row.id,
           payload={"user": row.username})
    return to_user(row)


def check_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches (the same argon2 work for any hash given)."""
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _claim_attempt(bind: Engine | Connection, *, username: str, now: dt.datetime) -> _Claim:
    """Count the name's failures and, under the lock, add this attempt as one (committed at once).

    The count and the claim are one step per username: a lock within the process, and across
    processes PostgreSQL's advisory lock on the name (SQLite: the write lock, BEGIN IMMEDIATE).
    12 parallel wrong guesses had all been checked, as each counted the failures before any
    was written."""
    with Session(bind=bind) as own:
        username = _counted_as(own, username)
        own.rollback()  # the lock below starts the transaction (SQLite: BEGIN IMMEDIATE)
        with _NAME_LOCKS.hold(username):
            _lock_login(own, username)
            failures = _failures(own, username=username, now=now)
            if failures >= MAX_FAILED_LOGINS:
                own.rollback()
                raise AuthenticationError("too many failed logins; try again in 15 minutes", code="auth.locked")
            user = find_user(own, username)
            attempt = LoginAttemptRow(username=username, at=now, ok=False)
            own.add(attempt)
            own.flush()
            claim = _Claim(username=username, attempt_id=attempt.id, failures=failures,
                           user_id=user.id if user else None, org_id=user.org_id if user else None,
                           password_hash=user.password_hash if user else None,
                           active=bool(user.active) if user else False, role=user.role if user else None)
            own.commit()
    return claim


def _counted_as(session: Session, typed: str) -> str:
    """The name a login's failures are counted and locked under: the account's own (so `Alice`
    and `alice` share one count of five), or the typed name in lower case for no account."""
    user = find_user(session, typed)
    return user.username if user is not None else typed.lower()


def _failures(session: Session, *, username: str, now: dt.datetime) -> int:
    """The name's failed logins in the window that no admin cleared."""
    return session.scalar(
        select(func.count()).select_from(LoginAttemptRow).where(
            LoginAttemptRow.username == username, LoginAttemptRow.ok.is_(False),
            LoginAttemptRow.cleared_at.is_(None), LoginAttemptRow.at >= now - FAILED_LOGIN_WINDOW)) or 0


def _lock_login(session: Session, username: str) -> None:
    """Hold the name's login lock until this transaction ends (as engine.audit locks a chain)."""
    hold_lock(session.connection(), f"vigil.login:{username}")


def _record_failure(bind: Engine | Connection, *, username: str, claim: _Claim) -> None:
    """A wrong password for an account, in its organization's audit trail, in a transaction of
    its own (the caller's rolls back with the error). No password, right or wrong, is written."""
    if claim.user_id is None or claim.org_id is None:
        return
    failures = claim.failures + 1
    with Session(bind=bind) as own:
        _audit(own, org_id=claim.org_id, actor="anonymous", action="auth.login_failed", entity_id=claim.user_id,
               payload={"user": username, "failures": failures})
        if failures == MAX_FAILED_LOGINS:
            _audit(own, org_id=claim.org_id, actor="anonymous", action="auth.locked", entity_id=claim.user_id,
                   payload={"user": username, "failures": failures,
                            "minutes": int(FAILED_LOGIN_WINDOW.total_seconds() // 60)})
        own.commit()


def _refuse_without_grant(bind: Engine | Connection, *, claim: _Claim, now: dt.datetime) -> None:
    """Refuse an auditor's sign-in while no grant of theirs is in force, saying what became of the
    last one. The refusal and its attempt (turned ok: the password was right, so no guess toward
    the lock) are written in a transaction of their own, as the caller's rolls back with the error."""
    assert claim.user_id is not None and claim.org_id is not None
    with Session(bind=bind) as own:
        grants = list(own.scalars(select(GrantRow).where(GrantRow.user_id == claim.user_id)
                                  .order_by(GrantRow.created_at.desc(), GrantRow.id)))
        if any(g.revoked_at is None and utc(g.expires_at) > now for g in grants):
            return
        last = grants[0] if grants else None
        message, last_id = _no_grant_message(last), last.id if last else None
        own.execute(update(LoginAttemptRow).where(LoginAttemptRow.id == claim.attempt_id)
                    .values(ok=True, detail={"refused": NoGrantSignIn.code}))
        _audit(own, org_id=claim.org_id, actor=f"user:{claim.username}", action="auth.login_refused",
               entity_id=claim.user_id, payload={"user": claim.username, "reason": NoGrantSignIn.code,
                                                 "grant": last_id})
        own.commit()
    raise NoGrantSignIn(message, [ErrorDetail(
        reason="an auditor signs in only while a grant of theirs is in force; an admin gives one "
               "(POST /users/{username}/grants, vigil users grant)", field="username")])


def _no_grant_message(last: GrantRow | None) -> str:
    ask = "ask an administrator of the practice's Vigil for a new grant"
    if last is None:
        return f"no audit access has been granted to this account yet; {ask}"
    return f"your audit access {grant_ended(last)} (grant {last.id} for {last.framework}); {ask}"


def grant_ended(last: GrantRow) -> str:
    """How a grant no longer in force ended ("was revoked on ..." or "ended on ..."), worded once
    for the sign-in refusal and for the refusal to issue such an auditor an API token."""
    expires_at, revoked_at = utc(last.expires_at), utc(last.revoked_at)
    assert expires_at is not None
    if revoked_at is not None and revoked_at < expires_at:
        return f"was revoked on {revoked_at:%Y-%m-%d %H:%M} UTC"
    return f"ended on {expires_at:%Y-%m-%d %H:%M} UTC"


@functools.cache
def _decoy_hash() -> str:
    """A hash of no one's password, with the same parameters as the real ones."""
    return HASHER.hash(secrets.token_urlsafe(32))


def unlock_user(session: Session, *, username: str, actor: str, org_id: str | None = None) -> Unlocked:
    """Clear a user's failed logins, so a locked account signs in again now (audited, `auth.unlock`).
    The attempts stay on record, marked cleared. With `org_id` (the API) a user of another org does
    not exist."""
    row = _user_row(session, username=username, org_id=org_id)
    now = clock.now()
    failed = list(session.scalars(select(LoginAttemptRow).where(
        LoginAttemptRow.username == row.username, LoginAttemptRow.ok.is_(False),
        LoginAttemptRow.cleared_at.is_(None), LoginAttemptRow.at >= now - FAILED_LOGIN_WINDOW)))
    for attempt in failed:
        attempt.cleared_at = now
    was_locked = len(failed) >= MAX_FAILED_LOGINS
    _audit(session, org_id=row.org_id, actor=actor, action="auth.unlock", entity_id=row.id,
           payload={"user": row.username, "failures_cleared": len(failed), "was_locked": was_locked})
    return Unlocked(user=to_user(row), failures_cleared=len(failed), was_locked=was_locked)


# -- passwords changed and reset ----------------------------------------------------------------

def _checked_password(password: str, *, username: str, field: str) -> str:
    """`password` if it may be one (length, not blank, not the username), else an InputError naming `field`."""
    from engine.auth.schemas import PASSWORD_MAX, PASSWORD_MIN

    problem = password_problem(password, username=username)
    if problem is None and not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        problem = f"{PASSWORD_MIN} to {PASSWORD_MAX} characters (this one has {len(password)})"
    if problem is not None:
        raise InputError(f"{field}: {problem}", [ErrorDetail(reason=problem, field=field)], code="input.password")
    return password


def change_password(session: Session, *, user_id: str, current_password: str, new_password: str,
                    keep_token: str | None, actor: str) -> User:
    """A signed-in user's own new password, given the current one. Their other web sessions and
    every API token end (`keep_token`, the session asking, goes on); audited, with no password.

    A wrong current password counts toward the login lock like a failed login: a session left
    open must not be a way to guess it. A new password that is the current one is refused (it had
    been accepted, "Your password is changed", with nothing changed but the other sessions ended):
    checked once the current one is right, so the refusal tells a guesser nothing."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFoundError(f"no user {user_id}")
    _checked_password(new_password, username=row.username, field="new_password")
    bind = session.get_bind()
    now = clock.now()
    with GATE.slot():
        try:
            claim = _claim_attempt(bind, username=row.username, now=now)
        except AuthenticationError as exc:  # locked: a 401 would read as a lost session
            raise InputError(exc.message, [ErrorDetail(reason="too many wrong passwords; an admin can unlock "
                                                       "the account (vigil users unlock)",
                                                       field="current_password")], code="auth.locked") from None
        ok = check_password(row.password_hash, current_password)
        same = ok and new_password == current_password
        new_hash = HASHER.hash(new_password) if ok and not same else ""
    if not ok:
        _record_failure(bind, username=row.username, claim=claim)
        raise InputError("the current password is wrong", [ErrorDetail(
            reason="not this account's password; nothing was changed", field="current_password")],
            code="input.current_password")
    if same:  # the password was right, so no guess toward the lock; in a transaction of its own, as
        # the caller's rolls back with the error
        with Session(bind=bind) as own:
            own.execute(update(LoginAttemptRow).where(LoginAttemptRow.id == claim.attempt_id).values(ok=True))
            own.commit()
        raise InputError("the new password is the current one", [ErrorDetail(
            reason="the same as your current password; choose a different one", field="new_password")],
            code="input.password")
    session.execute(update(LoginAttemptRow).where(LoginAttemptRow.id == claim.attempt_id).values(ok=True))
    return _set_password(session, row, new_hash, keep_token=keep_token, actor=actor, action="user.password_change")


def reset_password(session: Session, *, username: str, password: str, actor: str, org_id: str | None = None,
                   keep_token: str | None = None) -> User:
    """An admin's reset of a user's password (the CLI's `vigil users passwd`, `POST /users/{username}/password`).
    Every web session and API token of the user ends (but `keep_token`, an admin resetting their
    own from a session); audited, with no password. With `org_id` a user of another org does not exist."""
    row = _user_row(session, username=username, org_id=org_id)
    _checked_password(password, username=row.username, field="password")
    with GATE.slot():
        new_hash = HASHER.hash(password)
    return _set_password(session, row, new_hash, keep_token=keep_token, actor=actor, action="user.password_reset")


def _set_password(session: Session, row: UserRow, new_hash: str, *, keep_token: str | None, actor: str,
                  action: str) -> User:
    keep = hash_secret(keep_token) if keep_token else None
    now = clock.now()
    sessions = tokens = 0
    for token in session.scalars(select(TokenRow).where(TokenRow.user_id == row.id, TokenRow.revoked_at.is_(None))):
        if token.token_hash == keep:
            continue
        token.revoked_at = now
        if token.kind == "session":
            sessions += 1
        else:
            tokens += 1
    # the tokens flushed first, before the user row and the audit trail's lock: each update waits
    # for the requests writing under that token (`service.resolve_token` holds it FOR SHARE), and one
    # holding the user row or the trail's lock meanwhile deadlocks with them on PostgreSQL
    session.flush()
    row.password_hash = new_hash
    _audit(session, org_id=row.org_id, actor=actor, action=action, entity_id=row.id,
           payload={"user": row.username, "sessions_ended": sessions, "tokens_revoked": tokens})
    return to_user(row)
