"""Dealer catalog endpoints (CONTRACT §4)."""

import orjson
from flask import current_app, g, request

from app.api import DEALER, bp, doc, reply
from app.api.schemas import CatalogItemSchema, CatalogPageSchema, CatalogQuerySchema
from app.extensions import db
from app.models import Category
from app.money import format_fen
from app.services import cache, catalog

# Schemas are built once: constructing one costs more than dumping a page with it.
PAGE_OUT, ITEM_OUT, QUERY_IN = CatalogPageSchema(), CatalogItemSchema(), CatalogQuerySchema()


def _category_id(name: str) -> int | None:
    if not name:
        return None

    def load():
        return db.session.scalar(db.select(Category.id).where(Category.name == name)) or -1

    return cache.cached(cache.CATALOG, ("category", name), load)


def _fixed_part(item: catalog.CatalogItem) -> dict:
    """ITEM (CatalogItemSchema) without its stock: what the page's cache entry can keep."""
    p, table = item.product, item.table
    return {
        "sku": p.sku,
        "name": p.name,
        "unit": p.unit,
        "spec": p.spec,
        "category": p.category_name,
        "price": format_fen(item.price),
        "price_source": table.source,
        "price_breaks": [
            {"min_qty": b.min_qty, "price": format_fen(b.price)} for b in table.breaks
        ],
        "min_order_qty": p.min_order_qty,
        "order_multiple": p.order_multiple,
    }


def page_json(page: catalog.CatalogPage) -> dict:
    """What PAGE_OUT.dump(page) gives, from plain values (the hot path; a test holds them
    equal): the fixed part of each item is built once per cached page, the stock per call."""
    fixed = page.derived.get("api")
    if fixed is None:
        fixed = page.derived["api"] = [_fixed_part(item) for item in page.items]
    items = [
        {**part, "stock": {"available": item.shown_available, "status": item.status}}
        for part, item in zip(fixed, page.items, strict=True)
    ]
    return {"items": items, "page": page.page, "per_page": page.per_page, "total": page.total}


@bp.get("/catalog")
@doc(
    summary="Active products this dealer may order, with their prices and stock",
    role=DEALER,
    query=CatalogQuerySchema,
    response=CatalogPageSchema,
    errors=(401, 403, 422),
)
def list_catalog():
    args = QUERY_IN.load(request.args.to_dict())
    page = catalog.browse(
        g.api_user.dealer,
        q=args["q"],
        category_id=_category_id(args["category"]),
        page=args["page"],
        per_page=args["per_page"],
    )
    return current_app.response_class(orjson.dumps(page_json(page)), mimetype="application/json")


@bp.get("/catalog/<sku>")
@doc(
    summary="One product as this dealer sees it",
    role=DEALER,
    response=CatalogItemSchema,
    errors=(401, 403, 404),
)
def get_catalog_item(sku: str):
    return reply(ITEM_OUT, catalog.item(g.api_user.dealer, sku))
