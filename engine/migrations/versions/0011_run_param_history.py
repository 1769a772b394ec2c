"""run_param_history: the practice's dated parameter values a run counted windows with

A window counted from an anchor uses the value in force on the anchor's day (engine/rules/param_history.py),
so a run's `params` (the values of its as_of day) no longer say every value it used. `param_history`
holds, per framework, each dated parameter's values with the day each took effect; null for a run
of a practice that dated none, and for every run before this revision (they used `params` alone).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('evaluation_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('param_history', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('evaluation_run', schema=None) as batch_op:
        batch_op.drop_column('param_history')
