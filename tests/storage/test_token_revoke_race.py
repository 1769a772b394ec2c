"""A revoke against the requests in flight under the token it ends, on PostgreSQL (READ COMMITTED):
a request that may write holds its token's row FOR SHARE until it commits, so the revoke (revoking
the token, switching the user off, resetting their password) waits for that request's writes, and a
write request that starts after the revoke committed is refused. Without the lock a request that
had checked its token just before the revoke committed its writes after it.

On SQLite there are no row locks (SQLAlchemy leaves FOR SHARE out): the write path must work as
before there."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session
from starlette.requests import Request

from engine.api import deps
from engine.api.app import create_app
from engine.audit import service as audit_service
from engine.audit.tables import AuditEntryRow
from engine.auth import service as auth
from engine.auth.schemas import Principal, UserIn
from engine.db import unit_of_work
from engine.errors import AuthenticationError
from tests.concurrency import in_thread
from tests.conftest import make_test_engine

ORG = "clinic-a"
#: how long the test waits for the revoke to be seen waiting (it fails then): generous, not a pause
WAIT_S = 30.0


@pytest.fixture
def pg_engine(tmp_path: Path) -> Iterator[Engine]:
    yield from make_test_engine("postgresql", tmp_path)


def _users(engine: Engine) -> str:
    """An officer with an API token (returned, in plain) and an admin who can end it."""
    with unit_of_work(engine) as s:
        officer = auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
            username="officer", password="officer-password", role="officer"))
        auth.create_user(s, org_id=ORG, actor="test", data=UserIn(
            username="admin", password="admin-password", role="admin"))
        return auth.issue_token(s, user_id=officer.id, name="script", ttl=dt.timedelta(days=1), actor="test").token


def _request(method: str, token: str) -> Request:
    """A request as `current_principal` sees it: its method and its bearer token."""
    return Request({"type": "http", "method": method, "path": "/findings/F-1/comments", "query_string": b"",
                    "scheme": "http", "server": ("testserver", 80),
                    "headers": [(b"authorization", f"Bearer {token}".encode())]})


def _write(session: Session, principal: Principal) -> None:
    """What every change a request makes ends with: an entry in the organization's audit trail."""
    audit_service.append(session, org_id=ORG, actor=principal.actor, action="test.write", entity_type="test",
                         entity_id="X-1")


def _token_id(engine: Engine, token: str) -> str:
    with unit_of_work(engine) as s:
        return auth.resolve_token(s, token=token).token_id or ""


def _revoke(engine: Engine, token: str) -> Callable[[Session], None]:
    token_id = _token_id(engine, token)

    def job(s: Session) -> None:
        auth.revoke_token(s, token_id=token_id, actor="user:admin")

    return job


def _switch_off(_engine: Engine, _token: str) -> Callable[[Session], None]:
    def job(s: Session) -> None:
        auth.set_active(s, org_id=ORG, username="officer", active=False, actor="user:admin")

    return job


def _reset_password(_engine: Engine, _token: str) -> Callable[[Session], None]:
    def job(s: Session) -> None:
        auth.reset_password(s, username="officer", password="a-new-password-for-them", actor="user:admin",
                            org_id=ORG)

    return job


#: each way a token ends, and the audit entry it writes
REVOKES = {"revoke_token": (_revoke, "token.revoke"), "set_active_false": (_switch_off, "user.deactivate"),
           "reset_password": (_reset_password, "user.password_reset")}


def _backend_pid(session: Session) -> int:
    return int(session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _until_waiting_on(engine: Engine, pids: dict[str, int], thread: threading.Thread, holder: int) -> None:
    """Poll until the thread's backend waits on a lock held by `holder` (pg_stat_activity and
    pg_blocking_pids); fail if its transaction ends, or it has not waited within WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    with engine.connect() as c:
        while time.monotonic() < deadline:
            assert thread.is_alive(), f"{thread.name} finished without waiting for the write request's lock"
            pid = pids.get(thread.name)
            if pid is not None:
                row = c.execute(text("SELECT wait_event_type, pg_blocking_pids(pid) AS blockers "
                                     "FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).one_or_none()
                c.rollback()  # a fresh snapshot of the statistics on the next poll
                if row is not None and row.wait_event_type == "Lock":
                    assert holder in row.blockers, f"{thread.name} waits on {row.blockers}, not the write request"
                    return
            time.sleep(0.02)
    raise AssertionError(f"{thread.name} was not seen waiting on a lock within {WAIT_S:.0f} s")


@pytest.mark.parametrize("revoke", sorted(REVOKES))
def test_a_revoke_waits_for_the_writes_under_way_and_the_next_write_is_refused(
        pg_engine: Engine, revoke: str) -> None:
    token = _users(pg_engine)
    make_job, entry = REVOKES[revoke]
    job = make_job(pg_engine, token)
    pids: dict[str, int] = {}
    errors: list[BaseException] = []

    def revoker(s: Session) -> None:
        pids["revoker"] = _backend_pid(s)
        job(s)

    with unit_of_work(pg_engine) as request_session:  # the write request's unit of work
        principal = deps.current_principal(_request("POST", token), request_session)
        thread = in_thread(pg_engine, "revoker", revoker, errors)
        _until_waiting_on(pg_engine, pids, thread, holder=_backend_pid(request_session))
        # the request writes while the revoke waits: the audit trail's lock after the token's, as
        # every change does (the revoke must not hold the trail's lock while it waits: a deadlock)
        _write(request_session, principal)
        assert thread.is_alive(), "the revoke committed before the write request it ends"
    thread.join(WAIT_S)
    assert not thread.is_alive(), "the revoke did not finish once the write request committed"
    assert errors == []
    with unit_of_work(pg_engine) as s, pytest.raises(AuthenticationError) as refused:
        deps.current_principal(_request("POST", token), s)
    assert refused.value.code == "auth.invalid_token"
    with unit_of_work(pg_engine) as s:  # the write is in the trail, before the revoke's entry
        actions = list(s.scalars(select(AuditEntryRow.action).order_by(AuditEntryRow.org_seq)))
    assert actions[-2:] == ["test.write", entry]


def test_a_read_takes_no_lock_the_revoke_would_wait_on(pg_engine: Engine) -> None:
    """Reads are not slowed: a GET in flight does not hold the revoke back."""
    token = _users(pg_engine)
    job = _revoke(pg_engine, token)
    errors: list[BaseException] = []
    with unit_of_work(pg_engine) as request_session:
        deps.current_principal(_request("GET", token), request_session)
        thread = in_thread(pg_engine, "revoker", job, errors)
        thread.join(WAIT_S)
        assert not thread.is_alive(), "the revoke waited for a read request"
    assert errors == []


def test_signing_out_of_the_web_ui_on_postgresql(pg_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The web form's writes are in the transaction that holds the session token FOR SHARE: in a
    second one, sign-out (an update of that row) waited on its own request for ever. A lock
    timeout turns such a wait into a failure here instead of a hung test."""
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)

    @event.listens_for(pg_engine, "connect")
    def _lock_timeout(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET lock_timeout = '10s'")
        cursor.close()
        dbapi_connection.commit()

    pg_engine.dispose()  # the pooled connections again, with the timeout
    _users(pg_engine)
    client = TestClient(create_app(pg_engine), raise_server_exceptions=False)
    csrf = re.compile(r'name="csrf_token" value="([^"]+)"')
    page = client.get("/ui/login")
    signed_in = client.post("/ui/login", data={"username": "officer", "password": "officer-password",
                                               "csrf_token": csrf.findall(page.text)[0], "next": "/ui/"},
                            follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text[:300]
    page = client.get("/ui/findings")
    assert page.status_code == 200, page.text[:300]
    out = client.post("/ui/logout", data={"csrf_token": csrf.findall(page.text)[0]}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/ui/login", out.text[:300]
    assert client.get("/ui/findings", follow_redirects=False).status_code == 303


def test_the_write_path_works_on_sqlite(sqlite_engine: Engine) -> None:
    """SQLite has no FOR SHARE (left out of the query): a write request resolves, writes and
    commits as before, and one after the revoke is refused."""
    token = _users(sqlite_engine)
    with unit_of_work(sqlite_engine) as s:
        _write(s, deps.current_principal(_request("POST", token), s))
    with unit_of_work(sqlite_engine) as s:
        assert "test.write" in list(s.scalars(select(AuditEntryRow.action)))
        _revoke(sqlite_engine, token)(s)
    with unit_of_work(sqlite_engine) as s, pytest.raises(AuthenticationError) as refused:
        deps.current_principal(_request("POST", token), s)
    assert refused.value.code == "auth.invalid_token"
