"""pinned products: the dealer's hand-picked part of 常购清单 (the usual list)

Revision ID: a6d8e1f2b753
Revises: f5c7d0a1b642
Create Date: 2026-12-02 15:00:00

Pins belong to the dealer (every login of the dealer sees the same ones); the key
(dealer_id, product_id) makes a pin unique and serves "this dealer's pins". The frequently
ordered part of the list is read from orders and order_lines through their existing
indexes (orders(dealer_id, created_at), order_lines(order_id)), so no index is added there;
product_id has one of its own for the cascade when a product is deleted.
"""

from alembic import op
import sqlalchemy as sa

import app.models.types

revision = "a6d8e1f2b753"
down_revision = "f5c7d0a1b642"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pinned_products",
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("pinned_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dealer_id"],
            ["dealers.id"],
            name=op.f("fk_pinned_products_dealer_id_dealers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_pinned_products_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pinned_by_id"],
            ["users.id"],
            name=op.f("fk_pinned_products_pinned_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("dealer_id", "product_id", name=op.f("pk_pinned_products")),
    )
    # Deleting a product finds its pins (the cascade) without reading every dealer's.
    op.create_index(
        op.f("ix_pinned_products_product_id"), "pinned_products", ["product_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_pinned_products_product_id"), table_name="pinned_products")
    op.drop_table("pinned_products")
