"""HQ spreadsheets (CONTRACT §3b pages): upload a products, prices or stock file, see the
preview — new / changed / unchanged / invalid with the reason per cell — then apply all or
nothing; download the current data or an empty template as CSV or Excel.

The uploaded file is kept in the database between preview and "Apply all" (the app runs on
several hosts); applying checks the kept file again inside the writing transaction. Plain
forms that htmx enhances with a progress bar and a "checking… / applying…" state.
"""

from __future__ import annotations

from flask import abort, flash, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.admin import bp
from app.errors import DomainError, Invalid
from app.extensions import db
from app.money import display_fen
from app.services import import_files, imports
from app.web.forms import go
from app.web.helpers import explain_error

KIND_LABELS = {
    "products": _l("Products"),
    "prices": _l("Prices"),
    "stock": _l("Stock"),
}
KIND_HELP = {
    "products": _l(
        "One row per SKU. A new SKU creates a product; a known one is updated. "
        "An empty minimum order, multiple, low-stock threshold or active cell keeps "
        "what is stored."
    ),
    "prices": _l(
        "One row per price break. Scope is tier:CODE or dealer:CODE. Each SKU and scope "
        "in the file gets exactly the file's rows as its table, which must start at "
        "quantity 1; tables not in the file stay as they are."
    ),
    "stock": _l(
        "One row per SKU with the counted stock on hand. It may not be below what open "
        "orders have reserved. Every change is kept in the stock movement log."
    ),
}
COLUMN_LABELS = {
    "sku": _l("SKU"),
    "name": _l("Name"),
    "unit": _l("Unit"),
    "list_price": _l("List price"),
    "category": _l("Category"),
    "spec": _l("Spec"),
    "min_order_qty": _l("Minimum order"),
    "order_multiple": _l("Order multiple"),
    "low_stock_threshold": _l("Low-stock threshold"),
    "active": _l("Active"),
    "scope": _l("Scope"),
    "min_qty": _l("From quantity"),
    "price": _l("Price"),
    "on_hand": _l("On hand"),
    imports.ROW: _l("Whole row"),
}
CODE_MESSAGES = {
    "empty_file": _l("The file has no rows under its header. Fill in at least one row."),
    "unreadable_file": _l(
        "This file cannot be read. Upload a CSV file (UTF-8 or GBK) or an Excel .xlsx file."
    ),
    "xls_not_supported": _l(
        "This is an old Excel .xls file. In Excel choose Save As → Excel Workbook (.xlsx) "
        "or CSV, then upload that file."
    ),
    "file_too_large": _l("The file is too large: at most %(mb)s MB."),
    "too_many_rows": _l("The file has more than %(n)s rows; split it into smaller files."),
    "unknown_columns": _l("Unknown columns: %(columns)s. The header may only use: %(header)s."),
    "missing_columns": _l("Missing columns: %(columns)s. The header needs: %(header)s."),
    "duplicate_columns": _l("These columns appear twice: %(columns)s."),
    "missing_file": _l("Choose a CSV or Excel file to upload."),
    "import_conflict": _l(
        "Someone changed the same data while the file was being applied; nothing was "
        "changed. Check the file again, then apply it."
    ),
    "import_already_applied": _l("This file has already been applied."),
}
FORMATS = {"csv": "CSV", "xlsx": "Excel (.xlsx)"}
SLACK = 64 * 1024


def _kind(kind: str) -> str:
    if kind not in imports.KINDS:
        abort(404)
    return kind


def _refusal(err: DomainError, kind: str) -> str:
    """A refusal of the file as a whole, in the reader's words."""
    db.session.rollback()
    required, optional = imports.COLUMNS[kind]
    values = {
        "mb": import_files.MAX_BYTES // (1024 * 1024),
        "n": f"{import_files.MAX_ROWS:,}",
        "columns": ", ".join(err.extra.get("columns", [])),
        "header": ",".join(required + optional),
    }
    if err.code in CODE_MESSAGES:
        return str(CODE_MESSAGES[err.code]) % values
    return explain_error(err)


def message_text(message) -> str:
    """A stored row message ([English format, params]) in the reader's language."""
    text, params = message
    return _(text, **params) if params else _(text)


def value_text(column: str, value) -> str:
    if value is None or value == "":
        return "—"
    if column in imports.MONEY_FIELDS:
        return display_fen(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


@bp.app_context_processor
def import_helpers():
    return {
        "import_message": message_text,
        "import_value": value_text,
        "import_column": lambda column: str(COLUMN_LABELS.get(column, column)),
    }


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _page(template: str, status: int, **context):
    """A page; an htmx request gets it with 200 (htmx swaps only 2xx answers)."""
    return render_template(template, **context), 200 if _is_htmx() else status


def _index(kind: str, error: str = "", status: int = 200):
    required, optional = imports.COLUMNS[kind]
    return _page(
        "admin/imports/index.html",
        status,
        kind=kind,
        kinds=KIND_LABELS,
        help=KIND_HELP[kind],
        required=required,
        optional=optional,
        formats=FORMATS,
        upload_error=error,
        max_mb=import_files.MAX_BYTES // (1024 * 1024),
    )


@bp.get("/imports")
def imports_page():
    return _index(_kind(request.args.get("kind", "products")))


def _uploaded_file() -> tuple[bytes, str]:
    """(content, name) of the form's file; DomainError codes that _refusal explains."""
    limit = import_files.MAX_BYTES
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(code="missing_file")
    return upload.read(limit + 1), upload.filename


@bp.post("/imports")
def import_upload():
    if (request.content_length or 0) > import_files.MAX_BYTES + SLACK:
        kind = _kind(request.args.get("kind", "products"))
        return _index(kind, _refusal(Invalid(code="file_too_large"), kind), 413)
    # The kind rides in the URL too, so a file refused unread still gets its own page.
    request.max_content_length = import_files.MAX_BYTES + SLACK
    kind = _kind(request.args.get("kind") or request.form.get("kind", ""))
    try:
        content, filename = _uploaded_file()
        outcome = imports.run(kind, content, by=current_user, dry_run=True, filename=filename)
    except DomainError as err:
        return _index(kind, _refusal(err, kind), err.status)
    upload = imports.save_upload(current_user, kind, filename, content, outcome)
    return go(url_for("admin.import_preview", upload_id=upload.id))


def _preview(upload_id: int, error: str = "", status: int = 200):
    upload = imports.upload_for(current_user, upload_id)
    preview = imports.preview_of(upload)
    return _page(
        "admin/imports/preview.html",
        status,
        upload=upload,
        kind=upload.kind,
        kinds=KIND_LABELS,
        preview=preview,
        error=error,
        upload_error="",
        help=None,
        required=(),
        optional=(),
        max_mb=import_files.MAX_BYTES // (1024 * 1024),
        can_apply=(
            upload.applied_at is None
            and not preview.get("invalid_count")
            and (preview.get("new") or preview.get("changed") or preview.get("removed"))
        ),
    )


@bp.get("/imports/<int:upload_id>")
def import_preview(upload_id: int):
    return _preview(upload_id)


@bp.post("/imports/<int:upload_id>/apply")
def import_apply(upload_id: int):
    try:
        outcome = imports.apply_upload(current_user, upload_id)
    except imports.ImportRefused:
        message = _(
            "The data changed since the check, and some rows are now invalid. "
            "Nothing was changed; see the rows below."
        )
        return _preview(upload_id, message, 422)
    except DomainError as err:
        if err.status == 404:
            raise
        kind = imports.upload_for(current_user, upload_id).kind
        return _preview(upload_id, _refusal(err, kind), err.status)
    flash(
        _(
            "Applied: %(new)s new, %(changed)s changed, %(unchanged)s unchanged.",
            new=outcome.new,
            changed=outcome.changed,
            unchanged=outcome.unchanged,
        )
    )
    return go(url_for("admin.import_preview", upload_id=upload_id))


def _download(content: bytes, mimetype: str, filename: str):
    response = make_response(content)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/imports/export/<kind>.<file_format>")
def import_export(kind: str, file_format: str):
    if file_format not in FORMATS:
        abort(404)
    return _download(*imports.export_file(_kind(kind), file_format, current_user))


@bp.get("/imports/template/<kind>.<file_format>")
def import_template(kind: str, file_format: str):
    if file_format not in FORMATS:
        abort(404)
    return _download(*imports.template_file(_kind(kind), file_format))
