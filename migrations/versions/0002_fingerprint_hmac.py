"""secret fingerprints become an HMAC keyed by the credential key, over org, registry and secret

The old fingerprints (one keyed hash of the secret alone) correlate the same secret across
registries and orgs. A migration has no credential keys to compute the new ones, so it blanks
them; `flask keys rotate` or the next credential replacement gives each row its new fingerprint.

Revision ID: 0002_fingerprint_hmac
Revises: 66ccb3bdbd31
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_fingerprint_hmac"
down_revision = "66ccb3bdbd31"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text("UPDATE registries SET secret_fingerprint = NULL"))


def downgrade():
    # Nothing to restore: the old fingerprints are gone, and a blank one is valid in either
    # schema (the code of that revision fills it in at the next replacement).
    pass
