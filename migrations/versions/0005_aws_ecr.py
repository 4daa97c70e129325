"""aws ecr: the AWS ECR type's authentication (role or access key) and its minted token

A registry of kind `aws_ecr` holds how the platform mints its tokens (an IAM role ARN with the
external ID the platform generated, or an access key ID whose secret access key is the registry's
sealed secret) and the last minted ECR token, sealed, with its expiry.

Revision ID: 0005_aws_ecr
Revises: 0004_runner_token_scope
Create Date: 2026-12-02 02:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_aws_ecr'
down_revision = '0004_runner_token_scope'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('aws_auth_mode', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('aws_role_arn', sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column('aws_external_id', sa.String(length=96), nullable=True))
        batch_op.add_column(sa.Column('aws_access_key_id', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('token_ciphertext', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('token_key_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('token_expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('token_minted_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('registries', schema=None) as batch_op:
        batch_op.drop_column('token_minted_at')
        batch_op.drop_column('token_expires_at')
        batch_op.drop_column('token_key_id')
        batch_op.drop_column('token_ciphertext')
        batch_op.drop_column('aws_access_key_id')
        batch_op.drop_column('aws_external_id')
        batch_op.drop_column('aws_role_arn')
        batch_op.drop_column('aws_auth_mode')
