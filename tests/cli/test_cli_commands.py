"""`vigil rules diff`, `--json` on the act commands, and help on every option (sweep items 9, 10, 11)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import typer

from engine.cli.main import app
from tests.cli.conftest import Practice, crashed, said, vigil

# --- 9: rules diff -------------------------------------------------------------------------------------


def test_rules_diff_json(cli_env: Path) -> None:
    result = vigil("rules", "diff", "demo", "1.0.0", "2.0.0", "--json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert (d["framework"], d["from_version"], d["to_version"]) == ("demo", "1.0.0", "2.0.0")
    assert d["added"] == [] and d["removed"] == []
    assert d["params_changed"]["new_hire_days"]["from"]["default"] == 30
    assert d["params_changed"]["new_hire_days"]["to"]["default"] == 10
    assert d["header_changed"]["effective_from"] == {"from": "2026-01-01", "to": "2026-07-01"}  # probe 16
    assert d["header_changed"]["effective_to"] == {"from": "2026-07-01", "to": None}
    assert "+version: 2.0.0" in d["unified"]


def test_rules_diff_json_shows_whole_bounds_whole(cli_env: Path, tmp_path: Path) -> None:
    """`minimum: 1, maximum: 90` had been `1.0` and `90.0` in the diff (the bound is held as a float)."""
    from engine.rules.catalog import rulesets_dir

    source = rulesets_dir() / "demo" / "demo-2.0.0.yaml"
    draft = tmp_path / "demo-2.1.0.yaml"
    text = source.read_text().replace("version: 2.0.0", "version: 2.1.0")
    assert "new_hire_days: {type: int, unit: days, default: 10," in text
    draft.write_text(text.replace("new_hire_days: {type: int, unit: days, default: 10,",
                                  "new_hire_days: {type: int, unit: days, default: 10, minimum: 1, maximum: 90.5,"))
    result = vigil("rules", "diff", "demo", "2.0.0", str(draft), "--json")
    assert result.exit_code == 0, result.output
    to = json.loads(result.stdout)["params_changed"]["new_hire_days"]["to"]
    assert (to["minimum"], to["maximum"]) == (1, 90.5) and '"minimum": 1,' in result.stdout
    assert "maximum none -> 90.5; minimum none -> 1" in vigil("rules", "diff", "demo", "2.0.0", str(draft)).stdout


def test_rules_diff_text(cli_env: Path) -> None:
    result = vigil("rules", "diff", "demo", "1.0.0", "2.0.0", "--unified")
    assert result.exit_code == 0, result.output
    assert "new_hire_days: default 30 -> 10" in result.stdout and "+++ demo@2.0.0" in result.stdout


@pytest.mark.parametrize(("args", "says"), [
    (["dem", "1.0.0", "2.0.0"], "no ruleset for 'dem'"),
    (["demo", "1.0.0", "3.0.0"], "TO_VERSION: demo has no version '3.0.0' - the demo versions are: 1.0.0, 2.0.0"),
    (["demo", "0.9", "2.0.0"], "FROM_VERSION: demo has no version '0.9'"),
])
def test_rules_diff_bad_arguments(cli_env: Path, args: list[str], says: str) -> None:
    result = vigil("rules", "diff", *args)
    assert result.exit_code == 2 and says in said(result.stderr)


def test_a_rulesets_folder_that_does_not_exist_is_named_as_the_reason(cli_env: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The docs probe: the README's relative VIGIL_RULESETS_DIR, given from another folder, answered
    "the frameworks are: " and nothing more. (Now refused before any ruleset is looked for.)"""
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(tmp_path / "no-such-folder"))
    result = vigil("rules", "diff", "demo", "1.0.0", "2.0.0")
    assert result.exit_code == 2
    assert (f"the rulesets folder (VIGIL_RULESETS_DIR) {tmp_path / 'no-such-folder'} does not exist"
            in said(result.stderr))


def test_rules_diff_compares_a_version_with_a_draft_file_and_names_the_keys_changed(cli_env: Path,
                                                                                      tmp_path: Path) -> None:
    """A liaison diffs the draft before publishing it; a changed rule says what in it changed."""
    from engine.rules.catalog import rulesets_dir

    source = rulesets_dir() / "demo" / "demo-2.0.0.yaml"
    draft = tmp_path / "demo-2.1.0.yaml"
    draft.write_text(source.read_text().replace("version: 2.0.0", "version: 2.1.0")
                     .replace("severity: medium", "severity: high", 1))
    result = vigil("rules", "diff", "demo", "2.0.0", str(draft), "--json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["to_version"] == "2.1.0" and d["changed"] and all(d["changed_fields"][i] for i in d["changed"])
    assert any("severity" in fields for fields in d["changed_fields"].values())
    text = vigil("rules", "diff", "demo", "2.0.0", str(draft))
    assert text.exit_code == 0 and "(severity" in text.stdout
    wrong = tmp_path / "other.yaml"
    wrong.write_text(source.read_text().replace("framework: demo", "framework: other"))
    refused = vigil("rules", "diff", "demo", "2.0.0", str(wrong))
    assert refused.exit_code == 2 and "is a other ruleset, not demo" in said(refused.stderr)


def test_rules_help_lists_diff_and_it_exists(cli_env: Path) -> None:
    assert "diff" in vigil("rules", "--help").stdout
    assert vigil("rules", "diff", "--help").exit_code == 0


def test_rules_list_json_keeps_the_types_rules_show_gives(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`advisory` is a JSON boolean (it was the string "false"); every field has the type `rules show` gives it."""
    monkeypatch.delenv("VIGIL_RULESETS_DIR")  # the shipped rulesets: some of their rules are advisory
    result = vigil("rules", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {type(row["advisory"]) for row in rows} == {bool} and any(row["advisory"] for row in rows)
    for row in rows:
        assert all(value is None or isinstance(value, str) for key, value in row.items() if key != "advisory"), row
    advisory = next(row for row in rows if row["advisory"])
    shown = json.loads(vigil("rules", "show", advisory["rule_id"], "--json").stdout)
    for key in ("rule_id", "title", "severity", "kind", "advisory", "citation", "sop"):
        assert advisory[key] == shown["id" if key == "rule_id" else key], key


# --- 10: --json on the act commands ---------------------------------------------------------------------


def test_findings_list_sorts_by_severity_or_due_and_names_an_unknown_order(practice: Practice) -> None:
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    worst = json.loads(vigil("findings", "list", "--sort", "severity", *practice.args(), "--json").stdout)["items"]
    assert [rank[x["severity"]] for x in worst] == sorted(rank[x["severity"]] for x in worst)
    nearest = json.loads(vigil("findings", "list", "--sort", "due", *practice.args(), "--json").stdout)["items"]
    dues = [x["due"] for x in nearest]
    assert dues == sorted(dues, key=lambda d: (d is None, d or "")) and len(nearest) == len(worst)
    wrong = vigil("findings", "list", "--sort", "worst", *practice.args())
    assert wrong.exit_code == 2 and "newest, severity, due" in wrong.output, wrong.output


def test_findings_ack_json(practice: Practice) -> None:
    result = vigil("findings", "ack", practice.findings[0], *practice.args(), "--json")
    assert result.exit_code == 0, result.output
    finding = json.loads(result.stdout)
    assert finding["id"] == practice.findings[0] and finding["state"] == "acknowledged"


def test_findings_false_positive_json_keeps_the_reason_stripped(practice: Practice) -> None:
    result = vigil("findings", "false-positive", practice.findings[1], "--reason", "  duplicate feed  ",
                   *practice.args(), "--json")
    assert result.exit_code == 0, result.output
    finding = json.loads(result.stdout)
    assert finding["state"] == "false_positive" and finding["history"][-1]["reason"] == "duplicate feed"


def test_findings_assign_comment_and_reopen_from_the_cli(practice: Practice) -> None:
    """The officer's jobs PRODUCT.md names, not only through the API: assigning takes the open task along."""
    tasks = json.loads(vigil("tasks", "list", *practice.args(), "--json").stdout)["items"]
    task = next(t for t in tasks if t["id"] == practice.task)
    finding = task["finding_id"]
    people = practice.path.parent / "people.json"
    people.write_text(json.dumps([{"type": "person", "id": "P1", "first_name": "Ana", "last_name": "Diaz"}]))
    assert vigil("import", str(people), *practice.args()).exit_code == 0
    assert task["owner"] != "P1"
    assigned = vigil("findings", "assign", finding, "P1", *practice.args(), "--json")
    assert assigned.exit_code == 0, assigned.output
    assert json.loads(assigned.stdout)["assignee"] == "P1"
    moved = json.loads(vigil("tasks", "list", *practice.args(), "--owner", "P1", "--json").stdout)["items"]
    assert [t["id"] for t in moved] == [practice.task]
    assert vigil("findings", "assign", finding, "nobody-at-all", *practice.args()).exit_code == 2
    said_ = vigil("findings", "comment", finding, "  asked HR for the roster  ", *practice.args(), "--json")
    assert said_.exit_code == 0 and json.loads(said_.stdout)["history"][-1]["reason"] == "asked HR for the roster"
    assert vigil("findings", "comment", finding, "   ", *practice.args()).exit_code == 2
    assert vigil("findings", "ack", finding, *practice.args()).exit_code == 0
    reopened = vigil("findings", "reopen", finding, "--reason", "ack was premature", *practice.args())
    assert reopened.exit_code == 0 and "reopen done (open," in reopened.stdout
    assert vigil("findings", "reopen", finding, *practice.args()).exit_code == 1  # already open: a conflict (409)


def test_tasks_note_json(practice: Practice) -> None:
    result = vigil("tasks", "note", practice.task, "called HR", *practice.args(), "--json")
    assert result.exit_code == 0, result.output
    assert [n["text"] for n in json.loads(result.stdout)["notes"]] == ["called HR"]
    plain = vigil("tasks", "note", practice.task, "again", *practice.args())
    assert plain.exit_code == 0 and "note added" in plain.stdout


def test_users_revoke_json(practice: Practice) -> None:
    url = ["--db", practice.url]
    assert vigil("users", "add", "aud", "--role", "auditor", "--password", "blue-heron-47", *practice.args()
                 ).exit_code == 0
    granted = vigil("users", "grant", "aud", "--framework", "demo", "--from", "2026-01-01", "--to", "2026-03-31",
                    "--expires", "2026-12-31T00:00:00Z", *url, "--json")  # within a year of AT
    assert granted.exit_code == 0, granted.output
    grant_id = json.loads(granted.stdout)["id"]
    revoked = vigil("users", "revoke", grant_id, *url, "--json", at=dt.datetime(2026, 3, 6, tzinfo=dt.UTC))
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.stdout) == {"id": grant_id, "revoked": True}


def test_users_grant_runs_at_most_366_days(practice: Practice) -> None:
    """A grant of years (a typo in the year) had been given as asked: exit 2 naming the latest expiry."""
    url = ["--db", practice.url]
    assert vigil("users", "add", "aud", "--role", "auditor", "--password", "blue-heron-47",
                 *practice.args()).exit_code == 0
    grant = ["users", "grant", "aud", "--framework", "demo", "--from", "2026-01-01", "--to", "2026-03-31"]
    far = vigil(*grant, "--expires", "2027-03-07T12:00:00Z", *url)  # 367 days after AT (2026-03-05 12:00Z)
    assert far.exit_code == 2 and not crashed(far), far.output
    assert "expires_at" in said(far.stderr) and "more than 366 days away" in said(far.stderr)
    assert "by 2027-03-06T12:00:00+00:00" in said(far.stderr)
    assert json.loads(vigil("users", "grants", "aud", *url, "--json").stdout) == []
    last = vigil(*grant, "--expires", "2027-03-06T11:59:00Z", *url, "--json")  # 366 days less a minute
    assert last.exit_code == 0, last.output
    assert dt.datetime.fromisoformat(json.loads(last.stdout)["expires_at"]) == dt.datetime(2027, 3, 6, 11, 59,
                                                                                          tzinfo=dt.UTC)


def test_users_grant_phi_pseudonymised_is_listed_and_a_wrong_value_exits_2(practice: Practice) -> None:
    """`--phi pseudonymised` gives an auditor pseudonyms for patients (engine/api/pseudonyms.py); the
    grants list says which way each grant shows them; any other value is refused naming --phi."""
    url = ["--db", practice.url]
    assert vigil("users", "add", "aud", "--role", "auditor", "--password", "blue-heron-47",
                 *practice.args()).exit_code == 0
    grant = ["users", "grant", "aud", "--framework", "demo", "--from", "2026-01-01", "--to", "2026-03-31",
             "--expires", "2026-12-31T00:00:00Z", *url]
    wrong = vigil(*grant, "--phi", "anonymous")
    assert wrong.exit_code == 2 and not crashed(wrong) and "--phi" in said(wrong.stderr), wrong.output
    given = vigil(*grant, "--phi", "pseudonymised")
    assert given.exit_code == 0 and "patients pseudonymised" in said(given.stdout), given.output
    listed = json.loads(vigil("users", "grants", "aud", *url, "--json").stdout)
    assert [g["phi"] for g in listed] == ["pseudonymised"] and "pseudonym_key" not in str(listed)
    assert "pseudonymised" in said(vigil("users", "grants", "aud", *url).stdout)
    from typer.testing import CliRunner

    from engine import clock

    with clock.frozen(dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)):
        table = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["users", "grants", "aud", *url]).stdout
    # at 80 columns (a pipe), the expiry as people read it, not wrapped a character a line to the microsecond
    assert "in force until" in table and "2026-12-31 00:00 UTC" in table and max(map(len, table.splitlines())) <= 80


# --- 11: every option says what it is for ---------------------------------------------------------------


def _commands() -> list[tuple[str, Any]]:
    """(path, command) of every leaf command (typer vendors click: duck-typed, not isinstance)."""
    found: list[tuple[str, Any]] = []

    def walk(command: Any, path: str) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}".strip())
        else:
            found.append((path, command))

    walk(typer.main.get_command(app), "")
    return found


def test_every_command_option_and_argument_has_help() -> None:
    missing = [f"{path} {p.name}" for path, command in _commands() for p in command.params
               if p.name != "help" and not getattr(p, "help", None)]
    missing += [f"{path} (no docstring)" for path, command in _commands() if not command.help]
    assert not missing, missing


def test_a_flags_help_line_shows_no_value_label() -> None:
    """`--json <bool>` read as a flag wanting a value (`--json true`); a flag's line shows no label, and
    an option that takes a value keeps its own."""
    from typer.testing import CliRunner

    commands = [path for path, _ in _commands()]
    labelled = [path for path in commands
                if "<bool>" in CliRunner(env={"COLUMNS": "200"}).invoke(app, [*path.split(), "--help"]).stdout]
    assert commands and not labelled, labelled
    demo = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["demo", "--help"]).stdout
    assert "--port" in demo and "<int range>" in demo


@pytest.mark.parametrize(("command", "option", "words"), [
    ("runs", "--limit", "1-1000"),
    ("findings list", "--severity", "critical"),
    ("findings list", "--framework", "framework"),
    ("tasks list", "--kind", "finding or recurring"),
    ("tasks list", "--state", "open,done,closed"),
    ("users list", "--db", "DATABASE_URL"),
    ("tasks show", "--org", "VIGIL_ORG"),
    ("packet build", "--org", "the database's only organization"),
    ("serve", "--db", "DATABASE_URL"),
])
def test_help_says_what_is_allowed(command: str, option: str, words: str) -> None:
    cmd = dict(_commands())[command]
    param = next(p for p in cmd.params if option in getattr(p, "opts", ()))
    assert words in (getattr(param, "help", None) or "")


def test_every_command_that_shows_data_takes_json() -> None:
    # serve a UI, write files (docs; a list's CSV), print JSON lines already
    exempt = {"serve", "rules docs", "findings export", "tasks export", "scheduler run"}
    lacking = [path for path, command in _commands()
               if path not in exempt and not any("--json" in getattr(p, "opts", ()) for p in command.params)]
    assert not lacking, lacking


def test_every_json_option_makes_the_commands_error_json_too(tmp_path: Path) -> None:
    """Contract pass: `vigil evaluate --json` (and 15 other commands whose --json was declared
    plainly) printed its errors as text, where the README says an error is JSON with --json."""
    from engine.cli.common import JSON_ASKED

    plain = []
    for path, command in _commands():
        for p in command.params:
            if "--json" in getattr(p, "opts", ()):
                JSON_ASKED.set(False)
                (p.callback or (lambda _ctx, _p, v: v))(None, p, True)
                plain += [] if JSON_ASKED.get() else [path]
    JSON_ASKED.set(False)
    assert not plain, plain
    records = tmp_path / "r.ndjson"
    records.write_text('{"type": "person", "id": "P1"}\n')
    failed = vigil("evaluate", "--records", str(records), "--as-of", "2026-03-08T08:00:00", "--json")
    assert failed.exit_code == 2 and failed.stdout == ""
    error = json.loads(failed.stderr)["error"]
    assert error["code"] == "input.options" and any(d.get("field") == "--as-of" for d in error["details"]), error
