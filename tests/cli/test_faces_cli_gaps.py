"""The CLI beside the API: bounded audit paging, every run and packet reachable, tasks assigned,
findings listed as the web lists them and shown as the web shows them, runs labelled for what they were."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
from pathlib import Path

from tests.cli.conftest import AT, ORG, Practice, crashed, said, vigil

TOO_BIG = str(2**63)  # one past the largest seq the database can hold


def test_audit_log_before_past_the_largest_seq_is_bad_input_not_a_traceback(practice: Practice) -> None:
    for args in (["--json"], []):
        result = vigil("audit", "log", "--before", TOO_BIG, *practice.args(), *args)
        assert result.exit_code == 2 and not crashed(result), result.output
        assert "--before" in said(result.stderr)
    largest = vigil("audit", "log", "--before", str(2**63 - 1), *practice.args(), "--json")
    assert largest.exit_code == 0 and json.loads(largest.stdout), largest.output


# --- vigil runs: paging, show, labels ---------------------------------------------------------------------


def _runs(practice: Practice, *args: str) -> list[dict[str, object]]:
    result = vigil("runs", *args, *practice.args(), "--json")
    assert result.exit_code == 0, result.output
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def _evaluate(practice: Practice, as_of: str) -> None:
    result = vigil("evaluate", "--as-of", as_of, *practice.args(), "--json")
    assert result.exit_code == 0, result.output


def test_runs_page_on_with_before_until_every_run_is_reached(practice: Practice) -> None:
    for day in (1, 2, 3):
        _evaluate(practice, f"2026-03-0{day}T12:00:00Z")
    every = _runs(practice, "--limit", "1000")
    assert len(every) == 4
    seen: list[object] = []
    page = _runs(practice, "--limit", "3")
    while page:
        seen += [r["id"] for r in page]
        page = _runs(practice, "--limit", "3", "--before", str(page[-1]["id"]))
    assert seen == [r["id"] for r in every]
    table = vigil("runs", "--limit", "2", *practice.args())
    assert f"next page: vigil runs --limit 2 --before {every[1]['id']}" in said(table.stdout)
    assert "next page" not in vigil("runs", "--limit", "4", *practice.args()).stdout  # no more after them
    unknown = vigil("runs", "--before", "R-nope", *practice.args())
    assert unknown.exit_code == 2 and not crashed(unknown) and "R-nope" in said(unknown.stderr)


def test_runs_show_gives_one_run_as_the_api_does(practice: Practice) -> None:
    run = _runs(practice)[0]
    shown = vigil("runs", "show", str(run["id"]), *practice.args(), "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == run
    text = vigil("runs", "show", str(run["id"]), *practice.args())
    assert text.exit_code == 0 and str(run["id"]) in text.stdout and "input hash" in text.stdout
    for args, words in ((["show", "R-nope"], "R-nope"), (["show"], "RUN_ID"), (["list"], "show"),
                        (["show", str(run["id"]), "--limit", "2"], "--limit")):
        bad = vigil("runs", *args, *practice.args())
        assert bad.exit_code == 2 and not crashed(bad), (args, bad.output)
        assert words in said(bad.stderr), (args, bad.stderr)
    assert "show" in vigil("runs", "--help").stdout


def test_runs_call_a_forecast_a_forecast_and_a_look_back_a_look_back(practice: Practice) -> None:
    _evaluate(practice, (AT + dt.timedelta(days=20)).isoformat())  # ahead of now: a forecast
    _evaluate(practice, (AT - dt.timedelta(days=2)).isoformat())  # before the applied sweep: a look back
    table = said(vigil("runs", *practice.args()).stdout)
    assert table.count("held (a forecast, not applied)") == 1, table
    assert table.count("held (a look back, not applied)") == 1, table
    forecast = next(r for r in _runs(practice) if str(r["as_of"]).startswith("2026-03-25"))
    shown = said(vigil("runs", "show", str(forecast["id"]), *practice.args()).stdout)
    assert "held (a forecast, not applied)" in shown and "a forecast is recorded" in shown


# --- vigil tasks assign -------------------------------------------------------------------------------------


def test_tasks_assign_gives_the_task_as_the_api_does(practice: Practice) -> None:
    done = vigil("tasks", "assign", practice.task, "P-MGR", *practice.args(), "--json")
    assert done.exit_code == 0, done.output
    task = json.loads(done.stdout)
    assert task["owner"] == "P-MGR" and task["history"][-1]["kind"] == "reassigned"
    shown = json.loads(vigil("tasks", "show", practice.task, *practice.args(), "--json").stdout)
    assert shown["owner"] == "P-MGR"
    text = vigil("tasks", "assign", practice.task, "P-CO", *practice.args())
    assert text.exit_code == 0 and "assigned to P-CO" in text.stdout
    for args, words in (([practice.task, "compliance_officer"], "is a role"), ([practice.task, "nobody-here"],
                        "not a person or a user"), ([practice.task, " "], "owner"), (["T-nope", "P-CO"], "T-nope")):
        bad = vigil("tasks", "assign", *args, *practice.args())
        assert bad.exit_code == 2 and not crashed(bad), (args, bad.output)
        assert words in said(bad.stderr), (args, bad.stderr)


# --- vigil packet list --------------------------------------------------------------------------------------


def test_packet_list_lists_the_stored_packets(practice: Practice, tmp_path: Path) -> None:
    empty = vigil("packet", "list", *practice.args(), "--json")
    assert empty.exit_code == 0 and json.loads(empty.stdout) == [], empty.output
    built = vigil("packet", "build", "--framework", "demo", "--from", "2026-03-01", "--to", "2026-03-05",
                  "--out", str(tmp_path / "p.zip"), "--key-dir", str(tmp_path / "keys"), *practice.args(), "--json")
    assert built.exit_code == 0, built.output
    packet_id = json.loads(built.stdout)["packet_id"]
    listed = vigil("packet", "list", *practice.args(), "--json")
    assert listed.exit_code == 0, listed.output
    assert [p["id"] for p in json.loads(listed.stdout)] == [packet_id]
    assert json.loads(listed.stdout)[0]["framework"] == "demo"
    text = vigil("packet", "list", *practice.args())
    assert text.exit_code == 0 and packet_id in text.stdout and "1 packet" in text.stdout
    # every value whole (the docs probe, in an 80-column pipe, saw the id cut and the sha256 dropped)
    sha = json.loads(listed.stdout)[0]["sha256"]
    assert sha in "".join(re.findall(r"[0-9a-f]{16}", text.stdout))
    other = vigil("packet", "list", "--framework", "nope", *practice.args())
    assert other.exit_code == 2 and not crashed(other)


# --- vigil findings list: the web's default, and the next page ----------------------------------------------


def _ids(practice: Practice, *args: str) -> list[str]:
    result = vigil("findings", "list", *args, *practice.args(), "--json")
    assert result.exit_code == 0, result.output
    return [f["id"] for f in json.loads(result.stdout)["items"]]


def test_findings_list_shows_open_and_acknowledged_unless_state_says_otherwise(practice: Practice) -> None:
    done, acked = practice.findings[0], practice.findings[1]
    assert vigil("findings", "false-positive", done, "--reason", "test data", *practice.args()).exit_code == 0
    assert vigil("findings", "ack", acked, *practice.args()).exit_code == 0
    default = _ids(practice)
    assert done not in default and acked in default and len(default) == 2
    assert sorted(_ids(practice, "--state", "all")) == sorted(practice.findings)
    assert _ids(practice, "--state", "false_positive") == [done]
    table = said(vigil("findings", "list", *practice.args()).stdout)
    assert "open and acknowledged findings only; --state all lists every state" in table
    mixed = vigil("findings", "list", "--state", "all,open", *practice.args())
    assert mixed.exit_code == 2 and not crashed(mixed) and "--state" in said(mixed.stderr)
    assert "default open,acknowledged" in said(vigil("findings", "list", "--help").stdout)


def _printed(text: str, label: str) -> list[str]:
    """The command printed after `label` ("next page:"), as words, without the leading `vigil`."""
    (line,) = [ln for ln in text.splitlines() if ln.startswith(label)]
    words = shlex.split(line.removeprefix(label))
    assert words[0] == "vigil"
    return words[1:]


def test_findings_list_says_how_to_get_the_next_page(practice: Practice) -> None:
    first = vigil("findings", "list", "--limit", "2", *practice.args())
    text = said(first.stdout)
    assert "2 of 3 findings" in text and "raise --limit" not in text
    cursor = json.loads(vigil("findings", "list", "--limit", "2", *practice.args(), "--json").stdout)["next_cursor"]
    assert f"next page: vigil findings list --limit 2 --org {ORG} --db " in text and f"--cursor {cursor}" in text
    second = vigil(*_printed(first.stdout, "next page:")).stdout
    assert "next page" not in second
    assert "--cursor" not in _printed(second, "previous page:") and "--limit 2" in second
    last = _ids(practice, "--limit", "2", "--cursor", cursor)
    assert len(last) == 1 and last[0] not in _ids(practice, "--limit", "2")


def test_the_next_page_keeps_the_filters_it_was_given(practice: Practice) -> None:
    """The docs probe ran the printed command, `--cursor X` alone, and got the next page of an
    unfiltered list: the hint now carries the options given."""
    framework = json.loads(vigil("findings", "list", *practice.args(), "--json").stdout)["items"][0]["framework"]
    first = vigil("findings", "list", "--framework", framework, "--limit", "1", *practice.args())
    words = _printed(first.stdout, "next page:")
    assert words[words.index("--framework") + 1] == framework
    again = vigil(*words, "--json")
    assert again.exit_code == 0 and all(f["framework"] == framework for f in json.loads(again.stdout)["items"])


def test_tasks_list_says_how_to_get_the_next_page(practice: Practice) -> None:
    raw = vigil("tasks", "list", "--limit", "2", *practice.args()).stdout
    text = said(raw)
    cursor = json.loads(vigil("tasks", "list", "--limit", "2", *practice.args(), "--json").stdout)["next_cursor"]
    assert cursor and "2 of 3 tasks" in text and f"--cursor {cursor}" in text
    assert _printed(raw, "next page:")[:4] == ["tasks", "list", "--limit", "2"]
    assert "raise --limit" not in text
    rest = said(vigil("tasks", "list", "--limit", "2", "--cursor", cursor, *practice.args()).stdout)
    assert "next page" not in rest


# --- vigil findings show: what the web page shows -----------------------------------------------------------


def test_findings_show_names_the_assignee_the_waiver_and_the_sop_task(practice: Practice) -> None:
    task = json.loads(vigil("tasks", "show", practice.task, *practice.args(), "--json").stdout)
    finding = task["finding_id"]
    assert vigil("findings", "assign", finding, "P-MGR", *practice.args()).exit_code == 0
    waived = vigil("findings", "waive", finding, "--until", "2026-06-01T00:00:00Z", "--reason", "leave of absence",
                   "--approver", "CMO", *practice.args(), "--json")
    assert waived.exit_code == 0, waived.output
    waiver = json.loads(waived.stdout)["id"]
    shown = vigil("findings", "show", finding, *practice.args())
    assert shown.exit_code == 0, shown.output
    text = said(shown.stdout)
    assert "assigned to P-MGR" in text
    assert f"waiver in force: {waiver} through 2026-05-31 (UTC)" in text and "approved by CMO" in text
    assert f"SOP task {practice.task} ({task['sop']})" in text
    # the history as people read it: a UTC instant to the second, "new -> open" for the opening (it had
    # printed the instant to the microsecond and "transition ->open")
    stamped = re.compile(r"\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC ")
    history = [ln.strip() for ln in shown.stdout.splitlines() if stamped.match(ln)]
    assert history and ": new -> open" in history[0] and "transition" not in shown.stdout, shown.stdout
    assert ": waive" in history[-1] or "-> waived" in history[-1], history
    as_json = json.loads(vigil("findings", "show", finding, *practice.args(), "--json").stdout)
    assert as_json["assignee"] == "P-MGR" and as_json["waiver_id"] == waiver  # --json as it was


def test_a_task_and_a_run_are_shown_by_the_start_of_their_id(practice: Practice) -> None:
    """The newcomer pass: `vigil findings show F-87481e` worked, `tasks show T-86351b` and `runs show
    R-4926` answered "not found"."""
    shown = vigil("tasks", "show", practice.task[:8], *practice.args(), "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["id"] == practice.task, shown.output
    noted = vigil("tasks", "note", practice.task[:8], "seen", *practice.args(), "--json")
    assert noted.exit_code == 0, noted.output
    run_id = json.loads(vigil("runs", "--json", *practice.args()).stdout)[0]["id"]
    one = vigil("runs", "show", run_id[:6], *practice.args(), "--json")
    assert one.exit_code == 0 and json.loads(one.stdout)["id"] == run_id, one.output
