"""`--db` and `--org` on every command that opens a database (sweep items 1 and 2).

A bad URL, an unreachable server or a missing driver is exit 2 naming the URL (never its password)
and the reason; a read command refuses a SQLite file that does not exist instead of creating an
empty one and answering "nothing found"; an organization with nothing in the database is refused,
listing the ones there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.main import app
from tests.cli.conftest import ORG, Practice, crashed, said, vigil

BAD_URLS = {
    "unreachable": ("postgresql+psycopg://nobody:s3cret@127.0.0.1:1/x", "Connection refused"),
    "no directory": ("sqlite:////nonexistent-dir-vigil/v.db", "/nonexistent-dir-vigil"),
    "unknown kind": ("sqlte:////tmp/x.db", "unknown kind of database 'sqlte'"),
    "not a url": ("notaurl", "not a database URL"),
    "no driver": ("mysql://u@h/d", "driver is not installed"),
}


def commands(tmp: Path) -> list[list[str]]:
    """One invocation of every command that opens a database, without its --db."""
    records = tmp / "r.ndjson"
    records.write_text('{"type": "organization", "id": "O1", "name": "X", "states": ["CA"]}\n')
    return [
        ["import", str(records)],
        ["export", "--out", str(tmp / "out")],
        ["evaluate", "--as-of", "2026-03-05T12:00:00Z"],
        ["evaluate", "--records", str(records), "--as-of", "2026-03-05T12:00:00Z"],
        ["runs"],
        ["records", "show", "organization", "O1"],
        ["records", "history", "organization", "O1"],
        ["findings", "list"],
        ["findings", "show", "F-1"],
        ["findings", "ack", "F-1"],
        ["findings", "false-positive", "F-1", "--reason", "duplicate"],
        ["findings", "waive", "F-1", "--until", "2027-01-01T00:00:00Z", "--reason", "accepted", "--approver", "ann"],
        ["tasks", "list"],
        ["tasks", "show", "T-1"],
        ["tasks", "complete", "T-1"],
        ["tasks", "note", "T-1", "called"],
        ["tasks", "attach", "T-1", str(records)],
        ["packet", "build", "--framework", "demo", "--from", "2026-01-01", "--to", "2026-02-01", "--out",
         str(tmp / "p.zip"), "--key-dir", str(tmp / "k")],
        ["audit", "verify"],
        ["audit", "log"],
        ["users", "add", "bob", "--role", "staff", "--password", "blue-heron-47"],
        ["users", "list"],
        ["users", "grant", "aud", "--framework", "demo", "--from", "2026-01-01", "--to", "2026-02-01", "--expires",
         "2027-01-01T00:00:00Z"],
        ["users", "revoke", "G-1"],
        ["users", "token", "aud"],
        ["scheduler", "run", "--once"],
    ]


@pytest.mark.parametrize("case", sorted(BAD_URLS))
def test_no_command_crashes_on_a_bad_db(case: str, cli_env: Path) -> None:
    url, reason = BAD_URLS[case]
    failures = []
    for args in commands(cli_env):
        result = vigil(*args, "--db", url)
        text = said(result.stderr)
        down = case == "unreachable"  # an outage (exit 1, retry), not bad input (exit 2)
        if crashed(result) or "Traceback" in result.output or result.exit_code != (1 if down else 2):
            failures.append(f"{args[:2]}: exit {result.exit_code}, {result.exception!r}")
        elif ("cannot reach database" if down else "cannot open database") not in text or reason not in text \
                or "s3cret" in text:
            failures.append(f"{args[:2]}: {text}")
    assert not failures, "\n".join(failures)


def test_the_password_is_hidden_and_the_url_named(cli_env: Path) -> None:
    result = vigil("findings", "list", "--db", BAD_URLS["unreachable"][0], "--org", ORG)
    assert result.exit_code == 1
    assert "cannot reach database postgresql+psycopg://nobody:***@127.0.0.1:1/x: " in said(result.stderr)


def test_a_real_process_prints_no_traceback(cli_env: Path) -> None:
    """Outside the test runner too: the console entry point, as a user runs it."""
    done = subprocess.run([sys.executable, "-m", "engine.cli.entry", "runs", "--db", "notaurl"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cannot open database notaurl: not a database URL" in said(done.stderr)


@pytest.mark.parametrize("args", [
    ["findings", "list", "--json"], ["findings", "show", "F-1"], ["runs"], ["records", "show", "organization", "O1"],
    ["export", "--out", "OUT"], ["audit", "verify"], ["audit", "log"], ["tasks", "list"], ["tasks", "show", "T-1"],
    ["users", "list"], ["evaluate", "--as-of", "2026-03-05T12:00:00Z"], ["findings", "ack", "F-1"],
    ["packet", "build", "--framework", "demo", "--from", "2026-01-01", "--to", "2026-02-01", "--out", "OUT/p.zip"],
])
def test_read_commands_refuse_a_sqlite_file_that_does_not_exist(args: list[str], cli_env: Path) -> None:
    typo = cli_env / "typo.db"
    args = [a.replace("OUT", str(cli_env / "out")) for a in args]
    result = vigil(*args, "--db", f"sqlite:///{typo}", "--org", ORG)
    assert result.exit_code == 2, result.output
    assert f"no such file {typo}" in said(result.stderr)
    assert not typo.exists() and not (cli_env / "out").exists()


def test_commands_that_create_data_may_create_the_database(cli_env: Path) -> None:
    url = f"sqlite:///{cli_env / 'new.db'}"
    added = vigil("users", "add", "bob", "--role", "staff", "--password", "blue-heron-47", "--db", url, "--org", ORG)
    assert added.exit_code == 0, added.output
    listed = vigil("users", "list", "--db", url, "--org", ORG, "--json")
    assert listed.exit_code == 0 and [u["username"] for u in json.loads(listed.stdout)] == ["bob"]


def test_an_organization_with_nothing_is_refused_listing_those_there(practice: Practice) -> None:
    for args in (["findings", "list"], ["runs"], ["tasks", "list"], ["users", "list"],
                 ["records", "history", "establishment", "E1"], ["audit", "log"]):
        result = vigil(*args, "--db", practice.url, "--org", "clinic-typo")
        assert result.exit_code == 2, (args, result.output)
        assert f"no organization 'clinic-typo' in {practice.url}" in said(result.stderr)
        assert f"organizations in this database: {ORG}" in said(result.stderr)


def _second_org(practice: Practice) -> None:
    added = vigil("users", "add", "bob", "--role", "staff", "--password", "blue-heron-47", "--db", practice.url,
                  "--org", "clinic-two")
    assert added.exit_code == 0, added.output


def test_the_default_organization_says_where_it_came_from(practice: Practice) -> None:
    _second_org(practice)  # several organizations and no --org: none is guessed
    result = vigil("findings", "list", "--db", practice.url)
    assert result.exit_code == 2
    assert "no organization 'default'" in said(result.stderr) and "no --org given" in said(result.stderr)
    assert f"organizations in this database: {ORG}, clinic-two" in said(result.stderr)


@pytest.mark.parametrize("args", [["findings", "list"], ["runs"], ["tasks", "list"], ["users", "list"],
                                  ["records", "history", "establishment", "E1"], ["export", "--out", "OUT"]])
def test_without_org_the_only_organization_is_read(practice: Practice, args: list[str]) -> None:
    """After `make demo` (org `demo`) the README's commands work without --org: the database holds one."""
    args = [a.replace("OUT", str(practice.path.parent / "out")) for a in args]
    given = vigil(*args, *practice.args(), "--json")
    result = vigil(*args, "--db", practice.url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(given.stdout)  # --json stdout stays clean


def test_without_org_the_only_organization_is_evaluated(practice: Practice) -> None:
    result = vigil("evaluate", "--db", practice.url, "--as-of", "2026-03-05T12:00:00Z", "--json")
    assert result.exit_code == 0, result.output
    assert {f["rule_id"] for f in json.loads(result.stdout)["findings"]} >= {"DEMO-TRN-001"}


def test_an_organization_named_by_environment_is_not_replaced_by_the_only_one(practice: Practice) -> None:
    result = CliRunner(env={"COLUMNS": "250", "VIGIL_ORG": "clinic-typo"}).invoke(
        app, ["findings", "list", "--db", practice.url])
    assert result.exit_code == 2 and "no organization 'clinic-typo'" in said(result.stderr)


def test_writes_without_org_go_to_the_only_organization_and_say_so(practice: Practice) -> None:
    added = vigil("users", "add", "carol", "--role", "staff", "--password", "blue-heron-47", "--db", practice.url,
                  "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["username"] == "carol"
    assert f"using organization '{ORG}'" in said(added.stderr) and len(added.stderr.strip().splitlines()) == 1
    listed = vigil("users", "list", *practice.args(), "--json")
    assert "carol" in [u["username"] for u in json.loads(listed.stdout)]


@pytest.mark.parametrize("args", [["import", "FILE"], ["users", "add", "carol", "--role", "staff", "--password",
                                                         "blue-heron-47"],
                                  ["evaluate", "--records", "FILE", "--as-of", "2026-03-05T12:00:00Z"],
                                  ["scheduler", "run", "--once", "--only", "sweep"]])
def test_writes_without_org_into_several_organizations_are_refused_listing_them(practice: Practice,
                                                                                args: list[str]) -> None:
    """Probe: with several organizations and no --org, an import started an organization 'default'
    beside them (which no read would then choose) instead of refusing as reads do."""
    _second_org(practice)
    person = practice.path.parent / "person.ndjson"
    person.write_text('{"type": "person", "id": "P-NEW"}\n')
    result = vigil(*[str(person) if a == "FILE" else a for a in args], "--db", practice.url)
    assert result.exit_code == 2, result.output
    assert "no organization 'default'" in said(result.stderr) and "no --org given" in said(result.stderr)
    assert f"organizations in this database: {ORG}, clinic-two" in said(result.stderr)
    orgs = vigil("users", "list", "--db", practice.url, "--org", "default")
    assert orgs.exit_code == 2 and "no organization 'default'" in said(orgs.stderr)  # nothing was written


def test_writes_without_org_go_to_default_among_several_when_it_is_there(practice: Practice) -> None:
    _second_org(practice)
    added = vigil("users", "add", "dan", "--role", "staff", "--password", "blue-heron-47", "--db", practice.url,
                  "--org", "default")
    assert added.exit_code == 0, added.output
    person = practice.path.parent / "person.ndjson"
    person.write_text('{"type": "person", "id": "P-NEW"}\n')
    result = vigil("import", str(person), "--db", practice.url)
    assert result.exit_code == 0 and "Imported into default" in result.stdout, result.output


def test_writes_into_a_new_database_keep_the_default_organization(cli_env: Path) -> None:
    url = f"sqlite:///{cli_env / 'new.db'}"
    added = vigil("users", "add", "bob", "--role", "staff", "--password", "blue-heron-47", "--db", url)
    assert added.exit_code == 0 and added.stderr == "", added.output
    listed = vigil("users", "list", "--db", url, "--org", "default", "--json")
    assert [u["username"] for u in json.loads(listed.stdout)] == ["bob"]


def test_an_existing_organization_is_read(practice: Practice) -> None:
    result = vigil("runs", *practice.args(), "--json")
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 1


@pytest.mark.parametrize("args", [["findings", "list"], ["import", "X"], ["users", "add", "bob", "--role", "staff",
                                                                         "--password", "blue-heron-47"]])
@pytest.mark.parametrize("empty", ["--db", "--org"])
def test_empty_db_and_org_are_refused(args: list[str], empty: str, practice: Practice) -> None:
    args = [str(practice.path) if a == "X" else a for a in args]
    given = {"--db": practice.url, "--org": ORG, empty: ""}
    result = vigil(*args, "--db", given["--db"], "--org", given["--org"])
    assert result.exit_code == 2, result.output
    assert f"{empty} must not be empty" in said(result.stderr)


def test_the_scheduler_without_org_serves_the_only_organization(practice: Practice) -> None:
    result = vigil("scheduler", "run", "--once", "--db", practice.url, "--only", "sweep")
    assert result.exit_code == 0, result.output
    jobs = [json.loads(line) for line in result.stdout.splitlines() if '"job"' in line]
    assert jobs and all(job["period"].startswith(f"{ORG}:") for job in jobs), result.stdout


def test_an_import_with_a_missing_file_names_every_other_files_problems_too(cli_env: Path) -> None:
    """Probe 17: a missing file hid every problem of the files that were there; problems are listed in
    the order the files were given, and nothing is imported."""
    bad = cli_env / "z-bad.ndjson"
    bad.write_text('{"type": "person", "id": "X", "dob": "bad"}\n')
    good = cli_env / "a-good.ndjson"
    good.write_text('{"type": "organization", "id": "O1", "name": "X", "states": ["CA"]}\n')
    odd = cli_env / "notes.txt"
    odd.write_text("x")
    url = f"sqlite:///{cli_env / 'x.db'}"
    result = vigil("import", str(bad), str(cli_env / "gone.json"), str(good), str(odd), "--db", url, "--org", ORG)
    assert result.exit_code == 2, result.output
    text = said(result.stderr)
    assert "nothing was imported" in text
    where = [text.index(part) for part in ("field dob", "gone.json: no such file", "unknown file extension")]
    assert where == sorted(where), text  # z-bad, gone, notes: as given, not by name
    exported = vigil("export", "--out", str(cli_env / "out"), "--db", url, "--org", ORG)
    assert exported.exit_code == 2 or not list((cli_env / "out").glob("*.ndjson"))


@pytest.mark.parametrize("args", [["findings", "list"], ["evaluate", "--as-of", "2026-03-05T12:00:00Z"]])
def test_a_database_from_a_newer_vigil_is_named_not_a_traceback(practice: Practice, args: list[str]) -> None:
    """Operations probe: Alembic's "Can't locate revision" traceback, ~100 lines, exit 1."""
    import sqlite3

    with sqlite3.connect(practice.path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_future'")
    result = vigil(*args, *practice.args())
    assert result.exit_code == 1 and not crashed(result)
    assert "[database.schema_unknown] this database is at schema revision '0099_future', which this Vigil does " \
           "not know" in said(result.stderr)


def test_a_write_to_an_organization_not_there_says_it_creates_it(practice: Practice, tmp_path: Path) -> None:
    """Multi-org probe: `--org alhpa` (a typo) silently started a new practice."""
    path = tmp_path / "e.ndjson"
    path.write_text(json.dumps({"type": "establishment", "id": "E1", "tz": "America/Chicago"}) + "\n")
    typo = vigil("import", str(path), "--db", practice.url, "--org", "clinic-cil")
    assert typo.exit_code == 0
    assert f"note: --org 'clinic-cil' names no organization in this database (it holds {ORG}): this creates it" \
        in said(typo.stderr)
    again = vigil("import", str(path), "--db", practice.url, "--org", "clinic-cil")
    assert "names no organization" not in said(again.stderr)  # it is there now
    assert "names no organization" not in said(vigil("import", str(path), *practice.args()).stderr)
