"""token permissions: what a token may do (pull, read, manage)

Existing tokens keep doing what they did: `pull` (fetch pull credentials). `read` and `manage`
are the REST API's and are given to org tokens only (services/runner_tokens.py).

Revision ID: 0008_token_permissions
Revises: 0004_runner_token_scope, 0007_support_indexes
Create Date: 2026-12-02 02:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_token_permissions'
# Also the merge point of issue 14's 0004 and main's 0007 (both on 0003) until the lead
# re-chains them into one line.
down_revision = ('0004_runner_token_scope', '0007_support_indexes')
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('runner_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('permissions', sa.String(length=64), nullable=False,
                                      server_default='pull'))


def downgrade():
    with op.batch_alter_table('runner_tokens', schema=None) as batch_op:
        batch_op.drop_column('permissions')
