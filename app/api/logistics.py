"""HQ shipping and carriers (CONTRACT §3): ship orders, manage carriers and their secrets,
read a carrier's event log; a list of shipments needing attention."""

from flask import g, request

from app.api import ADMIN, bp, doc, idempotent, load, reply, reply_page
from app.api.schemas import (
    AttentionListSchema,
    CarrierCreatedSchema,
    CarrierCreateSchema,
    CarrierDetailSchema,
    CarrierEventPageSchema,
    CarrierEventQuerySchema,
    CarrierListSchema,
    CarrierOutSchema,
    CarrierUpdateSchema,
    SecretOutSchema,
    SecretRotateSchema,
    ShipmentCreateSchema,
    ShipmentOutSchema,
    ShipmentQuerySchema,
    With,
)
from app.services import logistics, permissions
from app.services.logistics import ShipLine

WRITE_ERRORS = (400, 401, 403, 404, 409, 422)
READ_ERRORS = (401, 403, 404)


@bp.post("/admin/orders/<number>/shipments")
@doc(
    summary="Ship an approved or partly shipped order: chosen lines, or all that is left",
    role=ADMIN,
    can=permissions.ORDER_DESK,
    body=ShipmentCreateSchema,
    response=ShipmentOutSchema,
    status=201,
    errors=WRITE_ERRORS,
)
@idempotent
def create_shipment(number: str):
    data = load(ShipmentCreateSchema())
    lines = [ShipLine(line["sku"], line["qty"]) for line in data["lines"] or ()] or None
    shipment = logistics.create_shipment(
        g.api_user, number, data["carrier"], data["tracking_no"], lines
    )
    return reply(ShipmentOutSchema(), shipment, 201)


@bp.get("/admin/shipments")
@doc(
    summary="Shipments needing attention: returned, exception, or no carrier event for 3 days",
    role=ADMIN,
    can=permissions.READ_ORDERS,
    query=ShipmentQuerySchema,
    response=AttentionListSchema,
    errors=(401, 403, 422),
)
def list_shipments():
    ShipmentQuerySchema().load(request.args.to_dict())
    return reply(AttentionListSchema(), {"items": logistics.needing_attention()})


@bp.post("/admin/carriers")
@doc(
    summary="Create a carrier; the answer shows its webhook signing secret, once",
    role=ADMIN,
    body=CarrierCreateSchema,
    response=CarrierCreatedSchema,
    status=201,
    errors=WRITE_ERRORS,
)
def create_carrier():
    data = load(CarrierCreateSchema())
    return reply(CarrierCreatedSchema(), logistics.create_carrier(data["code"], data["name"]), 201)


@bp.get("/admin/carriers")
@doc(
    summary="Every carrier (no secrets)", role=ADMIN, response=CarrierListSchema, errors=(401, 403)
)
def list_carriers():
    return reply(CarrierListSchema(), {"items": logistics.carriers()})


@bp.get("/admin/carriers/<code>")
@doc(
    summary="A carrier with its refused deliveries counted by reason (no secret)",
    role=ADMIN,
    response=CarrierDetailSchema,
    errors=READ_ERRORS,
)
def get_carrier(code: str):
    carrier = logistics.carrier_by_code(code)
    refused = logistics.refusal_counts(carrier.code)
    return reply(CarrierDetailSchema(), With(carrier, refused=refused))


@bp.patch("/admin/carriers/<code>")
@doc(
    summary="Rename or (de)activate a carrier",
    role=ADMIN,
    body=CarrierUpdateSchema,
    response=CarrierOutSchema,
    errors=WRITE_ERRORS,
)
def update_carrier(code: str):
    return reply(CarrierOutSchema(), logistics.update_carrier(code, **load(CarrierUpdateSchema())))


@bp.post("/admin/carriers/<code>/secret")
@doc(
    summary="A new signing secret; the previous one stays valid for grace_hours (body optional)",
    role=ADMIN,
    body=SecretRotateSchema,
    response=SecretOutSchema,
    status=201,
    errors=WRITE_ERRORS,
)
def rotate_secret(code: str):
    grace_hours = load(SecretRotateSchema())["grace_hours"]
    return reply(SecretOutSchema(), logistics.rotate_secret(code, grace_hours), 201)


@bp.get("/admin/carriers/<code>/events")
@doc(
    summary="A carrier's event log, newest first: applied, duplicate and unmatched events",
    role=ADMIN,
    query=CarrierEventQuerySchema,
    response=CarrierEventPageSchema,
    errors=(401, 403, 404, 422),
)
def list_carrier_events(code: str):
    args = CarrierEventQuerySchema().load(request.args.to_dict())
    carrier = logistics.carrier_by_code(code)
    events, total = logistics.carrier_events(
        carrier, args["outcome"] or None, args["page"], args["per_page"]
    )
    return reply_page(CarrierEventPageSchema(), events, total, args)
