"""The organization's locks (`engine.db.hold_lock`) are the schema's: advisory locks are the whole
PostgreSQL database's, and two deployments in schemas of one database, each with a practice
called "clinic-a", had waited on each other's audit chain (as two test workers did)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from engine.audit import service as audit
from engine.db import unit_of_work
from tests.conftest import make_test_engine

ORG = "clinic-a"


@pytest.fixture
def two_schemas(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    first = make_test_engine("postgresql", tmp_path / "a")
    second = make_test_engine("postgresql", tmp_path / "b")
    try:
        yield next(first), next(second)
    finally:
        for made in (first, second):
            next(made, None)


def _holds_while(engine: Engine, other: Engine) -> bool:
    """Whether `other` could take the chain's lock (within 3 s) while `engine` holds it."""
    got = threading.Event()

    def take() -> None:
        with unit_of_work(other) as s:
            audit.hold_chain(s, ORG)
            got.set()

    with unit_of_work(engine) as s:
        audit.hold_chain(s, ORG)
        thread = threading.Thread(target=take)
        thread.start()
        taken = got.wait(3)
    thread.join(10)
    return taken


def test_a_practice_s_chain_lock_does_not_hold_the_same_named_practice_in_another_schema(
        two_schemas: tuple[Engine, Engine]) -> None:
    first, second = two_schemas
    assert _holds_while(first, second)


def test_in_one_schema_the_chain_lock_still_holds_a_second_writer(two_schemas: tuple[Engine, Engine]) -> None:
    first, _ = two_schemas
    assert not _holds_while(first, first)
