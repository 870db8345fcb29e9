"""Period rebate settlements (CONTRACT §3 POST /admin/rebate-settlements, §4)."""

from flask import g
from marshmallow import Schema, fields, validate

from app.api import ADMIN, bp, doc, idempotent, load, reply
from app.api.fields import Money, Pattern, Rate, Str, StrictBool
from app.api.schemas import StrictSchema
from app.services import permissions, settlements


class BracketSchema(StrictSchema):
    min_amount = Money(required=True, metadata={"description": "Basis from which the rate holds"})
    rate = Rate(
        required=True,
        metadata={"description": 'A ratio between 0 and 1, such as "0.02"'},
    )


class SettlementSchema(StrictSchema):
    period = Str(
        required=True,
        validate=Pattern(
            f"^{settlements.PERIOD.pattern}$", error="Use 1–32 letters, digits, _ . -"
        ),
        metadata={"description": "The key, such as 2026Q4; posting it again replays"},
    )
    from_day = fields.Date(required=True, data_key="from")
    to_day = fields.Date(required=True, data_key="to")
    brackets = fields.List(
        fields.Nested(BracketSchema),
        required=True,
        validate=validate.Length(min=1, max=settlements.MAX_BRACKETS),
    )
    dry_run = StrictBool(load_default=False)


class SettlementItemSchema(Schema):
    dealer = fields.String(attribute="dealer_code")
    dealer_name = fields.String()
    basis = Money()
    rate = fields.Function(lambda item: settlements.rate_text(item.rate))
    amount = Money()


class SettlementOutSchema(Schema):
    period = fields.String()
    from_day = fields.Date(data_key="from")
    to_day = fields.Date(data_key="to")
    posted = fields.Boolean()
    total = Money()
    items = fields.List(fields.Nested(SettlementItemSchema))


@bp.post("/admin/rebate-settlements")
@doc(
    summary="Preview (dry_run) or post a period rebate settlement, once per period",
    role=ADMIN,
    can=permissions.WALLET,
    body=SettlementSchema,
    response=SettlementOutSchema,
    status=201,
    also={200: "A dry run: nothing posted"},
    errors=(400, 401, 403, 409, 422),
)
@idempotent
def post_settlement():
    data = load(SettlementSchema())
    result = settlements.settle(
        data["period"],
        data["from_day"],
        data["to_day"],
        [(row["min_amount"], row["rate"]) for row in data["brackets"]],
        dry_run=data["dry_run"],
        by=g.api_user,
    )
    return reply(SettlementOutSchema(), result, 201 if result.created else 200)
