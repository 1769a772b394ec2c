"""`engine.cli.app.run`: the one place foreign exceptions become exit codes and sentences."""

from __future__ import annotations

from pathlib import Path

import psycopg.errors
import pytest
import typer
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError, OperationalError

from engine.cli import app as cli
from engine.cli.common import shown_url


class Thing(BaseModel):
    reason: str = Field(min_length=3)
    secret: str = Field(min_length=10)
    tags: list[int] = []


def _fails(fn: object, capsys: pytest.CaptureFixture[str], **kw: object) -> tuple[int, str]:
    with pytest.raises(typer.Exit) as caught:
        cli.run(fn, **kw)  # type: ignore[arg-type]
    return caught.value.exit_code, " ".join(capsys.readouterr().err.split())


def test_a_validation_error_names_options_and_never_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _fails(lambda: Thing(reason="r", secret="hunter2", tags=["x"]), capsys,
                       fields={"secret": "--password"})
    assert code == 2
    assert "invalid values for --reason, --password, field tags.0" in err
    assert "--reason: String should have at least 3 characters" in err and "hunter2" not in err


def test_an_os_error_names_the_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = _fails(lambda: (tmp_path / "missing.txt").read_text(), capsys)
    assert code == 2 and f"cannot use {tmp_path / 'missing.txt'}: No such file or directory" in err


def test_a_database_failure_mid_command_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def locked() -> None:
        raise OperationalError("UPDATE x", {}, Exception("database is locked"))

    code, err = _fails(locked, capsys)
    assert code == 1 and "database error: database is locked" in err


def test_a_transaction_postgresql_rolled_back_says_to_retry(capsys: pytest.CaptureFixture[str]) -> None:
    """A deadlock (SQLSTATE 40P01) had been printed as "database error: deadlock detected" alone."""
    def deadlocked() -> None:
        raise OperationalError("INSERT x", {}, psycopg.errors.DeadlockDetected("deadlock detected"))

    code, err = _fails(deadlocked, capsys)
    assert code == 1
    assert ("database error: deadlock detected: another writer changed the same data at the same moment; "
            "nothing was changed, retry") in err


def test_a_lost_connection_is_not_told_to_retry_as_a_conflict(capsys: pytest.CaptureFixture[str]) -> None:
    def gone() -> None:
        raise OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown("terminating connection"))

    code, err = _fails(gone, capsys)
    assert code == 1 and "database error: terminating connection" in err and "same moment" not in err


def test_a_concurrent_writers_row_first_is_a_conflict_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """The API answers it 409; the CLI had printed SQLAlchemy's traceback."""
    def raced() -> None:
        raise IntegrityError("INSERT x", {}, psycopg.errors.UniqueViolation("duplicate key value"))

    code, err = _fails(raced, capsys)
    assert code == 1 and "[conflict.concurrent] another writer changed the same data at the same moment" in err
    sqlite3_raced = IntegrityError("INSERT x", {}, Exception("UNIQUE constraint failed: finding.id"))
    assert _fails(lambda: (_ for _ in ()).throw(sqlite3_raced), capsys)[0] == 1


def test_any_other_broken_constraint_is_a_bug_and_keeps_its_traceback() -> None:
    def broken() -> None:
        raise IntegrityError("INSERT x", {}, psycopg.errors.NotNullViolation("null value in column"))

    with pytest.raises(IntegrityError):
        cli.run(broken)


def test_a_bug_keeps_its_traceback() -> None:
    with pytest.raises(ZeroDivisionError):
        cli.run(lambda: 1 / 0)


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://u:pw@h:5432/d", "postgresql+psycopg://u:***@h:5432/d"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ("weird://u:pw@", "weird://u:***@"),
])
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert shown_url(url) == shown
