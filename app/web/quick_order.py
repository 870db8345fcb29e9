"""快速下单 (CONTRACT §6 /quick-order): paste `SKU quantity` lines, see the preview, add the
lines that fit to the cart in one tap. Plain forms and pages: it works without JavaScript."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import DomainError, Invalid
from app.extensions import db
from app.services import cart, catalog, import_files
from app.services import quick_order as q
from app.services.orders import LineRequest
from app.web import bp
from app.web.cart import place_with_key
from app.web.helpers import explain_error

MAX_ADD = q.MAX_LINES


@bp.get("/quick-order")
def quick_order():
    return render_template("dealer/quick_order.html", text="", error=None)


def _uploaded() -> str | None:
    """The uploaded list as paste text (None: no file); raises DomainError for a bad one."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    content = upload.read(q.MAX_UPLOAD + 1)
    if len(content) > q.MAX_UPLOAD:
        raise q.PasteError("too large")
    return q.sheet_text(import_files.read(content))


def _refused(text: str, error: str):
    page = render_template("dealer/quick_order.html", text=text[: q.MAX_CHARS], error=error)
    return page, 422


@bp.post("/quick-order")
def quick_order_preview():
    text = request.form.get("lines", "")
    try:
        text = _uploaded() or text
    except q.PasteError:
        return _refused(text, _("Upload a file of at most 1 MB."))
    except DomainError as err:
        return _refused(text, explain_error(err))
    swap = request.form.get("swap", "")  # "3,7:DRK-005": a close SKU taken for lines 3 and 7
    if ":" in swap:
        rows, _sep, sku = swap.partition(":")
        wanted_rows = [int(r) for r in rows.split(",") if r.isascii() and r.isdigit()]
        text = q.swap(text, wanted_rows[: q.MAX_LINES], sku)
    try:
        pasted = q.parse(text)
    except q.PasteError:
        error = _(
            "Paste at most %(lines)s lines (%(chars)s characters).",
            lines=q.MAX_LINES,
            chars=q.MAX_CHARS,
        )
        return render_template(
            "dealer/quick_order.html", text=text[: q.MAX_CHARS], error=error
        ), 422
    if not pasted.wanted and not pasted.unread:
        error = _("Paste one SKU and its quantity per line.")
        return render_template("dealer/quick_order.html", text=text, error=error), 422
    return _preview_page(text, pasted)


def _preview_page(text: str, pasted: q.Pasted, error: str | None = None, status: int = 200):
    lines = q.preview(current_user, pasted)
    # In the order pasted, the lines not read among the others: as the dealer's own list reads.
    in_order = sorted(
        [(line.wanted.rows[0], line, None) for line in lines]
        + [(line.row, None, line) for line in pasted.unread],
        key=lambda entry: entry[0],
    )
    page = render_template(
        "dealer/quick_order_preview.html",
        text=text,
        entries=[(line, unread) for _row, line, unread in in_order],
        fitting=[line for line in lines if line.qty],
        ordering=[line for line in lines if line.order_qty],
        error=error,
        max_qty=q.MAX_QTY,
    )
    return page, status


@bp.post("/quick-order/add")
def quick_order_add():
    """Add the previewed lines (sku, qty pairs) through the cart's own checks; a line the cart
    now refuses (stock taken meanwhile) is named, the others go in."""
    skus, qtys = request.form.getlist("sku")[:MAX_ADD], request.form.getlist("qty")[:MAX_ADD]
    added, refused = 0, []
    for sku, qty in zip(skus, qtys, strict=False):
        try:
            cart.add(current_user, sku, int(qty))
            added += 1
        except (DomainError, ValueError) as err:
            reason = explain_error(err) if isinstance(err, DomainError) else _("Not a number.")
            refused.append(f"{sku}: {reason}")
    if added:
        flash(_("Added %(n)s lines to the cart.", n=added))
    for line in refused:
        flash(_("Not added: %(line)s", line=line))
    return redirect(url_for("web.cart_page"))


class NotItsPreview(Invalid):
    """A form the preview did not make (altered, or cut short on the way)."""


def _sent_lines() -> list[LineRequest]:
    """The lines the preview priced for ordering at once (order_sku, order_qty pairs);
    Invalid, with the preview shown again, for a form that is not the preview's own."""
    skus, qtys = request.form.getlist("order_sku"), request.form.getlist("order_qty")
    if (
        not skus
        or len(skus) != len(qtys)
        or len(skus) > MAX_ADD
        or len({sku.upper() for sku in skus}) != len(skus)
        or not all(qty.isascii() and qty.isdigit() for qty in qtys)
    ):
        raise NotItsPreview("The order form does not match its preview.")
    return [LineRequest(sku, int(qty)) for sku, qty in zip(skus, qtys, strict=True)]


@bp.post("/quick-order/order")
def quick_order_place():
    """立即下单 from the preview: the previewed lines placed as one order at once, without
    the cart, through the same checks as the catalog's buy-now (pack rules, stock, funds); a
    double tap places one order. Refused: the preview again, saying why, nothing placed."""
    text = request.form.get("lines", "")[: q.MAX_CHARS]
    try:
        lines = _sent_lines()

        def check() -> None:
            found = cart._items_for(current_user, [line.sku for line in lines])
            items = {item.product.sku: item for item in found}
            for line in lines:
                item = items.get(line.sku) or catalog.item(current_user.dealer, line.sku)
                cart.check_qty(item, line.qty)

        key = request.form.get("idempotency_key", "")
        order = place_with_key(key, "web:quick-order", lines, check=check)
    except DomainError as err:
        db.session.rollback()  # not even the key's claim: the next tap is asked afresh
        try:
            pasted = q.parse(text)
        except q.PasteError:
            pasted = q.Pasted([], [])
        if isinstance(err, NotItsPreview):
            error = _("This form does not match its preview: check the lines and tap again.")
        else:
            error = explain_error(err)
        return _preview_page(text, pasted, error=error, status=err.status)
    flash(_("Order %(number)s submitted", number=order.number))
    return redirect(url_for("web.order_page", number=order.number))
