"""catalog admin: product images and the stock movement log

Revision ID: c2f4a7d8e310
Revises: b9a1e0c4d201
Create Date: 2026-12-02 07:00:00

"""

from alembic import op
import sqlalchemy as sa

import app.models.types

revision = "c2f4a7d8e310"
down_revision = "b9a1e0c4d201"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "product_images",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("thumb", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("thumb_width", sa.Integer(), nullable=False),
        sa.Column("thumb_height", sa.Integer(), nullable=False),
        sa.Column("source_format", sa.String(length=8), nullable=False),
        sa.Column("uploaded_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_images_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_product_images_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_product_images")),
    )
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.create_index("ix_product_images_digest", ["digest"], unique=False)

    op.create_table(
        "stock_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("before_on_hand", sa.Integer(), nullable=False),
        sa.Column("after_on_hand", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('manual', 'import', 'shipment')",
            name=op.f("ck_stock_movements_kind_known"),
        ),
        sa.CheckConstraint(
            "before_on_hand >= 0 AND after_on_hand >= 0",
            name=op.f("ck_stock_movements_on_hand_nonneg"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_stock_movements_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_stock_movements_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.create_index("ix_stock_movements_product_id_id", ["product_id", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_movements_product_id_id")
    op.drop_table("stock_movements")
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.drop_index("ix_product_images_digest")
    op.drop_table("product_images")
