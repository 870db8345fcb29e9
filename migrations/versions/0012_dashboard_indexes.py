"""dashboard indexes: a day's orders from the index alone, events by status and time

Revision ID: e4b6c9f0a531
Revises: d3a5b8e9f420
Create Date: 2026-12-02 09:00:00

"""

from alembic import op

revision = "e4b6c9f0a531"
down_revision = "d3a5b8e9f420"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_orders_created_cover", "orders", ["created_at", "status", "dealer_id", "goods_amount"]),
    ("ix_order_events_status_at", "order_events", ["status", "at"]),
    ("ix_order_events_order_status_at", "order_events", ["order_id", "status", "at"]),
]


def upgrade():
    # CONCURRENTLY on PostgreSQL: a brand with a million orders keeps taking them meanwhile.
    with op.get_context().autocommit_block():
        for name, table, columns in INDEXES:
            op.create_index(name, table, columns, unique=False, postgresql_concurrently=True)


def downgrade():
    with op.get_context().autocommit_block():
        for name, table, _ in reversed(INDEXES):
            op.drop_index(name, table_name=table, postgresql_concurrently=True)
