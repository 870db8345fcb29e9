"""HQ catalog: products, categories, tier limits, price tables and stock."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from app.errors import Conflict, Invalid, NotFound
from app.extensions import db
from app.models import Category, Dealer, DealerPrice, Product, StockLevel, Tier, TierPrice
from app.services import pricing
from app.services.accounts import tier_by_code

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


def create_product(data: dict) -> Product:
    """A new product with an empty stock row; raises Conflict on a duplicate SKU."""
    if db.session.scalar(select(Product.id).where(Product.sku == data["sku"])):
        raise Conflict(f"SKU {data['sku']!r} already exists.", code="duplicate_sku")
    product = Product(sku=data["sku"])
    _apply(product, data)
    db.session.add(product)
    db.session.flush()
    db.session.add(StockLevel(product_id=product.id, on_hand=0, reserved=0))
    db.session.commit()
    return product


def update_product(sku: str, data: dict) -> Product:
    """Change any field but the SKU; raises NotFound or Invalid."""
    product = product_by_sku(sku)
    _apply(product, data)
    db.session.commit()
    return product


def _checked_rows(table: list[dict], path: str) -> list[tuple[int, int]]:
    rows = [(row["min_qty"], row["price"]) for row in table]
    errors = pricing.table_errors(rows)
    if errors:
        raise Invalid("A price table is invalid.", errors={path: errors})
    return rows


def replace_prices(sku: str, tiers: dict[str, list], dealers: dict[str, list]) -> Product:
    """Replace every tier and dealer table of the SKU at once; raises NotFound or Invalid."""
    product = product_by_sku(sku)
    tier_rows = {code: _checked_rows(t, f"tiers.{code}") for code, t in tiers.items()}
    dealer_rows = {code: _checked_rows(t, f"dealers.{code}") for code, t in dealers.items()}
    tier_ids = _ids_by_code(Tier, tier_rows, "tiers")
    dealer_ids = _ids_by_code(Dealer, dealer_rows, "dealers")
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


def set_on_hand(sku: str, on_hand: int) -> StockLevel:
    """Set the counted stock; raises Conflict when it would fall below what is reserved."""
    product = product_by_sku(sku)
    if on_hand < 0:
        raise Invalid(errors={"on_hand": ["Must not be negative."]})
    # A guarded update: a concurrent reservation can never be left above on_hand.
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
    db.session.commit()
    return db.session.get(StockLevel, product.id, populate_existing=True)
