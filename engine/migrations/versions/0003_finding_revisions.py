"""finding_revision: what a finding said before a run refreshed it

A persisting finding's status, due date, message, evidence and facts are overwritten by each run;
the older content is kept here so a packet as of an earlier instant shows the finding as it read
then (PRODUCT 6: the same inputs give the same bytes).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('finding_revision',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('finding_id', sa.String(length=40), nullable=False),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replaced_by_run', sa.String(length=40), nullable=True),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['finding.id'], name=op.f('fk_finding_revision_finding_id_finding')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding_revision'))
    )
    with op.batch_alter_table('finding_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_revision_finding_id'), ['finding_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('finding_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_revision_finding_id'))
    op.drop_table('finding_revision')
