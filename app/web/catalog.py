"""The dealer's catalog: list with search and chips, product page, live stock refresh."""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from urllib.parse import parse_qs, urlsplit

from flask import current_app, jsonify, make_response, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from app.services import cart as cart_svc
from app.services import catalog as catalog_svc
from app.services import usual as usual_svc
from app.services.quantities import break_rows
from app.web import bp
from app.web.forms import new_key
from app.web.helpers import stock_label


def _int_arg(name: str, default: int | None = None) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and int(value) > 0 else default


def _browse_args() -> tuple[str, int | None]:
    return request.args.get("q", "").strip()[:100], _int_arg("category")


@bp.after_request
def _vary_on_htmx(response):
    """A page and its htmx fragment share a URL: caches (and Back) must keep them apart."""
    response.vary.add("HX-Request")
    return response


MAX_RESTORED_PAGES = 10


def _catalog_page(dealer, q: str, category_id: int | None) -> tuple[catalog_svc.CatalogPage, int]:
    """The page asked for; `?upto=N` is pages 1…N at once (how Back finds the dealer's place)."""
    size = current_app.config["CATALOG_PAGE_SIZE"]
    upto = min(_int_arg("upto", 0) or 0, MAX_RESTORED_PAGES)
    number = upto or _int_arg("page", 1)
    page = catalog_svc.browse(
        dealer,
        q=q,
        category_id=category_id,
        page=1 if upto else number,
        per_page=size * upto if upto else size,
        with_total=False,
    )
    if upto:  # the next sentinel continues after page N, in pages of the usual size
        page = catalog_svc.CatalogPage(page.items, upto, size, None, page.has_more)
    return page, upto


MAX_RENDERINGS = 4  # per page of products: locales × what its stock badges show
_BREAK_STARTS = "break starts"  # each card's price-break quantities, kept with the page


def _cards(page: catalog_svc.CatalogPage, q: str, category_id: int | None, restored: bool):
    """The page's cards, rendered once per page of products and prices (kept with it, see
    CatalogPage.derived), locale, and what their stock badges show now."""
    # What a card shows of stock: the badge, the number, and which of its price breaks stock
    # can reach (the next break it names follows from those).
    starts = page.derived.get(_BREAK_STARTS)
    if starts is None:
        starts = page.derived[_BREAK_STARTS] = [
            [row.from_qty for row in break_rows(item.table.breaks, item.rules)]
            for item in page.items
        ]
    shown = tuple(
        (item.status, item.shown_available, -1 if most is None else bisect_right(rows, most))
        for item, rows in zip(page.items, starts, strict=True)
        for most in (item.max_qty,)
    )
    key = ("cards", str(get_locale()), q, category_id, restored, page.page, shown)
    html = page.derived.get(key)
    if html is None:
        if len(page.derived) > MAX_RENDERINGS + 1:
            page.derived.clear()
            page.derived[_BREAK_STARTS] = starts
        context = {"page": page, "q": q, "category_id": category_id, "restored": restored}
        html = page.derived[key] = Markup(render_template("dealer/_cards.html", **context))
    return html


@bp.get("/catalog")
def catalog():
    dealer = current_user.dealer
    q, category_id = _browse_args()
    page, upto = _catalog_page(dealer, q, category_id)
    context = {"page": page, "q": q, "category_id": category_id}
    context["cards"] = _cards(page, q, category_id, bool(upto))
    htmx = request.htmx
    if htmx and not htmx.history_restore_request and htmx.target != "main":
        if htmx.target != "cards":
            # Infinite scroll: the next cards and sentinel. The address becomes "pages 1…N",
            # so Back from a product reloads as much of the list as the dealer had seen and
            # the browser can put them back at the card they opened.
            response = make_response(context["cards"])
            url = url_for("web.catalog", q=q or None, category=category_id, upto=page.page)
            response.headers["HX-Replace-Url"] = url
            return response
        # A search as you type: the cards, the chips (keeping the query) out of band, and
        # one history entry per search — pushed when it starts, replaced as it is refined.
        body = render_template(
            "dealer/_search_results.html", categories=catalog_svc.categories(dealer), **context
        )
        response = make_response(body)
        url = url_for("web.catalog", q=q or None, category=category_id)
        header = "HX-Replace-Url" if _searching(htmx.current_url) else "HX-Push-Url"
        response.headers[header] = url
        return response
    return render_template(
        "dealer/catalog.html",
        categories=catalog_svc.categories(dealer),
        restored=bool(upto),
        **context,
    )


def _searching(current_url: str | None) -> bool:
    """Whether the page the dealer is on already shows a search (so typing refines it)."""
    if not current_url:
        return False
    parts = urlsplit(current_url)
    return parts.path == url_for("web.catalog") and bool(parse_qs(parts.query).get("q"))


@bp.get("/catalog/<sku>")
def product_page(sku: str):
    item = catalog_svc.item(current_user.dealer, sku)
    q, category_id = _browse_args()
    # The list the card was on: the same page (no JavaScript) or pages 1…N (after scrolling).
    upto = min(_int_arg("upto", 0) or 0, MAX_RESTORED_PAGES) or None
    page = None if upto else _int_arg("page")
    back = url_for("web.catalog", q=q or None, category=category_id, page=page, upto=upto)
    return render_template(
        "dealer/product.html",
        item=item,
        tier=current_user.dealer.tier,
        key=new_key(),
        error=None,
        back_url=f"{back}#p-{sku}",
        in_cart=cart_svc.held(current_user, item.product.id),
        pinned=usual_svc.is_pinned(current_user, item.product.id),
    )


@bp.get("/stock-badges")
def stock_refresh():
    """Badges for the SKUs on screen; 304 when nothing changed since the client's ETag."""
    skus = [s for s in request.args.get("skus", "").split(",") if s][:100]
    snapshot = catalog_svc.stock_snapshot(current_user.dealer, skus)
    locale = str(get_locale())
    raw = json.dumps(snapshot, separators=(",", ":")) + locale
    etag = hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()
    # Weak: the same badges whatever the encoding (compression leaves weak tags alone).
    if request.if_none_match.contains_weak(etag):
        response = current_app.response_class(status=304)
    else:
        for row in snapshot:
            row["label"] = stock_label(row["status"])
        response = jsonify({"items": snapshot})
    response.set_etag(etag, weak=True)
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Cookie")
    return response
