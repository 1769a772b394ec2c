"""grant_phi: what an auditor's grant shows of patients, and its pseudonym secret

`phi` is `full` (every grant given before this revision: what they showed) or `pseudonymised`
(engine/api/pseudonyms.py); `pseudonym_key` is the grant's own HMAC secret for the pseudonyms.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('auditor_grant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phi', sa.String(length=20), nullable=False, server_default='full'))
        batch_op.add_column(sa.Column('pseudonym_key', sa.String(length=64), nullable=True))


def downgrade() -> None:
    # without the column a pseudonymised grant would read as a full one and show the auditor every
    # patient: such grants still in force end here (the auditor is given a grant again after)
    op.execute("UPDATE auditor_grant SET revoked_at = CURRENT_TIMESTAMP "
               "WHERE phi = 'pseudonymised' AND revoked_at IS NULL")
    with op.batch_alter_table('auditor_grant', schema=None) as batch_op:
        batch_op.drop_column('pseudonym_key')
        batch_op.drop_column('phi')
