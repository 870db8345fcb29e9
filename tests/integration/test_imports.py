"""The import service at size (CONTRACT §3b "20,000 rows are checked and applied in
seconds"): 20,000-row products, prices and stock files are counted, applied and exported
correctly, on SQLite and on PostgreSQL. Timings are measured by bench, not asserted here."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from app.errors import Conflict, DomainError
from app.extensions import db
from app.models import (
    AuditEntry,
    Category,
    Product,
    StockLevel,
    StockMovement,
    TierPrice,
    User,
)
from app.services import import_files, imports, orders
from app.services.orders import LineRequest
from tests import factories as f
from tests.threads import run_together

N = 20_000
PRODUCT_HEADER = [*imports.PRODUCT_REQUIRED, *imports.PRODUCT_OPTIONAL]


def sku(i: int) -> str:
    return f"BULK-{i:05d}"


def product_rows(unit: str = "箱") -> list[list]:
    return [
        [sku(i), f"批量商品 {i} 号", unit, Decimal(1000 + i).scaleb(-2), f"类{i % 40}",
         "500ml×12", 1 + i % 3, 1, 10, i % 7 != 0]
        for i in range(N)
    ]  # fmt: skip


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def audits(action: str) -> list[AuditEntry]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def admin(app):
    return f.admin("hq")


def test_twenty_thousand_products_are_counted_applied_and_export_back_unchanged(admin):
    f.product(sku(5), name="旧名字", list_price=1, category=None)  # one row already stored
    csv_file = import_files.to_csv(PRODUCT_HEADER, product_rows())

    checked = imports.run("products", csv_file, by=admin, dry_run=True)
    assert (checked.new, checked.changed, checked.unchanged, checked.invalid) == (N - 1, 1, 0, [])
    assert count(Product) == 1

    applied = imports.run("products", csv_file, by=admin, dry_run=False, filename="bulk.csv")
    assert (applied.new, applied.changed, applied.applied) == (N - 1, 1, True)
    assert count(Product) == N and count(StockLevel) == N
    assert count(Category) == 40
    db.session.rollback()
    row = db.session.scalar(select(Product).where(Product.sku == sku(12_345)))
    assert (row.name, row.list_price, row.category_name) == ("批量商品 12345 号", 13345, "类25")
    assert (row.min_order_qty, row.spec, row.active) == (1, "500ml×12", True)
    assert "批量" in row.search_grams
    assert db.session.scalar(select(Product.active).where(Product.sku == sku(7))) is False
    assert db.session.scalar(select(Product.name).where(Product.sku == sku(5))) == "批量商品 5 号"
    entries = audits("import.products")
    assert len(entries) == 1
    after = json.loads(entries[0].after)
    assert (after["rows"], after["new"], after["changed"], after["file"]) == (
        N,
        N - 1,
        1,
        "bulk.csv",
    )
    assert len(after["new_sample"]) == imports.SAMPLE  # a sample, never 20,000 rows

    content, _, _ = imports.export_file("products", "csv", admin)  # .xlsx: the prices test
    again = imports.run("products", content, by=admin, dry_run=True)
    assert (again.new, again.changed, again.unchanged, again.invalid) == (0, 0, N, [])

    edited = import_files.to_csv(PRODUCT_HEADER, product_rows(unit="瓶"))
    changed = imports.run("products", edited, by=admin, dry_run=False)
    assert (changed.changed, changed.unchanged) == (N, 0)
    db.session.rollback()
    units = db.session.scalars(select(Product.unit).distinct()).all()
    assert units == ["瓶"]


def test_one_invalid_row_among_twenty_thousand_applies_nothing(admin):
    rows = product_rows()
    rows[15_000][3] = Decimal("-1.00")
    content = import_files.to_csv(PRODUCT_HEADER, rows)
    with pytest.raises(imports.ImportRefused) as refused:
        imports.run("products", content, by=admin, dry_run=False)
    assert refused.value.outcome.invalid == [
        (15_002, {"list_price": [("Must not be negative.", {})]})
    ]
    assert count(Product) == 0 and count(AuditEntry) == 0


def test_twenty_thousand_price_rows_replace_ten_thousand_tables(admin):
    f.tier("GOLD", "金牌")
    products = [
        [sku(i), f"商品{i}", "箱", Decimal(10), "", "", 1, 1, 10, True] for i in range(N // 2)
    ]
    imports.run("products", import_files.to_csv(PRODUCT_HEADER, products), by=admin, dry_run=False)
    f.prices(sku(0), tiers={"GOLD": [(1, 900), (5, 850), (100, 700)]})
    rows = [
        row
        for i in range(N // 2)
        for row in ([sku(i), "tier:GOLD", 1, Decimal(9)], [sku(i), "tier:GOLD", 10, Decimal(8)])
    ]
    content = import_files.to_csv(["sku", "scope", "min_qty", "price"], rows)
    checked = imports.run("prices", content, by=admin, dry_run=True)
    assert (checked.new, checked.unchanged, checked.removed) == (N - 1, 1, 2)
    applied = imports.run("prices", content, by=admin, dry_run=False)
    assert applied.applied and count(TierPrice) == N
    db.session.rollback()
    table = db.session.execute(
        select(TierPrice.min_qty, TierPrice.price)
        .join(Product, Product.id == TierPrice.product_id)
        .where(Product.sku == sku(0))
        .order_by(TierPrice.min_qty)
    ).all()
    assert [tuple(r) for r in table] == [(1, 900), (10, 800)]
    exported, _, _ = imports.export_file("prices", "xlsx", admin)
    again = imports.run("prices", exported, by=admin, dry_run=True)
    assert (again.new, again.changed, again.removed, again.unchanged) == (0, 0, 0, N)


def test_twenty_thousand_stock_counts_with_one_movement_each(admin):
    products = [[sku(i), f"商品{i}", "箱", Decimal(10), "", "", 1, 1, 10, True] for i in range(N)]
    imports.run("products", import_files.to_csv(PRODUCT_HEADER, products), by=admin, dry_run=False)
    content = import_files.to_csv(["sku", "on_hand"], [[sku(i), i % 500] for i in range(N)])
    applied = imports.run("stock", content, by=admin, dry_run=False)
    unchanged = N // 500  # i % 500 == 0 leaves 0 as it was
    assert (applied.changed, applied.unchanged) == (N - unchanged, unchanged)
    db.session.rollback()
    total = db.session.scalar(select(func.sum(StockLevel.on_hand)))
    assert total == sum(i % 500 for i in range(N))
    assert count(StockMovement) == N - unchanged
    assert len(audits("import.stock")) == 1


def test_a_reservation_the_check_did_not_see_stops_the_whole_stock_import(admin, monkeypatch):
    """The write is guarded too: a count below what is reserved by then is never written."""
    f.product(sku(1), on_hand=10)
    f.product(sku(2), on_hand=10)
    db.session.execute(update(StockLevel).values(reserved=8))
    db.session.commit()
    seen_before = {}

    def stale_levels(product_ids, lock):  # as read before the reservation was made
        ids = list(product_ids)
        seen_before.update(dict.fromkeys(ids, (10, 0)))
        return seen_before

    monkeypatch.setattr(imports, "_stock_levels", stale_levels)
    content = import_files.to_csv(["sku", "on_hand"], [[sku(1), 3], [sku(2), 9]])
    with pytest.raises(Conflict) as refused:
        imports.run("stock", content, by=admin, dry_run=False)
    assert refused.value.code == "import_conflict"
    db.session.rollback()
    assert sorted(db.session.execute(select(StockLevel.on_hand, StockLevel.reserved))) == [
        (10, 8),
        (10, 8),
    ]
    assert count(StockMovement) == 2  # only the fixtures' own counts
    assert audits("import.stock") == []


@pytest.mark.postgres
def test_a_stock_import_racing_an_order_never_both_win(app, admin):
    """The import locks the counted rows: an order reserves either before (and the import,
    now below what is reserved, is refused whole) or after (against the new count)."""
    f.tier("GOLD", "金牌")
    f.dealer("RACE1", "GOLD", credit_limit=10_000_000)
    buyer_id = f.dealer_user("RACE1", "race").id
    for i in range(60):
        f.product(sku(i), on_hand=10, list_price=100)
    content = import_files.to_csv(["sku", "on_hand"], [[sku(i), 3] for i in range(60)])
    db.session.remove()

    def place():
        with app.app_context():
            try:
                buyer = db.session.get(User, buyer_id)
                return orders.place_order(buyer, [LineRequest(sku(45), 5)]).number
            except DomainError as err:
                return err.code
            finally:
                db.session.remove()

    def load():
        with app.app_context():
            try:
                return imports.run("stock", content, by=None, dry_run=False).applied
            except DomainError as err:
                return err.code
            finally:
                db.session.remove()

    placed, imported = run_together([place, load])
    db.session.rollback()
    ordered = placed.startswith("SO") if isinstance(placed, str) else False
    assert ordered != (imported is True), (placed, imported)
    levels = db.session.execute(select(StockLevel.on_hand, StockLevel.reserved)).all()
    assert all(reserved <= on_hand for on_hand, reserved in levels)
    on_hand = {row[0] for row in levels}
    assert on_hand == ({10} if ordered else {3})
