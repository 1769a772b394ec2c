"""Files and folders a user names (sweep items 6, 7 and 13): bad output paths, empty inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import Result

from tests.cli.conftest import Practice, crashed, said, vigil

# --- 6: output paths ---------------------------------------------------------------------------------


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("x")
    return path


def _cannot_write(result: Result, path: Path) -> None:
    assert result.exit_code == 2 and not crashed(result), result.output
    assert f"cannot write {path}: " in said(result.stderr)


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_export_to_an_impossible_folder(practice: Practice, a_file: Path, where: str) -> None:
    out = a_file / "x" if where == "under-a-file" else Path("/proc/nope/x")
    _cannot_write(vigil("export", "--out", str(out), *practice.args()), out)


def test_demo_data_and_rules_docs_into_a_file(cli_env: Path, a_file: Path) -> None:
    _cannot_write(vigil("demo-data", "--out", str(a_file)), a_file)
    _cannot_write(vigil("rules", "docs", "--out", str(a_file)), a_file)
    assert a_file.read_text() == "x"


@pytest.mark.parametrize("where", ["a-folder", "proc"])
def test_packet_build_to_an_impossible_file(practice: Practice, where: str) -> None:
    out = practice.path.parent if where == "a-folder" else Path("/proc/nope/p.zip")
    result = vigil("packet", "build", "--framework", "demo", "--from", "2026-01-01", "--to", "2026-03-31", "--out",
                   str(out), "--key-dir", str(practice.path.parent / "k"), *practice.args())
    _cannot_write(result, out)


def test_packet_key_to_a_folder(cli_env: Path) -> None:
    _cannot_write(vigil("packet", "key", "--out", str(cli_env), "--key-dir", str(cli_env / "k")), cli_env)


def test_a_good_export_still_writes(practice: Practice) -> None:
    out = practice.path.parent / "new" / "export"
    result = vigil("export", "--out", str(out), *practice.args(), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] > 0 and (out / "establishment.ndjson").exists()


# --- 7: rules validate / test on nothing ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["validate", "test"])
def test_rules_on_a_path_that_does_not_exist(cli_env: Path, command: str) -> None:
    result = vigil("rules", command, str(cli_env / "nonexist"))
    assert result.exit_code == 2 and not crashed(result)
    assert "does not exist" in said(result.stderr)


@pytest.mark.parametrize(("command", "says"), [("validate", "no ruleset to validate in"),
                                               ("test", "no scenario to run in")])
def test_rules_on_an_empty_folder(cli_env: Path, command: str, says: str) -> None:
    empty = cli_env / "empty"
    empty.mkdir()
    result = vigil("rules", command, str(empty))
    assert result.exit_code == 2 and f"{says} {empty}" in said(result.stderr)


def test_rules_test_refuses_an_unknown_backend(cli_env: Path) -> None:
    result = vigil("rules", "test", "--backend", "fast")
    assert result.exit_code == 2 and "--backend must be python or durable" in said(result.stderr)


# --- 13: an import of nothing -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "extra"), [
    ("empty.ndjson", "", []),
    ("header.csv", "type,id,name\n", ["--type", "organization"]),
    ("empty.json", "[]", []),
])
def test_an_import_of_nothing_warns(cli_env: Path, name: str, content: str, extra: list[str]) -> None:
    path = cli_env / name
    path.write_text(content)
    result = vigil("import", str(path), *extra, "--db", f"sqlite:///{cli_env / 'i.db'}", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == 0
    assert f"warning: no records in {path}" in said(result.stderr)


def test_an_empty_file_beside_a_full_one_is_named(cli_env: Path) -> None:
    empty, full = cli_env / "empty.ndjson", cli_env / "full.ndjson"
    empty.write_text("")
    full.write_text('{"type": "organization", "id": "O1", "name": "X", "states": ["CA"]}\n')
    result = vigil("import", str(empty), str(full), "--db", f"sqlite:///{cli_env / 'i.db'}")
    assert result.exit_code == 0, result.output
    assert f"no records in {empty}" in said(result.stderr) and str(full) not in said(result.stderr)


def test_a_real_import_does_not_warn(cli_env: Path) -> None:
    full = cli_env / "full.ndjson"
    full.write_text('{"type": "organization", "id": "O1", "name": "X", "states": ["CA"]}\n')
    result = vigil("import", str(full), "--db", f"sqlite:///{cli_env / 'i.db'}")
    assert result.exit_code == 0 and "warning" not in result.stderr
