"""ruleset_blob: the ruleset bytes runs used, by SHA-256, for packets to ship

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ruleset_blob',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('framework', sa.String(length=40), nullable=False),
        sa.Column('version', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('sha256'),
    )


def downgrade() -> None:
    op.drop_table('ruleset_blob')
