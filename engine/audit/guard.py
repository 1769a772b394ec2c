"""The database guard that keeps a table append-only: the audit trail's, and the record store's.

The audit table (`engine.audit.tables`) and the record store's `record_version` are never updated
or deleted by Vigil, and the database refuses it: triggers that refuse UPDATE and DELETE (and
TRUNCATE on PostgreSQL). They are installed by a DDL event on `Table` filtered by name, so
`Base.metadata.create_all` and Alembic's `op.create_table` (which builds its own Table object) both
get them; a migration that alters an existing table calls `install_append_only_guard(connection,
table)`, and one that adds the guard to an existing table runs `append_only_ddl` (revision 0008).
The triggers stop mistakes, not a database superuser: tampering by someone who can drop them is
what `vigil audit verify` detects (the hash chain; the record versions' content hashes and their
imports' digests).

A domain whose table is append-only names it with `guard_append_only(name)` when its tables module
is imported (`engine/records/tables.py` does); its triggers are named after it. Here, not in
`engine.audit.tables`, because no domain reaches into another's tables module.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, event, inspect

from engine.db import Base

TABLE_NAME = "audit_entries"
GUARD_FUNCTION = "vigil_audit_append_only"

#: The tables the triggers guard: the audit table, and those other domains name (`guard_append_only`).
GUARDED: set[str] = {TABLE_NAME}


def guard_append_only(table_name: str) -> None:
    """Give `table_name` the audit table's guard whenever it is created (create_all, op.create_table)."""
    GUARDED.add(table_name)


def guard_function(table_name: str = TABLE_NAME) -> str:
    """The PostgreSQL trigger function of one guarded table (the audit table keeps its first name)."""
    return GUARD_FUNCTION if table_name == TABLE_NAME else f"vigil_{table_name}_append_only"


def append_only_ddl(dialect_name: str, table_sql: str = TABLE_NAME, table_name: str = TABLE_NAME) -> list[str]:
    """The statements that make `table_sql` (the table `table_name`, quoted for the dialect) refuse
    UPDATE/DELETE on this dialect; the triggers are named after `table_name`.

    Idempotent, so a migration may run them again. No `%` characters: the statements run
    through exec_driver_sql without parameters.
    """
    name, function = table_name, guard_function(table_name)
    if dialect_name == "postgresql":
        return [
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION USING MESSAGE = '{name} is append-only: ' || TG_OP || ' refused', "
            "ERRCODE = 'insufficient_privilege'; END $$",
            f"DROP TRIGGER IF EXISTS {name}_append_only ON {table_sql}",
            f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {table_sql} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()",
            f"DROP TRIGGER IF EXISTS {name}_no_truncate ON {table_sql}",
            f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {table_sql} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    if dialect_name == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {name}_no_{op.lower()} BEFORE {op} ON {table_sql} "
            f"BEGIN SELECT RAISE(ABORT, '{name} is append-only: {op} refused'); END"
            for op in ("UPDATE", "DELETE")
        ]
    return []


def drop_append_only_ddl(dialect_name: str, table_sql: str, table_name: str) -> list[str]:
    """The statements that remove `append_only_ddl`'s triggers (a migration's downgrade)."""
    if dialect_name == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table_name}_append_only ON {table_sql}",
                f"DROP TRIGGER IF EXISTS {table_name}_no_truncate ON {table_sql}",
                f"DROP FUNCTION IF EXISTS {guard_function(table_name)}()"]
    if dialect_name == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table_name}_no_{op}" for op in ("update", "delete")]
    return []


def install_append_only_guard(connection: Connection, table: Table | None = None) -> None:
    """Create the append-only triggers on `table` (default: the audit table) in this connection."""
    if table is None:
        table = Base.metadata.tables[TABLE_NAME]
    table_sql = connection.dialect.identifier_preparer.format_table(table)
    for statement in append_only_ddl(connection.dialect.name, table_sql, table.name):
        connection.exec_driver_sql(statement)


def install_every_guard(connection: Connection) -> None:
    """Create the append-only triggers on every guarded table the database holds (idempotent): for a
    database adopted at a revision its tables match, whose triggers no revision of its own created."""
    present = set(inspect(connection).get_table_names())
    for name in sorted(GUARDED & present):
        install_append_only_guard(connection, Base.metadata.tables[name])


@event.listens_for(Table, "after_create")
def _after_create(table: Table, connection: Connection, **_: Any) -> None:
    if table.name in GUARDED:
        install_append_only_guard(connection, table)


@event.listens_for(Table, "after_drop")
def _after_drop(table: Table, connection: Connection, **_: Any) -> None:
    if table.name in GUARDED and connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {guard_function(table.name)}()")
