"""Template filters and globals shared by dealer and HQ pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.metadata import version

from babel.dates import format_timedelta
from flask import Flask, request
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l

from app.money import MoneyError, display_fen, parse_fen

HTMX_VERSION = version("django-js-lib-htmx")

STOCK_LABELS = {
    "in_stock": _l("In stock"),
    "low": _l("Low stock"),
    "out_of_stock": _l("Out of stock"),
}
STATUS_LABELS = {
    "submitted": _l("To review"),
    "approved": _l("To ship"),
    "partially_shipped": _l("Partly shipped"),
    "shipped": _l("Shipped"),
    "delivered": _l("Delivered"),
    "cancelled": _l("Cancelled"),
    "rejected": _l("Rejected"),
}
SOURCE_LABELS = {
    "dealer": _l("Your contract price"),
    "tier": _l("%(tier)s tier price"),
    "list": _l("Standard price"),
}


def stock_label(status: str) -> str:
    return str(STOCK_LABELS[status])


def price_source_label(source: str, tier_name: str = "") -> str:
    label = SOURCE_LABELS[source]
    return str(label) % {"tier": tier_name} if source == "tier" else str(label)


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def breaks_json(breaks) -> str:
    """The price table for the stepper's script: [[min_qty, fen], …]."""
    return json.dumps([[b.min_qty, b.price] for b in breaks])


def age(value: datetime | None) -> str:
    """How long ago, in the largest whole unit: "3 h", "2 d"."""
    if value is None:
        return ""
    delta = datetime.now(UTC) - value
    return format_timedelta(delta, threshold=1.5, format="short", locale=get_locale())


def _yuan_text(amount: str) -> str:
    try:
        return display_fen(parse_fen(amount, allow_negative=True))
    except MoneyError:
        return amount


def _field_message(field: str) -> str | None:
    leaf = field.rsplit(".", 1)[-1]
    messages = {
        "qty": _l("Check the quantity: at least the minimum order, in whole packs."),
        "use_rebate": _l("Check the rebate: an amount such as 12.50, within what you may use."),
        "reason": _l("Please give a reason."),
        "sku": _l("A product is no longer available."),
    }
    return str(messages[leaf]) if leaf in messages else None


def explain_error(err) -> str:
    """A refusal in the reader's language; services speak English for machines."""
    extra = getattr(err, "extra", {}) or {}
    if err.code == "insufficient_stock":
        lines = "；".join(
            str(
                _l(
                    "%(name)s: requested %(r)s, available %(a)s",
                    name=getattr(err, "names", {}).get(row["sku"], row["sku"]),
                    r=row["requested"],
                    a=row["available"],
                )
            )
            for row in extra.get("lines", [])
        )
        return str(_l("Not enough stock. %(lines)s", lines=lines))
    if err.code == "insufficient_funds":
        return str(
            _l(
                "Not enough funds: %(available)s available, this needs %(required)s.",
                available=_yuan_text(extra.get("available", "")),
                required=_yuan_text(extra.get("required", "")),
            )
        )
    known = {
        "rebate_over_cap": _l("That is more rebate than this order may use."),
        "insufficient_rebate": _l("That is more than your rebate balance."),
        "idempotency_request_in_progress": _l("This order is still being submitted; please wait."),
        "invalid_status": _l("This order changed meanwhile; please refresh the page."),
    }
    if err.code in known:
        return str(known[err.code])
    for field in err.errors or {}:
        message = _field_message(field)
        if message:
            return message
    return err.detail


def local_time(value: datetime | None) -> str:
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


def register(app: Flask) -> None:
    app.jinja_env.filters["yuan"] = display_fen
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals.update(
        stock_label=stock_label,
        explain_error=explain_error,
        status_label=status_label,
        breaks_json=breaks_json,
        age=age,
        price_source_label=price_source_label,
        htmx_version=HTMX_VERSION,
        is_chinese=lambda: get_locale().language == "zh",
        html_lang=lambda: "zh-CN" if get_locale().language == "zh" else "en",
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _request_path():
        return {"request_path": request.full_path.rstrip("?")}
