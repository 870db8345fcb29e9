"""The schema: migrations match the models, constraints hold, search uses indexes."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import StockLevel
from app.services import catalog
from tests import factories as f

PG_ONLY_INDEXES = {"ix_products_sku_pattern", "ix_products_search_grams"}


def _meant_for_this_backend(entry) -> bool:
    kind, obj = entry[0], entry[1]
    return not (
        kind == "add_index"
        and obj.name in PG_ONLY_INDEXES
        and db.engine.dialect.name != "postgresql"
    )


def test_migrations_build_exactly_the_models_schema():
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert [entry for entry in diff if _meant_for_this_backend(entry)] == []


@pytest.mark.parametrize(
    "values",
    [{"reserved": 11}, {"on_hand": -1, "reserved": 0}, {"reserved": -1}],
)
def test_stock_constraints_refuse_impossible_levels(values):
    product = f.product(on_hand=10)
    with pytest.raises(IntegrityError):
        db.session.execute(
            update(StockLevel).where(StockLevel.product_id == product.id).values(**values)
        )
        db.session.flush()
    db.session.rollback()


def test_negative_prices_and_quantities_are_refused_by_the_database():
    product = f.product()
    for sql in (
        "UPDATE products SET list_price = -1 WHERE id = :id",
        "UPDATE products SET min_order_qty = 0 WHERE id = :id",
        "UPDATE products SET order_multiple = 0 WHERE id = :id",
    ):
        with pytest.raises(IntegrityError):
            db.session.execute(text(sql), {"id": product.id})
        db.session.rollback()


def test_name_search_finds_two_character_chinese_terms_and_sku_prefixes():
    f.tier()
    dealer = f.dealer("SH001")
    f.product("DAI-001", name="高钙低脂牛奶 250ml")
    f.product("DRK-001", name="冰爽柠檬茶")
    found = lambda q: [i.product.sku for i in catalog.browse(dealer, q=q).items]  # noqa: E731
    assert found("牛奶") == ["DAI-001"]
    assert found("低脂牛") == ["DAI-001"]
    assert found("奶") == ["DAI-001"]
    assert found("250ML") == ["DAI-001"]
    assert found("dai-0") == ["DAI-001"]
    assert found("牛柠") == []
    assert found("100%") == []


def _plan(stmt) -> str:
    # Planners prefer a scan on a tiny table; forbidding it shows whether an index can serve.
    sql = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    with db.engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        return "\n".join(conn.exec_driver_sql("EXPLAIN " + str(sql)).scalars())


@pytest.mark.postgres
def test_sku_prefix_and_name_search_can_use_indexes_on_postgres():
    f.tier()
    dealer = f.dealer("SH001")
    stmt = (
        db.select(db.text("1"))
        .select_from(catalog.Product)
        .where(catalog.visible_to(dealer), catalog.search_condition("牛奶"))
    )
    plan = _plan(stmt)
    assert "ix_products_search_grams" in plan
    assert "ix_products_sku_pattern" in plan
    assert "Seq Scan on products" not in plan
