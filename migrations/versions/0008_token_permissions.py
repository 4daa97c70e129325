"""token permissions: what a token may do (pull, read, manage)

Existing tokens keep doing what they did: `pull` (fetch pull credentials). `read` and `manage`
are the REST API's and are given to org tokens only (services/runner_tokens.py).

Revision ID: 0008_token_permissions
Revises: 0005_aws_ecr
Create Date: 2026-12-02 02:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_token_permissions'
down_revision = '0005_aws_ecr'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('runner_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('permissions', sa.String(length=64), nullable=False,
                                      server_default='pull'))


def downgrade():
    with op.batch_alter_table('runner_tokens', schema=None) as batch_op:
        batch_op.drop_column('permissions')
