"""Fixtures for the CLI hardening tests: a small practice database built once, copied per test.

The practice (org `clinic-cli`, the test rulesets in tests/fixtures) has records, one evaluation
run, three findings (one deadline, two exports) and one SOP task, so every read and act command
has something to read or act on.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from engine import clock, pipeline
from engine import db as dbmod
from engine.cli.main import app
from tests import factories as f
from tests.envs import forget

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ORG = "clinic-cli"
AT = dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)
ENV_CLEARED = ("DATABASE_URL", "VIGIL_ORG", "VIGIL_ORGS", "VIGIL_ACTOR", "VIGIL_KEY_DIR")


def vigil(*args: str, at: dt.datetime = AT, input: str | None = None) -> Result:
    """Run `vigil ARGS` in-process (wide terminal so rich does not wrap stdout tables)."""
    with clock.frozen(at):
        return CliRunner(env={"COLUMNS": "250"}).invoke(app, list(args), input=input)


def said(text: str) -> str:
    """Text as a reader sees it: rich wraps stderr at 80 columns and may box it."""
    return " ".join(text.replace("│", " ").split())


def crashed(result: Result) -> bool:
    """Whether the command died of an exception (a traceback outside the test runner)."""
    return result.exception is not None and not isinstance(result.exception, SystemExit)


def _setenv(mp: pytest.MonkeyPatch, evidence: Path) -> None:
    forget(mp, *ENV_CLEARED)
    mp.setenv("VIGIL_RULESETS_DIR", str(FIXTURES / "rulesets"))
    mp.setenv("VIGIL_POLICIES_DIR", str(FIXTURES / "policies"))
    mp.setenv("VIGIL_EVIDENCE_DIR", str(evidence))


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment: test rulesets and policies, no DATABASE_URL/VIGIL_ORG from the shell."""
    _setenv(monkeypatch, tmp_path / "evidence")
    return tmp_path


@pytest.fixture(scope="session")
def practice_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The practice database file, built once per session."""
    root = tmp_path_factory.mktemp("cli-practice")
    path = root / "practice.db"
    with pytest.MonkeyPatch.context() as mp:
        _setenv(mp, root / "evidence")
        engine = dbmod.make_engine(f"sqlite:///{path}")
        dbmod.init_db(engine)
        records = [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00"),
                   f.access("AE-1", "U1", "PT1", "2026-03-02T10:00:00-06:00", action="export"),
                   f.access("AE-2", "U2", "PT2", "2026-03-03T10:00:00-06:00", action="export")]
        with clock.frozen(AT):
            with dbmod.unit_of_work(engine) as s:
                pipeline.ingest_records(s, org_id=ORG, records=records, actor="t", source="t", stream=False)
            engine.dispose()
            result = CliRunner().invoke(app, ["scheduler", "run", "--once", "--db", f"sqlite:///{path}", "--org", ORG,
                                              "--only", "sweep,recurrence"])
        assert result.exit_code == 0, result.output
    with sqlite3.connect(path) as conn:  # fold the WAL into the file, so a copy of the file is the database
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@dataclass
class Practice:
    url: str
    path: Path
    findings: list[str]
    task: str

    def args(self) -> list[str]:
        return ["--db", self.url, "--org", ORG]


@pytest.fixture
def practice(practice_template: Path, cli_env: Path) -> Iterator[Practice]:
    """A private copy of the practice database (tests may write to it)."""
    path = cli_env / "practice.db"
    shutil.copyfile(practice_template, path)
    url = f"sqlite:///{path}"
    listed = vigil("findings", "list", "--db", url, "--org", ORG, "--json")
    assert listed.exit_code == 0, listed.output
    tasks = vigil("tasks", "list", "--db", url, "--org", ORG, "--json")
    assert tasks.exit_code == 0, tasks.output
    yield Practice(url=url, path=path, findings=[x["id"] for x in json.loads(listed.stdout)["items"]],
                   task=json.loads(tasks.stdout)["items"][0]["id"])
