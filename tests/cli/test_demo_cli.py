"""`vigil demo` (what `make demo` runs), set up without serving: the synthetic practice imported,
past weekly sweeps replayed, today's evaluated, one user per role.

Two set-ups, built once: with two replayed weeks and with none. Replaying must leave today's
findings exactly as a single evaluation gives them, while the store carries the weeks before: a
trend point per sweep, findings and tasks dated by the sweep that opened them, an audit trail that
verifies.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine import clock
from engine import db as dbmod
from engine.audit import service as audit_service
from engine.cli.demo import sweep_instants
from engine.cli.main import app
from engine.findings import service as findings_service
from tests.envs import forget

AT = dt.datetime(2026, 6, 15, 16, tzinfo=dt.UTC)
WEEKS = 2
ENV = ("DATABASE_URL", "VIGIL_ORG", "VIGIL_ORGS", "VIGIL_ACTOR", "VIGIL_RULESETS_DIR", "VIGIL_POLICIES_DIR")


def _private_dirs(mp: pytest.MonkeyPatch, folder: Path) -> None:
    """No DATABASE_URL or org from the shell; evidence, packets and the signing key in `folder`."""
    forget(mp, *ENV)
    for name, sub in (("VIGIL_EVIDENCE_DIR", "evidence"), ("VIGIL_PACKET_DIR", "packets"), ("VIGIL_KEY_DIR", "keys")):
        mp.setenv(name, str(folder / sub))


def _demo(folder: Path, weeks: int, at: dt.datetime = AT) -> dict[str, Any]:
    db = f"sqlite:///{folder / 'vigil.db'}"
    with clock.frozen(at):
        result = CliRunner().invoke(app, ["demo", "--no-serve", "--json", "--db", db, "--data",
                                          str(folder / "data"), "--weeks", str(weeks)])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout), db_file=str(folder / "vigil.db"))


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, dict[str, Any]]]:
    with pytest.MonkeyPatch.context() as mp:  # the demo sets DATABASE_URL and VIGIL_ORG for the server: undone
        _private_dirs(mp, tmp_path_factory.mktemp("dirs"))
        yield {weeks: _demo(tmp_path_factory.mktemp(f"demo{weeks}"), weeks) for weeks in (WEEKS, 0)}


@pytest.fixture
def plain_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _private_dirs(monkeypatch, tmp_path)
    return tmp_path


def _stored(instant: dt.datetime) -> str:
    """An instant as SQLite holds it (UTC, no offset, microseconds)."""
    return instant.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _rows(path: str, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_the_summary_names_findings_in_every_framework_and_a_user_per_role(demos: dict[int, dict[str, Any]]) -> None:
    summary = demos[WEEKS]
    assert summary["runs"] == WEEKS + 1 and summary["org"] == "demo"
    assert set(summary["by_framework"]) == {"ai_use", "cms", "credentialing", "hipaa", "osha"}
    assert all(n > 0 for n in summary["by_framework"].values())
    assert sum(summary["by_framework"].values()) == summary["findings"]
    assert {u["role"] for u in summary["users"]} == {"admin", "officer", "liaison", "auditor", "staff"}


def test_the_auditor_finds_a_packet_of_their_window_that_verifies(demos: dict[int, dict[str, Any]]) -> None:
    """The auditor's job is to download a packet and verify it offline: the demo builds the one of
    the auditor's grant (HIPAA, 1 January to today) into the packet store."""
    packet_id = demos[WEEKS]["packet"]
    assert packet_id.startswith(f"hipaa-{AT.year}0101-{AT:%Y%m%d}-")
    (path,) = _rows(demos[WEEKS]["db_file"], f"select path from packet where id = '{packet_id}'")[0]
    with clock.frozen(AT):
        verified = CliRunner().invoke(app, ["packet", "verify", path, "--json"])
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["ok"] is True


def test_replayed_weeks_leave_todays_findings_as_one_evaluation_gives_them(demos: dict[int, dict[str, Any]]) -> None:
    query = ("select rule_id, subject_type, subject_id, occurrence_key, status, due from finding "
             "where state = 'open' order by 1, 2, 3, 4")
    replayed, once = _rows(demos[WEEKS]["db_file"], query), _rows(demos[0]["db_file"], query)
    assert replayed == once and len(once) == demos[0]["findings"] == demos[WEEKS]["findings"]
    assert _rows(demos[0]["db_file"], "select count(*) from finding where state = 'resolved'") == [(0,)]
    assert _rows(demos[WEEKS]["db_file"], "select count(*) from finding where state = 'resolved'")[0][0] > 0


def test_each_sweep_is_a_trend_point_and_dates_what_it_opened(demos: dict[int, dict[str, Any]]) -> None:
    path = demos[WEEKS]["db_file"]
    instants = sweep_instants(AT, WEEKS)
    assert instants == [AT - dt.timedelta(weeks=2), AT - dt.timedelta(weeks=1), AT]
    engine = dbmod.make_engine(f"sqlite:///{path}")
    try:
        with dbmod.unit_of_work(engine) as s:
            runs = sorted(findings_service.list_runs(s, org_id="demo"), key=lambda r: r.as_of)
            assert [r.as_of for r in runs] == instants and [r.started_at for r in runs] == instants
            series = findings_service.open_after_runs(s, org_id="demo", runs=runs, open_states=("open",))
            assert [at for at, _ in series] == instants and series[-1][1] == demos[WEEKS]["findings"]
            assert audit_service.verify(s, org_id="demo").ok
    finally:
        engine.dispose()
    stamp = _stored(instants[0])
    assert _rows(path, "select distinct recorded_at from record_version") == [(stamp,)]
    opened = dict(_rows(path, "select opened_at, count(*) from finding group by opened_at"))
    assert set(opened) <= {_stored(i) for i in instants} and opened[stamp] > 0
    # a task is created with its finding, by the sweep that opened it
    assert _rows(path, "select count(*) from task t join finding f on f.id = t.finding_id "
                       "where t.created_at != f.opened_at") == [(0,)]


def test_run_again_a_week_later_it_keeps_its_practice_and_evaluates_it_as_of_now(plain_env: Path) -> None:
    """The second `make demo`, a week on: generated again for the new day, the practice's events
    would differ under the same ids (events are immutable) and the import failed; the demo keeps the
    practice it set up and only evaluates it as of now."""
    first = _demo(plain_env, 1)
    again = _demo(plain_env, 1, at=AT + dt.timedelta(weeks=1))
    assert (first["existing"], first["runs"], first["imported"]) == (False, 2, first["records"])
    assert (again["existing"], again["runs"], again["imported"], again["records"]) == (True, 1, 0, first["records"])
    path = first["db_file"]
    assert _rows(path, "select max(version) from record_version") == [(1,)]
    assert sorted(at for (at,) in _rows(path, "select as_of from evaluation_run")) == [
        _stored(AT - dt.timedelta(weeks=1)), _stored(AT), _stored(AT + dt.timedelta(weeks=1))]
    assert again["findings"] > 0 and again["packet"] is None  # the one built at set-up stays


def test_the_replayed_resolutions_name_what_cleared_them(demos: dict[int, dict[str, Any]]) -> None:
    """Records are all on file from the first sweep, so what clears a finding is a date coming (a
    card issued, a training of the episode's person completed): the history names it rather than
    "the passage of time"."""
    reasons = [r for (r,) in _rows(demos[WEEKS]["db_file"],
                                   "select reason from finding_event where to_state = 'resolved'")]
    named = [r for r in reasons if "dated since it was last seen" in r]
    assert reasons and len(named) >= 0.9 * len(reasons), [r for r in reasons if r not in named][:5]
    training = _rows(demos[WEEKS]["db_file"], "select e.reason from finding_event e join finding f on f.id = "
                     "e.finding_id where e.to_state = 'resolved' and f.subject_type = 'employment_episode' "
                     "and e.reason like '%training_record%'")
    assert training  # an episode's finding, cleared by a training that names the episode's person


@pytest.mark.parametrize("command", [["serve"], ["demo"]])
def test_a_port_in_use_is_a_clear_error_before_anything_is_set_up(plain_env: Path, command: list[str]) -> None:
    """uvicorn found out after start-up (exit code 3, "[Errno 98] ... address already in use"), and
    `make demo` only after its whole set-up."""
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        db = plain_env / "vigil.db"
        result = CliRunner().invoke(app, [*command, "--port", str(port), "--db", f"sqlite:///{db}"])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"port {port} on 127.0.0.1 is in use by another program: stop it, or pass another --port" in said
    assert not db.exists()  # nothing set up


@pytest.mark.parametrize("username", ["officer", "staff"])
def test_a_demo_user_finds_the_tasks_of_their_person_under_my_tasks(demos: dict[int, dict[str, Any]],
                                                                     username: str) -> None:
    """Someone trying the demo as the compliance officer expects their work on the Tasks page ("My
    tasks"): the SOP tasks policies/roles.yaml gives the compliance_officer role's person. The
    officer's account was linked to no person, so the page was empty."""
    import re

    from fastapi.testclient import TestClient

    from engine.api.app import create_app
    from engine.tasks.policy import load_roles
    from tests.web.conftest import csrf_of

    summary = demos[WEEKS]
    ((linked,),) = _rows(summary["db_file"], f"select person_id from app_user where username = '{username}'")
    person = load_roles().person_for("compliance_officer", None) if username == "officer" else linked
    theirs = {tid for (tid,) in _rows(summary["db_file"],
                                      f"select id from task where state = 'open' and owner = '{person}'")}
    assert theirs  # the demo gives each of them work
    engine = dbmod.make_engine(f"sqlite:///{summary['db_file']}")
    try:
        with clock.frozen(AT), TestClient(create_app(engine)) as client:
            form = client.get("/ui/login")
            signed_in = client.post("/ui/login", follow_redirects=False, data={
                "username": username, "password": f"{username}-demo-pass", "csrf_token": csrf_of(form.text),
                "next": "/ui/"})
            assert signed_in.status_code == 303, signed_in.text[:500]
            page = client.get("/ui/tasks", params={"view": "mine"})
    finally:
        engine.dispose()
    assert page.status_code == 200, page.text[:500]
    listed = set(re.findall(r'href="/ui/tasks/([^"?#]+)"', page.text))
    assert listed and listed <= theirs
    assert len(listed) == min(len(theirs), 100)  # the page's first 100
    assert linked == person  # the account is that person's (what the page's "me" is made of)


def test_with_database_url_set_the_demo_keeps_to_its_own_database_and_says_so(
        plain_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 46's auditor pass: with DATABASE_URL naming another database, the demo set up
    ./vigil.db without a word, and `vigil serve` run next in the same shell opened the other one.
    The synthetic practice still never goes into the database the shell names unless --db asks."""
    other = plain_env / "practice.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{other}")
    monkeypatch.chdir(plain_env)
    with clock.frozen(AT):
        result = CliRunner().invoke(app, ["demo", "--no-serve", "--data", str(plain_env / "data"), "--weeks", "0"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "DATABASE_URL names another database; the demo sets up its own, sqlite:///./vigil.db" in said
    assert 'give --db "$DATABASE_URL" to set up that one' in said
    assert (plain_env / "vigil.db").is_file() and not other.exists()
    # the same file named another way is no other database (the security pass: it had warned)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{plain_env / 'vigil.db'}")
    with clock.frozen(AT):
        again = CliRunner().invoke(app, ["demo", "--no-serve", "--data", str(plain_env / "data"), "--weeks", "0"])
    assert again.exit_code == 0 and "names another database" not in again.stderr, again.output
