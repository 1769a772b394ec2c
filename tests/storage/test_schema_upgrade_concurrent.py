"""Several processes opening one new database at once (operations.md, Upgrades: "safe").

Black-box probe: two `vigil import` at once on a new PostgreSQL database failed every time
(`duplicate key ... pg_type_typname_nsp_index`, "stopped at '0002'"); on a new SQLite file one of
three failed ("table app_user already exists") or "adopted" the database as made before migrations,
said it upgraded it and wrote a false `database.upgraded` entry. Real processes, started together.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.conftest import PG_URL, REPO, make_test_engine

HEAD = "0011"
PROCESSES = 4

#: one process: wait for the go file (so that all start the upgrade together), open the database
#: as every command does (`pipeline.upgrade_database`), print what it says changed
CHILD = """
import sys, time
from pathlib import Path
from engine import db, pipeline
url, schema, ready, go = sys.argv[1], sys.argv[2] or None, Path(sys.argv[3]), Path(sys.argv[4])
engine = db.make_engine(url, schema=schema)
ready.touch()
while not go.exists():
    time.sleep(0.005)
print("change:", repr(pipeline.upgrade_database(engine)))
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from make_test_engine(request.param, tmp_path, migrate=False)


def _schema(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        return ""
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT current_schema()")).scalar_one())


def _open_together(engine: Engine, tmp_path: Path) -> list[subprocess.CompletedProcess[str]]:
    url = engine.url.render_as_string(hide_password=False) if engine.dialect.name == "sqlite" else PG_URL
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in range(PROCESSES)]
    children = [subprocess.Popen([sys.executable, "-c", CHILD, url, _schema(engine), str(r), str(go)], cwd=REPO,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in ready]
    while not all(r.exists() for r in ready) and all(c.poll() is None for c in children):
        time.sleep(0.01)
    go.touch()
    done = []
    for child in children:
        out, err = child.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(child.args, child.returncode, out, err))
    return done


def test_several_processes_setting_up_one_new_database_at_once_all_succeed_and_none_says_it_upgraded(
        blank: Engine, tmp_path: Path) -> None:
    done = _open_together(blank, tmp_path)
    for child in done:
        assert child.returncode == 0, child.stderr
        # a new database being set up is no change: none "adopted" it as made before migrations
        assert child.stdout.strip() == "change: None", child.stdout + child.stderr
    with blank.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
        upgraded = conn.execute(text("SELECT count(*) FROM audit_entries WHERE action = 'database.upgraded'")).scalar()
    assert upgraded == 0
