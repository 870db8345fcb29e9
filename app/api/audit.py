"""The audit log for HQ admins: every HQ write, searchable by user, object, action and date."""

from flask import request
from marshmallow import Schema, fields, validate

from app.api import ADMIN, bp, doc, reply_page
from app.api.fields import QueryInt, Str
from app.api.schemas import PagedSchema, StrictSchema
from app.services import audit


class AuditQuerySchema(StrictSchema):
    user = Str(allow_empty=True, load_default="", validate=validate.Length(max=64))
    object_type = Str(allow_empty=True, load_default="", validate=validate.Length(max=32))
    object_key = Str(allow_empty=True, load_default="", validate=validate.Length(max=128))
    action = Str(allow_empty=True, load_default="", validate=validate.Length(max=64))
    from_day = fields.Date(data_key="from", load_default=None)
    to_day = fields.Date(data_key="to", load_default=None)
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = QueryInt(load_default=50, validate=validate.Range(min=1, max=200))


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.AwareDateTime()
    user = fields.String(attribute="username")
    action = fields.String()
    object_type = fields.String()
    object_key = fields.String()
    before = fields.Function(lambda e: audit.values(e)[0])
    after = fields.Function(lambda e: audit.values(e)[1])
    via = fields.String()


class AuditPageSchema(PagedSchema):
    items = fields.List(fields.Nested(AuditEntrySchema))


@bp.get("/admin/audit")
@doc(
    summary="The audit log, newest first (who, when, what, before → after)",
    role=ADMIN,
    query=AuditQuerySchema,
    response=AuditPageSchema,
    errors=(401, 403, 422),
)
def audit_log():
    args = AuditQuerySchema().load(request.args.to_dict())
    rows, total = audit.search(
        username=args["user"] or None,
        object_type=args["object_type"] or None,
        object_key=args["object_key"] or None,
        action=args["action"] or None,
        from_day=args["from_day"],
        to_day=args["to_day"],
        page=args["page"],
        per_page=args["per_page"],
    )
    return reply_page(AuditPageSchema(), rows, total, args)
