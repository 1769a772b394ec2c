"""The login lock on SQLite and PostgreSQL: parallel wrong guesses are counted as they start, so at
most 5 are ever checked in the window, whether the process's own lock or the database's holds
them back; logins, failures and lock-outs are in the account's audit trail; an admin unlocks."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from engine.audit.tables import AuditEntryRow
from engine.auth import login
from engine.auth import service as auth
from engine.auth.schemas import UserIn
from engine.auth.tables import LoginAttemptRow
from engine.db import unit_of_work
from engine.errors import AuthenticationError

ORG = "org-lock"
GUESSES = 12


@pytest.fixture
def account(engine: Engine) -> Engine:
    with unit_of_work(engine) as s:
        auth.create_user(s, org_id=ORG, actor="test", data=UserIn(username="ann", password="right-password-1",
                                                                  role="officer"))
    return engine


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password the argon2 check was run on."""
    seen: list[str] = []
    real = login.check_password

    def counted(password_hash: str, password: str) -> bool:
        seen.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(login, "check_password", counted)
    return seen


def _guess(engine: Engine, username: str, password: str, start: threading.Barrier, out: list[str]) -> None:
    start.wait()
    try:
        with unit_of_work(engine) as s:
            auth.authenticate(s, username=username, password=password)
        out.append("ok")
    except AuthenticationError as exc:
        out.append(exc.code)


def _parallel(engine: Engine, username: str, passwords: list[str]) -> list[str]:
    out: list[str] = []
    start = threading.Barrier(len(passwords))
    threads = [threading.Thread(target=_guess, args=(engine, username, p, start, out)) for p in passwords]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(out) == len(passwords), "a guess never finished"
    return out


def _actions(engine: Engine) -> list[str]:
    with unit_of_work(engine) as s:
        return list(s.scalars(select(AuditEntryRow.action).where(AuditEntryRow.org_id == ORG)
                              .order_by(AuditEntryRow.org_seq)))


def test_parallel_wrong_guesses_are_checked_five_times_at_most(account: Engine, checks: list[str]) -> None:
    out = _parallel(account, "ann", [f"wrong-{i}" for i in range(GUESSES)])
    assert len(checks) == auth.MAX_FAILED_LOGINS, f"{len(checks)} of {GUESSES} parallel guesses were checked"
    assert sorted(out) == sorted(["auth.invalid_credentials"] * 5 + ["auth.locked"] * (GUESSES - 5))
    with pytest.raises(AuthenticationError) as locked, unit_of_work(account) as s:
        auth.authenticate(s, username="ann", password="right-password-1")  # the right one too, now
    assert locked.value.code == "auth.locked" and len(checks) == 5


def test_the_database_lock_alone_holds_them_back(account: Engine, checks: list[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes do not share the in-process lock: with it gone, PostgreSQL's advisory lock (or
    SQLite's write lock) keeps the count and the claim one step."""

    @contextlib.contextmanager
    def no_lock(_name: str) -> Iterator[None]:
        yield

    monkeypatch.setattr(login._NAME_LOCKS, "hold", no_lock)
    _parallel(account, "ann", [f"wrong-{i}" for i in range(GUESSES)])
    assert len(checks) == auth.MAX_FAILED_LOGINS, f"{len(checks)} of {GUESSES} parallel guesses were checked"


def test_logins_failures_and_the_lock_are_in_the_audit_trail(account: Engine) -> None:
    with unit_of_work(account) as s:
        auth.authenticate(s, username="ann", password="right-password-1")
    _parallel(account, "ann", [f"wrong-{i}" for i in range(7)])
    _parallel(account, "nobody", ["wrong-x"])  # an unknown name is in no trail
    actions = _actions(account)
    assert actions[0] == "user.create" and actions[1] == "auth.login"
    assert actions.count("auth.login_failed") == 5 and actions.count("auth.locked") == 1
    with unit_of_work(account) as s:
        payloads: list[Any] = list(s.scalars(select(AuditEntryRow.payload).where(AuditEntryRow.org_id == ORG)))
    assert "wrong-" not in repr(payloads) and "right-password" not in repr(payloads)


def test_an_admin_unlocks_the_account(account: Engine) -> None:
    _parallel(account, "ann", [f"wrong-{i}" for i in range(6)])
    with unit_of_work(account) as s:
        done = auth.unlock_user(s, username="ann", actor="user:boss", org_id=ORG)
    assert done.was_locked and done.failures_cleared == 5
    with unit_of_work(account) as s:
        assert auth.authenticate(s, username="ann", password="right-password-1").username == "ann"
        kept = s.scalar(select(LoginAttemptRow).where(LoginAttemptRow.ok.is_(False)).limit(1))
        assert kept is not None and kept.cleared_at is not None  # on record, marked cleared
    assert _actions(account)[-2:] == ["auth.unlock", "auth.login"]
    with pytest.raises(Exception) as other_org, unit_of_work(account) as s:
        auth.unlock_user(s, username="ann", actor="user:boss", org_id="another-org")
    assert getattr(other_org.value, "code", "") == "not_found"


def test_a_username_in_other_case_signs_in_and_shares_the_count(account: Engine, checks: list[str]) -> None:
    """Usernames are unique ignoring case, so `ANN` is ann: it had been an unknown name, and each
    spelling (`Ann`, `aNN`, ...) had its own five guesses."""
    with unit_of_work(account) as s:
        assert auth.authenticate(s, username="ANN", password="right-password-1").username == "ann"
    out = _parallel(account, "ann", ["wrong-a", "wrong-b", "wrong-c"])
    out += _parallel(account, "Ann", ["wrong-d", "wrong-e"])
    assert out.count("auth.invalid_credentials") == 5
    with pytest.raises(AuthenticationError) as locked, unit_of_work(account) as s:
        auth.authenticate(s, username="aNN", password="right-password-1")
    assert locked.value.code == "auth.locked" and len(checks) == 6
    with unit_of_work(account) as s:
        names = set(s.scalars(select(LoginAttemptRow.username)))
        assert names == {"ann"}
        assert auth.unlock_user(s, username="ANN", actor="user:boss", org_id=ORG).failures_cleared == 5
