"""Small helpers for the dealer's plain forms (which htmx enhances)."""

from __future__ import annotations

import uuid

from flask import Response, make_response, redirect, request

from app.errors import Invalid
from app.money import MoneyError, parse_fen


def form_int(name: str, default: int = 0) -> int:
    """An integer form field; Invalid when it is not one."""
    raw = request.form.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise Invalid(errors={name: ["Enter a whole number."]})
    return int(raw)


def form_money(name: str) -> int:
    """A yuan amount typed by a person ("12", "12.5"); blank is zero."""
    raw = request.form.get(name, "").strip().replace("¥", "").replace(",", "")
    if not raw:
        return 0
    try:
        return parse_fen(raw)
    except MoneyError as err:
        raise Invalid(str(err), errors={name: [str(err)]}) from err


def new_key() -> str:
    """An idempotency key for a form rendered now: a resubmission reuses it."""
    return uuid.uuid4().hex


def go(url: str) -> Response:
    """Redirect; htmx requests get HX-Redirect so the whole page changes."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)
