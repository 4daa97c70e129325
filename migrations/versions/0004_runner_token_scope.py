"""runner token scope: an org's token or the platform's, with creator, expiry, last address;
and what a registry can hand out (pull tokens and their lifetime, or password only)

Every existing token becomes a platform token (org_id NULL): they were platform-wide before.
Names become unique per org and among platform tokens (a partial index, since NULLs are
distinct in a plain unique constraint). A downgrade deletes org tokens: the old schema would
turn them into platform-wide ones.

Revision ID: 0004_runner_token_scope
Revises: 0007_support_indexes
Create Date: 2026-12-02 02:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_runner_token_scope'
# Chained after main's 0007 (merged in): the guide's '0003_tool_pull_checks' would make two heads.
down_revision = '0007_support_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sign_in_scheme', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('pull_token_seconds', sa.Integer(), nullable=True))

    with op.batch_alter_table('runner_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('org_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_used_address', sa.String(length=45), nullable=True))
        batch_op.drop_constraint('uq_runner_tokens_name', type_='unique')
        batch_op.create_foreign_key(batch_op.f('fk_runner_tokens_org_id_organizations'), 'organizations', ['org_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_runner_tokens_created_by_id_users'), 'users', ['created_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_runner_tokens_org_id'), ['org_id'], unique=False)
        batch_op.create_index('uq_runner_tokens_org_name', ['org_id', 'name'], unique=True)
        batch_op.create_index('uq_runner_tokens_platform_name', ['name'], unique=True,
                              sqlite_where=sa.text('org_id IS NULL'),
                              postgresql_where=sa.text('org_id IS NULL'))


def downgrade():
    op.execute("DELETE FROM runner_tokens WHERE org_id IS NOT NULL")
    with op.batch_alter_table('runner_tokens', schema=None) as batch_op:
        batch_op.drop_index('uq_runner_tokens_platform_name')
        batch_op.drop_index('uq_runner_tokens_org_name')
        batch_op.drop_index(batch_op.f('ix_runner_tokens_org_id'))
        batch_op.drop_constraint(batch_op.f('fk_runner_tokens_created_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_runner_tokens_org_id_organizations'), type_='foreignkey')
        batch_op.create_unique_constraint('uq_runner_tokens_name', ['name'])
        batch_op.drop_column('last_used_address')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('org_id')

    with op.batch_alter_table('registries', schema=None) as batch_op:
        batch_op.drop_column('pull_token_seconds')
        batch_op.drop_column('sign_in_scheme')
