"""Dealer catalog endpoints (CONTRACT §4)."""

from flask import g, request

from app.api import DEALER, bp, doc, reply
from app.api.schemas import CatalogItemSchema, CatalogPageSchema, CatalogQuerySchema
from app.extensions import db
from app.models import Category
from app.services import catalog

# Schemas are built once: constructing one costs more than dumping a page with it.
PAGE_OUT, ITEM_OUT, QUERY_IN = CatalogPageSchema(), CatalogItemSchema(), CatalogQuerySchema()


def _category_id(name: str) -> int | None:
    if not name:
        return None
    return db.session.scalar(db.select(Category.id).where(Category.name == name)) or -1


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
    return reply(PAGE_OUT, page)


@bp.get("/catalog/<sku>")
@doc(
    summary="One product as this dealer sees it",
    role=DEALER,
    response=CatalogItemSchema,
    errors=(401, 403, 404),
)
def get_catalog_item(sku: str):
    return reply(ITEM_OUT, catalog.item(g.api_user.dealer, sku))
