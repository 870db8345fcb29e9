"""Domain errors and the one place that maps them to problem+json, fragments or pages."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from app.extensions import db

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal the caller can act on; `code` is stable for machines.

    `detail` is English for machines (the API's problem+json); pages translate from `code`,
    `errors` and `subject` instead. `subject` names what was refused as (kind, key), e.g.
    ("order", "SO…"): it is for pages only and never reaches an API answer, unlike `extra`.
    """

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        errors=None,
        subject: tuple[str, str | None] | None = None,
        **extra,
    ):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        self.errors = errors
        self.subject = subject
        self.extra = extra


class Invalid(DomainError):
    status, code, title = 422, "validation_error", "Invalid input"


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict with the current state"


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class BadRequest(DomainError):
    status, code, title = 400, "bad_request", "Bad request"


def flatten_errors(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict as {"lines.1.qty": ["…"]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            flat[prefix or "_schema"] = list(messages)
            return flat
        for i, item in enumerate(messages):
            flat.update(flatten_errors(item, f"{prefix}.{i}" if prefix else str(i)))
        return flat
    if isinstance(messages, dict):
        for key, value in messages.items():
            flat.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    flat[prefix or "_schema"] = [str(messages)]
    return flat


def problem(status: int, code: str, title: str, detail: str, errors=None, **extra) -> Response:
    """An RFC 9457 problem+json response."""
    body = {"type": f"/problems/{code}", "title": title, "status": status, "detail": detail}
    body["code"] = code
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/webhooks/"))


def _page(status: int, message: str):
    if request.headers.get("HX-Request") == "true":
        return render_template("partials/_error.html", message=message), status
    return render_template("error.html", status=status, message=message), status


def _explained(err: DomainError) -> str:
    """The refusal in the reader's language (never the English `detail`)."""
    # Imported here: app.web imports this module, so a top-level import would be circular.
    from app.web.helpers import explain_error

    return explain_error(err)


def handle_domain_error(err: DomainError):
    db.session.rollback()
    if _wants_json():
        return problem(err.status, err.code, err.title, err.detail, err.errors, **err.extra)
    return _page(err.status, _explained(err))


def handle_validation_error(err: ValidationError):
    db.session.rollback()
    errors = flatten_errors(err.messages)
    if _wants_json():
        return problem(422, "validation_error", "Invalid input", "Some fields are invalid.", errors)
    return _page(422, _explained(Invalid(errors=errors)))


def handle_http_error(err: HTTPException):
    if _wants_json():
        code = (err.name or "error").lower().replace(" ", "_")
        response = problem(err.code or 500, code, err.name, err.description or err.name)
    else:
        response = make_response(_page(err.code or 500, _http_message(err)))
    # What the error itself says in headers: `Allow` on a 405 (RFC 9110), `Retry-After`.
    for name, value in err.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _http_message(err: HTTPException) -> str:
    """Werkzeug's descriptions are English: a page says it in the reader's language."""
    if isinstance(err, CSRFError):
        return _("This page has expired. Please reload it and try again.")
    messages = {
        400: _("Some input is not valid. Please check it and try again."),
        401: _("Please log in again."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist."),
        405: _("This page does not exist."),
        429: _("Too many attempts. Please wait a minute and try again."),
    }
    if err.code in messages:
        return messages[err.code]
    if (err.code or 500) < 500:
        return messages[400]
    return _("Something went wrong on our side. Please try again.")


def handle_integrity_error(err: IntegrityError):
    """A uniqueness or constraint race the service did not foresee: the request changed
    nothing (the transaction is rolled back), so it is a conflict to retry, not a crash."""
    db.session.rollback()
    log.warning("integrity error answered as 409: %s", err.orig)
    if _wants_json():
        return problem(
            409,
            "conflict",
            "Conflict with the current state",
            "Another request changed the same data at the same time; try again.",
        )
    return _page(409, _("Someone changed this at the same moment. Please try again."))


def handle_unexpected(err: Exception):
    db.session.rollback()
    if isinstance(err, HTTPException):
        return handle_http_error(err)
    log.exception("unhandled error")
    if current_app.testing and current_app.config.get("PROPAGATE_UNEXPECTED", True):
        raise err
    if _wants_json():
        return problem(500, "internal_error", "Internal error", "Something went wrong on our side.")
    return _page(500, _("Something went wrong on our side. Please try again."))


def register_errors(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
