"""The Alembic revisions build exactly the schema the models describe (a new column without a
migration fails here)."""

from __future__ import annotations

from pathlib import Path

from alembic import command

from engine import db, migrate


def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    db.init_db(engine)
    command.check(migrate.alembic_config(engine))  # raises when autogenerate would change anything


def test_a_database_at_the_first_revision_upgrades_and_keeps_its_records(tmp_path: Path) -> None:
    from sqlalchemy import inspect, text

    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = migrate.alembic_config(engine)
    command.upgrade(cfg, "0001")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO record_version (org_id, record_type, record_id, version, data, content_hash, "
            "recorded_at, actor, source) VALUES ('o', 'system', 'S-1', 1, '{}', 'h', "
            "'2026-11-30 00:00:00.000000', 'a', 's')"))
    assert "ix_record_version_org_recorded_at" in {i["name"] for i in inspect(engine).get_indexes("record_version")}
    migrate.upgrade(engine)
    assert "ix_record_version_org_recorded_at" not in {i["name"] for i in inspect(engine).get_indexes("record_version")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT record_id FROM record_version")).scalars().all() == ["S-1"]
    command.check(migrate.alembic_config(engine))


def test_a_new_sqlite_database_gets_16_kb_pages_and_an_existing_one_keeps_its_own(tmp_path: Path) -> None:
    """16 KB pages make an import's inserts cheaper; SQLite fixes the page size with the first table
    (and WAL), so only a new database takes it and one made earlier still opens and grows as it was."""
    import sqlite3

    from sqlalchemy import text

    older = tmp_path / "older.db"
    with sqlite3.connect(older) as conn:  # as a database made before 16 KB pages: 4 KB, WAL, a table
        conn.execute("PRAGMA page_size=4096")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE kept (x INTEGER)")
    conn.close()
    for path, size in ((tmp_path / "new.db", 16384), (older, 4096)):
        engine = db.make_engine(f"sqlite:///{path}")
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        db.init_db(engine)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA page_size")).scalar() == size, path.name
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        engine.dispose()
