"""token permissions: what an API token may do (pull, read, manage), and the org it serves

Existing tokens keep doing what they did: `pull`. The org column is issue 14's token scope; it
is added here only when that migration has not added it already (so this revision chains on
either 0003 or 0004 and means the same).

Revision ID: 0008_token_permissions
Revises: 0003_tool_pull_checks
Create Date: 2026-12-02 02:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_token_permissions'
down_revision = '0003_tool_pull_checks'
branch_labels = None
depends_on = None

ORG_MARK = 'runner_token_org_added_by_0008'


def _columns():
    return {column['name'] for column in sa.inspect(op.get_bind()).get_columns('runner_tokens')}


def upgrade():
    add_org = 'org_id' not in _columns()
    with op.batch_alter_table('runner_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('permissions', sa.String(length=64), nullable=False,
                                      server_default='pull'))
        if add_org:
            batch_op.add_column(sa.Column('org_id', sa.Integer(), nullable=True))
            batch_op.create_index('ix_runner_tokens_org_id', ['org_id'], unique=False)
            batch_op.create_foreign_key('fk_runner_tokens_org_id_organizations',
                                        'organizations', ['org_id'], ['id'], ondelete='CASCADE')


def downgrade():
    indexes = {index['name'] for index in sa.inspect(op.get_bind()).get_indexes('runner_tokens')}
    with op.batch_alter_table('runner_tokens', schema=None) as batch_op:
        if 'ix_runner_tokens_org_id' in indexes:
            batch_op.drop_constraint('fk_runner_tokens_org_id_organizations', type_='foreignkey')
            batch_op.drop_index('ix_runner_tokens_org_id')
            batch_op.drop_column('org_id')
        batch_op.drop_column('permissions')
