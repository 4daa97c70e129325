"""org alerts index: an org's registries by state and status

The failing-registry banner (every settings page, and the registry list in the same statement)
looks for an org's active registries in a failing status; without this index the planner read
every org's failing registries through `ix_registries_state_status` (the support console's).

Revision ID: 0009_org_alerts_index
Revises: 0008_token_permissions
Create Date: 2026-12-02 14:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009_org_alerts_index'
down_revision = '0008_token_permissions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registries', schema=None) as batch_op:
        batch_op.create_index('ix_registries_org_state_status', ['org_id', 'state', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('registries', schema=None) as batch_op:
        batch_op.drop_index('ix_registries_org_state_status')
