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


def _raw_debit(dealer_id: int, entry_type: str, amount: int, reference: str):
    """A funds posting written as raw SQL (the balance row moved with it, as post() does)."""
    balance = db.session.execute(
        text(
            "UPDATE wallet_accounts SET balance = balance + :a"
            " WHERE dealer_id = :d AND account = 'funds' RETURNING balance"
        ),
        {"a": amount, "d": dealer_id},
    ).scalar_one()
    db.session.execute(
        text(
            "INSERT INTO ledger_entries (dealer_id, account, type, amount, balance_after,"
            " reference, memo, created_at) VALUES (:d, 'funds', :t, :a, :b, :r, '',"
            " CURRENT_TIMESTAMP)"
        ),
        {"d": dealer_id, "t": entry_type, "a": amount, "b": balance, "r": reference},
    )


def test_the_database_refuses_an_order_debit_below_the_credit_limit_but_not_hq_adjustments():
    f.tier("GOLD", "金牌")
    dealer = f.dealer("SH001", "GOLD", credit_limit=50_000)
    _raw_debit(dealer.id, "order_debit", -50_000, "order:SO1:debit")  # exactly at the limit
    db.session.commit()

    with pytest.raises(IntegrityError, match="credit limit"):
        _raw_debit(dealer.id, "order_debit", -1, "order:SO2:debit")
    db.session.rollback()
    _raw_debit(dealer.id, "adjustment", -40_000, "adjustment:x")  # HQ's word stands
    db.session.commit()


def test_the_database_refuses_a_negative_rebate_balance():
    f.tier("GOLD", "金牌")
    dealer = f.dealer("SH001", "GOLD")
    with pytest.raises(IntegrityError):
        db.session.execute(
            text(
                "UPDATE wallet_accounts SET balance = -1"
                " WHERE dealer_id = :d AND account = 'rebate'"
            ),
            {"d": dealer.id},
        )
    db.session.rollback()
