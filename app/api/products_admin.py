"""HQ's read of the catalog (CONTRACT §3): GET /admin/products and /admin/products/{sku} —
every field of POST /admin/products, plus stock — for admin and order desk."""

from flask import request
from marshmallow import Schema, fields, validate

from app.api import ADMIN, bp, doc, reply, reply_page
from app.api.fields import QueryBool, QueryInt, Str
from app.api.schemas import PagedSchema, ProductOutSchema, StrictSchema, With
from app.services import permissions, products


class ProductStockSchema(Schema):
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()
    status = fields.String(metadata={"description": "in_stock, low or out_of_stock"})


class HqProductOutSchema(ProductOutSchema):
    """A product as HQ sees it; dump it as `hq_view(item)`."""

    stock = fields.Nested(ProductStockSchema)


class HqProductPageSchema(PagedSchema):
    items = fields.List(fields.Nested(HqProductOutSchema))


class HqProductQuerySchema(StrictSchema):
    q = Str(
        allow_empty=True,
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "Name contains it, or SKU starts with it"},
    )
    category = Str(allow_empty=True, load_default="", validate=validate.Length(max=64))
    active = QueryBool(blank=True, load_default=None)
    low_stock = QueryBool(
        load_default=False,
        metadata={"description": "Only products with available ≤ low_stock_threshold"},
    )
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = QueryInt(load_default=50, validate=validate.Range(min=1, max=200))


PAGE_OUT, ITEM_OUT = HqProductPageSchema(), HqProductOutSchema()


def hq_view(item: products.HqProduct) -> With:
    """The product with its stock attached, as the HQ schemas dump it."""
    return With(item.product, stock={**item.stock, "status": item.status})


@bp.get("/admin/products")
@doc(
    summary="Products as HQ sees them, active or not, with their stock (by SKU)",
    role=ADMIN,
    can=permissions.READ_PRODUCTS,
    query=HqProductQuerySchema,
    response=HqProductPageSchema,
    errors=(401, 403, 422),
)
def list_hq_products():
    args = HqProductQuerySchema().load(request.args.to_dict())
    items, total = products.hq_products(
        q=args["q"],
        category=args["category"] or None,
        active=args["active"],
        low_stock=args["low_stock"],
        page=args["page"],
        per_page=args["per_page"],
    )
    return reply_page(PAGE_OUT, [hq_view(item) for item in items], total, args)


@bp.get("/admin/products/<sku>")
@doc(
    summary="Read a product as HQ sees it, with its stock",
    role=ADMIN,
    can=permissions.READ_PRODUCTS,
    response=HqProductOutSchema,
    errors=(401, 403, 404),
)
def get_product(sku: str):
    return reply(ITEM_OUT, hq_view(products.hq_product(sku)))
