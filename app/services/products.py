"""HQ catalog: products, categories, tier limits, price tables and stock.

Every write takes the acting HQ user (`by`; None is the request's user, or the system
outside a request), re-checks the role and records an audit entry in its own transaction.
The JSON API, the HQ pages and the imports all come through here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import selectinload

from app.errors import Conflict, Invalid, NotFound
from app.extensions import db
from app.models import (
    Category,
    Dealer,
    DealerPrice,
    Product,
    ProductImage,
    StockLevel,
    Tier,
    TierPrice,
    User,
)
from app.money import format_fen
from app.services import audit, permissions, pricing, settings, stock_movements
from app.services.accounts import tier_by_code
from app.services.catalog import price_tables_for, search_condition, stock_status, visible_to
from app.services.pricing import PriceBreak, PriceTable
from app.services.quantities import PackRules

PRODUCT_FIELDS = (
    "name",
    "unit",
    "spec",
    "list_price",
    "min_order_qty",
    "order_multiple",
    "low_stock_threshold",
    "active",
)
REASON_MAX = stock_movements.REASON_MAX


def product_by_sku(sku: str) -> Product:
    """The product with this SKU, active or not; raises NotFound."""
    product = db.session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise NotFound(f"No product {sku!r}.", subject=("product", sku))
    return product


def category_named(name: str | None) -> Category | None:
    """The category with this name, created on first use; None for no category."""
    name = (name or "").strip()
    if not name:
        return None
    category = db.session.scalar(select(Category).where(Category.name == name))
    if category is None:
        position = db.session.scalar(select(db.func.count(Category.id))) or 0
        category = Category(name=name, position=position)
        db.session.add(category)
        db.session.flush()
    return category


def categories() -> list[Category]:
    """Every category, in the catalog's order."""
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.name)))


def _apply(product: Product, data: dict) -> None:
    for field in PRODUCT_FIELDS:
        if field in data:
            setattr(product, field, data[field])
    if "category" in data:
        product.category = category_named(data["category"])
    if "visible_tiers" in data:
        codes = data["visible_tiers"] or []
        product.limited_to = [tier_by_code(code) for code in codes]
        product.tier_restricted = bool(codes)


def snapshot(product: Product) -> dict:
    """The product's fields as the audit log keeps them (money as "12.50")."""
    values = {field: getattr(product, field) for field in PRODUCT_FIELDS}
    values["list_price"] = format_fen(product.list_price)
    values["category"] = product.category.name if product.category else None
    values["visible_tiers"] = sorted(tier.code for tier in product.limited_to)
    return values


def create_product(data: dict, *, by: User | None = None) -> Product:
    """A new product with an empty stock row; raises Conflict on a duplicate SKU, Invalid
    (an unknown tier), Forbidden (not an admin)."""
    permissions.require(by, permissions.ADMIN)
    if db.session.scalar(select(Product.id).where(Product.sku == data["sku"])):
        raise Conflict(f"SKU {data['sku']!r} already exists.", code="duplicate_sku")
    product = Product(sku=data["sku"])
    _apply(product, data)
    db.session.add(product)
    db.session.flush()
    db.session.add(StockLevel(product_id=product.id, on_hand=0, reserved=0))
    audit.record(by, "product.create", "product", product.sku, {}, snapshot(product))
    db.session.commit()
    return product


def update_product(sku: str, data: dict, *, by: User | None = None) -> Product:
    """Change any field but the SKU; raises NotFound, Invalid or Forbidden."""
    permissions.require(by, permissions.ADMIN)
    product = product_by_sku(sku)
    before = snapshot(product)
    _apply(product, data)
    before, after = audit.changes(before, snapshot(product))
    if after:
        audit.record(by, "product.update", "product", sku, before, after)
    db.session.commit()
    return product


def set_active(sku: str, active: bool, *, by: User | None = None) -> Product:
    """Put a product on sale or take it off (it leaves every dealer's catalog at once)."""
    return update_product(sku, {"active": bool(active)}, by=by)


def _checked_rows(table: list[dict], path: str) -> list[tuple[int, int]]:
    rows = [(row["min_qty"], row["price"]) for row in table]
    errors = pricing.table_errors(rows)
    if errors:
        raise Invalid("A price table is invalid.", errors={path: errors})
    return rows


def _tables_text(tables: dict) -> dict:
    return {
        kind: {code: [[r["min_qty"], format_fen(r["price"])] for r in rows]
               for code, rows in tables[kind].items()}
        for kind in ("tiers", "dealers")
    }  # fmt: skip


def replace_prices(
    sku: str, tiers: dict[str, list], dealers: dict[str, list], *, by: User | None = None
) -> Product:
    """Replace every tier and dealer table of the SKU at once; raises NotFound, Invalid
    (a table not starting at min_qty 1, a repeated min_qty, an unknown code) or Forbidden."""
    permissions.require(by, permissions.ADMIN)
    product = product_by_sku(sku)
    tier_rows = {code: _checked_rows(t, f"tiers.{code}") for code, t in tiers.items()}
    dealer_rows = {code: _checked_rows(t, f"dealers.{code}") for code, t in dealers.items()}
    tier_ids = _ids_by_code(Tier, tier_rows, "tiers")
    dealer_ids = _ids_by_code(Dealer, dealer_rows, "dealers")
    before = _tables_text(price_tables(product))
    db.session.execute(delete(TierPrice).where(TierPrice.product_id == product.id))
    db.session.execute(delete(DealerPrice).where(DealerPrice.product_id == product.id))
    db.session.add_all(
        TierPrice(product_id=product.id, tier_id=tier_ids[code], min_qty=q, price=p)
        for code, rows in tier_rows.items()
        for q, p in rows
    )
    db.session.add_all(
        DealerPrice(product_id=product.id, dealer_id=dealer_ids[code], min_qty=q, price=p)
        for code, rows in dealer_rows.items()
        for q, p in rows
    )
    db.session.flush()
    before, after = audit.changes(before, _tables_text(price_tables(product)))
    if after:
        audit.record(by, "product.prices", "product", sku, before, after)
    db.session.commit()
    return product


def _ids_by_code(model, codes, path: str) -> dict[str, int]:
    if not codes:
        return {}
    found = dict(
        db.session.execute(select(model.code, model.id).where(model.code.in_(codes))).all()
    )
    missing = [code for code in codes if code not in found]
    if missing:
        raise Invalid(
            f"Unknown {path}: {', '.join(missing)}.",
            errors={f"{path}.{code}": ["Unknown code."] for code in missing},
        )
    return found


def price_tables(product: Product) -> dict:
    """Every tier and dealer table of a product, for HQ."""
    tiers: dict[str, list] = {}
    for code, q, p in db.session.execute(
        select(Tier.code, TierPrice.min_qty, TierPrice.price)
        .join(Tier, Tier.id == TierPrice.tier_id)
        .where(TierPrice.product_id == product.id)
        .order_by(Tier.code, TierPrice.min_qty)
    ):
        tiers.setdefault(code, []).append({"min_qty": q, "price": p})
    dealers: dict[str, list] = {}
    for code, q, p in db.session.execute(
        select(Dealer.code, DealerPrice.min_qty, DealerPrice.price)
        .join(Dealer, Dealer.id == DealerPrice.dealer_id)
        .where(DealerPrice.product_id == product.id)
        .order_by(Dealer.code, DealerPrice.min_qty)
    ):
        dealers.setdefault(code, []).append({"min_qty": q, "price": p})
    return {"tiers": tiers, "dealers": dealers}


# --- why this price ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceExplanation:
    """Which table and row give a dealer their unit price for a quantity (CONTRACT §3)."""

    dealer: Dealer
    qty: int
    table: PriceTable
    row: PriceBreak
    visible: bool  # the dealer sees the product (active, not limited to other tiers)
    orderable: bool  # the quantity keeps to the minimum order and pack multiple

    @property
    def unit_price(self) -> int:
        return self.row.price

    @property
    def amount(self) -> int:
        return pricing.line_amount(self.row.price, self.qty)


def explain_price(sku: str, dealer_code: str, qty: int) -> PriceExplanation:
    """The table the dealer's price comes from (their own, else their tier's, else the list
    price) and its row with the greatest min_qty not above qty, exactly as the catalog and
    order placement resolve it. Raises NotFound (product, dealer) or Invalid (qty < 1)."""
    from app.services.accounts import dealer_by_code

    if not isinstance(qty, int) or qty < 1:
        raise Invalid(errors={"qty": ["The quantity must be a whole number of at least 1."]})
    product = product_by_sku(sku)
    dealer = dealer_by_code(dealer_code)
    table = price_tables_for(dealer, [product])[product.id]
    row = next(r for r in reversed(table.breaks) if r.min_qty <= qty)
    visible = bool(
        db.session.scalar(select(Product.id).where(Product.id == product.id, visible_to(dealer)))
    )
    orderable = PackRules(product.min_order_qty, product.order_multiple).valid(qty)
    return PriceExplanation(dealer, qty, table, row, visible, orderable)


def all_dealers() -> list[Dealer]:
    """Every dealer by code (for pickers on the price page)."""
    return list(db.session.scalars(select(Dealer).order_by(Dealer.code)))


def tiers() -> list[Tier]:
    """Every tier in the order they were made."""
    return list(db.session.scalars(select(Tier).order_by(Tier.id)))


# --- HQ's view: products with their stock -----------------------------------------------


@dataclass(frozen=True, slots=True)
class HqProduct:
    """A product as HQ sees it: all its fields, its stock and its image's digest."""

    product: Product
    on_hand: int
    reserved: int
    image: str | None

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def status(self) -> str:
        p = self.product
        return stock_status(self.available, p.min_order_qty, p.low_stock_threshold)

    @property
    def stock(self) -> dict:
        return {"on_hand": self.on_hand, "reserved": self.reserved, "available": self.available}


_AVAILABLE = func.coalesce(StockLevel.on_hand - StockLevel.reserved, 0)


def running_low():
    """SQL condition: available at or under the product's low-stock threshold."""
    return Product.low_stock_threshold >= _AVAILABLE


def _hq_select():
    return (
        select(
            Product,
            func.coalesce(StockLevel.on_hand, 0),
            func.coalesce(StockLevel.reserved, 0),
            ProductImage.digest,
        )
        .outerjoin(StockLevel, StockLevel.product_id == Product.id)
        .outerjoin(ProductImage, ProductImage.product_id == Product.id)
        .options(selectinload(Product.limited_to))
    )


def _conditions(q: str, category: str | None, active: bool | None, low_stock: bool) -> list:
    conditions = []
    if q.strip():
        conditions.append(search_condition(q))
    if category:
        category_id = select(Category.id).where(Category.name == category).scalar_subquery()
        conditions.append(Product.category_id == category_id)
    if active is not None:
        conditions.append(Product.active.is_(active))
    if low_stock:
        conditions.append(running_low())
    return conditions


def hq_products(
    *,
    q: str = "",
    category: str | None = None,
    active: bool | None = None,
    low_stock: bool = False,
    page: int = 1,
    per_page: int = 50,
    order: str = "sku",
) -> tuple[list[HqProduct], int]:
    """(one page of products by SKU — or by availability, lowest first — and how many match)
    for HQ, active or not: search by name or SKU prefix, a category by name, the active
    flag, and running low (available at or under the threshold)."""
    conditions = _conditions(q, category, active, low_stock)
    ordering = (_AVAILABLE, Product.sku) if order == "available" else (Product.sku,)
    rows = db.session.execute(
        _hq_select()
        .where(*conditions)
        .order_by(*ordering)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    total = db.session.scalar(
        select(func.count(Product.id))
        .select_from(Product)
        .outerjoin(StockLevel, StockLevel.product_id == Product.id)
        .where(*conditions)
    )
    return [HqProduct(*row) for row in rows], total or 0


def hq_product(sku: str) -> HqProduct:
    """One product as HQ sees it; raises NotFound."""
    row = db.session.execute(_hq_select().where(Product.sku == sku)).first()
    if row is None:
        raise NotFound(f"No product {sku!r}.", subject=("product", sku))
    return HqProduct(*row)


# --- stock ---------------------------------------------------------------------------------


def set_on_hand(
    sku: str,
    on_hand: int,
    *,
    reason: str = "",
    kind: str = stock_movements.MANUAL,
    reference: str = "",
    by: User | None = None,
) -> StockLevel:
    """Set the counted stock, logged as a stock movement (before → after, why, who).
    Raises Invalid (negative, a reason over 200 characters), Conflict (below what is
    reserved), NotFound, Forbidden."""
    permissions.require(by, permissions.ADMIN)
    product = product_by_sku(sku)
    if on_hand < 0:
        raise Invalid(errors={"on_hand": ["Must not be negative."]})
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise Invalid(errors={"reason": [f"At most {REASON_MAX} characters."]})
    # The row is locked first, so `before` is the count this change replaces; the update
    # stays guarded: a reservation can never be left above on_hand.
    before = db.session.scalar(
        select(StockLevel.on_hand).where(StockLevel.product_id == product.id).with_for_update()
    )
    result = db.session.execute(
        update(StockLevel)
        .where(StockLevel.product_id == product.id, StockLevel.reserved <= on_hand)
        .values(on_hand=on_hand, updated_at=db.func.now())
    )
    if result.rowcount != 1:
        db.session.rollback()
        level = db.session.get(StockLevel, product.id)
        raise Conflict(
            f"on_hand {on_hand} is below the {level.reserved} already reserved.",
            code="below_reserved",
            reserved=level.reserved,
        )
    if before != on_hand:
        movement = stock_movements.Movement(product.id, before, on_hand, kind, reason, reference)
        stock_movements.record(movement, by)
        audit.record(by, "product.stock", "product", sku, {"on_hand": before},
                     {"on_hand": on_hand, "reason": reason})  # fmt: skip
    db.session.commit()
    return db.session.get(StockLevel, product.id, populate_existing=True)


def low_stock(limit: int = 100) -> list[HqProduct]:
    """Active products at or under their low-stock threshold, least available first."""
    rows, _ = hq_products(active=True, low_stock=True, per_page=limit, order="available")
    return rows


def set_stock_display(show_exact: bool, *, by: User | None = None) -> dict:
    """The brand-wide choice: dealers see exact numbers available, or only the badges
    (有货 / 库存紧张 / 缺货). Holds for every request after this one; returns all settings."""
    permissions.require(by, permissions.ADMIN)
    return update_settings({"show_exact_stock": bool(show_exact)}, by=by)


def update_settings(changes: dict, *, by: User | None = None) -> dict:
    """Store brand-wide settings, audited (settings.update_settings commits the entry with
    them); raises Forbidden for other roles."""
    permissions.require(by, permissions.ADMIN)
    current = settings.all_settings()
    before, after = audit.changes(current, {**current, **changes})
    if after:
        audit.record(by, "settings.update", "settings", "brand", before, after)
    return settings.update_settings(changes)
