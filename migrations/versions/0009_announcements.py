"""announcements: HQ messages to all dealers or chosen tiers, and who read them

Revision ID: b9a1e0c4d201
Revises: 0a26df9def03
Create Date: 2026-12-02 07:00:00

"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import app.models.types  # noqa: F401

revision = "b9a1e0c4d201"
down_revision = "0a26df9def03"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
