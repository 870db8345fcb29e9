"""import uploads: a spreadsheet kept between its preview and "Apply all"

Revision ID: d3a5b8e9f420
Revises: c2f4a7d8e310
Create Date: 2026-12-02 08:00:00

"""

import sqlalchemy as sa
from alembic import op

import app.models.types

revision = "d3a5b8e9f420"
down_revision = "c2f4a7d8e310"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("preview", sa.Text(), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", app.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('products', 'prices', 'stock')", name=op.f("ck_import_uploads_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_import_uploads_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_uploads")),
    )
    with op.batch_alter_table("import_uploads", schema=None) as batch_op:
        batch_op.create_index("ix_import_uploads_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_import_uploads_user_id", ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("import_uploads", schema=None) as batch_op:
        batch_op.drop_index("ix_import_uploads_user_id")
        batch_op.drop_index("ix_import_uploads_created_at")
    op.drop_table("import_uploads")
