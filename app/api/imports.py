"""Bulk import and export (CONTRACT §3b): products, price tables and stock as CSV or .xlsx.

The body is the file itself (text/csv, the .xlsx type, or application/octet-stream: the format
is told by the content, an .xlsx being a zip) or multipart/form-data with the file in `file`.
`?dry_run=true` only checks; otherwise every row is applied in one transaction, or none.
"""

from __future__ import annotations

from flask import Response, g, request
from marshmallow import Schema, fields, validate

from app.api import ADMIN, bp, doc, idempotent, reply
from app.api.fields import QueryBool
from app.api.schemas import StrictSchema
from app.errors import BadRequest, DomainError, Invalid
from app.services import import_files, imports

KINDS = imports.KINDS
# Declared types a file may come with (browsers call a .csv "application/vnd.ms-excel" on
# Windows); the content decides between CSV and .xlsx.
FILE_TYPES = {
    "text/csv",
    "application/csv",
    "text/plain",
    "application/vnd.ms-excel",
    import_files.XLSX_TYPE,
    "application/octet-stream",
    "",
}
MULTIPART = "multipart/form-data"
SLACK = 64 * 1024  # multipart boundaries and headers around the file


class TooLarge(DomainError):
    status, code, title = 413, "file_too_large", "Payload too large"


class ImportQuerySchema(StrictSchema):
    dry_run = QueryBool(
        load_default=False,
        truthy=("true", "1"),
        falsy=("false", "0"),
        metadata={"description": "true: only check and count, change nothing"},
    )


class ExportQuerySchema(StrictSchema):
    format = fields.String(
        load_default="csv", validate=validate.OneOf(sorted(import_files.FORMATS))
    )


class InvalidRowSchema(Schema):
    row = fields.Integer(metadata={"description": "The file's row; the header is row 1"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Column → messages (`_row`: the row as a whole)"},
    )


class ImportResultSchema(Schema):
    new = fields.Integer()
    changed = fields.Integer()
    unchanged = fields.Integer()
    removed = fields.Integer(
        metadata={"description": "Prices only: stored rows of replaced tables not in the file"}
    )
    invalid = fields.List(fields.Nested(InvalidRowSchema))
    applied = fields.Boolean()


# The bodies as OpenAPI media types (for doc()'s request_content and response_content).
FILE_BODY = {
    "text/csv": {"schema": {"type": "string"}},
    import_files.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
    MULTIPART: {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}},
        }
    },
}
FILE_ANSWER = {
    "text/csv": {"schema": {"type": "string"}},
    import_files.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
}


def _query(schema: Schema) -> dict:
    return schema.load(request.args.to_dict())


def file_from_request() -> tuple[bytes, str]:
    """(content, file name) of the uploaded file; BadRequest/Invalid/TooLarge when none fits."""
    limit = import_files.MAX_BYTES
    if request.content_length is not None and request.content_length > limit + SLACK:
        raise TooLarge(f"The file is larger than {limit // (1024 * 1024)} MB.")
    request.max_content_length = limit + SLACK
    if request.mimetype == MULTIPART:
        upload = request.files.get("file")
        if upload is None:
            detail = "Send the file in the multipart field `file`."
            raise Invalid(detail, code="missing_file", errors={"file": [detail]})
        return upload.read(limit + 1), upload.filename or ""
    if request.mimetype not in FILE_TYPES:
        detail = (
            f"A body of type {request.mimetype} is not a spreadsheet: send text/csv, "
            f"{import_files.XLSX_TYPE} or multipart/form-data with the file in `file`."
        )
        raise BadRequest(detail, code="unsupported_file_type", errors={"file": [detail]})
    return request.get_data(cache=False), ""


def _import(kind: str):
    dry_run = _query(ImportQuerySchema())["dry_run"]
    content, filename = file_from_request()
    outcome = imports.run(kind, content, by=g.api_user, dry_run=dry_run, filename=filename)
    return reply(ImportResultSchema(), outcome.api())


for _kind in KINDS:
    bp.add_url_rule(
        f"/admin/imports/{_kind}",
        endpoint=f"import_{_kind}",
        view_func=doc(
            summary=f"Check (dry_run) or apply a {_kind} file, all rows or none",
            role=ADMIN,
            query=ImportQuerySchema,
            response=ImportResultSchema,
            errors=(400, 401, 403, 409, 413, 422),
            request_content=FILE_BODY,
        )(idempotent(lambda kind=_kind: _import(kind))),
        methods=["POST"],
    )


def _export(kind: str):
    file_format = _query(ExportQuerySchema())["format"]
    content, mimetype, filename = imports.export_file(kind, file_format, g.api_user)
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


for _kind in KINDS:
    bp.add_url_rule(
        f"/admin/exports/{_kind}",
        endpoint=f"export_{_kind}",
        view_func=doc(
            summary=f"Download every {_kind} row in the import's format (CSV or .xlsx)",
            role=ADMIN,
            query=ExportQuerySchema,
            errors=(401, 403, 422),
            response_content=FILE_ANSWER,
        )(lambda kind=_kind: _export(kind)),
        methods=["GET"],
    )
