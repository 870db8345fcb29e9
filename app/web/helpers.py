"""Template filters and globals shared by dealer and HQ pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.metadata import version

from babel.dates import format_timedelta
from flask import Flask, request
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l

from app.money import display_fen

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


def local_time(value: datetime | None) -> str:
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


def register(app: Flask) -> None:
    app.jinja_env.filters["yuan"] = display_fen
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals.update(
        stock_label=stock_label,
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
