"""HQ stock pages: the low-stock list, recent movements and the brand-wide choice of exact
numbers or badges for dealers; per product, set the counted on-hand with a reason and read
its movement log. Reading is for admin and order desk, writing for admins (as the API)."""

from __future__ import annotations

import re
import unicodedata

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.admin import bp, requires
from app.errors import DomainError
from app.extensions import db
from app.services import permissions, products, stock_movements
from app.services.settings import get_setting
from app.web.helpers import explain_error

MOVEMENTS_PAGE = 20
LOW_SHOWN = 100
KIND_LABELS = {
    stock_movements.MANUAL: _l("Counted"),
    stock_movements.IMPORT: _l("Import"),
    stock_movements.SHIPMENT: _l("Shipped"),
}


@bp.app_template_global()
def movement_kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


@bp.get("/stock")
@requires(permissions.READ_PRODUCTS)
def stock():
    q = request.args.get("q", "").strip()[:100]
    found = products.hq_products(q=q, per_page=20)[0] if q else []
    return render_template(
        "admin/stock/index.html",
        low=products.low_stock(LOW_SHOWN),
        recent=stock_movements.recent(20),
        show_exact=bool(get_setting("show_exact_stock")),
        q=q,
        found=found,
    )


@bp.post("/stock/display")
def stock_display():
    show_exact = request.form.get("show_exact") == "1"
    products.set_stock_display(show_exact, by=current_user)
    if show_exact:
        flash(_("Dealers now see the exact number available."))
    else:
        flash(_("Dealers now see only 有货 / 库存紧张 / 缺货, without numbers."))
    return redirect(url_for("admin.stock"))


def _product_stock_page(sku: str, *, typed=None, errors=None, status: int = 200):
    item = products.hq_product(sku)
    raw_page = request.args.get("page", "")
    page = max(int(raw_page), 1) if re.fullmatch(r"[0-9]{1,5}", raw_page) else 1
    movements, total = stock_movements.for_product(
        item.product.id, page=page, per_page=MOVEMENTS_PAGE
    )
    body = render_template(
        "admin/stock/product.html",
        item=item,
        p=item.product,
        movements=movements,
        page=page,
        pages=max(1, -(-total // MOVEMENTS_PAGE)),
        typed=typed or {"on_hand": str(item.on_hand), "reason": ""},
        errors=errors or {},
    )
    return body, status


@bp.get("/products/<sku>/stock")
@requires(permissions.READ_PRODUCTS)
def product_stock(sku: str):
    return _product_stock_page(sku)


@bp.post("/products/<sku>/stock")
def product_stock_set(sku: str):
    products.product_by_sku(sku)
    typed = {
        "on_hand": request.form.get("on_hand", ""),
        "reason": request.form.get("reason", ""),
    }
    text = unicodedata.normalize("NFKC", typed["on_hand"]).strip().replace(",", "")
    reason = typed["reason"].strip()
    errors = {}
    if not re.fullmatch(r"[0-9]{1,9}", text):
        errors["on_hand"] = _("Enter the counted quantity as a whole number, 0 or more.")
    if not reason or len(reason) > products.REASON_MAX:
        errors["reason"] = _("Say why the count changes (1–200 characters), e.g. 月末盘点.")
    if errors:
        return _product_stock_page(sku, typed=typed, errors=errors, status=422)
    before = products.hq_product(sku).on_hand
    try:
        level = products.set_on_hand(sku, int(text), reason=reason, by=current_user)
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        return _product_stock_page(sku, typed=typed, errors=_refusal(err), status=err.status)
    if level.on_hand == before:
        flash(_("On hand was already %(n)s; nothing changed.", n=level.on_hand))
    else:
        flash(_("On hand of %(sku)s: %(a)s → %(b)s.", sku=sku, a=before, b=level.on_hand))
    return redirect(url_for("admin.product_stock", sku=sku))


def _refusal(err: DomainError) -> dict[str, str]:
    if err.code == "below_reserved":
        reserved = err.extra.get("reserved", 0)
        return {
            "on_hand": _("Orders already hold %(n)s; on hand cannot be less than that.", n=reserved)
        }
    return {"": explain_error(err)}
