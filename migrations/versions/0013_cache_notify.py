"""cache notifications: every write to a cached table tells every process (PostgreSQL)

Revision ID: f5c7d0a1b642
Revises: e4b6c9f0a531
Create Date: 2026-12-02 12:30:00

Per-process caches (app/services/cache.py) are dropped by `NOTIFY dinghuo_cache` from these
triggers, whoever writes. SQLite has no NOTIFY; there the app reads through (no caches).
"""

from alembic import op

revision = "f5c7d0a1b642"
down_revision = "e4b6c9f0a531"
branch_labels = None
depends_on = None

TOPICS = {
    "auth": ("users", "api_tokens", "dealers", "tiers"),
    "catalog": (
        "products",
        "categories",
        "product_tier_limits",
        "tier_prices",
        "dealer_prices",
        "product_images",
        "settings",
    ),
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION dinghuo_notify_topic() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('dinghuo_cache', TG_ARGV[0]);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION dinghuo_notify_stock() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                PERFORM pg_notify('dinghuo_cache', 'stock:' || OLD.product_id);
            END IF;
            IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.product_id <> OLD.product_id) THEN
                PERFORM pg_notify('dinghuo_cache', 'stock:' || NEW.product_id);
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for topic, tables in TOPICS.items():
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_notify_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
                f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION dinghuo_notify_topic('{topic}')"
            )
    op.execute(
        "CREATE TRIGGER stock_levels_notify_cache AFTER INSERT OR UPDATE OR DELETE ON stock_levels"
        " FOR EACH ROW EXECUTE FUNCTION dinghuo_notify_stock()"
    )
    op.execute(
        "CREATE TRIGGER stock_levels_truncate_cache AFTER TRUNCATE ON stock_levels"
        " FOR EACH STATEMENT EXECUTE FUNCTION dinghuo_notify_topic('stock')"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for tables in TOPICS.values():
        for table in tables:
            op.execute(f"DROP TRIGGER {table}_notify_cache ON {table}")
    op.execute("DROP TRIGGER stock_levels_notify_cache ON stock_levels")
    op.execute("DROP TRIGGER stock_levels_truncate_cache ON stock_levels")
    op.execute("DROP FUNCTION dinghuo_notify_stock()")
    op.execute("DROP FUNCTION dinghuo_notify_topic()")
