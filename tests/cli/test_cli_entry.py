"""The console entry point loads only the command's module (engine.cli.entry), and its table of
commands is the one the modules register."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine.cli.entry import COMMAND_MODULES, modules_for
from engine.cli.main import app

#: Runs the entry point as the `vigil` script does, then reports which CLI modules it imported.
PROBE = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("\\nLOADED " + json.dumps(sorted(
    m for m in sys.modules if m.startswith("engine.cli.") and m not in ("engine.cli.app", "engine.cli.common",
    "engine.cli.once", "engine.cli.help_labels", "engine.cli.entry", "engine.cli.tables", "engine.cli.pages",
    "engine.cli.import_said")))
    + "\\n"))
from engine.cli.entry import main
sys.argv = ["vigil", *sys.argv[1:]]
main()
"""


def _vigil(*args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    loaded = json.loads(done.stderr.rsplit("LOADED ", 1)[1])
    return done, loaded


def test_the_table_names_the_module_registering_each_command() -> None:
    registered = {info.name: info.callback.__module__ for info in app.registered_commands if info.callback}
    for group in app.registered_groups:
        modules = {cmd.callback.__module__ for cmd in group.typer_instance.registered_commands if cmd.callback}
        assert len(modules) == 1, (group.name, modules)
        registered[group.name] = modules.pop()
    assert registered == COMMAND_MODULES


def test_a_command_loads_its_module_alone() -> None:
    done, loaded = _vigil("findings", "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage: vigil findings" in done.stdout and "revoke-waiver" in done.stdout
    assert loaded == ["engine.cli.findings"]
    assert modules_for(["export", "--out", "x"]) == ["engine.cli.records"]


def test_a_lone_command_is_still_a_command_of_the_group() -> None:
    """Typer runs an app holding one command as that command: `vigil runs` must not read `runs` as
    an argument of the runs command."""
    done, loaded = _vigil("runs", "--db", "notaurl")
    assert loaded == ["engine.cli.runs"]
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cannot open database notaurl: not a database URL" in " ".join(done.stderr.split())


def test_the_listing_and_a_mistyped_name_see_every_command() -> None:
    done, loaded = _vigil("--help")
    assert done.returncode == 0
    assert loaded == sorted(set(COMMAND_MODULES.values()))
    listed = done.stdout
    assert all(f" {name} " in listed for name in COMMAND_MODULES), listed
    done, _ = _vigil("finding", "list")
    assert done.returncode == 2 and "No such command 'finding'" in done.stderr and "findings" in done.stderr


def test_a_usage_error_with_json_is_a_json_error_with_exit_code_2() -> None:
    """Session 48's contract pass: `vigil evaluate --records F --json` without `--as-of` (an option
    given twice, an unknown one) drew click's box on stderr, which a script reading JSON cannot parse."""
    for args, field in ((["evaluate", "--records", "x.json", "--json"], "--as-of"),
                        (["evaluate", "--bogus", "--json"], None),
                        (["bogus", "--json"], None)):
        done, _ = _vigil(*args)
        assert done.returncode == 2, done.stderr
        error = json.loads(done.stderr.rsplit("LOADED ", 1)[0].strip())["error"]
        assert error["code"] == "input.usage" and "--help" in error["message"], error
        assert error["details"][0].get("field") == field
    done, _ = _vigil("evaluate", "--records", "x.json")  # without --json: click's words, as before
    assert done.returncode == 2 and "Missing option '--as-of'" in done.stderr


def test_a_command_given_json_keeps_its_exit_code(tmp_path: Path) -> None:
    done, _ = _vigil("findings", "show", "F-nope", "--json", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert done.returncode == 2 and json.loads(done.stderr.rsplit("LOADED ", 1)[0].strip())["error"]
