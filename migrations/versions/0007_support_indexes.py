"""support indexes: the support console's registry list and the audit log's filters

The support console lists every org's active registries newest first and filters them by
status (and "failing for more than a day": status and last success); the audit log filters an
org's events by action and by actor, newest first.

Revision ID: 0007_support_indexes
Revises: 0003_tool_pull_checks
Create Date: 2026-12-02 02:45:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007_support_indexes'
down_revision = '0003_tool_pull_checks'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registries', schema=None) as batch_op:
        batch_op.create_index('ix_registries_state_created', ['state', 'created_at'], unique=False)
        batch_op.create_index('ix_registries_state_status', ['state', 'status', 'last_success_at'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_org_action', ['org_id', 'action', 'id'], unique=False)
        batch_op.create_index('ix_audit_org_actor', ['org_id', 'actor_label', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_org_actor')
        batch_op.drop_index('ix_audit_org_action')

    with op.batch_alter_table('registries', schema=None) as batch_op:
        batch_op.drop_index('ix_registries_state_status')
        batch_op.drop_index('ix_registries_state_created')
