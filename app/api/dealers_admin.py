"""HQ reading dealers (CONTRACT §3): the list with search and filters, and one dealer, each
with its tier, credit limit, active flag and logins. Open to admin, order desk and finance;
creating and changing dealers stays with admins (app/api/admin.py)."""

from flask import request
from marshmallow import Schema, fields, validate

from app.api import ADMIN, bp, doc, reply, reply_page
from app.api.fields import QueryBool, QueryInt, Str
from app.api.schemas import DealerOutSchema, PagedSchema, StrictSchema, With
from app.services import accounts, permissions


class HqDealerQuerySchema(StrictSchema):
    q = Str(
        allow_empty=True,
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "Part of the code, name, region, contact name or phone"},
    )
    tier = Str(allow_empty=True, load_default="", validate=validate.Length(max=32))
    active = QueryBool(
        blank=True, load_default=None, metadata={"description": "true or false; blank: both"}
    )
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = QueryInt(load_default=20, validate=validate.Range(min=1, max=100))


class DealerLoginOutSchema(Schema):
    """One of a dealer's logins (never its password or hash)."""

    username = fields.String()
    name = fields.String()
    active = fields.Boolean()


class HqDealerOutSchema(DealerOutSchema):
    """A dealer for HQ; dump it `With(dealer, users=[…], last_order_at=…)`."""

    users = fields.List(fields.Nested(DealerLoginOutSchema))
    last_order_at = fields.AwareDateTime(allow_none=True)


class HqDealerPageSchema(PagedSchema):
    items = fields.List(fields.Nested(HqDealerOutSchema))


@bp.get("/admin/dealers")
@doc(
    summary="Dealers by code, with search and tier and active filters, and their logins",
    role=ADMIN,
    can=permissions.READ_DEALERS,
    query=HqDealerQuerySchema,
    response=HqDealerPageSchema,
    errors=(401, 403, 422),
)
def list_dealers():
    args = HqDealerQuerySchema().load(request.args.to_dict())
    rows, total = accounts.hq_dealers(
        args["q"], args["tier"] or None, args["active"], args["page"], args["per_page"]
    )
    users = accounts.dealer_users([row.dealer.id for row in rows])
    items = [
        With(row.dealer, users=users[row.dealer.id], last_order_at=row.last_order_at)
        for row in rows
    ]
    return reply_page(HqDealerPageSchema(), items, total, args)


@bp.get("/admin/dealers/<code>")
@doc(
    summary="One dealer with its logins",
    role=ADMIN,
    can=permissions.READ_DEALERS,
    response=HqDealerOutSchema,
    errors=(401, 403, 404),
)
def get_dealer(code: str):
    dealer = accounts.dealer_by_code(code)
    users = accounts.dealer_users([dealer.id])[dealer.id]
    last = accounts.last_order_at(dealer)
    return reply(HqDealerOutSchema(), With(dealer, users=users, last_order_at=last))
