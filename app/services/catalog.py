"""What one dealer sees of the catalog: visible products, their prices and stock."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sqlalchemy import (
    Integer,
    String,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from app.errors import NotFound
from app.extensions import db
from app.models import Category, Dealer, DealerPrice, Product, ProductImage, StockLevel, TierPrice
from app.models.catalog import product_tier_limits, query_grams
from app.services import cache
from app.services.cache import CATALOG
from app.services.pricing import PriceBreak, PriceTable, resolve_table
from app.services.quantities import BreakRow, PackRules, break_rows
from app.services.settings import get_setting

IN_STOCK, LOW, OUT_OF_STOCK = "in_stock", "low", "out_of_stock"


def stock_status(available: int, min_order_qty: int, low_threshold: int) -> str:
    """out_of_stock below one minimum order, low at or under the threshold, else in_stock."""
    if available < min_order_qty:
        return OUT_OF_STOCK
    if available <= low_threshold:
        return LOW
    return IN_STOCK


@dataclass(frozen=True, slots=True)
class ProductCard:
    """What the catalog shows of a product: plain values, no ORM identity to track."""

    id: int
    sku: str
    name: str
    unit: str
    spec: str
    category_id: int | None
    category_name: str | None
    list_price: int
    min_order_qty: int
    order_multiple: int
    low_stock_threshold: int
    image: str | None = None  # the digest naming its picture (services.images), if any


@dataclass(slots=True)
class CatalogItem:
    """A product as one dealer sees it."""

    product: ProductCard
    table: PriceTable
    available: int
    show_exact: bool

    @property
    def price(self) -> int:
        return self.table.unit_price(self.product.min_order_qty)

    @property
    def rules(self) -> PackRules:
        return PackRules(self.product.min_order_qty, self.product.order_multiple)

    @property
    def max_qty(self) -> int | None:
        """The most that can be ordered from today's stock (None: not even the minimum)."""
        return self.rules.up_to(self.available)

    @property
    def break_rows(self) -> list[BreakRow]:
        """The price breaks as orderable quantities, marked where stock cannot reach them."""
        return break_rows(self.table.breaks, self.rules, self.available)

    @property
    def next_break(self) -> BreakRow | None:
        """The first cheaper row above the first orderable quantity that stock can reach."""
        rows = self.break_rows
        return next((r for r in rows[1:] if r.reachable and r.price < rows[0].price), None)

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
    # Built from the page's products and prices, not its stock (an answer's JSON, rendered
    # cards): kept as long as those are (the page's entry in the catalog cache), by whoever
    # builds them.
    derived: dict = field(default_factory=dict)


def _visible(tier_id):
    allowed = exists().where(
        product_tier_limits.c.product_id == Product.id,
        product_tier_limits.c.tier_id == tier_id,
    )
    return and_(Product.active.is_(True), or_(Product.tier_restricted.is_(False), allowed))


def visible_to(dealer: Dealer):
    """SQL condition: the product is active and not limited to other tiers."""
    return _visible(dealer.tier_id)


# Hot statements are built once with bound parameters; building them per request cost
# more than running them (see bench/profiling.py).
_AVAILABLE = (
    select(func.coalesce(StockLevel.on_hand - StockLevel.reserved, 0))
    .where(StockLevel.product_id == Product.id)
    .scalar_subquery()
)


def _one_of(column, name: str, item_type, postgres: bool):
    """`column = ANY(:name)` on PostgreSQL (one array parameter), else an expanding IN."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(item_type)))
    return column.in_(bindparam(name, expanding=True))


@functools.cache
def _snapshot_stmt(postgres: bool):
    return (
        select(
            Product.id, Product.sku, Product.min_order_qty, Product.low_stock_threshold, _AVAILABLE
        )
        .where(_visible(bindparam("tier_id")), _one_of(Product.sku, "skus", String, postgres))
        .order_by(Product.sku)
    )


@functools.cache
def _tables_stmt(postgres: bool):
    return union_all(
        select(TierPrice.product_id, literal("t"), TierPrice.min_qty, TierPrice.price).where(
            _one_of(TierPrice.product_id, "ids", Integer, postgres),
            TierPrice.tier_id == bindparam("tier_id"),
        ),
        select(DealerPrice.product_id, literal("d"), DealerPrice.min_qty, DealerPrice.price).where(
            _one_of(DealerPrice.product_id, "ids", Integer, postgres),
            DealerPrice.dealer_id == bindparam("dealer_id"),
        ),
    )


def _on_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


_CARD = (
    select(
        Product.id,
        Product.sku,
        Product.name,
        Product.unit,
        Product.spec,
        Product.category_id,
        Category.name.label("category_name"),
        Product.list_price,
        Product.min_order_qty,
        Product.order_multiple,
        Product.low_stock_threshold,
        ProductImage.digest.label("image"),
        _AVAILABLE.label("available"),
    )
    .outerjoin(Category, Category.id == Product.category_id)
    .outerjoin(ProductImage, ProductImage.product_id == Product.id)
)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(q: str):
    """SKU prefix or name substring; both served by indexes on PostgreSQL."""
    term = _escape_like(q.strip())
    in_name = Product.name.ilike("%" + term + "%", escape="\\")
    if _on_postgres():
        # The gram index finds candidates; ILIKE then checks the exact substring.
        in_name = and_(Product.search_grams.contains(query_grams(q)), in_name)
    return or_(
        Product.sku.like(term + "%", escape="\\"),
        Product.sku.like(term.upper() + "%", escape="\\"),
        in_name,
    )


def price_tables_for(dealer: Dealer, products: list) -> dict[int, PriceTable]:
    """One statement for the dealer and tier tables of every product on the page."""
    ids = [p.id for p in products]
    rows: dict[int, dict[str, list[PriceBreak]]] = {pid: {"d": [], "t": []} for pid in ids}
    if ids:
        params = {"ids": ids, "tier_id": dealer.tier_id, "dealer_id": dealer.id}
        for pid, kind, min_qty, price in db.session.execute(_tables_stmt(_on_postgres()), params):
            rows[pid][kind].append(PriceBreak(min_qty, price))
    return {p.id: resolve_table(rows[p.id]["d"], rows[p.id]["t"], p.list_price) for p in products}


def kept_price_tables(dealer: Dealer, products: list) -> dict[int, PriceTable]:
    """price_tables_for, each product's table kept per process (topic catalog; the dealer's
    tier is in the key, since a dealer moving tier is an auth write)."""
    channel = cache.channel()
    if not channel.active():
        return price_tables_for(dealer, products)
    by_id = {p.id: p for p in products}

    def load(keys: list) -> dict:
        tables = price_tables_for(dealer, [by_id[key[3]] for key in keys])
        return {("table", dealer.id, dealer.tier_id, pid): t for pid, t in tables.items()}

    keys = [("table", dealer.id, dealer.tier_id, pid) for pid in by_id]
    return {key[3]: table for key, table in channel.cached_many(CATALOG, keys, load, None).items()}


@dataclass(frozen=True, slots=True)
class Orderable:
    """What placing an order needs of a product the dealer may order."""

    id: int
    sku: str
    name: str
    unit: str
    min_order_qty: int
    order_multiple: int
    list_price: int


def orderable(dealer: Dealer, skus: list[str]) -> dict[str, Orderable]:
    """The products among `skus` the dealer may order (active, not limited to other tiers),
    by SKU; kept per process per tier and SKU (topic catalog)."""

    def read(wanted: list[str]) -> dict[str, Orderable]:
        columns = [getattr(Product, name) for name in Orderable.__slots__]
        stmt = select(*columns).where(visible_to(dealer), Product.sku.in_(wanted))
        return {row.sku: Orderable(*row) for row in db.session.execute(stmt)}

    channel = cache.channel()
    if not channel.active():
        return read(list(skus))

    def load(keys: list) -> dict:
        return {
            ("orderable", dealer.tier_id, sku): row
            for sku, row in read([key[2] for key in keys]).items()
        }

    keys = [("orderable", dealer.tier_id, sku) for sku in skus]
    found = channel.cached_many(CATALOG, keys, load, None)
    return {key[2]: row for key, row in found.items() if row is not None}


@dataclass(frozen=True, slots=True)
class _Rows:
    """What a page shows apart from live stock: kept per process (topic catalog)."""

    cards: list[tuple[ProductCard, PriceTable]]
    total: int | None
    has_more: bool
    available: dict[int, int]  # stock as read with the page (topic stock keeps it live)
    derived: dict = field(default_factory=dict)  # see CatalogPage.derived


def _rows(dealer: Dealer, stmt, per_page: int | None = None, count=None) -> _Rows:
    rows = db.session.execute(stmt).all()
    has_more = per_page is not None and len(rows) > per_page
    rows = rows[:per_page] if per_page is not None else rows
    cards = [ProductCard(*row[:-1]) for row in rows]
    tables = price_tables_for(dealer, cards)
    total = db.session.scalar(count) if count is not None else None
    available = {card.id: row[-1] for card, row in zip(cards, rows, strict=True)}
    return _Rows([(card, tables[card.id]) for card in cards], total, has_more, available)


def _kept_rows(key: tuple, load) -> tuple[_Rows, dict[int, int]]:
    """The page's rows (kept per process when caches are on) and each product's stock now."""
    channel = cache.channel()
    if not channel.active():
        rows = load()
        return rows, rows.available
    stock_generation = channel.generation(cache.STOCK)
    fresh = []

    def read() -> _Rows:
        fresh.append(load())
        return fresh[0]

    rows = channel.lookup(cache.CATALOG, key, read)
    if rows is cache.OFF:  # the listener was lost just now: read through
        rows = fresh[0] if fresh else load()
        return rows, rows.available
    ids = [card.id for card, _ in rows.cards]
    # Stock read with a fresh page is as live as a separate read would be.
    known = (rows.available, stock_generation) if fresh else None
    return rows, channel.cached_many(cache.STOCK, ids, _stock_of, 0, known)


def _stock_of(ids: list[int]) -> dict[int, int]:
    available = StockLevel.on_hand - StockLevel.reserved
    stmt = select(StockLevel.product_id, available).where(StockLevel.product_id.in_(ids))
    return dict(db.session.execute(stmt).all())


def show_exact_stock() -> bool:
    """The brand's setting, kept per process (topic catalog) for the display paths."""
    return bool(
        cache.cached(
            cache.CATALOG, ("setting", "show_exact_stock"), lambda: get_setting("show_exact_stock")
        )
    )


def _items(rows: _Rows, available: dict[int, int]) -> list[CatalogItem]:
    show_exact = show_exact_stock()
    return [CatalogItem(card, table, available[card.id], show_exact) for card, table in rows.cards]


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
    """One page of the dealer's catalog, in a fixed small number of statements (none when
    this process has it: the statements are only built on a miss)."""

    def load() -> _Rows:
        conditions = [visible_to(dealer)]
        if skus is not None:
            conditions.append(Product.sku.in_(skus))
        if q.strip():
            conditions.append(search_condition(q))
        if category_id:
            conditions.append(Product.category_id == category_id)
        stmt = (
            _CARD.where(*conditions)
            .order_by(Product.category_id, Product.sku)
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        )
        count = select(func.count(Product.id)).where(*conditions) if with_total else None
        return _rows(dealer, stmt, per_page, count)

    key = ("page", dealer.id, dealer.tier_id, q.strip(), category_id, page, per_page, with_total)
    key += (tuple(skus) if skus is not None else None,)
    rows, available = _kept_rows(key, load)
    items = _items(rows, available)
    return CatalogPage(items, page, per_page, rows.total, rows.has_more, rows.derived)


def item(dealer: Dealer, sku: str) -> CatalogItem:
    """One product as the dealer sees it; raises NotFound when it is not visible to them."""
    key = ("item", dealer.id, dealer.tier_id, sku)
    load = lambda: _rows(dealer, _CARD.where(visible_to(dealer), Product.sku == sku))  # noqa: E731
    rows, available = _kept_rows(key, load)
    if not rows.cards:
        raise NotFound(f"No product {sku!r}.", subject=("product", sku))
    return _items(rows, available)[0]


@dataclass(frozen=True, slots=True)
class Chip:
    id: int
    name: str


def categories(dealer: Dealer) -> list[Chip]:
    """Categories holding at least one product this dealer can see."""

    def load():
        has_visible = exists().where(Product.category_id == Category.id, visible_to(dealer))
        stmt = select(Category.id, Category.name).where(has_visible).order_by(Category.position)
        return [Chip(*row) for row in db.session.execute(stmt)]

    return cache.cached(cache.CATALOG, ("categories", dealer.tier_id), load)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    id: int
    sku: str
    min_order_qty: int
    low_threshold: int


def stock_snapshot(dealer: Dealer, skus: list[str]) -> list[dict]:
    """Stock badges (and numbers where shown) for the given visible SKUs: the products from the
    catalog cache, their stock from the stock cache (one statement when either misses)."""
    if not skus:
        return []
    show_exact = show_exact_stock()
    params = {"tier_id": dealer.tier_id, "skus": skus}

    def load() -> _Rows:
        rows = db.session.execute(_snapshot_stmt(_on_postgres()), params).all()
        products = [(_Snapshot(*row[:-1]), None) for row in rows]
        return _Rows(products, None, False, {row[0]: row[-1] for row in rows})

    rows, available = _kept_rows(("snapshot", dealer.tier_id, tuple(skus)), load)
    return [
        {
            "sku": p.sku,
            "status": stock_status(available[p.id], p.min_order_qty, p.low_threshold),
            "available": available[p.id] if show_exact else None,
        }
        for p, _ in rows.cards
    ]
