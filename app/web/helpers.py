"""Template filters and globals shared by dealer and HQ pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.metadata import version

from babel.dates import format_timedelta
from flask import Flask, request
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
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
    "tier": _l("Tier price (%(tier)s)"),
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
        "lines": _l("Check the products and quantities of this order."),
    }
    return str(messages[leaf]) if leaf in messages else None


NOT_FOUND = {
    "product": (_l("We could not find product %(key)s."), _l("We could not find this product.")),
    "order": (_l("We could not find order %(key)s."), _l("We could not find this order.")),
    "dealer": (_l("We could not find dealer %(key)s."), _l("We could not find this dealer.")),
}
# What a refusal means when nothing more precise is known: never the service's English.
GENERIC = {
    400: _l("Some input is not valid. Please check it and try again."),
    401: _l("Please log in again."),
    403: _l("You do not have access to this page."),
    404: _l("The item you asked for does not exist."),
    409: _l("This changed meanwhile. Please refresh the page and try again."),
    422: _l("Some input is not valid. Please check it and try again."),
}
KNOWN = {
    "rebate_over_cap": _l("That is more rebate than this order may use."),
    "insufficient_rebate": _l("That is more than your rebate balance."),
    "idempotency_request_in_progress": _l("This order is still being submitted; please wait."),
    "idempotency_key_reused": _l(
        "This form was already sent with other contents. Please reload the page."
    ),
    "invalid_status": _l("This order changed meanwhile; please refresh the page."),
    "invalid_credentials": _l("Wrong username or password."),
    "account_inactive": _l("This account has been deactivated. Please contact HQ."),
    "settlement_conflict": _l(
        "This period was already settled with other dates or brackets; nothing was posted."
    ),
    "never_ordered": _l("You have not ordered this product recently: choose a quantity."),
    "too_many_pins": _l("Your usual list is full: unpin a product first."),
}


def _not_found(err) -> str | None:
    kind, key = getattr(err, "subject", None) or (None, None)
    if err.status != 404 or kind not in NOT_FOUND:
        return None
    with_key, without_key = NOT_FOUND[kind]
    return str(with_key) % {"key": key} if key else str(without_key)


def _first_field_message(errors) -> str | None:
    messages = (_field_message(field) for field in errors or {})
    return next((m for m in messages if m), None)


def _stock_lines(err, extra: dict) -> str:
    names = getattr(err, "names", None) or {}
    units = getattr(err, "units", None) or {}
    lines = []
    for row in extra.get("lines", []):
        sku = row["sku"]
        values = {"name": names.get(sku, sku), "r": row["requested"], "a": row["available"]}
        if units.get(sku):
            line = _(
                "%(name)s: requested %(r)s %(unit)s, available %(a)s %(unit)s",
                unit=units[sku],
                **values,
            )
        else:
            line = _("%(name)s: requested %(r)s, available %(a)s", **values)
        lines.append(line)
    return _("Not enough stock. %(lines)s", lines="；".join(lines))


def _funds(err, extra: dict) -> str:
    return _(
        "Not enough funds: %(available)s available, this needs %(required)s.",
        available=_yuan_text(extra.get("available", "")),
        required=_yuan_text(extra.get("required", "")),
    )


def _quantity_rule(extra: dict) -> str:
    values = {
        "name": extra.get("name", ""),
        "unit": extra.get("unit", ""),
        "min": extra.get("min_order_qty", 1),
        "step": extra.get("order_multiple", 1),
    }
    if values["step"] > 1:
        return _("%(name)s: order from %(min)s %(unit)s, in steps of %(step)s.", **values)
    return _("%(name)s: order at least %(min)s %(unit)s.", **values)


def _sentences(parts: list[str]) -> str:
    # Chinese sentences end in 。 and follow each other without a space.
    return ("" if is_chinese() else " ").join(parts)


def _in_cart(extra: dict) -> list[str]:
    held, unit = extra.get("in_cart") or 0, extra.get("unit", "")
    return [_("Already in your cart: %(n)s.", n=quantity(held, unit))] if held else []


def _quantity(err, extra: dict) -> str:
    """The pack rule, then the valid quantities either side of the typed one, within stock
    (the stock limit said once: as the choice when it is the only one left)."""
    max_qty, unit = extra.get("max_qty"), extra.get("unit", "")
    options = [n for n in (extra.get("below"), extra.get("above")) if n]
    fits = [n for n in options if max_qty is None or n <= max_qty]
    capped = max_qty is not None and len(fits) < max(len(options), 1)
    parts = [_quantity_rule(extra)]
    if capped and max_qty:
        parts.append(_("Stock allows at most %(n)s %(unit)s.", n=max_qty, unit=unit))
    elif capped:
        parts.append(_("Not enough in stock for the minimum order."))
    elif len(fits) == 2:
        parts.append(_("Try %(a)s or %(b)s %(unit)s.", a=fits[0], b=fits[1], unit=unit))
    elif fits:
        parts.append(_("Try %(n)s %(unit)s.", n=fits[0], unit=unit))
    return _sentences(parts + _in_cart(extra))


def _over_stock(err, extra: dict) -> str:
    name, unit, max_qty = extra.get("name", ""), extra.get("unit", ""), extra.get("max_qty")
    if not max_qty:
        said = _("%(name)s: not enough in stock for the minimum order.", name=name)
    else:
        said = _("%(name)s: stock allows at most %(n)s %(unit)s.", name=name, n=max_qty, unit=unit)
    return _sentences([said, *_in_cart(extra)])


EXPLAINERS = {
    "insufficient_stock": _stock_lines,
    "insufficient_funds": _funds,
    "invalid_quantity": _quantity,
    "quantity_over_stock": _over_stock,
}


def explain_error(err) -> str:
    """A refusal in the reader's language; services speak English for machines.

    Never the service's English `detail`: a case without its own words gets its status's.
    """
    if err.code in EXPLAINERS:
        return EXPLAINERS[err.code](err, getattr(err, "extra", {}) or {})
    if err.code in KNOWN:
        return str(KNOWN[err.code])
    message = _not_found(err) or _first_field_message(err.errors)
    return message or str(GENERIC.get(err.status, GENERIC[400]))


def is_chinese() -> bool:
    return get_locale().language == "zh"


def local_time(value: datetime | None) -> str:
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


def local_date(value: datetime | None) -> str:
    """The calendar day in the shown time zone (Asia/Shanghai by default): "2026-12-02"."""
    return format_datetime(value, "yyyy-MM-dd") if value else ""


def quantity(n, unit: str) -> str:
    """A number and its unit: "10箱" in Chinese, "10 箱" in English (the unit is data)."""
    return _("%(n)s %(unit)s", n=n, unit=unit)


def register(app: Flask) -> None:
    app.jinja_env.filters["yuan"] = display_fen
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.globals.update(
        stock_label=stock_label,
        explain_error=explain_error,
        status_label=status_label,
        breaks_json=breaks_json,
        age=age,
        price_source_label=price_source_label,
        htmx_version=HTMX_VERSION,
        is_chinese=is_chinese,
        quantity=quantity,
        html_lang=lambda: "zh-CN" if get_locale().language == "zh" else "en",
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _request_path():
        return {"request_path": request.full_path.rstrip("?")}
