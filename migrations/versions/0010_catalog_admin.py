"""catalog admin: product images and the stock movement log

Revision ID: c2f4a7d8e310
Revises: b9a1e0c4d201
Create Date: 2026-12-02 07:00:00

"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import app.models.types  # noqa: F401

revision = "c2f4a7d8e310"
down_revision = "b9a1e0c4d201"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
