"""Statements (CONTRACT §4 GET /wallet/statement, §3 the same for HQ): JSON, CSV or XLSX."""

from flask import current_app, g, request
from marshmallow import Schema, fields, validate

from app.api import ADMIN, DEALER, bp, doc, reply
from app.api.fields import Money
from app.api.imports import FILE_ANSWER
from app.api.schemas import LedgerEntryOutSchema, StrictSchema
from app.services import permissions, statement_files, statements
from app.services.accounts import dealer_by_code

FORMATS = ("json", "csv", "xlsx")


class StatementQuerySchema(StrictSchema):
    account = fields.String(required=True, validate=validate.OneOf(statements.ACCOUNTS))
    from_day = fields.Date(
        required=True,
        data_key="from",
        metadata={"description": "First Shanghai calendar day, inclusive"},
    )
    to_day = fields.Date(
        required=True,
        data_key="to",
        metadata={
            "description": f"Last Shanghai calendar day, inclusive; at most "
            f"{statements.MAX_DAYS} days from `from`"
        },
    )
    format = fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={"description": "csv or xlsx for a download; default JSON (or Accept: text/csv)"},
    )


class StatementOutSchema(Schema):
    account = fields.String()
    from_day = fields.Date(data_key="from")
    to_day = fields.Date(data_key="to")
    opening_balance = Money()
    closing_balance = Money()
    entries = fields.List(fields.Nested(LedgerEntryOutSchema))


def _answer(dealer):
    """The statement of the query's range in the asked format."""
    args = StatementQuerySchema().load(request.args.to_dict())
    found = statements.statement(dealer, args["account"], args["from_day"], args["to_day"])
    wanted = args.get("format") or ("csv" if _accepts_csv() else "json")
    if wanted == "json":
        return reply(StatementOutSchema(), found)
    content, mimetype, name = statement_files.as_file(
        found, wanted, statement_files.localized_labels()
    )
    response = current_app.response_class(content, content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _accepts_csv() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


@bp.get("/wallet/statement")
@doc(
    summary="Statement of one account over Shanghai days: opening, entries, closing "
    "(format=csv or xlsx, or Accept: text/csv, for a download)",
    role=DEALER,
    query=StatementQuerySchema,
    response=StatementOutSchema,
    errors=(401, 403, 422),
    response_content=FILE_ANSWER,
)
def wallet_statement():
    return _answer(g.api_user.dealer)


@bp.get("/admin/dealers/<code>/wallet/statement")
@doc(
    summary="A dealer's statement, for HQ (as GET /wallet/statement)",
    role=ADMIN,
    can=permissions.WALLET,
    query=StatementQuerySchema,
    response=StatementOutSchema,
    errors=(401, 403, 404, 422),
    response_content=FILE_ANSWER,
)
def admin_wallet_statement(code: str):
    return _answer(dealer_by_code(code))
