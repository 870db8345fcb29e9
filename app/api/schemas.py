"""Shapes of the API's bodies. Rules live in services; these only check form."""

from marshmallow import RAISE, Schema, fields, validate

from app.api.fields import (
    WORD_CLASS,
    Money,
    Pattern,
    QueryBool,
    QueryInt,
    Rate,
    Str,
    StrictBool,
    StrictInt,
    TableMap,
)
from app.money import format_fen
from app.services import logistics

CODE = Pattern(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$", error="Use 1–32 letters, digits, _ . -")
SKU = Pattern(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", error="Use 1–64 letters, digits, _ . -")
USERNAME = Pattern(f"^{WORD_CLASS}{{1,64}}$", error="Use 1–64 characters without spaces.")


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class With:
    """`obj` seen with extra attributes the view has loaded, so that schemas never query."""

    def __init__(self, obj, **extra):
        self._obj = obj
        self.__dict__.update(extra)

    def __getattr__(self, name):  # only asked for what `extra` does not hold
        if name == "_obj":  # not set yet (a copy being built): no endless recursion
            raise AttributeError(name)
        return getattr(self._obj, name)


# --- inputs -----------------------------------------------------------------


class TokenCreateSchema(StrictSchema):
    username = Str(allow_empty=True, required=True)  # blank: 401 as any wrong login
    password = fields.String(required=True)


class TierCreateSchema(StrictSchema):
    code = Str(required=True, validate=CODE)
    name = Str(required=True, validate=validate.Length(max=64))


class DealerCreateSchema(StrictSchema):
    code = Str(required=True, validate=CODE)
    name = Str(required=True, validate=validate.Length(max=128))
    tier = Str(required=True)
    credit_limit = Money(load_default=0)
    region = Str(allow_empty=True, load_default="", validate=validate.Length(max=64))
    address = Str(allow_empty=True, load_default="", validate=validate.Length(max=255))
    contact_name = Str(allow_empty=True, load_default="", validate=validate.Length(max=64))
    contact_phone = Str(allow_empty=True, load_default="", validate=validate.Length(max=32))


class DealerUpdateSchema(StrictSchema):
    name = Str(validate=validate.Length(max=128))
    tier = Str()
    credit_limit = Money()
    active = StrictBool()
    region = Str(allow_empty=True, validate=validate.Length(max=64))
    address = Str(allow_empty=True, validate=validate.Length(max=255))
    contact_name = Str(allow_empty=True, validate=validate.Length(max=64))
    contact_phone = Str(allow_empty=True, validate=validate.Length(max=32))


class DealerUserCreateSchema(StrictSchema):
    username = Str(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))
    name = Str(allow_empty=True, load_default="", validate=validate.Length(max=128))


class ProductUpdateSchema(StrictSchema):
    name = Str(validate=validate.Length(max=200))
    unit = Str(validate=validate.Length(max=16))
    spec = Str(allow_empty=True, validate=validate.Length(max=200))
    list_price = Money()
    category = Str(allow_empty=True, allow_none=True, validate=validate.Length(max=64))
    min_order_qty = StrictInt(validate=validate.Range(min=1))
    order_multiple = StrictInt(validate=validate.Range(min=1))
    low_stock_threshold = StrictInt(validate=validate.Range(min=0))
    active = StrictBool()
    visible_tiers = fields.List(Str(), metadata={"description": "Tier codes; empty = all tiers"})


class ProductCreateSchema(ProductUpdateSchema):
    sku = Str(required=True, validate=SKU)
    name = Str(required=True, validate=validate.Length(max=200))
    unit = Str(required=True, validate=validate.Length(max=16))
    list_price = Money(required=True)


class PriceRowSchema(StrictSchema):
    min_qty = StrictInt(required=True, validate=validate.Range(min=1))
    price = Money(required=True)


class PricesPutSchema(StrictSchema):
    tiers = TableMap(
        keys=Str(validate=CODE),
        values=fields.List(fields.Nested(PriceRowSchema)),
        load_default=dict,
    )
    dealers = TableMap(
        keys=Str(validate=CODE),
        values=fields.List(fields.Nested(PriceRowSchema)),
        load_default=dict,
    )


class StockSetSchema(StrictSchema):
    on_hand = StrictInt(required=True, validate=validate.Range(min=0))


class SettingsSchema(StrictSchema):
    show_exact_stock = StrictBool(metadata={"description": "Dealers see exact numbers, or badges"})


class CatalogQuerySchema(StrictSchema):
    q = Str(allow_empty=True, load_default="", validate=validate.Length(max=100))
    category = Str(allow_empty=True, load_default="", validate=validate.Length(max=64))
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = QueryInt(load_default=20, validate=validate.Range(min=1, max=100))


# --- outputs ----------------------------------------------------------------


class TokenOutSchema(Schema):
    token = fields.String()
    expires_at = fields.AwareDateTime()


class TierOutSchema(Schema):
    code = fields.String()
    name = fields.String()


class DealerOutSchema(Schema):
    code = fields.String()
    name = fields.String()
    region = fields.String()
    tier = fields.Function(lambda d: d.tier.code)
    credit_limit = Money()
    active = fields.Boolean()
    address = fields.String()
    contact_name = fields.String()
    contact_phone = fields.String()


class UserOutSchema(Schema):
    username = fields.String()
    name = fields.String()
    role = fields.String()
    dealer = fields.Function(lambda u: u.dealer.code if u.dealer else None)


class ProductOutSchema(Schema):
    """HQ's view of a product (never sent to dealers)."""

    sku = fields.String()
    name = fields.String()
    unit = fields.String()
    spec = fields.String()
    category = fields.Function(lambda p: p.category.name if p.category else None)
    list_price = Money()
    min_order_qty = fields.Integer()
    order_multiple = fields.Integer()
    low_stock_threshold = fields.Integer()
    active = fields.Boolean()
    visible_tiers = fields.Function(lambda p: sorted(t.code for t in p.limited_to))


class PriceRowOutSchema(Schema):
    min_qty = fields.Integer()
    price = Money()


class PricesOutSchema(Schema):
    sku = fields.String()
    tiers = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(PriceRowOutSchema)))
    dealers = fields.Dict(
        keys=fields.String(), values=fields.List(fields.Nested(PriceRowOutSchema))
    )


class StockOutSchema(Schema):
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()


class ItemStockSchema(Schema):
    available = fields.Integer(allow_none=True)
    status = fields.String()


class CatalogItemSchema(Schema):
    """ITEM of CONTRACT §4: a product as one dealer sees it."""

    sku = fields.Function(lambda i: i.product.sku)
    name = fields.Function(lambda i: i.product.name)
    unit = fields.Function(lambda i: i.product.unit)
    spec = fields.Function(lambda i: i.product.spec)
    category = fields.Function(lambda i: i.product.category_name)
    price = Money()
    price_source = fields.Function(lambda i: i.table.source)
    price_breaks = fields.Function(
        lambda i: [{"min_qty": b.min_qty, "price": format_fen(b.price)} for b in i.table.breaks]
    )
    min_order_qty = fields.Function(lambda i: i.product.min_order_qty)
    order_multiple = fields.Function(lambda i: i.product.order_multiple)
    stock = fields.Function(lambda i: {"available": i.shown_available, "status": i.status})


class PagedSchema(Schema):
    """A page of a list: its `items` (each subclass says of what) and where it stands."""

    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class CatalogPageSchema(PagedSchema):
    items = fields.List(fields.Nested(CatalogItemSchema))


class StockSnapshotSchema(Schema):
    sku = fields.String()
    available = fields.Integer(allow_none=True)
    status = fields.String()


# --- orders and wallet ------------------------------------------------------


class OrderLineInSchema(StrictSchema):
    sku = Str(required=True, validate=validate.Length(max=64))
    qty = StrictInt(required=True, validate=validate.Range(min=1, max=1_000_000))


class OrderCreateSchema(StrictSchema):
    lines = fields.List(
        fields.Nested(OrderLineInSchema),
        required=True,
        validate=validate.Length(min=1, error="Add at least one line."),
    )
    use_rebate = Money(load_default=0)
    note = Str(allow_empty=True, load_default="", validate=validate.Length(max=500))


class OrderListQuerySchema(StrictSchema):
    status = fields.String(
        load_default="",
        validate=validate.OneOf(
            [
                "",
                "submitted",
                "approved",
                "partially_shipped",
                "shipped",
                "delivered",
                "cancelled",
                "rejected",
            ]
        ),
    )
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = QueryInt(load_default=20, validate=validate.Range(min=1, max=100))


class RejectSchema(StrictSchema):
    reason = Str(required=True, validate=validate.Length(max=500))


class OrderLineOutSchema(Schema):
    sku = fields.String()
    name = fields.String()
    qty = fields.Integer()
    unit_price = Money()
    amount = Money()


class OrderEventOutSchema(Schema):
    status = fields.String()
    at = fields.AwareDateTime()
    by = fields.Function(lambda e: e.by_name or None)
    reason = fields.Function(lambda e: e.reason or None)


class OrderOutSchema(Schema):
    number = fields.String()
    status = fields.String()
    dealer = fields.Function(lambda o: o.dealer.code)
    lines = fields.List(fields.Nested(OrderLineOutSchema))
    goods_amount = Money()
    rebate_amount = Money()
    payable_amount = Money()
    note = fields.String()
    created_at = fields.AwareDateTime()


class ShipmentLineOutSchema(Schema):
    sku = fields.String(attribute="order_line.sku")
    qty = fields.Integer()


class ShipmentEventOutSchema(Schema):
    """One carrier event on a shipment's timeline."""

    status = fields.String()
    occurred_at = fields.AwareDateTime()
    location = fields.String()
    description = fields.String()


class ShipmentOutSchema(Schema):
    """SHIPMENT of CONTRACT §4; `events` are the carrier's applied events by `occurred_at`."""

    id = fields.Integer()
    carrier = fields.String(attribute="carrier.code")
    tracking_no = fields.String()
    status = fields.String()
    lines = fields.List(fields.Nested(ShipmentLineOutSchema))
    events = fields.List(fields.Nested(ShipmentEventOutSchema))


class OrderDetailSchema(OrderOutSchema):
    """The order with its timeline and shipments; dump it `With(order, shipments=…)`."""

    events = fields.List(fields.Nested(OrderEventOutSchema))
    shipments = fields.List(fields.Nested(ShipmentOutSchema))


class OrderPageSchema(PagedSchema):
    items = fields.List(fields.Nested(OrderOutSchema))


class DepositSchema(StrictSchema):
    amount = Money(required=True, nonzero=True)
    reference = Str(required=True, validate=validate.Length(max=100))


class AdjustmentSchema(StrictSchema):
    account = fields.String(required=True, validate=validate.OneOf(["funds", "rebate"]))
    amount = Money(required=True, allow_negative=True, nonzero=True)
    memo = Str(required=True, validate=validate.Length(max=500))


class RebatePolicySchema(StrictSchema):
    rates = fields.Dict(keys=Str(validate=CODE), values=Rate(), required=True)
    max_use_ratio = Rate(required=True)


class LedgerEntryOutSchema(Schema):
    id = fields.Integer()
    account = fields.String()
    type = fields.String()
    amount = Money()
    balance_after = Money()
    order_number = fields.Function(lambda e: e.order.number if e.order else None)
    memo = fields.String()
    created_at = fields.AwareDateTime()


class LedgerPageSchema(PagedSchema):
    items = fields.List(fields.Nested(LedgerEntryOutSchema))


class LedgerQuerySchema(StrictSchema):
    account = fields.String(load_default="", validate=validate.OneOf(["", "funds", "rebate"]))
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = QueryInt(load_default=50, validate=validate.Range(min=1, max=200))


class WalletOutSchema(Schema):
    funds = fields.Function(
        lambda w: {
            "balance": format_fen(w.funds_balance),
            "credit_limit": format_fen(w.credit_limit),
            "available": format_fen(w.available),
        }
    )
    rebate = fields.Function(
        lambda w: {
            "balance": format_fen(w.rebate_balance),
            "pending": format_fen(w.rebate_pending),
        }
    )


# --- shipments and carriers -------------------------------------------------

CARRIER_CODE = Pattern(
    logistics.CODE_PATTERN.pattern, error="Use 1–32 lower-case letters, digits, '-' or '_'."
)


class ShipmentLineInSchema(StrictSchema):
    sku = Str(required=True, validate=validate.Length(max=64))
    qty = StrictInt(required=True, validate=validate.Range(min=1, max=1_000_000))


class ShipmentCreateSchema(StrictSchema):
    carrier = Str(required=True, validate=CARRIER_CODE)
    tracking_no = Str(
        required=True,
        validate=Pattern(f"^{WORD_CLASS}{{1,64}}$", error="Use 1–64 characters without spaces."),
    )
    lines = fields.List(
        fields.Nested(ShipmentLineInSchema),
        allow_none=True,
        load_default=None,
        metadata={"description": "What to ship; omitted, null or [] ships all that is left"},
    )


class ShipmentQuerySchema(StrictSchema):
    attention = QueryBool(
        required=True,
        falsy=(),
        error_messages={"required": "Ask for attention=true."},
        metadata={"description": "Returned, with an exception, or no carrier event for 3 days"},
    )


class CarrierCreateSchema(StrictSchema):
    code = Str(required=True, validate=CARRIER_CODE)
    name = Str(required=True, validate=validate.Length(max=128))


class CarrierUpdateSchema(StrictSchema):
    name = Str(validate=validate.Length(max=128))
    active = StrictBool(metadata={"description": "An inactive carrier's webhooks get 401"})


class SecretRotateSchema(StrictSchema):
    grace_hours = StrictInt(
        load_default=24,
        validate=validate.Range(min=0, max=logistics.MAX_GRACE_HOURS),
        metadata={"description": "How long the previous secret stays valid; 0: not at all"},
    )


class CarrierEventQuerySchema(StrictSchema):
    outcome = fields.String(
        load_default="",
        validate=validate.OneOf(["", logistics.APPLIED, logistics.DUPLICATE, logistics.UNMATCHED]),
    )
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = QueryInt(load_default=50, validate=validate.Range(min=1, max=200))


class CarrierOutSchema(Schema):
    """A carrier without its secret."""

    code = fields.String()
    name = fields.String()
    active = fields.Boolean()


class CarrierCreatedSchema(CarrierOutSchema):
    """The new carrier with its webhook signing secret: the only answer that shows it."""

    secret = fields.String()


class CarrierDetailSchema(CarrierOutSchema):
    """A carrier for HQ; dump it `With(carrier, refused=logistics.refusal_counts(code))`."""

    created_at = fields.AwareDateTime()
    rotated_at = fields.AwareDateTime(allow_none=True)
    previous_valid_until = fields.AwareDateTime(allow_none=True)
    refused = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "Refused deliveries by reason (bad_signature, …)"},
    )


class CarrierListSchema(Schema):
    items = fields.List(fields.Nested(CarrierOutSchema))


class SecretOutSchema(Schema):
    secret = fields.String()
    previous_valid_until = fields.AwareDateTime()


class CarrierEventOutSchema(Schema):
    event_id = fields.String(attribute="event_key")
    tracking_no = fields.String()
    status = fields.String()
    occurred_at = fields.AwareDateTime()
    received_at = fields.AwareDateTime()
    outcome = fields.String()


class CarrierEventPageSchema(PagedSchema):
    items = fields.List(fields.Nested(CarrierEventOutSchema))


class AttentionShipmentSchema(Schema):
    """A shipment HQ should follow up."""

    id = fields.Integer()
    order = fields.String(attribute="order.number")
    carrier = fields.String(attribute="carrier.code")
    tracking_no = fields.String()
    status = fields.String()
    has_exception = fields.Boolean()
    last_event_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class AttentionListSchema(Schema):
    items = fields.List(fields.Nested(AttentionShipmentSchema))


# --- deposit notices (CONTRACT §3, §4) ----------------------------------------


class NoticeCreateSchema(StrictSchema):
    amount = Money(required=True, nonzero=True)
    reference = Str(required=True, validate=validate.Length(max=64))
    note = Str(allow_empty=True, load_default="", validate=validate.Length(max=500))


class NoticeQuerySchema(StrictSchema):
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = QueryInt(load_default=50, validate=validate.Range(min=1, max=200))


class AdminNoticeQuerySchema(NoticeQuerySchema):
    status = fields.String(
        load_default="", validate=validate.OneOf(["", "pending", "confirmed", "rejected"])
    )


class NoticeOutSchema(Schema):
    id = fields.Integer()
    amount = Money()
    reference = fields.String()
    note = fields.String()
    status = fields.String()
    reason = fields.String()
    has_receipt = fields.Boolean()
    created_at = fields.AwareDateTime()


class AdminNoticeOutSchema(NoticeOutSchema):
    dealer = fields.Function(lambda n: n.dealer.code)


class NoticePageSchema(PagedSchema):
    items = fields.List(fields.Nested(NoticeOutSchema))


class AdminNoticePageSchema(NoticePageSchema):
    items = fields.List(fields.Nested(AdminNoticeOutSchema))
