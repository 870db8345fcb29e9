"""What one dealer sees of the catalog: visible products, their prices and stock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, func, literal, or_, select

from app.errors import NotFound
from app.extensions import db
from app.models import Category, Dealer, DealerPrice, Product, StockLevel, TierPrice
from app.models.catalog import product_tier_limits, query_grams
from app.services.pricing import PriceBreak, PriceTable, resolve_table
from app.services.settings import get_setting

IN_STOCK, LOW, OUT_OF_STOCK = "in_stock", "low", "out_of_stock"


def stock_status(available: int, min_order_qty: int, low_threshold: int) -> str:
    """out_of_stock below one minimum order, low at or under the threshold, else in_stock."""
    if available < min_order_qty:
        return OUT_OF_STOCK
    if available <= low_threshold:
        return LOW
    return IN_STOCK


@dataclass(slots=True)
class CatalogItem:
    """A product as one dealer sees it."""

    product: Product
    table: PriceTable
    available: int
    show_exact: bool

    @property
    def price(self) -> int:
        return self.table.unit_price(self.product.min_order_qty)

    @property
    def next_break(self) -> PriceBreak | None:
        return self.table.next_break(self.product.min_order_qty)

    @property
    def status(self) -> str:
        p = self.product
        return stock_status(self.available, p.min_order_qty, p.low_stock_threshold)

    @property
    def shown_available(self) -> int | None:
        return self.available if self.show_exact else None


@dataclass(slots=True)
class CatalogPage:
    items: list[CatalogItem]
    page: int
    per_page: int
    total: int | None
    has_more: bool


def visible_to(dealer: Dealer):
    """SQL condition: the product is active and not limited to other tiers."""
    allowed = exists().where(
        product_tier_limits.c.product_id == Product.id,
        product_tier_limits.c.tier_id == dealer.tier_id,
    )
    return and_(Product.active.is_(True), or_(Product.tier_restricted.is_(False), allowed))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(q: str):
    """SKU prefix or name substring; both served by indexes on PostgreSQL."""
    term = _escape_like(q.strip())
    in_name = Product.name.ilike("%" + term + "%", escape="\\")
    if db.session.get_bind().dialect.name == "postgresql":
        # The gram index finds candidates; ILIKE then checks the exact substring.
        in_name = and_(Product.search_grams.contains(query_grams(q)), in_name)
    return or_(
        Product.sku.like(term + "%", escape="\\"),
        Product.sku.like(term.upper() + "%", escape="\\"),
        in_name,
    )


def _available():
    return func.coalesce(StockLevel.on_hand - StockLevel.reserved, 0)


def price_tables_for(dealer: Dealer, products: list[Product]) -> dict[int, PriceTable]:
    """One statement for the dealer and tier tables of every product on the page."""
    ids = [p.id for p in products]
    rows: dict[int, dict[str, list[PriceBreak]]] = {pid: {"d": [], "t": []} for pid in ids}
    if ids:
        tier_q = select(
            TierPrice.product_id, literal("t"), TierPrice.min_qty, TierPrice.price
        ).where(TierPrice.product_id.in_(ids), TierPrice.tier_id == dealer.tier_id)
        dealer_q = select(
            DealerPrice.product_id, literal("d"), DealerPrice.min_qty, DealerPrice.price
        ).where(DealerPrice.product_id.in_(ids), DealerPrice.dealer_id == dealer.id)
        for pid, kind, min_qty, price in db.session.execute(tier_q.union_all(dealer_q)):
            rows[pid][kind].append(PriceBreak(min_qty, price))
    return {p.id: resolve_table(rows[p.id]["d"], rows[p.id]["t"], p.list_price) for p in products}


def _items(dealer: Dealer, rows) -> list[CatalogItem]:
    show_exact = bool(get_setting("show_exact_stock"))
    products = [product for product, _ in rows]
    tables = price_tables_for(dealer, products)
    return [CatalogItem(p, tables[p.id], available, show_exact) for p, available in rows]


def browse(
    dealer: Dealer,
    *,
    q: str = "",
    category_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
    with_total: bool = True,
    skus: list[str] | None = None,
) -> CatalogPage:
    """One page of the dealer's catalog, in a fixed small number of statements."""
    conditions = [visible_to(dealer)]
    if skus is not None:
        conditions.append(Product.sku.in_(skus))
    if q.strip():
        conditions.append(search_condition(q))
    if category_id:
        conditions.append(Product.category_id == category_id)
    stmt = (
        select(Product, _available())
        .outerjoin(StockLevel, StockLevel.product_id == Product.id)
        .where(*conditions)
        .order_by(Product.category_id, Product.sku)
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    )
    rows = db.session.execute(stmt).all()
    has_more = len(rows) > per_page
    items = _items(dealer, rows[:per_page])
    total = None
    if with_total:
        total = db.session.scalar(select(func.count(Product.id)).where(*conditions))
    return CatalogPage(items, page, per_page, total, has_more)


def item(dealer: Dealer, sku: str) -> CatalogItem:
    """One product as the dealer sees it; raises NotFound when it is not visible to them."""
    stmt = (
        select(Product, _available())
        .outerjoin(StockLevel, StockLevel.product_id == Product.id)
        .where(visible_to(dealer), Product.sku == sku)
    )
    rows = db.session.execute(stmt).all()
    if not rows:
        raise NotFound(f"No product {sku!r}.")
    return _items(dealer, rows)[0]


def categories(dealer: Dealer) -> list[Category]:
    """Categories holding at least one product this dealer can see."""
    has_visible = exists().where(Product.category_id == Category.id, visible_to(dealer))
    return list(db.session.scalars(select(Category).where(has_visible).order_by(Category.position)))


def stock_snapshot(dealer: Dealer, skus: list[str]) -> list[dict]:
    """Stock badges (and numbers where shown) for the given visible SKUs, in one statement."""
    if not skus:
        return []
    show_exact = bool(get_setting("show_exact_stock"))
    stmt = (
        select(Product.sku, Product.min_order_qty, Product.low_stock_threshold, _available())
        .outerjoin(StockLevel, StockLevel.product_id == Product.id)
        .where(visible_to(dealer), Product.sku.in_(skus))
        .order_by(Product.sku)
    )
    return [
        {
            "sku": sku,
            "status": stock_status(available, moq, threshold),
            "available": available if show_exact else None,
        }
        for sku, moq, threshold, available in db.session.execute(stmt)
    ]
