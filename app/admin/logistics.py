"""HQ shipping pages: ship an order, print its delivery notes, follow shipments, manage carriers."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from math import ceil

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.admin import bp, requires
from app.errors import Conflict, DomainError, Invalid
from app.extensions import db
from app.models import Order
from app.models.orders import APPROVED, PARTIALLY_SHIPPED
from app.services import logistics, orders, permissions
from app.services.logistics import ShipLine
from app.web.helpers import explain_error, quantity

SHIPPABLE = (APPROVED, PARTIALLY_SHIPPED)
EVENTS_PAGE_SIZE = 50
PAPERS = ("a4", "80mm")
# An 80 mm receipt's length: the head, address and signature, then one row per line.
RECEIPT_BASE_MM, RECEIPT_LINE_MM = 105, 10
OUTCOME_LABELS = {
    "applied": _l("Applied"),
    "duplicate": _l("Duplicate"),
    "unmatched": _l("Unmatched"),
}
REFUSAL_LABELS = {
    "bad_signature": _l("Bad signature"),
    "stale_timestamp": _l("Stale timestamp"),
    "unknown_carrier": _l("Unknown or inactive carrier"),
    "bad_body": _l("Unreadable body"),
}
FIELD_MESSAGES = {
    "carrier": _l("Choose an active carrier."),
    "tracking_no": _l("Enter the tracking number (1–64 characters)."),
    "lines": _l("Enter a quantity on at least one line, or ship everything still to ship."),
    "qty": _l("Quantities are whole numbers, from 0 to what is left to ship."),
    "code": _l("Code: 1–32 lower-case letters, digits, “-” or “_”."),
    "name": _l("Give a name of 1–128 characters."),
    "grace_hours": _l("Grace period: whole hours from 0 to 720."),
}
CODE_MESSAGES = {
    "duplicate_tracking_no": _l("This tracking number is already used for this carrier."),
    "duplicate_carrier": _l("A carrier with this code already exists."),
    "stock_mismatch": _l("The order's reserved stock is not there to ship; check the stock."),
    "secret_changed": _l(
        "The secret was already replaced since this page was shown (a reload sends the form "
        "again); nothing changed. Make another one below if you need it."
    ),
    "over_shipment": _l("A line asks for more than is left to ship; see the line below."),
    "invalid_status": _l("This order can no longer be shipped: its status changed."),
}


def _explain(err: DomainError) -> str:
    """A refusal of these pages in the reader's words (the services speak English)."""
    if err.code in CODE_MESSAGES:
        return str(CODE_MESSAGES[err.code])
    for field in err.errors or {}:
        leaf = field.rsplit(".", 1)[-1]
        if leaf == "sku" and field.startswith("lines."):
            return str(_l("A line names a product that is not on this order."))
        if leaf in FIELD_MESSAGES:
            return str(FIELD_MESSAGES[leaf])
    return explain_error(err)


# --- shipping an order -----------------------------------------------------------------------


def order_context(order: Order, form: dict | None = None, err: DomainError | None = None) -> dict:
    """What the HQ order page needs for its shipments and its 发货 form."""
    return {
        "shipments": logistics.shipments_of(order.id),
        "can_ship": order.status in SHIPPABLE,
        "active_carriers": [c for c in logistics.carriers() if c.active],
        "ship_form": form or {},
        "ship_error": _explain(err) if err else None,
        "line_errors": _line_errors(order, err),
    }


def _line_errors(order: Order, err: DomainError | None) -> dict[str, str]:
    """The message to show under each refused line, by SKU."""
    if err is None:
        return {}
    units = {line.sku: line.unit for line in order.lines}
    found = {}
    for row in (err.extra or {}).get("lines", []):
        unit = units.get(row["sku"], "")
        found[row["sku"]] = _(
            "Only %(left)s left to ship (you entered %(requested)s).",
            left=quantity(row["left"], unit),
            requested=row["requested"],
        )
    return found


def _typed_lines(form) -> tuple[list[ShipLine], dict[str, str]]:
    """The per-line quantities as typed: (lines above 0, {sku: typed}); raises Invalid."""
    lines, typed, errors = [], {}, {}
    for i, (sku, raw) in enumerate(zip(form.getlist("sku"), form.getlist("qty"), strict=False)):
        raw = raw.strip()
        typed[sku] = raw
        if not re.fullmatch(r"[0-9]{1,6}", raw or "0"):
            errors[f"lines.{i}.qty"] = ["Not a whole number."]
        elif int(raw or 0) > 0:
            lines.append(ShipLine(sku, int(raw)))
    if errors:
        raise Invalid("Some quantities are not whole numbers.", errors=errors)
    return lines, typed


@bp.post("/orders/<number>/shipments")
@requires(permissions.ORDER_DESK)
def ship_order(number: str):
    form = {
        "carrier": request.form.get("carrier", ""),
        "tracking_no": request.form.get("tracking_no", "").strip(),
        "what": "lines" if request.form.get("what") == "lines" else "all",
        "qty": dict(zip(request.form.getlist("sku"), request.form.getlist("qty"), strict=False)),
    }
    try:
        chosen = None  # everything still to ship: the per-line inputs do not count
        if form["what"] == "lines":
            chosen, form["qty"] = _typed_lines(request.form)
        shipment = logistics.create_shipment(
            current_user, number, form["carrier"], form["tracking_no"], chosen
        )
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        order = orders.order_for_admin(number)
        context = order_context(order, form, err)
        return render_template("admin/order.html", order=order, error=None, **context), err.status
    flash(
        _(
            "Shipped with %(carrier)s, tracking number %(no)s.",
            carrier=shipment.carrier.name,
            no=shipment.tracking_no,
        )
    )
    return redirect(url_for("admin.order_detail", number=number, _anchor="shipments"))


@bp.get("/shipping")
@requires(permissions.ORDER_DESK)
def to_ship_queue():
    found = db.session.scalars(
        select(Order)
        .options(selectinload(Order.lines), selectinload(Order.dealer))
        .where(Order.status.in_(SHIPPABLE))
        .order_by(Order.created_at, Order.id)
        .limit(200)
    )
    return render_template("admin/logistics/to_ship.html", orders=list(found))


# --- delivery notes and shipments needing attention --------------------------------------------


@bp.get("/shipments/<int:shipment_id>/note")
@requires(permissions.READ_ORDERS)
def delivery_note(shipment_id: int):
    shipment = logistics.shipment_for_admin(shipment_id)
    paper = request.args.get("paper", "a4")
    paper = paper if paper in PAPERS else "a4"
    return render_template(
        "admin/logistics/note.html",
        shipment=shipment,
        order=shipment.order,
        paper=paper,
    )


@bp.get("/shipments/<int:shipment_id>/receipt-page.css")
@requires(permissions.READ_ORDERS)
def receipt_page_css(shipment_id: int):
    """The 80 mm receipt's page size, as long as its lines (`size: 80mm auto` is not valid
    CSS): a stylesheet of its own, since the Content-Security-Policy allows no inline style."""
    shipment = logistics.shipment_for_admin(shipment_id)
    length = RECEIPT_BASE_MM + RECEIPT_LINE_MM * len(shipment.lines)
    response = make_response(f"@page {{ size: 80mm {length}mm; margin: 3mm; }}\n")
    response.mimetype = "text/css"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def attention_reasons(shipment, now: datetime) -> list[str]:
    """Why HQ should look at this shipment, in words."""
    reasons = []
    if shipment.status == "returned":
        reasons.append(_("Returned to sender"))
    if shipment.has_exception and shipment.status != "delivered":
        reasons.append(_("The carrier reported an exception"))
    last = shipment.last_event_at or shipment.created_at
    quiet_days = (now - last).days
    if shipment.status not in ("delivered", "returned") and now - last >= logistics.STALE_AFTER:
        if shipment.last_event_at:
            reasons.append(_("No carrier event for %(n)s days", n=quiet_days))
        else:
            reasons.append(_("No carrier event since shipping %(n)s days ago", n=quiet_days))
    return reasons


@bp.get("/shipments")
@requires(permissions.READ_ORDERS)
def shipments_attention():
    now = datetime.now(UTC)
    rows = [(s, attention_reasons(s, now)) for s in logistics.needing_attention(now)]
    return render_template("admin/logistics/attention.html", rows=rows)


# --- carriers --------------------------------------------------------------------------------


def _webhook_urls(code: str) -> dict[str, str]:
    root = request.url_root.rstrip("/")
    return {
        "logistics": f"{root}/webhooks/logistics/{code}",
        "kuaidi100": f"{root}/webhooks/kuaidi100/{code}",
    }


def _secret_page(template: str, status: int = 200, **context):
    """A page that may show a secret: never cached, never stored by the browser."""
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _carriers_page(status: int = 200, **context):
    context.setdefault("form", {})
    context.setdefault("error", None)
    return _secret_page(
        "admin/logistics/carriers.html", status, carriers=logistics.carriers(), **context
    )


@bp.get("/carriers")
def carriers():
    return _carriers_page()


@bp.post("/carriers")
def carrier_create():
    form = {"code": request.form.get("code", ""), "name": request.form.get("name", "")}
    try:
        carrier = logistics.create_carrier(form["code"], form["name"])
    except DomainError as err:
        db.session.rollback()
        return _carriers_page(err.status, form=form, error=_explain(err))
    revealed = {"carrier": carrier, "secret": carrier.secret, "urls": _webhook_urls(carrier.code)}
    return _carriers_page(201, revealed=revealed)


def _carrier_page(code: str, status: int = 200, **context):
    carrier = logistics.carrier_by_code(code)
    outcome = request.args.get("outcome", "")
    outcome = outcome if outcome in OUTCOME_LABELS else ""
    raw_page = request.args.get("page", "")
    page = max(int(raw_page), 1) if re.fullmatch(r"[0-9]{1,6}", raw_page) else 1
    events, total = logistics.carrier_events(carrier, outcome or None, page, EVENTS_PAGE_SIZE)
    context.setdefault("error", None)
    return _secret_page(
        "admin/logistics/carrier.html",
        status,
        carrier=carrier,
        events=events,
        total=total,
        page=page,
        pages=max(1, ceil(total / EVENTS_PAGE_SIZE)),
        outcome=outcome,
        refusals=logistics.refusal_counts(carrier.code),
        order_numbers=_order_numbers(events),
        urls=_webhook_urls(carrier.code),
        **context,
    )


def _order_numbers(events) -> dict[int, str]:
    """Shipment id → its order's number, for the events that reached a shipment."""
    ids = {event.shipment_id for event in events if event.shipment_id}
    return {i: logistics.shipment_for_admin(i).order.number for i in ids}


@bp.get("/carriers/<code>")
def carrier_detail(code: str):
    return _carrier_page(code)


@bp.app_template_global("secret_version")
def _secret_version(carrier) -> str:
    """Which secret a rotate form was shown for (sent back with the form)."""
    return carrier.rotated_at.isoformat() if carrier.rotated_at else "first"


@bp.post("/carriers/<code>/secret")
def carrier_rotate(code: str):
    raw = request.form.get("grace_hours", "24").strip() or "24"
    try:
        if not re.fullmatch(r"[0-9]{1,4}", raw):
            raise Invalid(errors={"grace_hours": ["A whole number of hours."]})
        if request.form.get("version", "") != _secret_version(logistics.carrier_by_code(code)):
            # A reload of the page that showed the new secret posts the form again:
            # refuse it, so the secret just copied is not replaced unseen.
            raise Conflict("The secret changed since this form was shown.", code="secret_changed")
        carrier = logistics.rotate_secret(code, int(raw))
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        return _carrier_page(code, err.status, error=_explain(err))
    revealed = {
        "carrier": carrier,
        "secret": carrier.secret,
        "urls": _webhook_urls(carrier.code),
        "previous_until": carrier.previous_valid_until if carrier.previous_secret else None,
    }
    return _carrier_page(code, 201, revealed=revealed)


@bp.post("/carriers/<code>/active")
def carrier_active(code: str):
    active = request.form.get("active") == "1"
    carrier = logistics.update_carrier(code, active=active)
    if active:
        flash(_("%(name)s is active again.", name=carrier.name))
    else:
        flash(_("%(name)s is deactivated: its webhooks are refused.", name=carrier.name))
    return redirect(url_for("admin.carrier_detail", code=carrier.code))


def register_labels() -> dict:
    """Labels the logistics templates use."""
    return {
        "outcome_labels": OUTCOME_LABELS,
        "refusal_labels": REFUSAL_LABELS,
    }


bp.context_processor(register_labels)
