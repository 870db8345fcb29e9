"""Checkout: the cart's lines, rebate to use, what will be debited, and submitting once.

The page is drawn in the state the server would judge it in: the rebate field holds an
amount the server accepts, the figures follow from it, and a short line or a funds
shortfall is named (and 提交订单 disabled) before anyone taps it. The script only keeps
that state live as the dealer types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import DomainError, Invalid
from app.money import display_fen, format_fen
from app.services import cart, rebates, wallet
from app.web import bp
from app.web.cart import place_with_key
from app.web.forms import go, new_key
from app.web.helpers import explain_error

_AMOUNT = re.compile(r"^(\d*)(?:\.(\d*))?$")
_REBATE_CODES = ("rebate_over_cap", "insufficient_rebate")


@dataclass(frozen=True, slots=True)
class RebateField:
    """The rebate as the page shows it: an amount the server accepts, and what was changed."""

    value: int  # fen, 0 … most
    text: str  # what the input holds
    most: int  # min(policy cap, rebate balance)
    why_none: str  # why most is 0 ("" when it is not)
    message: str  # beside the field: what was changed, or the server's refusal


def _typed_fen(raw: str) -> tuple[int, bool]:
    """A typed yuan amount in fen, cut to whole fen, and whether digits were cut off.

    Raises Invalid when it is no amount at all (letters, a minus sign).
    """
    text = raw.strip().replace("¥", "").replace(",", "")
    match = _AMOUNT.match(text)
    if not match or text in ("", "."):
        raise Invalid(errors={"use_rebate": ["Must be an amount such as 12.50."]})
    whole, frac = match.group(1) or "0", match.group(2) or ""
    if len(whole) > 12:  # beyond any cap; keeps int() small
        return 10**14, False
    fen = int(whole) * 100 + int(frac[:2].ljust(2, "0"))
    return fen, bool(frac[2:].strip("0"))


def _fit_rebate(raw: str, most: int) -> tuple[int, str]:
    """The typed rebate held to 0 … most, and a message when that changed it."""
    text = raw.strip()
    if not text:
        return 0, ""
    try:
        fen, cut = _typed_fen(text)
    except Invalid:
        if text.startswith("-"):
            return 0, _("Rebate cannot be negative; changed to %(value)s.", value=display_fen(0))
        return 0, _(
            "“%(typed)s” is not an amount; changed to %(value)s.",
            typed=text[:20],
            value=display_fen(0),
        )
    if fen > most or (cut and fen == most):
        return most, _(
            "%(typed)s is more than this order may use; changed to %(value)s.",
            typed=text[:20],
            value=display_fen(most),
        )
    if cut:
        return fen, _("At most two decimals; changed to %(value)s.", value=display_fen(fen))
    return fen, ""


def _why_no_rebate(most: int, balance: int) -> str:
    if most:
        return ""
    if balance <= 0:
        return _("You have no rebate balance.")
    return _("The rebate policy allows none on this order.")


def _rebate_field(raw: str, most: int, why_none: str, error: DomainError | None, use_all: bool):
    value, message = (most, "") if use_all else _fit_rebate(raw, most)
    if not message and _is_rebate_error(error):
        message = explain_error(error)  # refused though it fits now: the balance moved
    text = format_fen(value) if value or message else ""
    return RebateField(value, text, most, why_none, message)


def _is_rebate_error(error: DomainError | None) -> bool:
    if error is None:
        return False
    return error.code in _REBATE_CODES or "use_rebate" in (error.errors or {})


def _short_lines(view: cart.Cart) -> dict[str, dict]:
    """Each line today's stock cannot fill: why, and the largest quantity that fits (0: remove)."""
    short = {}
    for line in view.lines:
        if not line.short:
            continue
        product, available = line.product, max(line.available, 0)
        rules = cart.rules_of(product)
        qty = rules.up_to(available) or 0
        values = {"n": available, "unit": product.unit, "moq": rules.first}
        if not available:
            reason = _("Out of stock now.")
        elif not qty:
            reason = _(
                "Only %(n)s %(unit)s in stock, under the minimum order of %(moq)s %(unit)s.",
                **values,
            )
        else:
            reason = _("Only %(n)s %(unit)s in stock.", **values)
        short[product.sku] = {"qty": qty, "unit": product.unit, "reason": reason}
    return short


def _checkout_context(
    *,
    rebate_raw: str = "",
    use_all: bool = False,
    error: DomainError | None = None,
    note: str = "",
    key: str | None = None,
):
    view, gone = cart.view(current_user)
    summary = wallet.summary(current_user.dealer)
    cap = rebates.current_policy().max_use(view.goods_amount)
    balance = max(summary.rebate_balance, 0)
    most = min(cap, balance)
    rebate = _rebate_field(rebate_raw, most, _why_no_rebate(most, balance), error, use_all)
    payable = max(view.goods_amount - rebate.value, 0)
    return {
        "cart": view,
        "gone": gone,
        "wallet": summary,
        "rebate": rebate,
        "payable": payable,
        "after": summary.available - payable,
        # Nothing is debited from funds when rebate pays it all, so nothing can be missing.
        "funds_missing": max(payable - summary.available, 0) if payable else 0,
        "short": _short_lines(view),
        "key": key or new_key(),
        "error": None if _is_rebate_error(error) else error,
        "note": note,
    }


def _page(status: int = 200, **state):
    context = _checkout_context(**state)
    return render_template("dealer/checkout.html", **context), status


@bp.get("/checkout")
def checkout():
    context = _checkout_context()
    if not context["cart"].lines:
        return go(url_for("web.cart_page"))
    return render_template("dealer/checkout.html", **context)


@bp.post("/checkout")
def checkout_submit():
    """Place the order — or, for 全部使用 / 重新计算 without a script, only redraw the page."""
    form = request.form
    key, note = form.get("key", ""), form.get("note", "").strip()[:500]
    raw = form.get("use_rebate", "")
    if form.get("use_all") or form.get("recalc"):
        if not cart.count(current_user):
            return go(url_for("web.cart_page"))
        return _page(rebate_raw=raw, use_all=bool(form.get("use_all")), note=note)
    view, _gone = cart.view(current_user)
    try:
        use_rebate, cut = _typed_fen(raw) if raw.strip() else (0, False)
        if cut:
            raise Invalid(errors={"use_rebate": ["At most two decimals."]})
        order = place_with_key(
            key, "web:checkout", view.requests(), use_rebate=use_rebate, note=note, clear_cart=True
        )
    except DomainError as err:
        return _page(err.status, error=err, rebate_raw=raw, note=note)
    flash(_("Order %(number)s submitted", number=order.number))
    return go(url_for("web.order_page", number=order.number))
