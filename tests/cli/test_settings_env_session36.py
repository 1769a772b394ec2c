"""A VIGIL_POLICIES_DIR or VIGIL_PRACTICE_PARAMS that is not there is refused, naming the variable and
the path, as a bad VIGIL_RULESETS_DIR is: both had been read as "none" (0 SOPs, all valid; the
default parameters) while every command answered normally. And `vigil evaluate` without --records
evaluates $DATABASE_URL, as README says; with --records it stays in a fresh in-memory database."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import pytest

from tests.cli.conftest import Practice, said, vigil

AS_OF = "2026-03-05T12:00:00Z"


def _records(tmp: Path) -> Path:
    path = tmp / "establishment.ndjson"
    path.write_text(json.dumps({"type": "establishment", "id": "E1", "tz": "America/Chicago"}) + "\n")
    return path


def _refused_for_a_missing_folder(cli_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str,
                                  command: list[str]) -> str:
    """What `command` says on stderr, refused (exit 2), with `variable` naming a folder not there."""
    monkeypatch.setenv(variable, str(cli_env / "no-such-folder"))
    args = [*command, "--records", str(_records(cli_env))] if command[0] == "evaluate" else command
    if command[0] == "scheduler":
        args = [*command, "--db", f"sqlite:///{cli_env / 's.db'}"]
    result = vigil(*args)
    assert result.exit_code == 2, result.output
    return said(result.stderr)


@pytest.mark.parametrize("command", [["tasks", "sops"], ["params", "list"], ["evaluate", "--as-of", AS_OF],
                                     ["scheduler", "run", "--once"]])
def test_a_policies_folder_that_does_not_exist_is_refused(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                          command: list[str]) -> None:
    err = _refused_for_a_missing_folder(cli_env, monkeypatch, "VIGIL_POLICIES_DIR", command)
    assert f"the policies folder (VIGIL_POLICIES_DIR) {cli_env / 'no-such-folder'} does not exist" in err


@pytest.mark.parametrize("command", [["params", "list"], ["evaluate", "--as-of", AS_OF]])
def test_a_practice_parameters_file_that_does_not_exist_is_refused_by_readers(
        cli_env: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    missing = cli_env / "no-such-practice.yaml"
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(missing))
    args = [*command, "--records", str(_records(cli_env))] if command[0] == "evaluate" else command
    result = vigil(*args)
    assert result.exit_code == 2, result.output
    assert f"the practice parameters file (VIGIL_PRACTICE_PARAMS) {missing} does not exist" in said(result.stderr)
    missing.write_text("")  # an empty file is the defaults
    assert vigil(*args).exit_code == 0


def test_a_practice_parameters_file_in_a_folder_that_does_not_exist_is_refused_by_the_scheduler(
        cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server and the scheduler make the file on the first change, but not its folder."""
    missing = cli_env / "no-such-folder" / "practice.yaml"
    monkeypatch.setenv("VIGIL_PRACTICE_PARAMS", str(missing))
    result = vigil("scheduler", "run", "--once", "--db", f"sqlite:///{cli_env / 's.db'}")
    assert result.exit_code == 2, result.output
    assert f"(VIGIL_PRACTICE_PARAMS) {missing} is in a folder that does not exist" in said(result.stderr)


@pytest.mark.parametrize("command", [["params", "list"], ["evaluate", "--as-of", AS_OF], ["rules", "list"],
                                     ["scheduler", "run", "--once"]])
def test_a_rulesets_folder_that_does_not_exist_is_refused(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                          command: list[str]) -> None:
    """A mistyped one had made every evaluation a clean "nothing found": exit 0, an empty run stored."""
    err = _refused_for_a_missing_folder(cli_env, monkeypatch, "VIGIL_RULESETS_DIR", command)
    assert str(cli_env / "no-such-folder") in err and "VIGIL_RULESETS_DIR" in err and "does not exist" in err


def test_an_evaluation_kept_in_the_database_of_a_folder_of_no_rulesets_is_refused(
        practice: Practice, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(tmp_path / "empty"))
    before = json.loads(vigil("runs", "--json", *practice.args()).stdout)
    result = vigil("evaluate", "--as-of", AS_OF, *practice.args())
    assert result.exit_code == 2, result.output
    assert "there is no ruleset to evaluate" in said(result.stderr) and "holds no ruleset files" in said(result.stderr)
    assert json.loads(vigil("runs", "--json", *practice.args()).stdout) == before  # no empty run stored


@pytest.mark.parametrize("variable", ["VIGIL_POLICIES_DIR", "VIGIL_RULESETS_DIR"])
def test_serve_refuses_a_folder_that_does_not_exist(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                     variable: str) -> None:
    from engine.cli.serve import settings_in_use
    from engine.errors import InputError

    monkeypatch.setenv(variable, str(cli_env / "nope"))
    with pytest.raises(InputError, match=variable):
        settings_in_use()


def test_evaluate_without_records_evaluates_database_url(practice: Practice, monkeypatch: pytest.MonkeyPatch) -> None:
    without = vigil("evaluate", "--as-of", AS_OF, "--org", "clinic-cli", "--json")
    assert without.exit_code == 2 and "give --records FILE" in said(without.stderr)
    monkeypatch.setenv("DATABASE_URL", practice.url)
    result = vigil("evaluate", "--as-of", AS_OF, "--org", "clinic-cli", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["findings"]  # the practice's records, from the database


def test_evaluate_with_records_stays_in_memory_even_with_database_url(cli_env: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """CONTRACT.md: --records evaluates into a fresh in-memory database unless --db is given."""
    db = cli_env / "untouched.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db}")
    result = vigil("evaluate", "--records", str(_records(cli_env)), "--as-of", AS_OF, "--json")
    assert result.exit_code == 0, result.output
    assert not db.exists()


@pytest.mark.parametrize("value", ["abc", "45m", "-5", "1.5"])
def test_serve_refuses_an_idle_timeout_that_is_not_minutes(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                           value: str) -> None:
    """It had been replaced by the default in silence: sessions still ended after 30 minutes."""
    monkeypatch.setenv("VIGIL_SESSION_IDLE_MINUTES", value)
    with socket.socket() as free:  # a port nobody holds, so only the setting can refuse
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = vigil("serve", "--port", str(port), "--db", f"sqlite:///{cli_env / 's.db'}")
    assert result.exit_code == 2, result.output
    assert f"VIGIL_SESSION_IDLE_MINUTES={value!r} is not a whole number of minutes" in said(result.stderr)
    assert not (cli_env / "s.db").exists()  # refused before anything was made


@pytest.mark.parametrize("value", ["0", "45", " 45 "])
def test_an_idle_timeout_in_minutes_is_taken(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from engine.auth.service import check_session_idle_setting, session_idle

    monkeypatch.setenv("VIGIL_SESSION_IDLE_MINUTES", value)
    check_session_idle_setting()
    assert session_idle() == (None if value == "0" else dt.timedelta(minutes=45))
