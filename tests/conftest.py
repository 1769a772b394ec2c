"""Shared fixtures: a database on SQLite and on PostgreSQL, each test in its own schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from engine import db as dbmod

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# pytest-xdist sets COLUMNS=80 in its workers, and rich's Console fixes its width from COLUMNS when it is
# made (engine.cli.app makes it at import): the CLI tests' own COLUMNS (250 for wide tables, 60 for a
# narrow terminal) would then be ignored in a worker and not in a plain run.
os.environ.pop("COLUMNS", None)


@pytest.fixture(scope="session", autouse=True)
def _private_output_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Signing keys, packets and evidence go to a temporary folder unless a test says where: their
    defaults are under ./var, and a test that signed a packet without saying left a key in the
    checkout."""
    root = tmp_path_factory.mktemp("vigil-var")
    with pytest.MonkeyPatch.context() as mp:
        dirs = (("VIGIL_KEY_DIR", "keys"), ("VIGIL_PACKET_DIR", "packets"), ("VIGIL_EVIDENCE_DIR", "evidence"))
        for name, sub in dirs:
            if name not in os.environ:
                mp.setenv(name, str(root / sub))
        yield


@pytest.fixture(scope="session", autouse=True)
def _quick_password_hashes() -> Iterator[None]:
    """argon2 at the server's cost takes about 130 ms a hash, on purpose. The fixtures make a user per
    role for each test (five hashes) and most tests sign some in: about a third of the suite's time
    went on argon2. Tests hash with argon2id at its smallest cost instead; the hashes are still
    argon2 and verify through the same calls. A test of the server's own cost uses `PasswordHasher()`."""
    from argon2 import PasswordHasher

    from engine.auth import login

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(login, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        yield


def _pg_available() -> bool:
    try:
        eng = create_engine(PG_URL)
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return True
    except Exception:
        return False


_PG_OK: bool | None = None


def pg_ok() -> bool:
    global _PG_OK
    if _PG_OK is None:
        _PG_OK = _pg_available()
        if not _PG_OK and os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_URL} and CI=true", pytrace=False)
    return _PG_OK


def make_test_engine(kind: str, tmp_path: Path, *, migrate: bool = True) -> Iterator[Engine]:
    """A database of `kind` (PostgreSQL: a schema of its own), at the newest revision, or empty."""
    if kind == "sqlite":
        eng = dbmod.make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        if migrate:
            dbmod.init_db(eng)
        yield eng
        eng.dispose()
        return
    if not pg_ok():
        pytest.skip("PostgreSQL not reachable (outside CI)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = dbmod.make_engine(PG_URL, schema=schema)
    try:
        if migrate:
            dbmod.init_db(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database; every storage test runs once per backend."""
    yield from make_test_engine(request.param, tmp_path)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    yield from make_test_engine("sqlite", tmp_path)


@pytest.fixture
def fixture_rules_and_policies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The test rulesets and policies (fixed roles and SOPs), evidence in the test's folder, no webhook:
    what a storage test of findings and tasks runs against instead of the practice's real ones."""
    fixtures = Path(__file__).resolve().parent / "fixtures"
    monkeypatch.setenv("VIGIL_RULESETS_DIR", str(fixtures / "rulesets"))
    monkeypatch.setenv("VIGIL_POLICIES_DIR", str(fixtures / "policies"))
    monkeypatch.setenv("VIGIL_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.delenv("VIGIL_WEBHOOK_URL", raising=False)
