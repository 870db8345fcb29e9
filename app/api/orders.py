"""Dealer orders and wallet (CONTRACT §4) and HQ's order and wallet desk (§3)."""

from flask import current_app, g, request
from marshmallow import ValidationError, fields, validate, validates_schema

from app.api import ADMIN, DEALER, bp, doc, idempotent, json_body, reply, reply_page
from app.api.fields import QueryInt, Str
from app.api.schemas import (
    AdjustmentSchema,
    DepositSchema,
    LedgerEntryOutSchema,
    LedgerPageSchema,
    LedgerQuerySchema,
    OrderCreateSchema,
    OrderDetailSchema,
    OrderListQuerySchema,
    OrderOutSchema,
    OrderPageSchema,
    PagedSchema,
    RebatePolicySchema,
    RejectSchema,
    StrictSchema,
    WalletOutSchema,
    With,
)
from app.extensions import db
from app.models import Order
from app.services import idempotency, logistics, orders, permissions, rebates, wallet
from app.services.orders import LineRequest

ORDER_ERRORS = (400, 401, 403, 404, 409, 422)
ORDER_OUT, ORDER_IN = OrderDetailSchema(), OrderCreateSchema()  # built once, used per request


def _detail(order: Order, status: int = 200, shipments=None):
    """The ORDER detail answer; shipments, their lines and events take three queries."""
    if shipments is None:
        shipments = logistics.shipments_of(order.id)
    return reply(ORDER_OUT, With(order, shipments=shipments), status)


def _replayed(replay: idempotency.Replay):
    if replay.body is not None:
        response = current_app.response_class(
            replay.body, status=replay.status, mimetype="application/json"
        )
    else:  # the order was made but its answer never stored: render it now
        response = _detail(db.session.get(Order, replay.order_id), 201)
    response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.post("/orders")
@doc(
    summary="Place an order (honours Idempotency-Key)",
    role=DEALER,
    body=OrderCreateSchema,
    response=OrderDetailSchema,
    status=201,
    errors=ORDER_ERRORS,
)
def create_order():
    payload = json_body()
    data = ORDER_IN.load(payload)
    lines = [LineRequest(line["sku"], line["qty"]) for line in data["lines"]]
    place = dict(use_rebate=data["use_rebate"], note=data["note"])
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return _detail(orders.place_order(g.api_user, lines, **place), 201, shipments=[])
    print_ = idempotency.fingerprint("POST", "/api/v1/orders", payload)
    claimed = idempotency.claim(g.api_user.id, key, print_)
    if isinstance(claimed, idempotency.Replay):
        return _replayed(claimed)
    answer = {}

    def keep_answer(order):
        answer["response"] = _detail(order, 201, shipments=[])
        idempotency.remember(claimed, 201, answer["response"].get_data(as_text=True))

    orders.place_order(
        g.api_user, lines, idempotency_key_id=claimed.id, before_commit=keep_answer, **place
    )
    return answer["response"]


@bp.get("/orders")
@doc(
    summary="This dealer's orders, newest first",
    role=DEALER,
    query=OrderListQuerySchema,
    response=OrderPageSchema,
    errors=(401, 403, 422),
)
def list_orders():
    args = OrderListQuerySchema().load(request.args.to_dict())
    statuses = (args["status"],) if args["status"] else ()
    items, total = orders.dealer_orders(g.api_user.dealer, statuses, args["page"], args["per_page"])
    return reply_page(OrderPageSchema(), items, total, args)


@bp.get("/orders/<number>")
@doc(
    summary="One order with its status timeline and shipments",
    role=DEALER,
    response=OrderDetailSchema,
    errors=(401, 403, 404),
)
def get_order(number: str):
    return _detail(orders.order_for_dealer(g.api_user.dealer, number))


@bp.post("/orders/<number>/cancel")
@doc(
    summary="Cancel while still submitted; stock and money go back",
    role=DEALER,
    response=OrderDetailSchema,
    errors=(401, 403, 404, 409),
)
@idempotent
def cancel_order(number: str):
    return _detail(orders.cancel_order(g.api_user, number))


@bp.get("/wallet")
@doc(
    summary="Funds, credit, available; rebate balance and pending",
    role=DEALER,
    response=WalletOutSchema,
    errors=(401, 403),
)
def get_wallet():
    return reply(WalletOutSchema(), wallet.summary(g.api_user.dealer))


@bp.get("/wallet/entries")
@doc(
    summary="Ledger entries, newest first",
    role=DEALER,
    query=LedgerQuerySchema,
    response=LedgerPageSchema,
    errors=(401, 403, 422),
)
def list_wallet_entries():
    args = LedgerQuerySchema().load(request.args.to_dict())
    items, total = wallet.entries(
        g.api_user.dealer, args["account"] or None, args["page"], args["per_page"]
    )
    return reply_page(LedgerPageSchema(), items, total, args)


@bp.post("/admin/orders/<number>/approve")
@doc(
    summary="Approve a submitted order",
    role=ADMIN,
    can=permissions.ORDER_DESK,
    response=OrderDetailSchema,
    errors=(401, 403, 404, 409),
)
@idempotent
def approve_order(number: str):
    return _detail(orders.approve_order(g.api_user, number))


@bp.post("/admin/orders/<number>/reject")
@doc(
    summary="Reject with a reason; releases stock, refunds funds and rebate",
    role=ADMIN,
    can=permissions.ORDER_DESK,
    body=RejectSchema,
    response=OrderDetailSchema,
    errors=ORDER_ERRORS,
)
@idempotent
def reject_order(number: str):
    reason = RejectSchema().load(json_body())["reason"]
    return _detail(orders.reject_order(g.api_user, number, reason))


class AdminOrderQuerySchema(StrictSchema):
    status = fields.String(load_default="", validate=validate.OneOf(["", *orders.STATUSES]))
    dealer = Str(allow_empty=True, load_default="", validate=validate.Length(max=32))
    q = Str(
        allow_empty=True,
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "Part of the order number or of the dealer's name"},
    )
    from_day = fields.Date(
        data_key="from", load_default=None, metadata={"description": "Shanghai day, inclusive"}
    )
    to_day = fields.Date(
        data_key="to", load_default=None, metadata={"description": "Shanghai day, inclusive"}
    )
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = QueryInt(load_default=20, validate=validate.Range(min=1, max=100))

    @validates_schema
    def _days_in_order(self, data, **kwargs):
        if data["from_day"] and data["to_day"] and data["to_day"] < data["from_day"]:
            raise ValidationError("Must not be before from.", "to")


class AdminOrderOutSchema(OrderOutSchema):
    dealer_name = fields.Function(lambda o: o.dealer.name)


class AdminOrderPageSchema(PagedSchema):
    items = fields.List(fields.Nested(AdminOrderOutSchema))


@bp.get("/admin/orders")
@doc(
    summary="Every dealer's orders, newest first, by status, dealer, number or name and day",
    role=ADMIN,
    can=permissions.READ_ORDERS,
    query=AdminOrderQuerySchema,
    response=AdminOrderPageSchema,
    errors=(401, 403, 422),
)
def admin_list_orders():
    args = AdminOrderQuerySchema().load(request.args.to_dict())
    where = orders.DeskFilter(args["dealer"], args["q"], args["from_day"], args["to_day"])
    statuses = (args["status"],) if args["status"] else ()
    items, total = orders.desk_orders(statuses, where, args["page"], args["per_page"])
    return reply_page(AdminOrderPageSchema(), items, total, args)


@bp.get("/admin/orders/<number>")
@doc(
    summary="Any order, for HQ",
    role=ADMIN,
    can=permissions.READ_ORDERS,
    response=OrderDetailSchema,
    errors=(401, 403, 404),
)
def admin_get_order(number: str):
    return _detail(orders.order_for_admin(number))


@bp.post("/admin/dealers/<code>/wallet/deposits")
@doc(
    summary="Record a bank transfer once per reference",
    also={200: "The reference was recorded before, for the same dealer and amount"},
    role=ADMIN,
    can=permissions.WALLET,
    body=DepositSchema,
    response=LedgerEntryOutSchema,
    status=201,
    errors=ORDER_ERRORS,
)
@idempotent
def record_deposit(code: str):
    data = DepositSchema().load(json_body())
    entry, created = wallet.record_deposit(code, data["amount"], data["reference"], g.api_user)
    return reply(LedgerEntryOutSchema(), entry, 201 if created else 200)


@bp.post("/admin/dealers/<code>/wallet/adjustments")
@doc(
    summary="A signed correction to funds or rebate, with a memo",
    role=ADMIN,
    can=permissions.WALLET,
    body=AdjustmentSchema,
    response=LedgerEntryOutSchema,
    status=201,
    errors=ORDER_ERRORS,
)
@idempotent
def record_adjustment(code: str):
    data = AdjustmentSchema().load(json_body())
    entry = wallet.adjust(code, data["account"], data["amount"], data["memo"], g.api_user)
    return reply(LedgerEntryOutSchema(), entry, 201)


@bp.put("/admin/rebate-policy")
@doc(
    summary="Replace the rebate policy",
    role=ADMIN,
    can=permissions.WALLET,
    body=RebatePolicySchema,
    response=RebatePolicySchema,
    errors=(400, 401, 403, 422),
)
def put_rebate_policy():
    data = RebatePolicySchema().load(json_body())
    policy = rebates.set_policy(data["rates"], data["max_use_ratio"])
    out = {
        "rates": {k: str(v) for k, v in policy.rates.items()},
        "max_use_ratio": str(policy.max_use_ratio),
    }
    return reply(RebatePolicySchema(), out)
