"""HQ admin endpoints (CONTRACT §3): tiers, dealers, users, products, prices, stock."""

from flask import g
from marshmallow import validate

from app.api import ADMIN, bp, doc, idempotent, load, reply
from app.api.fields import Str, StrictInt
from app.api.products_admin import HqProductOutSchema, hq_view
from app.api.schemas import (
    DealerCreateSchema,
    DealerOutSchema,
    DealerUpdateSchema,
    DealerUserCreateSchema,
    PricesOutSchema,
    PricesPutSchema,
    ProductCreateSchema,
    ProductUpdateSchema,
    SettingsSchema,
    StockOutSchema,
    StrictSchema,
    TierCreateSchema,
    TierOutSchema,
    UserOutSchema,
)
from app.services import accounts, permissions, products, settings

WRITE_ERRORS = (400, 401, 403, 404, 409, 422)


class StockCountSchema(StrictSchema):
    on_hand = StrictInt(required=True, validate=validate.Range(min=0))
    reason = Str(
        allow_empty=True,
        load_default="",
        validate=validate.Length(max=products.REASON_MAX),
        metadata={"description": "Why the count changes; kept in the stock movement log"},
    )


@bp.post("/admin/tiers")
@doc(
    summary="Create a dealer tier",
    role=ADMIN,
    body=TierCreateSchema,
    response=TierOutSchema,
    status=201,
    errors=WRITE_ERRORS,
)
@idempotent
def create_tier():
    data = load(TierCreateSchema())
    return reply(TierOutSchema(), accounts.create_tier(data["code"], data["name"]), 201)


@bp.post("/admin/dealers")
@doc(
    summary="Create a dealer",
    role=ADMIN,
    body=DealerCreateSchema,
    response=DealerOutSchema,
    status=201,
    errors=WRITE_ERRORS,
)
@idempotent
def create_dealer():
    dealer = accounts.create_dealer(**load(DealerCreateSchema()))
    return reply(DealerOutSchema(), dealer, 201)


@bp.patch("/admin/dealers/<code>")
@doc(
    summary="Change a dealer's name, tier, credit limit or active flag",
    role=ADMIN,
    body=DealerUpdateSchema,
    response=DealerOutSchema,
    errors=WRITE_ERRORS,
)
def update_dealer(code: str):
    dealer = accounts.update_dealer(code, load(DealerUpdateSchema()))
    return reply(DealerOutSchema(), dealer)


@bp.post("/admin/dealers/<code>/users")
@doc(
    summary="Create a login for a dealer",
    role=ADMIN,
    body=DealerUserCreateSchema,
    response=UserOutSchema,
    status=201,
    errors=WRITE_ERRORS,
)
@idempotent
def create_dealer_user(code: str):
    user = accounts.create_dealer_user(code, **load(DealerUserCreateSchema()))
    return reply(UserOutSchema(), user, 201)


@bp.post("/admin/products")
@doc(
    summary="Create a product",
    role=ADMIN,
    body=ProductCreateSchema,
    response=HqProductOutSchema,
    status=201,
    errors=WRITE_ERRORS,
)
@idempotent
def create_product():
    product = products.create_product(load(ProductCreateSchema()), by=g.api_user)
    return reply(HqProductOutSchema(), hq_view(products.hq_product(product.sku)), 201)


@bp.patch("/admin/products/<sku>")
@doc(
    summary="Change any field of a product but its SKU",
    role=ADMIN,
    body=ProductUpdateSchema,
    response=HqProductOutSchema,
    errors=WRITE_ERRORS,
)
def update_product(sku: str):
    products.update_product(sku, load(ProductUpdateSchema()), by=g.api_user)
    return reply(HqProductOutSchema(), hq_view(products.hq_product(sku)))


@bp.put("/admin/products/<sku>/prices")
@doc(
    summary="Replace every tier and dealer price table of a product",
    role=ADMIN,
    body=PricesPutSchema,
    response=PricesOutSchema,
    errors=WRITE_ERRORS,
)
def put_prices(sku: str):
    data = load(PricesPutSchema())
    product = products.replace_prices(sku, data["tiers"], data["dealers"], by=g.api_user)
    return reply(PricesOutSchema(), {"sku": product.sku, **products.price_tables(product)})


@bp.get("/admin/products/<sku>/prices")
@doc(
    summary="Read every price table of a product",
    role=ADMIN,
    can=permissions.READ_PRODUCTS,
    response=PricesOutSchema,
    errors=(401, 403, 404),
)
def get_prices(sku: str):
    product = products.product_by_sku(sku)
    return reply(PricesOutSchema(), {"sku": product.sku, **products.price_tables(product)})


@bp.post("/admin/products/<sku>/stock")
@doc(
    summary="Set the counted stock on hand",
    role=ADMIN,
    body=StockCountSchema,
    response=StockOutSchema,
    errors=WRITE_ERRORS,
)
@idempotent
def set_stock(sku: str):
    data = load(StockCountSchema())
    level = products.set_on_hand(sku, data["on_hand"], reason=data["reason"], by=g.api_user)
    return reply(StockOutSchema(), level)


@bp.get("/admin/settings")
@doc(summary="Read brand-wide settings", role=ADMIN, response=SettingsSchema, errors=(401, 403))
def get_settings():
    return reply(SettingsSchema(), settings.all_settings())


@bp.patch("/admin/settings")
@doc(
    summary="Change brand-wide settings (e.g. whether dealers see exact stock)",
    role=ADMIN,
    body=SettingsSchema,
    response=SettingsSchema,
    errors=WRITE_ERRORS,
)
def update_settings():
    return reply(SettingsSchema(), products.update_settings(load(SettingsSchema()), by=g.api_user))
