"""HQ acting for a dealer without logging in as them: 代客下单 (placing an order for a dealer
through the same placement service, recorded as placed by the HQ user) and a read-only view
of the catalog exactly as one dealer sees it.

The order form keeps its draft in the page itself (`l=SKU:QTY` in links and plain GET forms,
the same pairs in the POST form), so it works without a script and holds no state on the
server until the order is placed; placing is a POST with the form's idempotency key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.admin import bp, requires
from app.errors import DomainError
from app.money import MoneyError, display_fen, parse_fen
from app.services import accounts, catalog, orders, permissions, rebates, wallet
from app.services.orders import LineRequest
from app.services.quantities import MAX_LINE_QTY
from app.services.settings import get_setting
from app.web.forms import new_key
from app.web.helpers import explain_error, quantity

MAX_LINES = 100
SEARCH_SIZE = 10
CATALOG_SIZE = 20
NOTE_MAX = 500
_QTY = re.compile(r"^[0-9]{1,7}$")
# Refusals worded for HQ (the shared wording speaks to the dealer).
MESSAGES = {
    "insufficient_rebate": _l("That is more than the dealer's rebate balance."),
    "dealer_inactive": _l("This dealer is deactivated; HQ cannot place orders for them."),
}


# --- the draft ----------------------------------------------------------------------------


@dataclass(slots=True)
class DraftLine:
    """A line of the order being put together: what was typed, and the product as the
    dealer sees it (None: not offered to this dealer)."""

    sku: str
    typed: str
    qty: int | None
    item: catalog.CatalogItem | None
    problem: str = ""

    @property
    def unit_price(self) -> int | None:
        return self.item.table.unit_price(self.qty) if self.item and self.qty else None

    @property
    def amount(self) -> int:
        price = self.unit_price
        return price * self.qty if price is not None else 0

    @property
    def param(self) -> str:
        return f"{self.sku}:{self.typed}"


@dataclass(slots=True)
class Draft:
    lines: list[DraftLine]
    wallet: wallet.WalletSummary
    rebate_typed: str
    rebate: int  # fen, 0 when not an amount
    rebate_problem: str
    rebate_cap: int  # the policy's cap on this order's goods

    @property
    def goods(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def rebate_most(self) -> int:
        return max(0, min(self.rebate_cap, self.wallet.rebate_balance))

    @property
    def payable(self) -> int:
        return max(self.goods - self.rebate, 0)

    @property
    def funds_missing(self) -> int:
        return max(self.payable - self.wallet.available, 0) if self.payable else 0

    @property
    def params(self) -> list[str]:
        return [line.param for line in self.lines]


def _qty(typed: str) -> int | None:
    typed = typed.strip()
    return int(typed) if _QTY.match(typed) and 0 < int(typed) <= MAX_LINE_QTY else None


def _pairs(values: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(sku, typed quantity) in order, one per SKU (a SKU given twice: the quantities add up)."""
    found: dict[str, str] = {}
    for sku, typed in values:
        sku, typed = sku.strip()[:64], typed.strip()[:12]
        if not sku:
            continue
        if sku in found and _qty(found[sku]) and _qty(typed):
            typed = str(_qty(found[sku]) + _qty(typed))
        found[sku] = typed
    return list(found.items())[:MAX_LINES]


def _pairs_from_args(args) -> list[tuple[str, str]]:
    return _pairs([value.rpartition(":")[::2] for value in args.getlist("l") if ":" in value])


def _pairs_from_form(form) -> list[tuple[str, str]]:
    return _pairs(list(zip(form.getlist("sku"), form.getlist("qty"), strict=False)))


def _line_problem(item: catalog.CatalogItem | None, qty: int | None) -> str:
    if item is None:
        return _("Not offered to this dealer (inactive, or limited to other tiers).")
    if qty is None:
        return _("Enter a whole number of at least 1.")
    p, available = item.product, max(item.available, 0)
    if qty < p.min_order_qty:
        return _("Below the minimum order of %(q)s.", q=quantity(item.rules.first, p.unit))
    if qty % p.order_multiple:
        return _("Order in steps of %(q)s.", q=quantity(p.order_multiple, p.unit))
    if qty > available:
        return _("Only %(q)s in stock.", q=quantity(available, p.unit))
    return ""


def _rebate(typed: str) -> tuple[int, str]:
    text = typed.strip().replace("¥", "").replace(",", "")
    if not text:
        return 0, ""
    try:
        return parse_fen(text), ""
    except MoneyError:
        return 0, _("Enter the rebate in yuan with at most two decimals, e.g. 12.50.")


def _draft(dealer, pairs: list[tuple[str, str]], rebate_typed: str = "") -> Draft:
    """The lines priced and checked as the dealer's own checkout would (the service decides)."""
    skus = [sku for sku, _typed in pairs]
    items = {}
    if skus:
        page = catalog.browse(dealer, skus=skus, per_page=len(skus), with_total=False)
        items = {item.product.sku: item for item in page.items}
    lines = []
    for sku, typed in pairs:
        item, qty = items.get(sku), _qty(typed)
        lines.append(DraftLine(sku, typed, qty, item, _line_problem(item, qty)))
    rebate, rebate_problem = _rebate(rebate_typed)
    cap = rebates.current_policy().max_use(sum(line.amount for line in lines))
    draft = Draft(lines, wallet.summary(dealer), rebate_typed.strip()[:20], rebate, "", cap)
    if not rebate_problem and rebate > draft.rebate_most:
        rebate_problem = _(
            "At most %(most)s of rebate may be used on this order.",
            most=display_fen(draft.rebate_most),
        )
    draft.rebate_problem = rebate_problem
    return draft


# --- choosing a dealer --------------------------------------------------------------------


@bp.get("/order-for")
@requires(permissions.ORDER_DESK)
def proxy_start():
    q = request.args.get("q", "").strip()[:100]
    return render_template("admin/proxy/dealers.html", dealers=orders.dealers_to_order_for(q), q=q)


# --- 代客下单 -------------------------------------------------------------------------------


def _order_page(dealer, draft: Draft, *, q: str, note: str, key: str, error=None, status=200):
    results = None
    if q:
        results = catalog.browse(dealer, q=q, per_page=SEARCH_SIZE, with_total=False)
    in_draft = {line.sku for line in draft.lines}
    context = {
        "dealer": dealer,
        "draft": draft,
        "q": q,
        "note": note,
        "key": key,
        "results": results,
        "in_draft": in_draft,
        "error": error,
        "error_text": _error_text(error, draft) if error else "",
    }
    return render_template("admin/proxy/order.html", **context), status


def _error_text(error: DomainError, draft: Draft) -> str:
    if error.code in MESSAGES:
        return str(MESSAGES[error.code])
    if not draft.lines:
        return _("Add at least one product first.")
    return explain_error(error)


@bp.get("/order-for/<code>")
@requires(permissions.ORDER_DESK)
def proxy_order(code: str):
    dealer = accounts.dealer_by_code(code)  # deactivated: said on the page, refused by the service
    args = request.args
    pairs = _pairs_from_args(args)
    q, note = args.get("q", "").strip()[:100], args.get("note", "")[:NOTE_MAX]
    rebate = args.get("rebate", "")[:20]
    add = args.get("add", "").strip()
    if add:  # an 加入 form: fold it into the draft, then show the draft's own address
        typed = args.get("qty", "").strip()
        if _qty(typed) is None:
            flash(_("Enter a whole number of at least 1."))
        else:
            pairs = _pairs([*pairs, (add, typed)])
        return redirect(_draft_url(dealer.code, pairs, q=q, rebate=rebate, note=note), 303)
    draft = _draft(dealer, pairs, rebate)
    return _order_page(dealer, draft, q=q, note=note, key=new_key())


def _draft_url(code: str, pairs, **kept) -> str:
    values = {k: v for k, v in kept.items() if v}
    return url_for("admin.proxy_order", code=code, l=[f"{s}:{t}" for s, t in pairs], **values)


@bp.post("/order-for/<code>")
@requires(permissions.ORDER_DESK)
def proxy_order_submit(code: str):
    dealer = accounts.dealer_by_code(code)  # deactivated: said on the page, refused by the service
    form = request.form
    pairs = _pairs_from_form(form)
    q, note = form.get("q", "").strip()[:100], form.get("note", "").strip()[:NOTE_MAX]
    rebate_typed = form.get("use_rebate", "")[:20]
    if form.get("remove"):
        pairs = [pair for pair in pairs if pair[0] != form["remove"]]
    if form.get("action") != "place":  # 更新 or 删除: only the draft changes
        return redirect(_draft_url(dealer.code, pairs, q=q, rebate=rebate_typed, note=note), 303)
    draft = _draft(dealer, pairs, rebate_typed)
    key = form.get("key", "") or new_key()
    unreadable = [line for line in draft.lines if line.qty is None]
    if unreadable or _rebate(rebate_typed)[1]:
        return _order_page(dealer, draft, q=q, note=note, key=key, status=422)
    lines = [LineRequest(line.sku, line.qty) for line in draft.lines]
    try:
        order = orders.place_order_for_dealer(
            current_user, dealer.code, lines, key=key, use_rebate=draft.rebate, note=note
        )
    except DomainError as err:
        if err.status == 404 and err.subject and err.subject[0] == "dealer":
            raise
        _mark_short(draft, err)
        return _order_page(dealer, draft, q=q, note=note, key=key, error=err, status=err.status)
    flash(_("Order %(number)s placed for %(dealer)s.", number=order.number, dealer=dealer.name))
    return redirect(url_for("admin.order_detail", number=order.number))


def _mark_short(draft: Draft, err: DomainError) -> None:
    """Name the lines the service found short, with what is left now."""
    if err.code != "insufficient_stock":
        return
    short = {row["sku"]: row["available"] for row in err.extra.get("lines", [])}
    for line in draft.lines:
        if line.sku in short and line.item:
            unit = line.item.product.unit
            line.problem = _("Only %(q)s in stock.", q=quantity(short[line.sku], unit))


# --- the catalog as one dealer sees it ------------------------------------------------------


def _int_arg(name: str, default: int | None = None) -> int | None:
    value = request.args.get(name, "")
    return int(value) if re.fullmatch(r"[0-9]{1,6}", value) and int(value) > 0 else default


@bp.get("/as-dealer/<code>/catalog")
@requires(permissions.READ_PRODUCTS)
def catalog_as_dealer(code: str):
    dealer = accounts.dealer_by_code(code)
    q, category_id = request.args.get("q", "").strip()[:100], _int_arg("category")
    page = catalog.browse(
        dealer, q=q, category_id=category_id, page=_int_arg("page", 1), per_page=CATALOG_SIZE
    )
    return render_template(
        "admin/proxy/catalog.html",
        dealer=dealer,
        page=page,
        q=q,
        category_id=category_id,
        categories=catalog.categories(dealer),
        show_exact=bool(get_setting("show_exact_stock")),
    )


@bp.get("/as-dealer/<code>/catalog/<sku>")
@requires(permissions.READ_PRODUCTS)
def catalog_item_as_dealer(code: str, sku: str):
    dealer = accounts.dealer_by_code(code)
    return render_template(
        "admin/proxy/product.html",
        dealer=dealer,
        item=catalog.item(dealer, sku),
        show_exact=bool(get_setting("show_exact_stock")),
    )
