"""Deposit notices: dealers tell HQ about transfers (CONTRACT §4); HQ decides (§3)."""

from flask import g, request, send_file

from app.api import ADMIN, DEALER, bp, doc, idempotent, json_body, reply, reply_page
from app.api.fields import INT32_MAX
from app.api.schemas import (
    AdminNoticeOutSchema,
    AdminNoticePageSchema,
    AdminNoticeQuerySchema,
    NoticeCreateSchema,
    NoticeOutSchema,
    NoticePageSchema,
    NoticeQuerySchema,
    RejectSchema,
)
from app.errors import Invalid, NotFound
from app.services import notices, permissions

NOTICE_ERRORS = (400, 401, 403, 404, 409, 422)


def _id(notice_id: str) -> int:
    """A notice id from the path; anything but a plain number is a notice that does not exist
    (checked after authorization, so an unauthorized caller still gets 401/403)."""
    if not notice_id.isascii() or not notice_id.isdigit() or int(notice_id) > INT32_MAX:
        raise NotFound("No such deposit notice.", code="notice_not_found")
    return int(notice_id)


def _submitted_body() -> tuple[dict, tuple[bytes, str] | None]:
    """The fields (JSON or multipart/form-data) and the receipt (content, file name)."""
    if request.mimetype != "multipart/form-data":
        return NoticeCreateSchema().load(json_body()), None
    data = NoticeCreateSchema().load(request.form.to_dict())
    upload = request.files.get("receipt")
    if upload is None or not upload.filename:
        return data, None
    if len(request.files) > 1:
        raise Invalid(errors={"receipt": ["Send one receipt file."]})
    # One byte past the limit is enough to know it is too large.
    content = upload.stream.read(notices.MAX_RECEIPT_BYTES + 1)
    return data, (content, upload.filename)


@bp.post("/wallet/deposit-notices")
@doc(
    summary="Tell HQ about a bank transfer (JSON, or multipart/form-data with a receipt)",
    role=DEALER,
    body=NoticeCreateSchema,
    response=NoticeOutSchema,
    status=201,
    errors=NOTICE_ERRORS,
)
@idempotent
def create_deposit_notice():
    data, receipt = _submitted_body()
    notice = notices.submit_notice(
        g.api_user, data["amount"], data["reference"], data["note"], receipt
    )
    return reply(NoticeOutSchema(), notice, 201)


@bp.get("/wallet/deposit-notices")
@doc(
    summary="This dealer's deposit notices, newest first",
    role=DEALER,
    query=NoticeQuerySchema,
    response=NoticePageSchema,
    errors=(401, 403, 422),
)
def list_deposit_notices():
    args = NoticeQuerySchema().load(request.args.to_dict())
    items, total = notices.dealer_notices(g.api_user.dealer, args["page"], args["per_page"])
    return reply_page(NoticePageSchema(), items, total, args)


def _receipt(notice_id: str):
    path, mimetype = notices.receipt_for(g.api_user, _id(notice_id))
    response = send_file(path, mimetype=mimetype, conditional=False, etag=False, max_age=None)
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/wallet/deposit-notices/<notice_id>/receipt")
@doc(summary="The receipt of one of this dealer's notices", role=DEALER, errors=(401, 403, 404))
def get_deposit_notice_receipt(notice_id: str):
    return _receipt(notice_id)


@bp.get("/admin/deposit-notices")
@doc(
    summary="Deposit notices of every dealer, oldest first",
    role=ADMIN,
    can=permissions.WALLET,
    query=AdminNoticeQuerySchema,
    response=AdminNoticePageSchema,
    errors=(401, 403, 422),
)
def admin_list_deposit_notices():
    args = AdminNoticeQuerySchema().load(request.args.to_dict())
    items, total = notices.admin_notices(args["status"] or None, args["page"], args["per_page"])
    return reply_page(AdminNoticePageSchema(), items, total, args)


@bp.post("/admin/deposit-notices/<notice_id>/confirm")
@doc(
    summary="Confirm a notice: posts its deposit once",
    role=ADMIN,
    can=permissions.WALLET,
    response=AdminNoticeOutSchema,
    errors=(401, 403, 404, 409),
)
@idempotent
def admin_confirm_deposit_notice(notice_id: str):
    return reply(AdminNoticeOutSchema(), notices.confirm_notice(g.api_user, _id(notice_id)))


@bp.post("/admin/deposit-notices/<notice_id>/reject")
@doc(
    summary="Reject a pending notice with a reason",
    role=ADMIN,
    can=permissions.WALLET,
    body=RejectSchema,
    response=AdminNoticeOutSchema,
    errors=NOTICE_ERRORS,
)
@idempotent
def admin_reject_deposit_notice(notice_id: str):
    data = RejectSchema().load(json_body())
    return reply(
        AdminNoticeOutSchema(), notices.reject_notice(g.api_user, _id(notice_id), data["reason"])
    )


@bp.get("/admin/deposit-notices/<notice_id>/receipt")
@doc(
    summary="The receipt of any notice, for HQ",
    role=ADMIN,
    can=permissions.WALLET,
    errors=(401, 403, 404),
)
def admin_get_deposit_notice_receipt(notice_id: str):
    return _receipt(notice_id)
