"""audit_entity_index: the audit entries about given entities are found by an index, not a scan

A scoped auditor's run list recounts each run from its `evaluation.run` entry
(`audit.service.entries_of_action` with `entity_ids`: org_id, action and entity_id IN ...), and the
trail filtered by entity (`entries_page`: org_id, entity_type, entity_id) read the organisation's
whole chain for it: no index had entity_id. Measured on SQLite with a million entries, a page of 50
runs' recount went from 313 ms to 5 ms, the trail of one entity from 2.7 s to 0.2 ms.

A plain CREATE INDEX, not a batch operation: on SQLite a batch that recreated the table would drop
its append-only triggers (engine/audit/guard.py); an index leaves them, and the rows, as they are.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

INDEX = 'ix_audit_entries_org_id_entity_id_action'


def upgrade() -> None:
    op.create_index(INDEX, 'audit_entries', ['org_id', 'entity_id', 'action'], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name='audit_entries')
