"""Announcements (CONTRACT §3c): HQ writes them (admin) and reads them (any HQ role); dealers
read the published ones addressed to their tier and mark them read."""

from flask import g, request
from marshmallow import Schema, fields, validate

from app.api import ADMIN, DEALER, bp, doc, idempotent, load, reply, reply_page
from app.api.fields import INT32_MAX, QueryInt, Str
from app.api.schemas import PagedSchema, StrictSchema
from app.errors import NotFound
from app.services import announcements, permissions

AWARE_TIME = "Give the time with its offset, e.g. 2026-12-01T09:00:00+08:00."


class AnnouncementCreateSchema(StrictSchema):
    title = Str(required=True, validate=validate.Length(min=1, max=announcements.TITLE_MAX))
    body = Str(
        required=True,
        validate=validate.Length(min=1, max=announcements.BODY_MAX),
        metadata={"description": "Plain text; line breaks are kept"},
    )
    tiers = fields.List(
        Str(validate=validate.Length(min=1, max=32)),
        load_default=list,
        allow_none=True,
        validate=validate.Length(max=announcements.TIERS_MAX),
        metadata={"description": "Tier codes; none, null or empty addresses every dealer"},
    )
    publish_at = fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        error_messages={"invalid_awareness": AWARE_TIME, "invalid": AWARE_TIME},
        metadata={"description": "ISO 8601 with an offset; null or absent: now"},
    )


class AnnouncementOutSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    body = fields.String()
    tiers = fields.List(fields.String())
    publish_at = fields.AwareDateTime()
    addressed = fields.Integer(metadata={"description": "Active dealers it reaches"})
    read = fields.Integer(metadata={"description": "Of them, those with a user who read it"})


class AnnouncementPageSchema(PagedSchema):
    items = fields.List(fields.Nested(AnnouncementOutSchema))


class AnnouncementQuerySchema(StrictSchema):
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = QueryInt(load_default=50, validate=validate.Range(min=1, max=200))


class DealerAnnouncementSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    body = fields.String()
    published_at = fields.AwareDateTime()
    read = fields.Boolean(metadata={"description": "Whether the calling user has read it"})


class DealerAnnouncementPageSchema(PagedSchema):
    items = fields.List(fields.Nested(DealerAnnouncementSchema))
    unread = fields.Integer(metadata={"description": "How many the calling user has not read"})


def _id(announcement_id: str) -> int:
    """An id from the path; anything but a plain number names nothing (checked after the
    role, so an unauthorized caller still gets 401/403)."""
    if not announcement_id.isascii() or not announcement_id.isdigit():
        raise NotFound("No such announcement.", code="announcement_not_found")
    if int(announcement_id) > INT32_MAX:
        raise NotFound("No such announcement.", code="announcement_not_found")
    return int(announcement_id)


@bp.post("/admin/announcements")
@doc(
    summary="Publish an announcement to every dealer or chosen tiers, now or at a time",
    role=ADMIN,
    body=AnnouncementCreateSchema,
    response=AnnouncementOutSchema,
    status=201,
    errors=(400, 401, 403, 422),
)
@idempotent
def create_announcement():
    data = load(AnnouncementCreateSchema())
    created = announcements.create_announcement(
        g.api_user, data["title"], data["body"], data["tiers"], data["publish_at"]
    )
    return reply(AnnouncementOutSchema(), created, 201)


@bp.get("/admin/announcements")
@doc(
    summary="Every announcement, newest first (scheduled ones on top), with read counts",
    role=ADMIN,
    can=permissions.HQ,
    query=AnnouncementQuerySchema,
    response=AnnouncementPageSchema,
    errors=(401, 403, 422),
)
def list_announcements():
    args = AnnouncementQuerySchema().load(request.args.to_dict())
    items, total = announcements.hq_announcements(args["page"], args["per_page"])
    return reply_page(AnnouncementPageSchema(), items, total, args)


@bp.get("/admin/announcements/<announcement_id>")
@doc(
    summary="One announcement with how many addressed dealers have read it",
    role=ADMIN,
    can=permissions.HQ,
    response=AnnouncementOutSchema,
    errors=(401, 403, 404),
)
def get_announcement(announcement_id: str):
    found = announcements.announcement_for_hq(_id(announcement_id))
    return reply(AnnouncementOutSchema(), found)


@bp.get("/announcements")
@doc(
    summary="Published announcements addressed to this dealer, newest first",
    role=DEALER,
    query=AnnouncementQuerySchema,
    response=DealerAnnouncementPageSchema,
    errors=(401, 403, 422),
)
def dealer_list_announcements():
    args = AnnouncementQuerySchema().load(request.args.to_dict())
    items, total = announcements.dealer_announcements(g.api_user, args["page"], args["per_page"])
    page = {
        "items": items,
        "page": args["page"],
        "per_page": args["per_page"],
        "total": total,
        "unread": announcements.unread_count(g.api_user),
    }
    return reply(DealerAnnouncementPageSchema(), page)


@bp.get("/announcements/<announcement_id>")
@doc(
    summary="One announcement addressed to this dealer (reading it does not mark it read)",
    role=DEALER,
    response=DealerAnnouncementSchema,
    errors=(401, 403, 404),
)
def dealer_get_announcement(announcement_id: str):
    found = announcements.dealer_announcement(g.api_user, _id(announcement_id))
    return reply(DealerAnnouncementSchema(), found)


@bp.post("/announcements/<announcement_id>/read")
@doc(
    summary="Mark an announcement read for the calling user (idempotent)",
    role=DEALER,
    response=DealerAnnouncementSchema,
    errors=(401, 403, 404),
)
@idempotent
def dealer_read_announcement(announcement_id: str):
    found = announcements.mark_read(g.api_user, _id(announcement_id))
    return reply(DealerAnnouncementSchema(), found)
