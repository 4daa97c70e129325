"""tool pull checks: the pull check queue on private_tools, and who asked for a registry check

Check pull runs off the request: a tool row holds its request (when, by whom, which trigger)
and its lease. A registry's requested check keeps its requester and trigger, so a sweep that
re-runs it after a crash records it as theirs.

Revision ID: 0003_tool_pull_checks
Revises: 0002_fingerprint_hmac
Create Date: 2026-12-01 21:27:14.827895

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_tool_pull_checks'
down_revision = '0002_fingerprint_hmac'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('private_tools', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pull_requested_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('pull_trigger', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('pull_requested_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pull_lease_until', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_private_tools_pull_requested', ['pull_requested_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_private_tools_pull_requested_by_id_users'), 'users', ['pull_requested_by_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('registries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('check_trigger', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('check_requested_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_registries_check_requested_by_id_users'), 'users', ['check_requested_by_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('registries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_registries_check_requested_by_id_users'), type_='foreignkey')
        batch_op.drop_column('check_requested_by_id')
        batch_op.drop_column('check_trigger')

    with op.batch_alter_table('private_tools', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_private_tools_pull_requested_by_id_users'), type_='foreignkey')
        batch_op.drop_index('ix_private_tools_pull_requested')
        batch_op.drop_column('pull_lease_until')
        batch_op.drop_column('pull_requested_by_id')
        batch_op.drop_column('pull_trigger')
        batch_op.drop_column('pull_requested_at')
