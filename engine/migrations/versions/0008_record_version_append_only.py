"""record_version_append_only: the record store refuses UPDATE and DELETE as the audit table does

A stored record version had been rewritable in place (`UPDATE record_version SET data = ...`) with
no trace, though docs/records.md says nothing in it is ever updated or deleted. The same triggers
as audit_entries' (engine/audit/guard.py), named after this table. A new database gets them when
0001 creates the table (the DDL event); this revision gives them to one made before it, and running
them again is harmless.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""
from collections.abc import Callable

from alembic import op

from engine.audit.guard import append_only_ddl, drop_append_only_ddl

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLE = 'record_version'


def _statements(build: Callable[[str, str, str], list[str]]) -> None:
    bind = op.get_bind()
    table_sql = bind.dialect.identifier_preparer.quote(TABLE)
    for statement in build(bind.dialect.name, table_sql, TABLE):
        bind.exec_driver_sql(statement)


def upgrade() -> None:
    _statements(append_only_ddl)


def downgrade() -> None:
    _statements(drop_append_only_ddl)
