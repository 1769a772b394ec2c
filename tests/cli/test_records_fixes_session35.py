"""`vigil import` and `vigil evaluate --db` after the session 35 black-box pass: who acts, what an
interrupted import says, where a JSON file's problems are, and how a CSV file written with another
separator (or a list with an empty item) is told."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from engine import db as dbmod
from engine import pipeline
from engine.cli import records as records_cli
from tests.cli.conftest import said, vigil

AS_OF = "2026-03-05T12:00:00Z"
SITE = {"type": "establishment", "id": "E1", "tz": "America/Chicago", "state": "IL"}
HIRE = {"type": "employment_episode", "id": "EP1", "person_id": "P1", "establishment_id": "E1",
        "start_at": "2026-02-01T09:00:00-06:00", "phi_access_required": True}


def _ndjson(path: Path, *records: dict[str, Any]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def _actors(url: str) -> dict[str, set[str]]:
    engine = dbmod.make_engine(url)
    try:
        with engine.connect() as conn:
            versions = set(conn.execute(text("SELECT DISTINCT actor FROM record_version")).scalars())
            entries = {f"{action}:{actor}" for action, actor in conn.execute(
                text("SELECT action, actor FROM audit_entries WHERE action IN ('records.import', 'evaluation.run')"))}
    finally:
        engine.dispose()
    return {"versions": versions, "entries": entries}


def test_evaluate_into_a_database_records_the_actor_every_command_records(cli_env: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """It had recorded `cli:evaluate` for the import, the run and the versions, whatever VIGIL_ACTOR said."""
    url = f"sqlite:///{cli_env / 'e.db'}"
    files = _ndjson(cli_env / "a.ndjson", SITE, HIRE)
    monkeypatch.setenv("VIGIL_ACTOR", "alice")
    done = vigil("evaluate", "--records", files, "--db", url, "--as-of", AS_OF, "--json")
    assert done.exit_code == 0, done.stderr
    assert _actors(url) == {"versions": {"alice"}, "entries": {"records.import:alice", "evaluation.run:alice"}}
    monkeypatch.delenv("VIGIL_ACTOR")
    again = vigil("evaluate", "--db", url, "--as-of", "2026-03-06T12:00:00Z", "--actor", " bob ", "--json")
    assert again.exit_code == 0, again.stderr
    assert "evaluation.run:bob" in _actors(url)["entries"]
    blank = vigil("evaluate", "--db", url, "--as-of", AS_OF, "--actor", "  ")
    assert blank.exit_code == 2 and "--actor must not be blank" in said(blank.stderr)


def test_a_blank_vigil_actor_is_refused_and_one_with_spaces_around_is_trimmed(cli_env: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{cli_env / 'i.db'}"
    files = _ndjson(cli_env / "a.ndjson", SITE)
    monkeypatch.setenv("VIGIL_ACTOR", "   ")
    refused = vigil("import", files, "--db", url)
    assert refused.exit_code == 2, refused.output
    assert "[input.blank] VIGIL_ACTOR must not be blank" in said(refused.stderr)
    monkeypatch.setenv("VIGIL_ACTOR", "  alice ")
    assert vigil("import", files, "--db", url).exit_code == 0
    assert _actors(url) == {"versions": {"alice"}, "entries": {"records.import:alice"}}


def test_an_import_stopped_by_ctrl_c_says_nothing_was_imported(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It had exited 130 without a word."""
    url = f"sqlite:///{cli_env / 'c.db'}"

    def interrupted(*_: Any, **__: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "ingest_files", interrupted)
    result = vigil("import", _ndjson(cli_env / "a.ndjson", SITE), "--db", url)
    assert result.exit_code == 130
    assert said(result.stderr).startswith("import interrupted: nothing was imported")
    assert result.stdout == ""


def test_ctrl_c_during_the_commit_is_held_until_it_ends() -> None:
    """So what is said is true: an interrupt as the commit returns is raised after it, when the
    import is known to be committed."""
    done = []
    with pytest.raises(KeyboardInterrupt):
        with records_cli._stop_signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("committed")
    assert done == ["committed"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_during_the_commit_is_held_until_it_ends_and_keeps_its_number() -> None:
    """As Ctrl-C is: raised after the commit, as the interrupt that exits 143."""
    done = []
    with records_cli._sigterm_as_interrupt(), pytest.raises(KeyboardInterrupt) as raised:
        with records_cli._stop_signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            done.append("committed")
    assert done == ["committed"]
    assert getattr(raised.value, "signum", None) == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


#: `vigil import` in a process of its own whose import stops after its first batch of versions is
#: written (inside the import's transaction) and says so on stdout, then waits for stdin: the test
#: sends the signal while the import is known to be mid-way, with no sleep.
_STOPPED_MIDWAY = """
import sys
from engine.cli.main import app
from engine.records import ingest
written = ingest._insert_versions
def insert_then_wait(*args, **kw):
    written(*args, **kw)
    print("batch written", flush=True)
    sys.stdin.readline()
ingest._insert_versions = insert_then_wait
app(sys.argv[1:], prog_name="vigil")
"""


def test_an_import_stopped_by_sigterm_says_nothing_was_imported_and_keeps_nothing(cli_env: Path) -> None:
    """SIGTERM (`kill`, systemd, `docker stop`) had ended the import without a word; it is told as
    Ctrl-C is, and exits 128 + 15."""
    url = f"sqlite:///{cli_env / 't.db'}"
    people = [{"type": "person", "id": f"P-{i}"} for i in range(2500)]  # three batches of versions
    child = subprocess.Popen([sys.executable, "-c", _STOPPED_MIDWAY, "import", _ndjson(cli_env / "p.ndjson", *people),
                              "--db", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "batch written\n"
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 143, err
    assert said(err).startswith("import interrupted: nothing was imported"), err
    assert out == ""
    engine = dbmod.make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM record_version")).scalar() == 0
            imports = "SELECT count(*) FROM audit_entries WHERE action = 'records.import'"
            assert conn.execute(text(imports)).scalar() == 0
    finally:
        engine.dispose()


def test_a_json_files_problems_name_the_line_the_record_starts_on_and_count_records_from_1(cli_env: Path) -> None:
    path = cli_env / "a.json"
    path.write_text('{"records": [\n {"type":"person","id":"J-1"},\n'
                    ' {"type":"person","id":"J-2","dob":"2026-02-30"}\n]}', encoding="utf-8")
    result = vigil("import", str(path), "--db", f"sqlite:///{cli_env / 'j.db'}")
    assert result.exit_code == 2
    assert f"{path}:3, record 2, person J-2, field dob: no such date: '2026-02-30'" in said(result.stderr)


def test_a_json_file_that_is_not_utf8_is_told_at_its_line_column_and_byte(cli_env: Path) -> None:
    path = cli_env / "latin1.json"
    path.write_bytes(b'[\n{"type":"person","id":"L-1",\n "first_name":"Ren\xe9e"}]')
    result = vigil("import", str(path), "--db", f"sqlite:///{cli_env / 'l.db'}")
    assert result.exit_code == 2
    assert (f"{path}:3:19: not UTF-8 text: byte 0xe9 (invalid continuation byte); save the file as UTF-8"
            in said(result.stderr)), result.stderr


@pytest.mark.parametrize(("header", "row", "separator"), [("id;first_name", "S-1;Ann", "semicolon"),
                                                           ("id\tfirst_name", "S-1\tAnn", "tab")])
def test_a_csv_file_written_with_another_separator_is_one_problem_that_says_so(cli_env: Path, header: str,
                                                                               row: str, separator: str) -> None:
    folder = cli_env / "c"
    folder.mkdir()
    (folder / "person.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    result = vigil("import", str(folder / "person.csv"), "--db", f"sqlite:///{cli_env / 'c.db'}")
    text_said = said(result.stderr)
    assert result.exit_code == 2
    assert "1 problem (1 problem in the files themselves)" in text_said
    assert f"looks {separator}-separated: Vigil reads comma-separated CSV" in text_said
    assert "unknown field" not in text_said and "no 'id' column" not in text_said


def test_an_empty_item_in_a_csv_list_counts_as_an_invalid_record(cli_env: Path) -> None:
    path = cli_env / "organization.csv"
    path.write_text('id,name,states\nO1,Acme,"CA;;NV"\nO2,Beta,"CA;XX"\n', encoding="utf-8")
    result = vigil("import", str(path), "--db", f"sqlite:///{cli_env / 'o.db'}")
    assert result.exit_code == 2
    assert "[input.record_invalid] 2 problems (2 invalid records); nothing was imported" in said(result.stderr)



def test_a_quote_left_open_in_a_csv_file_is_refused_not_read_into_one_cell(cli_env: Path) -> None:
    """Session 46's operations pass: a stray quote in the last column read every later row into one
    address, and the import said it had created one person."""
    folder = cli_env / "q"
    folder.mkdir()
    (folder / "person.csv").write_text('id,first_name,address\nP-Q1,A,"12 Main St\nP-Q2,B,1 Elm\nP-Q3,C,2 Oak\n',
                                       encoding="utf-8")
    db = f"sqlite:///{cli_env / 'q.db'}"
    result = vigil("import", str(folder / "person.csv"), "--db", db)
    assert result.exit_code == 2, result.output
    assert (f"{folder / 'person.csv'}:2: unreadable row: a quoted cell that starts on this row is never closed"
            in said(result.stderr)), result.stderr
    assert vigil("records", "show", "person", "P-Q1", "--db", db).exit_code == 2  # nothing imported
    (folder / "person.csv").write_text('id,first_name,address\nP-Q1,A,"12 "B" St"\n', encoding="utf-8")
    result = vigil("import", str(folder / "person.csv"), "--db", db)
    assert result.exit_code == 2 and "a quote in the middle of a cell" in said(result.stderr), result.stderr
    # a quote inside a bare cell is text; a long cell is read (Python's csv stops at 131,072 characters)
    (folder / "person.csv").write_text(f'id,first_name,address\nP-Q1,A,12 "B" St\nP-Q2,B,{"x" * 200_000}\n',
                                       encoding="utf-8")
    assert vigil("import", str(folder / "person.csv"), "--db", db).exit_code == 0
    shown = json.loads(vigil("records", "show", "person", "P-Q1", "--db", db, "--json").stdout)
    assert shown["data"]["address"] == '12 "B" St'
