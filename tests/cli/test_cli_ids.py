"""Ids a user pastes into the next command are printed whole in an 80-column terminal (or a pipe),
limited lists say how many of how many they show, unknown ids are bad input (exit 2), an auditor's
token ends with the grant, and `vigil serve --db`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from engine import clock
from engine.cli.main import app
from tests.cli.conftest import AT, ORG, Practice, said, vigil


def narrow(*args: str, columns: int = 80) -> Result:
    """`vigil ARGS` as an 80-column terminal (or a pipe, which rich renders at 80 columns) shows it."""
    with clock.frozen(AT):
        return CliRunner(env={"COLUMNS": str(columns)}).invoke(app, list(args))


def _listed(practice: Practice, *args: str) -> dict[str, Any]:
    result = vigil(*args, *practice.args(), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("columns", [80, 60])
def test_findings_list_prints_whole_ids_and_rule_ids_in_a_narrow_terminal(practice: Practice, columns: int) -> None:
    page = _listed(practice, "findings", "list")
    result = narrow("findings", "list", *practice.args(), columns=columns)
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= columns
    for f in page["items"]:
        assert f["id"] in result.stdout and f["rule_id"] in result.stdout, result.stdout
    assert result.stdout.split("\n", 1)[0].strip() == f"{page['total']} findings"  # all shown: no "N of"


def test_a_limited_list_says_how_many_of_how_many(practice: Practice) -> None:
    total = _listed(practice, "findings", "list")["total"]
    assert total > 1
    result = narrow("findings", "list", "--limit", "1", *practice.args())
    assert result.exit_code == 0, result.output
    assert f"1 of {total} findings" in result.stdout
    assert sum(line.count("F-") for line in result.stdout.splitlines()) == 1


def test_tasks_list_prints_whole_task_ids_and_keeps_titles_short(practice: Practice) -> None:
    page = _listed(practice, "tasks", "list")
    result = narrow("tasks", "list", *practice.args())
    assert result.exit_code == 0, result.output
    for t in page["items"]:
        assert t["id"] in result.stdout and t["sop"] in result.stdout, result.stdout
    assert f"{page['total']} task" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert len(rows) <= 3 * len(page["items"])  # a title takes two lines at most, not one per word


def test_runs_print_whole_run_ids(practice: Practice) -> None:
    runs = vigil("runs", *practice.args(), "--json")
    result = narrow("runs", *practice.args())
    assert result.exit_code == 0, result.output
    for r in json.loads(runs.stdout):
        assert r["id"] in result.stdout
    assert "{" not in result.stdout  # the diff in words, not a dict


@pytest.mark.parametrize(("args", "unknown"), [
    (["findings", "show", "F-NOPE"], "F-NOPE"),
    (["findings", "ack", "F-NOPE"], "F-NOPE"),
    (["tasks", "show", "T-NOPE"], "T-NOPE"),
    (["tasks", "complete", "T-NOPE"], "T-NOPE"),
    (["records", "show", "person", "NOPE"], "NOPE"),
])
def test_an_unknown_id_is_bad_input(practice: Practice, args: list[str], unknown: str) -> None:
    result = vigil(*args, *practice.args())
    assert result.exit_code == 2, result.output
    assert "not_found" in result.stderr and unknown in result.stderr
    assert "?" not in result.stderr, result.stderr  # no placeholder for a record type nobody named


def test_an_auditors_token_ends_with_the_grant(practice: Practice) -> None:
    url = ["--db", practice.url]
    assert vigil("users", "add", "aud", "--role", "auditor", "--password", "blue-heron-47",
                 *practice.args()).exit_code == 0
    granted = vigil("users", "grant", "aud", "--framework", "demo", "--from", "2026-01-01", "--to", "2026-03-31",
                    "--expires", "2026-03-20T00:00:00Z", *url)
    assert granted.exit_code == 0, granted.output
    long = vigil("users", "token", "aud", "--days", "366", *url, "--json")
    assert long.exit_code == 0, long.output
    issued = json.loads(long.stdout)
    assert dt.datetime.fromisoformat(issued["expires_at"]) == dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
    assert "auditor grant ends" in issued["note"] and "auditor grant ends" in said(long.stderr)
    staff = vigil("users", "token", "aud", "--days", "2", *url, "--json")
    assert json.loads(staff.stdout)["note"] is None  # inside the grant: as long as asked


def test_serve_takes_db(practice: Practice, monkeypatch: pytest.MonkeyPatch, cli_env: Path) -> None:
    import uvicorn

    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{cli_env / 'other.db'}")
    result = vigil("serve", "--db", practice.url, "--port", "18999")
    assert result.exit_code == 0, result.output
    assert served["port"] == 18999 and str(practice.path) in str(served["app"].state.engine.url)
    assert not (cli_env / "other.db").exists()
    bad = vigil("serve", "--db", "notaurl", "--port", "18999")
    assert bad.exit_code == 2 and "not a database URL" in said(bad.stderr)


def test_serve_with_scheduler_runs_the_jobs_beside_the_server_and_stops_with_it(
        practice: Practice, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    import sqlalchemy as sa
    import uvicorn

    ran: list[tuple[str, str]] = []

    def server(app: Any, **kw: Any) -> None:
        """Stands for uvicorn until the scheduler beside it has done a job of its own (waivers: due at
        any hour), then returns as uvicorn does on Ctrl-C."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not ran:
            with app.state.engine.connect() as c:
                ran.extend((job, period) for job, period in c.execute(sa.text(
                    "SELECT job, period FROM job_run WHERE job = 'waivers' AND state = 'done'")))
            time.sleep(0.2)

    monkeypatch.setattr(uvicorn, "run", server)
    import socket

    with socket.socket() as probe:  # a free port: 8000 may be a demo's on the machine running the suite
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    result = vigil("serve", "--scheduler", "--db", practice.url, "--org", ORG, "--port", port)
    assert result.exit_code == 0, result.output
    assert ran and ran[0][1].startswith(f"{ORG}:"), ran
    assert f"scheduler: {ORG}" in said(result.stderr)
    assert not any(t.name == "vigil-scheduler" for t in threading.enumerate())  # stopped with the server
    alone = vigil("serve", "--db", practice.url, "--org", ORG, "--port", port)
    assert alone.exit_code == 2 and "add --scheduler" in said(alone.stderr)


def test_findings_list_org_wide_shows_the_findings_of_no_establishment(practice: Practice) -> None:
    everything = _listed(practice, "findings", "list", "--limit", "1000")["items"]
    org_wide = _listed(practice, "findings", "list", "--org-wide", "--limit", "1000")["items"]
    assert {f["id"] for f in org_wide} == {f["id"] for f in everything if f["establishment_id"] is None}
    sites = sorted({f["establishment_id"] for f in everything if f["establishment_id"]})
    assert sites, "the practice has findings at an establishment"
    both = vigil("findings", "list", "--org-wide", "--establishment", sites[0], *practice.args())
    assert both.exit_code == 2 and "not both" in said(both.stderr)


def test_a_finding_is_named_by_the_start_of_its_id_when_no_other_starts_so(practice: Practice) -> None:
    ids = sorted(practice.findings)
    one = ids[0]
    short = one[:next(n for n in range(6, 19) if sum(j.startswith(one[:n]) for j in ids) == 1)]
    shown = vigil("findings", "show", short.upper(), *practice.args(), "--json")  # F-3FA9: case does not matter
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["id"] == one
    acked = vigil("findings", "ack", short, "--reason", "seen", *practice.args())
    assert acked.exit_code == 0 and acked.stdout.startswith(f"{one}: acknowledge done"), acked.output
    # "F-" and too few digits, or a start of no id: the usual "no finding" (exit 2), nothing acknowledged
    for wrong in (one[:5], "F-ffff0000"):
        refused = vigil("findings", "show", wrong, *practice.args())
        assert refused.exit_code == 2, (wrong, refused.output)


def test_an_ambiguous_start_names_the_findings_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.cli import ids
    from engine.cli.findings import full_id
    from engine.cli.ids import CANDIDATES_SHOWN
    from engine.errors import InputError

    held = [f"F-3fa9{n:012x}" for n in range(8)] + ["F-3fb0000000000000"]
    asked: list[tuple[str, int]] = []

    def starting(session: object, kind: object, *, org_id: str, prefix: str, limit: int) -> list[str]:
        asked.append((prefix, limit))
        return [i for i in held if i.startswith(prefix)][:limit]

    monkeypatch.setattr(ids, "starting", starting)
    with pytest.raises(InputError) as caught:
        full_id(None, ORG, "f-3FA9")
    assert caught.value.message == "f-3FA9 starts more than one finding's id"
    assert caught.value.details[0].reason == f"it starts {', '.join(held[:CANDIDATES_SHOWN])} and more: give more " \
                                            "of the id"
    assert asked == [("F-3fa9", CANDIDATES_SHOWN + 1)]  # the start as ids are written, lower-case hex
    assert full_id(None, ORG, "F-3fb0") == "F-3fb0000000000000"
    assert full_id(None, ORG, held[2]) == held[2] and len(asked) == 2  # a whole id is not looked up as a start
    assert full_id(None, ORG, "F-3f%_") == "F-3f%_"  # not hex: never a LIKE pattern
