"""Options a user can get wrong: each is exit 2 naming the option and why (sweep items 3, 4, 5, 8, 10, 12)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import FIXTURES, ORG, Practice, crashed, said, vigil

FIXTURES_RULESETS = FIXTURES / "rulesets"

# --- 3: pydantic's refusals, named by option -------------------------------------------------------


def test_a_waiver_reason_too_short_names_the_option(practice: Practice) -> None:
    result = vigil("findings", "waive", practice.findings[0], "--until", "2027-01-01T00:00:00Z", "--reason", "r",
                   "--approver", "a", *practice.args())
    assert result.exit_code == 2 and not crashed(result)
    assert "--reason: String should have at least 3 characters" in said(result.stderr)


def test_every_problem_with_a_waiver_is_named_at_once(practice: Practice) -> None:
    """Probe 15 #12: a missing offset, a blank approver and a short reason took three attempts."""
    result = vigil("findings", "waive", practice.findings[0], "--until", "2027-01-01T00:00:00", "--reason", "x",
                   "--approver", "", *practice.args())
    assert result.exit_code == 2 and not crashed(result)
    text = said(result.stderr)
    assert "3 problems" in text and "without an offset" in text and "--approver must not be blank" in text
    assert "--reason: String should have at least 3 characters" in text


@pytest.mark.parametrize("approver", ["", "   "])
def test_a_blank_approver_is_refused(practice: Practice, approver: str) -> None:
    result = vigil("findings", "waive", practice.findings[0], "--until", "2027-01-01T00:00:00Z", "--reason", "fine",
                   "--approver", approver, *practice.args())
    assert result.exit_code == 2 and "--approver must not be blank" in said(result.stderr)


@pytest.mark.parametrize(("username", "password", "named"), [
    ("bob", "x", "--password: String should have at least 10 characters"),
    ("bad name!", "blue-heron-47", "USERNAME: String should match pattern"),
])
def test_users_add_names_the_refused_option(cli_env: Path, username: str, password: str, named: str) -> None:
    result = vigil("users", "add", username, "--role", "auditor", "--password", password, "--db",
                   f"sqlite:///{cli_env / 'u.db'}")
    assert result.exit_code == 2 and not crashed(result)
    assert named in said(result.stderr)
    assert password not in said(result.stderr).replace(named, "")  # a password is never echoed


def test_every_refused_field_is_listed(cli_env: Path) -> None:
    result = vigil("users", "add", "b", "--role", "staff", "--password", "x", "--db", f"sqlite:///{cli_env / 'u.db'}")
    text = said(result.stderr)
    assert result.exit_code == 2 and "invalid values for USERNAME, --password" in text


def test_an_unknown_role_is_listed_with_the_other_refused_fields(cli_env: Path) -> None:
    result = vigil("users", "add", "b", "--role", "boss", "--password", "x", "--db", f"sqlite:///{cli_env / 'u.db'}")
    text = said(result.stderr)
    assert result.exit_code == 2 and "invalid values for USERNAME, --password, --role" in text
    assert "--role: unknown role 'boss': one of admin, officer, liaison, auditor, staff" in text


# --- 4: dates out of range ---------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "option"), [
    (["evaluate", "--as-of", "9999-12-31T23:59:59Z", "--db", "DB"], "--as-of"),
    (["evaluate", "--as-of", "0001-01-01T00:00:00+05:00", "--db", "DB"], "--as-of"),
    (["evaluate", "--as-of", "2026-03-05T00:00:00Z", "--known-at", "0001-01-01T00:00:00+05:00", "--db", "DB"],
     "--known-at"),
    (["export", "--out", "OUT", "--as-of", "0001-01-01T00:00:00+01:00", "--db", "DB"], "--as-of"),
    (["records", "show", "establishment", "E1", "--known-at", "9999-12-31T23:59:59-01:00", "--db", "DB"],
     "--as-of"),
    (["findings", "waive", "F-1", "--until", "0001-01-01T00:00:00+05:00", "--reason", "fine", "--approver", "a",
      "--db", "DB"], "--until"),
    (["packet", "build", "--framework", "demo", "--from", "2026-01-01", "--to", "9999-12-31", "--out", "OUT/p.zip",
      "--db", "DB"], "--to"),
    (["users", "grant", "aud", "--framework", "demo", "--from", "2026-01-01", "--to", "2026-02-01", "--expires",
      "9999-12-31T23:59:59Z", "--db", "DB"], "--expires"),
    (["demo-data", "--anchor", "0001-01-01", "--out", "OUT"], "--anchor"),
    (["demo-data", "--anchor", "9999-12-31", "--out", "OUT"], "--anchor"),
])
def test_instants_and_dates_out_of_range(practice: Practice, args: list[str], option: str) -> None:
    out = practice.path.parent / "out"
    args = [practice.url if a == "DB" else a.replace("OUT", str(out)) for a in args]
    result = vigil(*args, *(["--org", ORG] if "--db" in args and args[0] != "users" else []))
    assert result.exit_code == 2 and not crashed(result), result.output
    assert f"{option}: " in said(result.stderr) and "outside the supported range 1900-01-01 .. 2199-12-31" in said(
        result.stderr)
    assert not out.exists()


def test_an_impossible_day_names_the_option(practice: Practice) -> None:
    result = vigil("users", "grant", "aud", "--framework", "demo", "--from", "2026-02-30", "--to", "2026-03-01",
                   "--expires", "2027-01-01T00:00:00Z", "--db", practice.url)
    assert result.exit_code == 2 and not crashed(result)
    assert "--from: not a date: '2026-02-30'" in said(result.stderr) and "day is out of range" in said(result.stderr)


@pytest.mark.parametrize("scale", ["nan", "inf", "-1", "0"])
def test_demo_data_scale_must_be_a_finite_positive_number(cli_env: Path, scale: str) -> None:
    result = vigil("demo-data", "--scale", scale, "--out", str(cli_env / "out"))
    assert result.exit_code == 2 and "--scale must be a finite number more than 0" in said(result.stderr)


def test_token_days_are_bounded(practice: Practice) -> None:
    result = vigil("users", "token", "aud", "--days", "99999999", "--db", practice.url)
    assert result.exit_code == 2 and not crashed(result) and "--days" in said(result.stderr)


def test_the_edges_of_the_range_are_accepted(cli_env: Path) -> None:
    records = cli_env / "r.json"
    records.write_text('[{"type": "establishment", "id": "E1", "tz": "America/New_York", "state": "NY"}]')
    for instant in ("1900-01-01T00:00:00Z", "2199-12-31T23:59:59Z"):
        result = vigil("evaluate", "--records", str(records), "--as-of", instant, "--json")
        assert result.exit_code == 0, result.output


# --- 5: --limit ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["runs"], ["audit", "log"], ["findings", "list"], ["tasks", "list"]])
@pytest.mark.parametrize("limit", ["99999999999999999999", "0", "-1", "1001"])
def test_limits_are_1_to_1000(practice: Practice, command: list[str], limit: str) -> None:
    result = vigil(*command, "--limit", limit, "--db", practice.url)
    assert result.exit_code == 2 and not crashed(result)
    assert "--limit" in said(result.stderr)


def test_a_limit_in_range_limits(practice: Practice) -> None:
    result = vigil("audit", "log", "--limit", "1", "--db", practice.url, "--json")
    assert result.exit_code == 0 and result.stdout.count('"seq"') == 1


@pytest.mark.parametrize("option", ["--actor", "--action", "--entity"])
def test_audit_log_refuses_an_empty_filter_as_the_api_does(practice: Practice, option: str) -> None:
    """The docs probe: `--action ''` exited 0 listing the newest entries unfiltered."""
    result = vigil("audit", "log", option, "", "--db", practice.url)
    assert result.exit_code == 2 and not crashed(result) and option in said(result.stderr)


def test_audit_log_says_when_nothing_matches(practice: Practice) -> None:
    result = vigil("audit", "log", "--actor", "nobody-at-all", "--db", practice.url)
    assert result.exit_code == 0 and said(result.stdout) == "0 entries match"
    # an action no entry has is bad input, naming the families recorded (it had said "0 entries match")
    typo = vigil("audit", "log", "--action", "no.such.action", "--db", practice.url)
    assert typo.exit_code == 2 and "no entry has the action 'no.such.action'" in said(typo.stderr), typo.output


# --- 8: the scheduler's numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(("args", "option"), [
    (["--tick", "-1"], "--tick"), (["--tick", "0"], "--tick"), (["--tick", "nan"], "--tick"),
    (["--for", "-1"], "--for"), (["--for", "nan"], "--for"), (["--for", "inf"], "--for"),
    (["--poll", "0"], "--poll"), (["--poll", "-5"], "--poll"), (["--poll", "inf"], "--poll"),
])
def test_scheduler_refuses_bad_numbers(practice: Practice, args: list[str], option: str) -> None:
    # --once: were the check missing, the command would still end
    result = vigil("scheduler", "run", "--once", *args, "--only", "digest", *practice.args())
    assert result.exit_code == 2 and f"{option} must be a finite number more than 0" in said(result.stderr)


def test_the_negative_tick_that_hung_now_exits_at_once(practice: Practice) -> None:
    """The sweep's reproduction, in a real process: it spun at 100% CPU and ignored SIGTERM."""
    done = subprocess.run([sys.executable, "-m", "engine.cli.main", "scheduler", "run", "--tick", "-1", "--for", "1",
                           "--only", "digest", *practice.args()], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "--tick must be a finite number more than 0" in said(done.stderr)


def test_the_scheduler_refuses_a_practice_the_database_does_not_hold(practice: Practice,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo had been swept as a new practice: a run and recurring tasks for nobody, exit 0."""
    import sqlite3

    with sqlite3.connect(practice.path) as conn:
        runs = conn.execute("SELECT count(*) FROM evaluation_run").fetchone()[0]
    typo = vigil("scheduler", "run", "--once", "--only", "sweep,recurrence", "--db", practice.url, "--org", "dmeo")
    assert typo.exit_code == 2 and "no organization 'dmeo'" in said(typo.stderr), typo.stderr
    assert ORG in said(typo.stderr)  # the ones it holds are listed
    monkeypatch.setenv("VIGIL_ORGS", "dmeo")
    from_env = vigil("scheduler", "run", "--once", "--only", "sweep", "--db", practice.url)
    assert from_env.exit_code == 2 and "dmeo" in said(from_env.stderr)
    with sqlite3.connect(practice.path) as conn:
        assert conn.execute("SELECT count(*) FROM evaluation_run").fetchone()[0] == runs
        assert conn.execute("SELECT count(*) FROM task WHERE org_id = 'dmeo'").fetchone()[0] == 0


@pytest.mark.parametrize("option", ["--state", "--severity", "--status", "--establishment", "--rule"])
@pytest.mark.parametrize("value", ["", " ", ",", "open,"])
def test_a_findings_filter_naming_nothing_is_refused(practice: Practice, option: str, value: str) -> None:
    """'' had listed every finding and ',' none, both with exit 0 (the API answers 422)."""
    result = vigil("findings", "list", option, value, *practice.args())
    assert result.exit_code == 2 and f"{option}: {value!r} names nothing" in said(result.stderr), result.stderr


@pytest.mark.parametrize("option", ["--owner", "--sop", "--finding"])
def test_a_task_filter_naming_nothing_is_refused(practice: Practice, option: str) -> None:
    result = vigil("tasks", "list", option, "", *practice.args())
    assert result.exit_code == 2 and "names nothing" in said(result.stderr)


@pytest.mark.parametrize("args", [["--status", "overdue", "--status", "violation"],
                                  ["--status=overdue", "--status", "violation"], ["--limit", "5", "--limit", "9"]])
def test_a_single_value_option_given_twice_is_refused(practice: Practice, args: list[str]) -> None:
    """The last value had been kept: 'overdue' then 'violation' listed violations alone."""
    result = vigil("findings", "list", *args, *practice.args())
    assert result.exit_code == 2 and "given more than once" in said(result.stderr + result.output), result.output
    repeated = vigil("findings", "list", "--status", "overdue,violation", *practice.args())
    assert repeated.exit_code == 0


# --- 10, 12: blank text and unknown words -------------------------------------------------------------


@pytest.mark.parametrize("actor", ["", "   "])
@pytest.mark.parametrize("command", [["complete"], ["note", "TASK", "called"], ["attach"]])
def test_task_actors_must_not_be_blank(practice: Practice, actor: str, command: list[str]) -> None:
    args = [practice.task if a == "TASK" else a for a in command]
    if command == ["complete"]:
        args.append(practice.task)
    if command == ["attach"]:
        args += [practice.task, str(practice.path)]
    result = vigil("tasks", *args, "--actor", actor, *practice.args())
    assert result.exit_code == 2 and "--actor must not be blank" in said(result.stderr)


def test_a_blank_false_positive_reason_is_refused(practice: Practice) -> None:
    result = vigil("findings", "false-positive", practice.findings[0], "--reason", "   ", *practice.args())
    assert result.exit_code == 2 and "--reason must not be blank" in said(result.stderr)
    shown = vigil("findings", "show", practice.findings[0], *practice.args(), "--json")
    assert '"status": "false_positive"' not in shown.stdout and '"state": "open"' in shown.stdout


@pytest.mark.parametrize(("option", "value", "allowed"), [
    ("--state", "bogus", "open, done, closed"), ("--state", "open,bogus", "open, done, closed"),
    ("--kind", "nope", "finding, recurring"),
])
def test_task_filters_refuse_unknown_words(practice: Practice, option: str, value: str, allowed: str) -> None:
    result = vigil("tasks", "list", option, value, *practice.args())
    assert result.exit_code == 2
    assert f"{option}: unknown value 'bogus'" in said(result.stderr) or "'nope'" in said(result.stderr)
    assert f"allowed: {allowed}" in said(result.stderr)


def test_task_filters_accept_known_words(practice: Practice) -> None:
    result = vigil("tasks", "list", "--state", "open,done", "--kind", "finding", *practice.args(), "--json")
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert page["total"] >= 1 and {t["kind"] for t in page["items"]} == {"finding"}


# --- findings list: --status (due_soon, overdue, violation) beside --state (the lifecycle) ---------------


def test_findings_list_filters_by_status_as_the_api_does(practice: Practice) -> None:
    overdue = vigil("findings", "list", "--status", "overdue", *practice.args(), "--json")
    assert overdue.exit_code == 0, overdue.output
    page = json.loads(overdue.stdout)
    assert page["total"] == 1 and {f["status"] for f in page["items"]} == {"overdue"}
    both = vigil("findings", "list", "--status", "overdue,violation", "--state", "open", *practice.args(), "--json")
    assert both.exit_code == 0 and json.loads(both.stdout)["total"] == 3
    none = vigil("findings", "list", "--status", "due_soon", *practice.args(), "--json")
    assert none.exit_code == 0 and json.loads(none.stdout)["total"] == 0


def test_findings_list_refuses_an_unknown_status_listing_the_statuses(practice: Practice) -> None:
    result = vigil("findings", "list", "--status", "late", *practice.args())
    assert result.exit_code == 2 and not crashed(result)
    assert "'late' is not a status; the status values are: due_soon, overdue, violation" in said(result.stderr)


@pytest.mark.parametrize("value", ["due_soon", "open,overdue"])
def test_a_status_given_as_a_state_points_at_status(practice: Practice, value: str) -> None:
    result = vigil("findings", "list", "--state", value, *practice.args())
    assert result.exit_code == 2 and not crashed(result)
    wrong = value.split(",")[-1]
    assert f"--state: {wrong!r} is a finding's status, not a state; use --status {wrong}" in said(result.stderr)
    assert "states: open, acknowledged, resolved, waived, false_positive" in said(result.stderr)


def test_waivers_are_listed_and_one_is_revoked_with_a_reason(practice: Practice) -> None:
    fid = practice.findings[0]
    granted = vigil("findings", "waive", fid, "--until", "2026-12-01T00:00:00Z", "--reason", "on leave",
                    "--approver", "CMO", "--json", *practice.args())
    assert granted.exit_code == 0, granted.output
    wid = json.loads(granted.stdout)["id"]
    listed = vigil("findings", "waivers", "--json", *practice.args())
    assert [w["id"] for w in json.loads(listed.stdout)] == [wid]
    table = vigil("findings", "waivers", *practice.args())
    assert table.exit_code == 0 and wid in table.stdout and "1 waiver" in table.stdout
    # at 80 columns the reason and the approver are there (the staff pass of session 46: none of it was)
    assert max(map(len, table.stdout.splitlines())) <= 80 and "CMO" in table.stdout and "leave" in table.stdout
    short = vigil("findings", "revoke-waiver", wid, "--reason", "x", *practice.args())
    assert short.exit_code == 2 and not crashed(short) and "reason" in said(short.stderr)
    done = vigil("findings", "revoke-waiver", wid, "--reason", "granted by mistake", "--json", *practice.args())
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["revoke_reason"] == "granted by mistake"
    shown = vigil("findings", "show", fid, "--json", *practice.args())
    assert json.loads(shown.stdout)["state"] == "open"
    again = vigil("findings", "revoke-waiver", wid, "--reason", "granted by mistake", *practice.args())
    assert again.exit_code == 1 and "already revoked" in said(again.stderr)  # a conflict (409), as reopen
    revoked = vigil("findings", "waivers", *practice.args()).stdout
    assert "revoked" in revoked and wid in revoked and "mistake" in revoked, revoked


def test_a_waiver_says_which_findings_it_waives(practice: Practice) -> None:
    """A waiver's scope is the rule for the subject (or establishment) in its period, so it can waive
    findings other than the one it was asked from (other years of a duty): the reports probe waived
    "2024 300A posted late" and five more findings went with it, unsaid."""
    fid = practice.findings[0]
    granted = vigil("findings", "waive", fid, "--until", "2026-12-01T00:00:00Z", "--reason", "on leave",
                    "--approver", "CMO", *practice.args())
    assert granted.exit_code == 0, granted.output
    listed = json.loads(vigil("findings", "waivers", "--json", *practice.args()).stdout)
    (waiver,) = listed
    shown = json.loads(vigil("findings", "list", "--state", "waived", "--json", *practice.args()).stdout)["items"]
    assert fid in waiver["findings"] and waiver["findings"] == sorted(f["id"] for f in shown
                                                                      if f["waiver_id"] == waiver["id"])
    n = len(waiver["findings"])
    named = ", ".join(waiver["findings"])
    reach = ("it waives this finding" if n == 1 else
             f"it waives {n} findings of {waiver['rule_id']} for {waiver['subject_id']}: {named}")
    # a UTC midnight end reads as the day it runs through, as the finding's history says it
    assert f"waiver {waiver['id']} through 2026-11-30 (UTC): {reach}" in " ".join(granted.stdout.split())
    table = vigil("findings", "waivers", *practice.args())
    assert f"waives {n} finding" in table.stdout


def test_evaluate_names_every_bad_option_at_once(cli_env: Path) -> None:
    """Probe 16 #13: a bad --as-of hid a bad --framework, --backend and a missing records file."""
    result = vigil("evaluate", "--records", str(cli_env / "nope.ndjson"), "--as-of", "2026-11-30T17:00:00",
                   "--framework", "nope", "--backend", "x")
    assert result.exit_code == 2 and not crashed(result)
    text = said(result.stderr)
    assert "4 problems with the input" in text
    for part in ("must be durable or python, not 'x'", "no such file", "without an offset", "unknown framework 'nope'"):
        assert part in text, part


def test_evaluate_names_the_records_and_parameters_problems_with_the_options(cli_env: Path) -> None:
    """Probe 17 (CONTRACT: "exit 2 with every problem on stderr"): a bad option hid a bad record, and a
    bad record hid a bad parameter; a missing file hid the others' problems."""
    bad = cli_env / "bad.ndjson"
    bad.write_text('{"type": "person", "id": "X", "dob": "bad"}\n')
    params = cli_env / "p.yaml"
    params.write_text("params:\n  demo: {nope: 1}\n")
    cases = {
        "options and a record": (["--as-of", "2026-03-05T00:00:00", "--framework", "nope", "--backend", "x"],
                                 ["durable or python", "without an offset", "unknown framework 'nope'", "field dob"]),
        "a parameter and a record": (["--as-of", "2026-03-05T00:00:00Z", "--params", str(params)],
                                     ["unknown parameter 'nope' for ruleset demo", "field dob"]),
        "a missing file and a record": (["--as-of", "2026-03-05T00:00:00Z", "--records", str(cli_env / "gone.ndjson")],
                                        ["no such file", "field dob"]),
    }
    for name, (args, parts) in cases.items():
        result = vigil("evaluate", "--records", str(bad), *args)
        assert result.exit_code == 2 and not crashed(result) and result.stdout == "", name
        text = said(result.stderr)
        assert f"{len(parts)} problems with the input" in text, (name, text)
        for part in parts:
            assert part in text, (name, part)
        assert text.count("field dob") == 1 and text.count("unknown framework") <= 1, (name, text)
        # with --json, the same problems as JSON on stderr, each naming its option or record field
        as_json = vigil("evaluate", "--records", str(bad), *args, "--json")
        assert as_json.exit_code == 2 and as_json.stdout == "", name
        details = json.loads(as_json.stderr)["error"]["details"]
        assert len(details) == len(parts) and [d.get("field") for d in details].count("dob") == 1, (name, details)


def test_an_evaluation_before_every_ruleset_names_each_frameworks_first_version_in_force(
        cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe 16: versions withdrawn before their start were listed as "in force later"."""
    import shutil

    root = cli_env / "rulesets"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "rulesets", root)
    (root / "demo" / "withdrawals.yaml").write_text(
        "withdrawals:\n  - {version: 1.0.0, 'on': 2026-01-01, reason: never, by: t, at: '2025-12-01T00:00:00Z'}\n",
        encoding="utf-8")
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(root))
    records = cli_env / "r.ndjson"
    records.write_text('{"type": "establishment", "id": "E1", "name": "Main", "tz": "America/Chicago"}\n')
    result = vigil("evaluate", "--records", str(records), "--as-of", "2025-06-01T00:00:00Z")
    assert result.exit_code == 0, result.output
    assert "in force later: demo from 2026-07-01" in said(result.stderr)


# --- probe 25: an empty --framework, a folder given as a file, the tests folder itself ----------------


@pytest.mark.parametrize("command", [("findings", "list"), ("rules", "list"), ("params", "list")])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_framework_is_refused_not_read_as_every_framework(practice: Practice, command: tuple[str, ...],
                                                                   value: str) -> None:
    """A script's `--framework "$FW"` with FW unset had widened its scope silently."""
    extra = practice.args() if command[0] == "findings" else []
    result = vigil(*command, "--framework", value, *extra, "--json")
    assert result.exit_code == 2 and not crashed(result) and result.stdout == ""
    assert "--framework must not be blank" in said(result.stderr)


def test_an_unknown_framework_is_refused_by_rules_list(cli_env: Path) -> None:
    result = vigil("rules", "list", "--framework", "nosuch", "--json")
    assert result.exit_code == 2 and "unknown framework 'nosuch'" in said(result.stderr)


def test_evaluate_refuses_an_empty_framework_and_a_folder_of_records(cli_env: Path) -> None:
    records = cli_env / "records"
    records.mkdir()
    result = vigil("evaluate", "--records", str(records), "--framework", ",", "--as-of", "2026-03-05T12:00:00Z",
                   "--json")
    assert result.exit_code == 2 and result.stdout == ""
    text = said(result.stderr)
    assert "--framework must name a framework" in text and "is a folder: give its files" in text


def test_import_names_a_folder_as_a_folder(practice: Practice) -> None:
    result = vigil("import", str(practice.path.parent), *practice.args(), "--json")
    assert result.exit_code == 2 and "a folder, not a file" in said(result.stderr)


def test_rules_test_takes_a_frameworks_tests_folder_itself(cli_env: Path) -> None:
    import shutil

    framework = cli_env / "rules" / "demo"
    (framework / "tests").mkdir(parents=True)
    shutil.copy(FIXTURES_RULESETS / "demo" / "demo-1.0.0.yaml", framework)
    (framework / "tests" / "quiet.yaml").write_text(
        "name: no records, no findings\nframework: demo\nrecords: []\n"
        "cases:\n  - as_of: '2026-03-05T12:00:00Z'\n    expect: []\n")
    result = vigil("rules", "test", str(framework / "tests"), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["passed"], body["failed"]) == (1, 0)


def test_findings_list_pages_on_with_the_cursor_its_json_gives(practice: Practice) -> None:
    """The JSON offered next_cursor, but no command took one: past --limit 1000 nothing more could be listed."""
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = vigil("findings", "list", "--limit", "1", *practice.args(), "--json",
                     *(["--cursor", cursor] if cursor else []))
        assert page.exit_code == 0, page.output
        body = json.loads(page.stdout)
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(practice.findings) and len(seen) == len(set(seen)) > 1
    bad = vigil("findings", "list", "--cursor", "garbage", *practice.args(), "--json")
    assert bad.exit_code == 2 and "not a cursor this list gave out" in said(bad.stderr)
    tasks = vigil("tasks", "list", "--cursor", "garbage", *practice.args(), "--json")
    assert tasks.exit_code == 2 and "not a cursor this list gave out" in said(tasks.stderr)


def test_acting_on_a_finding_names_who_and_why(practice: Practice, monkeypatch: pytest.MonkeyPatch) -> None:
    """Acknowledging had no --reason, and every act from the CLI was recorded as plain 'cli' (probe 25)."""
    monkeypatch.setenv("VIGIL_ACTOR", "cli:dana")
    fid = practice.findings[0]
    r = vigil("findings", "ack", fid, "--reason", "reviewing with HR on Monday", *practice.args(), "--json")
    assert r.exit_code == 0, r.output
    shown = json.loads(vigil("findings", "show", fid, *practice.args(), "--json").stdout)
    last = shown["history"][-1]
    assert (last["actor"], last["reason"], last["to_state"]) == ("cli:dana", "reviewing with HR on Monday",
                                                                 "acknowledged")


def test_a_waivers_approver_may_be_given_as_params_set_names_it(practice: Practice) -> None:
    """Faces probe: `findings waive --approver` but `params set --approved-by`."""
    granted = vigil("findings", "waive", practice.findings[0], "--until", "2026-12-01T00:00:00Z", "--reason",
                    "on leave", "--approved-by", "CMO", "--json", *practice.args())
    assert granted.exit_code == 0, granted.output
    assert json.loads(granted.stdout)["approver"] == "CMO"


@pytest.mark.parametrize("command, option", [(("findings", "list"), "--state"), (("findings", "list"), "--rule"),
                                             (("findings", "list"), "--framework"), (("tasks", "list"), "--owner"),
                                             (("tasks", "list"), "--state")])
def test_a_filter_takes_as_many_values_as_the_api_does(practice: Practice, command: tuple[str, str],
                                                       option: str) -> None:
    """The API's cap (`engine.filter_values`), with the exit code of any other bad option."""
    from engine.filter_values import MAX_FILTER_VALUES

    value = ",".join(["open"] * (MAX_FILTER_VALUES + 1))
    result = vigil(*command, option, value, *practice.args())
    assert result.exit_code == 2 and not crashed(result), result.stderr
    assert f"{option}: too many values (at most {MAX_FILTER_VALUES})" in said(result.stderr)
