"""waiver.revoked_by, waiver.revoke_reason: who ended a waiver early, and why

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('waiver', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('revoke_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('waiver', schema=None) as batch_op:
        batch_op.drop_column('revoke_reason')
        batch_op.drop_column('revoked_by')
